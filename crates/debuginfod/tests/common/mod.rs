//! Shared test helpers: a hand-made ELF file with a build-id note, a tiny
//! HTTP server on 127.0.0.1, and a real `debuginfod` when installed.
//!
//! Nothing here talks to anything but 127.0.0.1.

#![allow(dead_code)] // each test binary uses a different part

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crashview_debuginfod::{BuildId, Cache, Client, Settings};

/// No test server lives longer than this, whatever the test does.
const SERVER_LIFETIME: Duration = Duration::from_secs(60);

/// A minimal ELF64 little-endian relocatable file: a `.note.gnu.build-id`
/// with `build_id`, a `.debug_info` of `debug_len` bytes (none if 0) and a
/// `.shstrtab`. Enough for `object` to find the build-id and sections.
pub fn tiny_elf(build_id: &[u8], debug_len: usize) -> Vec<u8> {
    let mut note = Vec::new();
    note.extend_from_slice(&4u32.to_le_bytes()); // namesz
    note.extend_from_slice(&(build_id.len() as u32).to_le_bytes()); // descsz
    note.extend_from_slice(&3u32.to_le_bytes()); // NT_GNU_BUILD_ID
    note.extend_from_slice(b"GNU\0");
    note.extend_from_slice(build_id);
    while !note.len().is_multiple_of(4) {
        note.push(0);
    }
    let shstrtab = b"\0.note.gnu.build-id\0.debug_info\0.shstrtab\0";
    let (n_note, n_debug, n_shstr) = (1u32, 20u32, 32u32);

    let mut out = vec![0u8; 64];
    let note_off = out.len();
    out.extend_from_slice(&note);
    let debug_off = out.len();
    out.extend(std::iter::repeat_n(0xabu8, debug_len));
    let shstr_off = out.len();
    out.extend_from_slice(shstrtab);
    while !out.len().is_multiple_of(8) {
        out.push(0);
    }
    let shoff = out.len();
    let mut sh = |name: u32, ty: u32, off: usize, size: usize, align: u64| {
        out.extend_from_slice(&name.to_le_bytes());
        out.extend_from_slice(&ty.to_le_bytes());
        out.extend_from_slice(&0u64.to_le_bytes()); // flags
        out.extend_from_slice(&0u64.to_le_bytes()); // addr
        out.extend_from_slice(&(off as u64).to_le_bytes());
        out.extend_from_slice(&(size as u64).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes()); // link
        out.extend_from_slice(&0u32.to_le_bytes()); // info
        out.extend_from_slice(&align.to_le_bytes());
        out.extend_from_slice(&0u64.to_le_bytes()); // entsize
    };
    sh(0, 0, 0, 0, 0);
    sh(n_note, 7, note_off, note.len(), 4); // SHT_NOTE
    let mut shnum = 2u16;
    if debug_len > 0 {
        sh(n_debug, 1, debug_off, debug_len, 1); // SHT_PROGBITS
        shnum += 1;
    }
    sh(n_shstr, 3, shstr_off, shstrtab.len(), 1); // SHT_STRTAB
    shnum += 1;

    let h = &mut out[..64];
    h[..4].copy_from_slice(b"\x7fELF");
    h[4] = 2; // ELFCLASS64
    h[5] = 1; // ELFDATA2LSB
    h[6] = 1; // EV_CURRENT
    h[16..18].copy_from_slice(&1u16.to_le_bytes()); // ET_REL
    h[18..20].copy_from_slice(&62u16.to_le_bytes()); // EM_X86_64
    h[20..24].copy_from_slice(&1u32.to_le_bytes());
    h[40..48].copy_from_slice(&(shoff as u64).to_le_bytes());
    h[52..54].copy_from_slice(&64u16.to_le_bytes()); // e_ehsize
    h[58..60].copy_from_slice(&64u16.to_le_bytes()); // e_shentsize
    h[60..62].copy_from_slice(&shnum.to_le_bytes());
    h[62..64].copy_from_slice(&(shnum - 1).to_le_bytes()); // e_shstrndx
    out
}

/// A build-id made of `n` repeated: distinct per test.
pub fn id(n: u8) -> BuildId {
    BuildId::from_bytes(&[n; 20]).unwrap()
}

/// A client for `servers` over a fresh cache in `dir`, proxies off.
pub fn client(dir: &Path, servers: &[&str], timeout: Duration) -> Client {
    let settings = Settings {
        timeout: Some(timeout),
        ..Settings::with_servers(servers.iter().copied())
    };
    Client::new(settings, Cache::new(dir.join("cache"))).with_env_proxy(false)
}

/// Every regular file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// What the test server sends for a request path.
#[derive(Clone)]
pub enum Reply {
    /// A status and body, with Content-Length.
    Http(u16, Vec<u8>),
    /// 200 and the body without Content-Length, closing the connection at
    /// its end.
    Unsized(Vec<u8>),
    /// These bytes as they are, then close.
    Raw(Vec<u8>),
    /// Accept, read the request, never answer.
    Silent,
}

/// A one-thread-per-connection HTTP/1.1 server on 127.0.0.1 that answers
/// every request with `reply(path)`, after `delay`. Stops when dropped, or
/// after [`SERVER_LIFETIME`] at the latest.
pub struct TestServer {
    pub url: String,
    pub hits: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    pub fn start(reply: impl Fn(&str) -> Reply + Send + Sync + 'static) -> Self {
        Self::start_delayed(Duration::ZERO, reply)
    }

    pub fn start_delayed(
        delay: Duration,
        reply: impl Fn(&str) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let hits = Arc::new(AtomicUsize::new(0));
        let reply = Arc::new(reply);
        let (stop2, hits2) = (stop.clone(), hits.clone());
        let thread = thread::spawn(move || {
            let end = Instant::now() + SERVER_LIFETIME;
            let mut conns = Vec::new();
            while !stop2.load(Ordering::SeqCst) && Instant::now() < end {
                match listener.accept() {
                    Ok((stream, _)) => {
                        hits2.fetch_add(1, Ordering::SeqCst);
                        let (reply, stop) = (reply.clone(), stop2.clone());
                        conns.push(thread::spawn(move || {
                            serve(stream, delay, &*reply, &stop, end)
                        }));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
            stop2.store(true, Ordering::SeqCst);
            for c in conns {
                let _ = c.join();
            }
        });
        Self {
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

fn serve(
    mut stream: TcpStream,
    delay: Duration,
    reply: &dyn Fn(&str) -> Reply,
    stop: &AtomicBool,
    end: Instant,
) {
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head);
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
    thread::sleep(delay);
    let out = match reply(&path) {
        Reply::Http(status, body) => {
            let mut out = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )
            .into_bytes();
            out.extend_from_slice(&body);
            out
        }
        Reply::Unsized(body) => {
            let mut out = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_vec();
            out.extend_from_slice(&body);
            out
        }
        Reply::Raw(bytes) => bytes,
        Reply::Silent => {
            while !stop.load(Ordering::SeqCst) && Instant::now() < end {
                thread::sleep(Duration::from_millis(20));
            }
            return;
        }
    };
    let _ = stream.write_all(&out);
    let _ = stream.flush();
}

/// A port on 127.0.0.1 where nothing listens (bound, then released).
pub fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A real elfutils `debuginfod -F` over `dir`, listening on 127.0.0.1.
pub struct Debuginfod {
    pub url: String,
    child: Child,
    log: PathBuf,
}

/// Whether the real server tests must run (CI sets it) rather than skip.
fn required() -> bool {
    std::env::var_os("CRASHVIEW_REQUIRE_DEBUGINFOD").is_some_and(|v| v == "1")
}

/// Skips (None, with a note) or fails, when a tool the real-server tests
/// need is missing.
pub fn need_tool(tool: &str, package: &str) -> Option<()> {
    let ok = Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return Some(());
    }
    let msg = format!("`{tool}` is not installed (Debian package `{package}`)");
    if required() {
        panic!("{msg}, and CRASHVIEW_REQUIRE_DEBUGINFOD=1 says the real debuginfod tests must run");
    }
    // Straight to stderr, past libtest's output capture, so the skip shows.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: {msg}; set CRASHVIEW_REQUIRE_DEBUGINFOD=1 to make this a failure"
    );
    None
}

/// Compiles a tiny C program with `gcc -g -Wl,--build-id` into `dir/name`;
/// returns its path and build-id.
pub fn gcc_program(work: &Path, dir: &Path, name: &str, exit_code: u8) -> (PathBuf, BuildId) {
    let src = work.join(format!("{name}.c"));
    std::fs::write(
        &src,
        format!("int {name}_value = {exit_code};\nint main(void) {{ return {name}_value; }}\n"),
    )
    .unwrap();
    let out = dir.join(name);
    let st = Command::new("gcc")
        .args(["-g", "-O0", "-Wl,--build-id=sha1", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .unwrap();
    assert!(st.success(), "gcc failed on {}", src.display());
    let bytes = std::fs::read(&out).unwrap();
    let id = {
        use object::Object;
        let obj = object::File::parse(&*bytes).unwrap();
        BuildId::from_bytes(obj.build_id().unwrap().expect("gcc output has a build-id")).unwrap()
    };
    (out, id)
}

impl Debuginfod {
    /// Starts `debuginfod -F` over `elf_dir` and waits until it has scanned
    /// `files` files. `work` gets its log.
    pub fn start(work: &Path, elf_dir: &Path, files: u64) -> Self {
        let log = work.join("debuginfod.log");
        let mut last_err = String::new();
        // The port is free when picked but could be taken before debuginfod
        // binds it: retry with another.
        for _ in 0..5 {
            let port = closed_port();
            let child = Command::new("debuginfod")
                // debuginfod(8): -F scans ELF/DWARF files; -d :memory: is a
                // throw-away index; -t 0 scans once; -g 0 never grooms;
                // -p the port.
                .args([
                    "-F", "-d", ":memory:", "-t", "0", "-g", "0", "-c", "1", "-v",
                ])
                .arg("-p")
                .arg(port.to_string())
                .arg(elf_dir)
                // Never federate: a server with DEBUGINFOD_URLS set would
                // forward misses upstream, i.e. to the internet.
                .env_remove("DEBUGINFOD_URLS")
                .env("DEBUGINFOD_CACHE_PATH", work.join("server-client-cache"))
                .stdin(Stdio::null())
                .stdout(std::fs::File::create(&log).unwrap())
                .stderr(std::fs::File::create(work.join("debuginfod.stderr")).unwrap())
                .spawn()
                .expect("spawn debuginfod");
            let mut d = Self {
                url: format!("http://127.0.0.1:{port}"),
                child,
                log: log.clone(),
            };
            match d.wait_ready(files) {
                Ok(()) => return d,
                Err(e) => last_err = e,
            }
        }
        panic!("debuginfod did not come up: {last_err}");
    }

    /// Polls `/metrics` until `scanned_files_total` reaches `files`.
    fn wait_ready(&mut self, files: u64) -> Result<(), String> {
        let agent = ureq::Agent::new_with_config(
            ureq::Agent::config_builder()
                .proxy(None)
                .timeout_global(Some(Duration::from_secs(2)))
                .build(),
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut last = String::new();
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                let err = std::fs::read_to_string(self.log.with_file_name("debuginfod.stderr"))
                    .unwrap_or_default();
                return Err(format!("debuginfod exited with {status}: {err}"));
            }
            if let Ok(mut r) = agent.get(format!("{}/metrics", self.url)).call() {
                last = r.body_mut().read_to_string().unwrap_or_default();
                let scanned = last
                    .lines()
                    .filter(|l| l.starts_with("scanned_files_total"))
                    .filter_map(|l| l.split_whitespace().last()?.parse::<f64>().ok())
                    .sum::<f64>();
                if scanned >= files as f64 {
                    return Ok(());
                }
            }
            thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        Err(format!("not ready after 30 s; last /metrics:\n{last}"))
    }

    /// Stops the server and waits for it to exit.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Debuginfod {
    fn drop(&mut self) {
        self.stop();
    }
}
