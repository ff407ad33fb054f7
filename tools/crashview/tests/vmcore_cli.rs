//! `crashview log` and `crashview info` on the committed vmcore fixtures.

mod common;
use common::{crashview, fixture};

#[test]
fn log_prints_the_console_lines() {
    let f = fixture("vmcore/kdump/kdump-zlib");
    let (code, out, err) = crashview(&["log", f.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(err.is_empty(), "{err}");
    assert!(
        out.starts_with("[    0.000000] Linux version 6.1.0-56-amd64"),
        "{}",
        &out[..200]
    );
    assert!(out.contains("] BUG: kernel NULL pointer dereference, address: 0000000000000008\n"));
    assert!(out.contains("] Kernel panic - not syncing: crashmod: requested panic\n"));
    let console = std::fs::read_to_string(fixture("vmcore/kdump/console.log")).unwrap();
    let panic_line = console
        .lines()
        .find(|l| l.contains("Kernel panic - not syncing"))
        .unwrap();
    assert!(out.lines().any(|l| l == panic_line));
}

#[test]
fn log_json_has_record_fields() {
    let f = fixture("vmcore/kdump/kdump-zlib");
    let (code, out, err) = crashview(&["log", "--json", f.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["schema"], "crashview.log/1");
    assert_eq!(v["ring"], "printk_ringbuffer");
    let recs = v["records"].as_array().unwrap();
    assert!(recs.len() > 300);
    let first = &recs[0];
    assert_eq!(first["seq"], 0);
    assert_eq!(first["level"], 5);
    assert_eq!(first["facility"], 0);
    assert!(first["caller"].as_str().unwrap().starts_with('T'));
    assert!(
        recs.iter()
            .any(|r| r["subsystem"] != "" && r["device"] != ""),
        "some record carries dev_info"
    );
}

#[test]
fn info_reports_the_crash() {
    let f = fixture("vmcore/kdump/kdump-zlib");
    let (code, out, err) = crashview(&["info", f.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    for want in [
        "format:        kdump-compressed (zlib), dump level 31",
        "release:       6.1.0-56-amd64",
        "architecture:  x86_64",
        "(VMCOREINFO CRASHTIME)",
        "panic:         Kernel panic - not syncing: crashmod: requested panic",
        "kernel offset: 0x",
        "cpus:          1",
        "rip ffffffff",
    ] {
        assert!(out.contains(want), "missing {want:?} in\n{out}");
    }
    let (code, out, _) = crashview(&[
        "info",
        "--json",
        fixture("vmcore/qemu/qemu.elf.min.zst").to_str().unwrap(),
    ]);
    // A zstd-compressed vmcore (as the fixtures are) is read like the
    // plain one: decompressed in memory by the one input layer.
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["schema"], "crashview.info/1");
    assert_eq!(v["format"]["container"], "elf");
}

#[test]
fn damaged_dump_prints_what_it_can() {
    let mut b = std::fs::read(fixture("vmcore/kdump/kdump-zlib")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("cut");
    b.truncate(b.len() * 3 / 4);
    std::fs::write(&p, &b).unwrap();
    let (code, out, err) = crashview(&["log", p.to_str().unwrap()]);
    // Either the log survives with warnings or the error names what is missing.
    if code == 0 {
        assert!(out.contains("Linux version"));
    } else {
        assert!(err.contains("offset 0x"), "{err}");
    }
    std::fs::write(&p, &b[..300]).unwrap();
    let (code, _, err) = crashview(&["info", p.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("disk_dump_header at offset 0x0"), "{err}");
}
