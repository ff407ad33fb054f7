//! `Client::fetch` against a real elfutils `debuginfod` (Debian package
//! `debuginfod`) started on 127.0.0.1 over a directory of programs this test
//! compiles with gcc. Skipped with a note when debuginfod or gcc is missing,
//! unless CRASHVIEW_REQUIRE_DEBUGINFOD=1 (CI), which makes that a failure.

mod common;

use std::fs;

use common::{client, files_under, gcc_program};
use crashview_debuginfod::testing::{need_tool, Debuginfod};
use crashview_debuginfod::{BuildId, Failure, Kind};

const T: std::time::Duration = std::time::Duration::from_secs(10);

fn tools() -> Option<()> {
    need_tool("debuginfod", "debuginfod")?;
    need_tool("gcc", "gcc")
}

#[test]
fn real_debuginfod_found_fetched_once_then_served_from_cache() {
    if tools().is_none() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let elf_dir = work.path().join("elf");
    fs::create_dir(&elf_dir).unwrap();
    let (prog, id) = gcc_program(work.path(), &elf_dir, "alpha", 1);
    let (prog2, id2) = gcc_program(work.path(), &elf_dir, "beta", 2);
    assert_ne!(id, id2);
    let mut server = Debuginfod::start(work.path(), &elf_dir, 2);
    let c = client(work.path(), &[&server.url], T);

    let mut last = None;
    let path = c
        .fetch(&id, Kind::Debuginfo, &mut |done, total| {
            last = Some((done, total))
        })
        .unwrap();
    let want = fs::read(&prog).unwrap();
    assert_eq!(fs::read(&path).unwrap(), want);
    let len = want.len() as u64;
    assert_eq!(last, Some((len, Some(len))));
    // The executable request works the same way (an unstripped program is
    // both).
    let exe = c.fetch(&id2, Kind::Executable, &mut |_, _| {}).unwrap();
    assert_eq!(fs::read(&exe).unwrap(), fs::read(&prog2).unwrap());

    // With the server gone, the cache still answers, without a callback.
    server.stop();
    let mut called = false;
    assert_eq!(
        c.fetch(&id, Kind::Debuginfo, &mut |_, _| called = true)
            .unwrap(),
        path
    );
    assert!(!called, "a cache hit must not download");
    // ...and what is not cached fails, naming the dead server.
    let e = c.fetch(&id2, Kind::Debuginfo, &mut |_, _| {}).unwrap_err();
    assert_eq!(e.failures()[0].failure, Failure::ConnectionRefused, "{e}");
    let cached: Vec<_> = files_under(&work.path().join("cache"));
    assert_eq!(cached.len(), 2, "{cached:?}");
}

#[test]
fn real_debuginfod_unknown_build_id_is_404_naming_id_and_server() {
    if tools().is_none() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let elf_dir = work.path().join("elf");
    fs::create_dir(&elf_dir).unwrap();
    gcc_program(work.path(), &elf_dir, "gamma", 3);
    let server = Debuginfod::start(work.path(), &elf_dir, 1);
    let unknown: BuildId = "00112233445566778899aabbccddeeff00112233".parse().unwrap();
    let e = client(work.path(), &[&server.url], T)
        .fetch(&unknown, Kind::Debuginfo, &mut |_, _| {})
        .unwrap_err();
    assert_eq!(e.failures()[0].failure, Failure::NotFound);
    let msg = e.to_string();
    assert!(msg.contains(unknown.as_str()), "{msg}");
    assert!(
        msg.contains(&format!("server {}: not found (HTTP 404)", server.url)),
        "{msg}"
    );
    assert!(files_under(&work.path().join("cache")).is_empty());
}
