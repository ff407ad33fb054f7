//! `crashview journal` on regions written by the panic recorder inside a real
//! kernel (fixtures/recorder).

use std::path::Path;
use std::process::Command;

fn journal(fixture: &str, json: bool) -> String {
    let region = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/recorder")
        .join(fixture)
        .join("region.bin");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_crashview"));
    cmd.arg("journal").arg(&region);
    if json {
        cmd.arg("--json");
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn names_the_hung_notifier() {
    let text = journal("hang", false);
    assert!(
        text.contains("result: STOPPED in step 7 pre-reboot list, inside \"hung_notifier\""),
        "{text}"
    );
    let v: serde_json::Value = serde_json::from_str(&journal("hang", true)).unwrap();
    assert_eq!(v["schema"], "crashview.journal/1");
    assert_eq!(v["stopped_in_step"]["step"], "pre-reboot list");
    assert_eq!(v["stopped_in_call"], "hung_notifier");
    assert_eq!(v["finished"], false);
}

#[test]
fn prints_steps_in_the_order_they_ran_with_times() {
    let text = journal("sysrq", false);
    let order: Vec<&str> = text.lines().filter(|l| l.contains(" begins")).collect();
    let names = [
        "stop other CPUs",
        "pre-crash-dump set",
        "hypervisor list",
        "info list",
        "kmsg dump",
        "console flush",
        "pre-reboot list",
    ];
    for (line, name) in order.iter().zip(names) {
        assert!(line.contains(name), "{line} vs {name}");
        assert!(line.trim_start().starts_with("+0."), "{line}");
    }
    assert!(
        text.contains("stop other CPUs left to the kernel's panic()"),
        "{text}"
    );
    assert!(text.contains("kmsg dump written to dmesg zone 0: Panic#1"));
    assert!(text.contains("result: the panic path ran every step"));
}

#[test]
fn shows_nested_panics_and_skipped_corrupt_entries() {
    let text = journal("nested", false);
    assert!(
        text.contains("NESTED PANIC on CPU 0: panic_recorder selftest"),
        "{text}"
    );
    assert!(text.contains("hypervisor list nested panic"));
    assert!(text.contains("failed its check: skipped, not called"));
}

#[test]
fn region_without_a_journal_is_a_clear_error() {
    let region =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/ramoops/sysrq-ecc/region.bin");
    let out = Command::new(env!("CARGO_BIN_EXE_crashview"))
        .arg("journal")
        .arg(&region)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("sysrq-ecc/region.bin: no panic journal found"),
        "{err}"
    );
}

#[test]
fn pstore_extract_of_a_recorder_region_matches_the_stock_kernel() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/recorder");
    for fixture in ["sysrq", "nested", "hang", "oops-panic"] {
        let out = tempfile::tempdir().unwrap();
        let st = Command::new(env!("CARGO_BIN_EXE_crashview"))
            .args(["pstore", "extract"])
            .arg(root.join(fixture).join("region.bin"))
            .arg("-o")
            .arg(out.path())
            .output()
            .unwrap();
        assert!(st.status.success());
        assert!(String::from_utf8_lossy(&st.stderr).contains("panic journal found here"));
        let want = std::fs::read(root.join(fixture).join("pstore/dmesg-ramoops-0")).unwrap();
        assert_eq!(
            std::fs::read(out.path().join("dmesg-ramoops-0")).unwrap(),
            want,
            "{fixture}"
        );
    }
}
