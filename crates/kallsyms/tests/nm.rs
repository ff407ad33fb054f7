//! kallsyms decoded from real dumps against binutils `nm` of the same
//! kernel's `-dbg` vmlinux: every symbol we read is a symbol of the
//! vmlinux at its link address plus the dump's KASLR offset.
//!
//! 6.1: `nm` runs on the vmlinux at `CRASHVIEW_DBG_VMLINUX` (scripts/test.sh
//! sets it; the test says so and passes when it is absent). 6.12:
//! fixtures/tasks/6.12/vmlinux.nm.zst is `nm -n` of
//! linux-image-6.12.117+deb12-amd64-dbg's vmlinux, committed (the package
//! is ~1 GB).

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use crashview_kallsyms::Kallsyms;
use crashview_vmcore::Vmcore;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

fn unzstd(bytes: &[u8]) -> Vec<u8> {
    let mut d = ruzstd::decoding::StreamingDecoder::new(bytes).unwrap();
    let mut out = Vec::new();
    d.read_to_end(&mut out).unwrap();
    out
}

fn nm_set(text: &str) -> HashSet<(u64, String)> {
    text.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let a = u64::from_str_radix(w.next()?, 16).ok()?;
            let _kind = w.next()?;
            Some((a, w.next()?.to_string()))
        })
        .collect()
}

fn check(dump: &Path, nm: &HashSet<(u64, String)>) {
    let bytes = unzstd(&std::fs::read(dump).unwrap());
    let core = Vmcore::parse(&bytes).unwrap();
    let k = Kallsyms::read(&core).unwrap();
    let offset = core.vmcoreinfo().and_then(|v| v.kernel_offset()).unwrap();
    let mut checked = 0;
    let mut missing = Vec::new();
    for (addr, _kind, name) in k.iter() {
        // Absolute per-CPU offsets are not relocated by KASLR.
        let link = if addr >= 0xffff_ffff_8000_0000 {
            addr - offset
        } else {
            addr
        };
        if !nm.contains(&(link, name.to_string())) {
            missing.push(format!("{addr:#x} {name}"));
        }
        checked += 1;
    }
    assert!(
        k.len() > 50_000,
        "{}: only {} symbols",
        dump.display(),
        k.len()
    );
    assert!(
        missing.is_empty(),
        "{}: {} of {checked} symbols are not nm's: {:?}",
        dump.display(),
        missing.len(),
        &missing[..missing.len().min(20)]
    );
    eprintln!("{}: {checked} symbols equal nm", dump.display());
}

#[test]
fn linux_6_12_symbols_equal_nm() {
    let nm = String::from_utf8(unzstd(
        &std::fs::read(fixtures().join("tasks/6.12/vmlinux.nm.zst")).unwrap(),
    ))
    .unwrap();
    check(
        &fixtures().join("tasks/6.12/kdump-zlib-d1.min.zst"),
        &nm_set(&nm),
    );
}

#[test]
fn linux_6_1_symbols_equal_nm() {
    let Some(vmlinux) = std::env::var_os("CRASHVIEW_DBG_VMLINUX") else {
        eprintln!("CRASHVIEW_DBG_VMLINUX is not set: the 6.1 nm comparison needs the -dbg vmlinux");
        return;
    };
    let out = std::process::Command::new("nm")
        .arg("-n")
        .arg(&vmlinux)
        .output()
        .expect("run nm (binutils)");
    assert!(out.status.success(), "nm failed");
    let nm = nm_set(&String::from_utf8_lossy(&out.stdout));
    check(&fixtures().join("tasks/6.1/kdump-zlib-d31.min.zst"), &nm);
}
