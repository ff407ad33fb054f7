//! The patched kernel (kernel-side/linux-patch): a 6.1 kernel whose panic()
//! runs the recorder's plan, in QEMU (fixtures/panic-patch, made by
//! fixtures/panic-patch/generate.sh; `CRASHVIEW_PATCH_FIXTURES=DIR` reads a
//! fresh set instead, as CI does).
//! - reboot: no crash kernel; every step ran for real, the legacy
//!   panic_notifier_list walked entry by entry with the kernel's own
//!   callbacks named, the stock ramoops' record of that panic read back on
//!   the next boot, the journal read from the reserved region and from
//!   /sys/kernel/panic_recorder/journal;
//! - kdump: a crash kernel loaded, the default plan: the pre-crash-dump set,
//!   then the crash dump; the capture kernel's vmcore holds the journal,
//!   found through VMCOREINFO with no vmlinux.

mod common;
use common::crashview;
use std::path::PathBuf;

fn dir(scenario: &str) -> PathBuf {
    match std::env::var_os("CRASHVIEW_PATCH_FIXTURES").filter(|v| !v.is_empty()) {
        Some(d) => PathBuf::from(d).join(scenario),
        None => common::fixture("panic-patch").join(scenario),
    }
}

fn report(input: &std::path::Path) -> serde_json::Value {
    let (code, out, err) =
        crashview(&["report", "--json", "--no-symbols", input.to_str().unwrap()]);
    assert_eq!(code, 0, "{}: {err}", input.display());
    serde_json::from_str(&out).unwrap()
}

fn steps(v: &serde_json::Value) -> Vec<(String, String)> {
    v["timeline"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                s["outcome"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn the_reboot_path_runs_every_step_and_names_the_kernels_notifiers() {
    let d = dir("reboot");
    let v = report(&d.join("region.bin"));
    assert_eq!(v["kind"], "recorder-region");
    assert_eq!(v["timeline"]["source"], "journal");
    let names: Vec<String> = steps(&v).into_iter().map(|s| s.0).collect();
    assert_eq!(
        names,
        [
            "stop other CPUs",
            "pre-crash-dump set",
            "hypervisor list",
            "info list",
            "panic notifier chain",
            "kmsg dump",
            "console flush",
            "pre-reboot list",
            "delay",
            "post-reboot list",
            "reboot"
        ]
    );
    let s = steps(&v);
    for (name, outcome) in &s[..s.len() - 1] {
        assert!(
            ["done", "skipped"].contains(&outcome.as_str()),
            "{name}: {outcome} (the recorder runs every step itself)"
        );
    }
    assert_eq!(s[0].1, "done", "stop other CPUs, for real");
    assert_eq!(s[5].1, "done", "kmsg_dump(KMSG_DUMP_PANIC)");
    let stopped = &v["timeline"]["stopped"];
    assert_eq!(stopped["ended_by"], "the machine restarted");
    // The legacy chain, entry by entry, with the kernel's own callbacks.
    let chain = &v["timeline"]["steps"][4]["calls"];
    let calls: Vec<&str> = chain
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(calls.contains(&"dump_kernel_offset"), "{calls:?}");
    assert!(calls.contains(&"rcu_panic"), "{calls:?}");
    assert!(chain
        .as_array()
        .unwrap()
        .iter()
        .all(|c| !c["end_ns"].is_null()));
    // panic_timeout=1: the delay step waited a second.
    let delay = v["timeline"]["steps"][8]["duration_ns"].as_u64().unwrap();
    assert!(delay >= 1_000_000_000, "delay {delay} ns");
    // The stock ramoops of the next boot read the record of that panic,
    // which holds the recorder's info lines and the kernel offset.
    let rec = std::fs::read_to_string(d.join("pstore/dmesg-ramoops-0")).unwrap();
    assert!(rec.starts_with("Panic#1 Part1\n"));
    for want in [
        "Kernel panic - not syncing: sysrq triggered crash",
        "panic_recorder: panic plan (level 0 from prefer_crash_dump=1; crash kernel not loaded, kmsg dumper registered)",
        "Kernel Offset: 0x",
    ] {
        assert!(rec.contains(want), "record lacks {want:?}");
    }
    // The journal file the next boot shows is the region's mirror.
    let img = std::fs::read(d.join("region.bin")).unwrap();
    let jf = std::fs::read(d.join("journal.bin")).unwrap();
    assert!(jf[..] == img[img.len() - jf.len()..]);
    let j = report(&d.join("journal.bin"));
    assert_eq!(j["kind"], "recorder-journal");
    assert_eq!(steps(&j), s);
}

#[test]
fn with_a_crash_kernel_the_vmcore_holds_the_journal_up_to_the_kexec() {
    let d = dir("kdump");
    let v = report(&d.join("vmcore"));
    assert_eq!(v["kind"], "vmcore");
    assert_eq!(
        v["timeline"]["source"], "journal",
        "found through VMCOREINFO"
    );
    assert_eq!(
        steps(&v),
        [
            ("pre-crash-dump set".to_string(), "skipped".to_string()),
            ("crash dump".to_string(), "never ended".to_string())
        ]
    );
    let plan: Vec<&str> = v["timeline"]["plan"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(
        &plan[..3],
        ["pre-crash-dump set", "crash dump", "stop other CPUs"]
    );
    assert_eq!(
        v["timeline"]["stopped"]["ended_by"],
        "the crash kernel took over"
    );
    assert_eq!(
        v["summary"]["panic"]["text"], "sysrq triggered crash",
        "the vmcore's own log"
    );
}
