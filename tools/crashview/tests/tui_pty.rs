//! Drives the real binary in a pseudo-terminal: open a fixture in the TUI,
//! search, switch panes, quit; the screen (parsed by a vt100 emulator)
//! must show what each step promises and the process must exit 0 with
//! the terminal back on the main screen.

use std::io::ErrorKind;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use expectrl::{Session, WaitStatus};

type Pty = Session;

/// Reads what the TUI wrote until the screen satisfies `done` or the
/// deadline passes; returns the screen text either way.
fn pump(
    s: &mut Pty,
    vt: &mut vt100::Parser,
    what: &str,
    done: impl Fn(&vt100::Screen) -> bool,
) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut buf = [0u8; 8192];
    loop {
        match s.try_read(&mut buf) {
            Ok(0) => {}
            Ok(n) => vt.process(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20))
            }
            // EIO: the child closed the terminal.
            Err(_) => return vt.screen().contents(),
        }
        let screen = vt.screen().contents();
        if done(vt.screen()) {
            return screen;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; screen:\n{screen}"
        );
    }
}

#[test]
fn tui_in_a_pty_search_switch_quit() {
    let fixture =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/recorder/hang/region.bin");
    // stty first, so the size is right before the TUI asks for it.
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("stty cols 80 rows 24 && exec \"$0\" report \"$1\"")
        .arg(env!("CARGO_BIN_EXE_crashview"))
        .arg(&fixture)
        .env("TERM", "xterm-256color")
        .env_remove("NO_COLOR");
    let mut s = Session::spawn(cmd).expect("spawn in a pty");
    let mut vt = vt100::Parser::new(24, 80, 0);

    let screen = pump(&mut s, &mut vt, "the summary", |v| {
        let t = v.contents();
        t.contains("1 Summary") && t.contains("hung_notifier")
    });
    assert!(screen.contains("Records (1)"), "{screen}");
    assert!(vt.screen().alternate_screen());

    s.send("2").expect("send");
    pump(&mut s, &mut vt, "the log pane", |v| {
        let t = v.contents();
        t.contains("Log: dump Panic#1")
    });
    s.send("/Comm: init\r").expect("send");
    let screen = pump(&mut s, &mut vt, "the search hit", |v| {
        let t = v.contents();
        t.contains("PID: 1 Comm: init Tainted")
    });
    assert!(!screen.contains("pattern not found"), "{screen}");

    s.send("\t\t").expect("send");
    let screen = pump(&mut s, &mut vt, "the timeline", |v| {
        let t = v.contents();
        t.contains("Timeline (exact)") && t.contains("never returned")
    });
    assert!(screen.contains("STOPPED in step 8"), "{screen}");

    s.send("q").expect("send");
    let screen = pump(&mut s, &mut vt, "the main screen", |v| {
        !v.alternate_screen()
    });
    assert!(!screen.contains("Timeline (exact)"), "{screen}");
    let status = s.get_process().wait().expect("wait");
    assert!(
        matches!(status, WaitStatus::Exited(_, 0)),
        "exit status {status:?}"
    );
}

/// The trace pane gets file:line from the module's debug file, resolved in
/// the background after the report is on the screen.
#[test]
fn tui_in_a_pty_shows_source_lines() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/ramoops");
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("stty cols 80 rows 24 && exec \"$0\" tui \"$1\" --modules \"$2\" --debug-root /nonexistent")
        .arg(env!("CARGO_BIN_EXE_crashview"))
        .arg(dir.join("irq-oops/region.bin"))
        .arg(dir.join("crashmod.ko"))
        .env("TERM", "xterm-256color");
    let mut s = Session::spawn(cmd).expect("spawn in a pty");
    let mut vt = vt100::Parser::new(24, 80, 0);
    pump(&mut s, &mut vt, "the summary", |v| {
        v.contents().contains("1 Summary")
    });
    s.send("3").expect("send");
    let screen = pump(&mut s, &mut vt, "the source lines", |v| {
        v.contents().contains("crashmod.c:75")
    });
    assert!(
        screen.contains("file:line from 1 debug file(s)"),
        "{screen}"
    );
    assert!(
        screen.contains("crashmod_timer_fn crashmod-6.1.0-56-amd64/crashmod.c:75"),
        "{screen}"
    );
    s.send("q").expect("send");
    pump(&mut s, &mut vt, "the main screen", |v| {
        !v.alternate_screen()
    });
    let status = s.get_process().wait().expect("wait");
    assert!(
        matches!(status, WaitStatus::Exited(_, 0)),
        "exit status {status:?}"
    );
}
