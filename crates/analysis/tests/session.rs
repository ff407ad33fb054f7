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

/// A vmcore's VMCOREINFO `BUILD-ID` finds the vmlinux debug file by
/// Debian's `.build-id` layout (the log itself prints no build id).
#[test]
fn vmcore_build_id_finds_the_vmlinux() {
    let inp = input::load(&fixture("vmcore/kdump/kdump-elf.min.zst")).unwrap();
    let mut r = analyze(&inp);
    let id = r.vmcore.as_ref().unwrap().build_id.clone().unwrap();
    assert_eq!(id, "eb4fbcd037e7253717950bf2b93bd5566f47c56f");
    let root = std::env::temp_dir().join(format!("cv-buildid-{}", std::process::id()));
    let dir = root.join("usr/lib/debug/.build-id").join(&id[..2]);
    std::fs::create_dir_all(&dir).unwrap();
    let link = dir.join(format!("{}.debug", &id[2..]));
    // Any ELF with DWARF stands in for the 630 MB vmlinux: what is checked
    // is that the build id led to this path.
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(fixture("ramoops/crashmod.ko"), &link).unwrap();
    let opts = DebugOptions {
        modules: vec![fixture("ramoops/crashmod.ko")],
        debug_root: root.clone(),
        ..DebugOptions::default()
    };
    r.symbolize(&opts).unwrap();
    let used = r.debug_files.as_ref().unwrap();
    assert_eq!(
        used.vmlinux.as_deref(),
        Some(link.to_str().unwrap()),
        "{used:?}"
    );
    std::fs::remove_dir_all(&root).unwrap();
}
