//! Flattened streams: a valid 4 KiB flattened header, then the input as
//! records (whose payloads are themselves ELF or kdump data).
#![no_main]
use libfuzzer_sys::fuzz_target;
#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let mut v = b"makedumpfile\0\0\0\0".to_vec();
    v.extend_from_slice(&1i64.to_be_bytes());
    v.extend_from_slice(&1i64.to_be_bytes());
    v.resize(4096, 0);
    v.extend_from_slice(data);
    common::exercise(&v);
});
