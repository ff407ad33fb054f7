//! Debian's layout as it is (issue #14 item 5), through the library:
//! compressed modules (`.ko.xz` as the 6.12 kernels ship, `.ko.zst`,
//! `.ko.gz`) made here from fixtures/ramoops/crashmod.ko with the `xz`,
//! `zstd` and `gzip` tools (Debian packages xz-utils, zstd, gzip), the
//! `.build-id` link for modules, and module build ids from sysfs notes.
//!
//! A missing compression tool skips its case with a note, unless
//! CRASHVIEW_REQUIRE_DEBUGINFOD=1 (CI), which makes it a failure.

use std::path::{Path, PathBuf};
use std::process::Command;

use crashview_debuginfod::testing::need_tool;
use crashview_symbolize::debug_files::{DebugFiles, DebugOptions, Progress};
use crashview_symbolize::loader::{self, Compression, ModuleIndex, OpenError};
use crashview_symbolize::{parse, SectionArena};

const CRASHMOD_ID: &str = "351cca7de9a47c52e23925131a9366c030c5c9fb";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/ramoops")
}

fn ko() -> PathBuf {
    fixtures().join("crashmod.ko")
}

fn log_text() -> String {
    std::fs::read_to_string(fixtures().join("oops-panic/console.log")).unwrap()
}

/// `tool ARGS file` in place (keeping the input); `None` with a note when
/// the tool (Debian package `package`) is missing.
fn compress(tool: &str, package: &str, args: &[&str], file: &Path) -> Option<()> {
    need_tool(tool, package)?;
    let st = Command::new(tool).args(args).arg(file).status().unwrap();
    assert!(st.success(), "{tool} failed");
    Some(())
}

/// A directory holding crashmod.ko compressed with `tool`, the
/// uncompressed one removed: (dir, the compressed file).
fn compressed_copy(
    tool: &str,
    package: &str,
    args: &[&str],
    ext: &str,
) -> Option<(tempfile::TempDir, PathBuf)> {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("crashmod.ko");
    std::fs::copy(ko(), &plain).unwrap();
    compress(tool, package, args, &plain)?;
    std::fs::remove_file(&plain).unwrap();
    let out = dir.path().join(format!("crashmod.ko.{ext}"));
    assert!(out.is_file(), "{tool} made no {}", out.display());
    Some((dir, out))
}

/// The kernel's own flags (scripts/Makefile.modinst): `xz --check=crc32
/// --lzma2=dict=1MiB`, `zstd -T0`, `gzip -n`; `-k` keeps the input.
fn xz() -> Option<(tempfile::TempDir, PathBuf)> {
    compressed_copy(
        "xz",
        "xz-utils",
        &["-k", "--check=crc32", "--lzma2=dict=1MiB"],
        "xz",
    )
}
fn zstd() -> Option<(tempfile::TempDir, PathBuf)> {
    compressed_copy("zstd", "zstd", &["-q", "-k", "-T0"], "zst")
}
fn gzip() -> Option<(tempfile::TempDir, PathBuf)> {
    compressed_copy("gzip", "gzip", &["-k", "-n"], "gz")
}

/// Options that find modules only where a test says (and never fetch).
fn opts(modules: Vec<PathBuf>, root: &Path) -> DebugOptions {
    DebugOptions {
        modules,
        debug_root: root.to_path_buf(),
        ..DebugOptions::default()
    }
}

/// Every crashmod frame's resolution, as text, with these options; and the
/// warnings.
fn resolve_crashmod(text: &str, o: &DebugOptions) -> (Vec<String>, Vec<String>, DebugFiles) {
    let log = parse::parse_log(text);
    let files = DebugFiles::load(std::slice::from_ref(&log), o).unwrap();
    let arena = SectionArena::new();
    let sym = files.symbolizer(&arena);
    let mut out = Vec::new();
    for t in &log.traces {
        let rip = t.regs.as_ref().map(|r| &r.rip);
        for f in rip.into_iter().chain(t.frames()) {
            if f.module == Some("crashmod") {
                out.push(format!("{} -> {:?}", f.text, sym.resolve(f, &log.info)));
            }
        }
    }
    drop(sym);
    let w = files.warnings.clone();
    (out, w, files)
}

fn reference() -> Vec<String> {
    let empty = tempfile::tempdir().unwrap();
    let (r, w, files) = resolve_crashmod(&log_text(), &opts(vec![ko()], empty.path()));
    assert_eq!(files.modules.len(), 1, "{w:?}");
    assert!(r.iter().any(|l| l.contains("crashmod.c")), "{r:?}");
    r
}

fn check_compressed(made: Option<(tempfile::TempDir, PathBuf)>, format: Compression) {
    let Some((dir, file)) = made else { return };
    // Opened by magic, decompressed to the very bytes of the .ko.
    let bytes = loader::open(&file).unwrap();
    assert_eq!(bytes.compression(), Some(format));
    assert_eq!(&*bytes, &std::fs::read(ko()).unwrap()[..]);
    // Found by name in a module tree...
    let idx = ModuleIndex::build(&[dir.path().to_path_buf()]);
    assert_eq!(idx.get("crashmod"), std::slice::from_ref(&file));
    // ...and resolving exactly as the uncompressed one.
    let empty = tempfile::tempdir().unwrap();
    let (r, w, files) = resolve_crashmod(&log_text(), &opts(vec![dir.path().into()], empty.path()));
    assert_eq!(files.modules[0].1, file);
    assert!(w.iter().all(|w| !w.contains("crashmod")), "{w:?}");
    assert_eq!(r, reference());
}

#[test]
fn ko_xz_resolves_like_the_uncompressed_module() {
    check_compressed(xz(), Compression::Xz);
}

#[test]
fn ko_zst_resolves_like_the_uncompressed_module() {
    check_compressed(zstd(), Compression::Zstd);
}

#[test]
fn ko_gz_resolves_like_the_uncompressed_module() {
    check_compressed(gzip(), Compression::Gzip);
}

/// A broken compressed module is a warning naming it, the frames stay
/// unresolved, nothing panics.
fn check_broken(file: &Path, dir: &Path, what: &str) {
    let empty = tempfile::tempdir().unwrap();
    let (r, w, files) = resolve_crashmod(&log_text(), &opts(vec![dir.into()], empty.path()));
    assert!(files.modules.is_empty());
    let named: Vec<_> = w
        .iter()
        .filter(|w| w.contains(&file.display().to_string()))
        .collect();
    assert_eq!(named.len(), 1, "{w:?}");
    assert!(named[0].contains(what), "{}", named[0]);
    assert!(
        w.iter()
            .any(|w| w.starts_with("no debug file for module crashmod")),
        "{w:?}"
    );
    assert!(r.iter().all(|l| !l.contains("crashmod.c")), "{r:?}");
}

#[test]
fn truncated_and_corrupt_ko_xz_warn_naming_the_file() {
    let Some((dir, file)) = xz() else { return };
    let good = std::fs::read(&file).unwrap();
    std::fs::write(&file, &good[..good.len() / 2]).unwrap();
    check_broken(&file, dir.path(), "cannot decompress (xz)");
    // A flipped byte in the middle: the LZMA2 data or its CRC32 is wrong.
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x55;
    std::fs::write(&file, &bad).unwrap();
    check_broken(&file, dir.path(), "cannot decompress (xz)");
    // Only the magic: too short for a stream header.
    std::fs::write(&file, b"\xfd7zXZ\0").unwrap();
    check_broken(&file, dir.path(), "cannot decompress (xz)");
}

#[test]
fn truncated_ko_zst_and_ko_gz_warn_naming_the_file() {
    for (made, what) in [(zstd(), "(zstd)"), (gzip(), "(gzip)")] {
        let Some((dir, file)) = made else { continue };
        let good = std::fs::read(&file).unwrap();
        std::fs::write(&file, &good[..good.len() * 2 / 3]).unwrap();
        check_broken(&file, dir.path(), what);
    }
}

#[test]
fn decompression_stops_at_the_size_cap() {
    let Some((_dir, file)) = xz() else { return };
    let len = std::fs::metadata(ko()).unwrap().len() as usize;
    match loader::open_with_limit(&file, len - 1) {
        Err(e @ OpenError::TooLarge { .. }) => {
            assert!(
                e.to_string()
                    .starts_with("xz data decompresses to more than"),
                "{e}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(loader::open_with_limit(&file, len).unwrap().len(), len);
    // The same cap for the others, straight on bytes.
    let data = std::fs::read(&file).unwrap();
    assert!(matches!(
        loader::decompress(Compression::Xz, &data, 100),
        Err(OpenError::TooLarge { limit: 100, .. })
    ));
}

#[test]
fn uncompressed_files_are_mapped_not_copied() {
    let b = loader::open(&ko()).unwrap();
    assert!(matches!(b, loader::DebugBytes::Mapped(_)));
    assert_eq!(b.compression(), None);
    assert_eq!(Compression::detect(b"\x7fELF"), None);
}

/// The `.note.gnu.build-id` of crashmod.ko, by hand: namesz 4, descsz 20,
/// type 3, "GNU\0", the id.
fn note(id_hex: &str, big_endian: bool) -> Vec<u8> {
    let id: Vec<u8> = (0..id_hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&id_hex[i..i + 2], 16).unwrap())
        .collect();
    let w = |n: u32| {
        if big_endian {
            n.to_be_bytes()
        } else {
            n.to_le_bytes()
        }
    };
    let mut v = Vec::new();
    v.extend_from_slice(&w(4));
    v.extend_from_slice(&w(id.len() as u32));
    v.extend_from_slice(&w(3));
    v.extend_from_slice(b"GNU\0");
    v.extend_from_slice(&id);
    while v.len() % 4 != 0 {
        v.push(0);
    }
    v
}

#[test]
fn build_id_notes_are_parsed_with_bounds_checks() {
    let n = note(CRASHMOD_ID, false);
    assert_eq!(
        loader::parse_build_id_note(&n).as_deref(),
        Some(CRASHMOD_ID)
    );
    assert_eq!(
        loader::parse_build_id_note(&note(CRASHMOD_ID, true)).as_deref(),
        Some(CRASHMOD_ID)
    );
    // Another note first (type 1, name "Linux"), then the build id.
    let mut two = Vec::new();
    two.extend_from_slice(&6u32.to_le_bytes());
    two.extend_from_slice(&4u32.to_le_bytes());
    two.extend_from_slice(&1u32.to_le_bytes());
    two.extend_from_slice(b"Linux\0\0\0");
    two.extend_from_slice(&[0; 4]);
    two.extend_from_slice(&n);
    assert_eq!(
        loader::parse_build_id_note(&two).as_deref(),
        Some(CRASHMOD_ID)
    );
    // Every truncation, and lengths past the end, give None.
    for len in 0..n.len() - 1 {
        assert_eq!(loader::parse_build_id_note(&n[..len]), None, "len {len}");
    }
    let mut huge = n.clone();
    huge[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(loader::parse_build_id_note(&huge), None);
    let mut wrong_type = n.clone();
    wrong_type[8] = 4;
    assert_eq!(loader::parse_build_id_note(&wrong_type), None);
    let mut wrong_name = n;
    wrong_name[12] = b'X';
    assert_eq!(loader::parse_build_id_note(&wrong_name), None);
}

/// A fake root with `sys/module/<name>/notes/.note.gnu.build-id`.
fn sysfs_root(name: &str, id: &str) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let d = root.path().join("sys/module").join(name).join("notes");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join(".note.gnu.build-id"), note(id, false)).unwrap();
    root
}

#[test]
fn sysfs_notes_give_the_module_build_id() {
    let root = sysfs_root("crash_mod", CRASHMOD_ID);
    // sysfs uses `_` where the module name has `-`.
    assert_eq!(
        loader::sysfs_module_build_id(root.path(), "crash-mod").as_deref(),
        Some(CRASHMOD_ID)
    );
    assert_eq!(loader::sysfs_module_build_id(root.path(), "other"), None);
}

/// `<root>/usr/lib/debug/.build-id/35/1cca….debug` holding crashmod.ko.
fn build_id_tree(root: &Path) -> PathBuf {
    let p = loader::build_id_path(root, CRASHMOD_ID).unwrap();
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::copy(ko(), &p).unwrap();
    p
}

#[test]
fn module_found_by_build_id_link_with_the_id_from_sysfs() {
    let root = sysfs_root("crashmod", CRASHMOD_ID);
    let link = build_id_tree(root.path());
    let (r, w, files) = resolve_crashmod(&log_text(), &opts(vec![], root.path()));
    assert_eq!(files.modules.len(), 1, "{w:?}");
    assert_eq!(files.modules[0].1, link);
    assert_eq!(r, reference());
}

#[test]
fn module_found_by_build_id_link_with_the_id_from_options_or_frames() {
    let root = tempfile::tempdir().unwrap();
    let link = build_id_tree(root.path());
    let o = DebugOptions {
        module_build_ids: vec![("crashmod".into(), CRASHMOD_ID.to_uppercase())],
        ..opts(vec![], root.path())
    };
    let (r, w, files) = resolve_crashmod(&log_text(), &o);
    assert_eq!(files.modules[0].1, link, "{w:?}");
    assert_eq!(r, reference());
    // `[crashmod <build id>]` frames (CONFIG_STACKTRACE_BUILD_ID).
    let text = log_text().replace("[crashmod]", &format!("[crashmod {CRASHMOD_ID}]"));
    let (_, w, files) = resolve_crashmod(&text, &opts(vec![], root.path()));
    assert_eq!(files.modules[0].1, link, "{w:?}");
}

#[test]
fn a_module_with_another_build_id_is_used_with_a_warning() {
    let other = "00112233445566778899aabbccddeeff00112233";
    let empty = tempfile::tempdir().unwrap();
    let o = DebugOptions {
        module_build_ids: vec![("crashmod".into(), other.into())],
        ..opts(vec![ko()], empty.path())
    };
    let (_, w, files) = resolve_crashmod(&log_text(), &o);
    assert_eq!(files.modules.len(), 1);
    assert!(
        w.iter().any(|w| w.contains(&format!(
            "build id {CRASHMOD_ID} but the crashed kernel's crashmod has {other}"
        ))),
        "{w:?}"
    );
}

#[test]
fn debug_options_stay_clone_eq_debug_with_a_progress_hook() {
    let hook = Progress::new(|_what: &str, _done: u64, _total: Option<u64>| {});
    let a = DebugOptions {
        progress: hook.clone(),
        debuginfod: true,
        ..DebugOptions::default()
    };
    assert_eq!(a.clone(), a);
    assert_ne!(
        a,
        DebugOptions {
            debuginfod: true,
            ..DebugOptions::default()
        }
    );
    assert_ne!(
        a,
        DebugOptions {
            progress: Progress::new(|_: &str, _: u64, _: Option<u64>| {}),
            debuginfod: true,
            ..DebugOptions::default()
        }
    );
    assert!(format!("{a:?}").contains("Progress(set)"));
    assert!(
        !DebugOptions::default().debuginfod,
        "no network unless asked"
    );
}
