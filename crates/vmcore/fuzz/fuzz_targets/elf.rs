//! ELF64 cores: input is forced to start with an x86_64 ET_CORE header.
#![no_main]
use libfuzzer_sys::fuzz_target;
#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let mut v = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x04\0\x3e\0".to_vec();
    v.extend_from_slice(data);
    common::exercise(&v);
});
