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
        let r = analysis::input::load(&path)
            .map(|input| Box::new(analysis::analyze(&input)))
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
