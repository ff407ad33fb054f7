//! What the recorder module leaves on the next boot, read by the CLI: the
//! journal file it exposes (`/sys/kernel/debug/panic_recorder/journal`), a
//! systemd-pstore archive with that file copied beside the records, and a
//! record's trace symbolized with Debian's real `-dbg` vmlinux (checked
//! against binutils `addr2line`).

mod common;
use common::{crashview, fixture};

#[test]
fn the_journal_file_alone_tells_where_the_path_stopped() {
    let f = fixture("recorder/hang/ours/journal.bin");
    let (code, out, err) = crashview(&["journal", f.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("panic journal at offset 0x0:"), "{out}");
    assert!(
        out.contains("result: STOPPED in step 8 pre-reboot list, inside \"hung_notifier\""),
        "{out}"
    );
    let (code, out, err) = crashview(&["report", "--plain", f.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("(recorder-journal)"), "{out}");
    assert!(
        out.contains("result: STOPPED in step 8 pre-reboot list, inside \"hung_notifier\""),
        "{out}"
    );
}

/// The archive systemd-pstore leaves (`dmesg-panic_recorder-N` files), with
/// the journal copied in as the book says: one report holds the records'
/// traces and the exact timeline.
#[test]
fn an_archive_with_the_journal_copied_in_reports_both() {
    let src = fixture("recorder/oops2-sysrq");
    let dir = std::env::temp_dir().join(format!("cv-archive-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for e in std::fs::read_dir(src.join("ours/pstore"))
        .unwrap()
        .flatten()
    {
        std::fs::copy(e.path(), dir.join(e.file_name())).unwrap();
    }
    std::fs::copy(
        src.join("ours/journal.bin"),
        dir.join("panic_recorder-journal"),
    )
    .unwrap();
    let (code, out, err) = crashview(&["report", "--json", dir.to_str().unwrap()]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["kind"], "pstore-dir");
    assert_eq!(
        v["records"].as_array().unwrap().len(),
        3,
        "two oopses, a panic"
    );
    assert_eq!(v["timeline"]["source"], "journal");
    assert_eq!(v["timeline"]["finished"], true);
    assert!(
        v["traces"].as_array().unwrap().len() >= 2,
        "the oopses' traces"
    );
}

/// `crashview trace --vmlinux` on a record our module wrote: the record
/// holds `Kernel Offset:` (x86's notifier runs before pstore's dump), so
/// KASLR'd vmlinux frames resolve; each resolved frame's inline chain
/// equals binutils `addr2line -f -i` at the address crashview says it
/// looked up. Needs Debian's `-dbg` vmlinux of the fixtures' kernel
/// (scripts/test.sh fetches the one of today's kernel and sets
/// CRASHVIEW_DBG_VMLINUX; the record is then the fresh fixture that kernel
/// just wrote, CRASHVIEW_RECORDER_FIXTURES/oops2-sysrq).
#[test]
fn a_recorder_record_symbolizes_with_the_debian_vmlinux() {
    let Some(vmlinux) = std::env::var_os("CRASHVIEW_DBG_VMLINUX").filter(|v| !v.is_empty()) else {
        eprintln!("skipped: CRASHVIEW_DBG_VMLINUX is not set (scripts/test.sh sets it)");
        return;
    };
    let vmlinux = std::path::PathBuf::from(vmlinux);
    let rec = match std::env::var_os("CRASHVIEW_RECORDER_FIXTURES").filter(|v| !v.is_empty()) {
        Some(d) => std::path::PathBuf::from(d).join("oops2-sysrq/region.bin"),
        None => fixture("recorder/oops-panic/region.bin"),
    };
    let (code, out, err) = crashview(&[
        "trace",
        "--json",
        "--vmlinux",
        vmlinux.to_str().unwrap(),
        rec.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let inputs = v["inputs"].as_array().unwrap();
    let release = vmlinux
        .file_name()
        .unwrap()
        .to_string_lossy()
        .replace("vmlinux-", "");
    assert!(
        inputs.iter().all(|i| i["release"] == release.as_str()),
        "the record is from the vmlinux's kernel {release}"
    );
    assert!(
        inputs
            .iter()
            .any(|i| i["kernel_offset"].as_u64().is_some_and(|o| o != 0)),
        "the panic record's Kernel Offset line"
    );
    let mut checked = 0;
    for t in inputs.iter().flat_map(|i| i["traces"].as_array().unwrap()) {
        for f in t["frames"].as_array().unwrap() {
            let (Some(addr), Some(src)) = (f["lookup_address"].as_u64(), f["source"].as_array())
            else {
                continue;
            };
            if f["object"] != "vmlinux" || src.is_empty() {
                continue;
            }
            // Caller frames at the call (pc - 1), RIP lines at their address.
            let pc = f["pc"].as_u64().unwrap();
            let want = if f["kind"] == "frame" { pc - 1 } else { pc };
            assert_eq!(addr, want, "{}: lookup address", f["text"]);
            assert_eq!(
                f["lookup"],
                if f["kind"] == "frame" {
                    "call-site"
                } else {
                    "address"
                }
            );
            let o = std::process::Command::new("addr2line")
                .args(["-f", "-i", "-e"])
                .arg(&vmlinux)
                .arg(format!("{addr:#x}"))
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&o.stdout);
            let lines: Vec<&str> = text.lines().collect();
            let theirs: Vec<(String, String)> = lines
                .chunks(2)
                .map(|c| {
                    let loc = c.get(1).copied().unwrap_or("");
                    let loc = loc.split(" (discriminator").next().unwrap();
                    let (file, line) = loc.rsplit_once(':').unwrap_or((loc, "?"));
                    let base = file.rsplit('/').next().unwrap().to_string();
                    (c[0].to_string(), format!("{base}:{line}"))
                })
                .collect();
            let ours: Vec<(String, String)> = src
                .iter()
                .map(|s| {
                    let file = s["file"].as_str().unwrap_or("");
                    let base = file.rsplit('/').next().unwrap().to_string();
                    (
                        s["function"].as_str().unwrap_or("").to_string(),
                        format!("{base}:{}", s["line"]),
                    )
                })
                .collect();
            assert_eq!(ours, theirs, "{} at {addr:#x}", f["text"]);
            checked += 1;
        }
    }
    assert!(checked >= 5, "only {checked} vmlinux frames resolved");
}
