//! One input layer: every subcommand on every kind of fixture, with the
//! exit code, and the one-line message naming the kind for refused ones.

mod common;
use common::{crashview, fixture};

/// Fixture of each kind the detector knows, by the name `report` gives it.
const KINDS: &[(&str, &str)] = &[
    ("ramoops-region", "ramoops/oops-panic/region.bin"),
    ("recorder-region", "recorder/hang/region.bin"),
    ("pstore-dir", "ramoops/oops-panic/pstore"),
    ("vmcore", "vmcore/kdump/kdump-zlib"),
    ("vmcore-zstd", "vmcore/qemu/qemu.elf.min.zst"),
    ("text", "vmcore/kdump/console.log"),
    ("recorder-journal", "recorder/hang/ours/journal.bin"),
    ("kdump-tools", "crashdir/var-crash/202612010818"),
    ("kdump-tools-fallback", "crashdir/var-crash/202612020900"),
    (
        "kexec-tools",
        "crashdir/kexec-tools/127.0.0.1-2026-12-01-08:18:00",
    ),
];

/// What each subcommand does with each kind: `Ok` or the refusal's
/// distinctive words.
enum Want {
    Ok,
    Refused(&'static str),
}
use Want::{Ok, Refused};

fn want(cmd: &str, kind: &str) -> Want {
    match (cmd, kind) {
        ("pstore", "ramoops-region" | "recorder-region" | "pstore-dir") => Ok,
        ("pstore", "vmcore" | "vmcore-zstd" | "kdump-tools" | "kexec-tools") => {
            Refused("this is a vmcore")
        }
        ("pstore", "text" | "kdump-tools-fallback") => Refused("this is kernel log text"),
        ("pstore", "recorder-journal") => Refused("this is a panic recorder journal"),
        ("journal", "recorder-region" | "recorder-journal") => Ok,
        ("journal", "ramoops-region") => {
            Refused("this is a ramoops region image: it holds no panic journal")
        }
        ("journal", "pstore-dir") => Refused("no panic_recorder-journal file"),
        ("journal", "vmcore" | "vmcore-zstd" | "kdump-tools" | "kexec-tools") => {
            Refused("VMCOREINFO has no PANIC_JOURNAL=")
        }
        ("journal", _) => Refused("holds no panic journal"),
        ("trace" | "log", "recorder-journal") => {
            Refused("this is a panic recorder journal: it holds no kernel log")
        }
        ("trace" | "log", _) => Ok,
        ("info", "vmcore" | "kdump-tools" | "vmcore-zstd" | "kexec-tools") => Ok,
        ("info", "kdump-tools-fallback") => Refused("disk_dump_header at offset 0x0"),
        ("info", _) => Refused("is not a vmcore, so `crashview info` cannot read it"),
        ("bt" | "ps" | "modules", "vmcore" | "kdump-tools") => Ok,
        // Minimized before the kernel-state readers existed: their
        // kallsyms pages are zeroed, and the error names the table.
        ("bt" | "ps" | "modules", "vmcore-zstd" | "kexec-tools") => Refused("kallsyms"),
        ("bt" | "ps" | "modules", "kdump-tools-fallback") => {
            Refused("disk_dump_header at offset 0x0")
        }
        ("bt" | "ps" | "modules", _) => {
            Refused("is not a vmcore, so `crashview bt/ps/modules` cannot read it")
        }
        ("report" | "triage", _) => Ok,
        _ => unreachable!("{cmd} {kind}"),
    }
}

#[test]
fn every_subcommand_on_every_kind() {
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().to_str().unwrap();
    let mut failures = Vec::new();
    for &(kind, rel) in KINDS {
        let p = fixture(rel);
        let p = p.to_str().unwrap();
        for (cmd, args) in [
            ("pstore", vec!["pstore", "list", p]),
            ("journal", vec!["journal", p]),
            (
                "trace",
                vec!["trace", "--no-code", "--debug-root", "/nonexistent", p],
            ),
            ("log", vec!["log", p]),
            ("info", vec!["info", p]),
            ("report", vec!["report", "--plain", "--no-symbols", p]),
            ("bt", vec!["bt", "--no-symbols", p]),
            ("ps", vec!["ps", p]),
            ("modules", vec!["modules", p]),
            ("triage", vec!["triage", p]),
        ] {
            let (code, stdout, stderr) = crashview(&args);
            match want(cmd, kind) {
                Ok if code == 0 => {}
                Ok => failures.push(format!("{cmd} on {kind}: exit {code}: {stderr}")),
                Refused(words) => {
                    let lines: Vec<&str> = stderr.lines().collect();
                    let one = lines.len() == 1
                        && lines[0].starts_with(&format!("crashview: error: {p}"))
                        && lines[0].contains(words);
                    if code != 2 || !one || !stdout.is_empty() {
                        failures.push(format!(
                            "{cmd} on {kind}: want exit 2 and one line with {words:?}; got exit {code}, stderr {stderr:?}"
                        ));
                    }
                }
            }
        }
        // extract refuses exactly as list does.
        let (code, _, _) = crashview(&["pstore", "extract", "-o", out, p]);
        let listed = matches!(want("pstore", kind), Ok);
        if (code == 0) != listed {
            failures.push(format!("pstore extract on {kind}: exit {code}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn trace_on_a_vmcore_reads_its_log() {
    let (code, out, err) = crashview(&[
        "trace",
        "--no-code",
        "--debug-root",
        "/nonexistent",
        fixture("vmcore/kdump/kdump-zlib").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("trace 1: BUG: kernel NULL pointer dereference"),
        "{out}"
    );
    assert!(!err.contains("no call trace found"), "{err}");
}

#[test]
fn crash_dirs_read_the_dump_or_fall_back_to_dmesg() {
    let dir = fixture("crashdir/var-crash/202612010818");
    let (code, out, err) = crashview(&["report", "--json", "--no-symbols", dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["kind"], "vmcore");
    assert_eq!(v["crash_dir"]["layout"], "kdump-tools");
    assert!(v["crash_dir"]["dump"]
        .as_str()
        .unwrap()
        .ends_with("dump.202612010818"));
    assert_eq!(
        v["vmcore"]["format"],
        "kdump-compressed (zlib), dump level 31"
    );

    // The dump makedumpfile left incomplete: the report comes from dmesg.<stamp>
    // and says why.
    let dir = fixture("crashdir/var-crash/202612020900");
    let (code, out, err) = crashview(&["report", "--json", "--no-symbols", dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["kind"], "text");
    assert_eq!(v["crash_dir"]["dump_incomplete"], true);
    let diags: Vec<&str> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert!(
        diags
            .iter()
            .any(|d| d.contains("dump-incomplete: not a readable vmcore")
                && d.ends_with("read from the dmesg file instead")),
        "{diags:?}"
    );
    assert_eq!(
        v["summary"]["panic"]["text"], "crashmod: requested panic",
        "the dmesg file's panic"
    );

    // `log` of a crash directory is the dump's printk ring, as makedumpfile
    // --dump-dmesg wrote it to the dmesg file beside it.
    let dir = fixture("crashdir/var-crash/202612010818");
    let (code, out, _) = crashview(&["log", dir.to_str().unwrap()]);
    assert_eq!(code, 0);
    let dmesg = std::fs::read_to_string(dir.join("dmesg.202612010818")).unwrap();
    assert_eq!(out, dmesg);
}

#[test]
fn triage_counts_a_crash_directory_once() {
    let pile = fixture("crashdir/var-crash");
    let (code, out, err) = crashview(&["triage", "--json", pile.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    // Two crash directories (dump + dmesg each), and kdump-tools' kexec_cmd
    // beside them is not a dump.
    assert_eq!(v["dumps"], 2, "{out}");
    assert_eq!(v["unreadable"], 0);
    let groups = v["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0]["count"], 2);
}

#[test]
fn report_many_inputs_needs_jsonl_for_json() {
    let a = fixture("ramoops/oops-panic/region.bin");
    let b = fixture("recorder/hang/region.bin");
    let (code, _, err) = crashview(&["report", "--json", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("use --jsonl"), "{err}");
    let (code, out, err) = crashview(&[
        "report",
        "--jsonl",
        "--no-symbols",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let kinds: Vec<String> = out
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["kind"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(kinds, ["ramoops-region", "recorder-region"]);
}

/// Subcommands that read only a vmcore's log leave its kernel state alone:
/// `trace` on a dump whose kallsyms pages are gone says nothing of stacks,
/// `report` (which shows them) says why it has none.
#[test]
fn only_the_report_opens_a_vmcores_kernel_state() {
    let p = fixture("vmcore/qemu/qemu.elf.min.zst");
    let p = p.to_str().unwrap();
    let (code, _, err) = crashview(&["trace", "--no-code", "--debug-root", "/nonexistent", p]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("no stacks from the dump"), "{err}");
    let (code, out, _) = crashview(&["report", "--plain", "--no-symbols", p]);
    assert_eq!(code, 0);
    assert!(out.contains("no stacks from the dump: kallsyms"), "{out}");
}
