//! A fleet's pile of dumps: which paths under the ones given are one crash
//! each. Walked lazily, one directory listing at a time, so a pile of ten
//! thousand crashes costs the listing of one directory, not ten thousand
//! inputs.

use std::path::{Path, PathBuf};

use crashview_ramoops::pstore::PstoreFile;

use super::crashdir;

/// How deep directories of directories are followed.
const MAX_DEPTH: u32 = 3;
/// Most entries of one directory in a pile.
pub const MAX_DIR_ENTRIES: usize = 1 << 20;

/// Files a kdump service keeps beside its crash directories, not crashes:
/// kdump-tools' saved kexec command line.
const SERVICE_FILES: [&str; 1] = ["kexec_cmd"];

/// Does `dir` hold pstore files directly (not only in subdirectories)?
fn has_pstore_files(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|rd| {
        rd.take(MAX_DIR_ENTRIES).flatten().any(|e| {
            e.file_type().is_ok_and(|t| t.is_file())
                && PstoreFile::parse_name(&e.file_name().to_string_lossy()).is_some()
        })
    })
}

/// Is `path` one crash (a file, a crash directory, a pstore directory), or
/// a pile to look into?
fn is_one_crash(path: &Path, depth: u32) -> bool {
    !path.is_dir()
        || depth >= MAX_DEPTH
        || crashdir::detect(path).is_some()
        || has_pstore_files(path)
}

/// Calls `visit` with every input under `path`, in sorted order: a
/// directory that is neither a crash directory nor a pstore directory
/// stands for its entries (a systemd-pstore archive holds one directory per
/// crash, `/var/crash` one per kdump). A listing that fails is reported to
/// `visit` as an error naming the directory; the walk goes on.
pub fn walk(path: &Path, visit: &mut dyn FnMut(Result<PathBuf, String>)) {
    walk_at(path, 0, visit);
}

fn walk_at(path: &Path, depth: u32, visit: &mut dyn FnMut(Result<PathBuf, String>)) {
    if is_one_crash(path, depth) {
        visit(Ok(path.to_path_buf()));
        return;
    }
    let rd = match std::fs::read_dir(path) {
        Ok(rd) => rd,
        Err(e) => return visit(Err(format!("{}: cannot list: {e}", path.display()))),
    };
    let mut subs: Vec<PathBuf> = Vec::new();
    for e in rd.take(MAX_DIR_ENTRIES).flatten() {
        let name = e.file_name();
        if SERVICE_FILES.iter().any(|s| name == *s) {
            continue;
        }
        subs.push(e.path());
    }
    if subs.len() == MAX_DIR_ENTRIES {
        visit(Err(format!(
            "{}: more than {MAX_DIR_ENTRIES} entries: the rest not read",
            path.display()
        )));
    }
    subs.sort();
    for s in subs {
        walk_at(&s, depth.saturating_add(1), visit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crash_dirs_are_one_input_each() {
        let root = std::env::temp_dir().join(format!("cv-pile-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for (d, files) in [
            ("202612010818", ["dump.202612010818", "dmesg.202612010818"]),
            ("202612020900", ["dump-incomplete", "dmesg.202612020900"]),
        ] {
            std::fs::create_dir_all(root.join(d)).unwrap();
            for f in files {
                std::fs::write(root.join(d).join(f), b"x").unwrap();
            }
        }
        std::fs::write(root.join("kexec_cmd"), b"kexec -p ...").unwrap();
        let mut got = Vec::new();
        walk(&root, &mut |p| got.push(p.unwrap()));
        assert_eq!(
            got,
            vec![root.join("202612010818"), root.join("202612020900")]
        );
        std::fs::remove_dir_all(&root).unwrap();
    }
}
