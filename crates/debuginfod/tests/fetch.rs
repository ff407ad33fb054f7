//! `Client::fetch` against in-test servers on 127.0.0.1: every failure mode
//! the issue names (down, slow, garbage, wrong file, too large), several
//! servers, concurrency, progress and cache eviction. Needs no tools.

mod common;

use std::fs;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use common::{client, files_under, id, tiny_elf};
use crashview_debuginfod::testing::{closed_port, Reply, TestServer};
use crashview_debuginfod::{Cache, Client, Failure, FetchError, Kind, Settings};

const T: Duration = Duration::from_secs(5);

fn no_progress() -> impl FnMut(u64, Option<u64>) {
    |_, _| {}
}

fn only_failure(e: &FetchError) -> &Failure {
    assert_eq!(e.failures().len(), 1, "{e}");
    &e.failures()[0].failure
}

#[test]
fn fetches_verifies_caches_and_reports_progress() {
    let dir = tempfile::tempdir().unwrap();
    let elf = tiny_elf(&id(1).to_bytes(), 200_000);
    let body = elf.clone();
    let want = format!("/buildid/{}/debuginfo", id(1));
    let server = TestServer::start(move |path| {
        if path == want {
            Reply::Http(200, body.clone())
        } else {
            Reply::Http(404, b"not found".to_vec())
        }
    });
    // A trailing slash on the base URL is accepted, as elfutils does.
    let base = format!("{}/", server.url);
    let c = client(dir.path(), &[&base], T);
    let mut calls = Vec::new();
    let path = c
        .fetch(&id(1), Kind::Debuginfo, &mut |done, total| {
            calls.push((done, total))
        })
        .unwrap();
    assert_eq!(fs::read(&path).unwrap(), elf);
    assert_eq!(
        path,
        dir.path()
            .join("cache/debuginfod")
            .join(id(1).as_str())
            .join("debuginfo")
    );
    let len = elf.len() as u64;
    assert_eq!(calls.first(), Some(&(0, Some(len))));
    assert_eq!(calls.last(), Some(&(len, Some(len))));
    assert!(calls.windows(2).all(|w| w[0].0 <= w[1].0));

    // Second fetch: from the cache, no request, no progress.
    let mut called = false;
    let again = c
        .fetch(&id(1), Kind::Debuginfo, &mut |_, _| called = true)
        .unwrap();
    assert_eq!(again, path);
    assert!(!called);
    assert_eq!(server.hits.load(std::sync::atomic::Ordering::SeqCst), 1);
    // Nothing else (no temporary file) is left in the cache.
    assert_eq!(files_under(dir.path()), vec![path]);
}

#[test]
fn server_down_is_connection_refused_naming_server_and_id() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{}", closed_port());
    let e = client(dir.path(), &[&url], T)
        .fetch(&id(2), Kind::Debuginfo, &mut no_progress())
        .unwrap_err();
    assert_eq!(only_failure(&e), &Failure::ConnectionRefused);
    let msg = e.to_string();
    assert!(msg.contains(id(2).as_str()), "{msg}");
    assert!(msg.contains(&url), "{msg}");
    assert!(msg.contains("connection refused"), "{msg}");
    assert!(files_under(dir.path()).is_empty());
}

#[test]
fn silent_server_times_out_within_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(|_| Reply::Silent);
    let start = Instant::now();
    let e = client(dir.path(), &[&server.url], Duration::from_secs(1))
        .fetch(&id(3), Kind::Debuginfo, &mut no_progress())
        .unwrap_err();
    let took = start.elapsed();
    assert!(took < Duration::from_secs(4), "took {took:?}");
    assert!(
        matches!(only_failure(&e), Failure::Timeout { after, .. } if *after == Duration::from_secs(1)),
        "{e:?}"
    );
    let msg = e.to_string();
    assert!(msg.contains("timeout after 1 s"), "{msg}");
    assert!(
        msg.contains(&server.url) && msg.contains(id(3).as_str()),
        "{msg}"
    );
}

#[test]
fn stall_in_the_middle_of_the_body_times_out() {
    let dir = tempfile::tempdir().unwrap();
    // Headers promise 1000 bytes, 10 arrive, then silence with the
    // connection open: the per-read timeout must catch it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let hold = thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        let _ = s.read(&mut buf);
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789")
            .unwrap();
        thread::sleep(Duration::from_secs(3));
    });
    let start = Instant::now();
    let e = client(dir.path(), &[&url], Duration::from_secs(1))
        .fetch(&id(4), Kind::Debuginfo, &mut no_progress())
        .unwrap_err();
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    assert!(matches!(only_failure(&e), Failure::Timeout { .. }), "{e:?}");
    assert!(
        files_under(dir.path()).is_empty(),
        "{:?}",
        files_under(dir.path())
    );
    hold.join().unwrap();
}

#[test]
fn garbage_200_is_not_the_debuginfo_and_is_not_cached() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(|_| Reply::Http(200, b"<html>surprise</html>".to_vec()));
    let e = client(dir.path(), &[&server.url], T)
        .fetch(&id(5), Kind::Debuginfo, &mut no_progress())
        .unwrap_err();
    assert!(matches!(only_failure(&e), Failure::WrongFile(_)), "{e:?}");
    let msg = e.to_string();
    let want = format!(
        "server {} returned a file that is not the debuginfo of build-id {} (not an ELF file",
        server.url,
        id(5)
    );
    assert!(msg.contains(&want), "{msg}");
    assert!(
        files_under(dir.path()).is_empty(),
        "{:?}",
        files_under(dir.path())
    );
    // Not even an empty entry directory.
    assert!(!dir
        .path()
        .join("cache/debuginfod")
        .join(id(5).as_str())
        .exists());
}
#[test]
fn elf_with_another_build_id_or_no_dwarf_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let other = tiny_elf(&id(7).to_bytes(), 100);
    let stripped = tiny_elf(&id(6).to_bytes(), 0);
    let server = TestServer::start(move |path| {
        if path.ends_with("/debuginfo") {
            Reply::Http(200, other.clone())
        } else {
            Reply::Http(200, stripped.clone())
        }
    });
    let c = client(dir.path(), &[&server.url], T);
    let e = c
        .fetch(&id(6), Kind::Debuginfo, &mut no_progress())
        .unwrap_err();
    assert!(
        e.to_string()
            .contains(&format!("(its build-id is {})", id(7))),
        "{e}"
    );
    // The DWARF-less file is a fine *executable* of build-id 6.
    let exe = c
        .fetch(&id(6), Kind::Executable, &mut no_progress())
        .unwrap();
    assert!(exe.ends_with("executable"));
    assert_eq!(files_under(dir.path()), vec![exe]);
}

#[test]
fn not_http_at_all_is_a_bad_response() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(|_| Reply::Raw(b"SSH-2.0-OpenSSH_9.2\r\n\x00\x01\x02".to_vec()));
    let e = client(dir.path(), &[&server.url], T)
        .fetch(&id(8), Kind::Debuginfo, &mut no_progress())
        .unwrap_err();
    assert!(matches!(only_failure(&e), Failure::BadResponse(_)), "{e:?}");
    assert!(e.to_string().contains("not valid HTTP"), "{e}");
}

#[test]
fn http_errors_name_the_status() {
    let dir = tempfile::tempdir().unwrap();
    let s404 = TestServer::start(|_| Reply::Http(404, b"not found".to_vec()));
    let s500 = TestServer::start(|_| Reply::Http(500, b"oops".to_vec()));
    let e = client(dir.path(), &[&s404.url, &s500.url], T)
        .fetch(&id(9), Kind::Debuginfo, &mut no_progress())
        .unwrap_err();
    let f: Vec<_> = e.failures().iter().map(|f| f.failure.clone()).collect();
    assert_eq!(f, [Failure::NotFound, Failure::HttpStatus(500)]);
    assert_eq!(
        e.failures()[0].url,
        format!("{}/buildid/{}/debuginfo", s404.url, id(9))
    );
    let msg = e.to_string();
    assert!(
        msg.contains(&format!("server {}: not found (HTTP 404)", s404.url)),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("server {}: HTTP status 500", s500.url)),
        "{msg}"
    );
}

#[test]
fn every_server_failure_is_listed_and_a_later_server_can_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let down = format!("http://127.0.0.1:{}", closed_port());
    let garbage = TestServer::start(|_| Reply::Http(200, b"junk".to_vec()));
    let elf = tiny_elf(&id(10).to_bytes(), 10);
    let body = elf.clone();
    let good = TestServer::start(move |_| Reply::Http(200, body.clone()));

    let e = client(dir.path(), &[&down, &garbage.url], T)
        .fetch(&id(10), Kind::Debuginfo, &mut no_progress())
        .unwrap_err();
    let servers: Vec<_> = e.failures().iter().map(|f| f.server.as_str()).collect();
    assert_eq!(servers, [down.as_str(), garbage.url.as_str()]);
    let msg = e.to_string();
    assert!(
        msg.starts_with(&format!(
            "cannot fetch the debuginfo of build-id {}: ",
            id(10)
        )),
        "{msg}"
    );
    assert!(
        msg.contains("connection refused") && msg.contains("not the debuginfo"),
        "{msg}"
    );

    let path = client(dir.path(), &[&down, &garbage.url, &good.url], T)
        .fetch(&id(10), Kind::Debuginfo, &mut no_progress())
        .unwrap();
    assert_eq!(fs::read(path).unwrap(), elf);
}

#[test]
fn too_large_is_refused_with_or_without_content_length() {
    let dir = tempfile::tempdir().unwrap();
    let elf = tiny_elf(&id(11).to_bytes(), 5000);
    let (a, b) = (elf.clone(), elf.clone());
    let sized = TestServer::start(move |_| Reply::Http(200, a.clone()));
    let unsized_ = TestServer::start(move |_| Reply::Unsized(b.clone()));
    for (url, announced) in [(&sized.url, Some(elf.len() as u64)), (&unsized_.url, None)] {
        let settings = Settings {
            max_size: 1000,
            ..Settings::with_servers([url.as_str()])
        };
        let c = Client::new(settings, Cache::new(dir.path().join("cache"))).with_env_proxy(false);
        let e = c
            .fetch(&id(11), Kind::Debuginfo, &mut no_progress())
            .unwrap_err();
        assert_eq!(
            only_failure(&e),
            &Failure::TooLarge {
                limit: 1000,
                size: announced
            }
        );
        assert!(e.to_string().contains("over the 1000-byte limit"), "{e}");
        assert!(files_under(dir.path()).is_empty());
    }
    // Without Content-Length the body is still accepted when it fits.
    let path = client(dir.path(), &[&unsized_.url], T)
        .fetch(&id(11), Kind::Debuginfo, &mut no_progress())
        .unwrap();
    assert_eq!(fs::read(path).unwrap(), elf);
}

#[test]
fn no_servers_and_no_cache_entry() {
    let dir = tempfile::tempdir().unwrap();
    let c = Client::new(Settings::default(), Cache::new(dir.path()));
    let e = c
        .fetch(&id(12), Kind::Debuginfo, &mut no_progress())
        .unwrap_err();
    assert!(matches!(e, FetchError::NoServers { .. }));
    assert!(e.to_string().contains(id(12).as_str()) && e.to_string().contains("DEBUGINFOD_URLS"));
}

#[test]
fn https_without_the_feature_says_so() {
    if cfg!(feature = "https") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Refused before any connection is tried (127.0.0.1 in any case).
    let e = client(dir.path(), &["https://127.0.0.1:9"], T)
        .fetch(&id(13), Kind::Debuginfo, &mut no_progress())
        .unwrap_err();
    assert!(matches!(only_failure(&e), Failure::Unsupported(_)), "{e:?}");
    assert!(e.to_string().contains("`https` feature"), "{e}");
}

#[test]
fn concurrent_fetches_of_one_build_id_both_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let elf = tiny_elf(&id(14).to_bytes(), 300_000);
    let body = elf.clone();
    // The delay makes both requests be in flight at once.
    let server = TestServer::start_delayed(Duration::from_millis(300), move |_| {
        Reply::Http(200, body.clone())
    });
    let c = Arc::new(client(dir.path(), &[&server.url], T));
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let c = c.clone();
            thread::spawn(move || c.fetch(&id(14), Kind::Debuginfo, &mut |_, _| {}))
        })
        .collect();
    let paths: Vec<_> = threads
        .into_iter()
        .map(|t| t.join().unwrap().unwrap())
        .collect();
    assert_eq!(paths[0], paths[1]);
    assert_eq!(server.hits.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert_eq!(fs::read(&paths[0]).unwrap(), elf);
    // No temporary file survives either writer.
    assert_eq!(files_under(dir.path()), vec![paths[0].clone()]);
}

#[test]
fn eviction_keeps_the_cache_under_its_limit_least_recently_used_first() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(|path| {
        // /buildid/<hex>/debuginfo: serve an ELF of that build-id.
        let hex = path.split('/').nth(2).unwrap_or("");
        let id = crashview_debuginfod::BuildId::from_hex(hex).unwrap();
        Reply::Http(200, tiny_elf(&id.to_bytes(), 1000))
    });
    let size = tiny_elf(&id(1).to_bytes(), 1000).len() as u64;
    let limit = size * 5 / 2; // room for two files
    let settings = Settings::with_servers([server.url.as_str()]);
    let c = Client::new(
        settings,
        Cache::new(dir.path().join("cache")).with_limit(limit),
    )
    .with_env_proxy(false);
    let total = || -> u64 {
        files_under(dir.path())
            .iter()
            .map(|p| fs::metadata(p).unwrap().len())
            .sum()
    };
    // Age each file explicitly: file systems' timestamps can be coarse.
    let age = |p: &std::path::Path, minutes: u64| {
        let t = SystemTime::now() - Duration::from_secs(60 * minutes);
        let times = fs::FileTimes::new().set_accessed(t).set_modified(t);
        fs::File::options()
            .write(true)
            .open(p)
            .unwrap()
            .set_times(times)
            .unwrap();
    };
    let p20 = c.fetch(&id(20), Kind::Debuginfo, &mut |_, _| {}).unwrap();
    age(&p20, 30);
    let p21 = c.fetch(&id(21), Kind::Debuginfo, &mut |_, _| {}).unwrap();
    age(&p21, 20);
    assert_eq!(files_under(dir.path()).len(), 2);
    // A hit makes 20 the most recently used...
    assert_eq!(
        c.fetch(&id(20), Kind::Debuginfo, &mut |_, _| {}).unwrap(),
        p20
    );
    // ...so writing 22 evicts 21, not 20.
    let p22 = c.fetch(&id(22), Kind::Debuginfo, &mut |_, _| {}).unwrap();
    assert!(total() <= limit, "{} > {limit}", total());
    assert_eq!(files_under(dir.path()), {
        let mut v = vec![p20.clone(), p22.clone()];
        v.sort();
        v
    });
    assert!(
        !p21.parent().unwrap().exists(),
        "empty entry directory removed"
    );

    // A limit below one file keeps just the newest.
    let small = Cache::new(dir.path().join("cache")).with_limit(1);
    let ev = small.evict(Some(&p22));
    assert_eq!((ev.files, ev.bytes, ev.remaining), (1, size, size));
    assert_eq!(files_under(dir.path()), vec![p22]);
}
