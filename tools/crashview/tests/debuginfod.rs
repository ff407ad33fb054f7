//! `crashview trace` fetching module debug files by build-id from
//! debuginfod (issue #14 item 4), driving the real binary.
//!
//! The module's build id comes from a fake `--debug-root` holding
//! `sys/module/crashmod/notes/.note.gnu.build-id` (the raw ELF note, as the
//! kernel exports it), or from a `[crashmod <build id>]` frame. The server
//! is the real elfutils `debuginfod` (Debian package `debuginfod`) on
//! 127.0.0.1 over a directory holding `fixtures/ramoops/crashmod.ko`, or a
//! tiny HTTP thread here that answers garbage or nothing. Nothing talks to
//! anything but 127.0.0.1: proxies are cleared from the environment, and
//! the real server gets no `DEBUGINFOD_URLS` (it would federate upstream).
//!
//! Without `debuginfod` installed the real-server test prints a skip note,
//! unless CRASHVIEW_REQUIRE_DEBUGINFOD=1 (CI), which makes it a failure.

#[allow(dead_code)] // each test binary uses a different part
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::fixture;
use crashview_debuginfod::testing::{closed_port, need_tool, Debuginfod, Reply, TestServer};

/// `readelf -n fixtures/ramoops/crashmod.ko`.
const CRASHMOD_ID: &str = "351cca7de9a47c52e23925131a9366c030c5c9fb";
const LOG: &str = "ramoops/oops-panic/console.log";

/// A test's directories: the server's files, a fake debug root with the
/// sysfs note, an empty root, and the cache (`XDG_CACHE_HOME`).
struct Work {
    dir: tempfile::TempDir,
}

impl Work {
    fn new() -> Self {
        let w = Work {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir_all(w.elf_dir()).unwrap();
        std::fs::copy(
            fixture("ramoops/crashmod.ko"),
            w.elf_dir().join("crashmod.ko"),
        )
        .unwrap();
        let notes = w.root().join("sys/module/crashmod/notes");
        std::fs::create_dir_all(&notes).unwrap();
        std::fs::write(notes.join(".note.gnu.build-id"), build_id_note()).unwrap();
        std::fs::create_dir_all(w.empty_root()).unwrap();
        w
    }
    fn path(&self) -> &Path {
        self.dir.path()
    }
    fn elf_dir(&self) -> PathBuf {
        self.path().join("elf")
    }
    fn root(&self) -> PathBuf {
        self.path().join("root")
    }
    fn empty_root(&self) -> PathBuf {
        self.path().join("empty-root")
    }
    fn cache(&self) -> PathBuf {
        self.path().join("xdg-cache")
    }
    fn cached_file(&self) -> PathBuf {
        self.cache()
            .join("crashview/debuginfod")
            .join(CRASHMOD_ID)
            .join("debuginfo")
    }
}

/// The `.note.gnu.build-id` section of crashmod.ko, read here from its ELF
/// section headers (what `objcopy -O binary --only-section=.note.gnu.build-id`
/// gives, and what /sys/module/crashmod/notes/.note.gnu.build-id holds).
fn build_id_note() -> Vec<u8> {
    let elf = std::fs::read(fixture("ramoops/crashmod.ko")).unwrap();
    let u16_at = |o: usize| u16::from_le_bytes(elf[o..o + 2].try_into().unwrap()) as usize;
    let u32_at = |o: usize| u32::from_le_bytes(elf[o..o + 4].try_into().unwrap()) as usize;
    let u64_at = |o: usize| u64::from_le_bytes(elf[o..o + 8].try_into().unwrap()) as usize;
    assert_eq!(&elf[..6], b"\x7fELF\x02\x01", "ELF64 little-endian");
    let (shoff, shentsize, shnum, shstrndx) =
        (u64_at(0x28), u16_at(0x3a), u16_at(0x3c), u16_at(0x3e));
    let sh = |i: usize| shoff + i * shentsize;
    let strtab = u64_at(sh(shstrndx) + 0x18);
    for i in 0..shnum {
        let name_off = strtab + u32_at(sh(i));
        let name = &elf[name_off..];
        let name = &name[..name.iter().position(|&b| b == 0).unwrap()];
        if name == b".note.gnu.build-id" {
            let (off, size) = (u64_at(sh(i) + 0x18), u64_at(sh(i) + 0x20));
            let note = elf[off..off + size].to_vec();
            assert_eq!(&note[12..16], b"GNU\0");
            return note;
        }
    }
    panic!("crashmod.ko has no .note.gnu.build-id");
}

/// Runs `crashview ARGS` with only 127.0.0.1 reachable: the cache in
/// `work`, `DEBUGINFOD_URLS` = `urls` (unset if `None`), proxies cleared.
fn run(
    work: &Work,
    urls: Option<&str>,
    env: &[(&str, &str)],
    args: &[&str],
) -> (i32, String, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_crashview"));
    c.args(args)
        .env("XDG_CACHE_HOME", work.cache())
        .env("DEBUGINFOD_TIMEOUT", "10")
        .env("NO_PROXY", "127.0.0.1")
        .stdin(Stdio::null());
    for v in [
        "DEBUGINFOD_URLS",
        "DEBUGINFOD_MAXTIME",
        "DEBUGINFOD_MAXSIZE",
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
    ] {
        c.env_remove(v);
    }
    if let Some(u) = urls {
        c.env("DEBUGINFOD_URLS", u);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// `crashview trace` of the oops-panic log with module build ids from
/// `root`'s sysfs notes.
fn trace(
    work: &Work,
    urls: Option<&str>,
    env: &[(&str, &str)],
    extra: &[&str],
) -> (i32, String, String) {
    let root = work.root();
    let log = fixture(LOG);
    let mut args = vec![
        "trace",
        "--debug-root",
        root.to_str().unwrap(),
        log.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run(work, urls, env, &args)
}

/// What `crashview trace --modules fixtures/ramoops/crashmod.ko` prints.
fn reference(work: &Work) -> String {
    let (empty, ko, log) = (
        work.empty_root(),
        fixture("ramoops/crashmod.ko"),
        fixture(LOG),
    );
    let (code, out, err) = run(
        work,
        None,
        &[],
        &[
            "trace",
            "--no-debuginfod",
            "--debug-root",
            empty.to_str().unwrap(),
            "--modules",
            ko.to_str().unwrap(),
            log.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("crashmod.c:"), "{out}");
    out
}

/// The output resolved the crashmod frames.
fn assert_resolved(out: &str, err: &str) {
    assert!(
        out.contains("crashmod_oops_target at ") && out.contains("/crashmod.c:37"),
        "{out}\n{err}"
    );
}

/// The crashmod frames printed, unsymbolized, and one warning naming the
/// build id, the server and `why`.
fn assert_unsymbolized_with_warning(code: i32, out: &str, err: &str, server: &str, why: &str) {
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("crashmod_oops_target+0x1c/0x25 [crashmod]"),
        "{out}"
    );
    assert!(
        out.contains("crashmod_write.cold+0x36/0x3b [crashmod]"),
        "{out}"
    );
    assert!(!out.contains("crashmod.c:"), "{out}");
    assert!(
        out.contains("(no debug file for crashmod (pass --modules DIR))"),
        "{out}"
    );
    let w: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("module crashmod"))
        .collect();
    assert_eq!(w.len(), 1, "one warning for the module: {err}");
    let w = w[0];
    assert!(w.starts_with("crashview: warning: "), "{w}");
    assert!(w.contains(CRASHMOD_ID), "names the build id: {w}");
    assert!(w.contains(server), "names the server: {w}");
    assert!(w.contains(why), "says what happened ({why}): {w}");
}

// ---- a real debuginfod ---------------------------------------------------

#[test]
fn real_debuginfod_fetches_module_by_sysfs_build_id_once_then_serves_from_cache() {
    if need_tool("debuginfod", "debuginfod").is_none() {
        return;
    }
    let work = Work::new();
    let want = reference(&work);
    let mut server = Debuginfod::start(work.path(), &work.elf_dir(), 1);

    // Found and fetched: the same file:line as the .ko named by hand.
    let (code, out, err) = trace(&work, Some(&server.url), &[], &[]);
    assert_eq!(code, 0, "{err}");
    assert_resolved(&out, &err);
    assert_eq!(out, want, "stderr: {err}");
    assert!(!err.contains("module crashmod"), "{err}");
    assert_eq!(
        std::fs::read(work.cached_file()).unwrap(),
        std::fs::read(fixture("ramoops/crashmod.ko")).unwrap()
    );
    assert_eq!(server.debuginfo_requests(), 1.0);

    // Fetched once: the next run asks no server.
    let (_, out, _) = trace(&work, Some(&server.url), &[], &[]);
    assert_eq!(out, want);
    assert_eq!(
        server.debuginfo_requests(),
        1.0,
        "a cache hit must not download"
    );

    // With the server gone, the cache still answers.
    server.stop();
    assert!(server.metrics().is_none(), "server still up");
    let (code, out, err) = trace(&work, Some(&server.url), &[], &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, want, "stderr: {err}");
    // ... also with DEBUGINFOD_URLS unset (the cache is ours) ...
    let (_, out, err) = trace(&work, None, &[], &[]);
    assert_eq!(out, want, "stderr: {err}");
    // ... and not with --no-debuginfod.
    let (code, out, err) = trace(&work, Some(&server.url), &[], &["--no-debuginfod"]);
    assert_eq!(code, 0);
    assert!(!out.contains("crashmod.c:"), "{out}");
    assert!(err.contains("no debug file for module crashmod"), "{err}");
    assert!(!err.contains("cannot fetch"), "{err}");
}

// ---- servers that fail ---------------------------------------------------

#[test]
fn server_down_warns_naming_build_id_and_server_and_leaves_frames_unsymbolized() {
    let work = Work::new();
    let url = format!("http://127.0.0.1:{}", closed_port());
    let (code, out, err) = trace(&work, Some(&url), &[], &[]);
    assert_unsymbolized_with_warning(code, &out, &err, &url, "connection refused");
    assert!(!work.cached_file().exists());
}

#[test]
fn garbage_server_warns_and_nothing_is_cached() {
    let work = Work::new();
    let server =
        TestServer::start(|_| Reply::Http(200, b"<html>this is not an ELF file</html>".to_vec()));
    let (code, out, err) = trace(&work, Some(&server.url), &[], &[]);
    assert_unsymbolized_with_warning(
        code,
        &out,
        &err,
        &server.url,
        "returned a file that is not the debuginfo of build-id",
    );
    assert!(server.hits.load(Ordering::SeqCst) >= 1);
    assert!(!work.cached_file().exists());
}

#[test]
fn silent_server_times_out_after_debuginfod_timeout() {
    let work = Work::new();
    let server = TestServer::start(|_| Reply::Silent);
    let t = Instant::now();
    let (code, out, err) = trace(
        &work,
        Some(&server.url),
        &[("DEBUGINFOD_TIMEOUT", "1")],
        &[],
    );
    assert_unsymbolized_with_warning(code, &out, &err, &server.url, "timeout after 1 s");
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
}

#[test]
fn no_debuginfod_flag_asks_no_server() {
    let work = Work::new();
    let server = TestServer::start(|_| Reply::Http(200, b"junk".to_vec()));
    let (code, out, err) = trace(&work, Some(&server.url), &[], &["--no-debuginfod"]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("crashmod.c:"), "{out}");
    assert!(!err.contains("cannot fetch"), "{err}");
    assert_eq!(server.hits.load(Ordering::SeqCst), 0);
}

#[test]
fn build_id_from_module_frame_is_asked_for_without_sysfs_notes() {
    // CONFIG_STACKTRACE_BUILD_ID prints `[module <build id>]`; no sysfs
    // notes under an empty root, so the id can only come from the frames.
    let work = Work::new();
    let text = std::fs::read_to_string(fixture(LOG))
        .unwrap()
        .replace("[crashmod]", &format!("[crashmod {CRASHMOD_ID}]"));
    let log = work.path().join("console.log");
    std::fs::write(&log, text).unwrap();
    let url = format!("http://127.0.0.1:{}", closed_port());
    let empty = work.empty_root();
    let (code, _, err) = run(
        &work,
        Some(&url),
        &[],
        &[
            "trace",
            "--debug-root",
            empty.to_str().unwrap(),
            log.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(&format!(
            "cannot fetch the debuginfo of build-id {CRASHMOD_ID}: server {url}: connection refused"
        )),
        "{err}"
    );
}
