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

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use common::fixture;

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

fn required() -> bool {
    std::env::var_os("CRASHVIEW_REQUIRE_DEBUGINFOD").is_some_and(|v| v == "1")
}

/// `None` (with a note on stderr) when `debuginfod` is missing, unless
/// CRASHVIEW_REQUIRE_DEBUGINFOD=1, which makes that a failure.
fn need_debuginfod() -> Option<()> {
    let ok = Command::new("debuginfod")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return Some(());
    }
    let msg = "`debuginfod` is not installed (Debian package `debuginfod`)";
    if required() {
        panic!("{msg}, and CRASHVIEW_REQUIRE_DEBUGINFOD=1 says the real debuginfod tests must run");
    }
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: {msg}; set CRASHVIEW_REQUIRE_DEBUGINFOD=1 to make this a failure"
    );
    None
}

/// A port on 127.0.0.1 where nothing listens (bound, then released).
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `GET <path>` on 127.0.0.1:`port`, the body (HTTP/1.0: the server closes).
fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut r = String::new();
    s.read_to_string(&mut r).ok()?;
    let (head, body) = r.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.").then(|| body.to_string())
}

/// The sum of the `/metrics` samples named `name` (with any labels).
fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.split_whitespace().last()?.parse::<f64>().ok())
        .sum()
}

/// `debuginfod -F` over a directory, on 127.0.0.1.
struct Debuginfod {
    url: String,
    port: u16,
    child: Child,
}

impl Debuginfod {
    /// Starts it and waits until it has scanned `files` files.
    fn start(work: &Path, elf_dir: &Path, files: u64) -> Self {
        let mut last = String::new();
        // The port is free when picked but may be taken before debuginfod
        // binds it: retry with another.
        for _ in 0..5 {
            let port = closed_port();
            let child = Command::new("debuginfod")
                // debuginfod(8): -F scans ELF/DWARF files; -d :memory: a
                // throw-away index; -t 0 scans once; -g 0 never grooms.
                .args(["-F", "-d", ":memory:", "-t", "0", "-g", "0", "-c", "1"])
                .arg("-p")
                .arg(port.to_string())
                .arg(elf_dir)
                // Never federate: with DEBUGINFOD_URLS set it would forward
                // misses upstream, i.e. to the internet.
                .env_remove("DEBUGINFOD_URLS")
                .env("DEBUGINFOD_CACHE_PATH", work.join("server-client-cache"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(work.join("debuginfod.stderr")).unwrap())
                .spawn()
                .expect("spawn debuginfod");
            let mut d = Debuginfod {
                url: format!("http://127.0.0.1:{port}"),
                port,
                child,
            };
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Ok(Some(st)) = d.child.try_wait() {
                    last = format!(
                        "exited with {st}: {}",
                        std::fs::read_to_string(work.join("debuginfod.stderr")).unwrap_or_default()
                    );
                    break;
                }
                if let Some(m) = http_get(port, "/metrics") {
                    if metric(&m, "scanned_files_total") >= files as f64 {
                        return d;
                    }
                    last = m;
                }
                thread::sleep(Duration::from_millis(50));
            }
            d.stop();
        }
        panic!("debuginfod did not come up: {last}");
    }

    /// How many debuginfo requests it has answered.
    fn debuginfo_requests(&self) -> f64 {
        let m = http_get(self.port, "/metrics").expect("metrics");
        metric(&m, "http_requests_total{type=\"debuginfo\"}")
    }

    /// Kills it and waits until the port refuses connections.
    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Debuginfod {
    fn drop(&mut self) {
        self.stop();
    }
}

#[test]
fn real_debuginfod_fetches_module_by_sysfs_build_id_once_then_serves_from_cache() {
    if need_debuginfod().is_none() {
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
    assert!(
        http_get(server.port, "/metrics").is_none(),
        "server still up"
    );
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

/// What the test server does with a request.
#[derive(Clone, Copy)]
enum Reply {
    /// 200 with this body.
    Junk(&'static [u8]),
    /// Reads the request and never answers.
    Silent,
}

/// A one-thread-per-connection HTTP server on 127.0.0.1; stops when
/// dropped (or after a minute at the latest).
struct TestServer {
    url: String,
    hits: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    fn start(reply: Reply) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let hits = Arc::new(AtomicUsize::new(0));
        let (stop2, hits2) = (stop.clone(), hits.clone());
        let thread = thread::spawn(move || {
            let end = Instant::now() + Duration::from_secs(60);
            let mut conns = Vec::new();
            while !stop2.load(Ordering::SeqCst) && Instant::now() < end {
                match listener.accept() {
                    Ok((s, _)) => {
                        hits2.fetch_add(1, Ordering::SeqCst);
                        let stop = stop2.clone();
                        conns.push(thread::spawn(move || serve(s, reply, &stop, end)));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
            stop2.store(true, Ordering::SeqCst);
            for c in conns {
                let _ = c.join();
            }
        });
        TestServer {
            url,
            hits,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(mut s: TcpStream, reply: Reply, stop: &AtomicBool, end: Instant) {
    let _ = s.set_nonblocking(false);
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    match reply {
        Reply::Junk(body) => {
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(body);
        }
        Reply::Silent => {
            while !stop.load(Ordering::SeqCst) && Instant::now() < end {
                thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

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
    let server = TestServer::start(Reply::Junk(b"<html>this is not an ELF file</html>"));
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
    let server = TestServer::start(Reply::Silent);
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
    let server = TestServer::start(Reply::Junk(b"junk"));
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
