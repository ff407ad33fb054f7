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
//!   found through VMCOREINFO with no vmlinux;
//! - prefer0 and post-notifiers: what the book's plan table says runs before
//!   the crash dump, the kmsg dump among it (its ramoops record read back on
//!   the next boot), a corrupted notifier_block skipped, never called;
//! - hang, nested, twocpu: a hung panic notifier named, a nested panic in
//!   a list entry, two CPUs panicking at once.

mod common;
use common::crashview;
use std::path::PathBuf;

/// The fresh scenario when CI made one, else the committed one (`ftrace`
/// is only made when named: function tracing under TCG can stall).
fn dir(scenario: &str) -> PathBuf {
    std::env::var_os("CRASHVIEW_PATCH_FIXTURES")
        .filter(|v| !v.is_empty())
        .map(|d| PathBuf::from(d).join(scenario))
        .filter(|d| d.is_dir())
        .unwrap_or_else(|| common::fixture("panic-patch").join(scenario))
}

fn report(input: &std::path::Path) -> serde_json::Value {
    let (code, out, err) =
        crashview(&["report", "--json", "--no-symbols", input.to_str().unwrap()]);
    assert_eq!(code, 0, "{}: {err}", input.display());
    serde_json::from_str(&out).unwrap()
}

/// `crashview pstore extract` of a scenario's region with its ramoops
/// parameters: the directory of files, as /sys/fs/pstore would hold them.
fn extract(d: &std::path::Path, ecc: &str) -> PathBuf {
    let out = std::env::temp_dir().join(format!(
        "cv-pp-extract-{}-{}",
        std::process::id(),
        d.file_name().unwrap().to_string_lossy()
    ));
    let _ = std::fs::remove_dir_all(&out);
    let (code, _, err) = crashview(&[
        "pstore",
        "extract",
        "-o",
        out.to_str().unwrap(),
        "--mem-size",
        "0xfe000",
        "--record-size",
        "0x4000",
        "--ecc",
        ecc,
        "--ftrace-zones",
        "2",
        d.join("region.bin").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    out
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
    // The info list holds the in-tree callbacks patch 0004 moved there; the
    // legacy chain, walked entry by entry, the kernel's other notifiers.
    let calls = |i: usize| -> Vec<String> {
        let c = v["timeline"]["steps"][i]["calls"].as_array().unwrap();
        assert!(c.iter().all(|c| !c["end_ns"].is_null()));
        c.iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(calls(3), ["dump_kernel_offset", "panic_print_sys_info"]);
    let chain = calls(4);
    assert!(chain.iter().any(|c| c == "rcu_panic"), "{chain:?}");
    assert!(
        !chain.iter().any(|c| c == "dump_kernel_offset"),
        "{chain:?}"
    );
    // panic_timeout=1: the delay step waited a second, in panic()'s 100 ms
    // mdelay() steps (calibrated loops, so within a tenth of it).
    let delay = v["timeline"]["steps"][8]["duration_ns"].as_u64().unwrap();
    assert!(
        (900_000_000..1_500_000_000).contains(&delay),
        "delay {delay} ns"
    );
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

/// `(step, outcome)` of the journal of a kdump scenario's vmcore, up to the
/// crash dump.
fn vmcore_steps(scenario: &str) -> (serde_json::Value, Vec<(String, String)>) {
    let v = report(&dir(scenario).join("vmcore"));
    assert_eq!(v["timeline"]["source"], "journal", "{scenario}");
    let s = steps(&v);
    (v, s)
}

fn names(s: &[(String, String)]) -> Vec<&str> {
    s.iter().map(|x| x.0.as_str()).collect()
}

#[test]
fn notifiers_first_runs_the_kmsg_dump_before_the_crash_dump() {
    let (v, s) = vmcore_steps("prefer0");
    assert_eq!(
        names(&s),
        [
            "pre-crash-dump set",
            "stop other CPUs",
            "hypervisor list",
            "info list",
            "panic notifier chain",
            "kmsg dump",
            "crash dump"
        ]
    );
    assert_eq!(s[5].1, "done");
    assert_eq!(
        v["timeline"]["stopped"]["ended_by"],
        "the crash kernel took over"
    );
    // That kmsg dump's record, read by the stock ramoops after the capture.
    let rec = std::fs::read_to_string(dir("prefer0").join("pstore/dmesg-ramoops-0")).unwrap();
    assert!(rec.starts_with("Panic#1 Part1\n") && rec.contains("sysrq triggered crash"));
}

#[test]
fn a_corrupted_notifier_block_is_skipped_and_the_crash_dump_still_reached() {
    let (v, s) = vmcore_steps("post-notifiers");
    assert_eq!(
        names(&s),
        [
            "pre-crash-dump set",
            "stop other CPUs",
            "hypervisor list",
            "info list",
            "panic notifier chain",
            "kmsg dump",
            "console flush",
            "pre-reboot list",
            "crash dump"
        ]
    );
    assert_eq!(s[4].1, "corrupted entry skipped");
    assert_eq!(v["timeline"]["skipped"].as_array().unwrap().len(), 1);
    assert_eq!(
        v["timeline"]["stopped"]["ended_by"],
        "the crash kernel took over"
    );
    let console = std::fs::read_to_string(dir("post-notifiers").join("console.log")).unwrap();
    assert!(console.contains("cvpk_selftest: armed: corrupt"));
    assert!(
        !console.contains("corrupted notifier called"),
        "the corrupted entry must never be called"
    );
    let rec =
        std::fs::read_to_string(dir("post-notifiers").join("pstore/dmesg-ramoops-0")).unwrap();
    assert!(
        rec.starts_with("Panic#1 Part1\n"),
        "the kmsg dump ran before the kexec"
    );
}

#[test]
fn a_hung_panic_notifier_is_named() {
    let v = report(&dir("hang").join("region.bin"));
    let st = &v["timeline"]["stopped"];
    assert_eq!(st["step"], "panic notifier chain");
    assert_eq!(st["call"], "hung_notifier [cvpk_selftest]");
    assert!(st["ended_by"].is_null());
}

#[test]
fn a_nested_panic_in_a_list_entry_ends_that_step_and_the_path_goes_on() {
    let v = report(&dir("nested").join("region.bin"));
    let s = steps(&v);
    assert_eq!(s[3], ("info list".to_string(), "nested panic".to_string()));
    assert_eq!(v["timeline"]["nested"].as_array().unwrap().len(), 1);
    let n: Vec<&str> = names(&s);
    for k in &n {
        assert_eq!(n.iter().filter(|x| *x == k).count(), 1, "{k} ran twice");
    }
    assert_eq!(
        v["timeline"]["stopped"]["ended_by"],
        "the machine restarted"
    );
}

#[test]
fn of_two_cpus_panicking_at_once_one_owns_the_path() {
    let v = report(&dir("twocpu").join("region.bin"));
    assert_eq!(v["timeline"]["other_cpus"], 1);
    assert_eq!(
        v["timeline"]["stopped"]["ended_by"],
        "the machine restarted"
    );
    assert!(v["timeline"]["start"]["message"]
        .as_str()
        .unwrap()
        .starts_with("cvpk_selftest: CPU "));
}

/// The kernel's own console and pmsg zones (PSTORE_CONSOLE, PSTORE_PMSG:
/// Debian's kernels have neither), read from the region by crashview as the
/// next boot's /sys/fs/pstore shows them, byte for byte.
#[test]
fn console_and_pmsg_zones_read_as_linux_shows_them() {
    let d = dir("reboot");
    let out = extract(&d, "16");
    for name in ["console-ramoops-0", "pmsg-ramoops-0", "dmesg-ramoops-0"] {
        let linux = std::fs::read(d.join("pstore").join(name)).unwrap();
        let ours = std::fs::read(out.join(name)).unwrap();
        assert!(ours == linux, "{name} differs from the kernel's");
    }
    let pmsg = std::fs::read_to_string(d.join("pstore/pmsg-ramoops-0")).unwrap();
    assert!(pmsg.starts_with("crashview pmsg line from user space\n"));
    let _ = std::fs::remove_dir_all(&out);
}

/// An invalid plan (`panic_notifiers_level=5`) is refused at boot with a
/// clear message; that kernel then panics along its stock path (the kernel
/// offset comes from panic_notifier_list again) and writes no journal.
#[test]
fn an_invalid_plan_is_refused_at_boot_and_the_stock_path_runs() {
    let d = dir("refuse");
    let console = std::fs::read_to_string(d.join("console.log")).unwrap();
    assert!(console.contains(
        "panic_recorder: refusing the boot parameters: panic_notifiers_level=5 is not in 0..=4; the stock panic path stays"
    ));
    let rec = std::fs::read_to_string(d.join("pstore/dmesg-ramoops-0")).unwrap();
    assert!(rec.contains("Kernel panic - not syncing: sysrq triggered crash"));
    assert!(rec.contains("Kernel Offset: 0x"));
    assert!(
        !rec.contains("panic_recorder: panic plan"),
        "the recorder did not run"
    );
    let (code, _, err) = crashview(&["journal", d.join("region.bin").to_str().unwrap()]);
    assert_ne!(code, 0, "no journal written: {err}");
}

/// pstore's function trace, recorded into per-CPU ftrace zones by a 2-CPU
/// guest (no ECC: under TCG every traced call is a zone write): crashview's
/// merge of the zones, shown as pstore shows it, equals the next boot's
/// /sys/fs/pstore/ftrace-ramoops-0 byte for byte.
#[test]
fn per_cpu_ftrace_zones_merge_as_linux_merges_them() {
    let d = dir("ftrace");
    let out = extract(&d, "0");
    let linux = std::fs::read_to_string(d.join("pstore/ftrace-ramoops-0")).unwrap();
    let ours = std::fs::read_to_string(out.join("ftrace-ramoops-0")).unwrap();
    let _ = std::fs::remove_dir_all(&out);
    assert!(linux.lines().count() > 10, "records were traced");
    let cpus: std::collections::BTreeSet<&str> =
        linux.lines().filter_map(|l| l.split(' ').next()).collect();
    assert_eq!(cpus.len(), 2, "both CPUs' zones hold records: {cpus:?}");
    assert!(
        ours == linux,
        "the merged ftrace view differs from the kernel's"
    );
}
