// Test arithmetic on known small values; overflow would fail the test.
#![allow(clippy::arithmetic_side_effects)]

extern crate std;
use std::vec;
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

/// A version 1 zone, as the version 1 writer laid it out (no parity).
fn v1_zone(generation: u32, list: &[Entry], capacity: u32) -> Vec<u8> {
    let mut z = vec![0u8; HEADER_LEN + capacity as usize * ENTRY_LEN];
    put(&mut z, 0, &MAGIC);
    put(&mut z, 8, &VERSION_1.to_le_bytes());
    put(&mut z, 12, &generation.to_le_bytes());
    put(&mut z, 16, &(ENTRY_LEN as u32).to_le_bytes());
    put(&mut z, 20, &capacity.to_le_bytes());
    let crc = crc32(&z[..60]);
    put(&mut z, 60, &crc.to_le_bytes());
    for (i, e) in list.iter().enumerate() {
        let b = Entry {
            seq: i as u32,
            ..*e
        }
        .encode(generation);
        put(&mut z, HEADER_LEN + i * ENTRY_LEN, &b);
    }
    z
}

/// The version 1 reader as it was before version 2 (stop at the first slot
/// that does not check): the reference for undamaged version 1 zones.
fn old_v1_read(zone: &[u8]) -> (Vec<Entry>, Tail) {
    let generation = u32_at(zone, 12);
    let capacity = u32_at(zone, 20);
    let slots = capacity.min(Layout::V1.capacity_for(zone.len()));
    let mut out = Vec::new();
    let mut tail = if slots == capacity {
        Tail::Full
    } else {
        Tail::Clean
    };
    for i in 0..slots {
        let at = HEADER_LEN + i as usize * ENTRY_LEN;
        let s = &zone[at..at + ENTRY_LEN];
        let crc = crc_ok(s);
        let gen_ok = u32_at(s, 4) == generation;
        if crc && gen_ok && u32_at(s, 8) == i && EntryKind::from_u8(s[12]).is_some() {
            out.push(Entry::decode(s).unwrap());
            continue;
        }
        tail = if s.iter().all(|&b| b == 0) || (crc && !gen_ok) {
            Tail::Clean
        } else {
            Tail::Torn {
                index: i,
                offset: at,
            }
        };
        break;
    }
    (out, tail)
}

fn fixture(name: &str) -> Vec<u8> {
    let p = std::format!(
        "{}/../../fixtures/recorder/{name}/region.bin",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

/// The journal zone of fixtures/recorder/hang/region.bin as committed in
/// version 1 (copied out at offset 0xfe000, so regenerating the fixtures in
/// a newer format does not take the version 1 sample away).
const HANG_V1: &[u8] = include_bytes!("../testdata/hang-v1.journal");

/// The hang journal (version 1): its generation, zone length and entries.
fn hang() -> (u32, usize, Vec<Entry>) {
    let j = read(HANG_V1).unwrap();
    assert_eq!(j.version(), 1);
    (j.header.generation, HANG_V1.len(), j.entries().collect())
}

/// `list` written by the (version 2) writer into a zone of `len` bytes,
/// optionally over a full journal of an older generation.
fn v2_zone(generation: u32, len: usize, list: &[Entry], old: Option<u32>) -> Vec<u8> {
    let mut z = vec![0u8; len];
    if let Some(g) = old {
        let mut w = JournalWriter::arm(&mut z, g).unwrap();
        let filler = entries(3);
        for i in 0..w.header().capacity {
            w.append(&filler[i as usize % 3].with_arg(999)).unwrap();
        }
    }
    let mut w = JournalWriter::arm_at(&mut z, generation, 5).unwrap();
    for e in list {
        w.append(e).unwrap();
    }
    z
}

fn written(list: &[Entry]) -> Vec<Entry> {
    list.iter()
        .enumerate()
        .map(|(i, e)| Entry {
            seq: i as u32,
            ..*e
        })
        .collect()
}

/// The answer the hang fixture must give: stopped in the pre-reboot list
/// (plan index 6), inside "hung_notifier".
fn assert_hang_answer(p: &Progress) {
    assert!(!p.finished);
    assert_eq!(p.open_step.map(|s| s.step), Some(6));
    assert_eq!(
        p.open_step.and_then(|s| s.step_kind()),
        Some(StepKind::PreReboot)
    );
    assert_eq!(
        p.open_call.map(|c| c.name),
        Some(*b"hung_notifier\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0")
    );
    assert_eq!(p.plan_len, 10);
}

#[test]
fn crc_matches_zlib() {
    assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    assert_eq!(crc32(b""), 0);
}

#[test]
fn v2_round_trip() {
    let mut zone = [0u8; zone_len(8)];
    let mut w = JournalWriter::arm_at(&mut zone, 42, 77).unwrap();
    for e in entries(5) {
        w.append(&e).unwrap();
    }
    let j = read(&zone).unwrap();
    assert_eq!(j.version(), 2);
    assert_eq!(
        j.header,
        Header {
            generation: 42,
            capacity: 8,
            armed_ns: 77
        }
    );
    assert_eq!(j.tail, Tail::Clean);
    assert_eq!(j.entries().collect::<Vec<_>>(), written(&entries(5)));
    assert_eq!((j.corrected_bytes(), j.corrupt_count()), (0, 0));
    assert!(!j.header_recovered());
    assert_eq!(u32_at(&zone, 32), PARITY_LEN as u32);
    assert_eq!(capacity_for(zone_len(8) + SLOT_LEN - 1), 8);
    assert_eq!(capacity_for(HEADER_AREA_LEN + SLOT_LEN - 1), 0);
}

#[test]
fn full_journal_refuses_more() {
    let mut zone = [0u8; zone_len(2)];
    let mut w = JournalWriter::arm(&mut zone, 1).unwrap();
    for e in entries(2) {
        w.append(&e).unwrap();
    }
    assert_eq!(w.append(&entries(1)[0]), Err(Error::Full { capacity: 2 }));
    assert_eq!(read(&zone).unwrap().tail, Tail::Full);
}

#[test]
fn append_with_calls_the_barrier_after_each_phase() {
    let mut zone = [0u8; zone_len(2)];
    let mut w = JournalWriter::arm(&mut zone, 1).unwrap();
    let mut calls = 0;
    w.append_with(&entries(1)[0], || calls += 1).unwrap();
    assert_eq!(calls, 3);
}

#[test]
fn resume_continues_after_the_last_entry() {
    let mut zone = vec![0u8; zone_len(8)];
    {
        let mut w = JournalWriter::arm(&mut zone, 3).unwrap();
        for e in entries(3) {
            w.append(&e).unwrap();
        }
    }
    let mut w = JournalWriter::resume(&mut zone).unwrap();
    assert_eq!(w.len(), 3);
    w.append(&entries(4)[3]).unwrap();
    assert_eq!(
        read(&zone).unwrap().entries().collect::<Vec<_>>(),
        written(&entries(4))
    );
}

#[test]
fn v1_fixtures_read_as_before() {
    let j = read(HANG_V1).unwrap();
    let (old, tail) = old_v1_read(HANG_V1);
    assert_eq!(j.version(), 1);
    assert_eq!(j.entries().collect::<Vec<_>>(), old);
    assert_eq!(j.tail, tail);
    assert_eq!(j.tail, Tail::Clean);
    assert_eq!((j.corrected_bytes(), j.corrupt_count()), (0, 0));
    assert_eq!(j.header.capacity, 127);
    assert_eq!(j.header.generation, 0x0b9d_2e01);
    assert_eq!(old.len(), 34);
    assert_hang_answer(&j.progress());
    // Whatever version the fixtures in the tree are, they read cleanly, and
    // version 1 ones exactly as the version 1 reader read them.
    for name in ["hang", "nested", "sysrq", "oops-panic"] {
        let img = fixture(name);
        let off = locate(&img).unwrap();
        let j = read(&img[off..]).unwrap();
        assert_eq!((j.corrected_bytes(), j.corrupt_count()), (0, 0), "{name}");
        assert!(!matches!(j.tail, Tail::Torn { .. }), "{name}");
        if j.version() == 1 {
            let (old, tail) = old_v1_read(&img[off..]);
            assert_eq!(j.entries().collect::<Vec<_>>(), old, "{name}");
            assert_eq!(j.tail, tail, "{name}");
        }
    }
}

/// Version 1 zones built here read exactly as the version 1 reader read them.
#[test]
fn v1_zones_read_as_before() {
    let list = entries(5);
    for (n, cap) in [(0, 4), (3, 4), (4, 4), (5, 8)] {
        let z = v1_zone(9, &list[..n], cap);
        let j = read(&z).unwrap();
        let (old, tail) = old_v1_read(&z);
        assert_eq!(j.entries().collect::<Vec<_>>(), old);
        assert_eq!(j.tail, tail);
        assert_eq!(j.version(), 1);
    }
    // A damaged version 1 header stays an error (there is no parity).
    let mut z = v1_zone(9, &list, 8);
    z[20] ^= 1;
    assert!(matches!(read(&z), Err(Error::BadHeaderCrc { .. })));
}

/// Version 1 has no parity, but a damaged entry before the last one is
/// still corrupt, not torn, and the entries after it are read.
#[test]
fn v1_damaged_entry_is_skipped_not_torn() {
    let list = entries(6);
    let mut z = v1_zone(9, &list, 8);
    z[HEADER_LEN + 2 * ENTRY_LEN + 20] ^= 4;
    let j = read(&z).unwrap();
    let mut want = written(&list);
    want.remove(2);
    assert_eq!(j.entries().collect::<Vec<_>>(), want);
    assert_eq!(j.tail, Tail::Clean);
    assert_eq!(
        j.corrupt_slots().collect::<Vec<_>>(),
        [CorruptSlot {
            index: 2,
            offset: HEADER_LEN + 2 * ENTRY_LEN
        }]
    );
}

/// The version 1 cut-point property, on version 1 zones: cut the write at
/// any byte (over a blank zone or an older generation's journal) and the
/// reader returns exactly the entries completed before the cut, plus the
/// torn one when the cut fell inside an entry that had changed any byte.
#[test]
fn v1_every_cut_point_is_consistent() {
    const SLOTS: usize = 6;
    for old_generation in [None, Some(7u32)] {
        let before = match old_generation {
            Some(g) => v1_zone(
                g,
                &entries(SLOTS as u32)
                    .iter()
                    .map(|e| e.with_arg(999))
                    .collect::<Vec<_>>(),
                SLOTS as u32,
            ),
            None => vec![0u8; HEADER_LEN + SLOTS * ENTRY_LEN],
        };
        let mut after = v1_zone(8, &entries(4), SLOTS as u32);
        for i in 4..SLOTS {
            let at = HEADER_LEN + i * ENTRY_LEN;
            after[at..at + ENTRY_LEN].copy_from_slice(&before[at..at + ENTRY_LEN]);
        }
        let mut order: Vec<usize> = (0..HEADER_LEN).collect();
        for i in 0..4 {
            let base = HEADER_LEN + i * ENTRY_LEN;
            order.extend(base + 4..base + ENTRY_LEN);
            order.extend(base..base + 4);
        }
        let mut img = before.clone();
        for cut in 0..=order.len() {
            if cut > 0 {
                let at = order[cut - 1];
                img[at] = after[at];
            }
            if cut < HEADER_LEN {
                continue;
            }
            let j = read(&img).unwrap_or_else(|e| panic!("cut {cut}: {e}"));
            let (old, tail) = old_v1_read(&img);
            assert_eq!(j.entries().collect::<Vec<_>>(), old, "cut {cut}");
            assert_eq!(j.tail, tail, "cut {cut}");
            let complete = ((cut - HEADER_LEN) / ENTRY_LEN) as u32;
            assert_eq!(j.len(), complete, "cut {cut}");
            assert_eq!(j.corrupt_count(), 0, "cut {cut}");
        }
    }
}

/// Version 2: cut the write at every byte of every append (body, parity,
/// CRC; over a blank zone or an older generation's journal). The entries
/// completed before the cut are read exactly, nothing is ever corrupt, and
/// the cut slot is `Torn` — except that (documented in [`read`]) a slot
/// whose body was complete and whose missing CRC/parity bytes the parity
/// can repair is read as the complete entry, and a cut that changed a single
/// byte reads as a flipped bit in a clean end.
#[test]
fn v2_every_cut_point_is_torn_never_corrupt() {
    const SLOTS: usize = 6;
    let list = entries(4);
    for old in [None, Some(7u32)] {
        let before = v2_zone(7, zone_len(SLOTS), &[], old);
        let after = {
            let mut z = before.clone();
            let mut w = JournalWriter::arm(&mut z, 8).unwrap();
            for e in &list {
                w.append(e).unwrap();
            }
            z
        };
        let mut order: Vec<usize> = (0..HEADER_AREA_LEN).collect();
        for i in 0..4 {
            let base = HEADER_AREA_LEN + i * SLOT_LEN;
            order.extend(base + 4..base + ENTRY_LEN);
            order.extend(base + ENTRY_LEN..base + SLOT_LEN);
            order.extend(base..base + 4);
        }
        let mut img = before.clone();
        let mut repaired = 0;
        let mut torn = 0;
        for cut in 0..=order.len() {
            if cut > 0 {
                let at = order[cut - 1];
                img[at] = after[at];
            }
            if cut < HEADER_AREA_LEN {
                let _ = read(&img);
                continue;
            }
            let j = read(&img).unwrap_or_else(|e| panic!("cut {cut}: {e}"));
            assert_eq!(j.header.generation, 8);
            assert_eq!(j.corrupt_count(), 0, "cut {cut}: {:?}", j.tail);
            let done = cut - HEADER_AREA_LEN;
            let complete = done / SLOT_LEN;
            let within = done % SLOT_LEN;
            let got: Vec<Entry> = j.entries().collect();
            assert_eq!(got[..], written(&list)[..got.len()], "cut {cut}");
            let at = HEADER_AREA_LEN + complete * SLOT_LEN;
            let changed = if complete < 4 {
                (0..ENTRY_LEN)
                    .filter(|&p| img[at + p] != before[at + p])
                    .count()
            } else {
                0
            };
            if got.len() == complete + 1 {
                // Repaired: only when the whole body had been written.
                assert!(
                    within >= ENTRY_LEN - 4,
                    "cut {cut}: repaired a partial body"
                );
                assert_eq!(
                    j.tail,
                    if complete + 1 == SLOTS {
                        Tail::Full
                    } else {
                        Tail::Clean
                    }
                );
                repaired += 1;
                continue;
            }
            assert_eq!(got.len(), complete, "cut {cut}");
            if changed <= 1 {
                assert_eq!(j.tail, Tail::Clean, "cut {cut}");
            } else {
                assert_eq!(
                    j.tail,
                    Tail::Torn {
                        index: complete as u32,
                        offset: at
                    },
                    "cut {cut}"
                );
                torn += 1;
            }
        }
        assert!(repaired >= 4 * 4, "{repaired}");
        assert!(torn >= 4 * 50, "{torn}");
    }
}

/// The used part of the v2 journal built from the hang fixture's entries:
/// header, header parity, every entry and its parity, the first blank slot.
fn hang_v2(old: Option<u32>) -> (Vec<u8>, Vec<Entry>, usize) {
    let (generation, len, list) = hang();
    let z = v2_zone(generation, len, &list, old);
    let used = zone_len(list.len() + 1);
    (z, written(&list), used)
}

#[test]
fn every_single_bit_flip_reads_the_same() {
    for old in [None, Some(0x0b9d_2e00)] {
        let (mut z, want, used) = hang_v2(old);
        let j = read(&z).unwrap();
        assert_eq!(j.entries().collect::<Vec<_>>(), want);
        assert_eq!(j.tail, Tail::Clean);
        assert_hang_answer(&j.progress());
        let progress = j.progress();
        for byte in 0..used {
            for bit in 0..8 {
                z[byte] ^= 1 << bit;
                let j = read(&z).unwrap_or_else(|e| panic!("byte {byte} bit {bit}: {e}"));
                assert!(
                    j.entries().eq(want.iter().copied()),
                    "byte {byte} bit {bit}"
                );
                assert_eq!(j.tail, Tail::Clean, "byte {byte} bit {bit}");
                assert_eq!(j.progress(), progress, "byte {byte} bit {bit}");
                assert_eq!(j.corrupt_count(), 0, "byte {byte} bit {bit}");
                assert!(!j.header_recovered());
                z[byte] ^= 1 << bit;
            }
        }
    }
}

#[test]
fn a_flipped_magic_bit_is_still_located() {
    let (z, _, _) = hang_v2(None);
    let mut img = vec![0x55u8; 0x3000];
    img.extend_from_slice(&z);
    img[0x3000 + 3] ^= 0x10;
    assert_eq!(locate(&img), Some(0x3000));
    let j = read(&img[0x3000..]).unwrap();
    assert_eq!(j.corrected_bytes(), 1);
}

/// A tiny deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Damages `bytes` distinct bytes of `slot` (each changed to a different value).
fn damage(z: &mut [u8], at: usize, len: usize, bytes: usize, rng: &mut Rng) {
    let mut picked: Vec<usize> = Vec::new();
    while picked.len() < bytes {
        let p = rng.below(len);
        if !picked.contains(&p) {
            picked.push(p);
        }
    }
    for p in picked {
        z[at + p] ^= 1 + rng.below(255) as u8;
    }
}

/// Random multi-byte damage to the written slots (and sometimes the header):
/// nothing yielded differs from what was written; slots within the parity's
/// reach are repaired; slots beyond it are reported corrupt and every intact
/// later entry is still read; the tail is torn only when the damaged slot is
/// the last one written.
#[test]
fn random_damage_never_falsifies() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for case in 0..3000 {
        let old = (case % 2 == 1).then_some(0x0b9d_2e00);
        let (mut z, want, _) = hang_v2(old);
        let n = want.len();
        let mut light: Vec<usize> = Vec::new();
        let mut heavy: Vec<usize> = Vec::new();
        for _ in 0..1 + rng.below(4) {
            let s = rng.below(n);
            if light.contains(&s) || heavy.contains(&s) {
                continue;
            }
            let at = HEADER_AREA_LEN + s * SLOT_LEN;
            if rng.below(3) == 0 {
                damage(&mut z, at, SLOT_LEN, 12 + rng.below(40), &mut rng);
                heavy.push(s);
            } else {
                damage(&mut z, at, SLOT_LEN, 1 + rng.below(8), &mut rng);
                light.push(s);
            }
        }
        let header = rng.below(4);
        match header {
            1 => damage(&mut z, 0, HEADER_AREA_LEN, 1 + rng.below(8), &mut rng),
            // Beyond the parity, magic intact.
            2 => damage(&mut z, 8, HEADER_AREA_LEN - 8, 12 + rng.below(30), &mut rng),
            _ => {}
        }
        let j = read(&z).unwrap_or_else(|e| panic!("case {case}: {e}"));
        assert_eq!(j.header.generation, 0x0b9d_2e01, "case {case}");
        assert_eq!(j.header_recovered(), header == 2, "case {case}");
        let got: Vec<Entry> = j.entries().collect();
        for e in &got {
            assert_eq!(*e, want[e.seq as usize], "case {case}");
        }
        let seqs: Vec<u32> = got.iter().map(|e| e.seq).collect();
        for s in 0..n {
            let yielded = seqs.contains(&(s as u32));
            assert_eq!(yielded, !heavy.contains(&s), "case {case} slot {s}");
        }
        let corrupt: Vec<u32> = j.corrupt_slots().map(|c| c.index).collect();
        assert_eq!(corrupt.len() as u32, j.corrupt_count());
        let last = seqs.last().map(|&l| l as usize);
        for &h in &heavy {
            if last.is_some_and(|l| l > h) {
                assert!(corrupt.contains(&(h as u32)), "case {case} slot {h}");
            }
        }
        let last_heavy = heavy.contains(&(n - 1));
        match j.tail {
            Tail::Torn { index, .. } => {
                assert!(last_heavy, "case {case}: torn at {index}");
                assert_eq!(index as usize, n - 1);
            }
            Tail::Clean => {}
            Tail::Full => panic!("case {case}: full"),
        }
        if heavy.is_empty() {
            assert_hang_answer(&j.progress());
        }
    }
}

#[test]
fn damaged_header_is_rebuilt_from_the_entries() {
    // Over an older journal whose stale entries outnumber the new ones: the
    // new generation still wins, because it fills the slots from 0.
    let (mut z, want, _) = hang_v2(Some(0x0b9d_2e00));
    for b in &mut z[8..40] {
        *b ^= 0xa5;
    }
    let j = read(&z).unwrap();
    assert!(j.header_recovered());
    assert_eq!(j.header.generation, 0x0b9d_2e01);
    assert_eq!(j.header.capacity, capacity_for(z.len()));
    assert_eq!(j.entries().collect::<Vec<_>>(), want);
    assert_hang_answer(&j.progress());
    // Found inside a region image, too.
    let mut img = vec![0u8; 0x2000];
    img.extend_from_slice(&z);
    assert_eq!(locate(&img), Some(0x2000));
    // No entry checks: the damaged header is an error, as before.
    let mut z = vec![0u8; zone_len(4)];
    JournalWriter::arm(&mut z, 3).unwrap();
    for b in &mut z[8..40] {
        *b ^= 0xa5;
    }
    assert!(matches!(read(&z), Err(Error::BadHeaderCrc { .. })));
    assert_eq!(locate(&z), None);
}

#[test]
fn damaged_header_is_an_error_not_a_panic() {
    assert_eq!(read(&[0u8; 10]).unwrap_err(), Error::TooSmall { len: 10 });
    assert_eq!(read(&[0u8; 200]).unwrap_err(), Error::BadMagic);
    let mut z = vec![0u8; zone_len(2)];
    JournalWriter::arm(&mut z, 3).unwrap();
    z[20] ^= 1;
    assert!(read(&z).is_ok(), "one flipped bit is repaired");
}

#[test]
fn lost_step_end_does_not_leave_a_finished_step_open() {
    let mut zone = vec![0u8; zone_len(16)];
    let mut w = JournalWriter::arm(&mut zone, 1).unwrap();
    let list = [
        Entry::new(EntryKind::PanicStart, 0, 0, 1).with_name(b"boom"),
        Entry::new(EntryKind::PlanStep, 0, 0, 1)
            .with_step(StepKind::Hypervisor, Performer::Recorder),
        Entry::new(EntryKind::PlanStep, 1, 0, 1)
            .with_step(StepKind::PreReboot, Performer::Recorder),
        Entry::new(EntryKind::StepBegin, 0, 0, 2),
        Entry::new(EntryKind::CallBegin, 0, 0, 3).with_name(b"a"),
        Entry::new(EntryKind::CallEnd, 0, 0, 4),
        Entry::new(EntryKind::StepEnd, 0, 0, 5).with_arg(Outcome::Done as u64),
        Entry::new(EntryKind::StepBegin, 1, 0, 6),
        Entry::new(EntryKind::CallBegin, 1, 0, 7).with_name(b"hung"),
    ];
    for e in &list {
        w.append(e).unwrap();
    }
    let intact = read(&zone).unwrap().progress();
    assert_eq!(intact.open_step.unwrap().step, 1);
    assert_eq!(intact.open_call.unwrap().name_bytes(), b"hung");
    // Lose the CallEnd, the StepEnd and the next StepBegin (slots 5, 6, 7).
    for s in 5..8 {
        let at = HEADER_AREA_LEN + s * SLOT_LEN;
        for b in &mut zone[at..at + 40] {
            *b ^= 0x3c;
        }
    }
    let j = read(&zone).unwrap();
    assert_eq!(j.corrupt_count(), 3);
    assert_eq!(j.tail, Tail::Clean);
    let p = j.progress();
    assert_eq!(p.open_step, None, "step 0 ended: a later step's call began");
    assert_eq!(p.open_call.unwrap().name_bytes(), b"hung");
}

#[test]
fn progress_names_the_open_step_and_call() {
    let mut zone = [0u8; zone_len(16)];
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
fn performer_and_notifier_chain() {
    let e = Entry::new(EntryKind::PlanStep, 3, 0, 1)
        .with_step(StepKind::NotifierChain, Performer::Kernel);
    assert_eq!(e.arg, 12 | 1 << 8);
    assert_eq!(e.step_kind(), Some(StepKind::NotifierChain));
    assert_eq!(e.performer(), Performer::Kernel);
    assert_eq!(StepKind::NotifierChain.name(), "panic notifier chain");
    let r = Entry::new(EntryKind::StepBegin, 0, 0, 1).with_arg(StepKind::StopCpus as u64);
    assert_eq!(r.performer(), Performer::Recorder);
    assert_eq!(r.step_kind(), Some(StepKind::StopCpus));
    assert_eq!(
        Entry::new(EntryKind::StepBegin, 0, 0, 1)
            .with_arg(0x100)
            .step_kind(),
        None
    );
}

#[test]
fn locate_finds_the_zone_after_other_data() {
    let mut img = vec![0u8; 0x1000 + zone_len(4)];
    img[..8].copy_from_slice(b"CVJOURN1"); // magic without a valid header
    JournalWriter::arm(&mut img[0x1000..], 9).unwrap();
    assert_eq!(locate(&img), Some(0x1000));
    assert_eq!(locate(&img[..0x1000]), None);
}

proptest::proptest! {
    #[test]
    fn any_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..1024)) {
        let mut z = bytes.clone();
        if z.len() >= HEADER_AREA_LEN && capacity_for(z.len()) > 0 && z[0] & 1 == 0 {
            // Give half the cases a valid header so entries get parsed.
            let mut head = vec![0u8; z.len()];
            JournalWriter::arm(&mut head, 1).unwrap();
            z[..HEADER_AREA_LEN].copy_from_slice(&head[..HEADER_AREA_LEN]);
            if z[1] & 1 == 0 {
                z[9] ^= 0xff; // and some a header beyond repair to rebuild
                z[13..30].fill(0x77);
            }
        }
        if let Ok(j) = read(&z) {
            proptest::prop_assert!(j.entries().count() as u32 <= j.header.capacity);
            proptest::prop_assert!(j.corrupt_slots().count() as u32 == j.corrupt_count());
            let _ = j.progress();
        }
        let _ = locate(&z);
    }
}
