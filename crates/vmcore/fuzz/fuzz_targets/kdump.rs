//! kdump-compressed: input is forced to start with the "KDUMP   " signature.
#![no_main]
use libfuzzer_sys::fuzz_target;
#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let mut v = b"KDUMP   ".to_vec();
    v.extend_from_slice(data);
    common::exercise(&v);
});
