//! One test per real-kernel fixture (fixtures/ramoops/<name>/): the records
//! we read from `region.bin` must equal, name for name and byte for byte,
//! what the stock Linux kernel showed in /sys/fs/pstore for the same region
//! (`pstore/`, captured by fixtures/readback.sh). Run once with autodetection
//! and once with the ramoops parameters from the manifest.
//!
//! `CRASHVIEW_FIXTURES=DIR` points the harness at freshly generated fixtures
//! (CI regenerates some with the real kernel and checks them here too).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crashview_ramoops::layout::Layout;
use crashview_ramoops::region::{Overrides, Region};
use libtest_mimic::{Arguments, Failed, Trial};

/// (label, dir) for every fixture: the checked-in ones, and fresh ones under
/// `$CRASHVIEW_FIXTURES` (labelled `fresh/…`; an empty set there is an error).
fn fixture_dirs() -> Vec<(String, PathBuf)> {
    let mut roots = vec![(
        String::new(),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/ramoops"),
    )];
    if let Some(extra) = std::env::var_os("CRASHVIEW_FIXTURES").filter(|v| !v.is_empty()) {
        roots.push(("fresh/".to_string(), PathBuf::from(extra)));
    }
    let mut out = Vec::new();
    for (label, root) in roots {
        let before = out.len();
        let Ok(rd) = std::fs::read_dir(&root) else {
            panic!("cannot read fixture directory {}", root.display())
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.join("manifest.json").is_file()
                && p.join("region.bin").is_file()
                && p.join("pstore").is_dir()
            {
                out.push((
                    format!("{label}{}", p.file_name().unwrap().to_string_lossy()),
                    p,
                ));
            }
        }
        assert!(
            out.len() > before,
            "no fixtures found under {}",
            root.display()
        );
    }
    out.sort();
    out
}

fn oracle(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut m = BTreeMap::new();
    for e in std::fs::read_dir(dir.join("pstore")).unwrap().flatten() {
        m.insert(
            e.file_name().to_string_lossy().into_owned(),
            std::fs::read(e.path()).unwrap(),
        );
    }
    m
}

fn manifest_overrides(dir: &Path) -> (Overrides, serde_json::Value) {
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let r = &m["ramoops"];
    let n = |k: &str| r[k].as_u64();
    let ov = Overrides {
        mem_size: n("mem_size"),
        record_size: n("record_size"),
        console_size: n("console_size"),
        ftrace_size: n("ftrace_size"),
        pmsg_size: n("pmsg_size"),
        ecc: n("ecc").map(|v| v as u32),
        ftrace_zones: None,
    };
    (ov, m)
}

fn ours(region: &Region) -> BTreeMap<String, Vec<u8>> {
    region
        .records()
        .iter()
        .map(|r| (r.file_name(), r.file_contents()))
        .collect()
}

fn compare(
    name: &str,
    got: &BTreeMap<String, Vec<u8>>,
    want: &BTreeMap<String, Vec<u8>>,
) -> Result<(), Failed> {
    let gk: Vec<_> = got.keys().collect();
    let wk: Vec<_> = want.keys().collect();
    if gk != wk {
        return Err(format!("{name}: record names differ: ours {gk:?}, linux {wk:?}").into());
    }
    for (k, w) in want {
        let g = &got[k];
        if g != w {
            let at = g
                .iter()
                .zip(w.iter())
                .position(|(a, b)| a != b)
                .unwrap_or(g.len().min(w.len()));
            return Err(format!(
                "{name}: {k}: contents differ at byte {at} (ours {} bytes, linux {} bytes)",
                g.len(),
                w.len()
            )
            .into());
        }
    }
    Ok(())
}

fn check(dir: &Path, autodetect: bool) -> Result<(), Failed> {
    let bytes = std::fs::read(dir.join("region.bin"))?;
    let (ov, manifest) = manifest_overrides(dir);
    let used = if autodetect { Overrides::default() } else { ov };
    let region = Region::scan(&bytes, &used)?;
    let want = oracle(dir);
    compare(&dir.display().to_string(), &ours(&region), &want)?;
    // The layout we use must be the one the kernel used.
    let expect = Layout::compute(&crashview_ramoops::layout::Params {
        mem_size: ov.mem_size.unwrap_or(0),
        record_size: ov.record_size.unwrap_or(0),
        console_size: ov.console_size.unwrap_or(0),
        ftrace_size: ov.ftrace_size.unwrap_or(0),
        pmsg_size: ov.pmsg_size.unwrap_or(0),
        ecc: ov.ecc.unwrap_or(0),
        ftrace_zones: region.layout.ftrace.count.max(1),
    })?;
    if region.layout != expect {
        return Err(format!(
            "layout {:?} differs from the kernel's {:?}",
            region.layout, expect
        )
        .into());
    }
    if region.params.ecc as u64 != manifest["ramoops"]["ecc"].as_u64().unwrap_or(0) {
        return Err(format!("ecc {} differs from manifest", region.params.ecc).into());
    }
    // Crafted corruption fixtures: the reader must say what it found.
    let notes: Vec<String> = region
        .all_diagnostics()
        .iter()
        .map(|d| d.message.clone())
        .collect();
    let name = dir.file_name().unwrap().to_string_lossy();
    if name.contains("ecc-correctable") && !notes.iter().any(|m| m.contains("corrected")) {
        return Err(format!("no correction reported: {notes:?}").into());
    }
    if name.contains("ecc-uncorrectable") && !notes.iter().any(|m| m.contains("uncorrectable")) {
        return Err(format!("no uncorrectable block reported: {notes:?}").into());
    }
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let mut trials = Vec::new();
    for (name, dir) in fixture_dirs() {
        let d = dir.clone();
        trials.push(Trial::test(format!("{name}::autodetect"), move || {
            check(&d, true)
        }));
        let d = dir.clone();
        trials.push(Trial::test(format!("{name}::module_params"), move || {
            check(&d, false)
        }));
    }
    libtest_mimic::run(&args, trials).exit();
}
