//! Cost of the panic path's journal writes and of reading a journal back:
//! `append` of one version 2 entry (CRC, Reed–Solomon parity over 64 bytes,
//! three-phase store) in ns per entry, and `read` of a 101-slot zone with
//! 34 entries, intact and with one damaged entry.

use crashview_journal::{read, zone_len, Entry, EntryKind, JournalWriter};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};

fn entry(i: u64) -> Entry {
    Entry::new(EntryKind::CallBegin, 6, 0, 1_000 * i)
        .with_arg(i)
        .with_name(b"hung_notifier")
}

fn bench(c: &mut Criterion) {
    const SLOTS: usize = 101;
    let mut zone = vec![0u8; zone_len(SLOTS)];
    let header = JournalWriter::arm(&mut zone, 1).unwrap().header();
    let mut g = c.benchmark_group("journal");
    g.throughput(Throughput::Elements(1));
    g.bench_function("append (v2, compiler fence)", |b| {
        let mut i = 0u64;
        b.iter(|| {
            // Reopen at a fixed slot, as the recorder does per step.
            let mut w =
                JournalWriter::open_at(&mut zone, header, (i % SLOTS as u64) as u32).unwrap();
            i += 1;
            black_box(w.append(black_box(&entry(i))).unwrap())
        })
    });
    g.bench_function("append (v2, SeqCst fence barrier)", |b| {
        let mut i = 0u64;
        b.iter(|| {
            let mut w =
                JournalWriter::open_at(&mut zone, header, (i % SLOTS as u64) as u32).unwrap();
            i += 1;
            black_box(
                w.append_with(black_box(&entry(i)), || {
                    std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst)
                })
                .unwrap(),
            )
        })
    });

    g.bench_function("open_at alone (builds the codec)", |b| {
        b.iter(|| black_box(JournalWriter::open_at(&mut zone, header, 3).unwrap().len()))
    });

    let mut z = vec![0u8; zone_len(SLOTS)];
    let mut w = JournalWriter::arm(&mut z, 2).unwrap();
    for i in 0..34 {
        w.append(&entry(i)).unwrap();
    }
    g.bench_function("read + entries (34 of 101, intact)", |b| {
        b.iter(|| black_box(read(black_box(&z)).unwrap().entries().count()))
    });
    let at = zone_len(10) + 20;
    z[at] ^= 0x11;
    z[at + 9] ^= 0x22;
    g.bench_function("read + entries (34 of 101, one entry repaired)", |b| {
        b.iter(|| black_box(read(black_box(&z)).unwrap().entries().count()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
