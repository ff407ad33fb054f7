//! `crashview tui INPUT` (and `crashview report INPUT` on a terminal): the
//! report as panes to browse.
//!
//! Layout follows gitui and ratatui's demo2 (book: STYLE.md §4): plain
//! state in [`state`] whose key handlers only change state, drawing in
//! [`views`] and [`popups`] as `impl Widget for &View`, one [`Event`]
//! enum over one channel. The report loads on a background thread; the
//! first frame is a loading frame, drawn before any input is read.

pub mod event;
pub mod popups;
pub mod state;
pub mod theme;
pub mod views;
pub mod widgets;

#[cfg(test)]
mod tests;

use std::io::{self, IsTerminal, Stdout};
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::Context;
use crashview_symbolize::debug_files::DebugOptions;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::{
    cursor, execute,
    terminal::{self, EnterAlternateScreen, LeaveAlternateScreen},
};
use ratatui::Terminal;

use self::event::Event;
use self::state::{App, Load, SymbolState};
use self::theme::Theme;
use self::views::Root;

/// How often the loading spinner moves.
pub const TICK: Duration = Duration::from_millis(100);

/// Puts the terminal back: main screen, cooked mode, cursor shown. Safe to
/// call twice (the panic hook and the guard may both run).
fn restore() {
    let _ = terminal::disable_raw_mode();
    let _ = execute!(io::stdout(), LeaveAlternateScreen, cursor::Show);
}

/// Restores the terminal when dropped, on every way out of [`run`].
struct Guard;

impl Drop for Guard {
    fn drop(&mut self) {
        restore();
    }
}

fn setup() -> anyhow::Result<(Guard, Terminal<CrosstermBackend<Stdout>>)> {
    // A panic must not leave the user in raw mode on the alternate screen:
    // restore first, then let the default hook print the message.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        hook(info);
    }));
    terminal::enable_raw_mode().context("cannot put the terminal in raw mode")?;
    let guard = Guard;
    execute!(io::stdout(), EnterAlternateScreen, cursor::Hide)?;
    let term = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    Ok((guard, term))
}

/// Runs the TUI on `path` until the user quits. An input that cannot be
/// read is shown, then returned as the error (exit status 2), like
/// `crashview report` without the TUI.
pub fn run(path: &Path, symbols: Option<DebugOptions>) -> anyhow::Result<()> {
    if !io::stdout().is_terminal() || !io::stdin().is_terminal() {
        anyhow::bail!("the TUI needs a terminal; use `crashview report --plain` or `--json`");
    }
    // A path that does not exist fails here, like `report` without the
    // TUI, rather than after the screen has been taken over.
    std::fs::metadata(path).with_context(|| path.display().to_string())?;
    let (tx, rx) = mpsc::channel();
    // Start loading before touching the terminal: every millisecond of
    // set-up overlaps with the read.
    let resolving = symbols.is_some();
    event::spawn_load(tx.clone(), path.to_path_buf(), symbols);
    let (_guard, mut term) = setup()?;
    let size = term.size()?;
    let mut app = App::new(path.display().to_string(), (size.width, size.height));
    if resolving {
        app.symbols = SymbolState::Resolving;
    }
    let theme = Theme::from_env();
    term.draw(|f| f.render_widget(&Root { app: &app, theme }, f.area()))?;
    event::spawn_input(tx.clone());
    event::spawn_ticker(tx, TICK);
    while !app.quit {
        let Ok(ev) = rx.recv() else { break };
        let redraw = match ev {
            Event::Key(k) => {
                app.handle_key(k);
                true
            }
            Event::Resize(w, h) => {
                app.size = (w, h);
                true
            }
            Event::Tick => app.tick(),
            Event::Progress(p) => {
                app.progress(p);
                true
            }
            Event::Loaded(r) => {
                app.loaded(r.map(|b| *b));
                true
            }
            Event::Symbols(s) => {
                app.symbolized(s);
                true
            }
        };
        if redraw && !app.quit {
            term.draw(|f| f.render_widget(&Root { app: &app, theme }, f.area()))?;
        }
    }
    drop(term);
    if let Load::Failed(e) = &app.load {
        anyhow::bail!("{e}");
    }
    Ok(())
}
