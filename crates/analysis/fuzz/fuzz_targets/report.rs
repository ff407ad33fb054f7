//! Any bytes as a crashview input (autodetected: text, region, vmcore,
//! zstd): loading, analysing, symbolizing against the fixtures' crashmod.ko,
//! the text report, the JSON and the triage signature never panic.
//!
//! Seed with the fixtures' console logs and pstore files:
//!   cargo fuzz run report corpus/report ../../../fixtures/ramoops/*/pstore -- -max_len=65536
#![no_main]

use std::cell::RefCell;

use crashview_analysis::symbols::Session;
use crashview_analysis::{analyze, input, text, triage, DebugOptions};
use libfuzzer_sys::fuzz_target;

thread_local! {
    static SESSION: RefCell<Session> = RefCell::new(Session::new(DebugOptions {
        modules: vec![concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../fixtures/ramoops/crashmod.ko"
        )
        .into()],
        debug_root: "/nonexistent".into(),
        ..DebugOptions::default()
    }));
}

fuzz_target!(|data: &[u8]| {
    // A small zstd stream can expand to the 4 GiB default cap, legitimately
    // slow to analyse: the fuzzer explores the parsers, not throughput.
    let opts = input::LoadOptions {
        max_decompressed: Some(1 << 20),
        ..input::LoadOptions::default()
    };
    let Ok(inp) = input::from_bytes("fuzz".into(), data, &opts) else {
        return;
    };
    let mut r = analyze(&inp);
    // One session for the whole run, as `report --jsonl` over many dumps
    // has: the debug files are found and mapped once per kernel.
    SESSION.with(|s| {
        s.borrow_mut()
            .symbolize(&mut r)
            .expect("crashmod.ko is readable")
    });
    let mut out = Vec::new();
    text::write_report(&mut out, &r).expect("writes to a Vec");
    serde_json::to_vec(&r).expect("serializes");
    let groups = triage::group(std::slice::from_ref(&r));
    assert_eq!(groups.len(), 1);
});
