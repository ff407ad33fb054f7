//! Finding and mapping debug files (feature `loader`).
//!
//! The places looked at, in order, follow `decode_stacktrace.sh` and the
//! distributions' debug packages:
//!
//! * vmlinux: the build id link `<root>/usr/lib/debug/.build-id/xx/yyyy.debug`
//!   (when the log prints the build id), `<root>/usr/lib/debug/boot/vmlinux-<release>`,
//!   `<root>/boot/vmlinux-<release>`, `<root>/lib/modules/<release>/build/vmlinux`,
//!   `<root>/usr/lib/debug/lib/modules/<release>/vmlinux`;
//! * modules: every directory given, then `<root>/usr/lib/debug/lib/modules/<release>/`
//!   and `<root>/lib/modules/<release>/`, searched recursively for
//!   `<name>.ko` or `<name>.ko.debug` with `-` and `_` equivalent.
//!
//! `<root>` is `/` unless a sysroot is given. Which candidate is used (the
//! first with DWARF) is the caller's decision; this module only lists and
//! maps.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use memmap2::Advice;

use crate::elf::ReadAhead;
use crate::resolve::normalize_module;

pub use memmap2::Mmap;

/// Directory entries visited per module tree before giving up.
pub const MAX_WALK_ENTRIES: usize = 500_000;
/// Directory depth followed under a module tree.
pub const MAX_WALK_DEPTH: usize = 16;

/// Files up to this size are read whole, ahead of use (a module); larger
/// ones (a vmlinux) only where [`ReadAhead`] hints say.
pub const READ_WHOLE_BELOW: usize = 16 << 20;

/// Memory-maps `path` read-only.
///
/// A big debug file is read at scattered places, so its map is marked
/// random access: the kernel's default read-around on a page fault (up to
/// `read_ahead_kb`, 8 MiB on some machines) would read a hundred MB for a
/// 30-frame trace. What will be read is asked for instead, by
/// [`DebugObject::read_ahead_for`](crate::DebugObject::read_ahead_for).
pub fn map(path: &Path) -> std::io::Result<Mmap> {
    let file = std::fs::File::open(path)?;
    // SAFETY: the map is read-only and private to us; if another process
    // truncates the file while we read it we may fault, which is the
    // accepted risk of every mmap-based symbolizer (addr2line, llvm-symbolizer).
    let m = unsafe { Mmap::map(&file) }?;
    let advice = if m.len() < READ_WHOLE_BELOW {
        Advice::WillNeed
    } else {
        Advice::Random
    };
    // Advice only: a kernel that refuses it reads the file all the same.
    let _ = m.advise(advice);
    Ok(m)
}

impl ReadAhead for Mmap {
    fn will_need(&self, offset: usize, len: usize) {
        // madvise wants a page-aligned start.
        let start = offset & !(PAGE - 1);
        let end = offset.saturating_add(len).min(self.len());
        if let Some(n) = end.checked_sub(start).filter(|&n| n > 0) {
            let _ = self.advise_range(Advice::WillNeed, start, n);
        }
    }
}

/// The smallest page size of the platforms we run on; aligning to it is
/// enough for madvise on larger pages too (the kernel rounds).
const PAGE: usize = 4096;

/// `<root>/usr/lib/debug/.build-id/xx/yyyy.debug` for a hex build id.
pub fn build_id_path(root: &Path, build_id_hex: &str) -> Option<PathBuf> {
    let id = build_id_hex.to_ascii_lowercase();
    if id.len() < 4 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let (head, tail) = id.split_at(2);
    Some(
        root.join("usr/lib/debug/.build-id")
            .join(head)
            .join(format!("{tail}.debug")),
    )
}

/// Existing vmlinux candidates, best first.
pub fn vmlinux_candidates(
    root: &Path,
    release: Option<&str>,
    build_id_hex: Option<&str>,
) -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Some(p) = build_id_hex.and_then(|id| build_id_path(root, id)) {
        v.push(p);
    }
    if let Some(rel) = release {
        v.push(root.join(format!("usr/lib/debug/boot/vmlinux-{rel}")));
        v.push(root.join(format!("boot/vmlinux-{rel}")));
        v.push(root.join(format!("lib/modules/{rel}/build/vmlinux")));
        v.push(root.join(format!("usr/lib/debug/lib/modules/{rel}/vmlinux")));
    }
    v.retain(|p| p.is_file());
    v
}

/// The default module trees for `release` under `root`.
pub fn default_module_dirs(root: &Path, release: Option<&str>) -> Vec<PathBuf> {
    let Some(rel) = release else {
        return Vec::new();
    };
    vec![
        root.join(format!("usr/lib/debug/lib/modules/{rel}")),
        root.join(format!("lib/modules/{rel}")),
    ]
}

/// Module files found under some directories, by normalised module name.
#[derive(Debug, Default)]
pub struct ModuleIndex {
    by_name: HashMap<String, Vec<PathBuf>>,
    /// Entries skipped because a walk hit [`MAX_WALK_ENTRIES`].
    pub truncated: bool,
}

impl ModuleIndex {
    /// Walks `dirs` (missing ones are skipped); earlier directories win.
    pub fn build(dirs: &[PathBuf]) -> Self {
        let mut idx = ModuleIndex::default();
        let mut budget = MAX_WALK_ENTRIES;
        for d in dirs {
            if d.is_file() {
                idx.add_file(d);
            } else {
                idx.walk(d, 0, &mut budget);
            }
        }
        idx
    }

    fn add_file(&mut self, p: &Path) {
        let Some(name) = p.file_name().and_then(|n| n.to_str()) else {
            return;
        };
        let stem = name
            .strip_suffix(".ko.debug")
            .or_else(|| name.strip_suffix(".ko"));
        if let Some(stem) = stem {
            self.by_name
                .entry(normalize_module(stem))
                .or_default()
                .push(p.to_path_buf());
        }
    }

    fn walk(&mut self, dir: &Path, depth: usize, budget: &mut usize) {
        if depth > MAX_WALK_DEPTH {
            return;
        }
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        let mut subdirs = Vec::new();
        for e in rd.flatten() {
            let Some(left) = budget.checked_sub(1) else {
                self.truncated = true;
                return;
            };
            *budget = left;
            let Ok(ft) = e.file_type() else { continue };
            let p = e.path();
            if ft.is_dir() {
                subdirs.push(p);
            } else if ft.is_file() || ft.is_symlink() {
                self.add_file(&p);
            }
        }
        subdirs.sort();
        for s in subdirs {
            // At most MAX_WALK_DEPTH + 1: cannot overflow.
            self.walk(&s, depth.saturating_add(1), budget);
        }
    }

    /// Candidate files for module `name`, in search order.
    pub fn get(&self, name: &str) -> &[PathBuf] {
        self.by_name
            .get(&normalize_module(name))
            .map_or(&[], Vec::as_slice)
    }
}
