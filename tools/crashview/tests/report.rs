//! `crashview report` and `crashview triage` on the committed fixtures.

mod common;
use common::{crashview, fixture};

#[test]
fn report_text_names_where_the_panic_path_stopped() {
    let f = fixture("recorder/hang/region.bin");
    let (code, out, err) = crashview(&["report", f.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("timeline:   exact, from the panic journal"),
        "{out}"
    );
    assert!(
        out.contains("result: STOPPED in step 8 pre-reboot list, inside \"hung_notifier\""),
        "{out}"
    );
}

/// The report's exact timeline keeps the journal entries outside every
/// step: an oops's dump before the panic (negative time, before step 1);
/// a clean shutdown's journal is no panic, not a path that stopped.
#[test]
fn report_timeline_shows_dumps_outside_the_steps() {
    let f = fixture("recorder/oops-panic/region.bin");
    let (code, out, err) = crashview(&["report", "--plain", f.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(
            "  panic [    2.205805] on CPU 0: Fatal exception\n\
             \x20 plan: stop other CPUs (the kernel's), "
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "   -0.004058      kmsg dump written to dmesg zone 0: Oops#1 Part1 deflated\n\
             \x20  +0.000320   1. stop other CPUs (the kernel's)"
        ),
        "{out}"
    );
    let (code, out, err) = crashview(&["report", "--json", f.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let ev = &v["timeline"]["events"];
    assert_eq!(ev.as_array().map(Vec::len), Some(1), "{ev}");
    assert_eq!(ev[0]["kind"], "kmsg dump");
    assert_eq!(ev[0]["time_ns"], 2_201_747_697u64);
    assert_eq!(
        ev[0]["text"],
        "kmsg dump written to dmesg zone 0: Oops#1 Part1 deflated"
    );

    let f = fixture("recorder/shutdown/region.bin");
    let (code, out, err) = crashview(&["report", "--plain", f.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(
            "\n    2.246884      kmsg dump written to dmesg zone 0: Shutdown#1 Part1 deflated\n\
             \x20 result: no panic recorded; 1 kmsg dump journaled\n"
        ),
        "{out}"
    );
    assert!(!out.contains("stopped between steps"), "{out}");
}

#[test]
fn report_json_is_versioned() {
    let f = fixture("ramoops/oops-panic/region.bin");
    let (code, out, err) = crashview(&["report", "--json", f.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["schema"], "crashview.report/1");
    assert_eq!(v["kind"], "ramoops-region");
    assert_eq!(v["summary"]["taint"]["mask"], 0x3000);
    assert_eq!(v["timeline"]["source"], "inferred");
    assert_eq!(v["timeline"]["steps"][0]["name"], "oops");
    assert_eq!(v["timeline"]["steps"][0]["inferred"], true);
}

/// `report` resolves trace frames to file:line with the debug files it is
/// given (the default places are kept out with --debug-root).
#[test]
fn report_symbolizes_traces() {
    let f = fixture("vmcore/kdump/kdump-zlib");
    let ko = fixture("ramoops/crashmod.ko");
    let args = |extra: &[&str]| {
        let mut a = vec![
            "report",
            f.to_str().unwrap(),
            "--debug-root",
            "/nonexistent",
            "--modules",
            ko.to_str().unwrap(),
        ];
        a.extend_from_slice(extra);
        crashview(&a)
    };
    let (code, out, err) = args(&["--plain"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(
            "    RIP: 0010:crashmod_oops_target+0x1c/0x25 [crashmod]\n        crashmod_oops_target at "
        ),
        "{out}"
    );
    assert!(out.contains("crashmod.c:37\n"), "{out}");
    assert!(out.contains("crashmod_write at "), "{out}");
    assert!(
        out.contains("  warning: no vmlinux with debug info found for 6.1.0-56-amd64"),
        "{out}"
    );

    let (code, out, err) = args(&["--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let rip = &v["traces"][0]["frames"][0];
    assert_eq!(rip["source"][0]["function"], "crashmod_oops_target");
    assert_eq!(rip["source"][0]["line"], 37);
    assert_eq!(v["debug_files"]["modules"][0]["name"], "crashmod");
    let vmlinux_frame = &v["traces"][0]["frames"][2];
    assert_eq!(vmlinux_frame["function"], "proc_reg_write");
    assert_eq!(
        vmlinux_frame["note"],
        "no vmlinux debug info (pass --vmlinux FILE)"
    );

    let (code, out, err) = crashview(&["report", "--json", "--no-symbols", f.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v["debug_files"].is_null());
    assert_eq!(v["traces"][0]["frames"][0]["source"], serde_json::json!([]));

    // A debug file the user names must exist: exit 2, naming it.
    let (code, _, err) = args(&["--plain", "--vmlinux", "/nonexistent/vmlinux"]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/vmlinux: cannot open"), "{err}");
}

#[test]
fn triage_groups_the_same_crash() {
    let a = fixture("ramoops/oops-panic/pstore");
    let b = fixture("ramoops/oops-panic/region.bin");
    let c = fixture("vmcore/kdump/kdump-zlib");
    let d = fixture("ramoops/sysrq-plain/pstore");
    let args = [
        "triage",
        "--json",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        c.to_str().unwrap(),
        d.to_str().unwrap(),
    ];
    let (code, out, err) = crashview(&args);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["schema"], "crashview.triage/1");
    assert_eq!(v["dumps"], 4);
    let groups = v["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2, "{out}");
    assert_eq!(groups[0]["count"], 3);
    assert_eq!(
        groups[0]["signature"]["frames"][0],
        "crashmod_oops_target [crashmod]"
    );
}
