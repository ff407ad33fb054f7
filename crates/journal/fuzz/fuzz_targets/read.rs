//! Any bytes as a journal zone (half the time behind a valid version 2
//! header, a quarter of those with the header damaged beyond its parity so
//! the rebuild from the entries runs): reading, iterating, listing corrupt
//! slots, summarising and locating never panic, never yield more entries
//! than the header's capacity, and every entry yielded sits in its own slot.
#![no_main]

use crashview_journal::{capacity_for, locate, read, JournalWriter, HEADER_AREA_LEN};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut zone = data.to_vec();
    if zone.first().is_some_and(|b| b & 1 == 0) && capacity_for(zone.len()) > 0 {
        // Arm a header (and its parity) over the fuzzer's bytes, keeping its entry slots.
        let mut head = vec![0u8; zone.len()];
        JournalWriter::arm(&mut head, u32::from(zone[1 % zone.len()])).unwrap();
        zone[..HEADER_AREA_LEN].copy_from_slice(&head[..HEADER_AREA_LEN]);
        if zone[2 % zone.len()] & 3 == 0 {
            zone[9..40].fill(0xa5);
        }
    }
    if let Ok(j) = read(&zone) {
        assert!(j.entries().count() as u32 <= j.header.capacity);
        assert!(j.entries().all(|e| e.seq < j.header.capacity));
        assert_eq!(j.corrupt_slots().count() as u32, j.corrupt_count());
        let _ = j.progress();
    }
    let _ = locate(&zone);
});
