//! Any bytes as a journal zone (half the time behind a valid header, so the
//! entry parser is reached): reading, iterating and summarising never panic
//! and never yield more entries than the header's capacity.
#![no_main]

use crashview_journal::{capacity_for, read, JournalWriter, HEADER_LEN};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut zone = data.to_vec();
    if zone.first().is_some_and(|b| b & 1 == 0) && capacity_for(zone.len()) > 0 {
        // Arm a header over the fuzzer's bytes, keeping its entry slots.
        let mut head = vec![0u8; zone.len()];
        JournalWriter::arm(&mut head, u32::from(zone[1 % zone.len()])).unwrap();
        zone[..HEADER_LEN].copy_from_slice(&head[..HEADER_LEN]);
    }
    if let Ok(j) = read(&zone) {
        assert!(j.entries().count() as u32 <= j.header.capacity);
        let _ = j.progress();
    }
});
