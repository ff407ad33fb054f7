extern crate std;
use std::vec::Vec;

use super::*;

fn entries(n: u32) -> Vec<Entry> {
    (0..n)
        .map(|i| {
            Entry::new(
                if i % 2 == 0 {
                    EntryKind::StepBegin
                } else {
                    EntryKind::StepEnd
                },
                i as u8,
                1,
                1_000 * u64::from(i),
            )
            .with_arg(u64::from(i) * 3)
            .with_name(b"hypervisor list")
        })
        .collect()
}

#[test]
fn crc_matches_zlib() {
    assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    assert_eq!(crc32(b""), 0);
}

#[test]
fn round_trip() {
    let mut zone = [0u8; HEADER_LEN + 8 * ENTRY_LEN];
    let mut w = JournalWriter::arm(&mut zone, 42).unwrap();
    for e in entries(5) {
        w.append(&e).unwrap();
    }
    let j = read(&zone).unwrap();
    assert_eq!(j.header.generation, 42);
    assert_eq!(j.header.capacity, 8);
    assert_eq!(j.tail, Tail::Clean);
    let got: Vec<Entry> = j.entries().collect();
    assert_eq!(got.len(), 5);
    assert_eq!(got[3].name_bytes(), b"hypervisor list");
    assert_eq!(got[3].seq, 3);
    assert_eq!(got[4].time_ns, 4000);
}

#[test]
fn full_journal_refuses_more() {
    let mut zone = [0u8; HEADER_LEN + 2 * ENTRY_LEN];
    let mut w = JournalWriter::arm(&mut zone, 1).unwrap();
    for e in entries(2) {
        w.append(&e).unwrap();
    }
    assert_eq!(w.append(&entries(1)[0]), Err(Error::Full { capacity: 2 }));
    assert_eq!(read(&zone).unwrap().tail, Tail::Full);
}

/// The property the recorder relies on: cut the write at any byte — over a
/// blank zone or over an older generation's journal — and the reader returns
/// exactly the entries completed before the cut, plus the torn one when the
/// cut fell inside an entry that had changed any byte.
#[test]
fn every_cut_point_is_consistent() {
    const SLOTS: usize = 6;
    for old_generation in [None, Some(7u32)] {
        // The zone as it was before arming: blank, or a full older journal.
        let mut before = [0u8; HEADER_LEN + SLOTS * ENTRY_LEN];
        if let Some(g) = old_generation {
            let mut w = JournalWriter::arm(&mut before, g).unwrap();
            for e in entries(SLOTS as u32) {
                w.append(&e.with_arg(999)).unwrap();
            }
        }
        // The final image after arming generation 8 and appending 4 entries.
        let mut after = before;
        {
            let mut w = JournalWriter::arm(&mut after, 8).unwrap();
            for e in entries(4) {
                w.append(&e).unwrap();
            }
        }
        // Byte write order used by the writer: header 0..64, then per entry
        // bytes 4..64 then 0..4.
        let mut order: Vec<usize> = (0..HEADER_LEN).collect();
        for i in 0..4 {
            let base = HEADER_LEN + i * ENTRY_LEN;
            order.extend(base + 4..base + ENTRY_LEN);
            order.extend(base..base + 4);
        }
        let mut img = before;
        for cut in 0..=order.len() {
            // img holds the first `cut` stores.
            if cut > 0 {
                let at = order[cut - 1];
                img[at] = after[at];
            }
            if cut < HEADER_LEN {
                // Header incomplete: either the old journal or an error, never new entries.
                if let Ok(j) = read(&img) {
                    assert!(j.header.generation != 8 || cut == HEADER_LEN);
                }
                continue;
            }
            let j = read(&img).unwrap_or_else(|e| panic!("cut {cut}: {e}"));
            assert_eq!(j.header.generation, 8);
            let done_bytes = cut - HEADER_LEN;
            let complete = (done_bytes / ENTRY_LEN) as u32;
            assert_eq!(j.len(), complete, "cut {cut}");
            for (i, e) in j.entries().enumerate() {
                assert_eq!(
                    e,
                    Entry {
                        seq: i as u32,
                        ..entries(4)[i]
                    }
                );
            }
            let partial = done_bytes % ENTRY_LEN != 0;
            let slot_at = HEADER_LEN + complete as usize * ENTRY_LEN;
            let changed = complete < 4
                && img[slot_at..slot_at + ENTRY_LEN] != before[slot_at..slot_at + ENTRY_LEN];
            match j.tail {
                Tail::Torn { index, offset } => {
                    assert!(
                        partial && changed,
                        "cut {cut}: torn reported without a partial entry"
                    );
                    assert_eq!((index, offset), (complete, slot_at));
                }
                Tail::Clean => assert!(!(partial && changed), "cut {cut}: torn entry not detected"),
                Tail::Full => panic!("cut {cut}: not full"),
            }
        }
    }
}

#[test]
fn damaged_header_is_an_error_not_a_panic() {
    let mut zone = [0u8; HEADER_LEN + 2 * ENTRY_LEN];
    JournalWriter::arm(&mut zone, 3).unwrap();
    zone[20] ^= 1;
    assert!(matches!(read(&zone), Err(Error::BadHeaderCrc { .. })));
    assert_eq!(read(&[0u8; 10]).unwrap_err(), Error::TooSmall { len: 10 });
    assert_eq!(read(&[0u8; 200]).unwrap_err(), Error::BadMagic);
}

proptest::proptest! {
    #[test]
    fn any_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..1024)) {
        let mut z = bytes.clone();
        if z.len() >= HEADER_LEN {
            // Give half the cases a valid header so entries get parsed.
            let cap = capacity_for(z.len());
            if cap > 0 && z[0] & 1 == 0 {
                let h = Header { generation: 1, capacity: cap, armed_ns: 0 }.encode();
                z[..HEADER_LEN].copy_from_slice(&h);
            }
        }
        if let Ok(j) = read(&z) {
            proptest::prop_assert!(j.entries().count() as u32 <= j.header.capacity);
        }
    }
}

#[test]
fn progress_names_the_open_step_and_call() {
    let mut zone = [0u8; HEADER_LEN + 16 * ENTRY_LEN];
    let mut w = JournalWriter::arm(&mut zone, 1).unwrap();
    w.append(&Entry::new(EntryKind::PanicStart, 0, 0, 1).with_name(b"boom"))
        .unwrap();
    w.append(&Entry::new(EntryKind::PlanStep, 0, 0, 1).with_arg(StepKind::Hypervisor as u64))
        .unwrap();
    w.append(&Entry::new(EntryKind::PlanStep, 1, 0, 1).with_arg(StepKind::PreReboot as u64))
        .unwrap();
    w.append(&Entry::new(EntryKind::StepBegin, 0, 0, 2))
        .unwrap();
    w.append(&Entry::new(EntryKind::StepEnd, 0, 0, 3).with_arg(Outcome::Done as u64))
        .unwrap();
    w.append(&Entry::new(EntryKind::StepBegin, 1, 0, 4))
        .unwrap();
    w.append(&Entry::new(EntryKind::CallBegin, 1, 0, 5).with_name(b"hung"))
        .unwrap();
    let p = read(&zone).unwrap().progress();
    assert_eq!(p.plan_len, 2);
    assert!(!p.finished);
    assert_eq!(p.open_step.unwrap().step, 1);
    assert_eq!(p.open_call.unwrap().name_bytes(), b"hung");
    assert_eq!(p.start.unwrap().name_bytes(), b"boom");
}

#[test]
fn locate_finds_the_zone_after_other_data() {
    let mut img = [0u8; 0x1000 + HEADER_LEN + 4 * ENTRY_LEN];
    img[..8].copy_from_slice(b"CVJOURN1"); // magic without a valid header
    JournalWriter::arm(&mut img[0x1000..], 9).unwrap();
    assert_eq!(locate(&img), Some(0x1000));
    assert_eq!(locate(&img[..0x1000]), None);
}
