//! Shared helpers for the fixture tests: find, load (zstd-decompress) and
//! read the oracles of fixtures/vmcore.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub fn vmcore_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/vmcore")
}

/// Every committed dump: (scenario dir, file).
pub fn dumps() -> Vec<PathBuf> {
    let mut v = Vec::new();
    for sc in ["qemu", "kdump"] {
        let Ok(rd) = std::fs::read_dir(vmcore_dir().join(sc)) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let n = p.file_name().unwrap().to_string_lossy().to_string();
            if n.ends_with(".txt") || n.ends_with(".log") || n == "cmdline" || n.starts_with('.') {
                continue;
            }
            v.push(p);
        }
    }
    v.sort();
    v
}

/// The dump's name without storage suffixes: `kdump-lzo.flat.min.zst` -> `kdump-lzo`.
pub fn base_name(p: &Path) -> String {
    let mut n = p.file_name().unwrap().to_string_lossy().to_string();
    for suf in [".zst", ".min", ".flat"] {
        if let Some(s) = n.strip_suffix(suf) {
            n = s.to_string();
        }
    }
    n
}

/// The dump's bytes (decompressed if `.zst`).
pub fn load(p: &Path) -> Vec<u8> {
    let raw = std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    if p.extension().is_some_and(|e| e == "zst") {
        let mut out = Vec::new();
        let mut dec = ruzstd::decoding::StreamingDecoder::new(&raw[..]).expect("zstd frame");
        std::io::Read::read_to_end(&mut dec, &mut out).expect("zstd data");
        out
    } else {
        raw
    }
}

/// Kernel lines of a serial console log (`[    1.234567] ...`).
pub fn console_kernel_lines(p: &Path) -> Vec<String> {
    let t = std::fs::read(p).unwrap();
    String::from_utf8_lossy(&t)
        .lines()
        .filter(|l| is_kernel_line(l))
        .map(str::to_owned)
        .collect()
}

pub fn is_kernel_line(l: &str) -> bool {
    let Some(rest) = l.strip_prefix('[') else {
        return false;
    };
    let Some((ts, _)) = rest.split_once("] ") else {
        return false;
    };
    let ts = ts.trim_start();
    let Some((s, us)) = ts.split_once('.') else {
        return false;
    };
    !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_digit())
        && us.len() == 6
        && us.bytes().all(|b| b.is_ascii_digit())
}

/// `key=value` from versions.txt.
pub fn version(key: &str) -> String {
    let t = std::fs::read_to_string(vmcore_dir().join("versions.txt")).unwrap();
    t.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap()
        .to_string()
}
