//! The log pane: which lines show (level filter), the cursor, and search.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crashview_analysis::LogLine;

use super::scroll::Scroll;
use super::EventState;

/// Kernel log level names, `KERN_EMERG` (0) to `KERN_DEBUG` (7).
pub const LEVELS: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];

/// State of the log pane.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogState {
    /// Show lines up to this level (lines without a level always show);
    /// `None` shows everything.
    pub max_level: Option<u8>,
    /// Indices into the log of the lines shown, in order.
    pub visible: Vec<usize>,
    /// Cursor and scroll over `visible`.
    pub scroll: Scroll,
    /// The search being typed, while `/` is active.
    pub input: Option<String>,
    /// The last search committed with Enter (n/N repeat it).
    pub query: Option<String>,
    /// A one-line message for the status bar (`not found`, …).
    pub message: Option<String>,
}

/// Case-insensitive match, unless the query has an upper-case letter
/// (smart case, as in less and vim).
pub fn matches(text: &str, query: &str) -> bool {
    if query.is_empty() {
        return false;
    }
    if query.chars().any(char::is_uppercase) {
        text.contains(query)
    } else {
        text.to_lowercase().contains(query)
    }
}

impl LogState {
    /// A state showing every line of `lines`.
    pub fn new(lines: &[LogLine]) -> LogState {
        let mut s = LogState::default();
        s.refilter(lines);
        s
    }

    /// Log index of the line under the cursor.
    pub fn current_line(&self) -> Option<usize> {
        self.visible.get(self.scroll.cursor).copied()
    }

    fn shown(&self, l: &LogLine) -> bool {
        match (self.max_level, l.level) {
            (Some(max), Some(lv)) => lv <= max,
            _ => true,
        }
    }

    /// Recomputes `visible` after a filter change, keeping the cursor on
    /// the same log line or the nearest one before it.
    fn refilter(&mut self, lines: &[LogLine]) {
        let keep = self.current_line().unwrap_or(0);
        self.visible = (0..lines.len())
            .filter(|&i| lines.get(i).is_some_and(|l| self.shown(l)))
            .collect();
        let pos = self
            .visible
            .partition_point(|&i| i <= keep)
            .saturating_sub(1);
        self.scroll.cursor = pos.min(self.visible.len().saturating_sub(1));
        self.scroll.top = self.scroll.top.min(self.scroll.cursor);
    }

    /// Puts the cursor on log line `line`, lifting the level filter if it
    /// hides that line.
    pub fn jump_to(&mut self, line: usize, lines: &[LogLine], page: usize) {
        if self.visible.binary_search(&line).is_err() && self.max_level.is_some() {
            self.max_level = None;
            self.refilter(lines);
            self.message = Some("level filter cleared to show the line".into());
        }
        let pos = match self.visible.binary_search(&line) {
            Ok(p) | Err(p) => p,
        };
        self.scroll.select(pos, self.visible.len(), page);
        // Put the line a few rows below the top so its context shows.
        self.scroll.top = pos.saturating_sub(page / 4);
    }

    /// Moves to the next (or previous) visible line matching the query,
    /// wrapping around; the cursor line itself is skipped.
    pub fn find(&mut self, lines: &[LogLine], forward: bool, page: usize) -> bool {
        let Some(q) = self.query.clone() else {
            self.message = Some("no search yet: press /".into());
            return false;
        };
        let n = self.visible.len();
        let start = self.scroll.cursor;
        for step in 1..=n {
            let pos = if forward {
                (start + step) % n
            } else {
                (start + n - step % n) % n
            };
            let hit = self
                .visible
                .get(pos)
                .and_then(|&i| lines.get(i))
                .is_some_and(|l| matches(&l.console(), &q));
            if hit {
                self.scroll.select(pos, n, page);
                self.message = if (forward && pos <= start) || (!forward && pos >= start) {
                    Some("search wrapped".into())
                } else {
                    None
                };
                return true;
            }
        }
        self.message = Some(format!("pattern not found: {q}"));
        false
    }

    /// Keys of the log pane. `/` starts a search; while one is typed every
    /// key goes to it.
    pub fn handle_key(&mut self, key: KeyEvent, lines: &[LogLine], page: usize) -> EventState {
        if let Some(input) = self.input.as_mut() {
            match key.code {
                KeyCode::Esc => self.input = None,
                KeyCode::Enter => {
                    let q = self.input.take().unwrap_or_default();
                    if !q.is_empty() {
                        self.query = Some(q);
                        // Search from the line before the cursor so a
                        // match on the cursor line itself is found.
                        let n = self.visible.len().max(1);
                        self.scroll.cursor = (self.scroll.cursor + n - 1) % n;
                        self.find(lines, true, page);
                    }
                }
                KeyCode::Backspace => {
                    input.pop();
                }
                KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => input.push(c),
                _ => {}
            }
            return EventState::Consumed;
        }
        self.message = None;
        match key.code {
            KeyCode::Char('/') => self.input = Some(String::new()),
            KeyCode::Char('n') => {
                self.find(lines, true, page);
            }
            KeyCode::Char('N') => {
                self.find(lines, false, page);
            }
            KeyCode::Char('l') => {
                // all → debug → info → … → emerg → all
                self.max_level = match self.max_level {
                    None => Some(7),
                    Some(0) => None,
                    Some(l) => Some(l - 1),
                };
                self.refilter(lines);
            }
            KeyCode::Char('L') => {
                self.max_level = match self.max_level {
                    None => Some(0),
                    Some(7) => None,
                    Some(l) => Some(l + 1),
                };
                self.refilter(lines);
            }
            _ => return self.scroll.handle_key(key, self.visible.len(), page),
        }
        EventState::Consumed
    }

    /// Is a search being typed (so global keys must not fire)?
    pub fn typing(&self) -> bool {
        self.input.is_some()
    }
}
