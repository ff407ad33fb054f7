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
        text.contains("result: STOPPED in step 8 pre-reboot list, inside \"hung_notifier\""),
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
        "panic notifier chain",
        "kmsg dump",
        "console flush",
        "pre-reboot list",
        "post-reboot list",
        "delay",
        "reboot",
    ];
    assert_eq!(order.len(), names.len(), "{text}");
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
        err.contains(
            "sysrq-ecc/region.bin: this is a ramoops region image: it holds no panic journal"
        ),
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

/// The hang fixture's journal rewritten as version 2 in place, with one
/// entry repaired by parity and one beyond repair: the answer is unchanged
/// and the damage is reported, in text and JSON.
#[test]
fn damaged_v2_journal_keeps_the_answer_and_reports_the_damage() {
    use crashview_journal::{self as j, JournalWriter, HEADER_AREA_LEN, SLOT_LEN};
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/recorder/hang/region.bin");
    let mut img = std::fs::read(fixture).unwrap();
    let off = j::locate(&img).unwrap();
    let (generation, list): (u32, Vec<j::Entry>) = {
        let r = j::read(&img[off..]).unwrap();
        (r.header.generation, r.entries().collect())
    };
    img[off..].fill(0);
    let mut w = JournalWriter::arm(&mut img[off..], generation).unwrap();
    for e in &list {
        w.append(e).unwrap();
    }
    img[off + HEADER_AREA_LEN + 3 * SLOT_LEN + 17] ^= 0x01;
    let bad = off + HEADER_AREA_LEN + 20 * SLOT_LEN;
    for b in &mut img[bad..bad + 40] {
        *b ^= 0xc3;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("region.bin");
    std::fs::write(&path, &img).unwrap();
    let run = |json: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_crashview"));
        cmd.arg("journal").arg(&path);
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
    };
    let text = run(false);
    // The same answer as the undamaged fixture gives.
    let want = journal("hang", false);
    let result = |t: &str| {
        t.lines()
            .find(|l| l.starts_with("result:"))
            .map(str::to_string)
    };
    assert!(
        result(&want).unwrap().contains("inside \"hung_notifier\""),
        "{want}"
    );
    assert_eq!(result(&text), result(&want), "{text}");
    assert!(text.contains("1 byte(s) corrected"), "{text}");
    assert!(
        text.contains(&format!("slot 20 at offset {bad:#x} unreadable")),
        "{text}"
    );
    assert!(!text.contains("was being written"), "{text}");
    let v: serde_json::Value = serde_json::from_str(&run(true)).unwrap();
    assert_eq!(v["schema"], "crashview.journal/1");
    assert_eq!(v["version"], 2);
    assert_eq!(v["corrected_bytes"], 1);
    assert_eq!(v["corrupt_slots"][0]["index"], 20);
    assert_eq!(v["corrupt_slots"][0]["offset"], bad);
    assert_eq!(v["tail"], "clean");
    assert_eq!(v["stopped_in_call"], "hung_notifier");
    assert_eq!(v["entries"].as_array().unwrap().len(), list.len() - 1);
}

/// An oops's kmsg dump, journaled before the panic started, is shown before
/// step 1 at a negative time (when it was written relative to the panic),
/// not at +0.000000 as if it were part of the panic path.
#[test]
fn dumps_before_the_panic_have_negative_times() {
    let text = journal("oops-panic", false);
    let lines: Vec<&str> = text.lines().collect();
    let oops = lines
        .iter()
        .position(|l| {
            *l == "    -0.004058            kmsg dump written to dmesg zone 0: Oops#1 Part1 deflated"
        })
        .unwrap_or_else(|| panic!("{text}"));
    let step1 = lines
        .iter()
        .position(|l| l.contains("step  1 stop other CPUs (the kernel's) begins"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(oops < step1, "{text}");
    assert!(lines[step1].trim_start().starts_with("+0.000320"), "{text}");
    assert!(!text.contains("+0.000000"), "{text}");
    // The panic's own dump, inside step 6, stays after the start.
    assert!(
        text.contains(
            "    +0.009090            kmsg dump written to dmesg zone 1: Panic#2 Part1 deflated"
        ),
        "{text}"
    );
}

/// A clean reboot's journal (always_kmsg_dump: one Shutdown dump, no panic
/// start, no plan, no step) is not a panic path that "stopped".
#[test]
fn a_clean_shutdown_records_no_panic() {
    let text = journal("shutdown", false);
    assert!(
        text.contains(
            "no panic start journaled: times are seconds since boot\nplan: none journaled\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "\n     2.246884            kmsg dump written to dmesg zone 0: Shutdown#1 Part1 deflated\n"
        ),
        "{text}"
    );
    assert!(
        text.ends_with("result: no panic recorded; 1 kmsg dump journaled\n"),
        "{text}"
    );
    assert!(!text.contains("stopped between steps"), "{text}");
    assert!(!text.contains("STOPPED"), "{text}");
    let v: serde_json::Value = serde_json::from_str(&journal("shutdown", true)).unwrap();
    assert_eq!(v["finished"], false);
    assert!(v["stopped_in_step"].is_null());
    assert_eq!(v["plan"], serde_json::json!([]));
    assert_eq!(v["entries"][0]["kind"], "DumpWritten");
    assert_eq!(v["entries"][0]["name"], "Shutdown#1 Part1 deflated");
}
