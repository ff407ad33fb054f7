//! The command line around the TUI: when it opens (never without a
//! terminal, never with --json), completions, the manual page, --help.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn crashview(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_crashview"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run crashview")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn fixture(rel: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(rel)
        .display()
        .to_string()
}

#[test]
fn report_without_a_terminal_prints_text() {
    let f = fixture("recorder/hang/region.bin");
    for args in [
        vec!["report", &f],
        vec!["report", "--plain", &f],
        vec!["report", "--no-tui", &f],
    ] {
        let o = crashview(&args);
        assert!(o.status.success(), "{args:?}: {o:?}");
        let out = stdout(&o);
        assert!(out.contains("timeline:   exact"), "{out}");
        assert!(!out.contains("\x1b["), "no escape sequences in a pipe");
    }
    let o = crashview(&["report", "--json", &f]);
    assert!(o.status.success());
    assert!(stdout(&o).contains("\"schema\": \"crashview.report/1\""));
}

#[test]
fn tui_without_a_terminal_is_an_error() {
    let o = crashview(&["tui", &fixture("recorder/hang/region.bin")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("needs a terminal"));
    let o = crashview(&["report", "--json", "--plain", "x"]);
    assert_eq!(o.status.code(), Some(2), "--json and --plain conflict");
}

#[test]
fn unreadable_input_exits_2() {
    let o = crashview(&["report", "/nonexistent/crashview-input"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn completions() {
    for (shell, marker) in [
        ("bash", "_crashview()"),
        ("zsh", "#compdef crashview"),
        ("fish", "complete -c crashview"),
        ("elvish", "crashview"),
        ("powershell", "crashview"),
    ] {
        let o = crashview(&["completions", shell]);
        assert!(o.status.success(), "{shell}");
        let out = stdout(&o);
        assert!(out.contains(marker), "{shell}: {out}");
        assert!(out.contains("report") && out.contains("tui"), "{shell}");
    }
    assert_eq!(crashview(&["completions", "tcsh"]).status.code(), Some(2));
}

#[test]
fn man_page() {
    let o = crashview(&["man"]);
    assert!(o.status.success());
    let out = stdout(&o);
    assert!(
        out.starts_with(".ie") || out.contains(".TH crashview"),
        "{out}"
    );
    assert!(out.contains("completions"));
    assert!(out.contains("Exit status"));
}

#[test]
fn help_has_examples_and_exit_codes() {
    let out = stdout(&crashview(&["--help"]));
    for w in [
        "Examples:",
        "crashview report --plain",
        "Exit status:",
        "NO_COLOR",
        "tui",
    ] {
        assert!(out.contains(w), "--help lacks {w:?}:\n{out}");
    }
}
