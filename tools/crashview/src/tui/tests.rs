//! Render tests (80×24 `TestBackend`, one per pane, on real fixtures) and
//! key-handling tests on the state structs alone.

use std::path::PathBuf;

use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::Color;
use ratatui::Terminal;

use crashview_analysis::{self as analysis, LogLine, Report};

use super::state::log::LogState;
use super::state::rows::timeline_rows;
use super::state::scroll::Scroll;
use super::state::{App, EventState, Load, Pane, SymbolState};
use super::theme::Theme;
use super::views::Root;

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(rel)
}

fn report(rel: &str) -> Report {
    let input = analysis::input::load(&fixture(rel)).expect("fixture loads");
    analysis::analyze(&input)
}

fn app(rel: &str) -> App {
    let mut a = App::new(rel.to_string(), (80, 24));
    a.loaded(Ok(report(rel)));
    a
}

fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

fn code(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

fn press(a: &mut App, keys: &str) {
    for c in keys.chars() {
        a.handle_key(key(c));
    }
}

fn draw_with(a: &App, theme: Theme) -> Buffer {
    let mut t = Terminal::new(TestBackend::new(80, 24)).expect("test terminal");
    t.draw(|f| f.render_widget(&Root { app: a, theme }, f.area()))
        .expect("draw");
    t.backend().buffer().clone()
}

fn screen(a: &App) -> String {
    let b = draw_with(a, Theme { color: true });
    let mut s = String::new();
    for y in 0..b.area.height {
        for x in 0..b.area.width {
            s.push_str(b[(x, y)].symbol());
        }
        s.push('\n');
    }
    s
}

fn assert_shows(screen: &str, what: &[&str]) {
    for w in what {
        assert!(screen.contains(w), "screen lacks {w:?}:\n{screen}");
    }
}

// ---- render tests: recorder `hang` (exact timeline) ----

#[test]
fn hang_summary() {
    let a = app("recorder/hang/region.bin");
    let s = screen(&a);
    assert_shows(
        &s,
        &[
            "1 Summary",
            "4 Timeline",
            "recorder-region",
            "sysrq triggered crash",
            "STOPPED in pre-reboot list inside hung_notifier",
            "Records (1)",
            "dmesg-ramoops-0",
            "Panic#1 Part1",
        ],
    );
}

#[test]
fn hang_timeline() {
    let mut a = app("recorder/hang/region.bin");
    press(&mut a, "4");
    let s = screen(&a);
    assert_shows(
        &s,
        &[
            "Timeline (exact)",
            "panic journal at 0xfe000",
            "1. stop other CPUs",
            "6. kmsg dump",
            "8.268 ms",
            "hung_notifier",
            "never returned",
            "never ended",
            "█",
            "▓",
            "result: STOPPED in step 8 pre-reboot list: \"hung_notifier\" never returned",
        ],
    );
    // Every row fits: the hung call is on screen, not scrolled off.
    let rows = timeline_rows(a.report().expect("loaded"));
    assert!(rows.len() <= 18, "{} rows", rows.len());
}

#[test]
fn hang_log_search_and_oops() {
    let mut a = app("recorder/hang/region.bin");
    press(&mut a, "o");
    assert_eq!(a.pane, Pane::Log);
    let s = screen(&a);
    assert_shows(
        &s,
        &[
            "Log: dump Panic#1",
            "▶[    2.206715] sysrq: Trigger a crash",
            "Kernel panic - not syncing: sysrq triggered crash",
        ],
    );
    press(&mut a, "/Comm: init");
    let s = screen(&a);
    assert!(s.contains("/Comm: init█"), "{s}");
    a.handle_key(code(KeyCode::Enter));
    let r = a.report().expect("loaded");
    let at = a.log.current_line().expect("cursor");
    assert!(r.log.lines[at].text.contains("Comm: init"));
}

#[test]
fn hang_traces() {
    let mut a = app("recorder/hang/region.bin");
    press(&mut a, "3");
    let s = screen(&a);
    assert_shows(
        &s,
        &[
            "Traces (1)",
            "#1 lines 312-349: Kernel panic - not syncing",
            "sysrq_handle_crash+0x16/0x20",
            "_printk+0x68/0x83  unreliable (?)",
        ],
    );
    // Enter on the trace title shows it in the log.
    a.handle_key(code(KeyCode::Enter));
    assert_eq!(a.pane, Pane::Log);
    assert_eq!(a.log.current_line(), Some(312));
}

/// An oops's kmsg dump journaled before the panic is a row before step 1,
/// at its (negative) time relative to the panic.
#[test]
fn recorder_oops_dump_before_the_panic() {
    let mut a = app("recorder/oops-panic/region.bin");
    press(&mut a, "4");
    let s = screen(&a);
    assert_shows(
        &s,
        &[
            "      -0.004058 kmsg dump written to dmesg zone 0: Oops#1 Part1 deflated",
            "result: the panic path ran every step",
        ],
    );
    let rows = timeline_rows(a.report().expect("loaded"));
    assert_eq!(
        rows[0].label,
        "-0.004058 kmsg dump written to dmesg zone 0: Oops#1 Part1 deflated"
    );
    assert_eq!(rows[1].label, "1. stop other CPUs");
}

/// A clean shutdown's journal: its dump, and no verdict about a panic path.
#[test]
fn recorder_shutdown_is_no_panic() {
    let mut a = app("recorder/shutdown/region.bin");
    press(&mut a, "4");
    let s = screen(&a);
    assert_shows(
        &s,
        &[
            "Timeline (exact)",
            "      2.246884 kmsg dump written to dmesg zone 0: Shutdown#1 Part1 deflated",
            "result: no panic recorded; 1 kmsg dump journaled",
        ],
    );
    assert!(!s.contains("stopped between steps"), "{s}");
}

/// The trace pane while file:line is being resolved, then with it: a
/// source row under each module frame, the title saying from how many
/// files; Enter on a source row still shows the trace in the log.
#[test]
fn traces_with_source_lines() {
    let mut a = app("vmcore/kdump/kdump-zlib");
    a.symbols = SymbolState::Resolving;
    press(&mut a, "3");
    // The log's trace and the crashed CPU's stack from the dump.
    assert_shows(&screen(&a), &["Traces (2) · resolving file:line"]);
    let opts = analysis::DebugOptions {
        modules: vec![fixture("ramoops/crashmod.ko")],
        debug_root: PathBuf::from("/nonexistent"),
        ..Default::default()
    };
    let syms = {
        let Load::Ready(r) = &a.load else {
            panic!("not loaded")
        };
        analysis::symbols::resolve(r, &opts).expect("resolves")
    };
    a.symbolized(Ok(syms));
    assert!(
        matches!(&a.symbols, SymbolState::Done { files: 1, warnings } if warnings.len() == 1),
        "{:?}",
        a.symbols
    );
    let s = screen(&a);
    assert_shows(
        &s,
        &[
            "Traces (2) · file:line from 1 debug file(s), 1 warning(s)",
            "  RIP: 0010:crashmod_oops_target+0x1c/0x25 [crashmod]",
            "      crashmod_oops_target crashmod-6.1.0-56-amd64/crashmod.c:37",
            "  crashmod_write.cold+0x36/0x3b [crashmod]",
            "      crashmod_write crashmod-6.1.0-56-amd64/crashmod.c:92",
            "  proc_reg_write+0x56/0xa0",
        ],
    );
    // Row 4 is crashmod_write's source line: Enter shows that frame's line.
    press(&mut a, "jjjj");
    a.handle_key(code(KeyCode::Enter));
    assert_eq!(a.pane, Pane::Log);
    let line = a.log.current_line().expect("a line");
    let Load::Ready(r) = &a.load else {
        panic!("not loaded")
    };
    assert_eq!(
        r.log.lines[line].text.trim(),
        "crashmod_write.cold+0x36/0x3b [crashmod]"
    );
}

#[test]
fn help_popup_and_status() {
    let mut a = app("recorder/hang/region.bin");
    press(&mut a, "?");
    assert_shows(&screen(&a), &["Keys", "search the log", "quit"]);
    press(&mut a, "x");
    assert!(!a.help && !a.quit);
    assert!(!screen(&a).contains("search the log (smart case)"));
}

#[test]
fn loading_and_failed_frames() {
    let mut a = App::new("big.vmcore".into(), (80, 24));
    a.tick();
    a.progress(format!("reading {}", super::event::human_size(1 << 30)));
    assert_shows(
        &screen(&a),
        &["loading big.vmcore", "reading 1.0 GiB", "q quits"],
    );
    a.loaded(Err("big.vmcore: No such file or directory".into()));
    assert_shows(&screen(&a), &["cannot read the input", "No such file"]);
    press(&mut a, "q");
    assert!(a.quit);
}

// ---- render tests: ramoops `oops-panic` and a kdump vmcore (inferred) ----

#[test]
fn ramoops_every_pane() {
    let mut a = app("ramoops/oops-panic/region.bin");
    assert_shows(
        &screen(&a),
        &[
            "ramoops-region",
            "BUG: kernel NULL pointer dereference",
            "Records (2)",
            "inferred",
        ],
    );
    press(&mut a, "2");
    assert_shows(&screen(&a), &["Log: dump Panic#2", "354"]);
    press(&mut a, "3");
    assert_shows(&screen(&a), &["Traces (1)", "BUG: kernel NULL pointer"]);
    press(&mut a, "4");
    let s = screen(&a);
    assert_shows(
        &s,
        &[
            "Timeline (inferred)",
            "inferred from the log",
            "oops",
            "kmsg dump",
            "inferred: ",
            "~",
        ],
    );
    assert!(!s.contains("result:"), "no verdict without a journal:\n{s}");
    // Enter on an inferred step shows its evidence line.
    a.handle_key(code(KeyCode::Enter));
    assert_eq!(a.pane, Pane::Log);
    assert_eq!(a.log.current_line(), Some(299));
}

#[test]
fn vmcore_summary_and_timeline() {
    let mut a = app("vmcore/kdump/kdump-zlib");
    assert_shows(&screen(&a), &["vmcore", "printk ring", "no pstore records"]);
    press(&mut a, "4");
    assert_shows(&screen(&a), &["Timeline (inferred)", "crash dump"]);
}

#[test]
fn no_color_draws_no_colour() {
    let mut a = app("recorder/hang/region.bin");
    for k in ["1", "2", "3", "4"] {
        press(&mut a, k);
        let plain = draw_with(&a, Theme { color: false });
        assert!(
            plain
                .content
                .iter()
                .all(|c| c.fg == Color::Reset && c.bg == Color::Reset),
            "pane {k} used colour with NO_COLOR"
        );
        let coloured = draw_with(&a, Theme { color: true });
        assert!(coloured.content.iter().any(|c| c.fg != Color::Reset));
    }
}

// ---- key handling on state alone ----

fn lines(texts: &[(Option<u8>, &str)]) -> Vec<LogLine> {
    texts
        .iter()
        .map(|&(level, t)| LogLine {
            ts_ns: None,
            level,
            text: t.to_string(),
        })
        .collect()
}

#[test]
fn search_next_prev_wraps() {
    let l = lines(&[
        (Some(6), "alpha"),
        (Some(4), "Beta one"),
        (Some(6), "gamma"),
        (Some(3), "beta two"),
    ]);
    let mut s = LogState::new(&l);
    for c in "/beta".chars() {
        assert_eq!(s.handle_key(key(c), &l, 10), EventState::Consumed);
    }
    assert!(s.typing());
    s.handle_key(code(KeyCode::Enter), &l, 10);
    assert!(!s.typing());
    assert_eq!(s.current_line(), Some(1), "lower case matches any case");
    s.handle_key(key('n'), &l, 10);
    assert_eq!(s.current_line(), Some(3));
    s.handle_key(key('n'), &l, 10);
    assert_eq!(s.current_line(), Some(1));
    assert_eq!(s.message.as_deref(), Some("search wrapped"));
    s.handle_key(key('N'), &l, 10);
    assert_eq!(s.current_line(), Some(3));
    // Smart case: an upper-case letter makes the search exact.
    for c in "/Beta".chars() {
        s.handle_key(key(c), &l, 10);
    }
    s.handle_key(code(KeyCode::Enter), &l, 10);
    assert_eq!(s.current_line(), Some(1));
    s.handle_key(key('n'), &l, 10);
    assert_eq!(s.current_line(), Some(1));
    for c in "/zzz".chars() {
        s.handle_key(key(c), &l, 10);
    }
    s.handle_key(code(KeyCode::Enter), &l, 10);
    assert_eq!(s.message.as_deref(), Some("pattern not found: zzz"));
    // Esc abandons a search being typed.
    s.handle_key(key('/'), &l, 10);
    s.handle_key(code(KeyCode::Esc), &l, 10);
    assert!(!s.typing());
}

#[test]
fn level_filter_cycles_and_jump_lifts_it() {
    let l = lines(&[
        (Some(6), "info"),
        (Some(4), "warn"),
        (None, "continuation"),
        (Some(0), "emerg"),
        (Some(7), "debug"),
    ]);
    let mut s = LogState::new(&l);
    assert_eq!(s.visible, vec![0, 1, 2, 3, 4]);
    s.handle_key(key('l'), &l, 10);
    assert_eq!(s.max_level, Some(7));
    for _ in 0..3 {
        s.handle_key(key('l'), &l, 10);
    }
    assert_eq!(s.max_level, Some(4));
    assert_eq!(s.visible, vec![1, 2, 3], "levelless lines always show");
    s.handle_key(key('L'), &l, 10);
    assert_eq!(s.max_level, Some(5));
    for _ in 0..5 {
        s.handle_key(key('l'), &l, 10);
    }
    assert_eq!(s.max_level, Some(0));
    s.handle_key(key('l'), &l, 10);
    assert_eq!(s.max_level, None);
    s.handle_key(key('l'), &l, 10);
    s.handle_key(key('l'), &l, 10);
    s.handle_key(key('l'), &l, 10);
    assert_eq!(s.max_level, Some(5));
    s.jump_to(4, &l, 10);
    assert_eq!(s.max_level, None);
    assert_eq!(s.current_line(), Some(4));
}

#[test]
fn scroll_clamps_and_pages() {
    let mut s = Scroll::default();
    assert_eq!(s.handle_key(code(KeyCode::Up), 10, 4), EventState::Consumed);
    assert_eq!(s.cursor, 0);
    s.handle_key(code(KeyCode::PageDown), 10, 4);
    assert_eq!((s.cursor, s.top), (4, 1));
    s.handle_key(key('G'), 10, 4);
    assert_eq!((s.cursor, s.top), (9, 6));
    s.handle_key(key('j'), 10, 4);
    assert_eq!(s.cursor, 9);
    assert_eq!(
        s.visible_top(2),
        8,
        "a smaller viewport still shows the cursor"
    );
    s.handle_key(key('g'), 10, 4);
    assert_eq!((s.cursor, s.top), (0, 0));
    assert_eq!(s.handle_key(key('x'), 10, 4), EventState::NotConsumed);
}

#[test]
fn global_keys() {
    let mut a = app("recorder/hang/region.bin");
    a.handle_key(code(KeyCode::Tab));
    assert_eq!(a.pane, Pane::Log);
    a.handle_key(code(KeyCode::BackTab));
    a.handle_key(code(KeyCode::BackTab));
    assert_eq!(a.pane, Pane::Timeline);
    press(&mut a, "2/q");
    assert!(!a.quit, "q while typing a search is text");
    a.handle_key(code(KeyCode::Esc));
    assert!(!a.quit, "Esc ends the search first");
    a.handle_key(code(KeyCode::Esc));
    assert!(a.quit);
    let mut a = app("recorder/hang/region.bin");
    a.handle_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert!(a.quit);
}

#[test]
fn keys_before_load_only_quit_and_help() {
    let mut a = App::new("x".into(), (80, 24));
    press(&mut a, "o3");
    assert!(matches!(a.load, Load::Loading { .. }));
    assert_eq!(a.pane, Pane::Traces);
    assert!(a.actions.is_empty());
}

#[test]
fn theme_follows_no_color() {
    // Only this test touches NO_COLOR; the others build their Theme.
    std::env::set_var("NO_COLOR", "1");
    assert!(!Theme::from_env().color);
    std::env::set_var("NO_COLOR", "");
    assert!(Theme::from_env().color, "empty NO_COLOR is unset");
    std::env::remove_var("NO_COLOR");
    assert!(Theme::from_env().color);
}

/// A vmcore's stacks from the dump are listed after the log's traces,
/// labelled by source; Enter on one stays in the trace pane (it has no log
/// line).
#[test]
fn vmcore_traces_include_the_dump_stacks() {
    let mut a = app("tasks/6.1/kdump-zlib-d31.min.zst");
    press(&mut a, "3");
    let logged = a.report().map_or(0, |r| {
        r.traces
            .iter()
            .filter(|t| t.source == analysis::summary::TraceSource::Log)
            .count()
    });
    // Move to the first dump trace's title row: past the log traces' rows.
    let rows = super::state::rows::trace_rows(a.report().unwrap());
    let first_dump = rows
        .iter()
        .position(|r| r.trace == logged && r.frame.is_none())
        .unwrap();
    for _ in 0..first_dump {
        a.handle_key(code(KeyCode::Down));
    }
    let s = screen(&a);
    assert_shows(
        &s,
        &[
            "from the dump: CPU 0 PID",
            "crashed",
            "__crash_kexec+0x11a/0x130",
        ],
    );
    a.handle_key(code(KeyCode::Enter));
    assert_eq!(a.pane, Pane::Traces);
}
