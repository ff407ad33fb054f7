//! The `crashview` binary on the real-kernel fixtures: what an engineer runs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_crashview"))
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/ramoops")
}

fn fixture_dirs() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("region.bin").is_file() && p.join("pstore").is_dir())
        .collect();
    v.sort();
    assert!(!v.is_empty());
    v
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("run crashview");
    assert!(
        out.status.success(),
        "{:?} failed: {}",
        cmd,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn same_tree(a: &Path, b: &Path) {
    let names = |d: &Path| {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(a), names(b), "{} vs {}", a.display(), b.display());
    for n in names(a) {
        assert!(
            std::fs::read(a.join(&n)).unwrap() == std::fs::read(b.join(&n)).unwrap(),
            "{n} differs"
        );
    }
}

#[test]
fn extract_equals_the_kernels_pstore_for_every_fixture() {
    for dir in fixture_dirs() {
        let out = tempfile::tempdir().unwrap();
        run(bin()
            .args(["pstore", "extract"])
            .arg(dir.join("region.bin"))
            .arg("-o")
            .arg(out.path()));
        same_tree(out.path(), &dir.join("pstore"));
    }
}

#[test]
fn extract_with_module_parameters() {
    let dir = fixtures().join("oops-panic");
    let out = tempfile::tempdir().unwrap();
    run(bin()
        .args(["pstore", "extract"])
        .arg(dir.join("region.bin"))
        .args([
            "--mem-size",
            "0x100000",
            "--record-size",
            "0x4000",
            "--console-size",
            "4096",
            "--ftrace-size",
            "4096",
            "--pmsg-size",
            "4096",
            "--ecc",
            "16",
            "-o",
        ])
        .arg(out.path()));
    same_tree(out.path(), &dir.join("pstore"));
}

#[test]
fn list_json_describes_every_record() {
    let dir = fixtures().join("oops-panic");
    let out = run(bin()
        .args(["pstore", "list", "--json"])
        .arg(dir.join("region.bin")));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema"], "crashview.pstore.list/1");
    assert_eq!(v["layout"]["ecc"], 16);
    assert_eq!(v["layout"]["dmesg_zones"], 63);
    let recs = v["records"].as_array().unwrap();
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0]["reason"], "Oops");
    assert_eq!(recs[1]["reason"], "Panic");
    assert_eq!(recs[0]["compressed"], true);
    assert_eq!(recs[0]["ecc_corrected_bytes"], 0);
    for r in recs {
        let f = dir.join("pstore").join(r["file"].as_str().unwrap());
        assert_eq!(
            r["size"].as_u64().unwrap(),
            std::fs::metadata(f).unwrap().len()
        );
    }
}

#[test]
fn list_text_shows_zone_reason_part_time_ecc() {
    let out = run(bin()
        .args(["pstore", "list"])
        .arg(fixtures().join("wrap/region.bin")));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("8 dmesg zones of 0x2000"), "{text}");
    let rows: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("dmesg-ramoops-"))
        .collect();
    assert_eq!(rows.len(), 8);
    assert!(rows.iter().any(|r| r.contains("Panic#")));
    assert!(rows.iter().filter(|r| r.contains("Oops#")).count() >= 7);
}

#[test]
fn reads_a_pstore_directory_and_a_systemd_archive() {
    let src = fixtures().join("oops-panic/pstore");
    // /sys/fs/pstore copy.
    let out = run(bin().args(["pstore", "list", "--json"]).arg(&src));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["records"].as_array().unwrap().len(), 2);
    assert_eq!(v["records"][1]["reason"], "Panic");
    // systemd-pstore keeps pstore names, one directory down per boot.
    let archive = tempfile::tempdir().unwrap();
    let sub = archive.path().join("1795919204");
    std::fs::create_dir(&sub).unwrap();
    for e in std::fs::read_dir(&src).unwrap().flatten() {
        std::fs::copy(e.path(), sub.join(e.file_name())).unwrap();
    }
    std::fs::write(sub.join("dmesg.txt"), b"joined parts").unwrap();
    let out = tempfile::tempdir().unwrap();
    run(bin()
        .args(["pstore", "extract"])
        .arg(archive.path())
        .arg("-o")
        .arg(out.path()));
    same_tree(out.path(), &src);
}

#[test]
fn bad_input_gives_clear_errors_naming_the_file() {
    let out = bin()
        .args(["pstore", "list", "/nonexistent/region.bin"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/region.bin"));

    let tmp = tempfile::tempdir().unwrap();
    let zeros = tmp.path().join("zeros.bin");
    std::fs::write(&zeros, vec![0u8; 0x100000]).unwrap();
    let out = bin().args(["pstore", "list"]).arg(&zeros).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("zeros.bin")
            && err.contains("offset 0x0")
            && err.contains("no ramoops zone signature"),
        "{err}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("(no records)"));

    // A cut image still shows the complete zones and names the cut one.
    let cut = tmp.path().join("cut.bin");
    let full = std::fs::read(fixtures().join("oops-panic/region.bin")).unwrap();
    std::fs::write(&cut, &full[..0x6000]).unwrap();
    let out = run(bin()
        .args(["pstore", "list", "--mem-size", "0x100000"])
        .arg(&cut));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cut.bin: offset 0x4040 dmesg(1)"), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("dmesg-ramoops-0"));
}
