//! The limits on input-driven work: layout autodetection stops at its work
//! budget and says so; `pstore::read_dir` refuses trees beyond its file,
//! entry and byte limits with an error naming the limit. Each test fails
//! without its limit (the walk, or the detection, would go on silently).

use std::path::{Path, PathBuf};

use crashview_ramoops::pstore::{self, Limits};
use crashview_ramoops::region::{Overrides, Region, Severity};
use crashview_ramoops::zone::SIG_DBGC;

/// An image with an empty plain zone header at each offset.
fn image_with_headers(len: usize, offsets: &[usize]) -> Vec<u8> {
    let mut img = vec![0u8; len];
    for &o in offsets {
        img[o..o + 4].copy_from_slice(&SIG_DBGC.to_le_bytes());
    }
    img
}

#[test]
fn autodetection_budget() {
    // Headers spaced 2^8, 2^9, …, 2^21 apart: every spacing is a candidate
    // tail size, so unbounded detection tries 50 625 layouts and probes 71
    // million zone headers (4x the budget; a 64 MiB image of this kind
    // would take minutes). Real regions use about 175 000 units.
    let mut offsets = vec![0usize];
    for bit in 8..=21 {
        offsets.push(offsets.last().unwrap() + (1 << bit));
    }
    let len = 4 << 20;
    offsets.retain(|&o| o + 12 <= len);
    let img = image_with_headers(len, &offsets);
    let t = std::time::Instant::now();
    let region = Region::scan(&img, &Overrides::default()).unwrap();
    let stop = region
        .diagnostics
        .iter()
        .find(|d| d.message.contains("work budget"))
        .expect("detection stopped at its budget and said so");
    assert_eq!(stop.severity, Severity::Warning);
    assert!(
        stop.message.contains("candidate layouts") && stop.message.contains("zone probes"),
        "{}",
        stop.message
    );
    // Generous for an unoptimised build on a loaded machine; without the
    // budget this takes far longer.
    assert!(t.elapsed().as_secs() < 60, "took {:?}", t.elapsed());

    // A real region stays far inside the budget.
    let real = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/ramoops/oops-panic/region.bin"),
    )
    .unwrap();
    let region = Region::scan(&real, &Overrides::default()).unwrap();
    assert!(
        !region
            .diagnostics
            .iter()
            .any(|d| d.message.contains("work budget")),
        "{:?}",
        region.diagnostics
    );
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "crashview-ramoops-{tag}-{}-{:?}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn write_records(dir: &Path, n: usize, body: &[u8]) {
    for i in 0..n {
        std::fs::write(dir.join(format!("dmesg-ramoops-{i}")), body).unwrap();
    }
}

#[test]
fn read_dir_file_limit() {
    // One file more than the default limit: an error naming it, where the
    // walk used to stop silently after MAX_FILES.
    let d = TempDir::new("files");
    write_records(&d.0, pstore::MAX_FILES + 1, b"x");
    let err = pstore::read_dir(&d.0).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("more than {} pstore files", pstore::MAX_FILES)),
        "{msg}"
    );
    // Exactly at the limit is fine.
    std::fs::remove_file(d.0.join("dmesg-ramoops-0")).unwrap();
    assert_eq!(pstore::read_dir(&d.0).unwrap().len(), pstore::MAX_FILES);
}

#[test]
fn read_dir_byte_limits() {
    let d = TempDir::new("bytes");
    write_records(&d.0, 4, &[b'a'; 1000]);
    let limits = Limits {
        max_total: 3500,
        ..Limits::default()
    };
    let msg = pstore::read_dir_with(&d.0, &limits)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("add up to more than 3500 bytes"), "{msg}");
    let limits = Limits {
        max_total: 4000,
        ..Limits::default()
    };
    assert_eq!(pstore::read_dir_with(&d.0, &limits).unwrap().len(), 4);

    // One oversized record: refused by name, no longer skipped silently.
    let limits = Limits {
        max_file: 999,
        ..Limits::default()
    };
    let msg = pstore::read_dir_with(&d.0, &limits)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("dmesg-ramoops-0") && msg.contains("limit 999 bytes"),
        "{msg}"
    );
}

#[test]
fn read_dir_entry_limit() {
    // Entries that are not pstore files count too: a directory of junk
    // cannot keep the walk (and its listing in memory) growing.
    let d = TempDir::new("entries");
    for i in 0..20 {
        std::fs::write(d.0.join(format!("junk{i}")), b"").unwrap();
    }
    let limits = Limits {
        max_entries: 10,
        ..Limits::default()
    };
    let msg = pstore::read_dir_with(&d.0, &limits)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("more than 10 directory entries"), "{msg}");
    assert!(pstore::read_dir(&d.0).unwrap().is_empty());
}
