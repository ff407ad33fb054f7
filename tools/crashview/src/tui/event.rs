//! One [`Event`] enum over one channel: terminal input, ticks and the
//! background load all arrive here, so the loop has one place to wait.

use std::path::PathBuf;
use std::sync::mpsc::Sender;
use std::thread;
use std::time::Duration;

use ratatui::crossterm::event::{self as ct, KeyEvent};

use crashview_analysis::{self as analysis, Report, Symbols};
use crashview_symbolize::debug_files::DebugOptions;

/// Everything the loop reacts to.
#[derive(Debug)]
pub enum Event {
    /// A key press.
    Key(KeyEvent),
    /// The terminal changed size (columns, rows).
    Resize(u16, u16),
    /// Time passed (drives the loading spinner).
    Tick,
    /// The background load moved on to another phase (shown under the
    /// spinner).
    Progress(String),
    /// The background load finished.
    Loaded(Result<Box<Report>, String>),
    /// The traces' source locations, resolved after the load.
    Symbols(Result<Symbols, String>),
}

/// Reads terminal events forever, forwarding keys and resizes. Stops when
/// the receiver is gone or the terminal errors.
pub fn spawn_input(tx: Sender<Event>) {
    thread::spawn(move || loop {
        let ev = match ct::read() {
            Ok(ct::Event::Key(k)) => Event::Key(k),
            Ok(ct::Event::Resize(w, h)) => Event::Resize(w, h),
            Ok(_) => continue,
            Err(_) => return,
        };
        if tx.send(ev).is_err() {
            return;
        }
    });
}

/// Sends a tick every `every` until the receiver is gone.
pub fn spawn_ticker(tx: Sender<Event>, every: Duration) {
    thread::spawn(move || loop {
        thread::sleep(every);
        if tx.send(Event::Tick).is_err() {
            return;
        }
    });
}

/// Loads and analyses `path` off the UI thread, so a big vmcore never
/// holds up the first frame; then, with `symbols`, resolves the traces'
/// frames (reading a large vmlinux's DWARF must not hold up the report).
pub fn spawn_load(tx: Sender<Event>, path: PathBuf, symbols: Option<DebugOptions>) {
    thread::spawn(move || {
        let size = std::fs::metadata(&path).map_or(0, |m| m.len());
        let _ = tx.send(Event::Progress(format!("reading {}", human_size(size))));
        let r = analysis::input::load(&path)
            .map(|input| {
                let _ = tx.send(Event::Progress(format!(
                    "analysing the {} ({} pstore files)",
                    input.kind.name(),
                    input.files.len()
                )));
                Box::new(analysis::analyze(&input))
            })
            .map_err(|e| e.to_string());
        // The UI gets the report now; this thread keeps a copy to resolve.
        let pending = match (&r, symbols) {
            (Ok(report), Some(opts)) => Some((report.clone(), opts)),
            _ => None,
        };
        if tx.send(Event::Loaded(r)).is_err() {
            return;
        }
        if let Some((report, opts)) = pending {
            let s = analysis::symbols::resolve(&report, &opts).map_err(|e| e.to_string());
            let _ = tx.send(Event::Symbols(s));
        }
    });
}

/// `1.0 GiB`, `96.0 MiB`, `4 KiB`, `512 B`.
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.1} {}", UNITS.get(u).copied().unwrap_or("TiB"))
}
