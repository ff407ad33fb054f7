//! Throughput of reading a 1 MiB ramoops region (the real `oops-panic`
//! fixture: 63 ECC-16 dmesg zones, two deflate records) and of the
//! Reed–Solomon check alone. Reported as MB/s by criterion's throughput.

use std::path::Path;

use crashview_ramoops::region::{Overrides, Region};
use crashview_ramoops::rs::Codec;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/ramoops")
            .join(name)
            .join("region.bin"),
    )
    .expect("fixture")
}

fn bench(c: &mut Criterion) {
    let img = fixture("oops-panic");
    let pinned = Overrides {
        record_size: Some(0x4000),
        console_size: Some(0x1000),
        ftrace_size: Some(0x1000),
        pmsg_size: Some(0x1000),
        ecc: Some(16),
        ..Overrides::default()
    };
    let mut g = c.benchmark_group("region-1MiB");
    g.throughput(Throughput::Bytes(img.len() as u64));
    g.bench_function("scan+records, autodetect", |b| {
        b.iter(|| {
            let r = Region::scan(black_box(&img), &Overrides::default()).unwrap();
            black_box(
                r.records()
                    .iter()
                    .map(|r| r.file_contents().len())
                    .sum::<usize>(),
            )
        })
    });
    g.bench_function("scan+records, parameters given", |b| {
        b.iter(|| {
            let r = Region::scan(black_box(&img), &pinned).unwrap();
            black_box(
                r.records()
                    .iter()
                    .map(|r| r.file_contents().len())
                    .sum::<usize>(),
            )
        })
    });
    g.finish();

    // ECC check of every 128-byte block of a full 1 MiB of data.
    let codec = Codec::new(16).unwrap();
    let data: Vec<u8> = (0..1 << 20).map(|i| (i * 31 % 251) as u8).collect();
    let parity: Vec<[u8; 16]> = data
        .chunks(128)
        .map(|blk| {
            let mut p = [0u8; 16];
            codec.encode(blk, &mut p).unwrap();
            p
        })
        .collect();
    let mut g = c.benchmark_group("ecc16-1MiB");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("check clean blocks", |b| {
        let mut work = data.clone();
        b.iter(|| {
            for (blk, p) in work.chunks_mut(128).zip(&parity) {
                black_box(codec.decode(blk, p).unwrap());
            }
        })
    });
    g.bench_function("encode blocks", |b| {
        b.iter(|| {
            let mut p = [0u8; 16];
            for blk in data.chunks(128) {
                codec.encode(black_box(blk), &mut p).unwrap();
            }
            black_box(p)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
