//! Servers for tests (feature `testing`): a real elfutils `debuginfod` over
//! a directory, and an in-process HTTP server that answers badly on
//! purpose. This crate's tests and the CLI's share them.
//!
//! Test code: it panics when the machine cannot run the servers.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// The longest a [`TestServer`] runs, whatever the test does.
const SERVER_LIFETIME: Duration = Duration::from_secs(60);

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
/// every request with `reply(path)`, after a delay. Stops when dropped, or
/// after a minute at the latest.
pub struct TestServer {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// Connections accepted.
    pub hits: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    /// A server answering at once.
    pub fn start(reply: impl Fn(&str) -> Reply + Send + Sync + 'static) -> Self {
        Self::start_delayed(Duration::ZERO, reply)
    }

    /// A server answering each request after `delay`.
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

/// Whether the real server tests must run (CI sets
/// `CRASHVIEW_REQUIRE_DEBUGINFOD=1`) rather than skip.
fn required() -> bool {
    std::env::var_os("CRASHVIEW_REQUIRE_DEBUGINFOD").is_some_and(|v| v == "1")
}

/// `Some` when `tool` runs; else `None` with a skip note on stderr, or a
/// panic when `CRASHVIEW_REQUIRE_DEBUGINFOD=1` says the tests must run.
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

/// `GET <path>` on 127.0.0.1:`port`: the body, or `None` when nothing
/// answers (HTTP/1.0: the server closes).
pub fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut r = String::new();
    s.read_to_string(&mut r).ok()?;
    let (head, body) = r.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.").then(|| body.to_string())
}

/// The sum of the `/metrics` samples named `name` (with any labels).
pub fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.split_whitespace().last()?.parse::<f64>().ok())
        .sum()
}

/// A real elfutils `debuginfod -F` over a directory, on 127.0.0.1.
pub struct Debuginfod {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// Its port.
    pub port: u16,
    child: Child,
}

impl Debuginfod {
    /// Starts `debuginfod -F` over `elf_dir` and waits until it has
    /// scanned `files` files. `work` gets its stderr and client cache.
    pub fn start(work: &Path, elf_dir: &Path, files: u64) -> Self {
        let stderr = work.join("debuginfod.stderr");
        let mut last = String::new();
        // The port is free when picked but could be taken before debuginfod
        // binds it: retry with another.
        for _ in 0..5 {
            let port = closed_port();
            let child = Command::new("debuginfod")
                // debuginfod(8): -F scans ELF/DWARF files; -d :memory: is a
                // throw-away index; -t 0 scans once; -g 0 never grooms;
                // -p the port.
                .args(["-F", "-d", ":memory:", "-t", "0", "-g", "0", "-c", "1"])
                .arg("-p")
                .arg(port.to_string())
                .arg(elf_dir)
                // Never federate: a server with DEBUGINFOD_URLS set would
                // forward misses upstream, i.e. to the internet.
                .env_remove("DEBUGINFOD_URLS")
                .env("DEBUGINFOD_CACHE_PATH", work.join("server-client-cache"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&stderr).unwrap())
                .spawn()
                .expect("spawn debuginfod");
            let mut d = Debuginfod {
                url: format!("http://127.0.0.1:{port}"),
                port,
                child,
            };
            // Ready when /metrics counts the files scanned.
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Ok(Some(st)) = d.child.try_wait() {
                    last = format!(
                        "exited with {st}: {}",
                        std::fs::read_to_string(&stderr).unwrap_or_default()
                    );
                    break;
                }
                if let Some(m) = d.metrics() {
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

    /// Its `/metrics` text; `None` once it has stopped.
    pub fn metrics(&self) -> Option<String> {
        http_get(self.port, "/metrics")
    }

    /// How many debuginfo requests it has answered.
    pub fn debuginfo_requests(&self) -> f64 {
        let m = self.metrics().expect("metrics");
        metric(&m, "http_requests_total{type=\"debuginfo\"}")
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
