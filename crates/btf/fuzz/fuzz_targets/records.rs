//! Type records: input is the type section, wrapped in a valid header with a
//! small string section ("", "a", "b"), so the fuzzer spends its time in the
//! record walk and the lookups rather than on the magic.
#![no_main]
use libfuzzer_sys::fuzz_target;
#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let strs = b"\0a\0b\0";
    let mut v = Vec::with_capacity(24 + data.len() + strs.len());
    v.extend_from_slice(&[0x9f, 0xeb, 1, 0]);
    for w in [
        24u32,
        0,
        data.len() as u32,
        data.len() as u32,
        strs.len() as u32,
    ] {
        v.extend_from_slice(&w.to_le_bytes());
    }
    v.extend_from_slice(data);
    v.extend_from_slice(strs);
    common::exercise(&v);
});
