//! A symbolization session reused across reports gives each report what
//! symbolizing it alone gives.

use std::path::{Path, PathBuf};

use crashview_analysis::symbols::Session;
use crashview_analysis::{analyze, input, DebugOptions};

fn fixture(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(p)
}

#[test]
fn session_equals_one_report_at_a_time() {
    let opts = DebugOptions {
        modules: vec![fixture("ramoops/crashmod.ko")],
        debug_root: "/nonexistent".into(),
        ..DebugOptions::default()
    };
    let inputs = [
        "ramoops/oops-panic/region.bin",
        "ramoops/irq-oops/region.bin",
        "ramoops/warn/console.log",
        "ramoops/oops-panic/region.bin",
        "vmcore/kdump/kdump-elf.min.zst",
    ];
    let mut session = Session::new(opts.clone());
    let mut resolved = 0;
    for rel in inputs {
        let inp = input::load(&fixture(rel)).unwrap();
        let mut alone = analyze(&inp);
        alone.symbolize(&opts).unwrap();
        let mut shared = analyze(&inp);
        session.symbolize(&mut shared).unwrap();
        assert_eq!(
            serde_json::to_value(&shared).unwrap(),
            serde_json::to_value(&alone).unwrap(),
            "{rel}"
        );
        resolved += alone
            .traces
            .iter()
            .flat_map(|t| &t.frames)
            .filter(|f| !f.source.is_empty())
            .count();
    }
    assert!(resolved > 10, "crashmod frames resolved: {resolved}");
}
