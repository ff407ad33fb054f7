//! Crashed machines leave damaged memory: the reader must correct what ECC
//! can, warn about what it cannot, name the zone and offset of every
//! problem, keep showing what is readable, and never panic.

use std::path::Path;

use crashview_ramoops::layout::{Layout, Params, ZoneKind};
use crashview_ramoops::region::{Overrides, Region, Severity, ZoneState};
use crashview_ramoops::rs::{Codec, Decoded};
use crashview_ramoops::writer::ZoneWriter;
use crashview_ramoops::zone::{ZoneGeometry, HEADER_LEN};
use proptest::prelude::*;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/ramoops")
            .join(name)
            .join("region.bin"),
    )
    .unwrap()
}

fn oracle(name: &str, file: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/ramoops")
            .join(name)
            .join("pstore")
            .join(file),
    )
    .unwrap()
}

fn dmesg0(region: &Region) -> Vec<u8> {
    region
        .records()
        .iter()
        .find(|r| r.kind == ZoneKind::Dmesg && r.id == 0)
        .map(|r| r.file_contents())
        .unwrap()
}

/// Flips `n` bytes inside data block `block` of dmesg zone 0 of an ECC-16 image.
fn flip_block(img: &mut [u8], block: usize, n: usize) {
    for i in 0..n {
        img[HEADER_LEN + block * 128 + i * 13] ^= 0xa5;
    }
}

#[test]
fn correctable_errors_are_fixed_and_counted() {
    let clean = fixture("sysrq-ecc");
    let mut img = clean.clone();
    flip_block(&mut img, 3, 8); // exactly the capacity of 16 parity bytes
    flip_block(&mut img, 40, 1);
    let region = Region::scan(&img, &Overrides::default()).unwrap();
    let text = dmesg0(&region);
    let want = oracle("sysrq-ecc", "dmesg-ramoops-0");
    // Same text as the clean record; only the ECC notice changes.
    let body = &want[..want.len() - b"\nECC: No errors detected\n".len()];
    assert!(text.starts_with(body));
    assert!(
        text.ends_with(b"\nECC: 9 Corrected bytes, 0 unrecoverable blocks\n"),
        "{:?}",
        String::from_utf8_lossy(&text[text.len() - 60..])
    );
    let d = region.all_diagnostics();
    assert!(
        d.iter().any(|d| d.zone == Some((ZoneKind::Dmesg, 0))
            && d.offset == 0
            && d.message.contains("corrected 9 bytes")),
        "{d:?}"
    );
}

#[test]
fn uncorrectable_block_is_reported_and_record_still_shown() {
    let mut img = fixture("sysrq-ecc");
    flip_block(&mut img, 5, 9); // one beyond capacity
    let region = Region::scan(&img, &Overrides::default()).unwrap();
    let text = dmesg0(&region);
    assert!(text.ends_with(b"\nECC: 0 Corrected bytes, 1 unrecoverable blocks\n"));
    assert!(text.len() > 1000, "the rest of the record is still there");
    let d = region.all_diagnostics();
    assert!(d.iter().any(|d| d.severity == Severity::Error
        && d.zone == Some((ZoneKind::Dmesg, 0))
        && d.message.contains("uncorrectable")));
}

#[test]
fn corrupted_header_is_corrected_by_its_parity() {
    let mut img = fixture("sysrq-ecc");
    img[0] ^= 0xff; // signature
    img[9] ^= 0x10; // size
    let region = Region::scan(&img, &Overrides::default()).unwrap();
    assert_eq!(region.zones[0].state, ZoneState::Valid);
    assert!(dmesg0(&region).ends_with(b"\nECC: 2 Corrected bytes, 0 unrecoverable blocks\n"));
}

#[test]
fn bogus_start_and_size_name_zone_and_offset() {
    let mut img = fixture("sysrq-plain");
    // start beyond size in dmesg zone 0; size beyond capacity in zone 1 (if present).
    img[4..8].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    let region = Region::scan(&img, &Overrides::default()).unwrap();
    assert_eq!(region.zones[0].state, ZoneState::BadHeader);
    let d = region.all_diagnostics();
    let hit = d
        .iter()
        .find(|d| d.zone == Some((ZoneKind::Dmesg, 0)))
        .expect("diagnostic for dmesg(0)");
    assert_eq!(hit.offset, 0);
    assert!(hit.message.contains("invalid ring"), "{}", hit.message);
    assert!(region.records().iter().all(|r| r.id != 0));
}

#[test]
fn truncated_image_keeps_what_is_there() {
    let full = fixture("oops-panic");
    let cut = &full[..0x8000];
    let ov = Overrides {
        mem_size: Some(0x100000),
        record_size: Some(0x4000),
        ecc: Some(16),
        ..Overrides::default()
    };
    let region = Region::scan(cut, &ov).unwrap();
    let d = region.all_diagnostics();
    assert!(d
        .iter()
        .any(|d| d.message.contains("shorter than mem_size")));
    assert!(d.iter().any(|d| d.zone == Some((ZoneKind::Dmesg, 1))
        && d.offset == 0x4040
        && d.message.contains("input has")));
    // Zone 0 is complete and still read.
    assert_eq!(region.records().len(), 1);
    for n in [0usize, 1, 5, 11, 12, 13, 100, 4095, 0x4040, 0x4041] {
        let _ = Region::scan(&full[..n], &Overrides::default());
        let _ = Region::scan(&full[..n], &ov);
    }
}

#[test]
fn zero_and_random_regions_give_clear_errors() {
    let zeros = vec![0u8; 0x100000];
    let region = Region::scan(&zeros, &Overrides::default()).unwrap();
    assert!(region.records().is_empty());
    let d = region.all_diagnostics();
    assert!(
        d[0].message.contains("no ramoops zone signature"),
        "{}",
        d[0].message
    );
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let random: Vec<u8> = (0..0x100000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let region = Region::scan(&random, &Overrides::default()).unwrap();
    assert!(region.records().is_empty());
}

/// Builds a region with our writer and reads it back: both sides of the format.
fn write_region(params: &Params, records: &[&[u8]]) -> Vec<u8> {
    let layout = Layout::compute(params).unwrap();
    let mut img = vec![0u8; params.mem_size as usize];
    let n = params.ecc_size();
    let codec = (n > 0).then(|| Codec::new(n).unwrap());
    for (kind, i, off, size) in layout.zones() {
        let geom = ZoneGeometry::new(size as usize, n).unwrap();
        let zone = &mut img[off as usize..(off + size) as usize];
        let mut w = ZoneWriter::new(zone, geom, codec.as_ref()).unwrap();
        w.format(if kind == ZoneKind::Ftrace {
            0x0601c0
        } else {
            0
        });
        if kind == ZoneKind::Dmesg {
            if let Some(rec) = records.get(i as usize) {
                let mut hdr = [0u8; 36];
                let len = crashview_ramoops::dmesg::write_header(
                    1_700_000_000 + i64::from(i),
                    123_456_000,
                    false,
                    &mut hdr,
                );
                w.zap();
                w.write(&hdr[..len]);
                let room = geom.data_size - len;
                w.write(&rec[..rec.len().min(room)]);
            }
        }
    }
    img
}

#[test]
fn writer_and_reader_round_trip_with_ecc() {
    let p = Params {
        ecc: 16,
        ..Params::module_defaults(0x40000, 0x2000)
    };
    let recs: [&[u8]; 2] = [
        b"Oops#1 Part1\n<4>[    1.000000] first\n",
        b"Panic#2 Part1\n<0>[    2.000000] second\n",
    ];
    let img = write_region(&p, &recs);
    let region = Region::scan(&img, &Overrides::default()).unwrap();
    assert_eq!(region.params.ecc, 16);
    assert_eq!(region.layout, Layout::compute(&p).unwrap());
    let got = region.records();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].file_name(), "dmesg-ramoops-1");
    let mut want = recs[1].to_vec();
    want.extend_from_slice(b"\nECC: No errors detected\n");
    assert_eq!(got[1].file_contents(), want);
    assert_eq!(got[0].part_line().unwrap().part, 1);
}

#[test]
fn ring_wrap_is_linearised_oldest_first() {
    let geom = ZoneGeometry::new(64, 0).unwrap();
    let mut zone = vec![0u8; 64];
    let mut w = ZoneWriter::new(&mut zone, geom, None).unwrap();
    w.format(0);
    w.write(b"====1.000001-D\n");
    let msg: Vec<u8> = (0..100u8).map(|i| b'a' + i % 26).collect();
    w.write(&msg);
    let h = w.header();
    assert_eq!(h.size as usize, geom.data_size);
    let (a, b) = crashview_ramoops::zone::old_log_ranges(&h, geom.data_size).unwrap();
    let data = &zone[HEADER_LEN..HEADER_LEN + geom.data_size];
    let mut old = data[a].to_vec();
    old.extend_from_slice(&data[b]);
    let all: Vec<u8> = b"====1.000001-D\n"
        .iter()
        .chain(msg.iter())
        .copied()
        .collect();
    assert_eq!(old, all[all.len() - geom.data_size..]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn scan_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..20_000), rs in proptest::option::of(0u64..0x10000), ecc in proptest::option::of(0u32..200)) {
        let ov = Overrides { record_size: rs, ecc, ..Overrides::default() };
        if let Ok(region) = Region::scan(&bytes, &ov) {
            for r in region.records() {
                let _ = r.file_contents();
            }
        }
    }

    #[test]
    fn damaged_real_region_never_panics(flips in proptest::collection::vec((0usize..0x100000, any::<u8>()), 1..64)) {
        let mut img = fixture("oops-panic");
        for (at, v) in flips {
            img[at] ^= v | 1;
        }
        let region = Region::scan(&img, &Overrides::default()).unwrap();
        for r in region.records() {
            let _ = r.file_contents();
        }
    }

    #[test]
    fn rs_corrects_within_capacity(data in proptest::collection::vec(any::<u8>(), 1..=128), nroots in prop_oneof![Just(8usize), Just(16), Just(32)], errs in proptest::collection::vec((any::<usize>(), 1u8..=255), 0..16)) {
        let codec = Codec::new(nroots).unwrap();
        let mut par = vec![0u8; nroots];
        codec.encode(&data, &mut par).unwrap();
        let mut bad = data.clone();
        let mut positions = std::collections::BTreeSet::new();
        for (p, v) in errs.iter().take(nroots / 2) {
            let p = p % data.len();
            if positions.insert(p) {
                bad[p] ^= v;
            }
        }
        let r = codec.decode(&mut bad, &par).unwrap();
        if positions.is_empty() {
            prop_assert_eq!(r, Decoded::Clean);
        } else {
            prop_assert_eq!(r, Decoded::Corrected(positions.len()));
        }
        prop_assert_eq!(bad, data);
    }
}
