//! Crash directories: what the distributions' kdump services leave behind.
//!
//! * Debian/Ubuntu kdump-tools (`kdump-config savecore`): one directory per
//!   crash under `KDUMP_COREDIR` (`/var/crash`), named by the stamp
//!   `date +%Y%m%d%H%M`, holding `dump.<stamp>` (`dump-incomplete` while
//!   makedumpfile runs or when it failed) and `dmesg.<stamp>`
//!   (`makedumpfile --dump-dmesg`).
//! * Fedora/RHEL kexec-tools (the kdump initramfs' `kdump.sh`):
//!   `/var/crash/<host>-<date>/vmcore` (`vmcore-incomplete` until done) and
//!   `vmcore-dmesg.txt` (`vmcore-dmesg-incomplete.txt` until done).
//!
//! One directory is one crash: read from the dump, with the dmesg file as
//! the fallback when the dump cannot be read.

use std::path::{Path, PathBuf};

use serde::Serialize;

/// Which service's layout a crash directory has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CrashDirLayout {
    /// Debian/Ubuntu kdump-tools: `dump.<stamp>`, `dmesg.<stamp>`.
    KdumpTools,
    /// Fedora/RHEL kexec-tools: `vmcore`, `vmcore-dmesg.txt`.
    KexecTools,
}

impl CrashDirLayout {
    /// The name used in text and JSON.
    pub fn name(self) -> &'static str {
        match self {
            CrashDirLayout::KdumpTools => "kdump-tools",
            CrashDirLayout::KexecTools => "kexec-tools",
        }
    }
}

/// A crash directory and the files of its one crash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CrashDir {
    /// Which layout.
    pub layout: CrashDirLayout,
    /// The directory.
    pub dir: PathBuf,
    /// The dump (complete if there is one, else the incomplete one).
    pub dump: Option<PathBuf>,
    /// The dump is the service's "incomplete" file: makedumpfile did not finish.
    pub dump_incomplete: bool,
    /// The kernel log the service saved beside the dump.
    pub dmesg: Option<PathBuf>,
}

/// Most directory entries looked at to recognize a crash directory.
const MAX_ENTRIES: usize = 4096;

/// Is `dir` a crash directory? `None` when it holds no file of either
/// layout (a pstore directory, a pile of crash directories, ...).
pub fn detect(dir: &Path) -> Option<CrashDir> {
    let rd = std::fs::read_dir(dir).ok()?;
    let mut names: Vec<String> = rd
        .take(MAX_ENTRIES)
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file() || t.is_symlink()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let stamped = |prefix: &str| {
        names
            .iter()
            .find(|n| {
                n.strip_prefix(prefix)
                    .is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            })
            .map(|n| dir.join(n))
    };
    let named = |n: &str| names.iter().any(|x| x == n).then(|| dir.join(n));
    // kdump-tools
    let (dump, dmesg) = (stamped("dump."), stamped("dmesg."));
    let incomplete = named("dump-incomplete");
    if dump.is_some() || dmesg.is_some() || incomplete.is_some() {
        return Some(CrashDir {
            layout: CrashDirLayout::KdumpTools,
            dir: dir.to_path_buf(),
            dump_incomplete: dump.is_none() && incomplete.is_some(),
            dump: dump.or(incomplete),
            dmesg,
        });
    }
    // kexec-tools
    let dump = named("vmcore").or_else(|| named("vmcore.flat"));
    let incomplete = named("vmcore-incomplete");
    let dmesg = named("vmcore-dmesg.txt").or_else(|| named("vmcore-dmesg-incomplete.txt"));
    if dump.is_some() || incomplete.is_some() || dmesg.is_some() {
        return Some(CrashDir {
            layout: CrashDirLayout::KexecTools,
            dir: dir.to_path_buf(),
            dump_incomplete: dump.is_none() && incomplete.is_some(),
            dump: dump.or(incomplete),
            dmesg,
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with(files: &[&str]) -> tempdir::Dir {
        let d = tempdir::Dir::new();
        for f in files {
            std::fs::write(d.0.join(f), b"x").unwrap();
        }
        d
    }

    mod tempdir {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new() -> Dir {
                use std::sync::atomic::{AtomicU32, Ordering};
                static N: AtomicU32 = AtomicU32::new(0);
                let p = std::env::temp_dir().join(format!(
                    "cv-crashdir-{}-{}",
                    std::process::id(),
                    N.fetch_add(1, Ordering::Relaxed)
                ));
                std::fs::create_dir_all(&p).unwrap();
                Dir(p)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[test]
    fn kdump_tools() {
        let d = dir_with(&["dump.202612010818", "dmesg.202612010818"]);
        let c = detect(&d.0).unwrap();
        assert_eq!(c.layout, CrashDirLayout::KdumpTools);
        assert_eq!(c.dump, Some(d.0.join("dump.202612010818")));
        assert_eq!(c.dmesg, Some(d.0.join("dmesg.202612010818")));
        assert!(!c.dump_incomplete);
    }

    #[test]
    fn kdump_tools_incomplete() {
        let d = dir_with(&["dump-incomplete", "dmesg.202612010818"]);
        let c = detect(&d.0).unwrap();
        assert!(c.dump_incomplete);
        assert_eq!(c.dump, Some(d.0.join("dump-incomplete")));
    }

    #[test]
    fn kexec_tools() {
        let d = dir_with(&["vmcore", "vmcore-dmesg.txt"]);
        let c = detect(&d.0).unwrap();
        assert_eq!(c.layout, CrashDirLayout::KexecTools);
        assert_eq!(c.dmesg, Some(d.0.join("vmcore-dmesg.txt")));
    }

    #[test]
    fn not_a_crash_dir() {
        let d = dir_with(&["dmesg-ramoops-0", "dump.txt", "dmesg.old"]);
        assert_eq!(detect(&d.0), None);
    }
}
