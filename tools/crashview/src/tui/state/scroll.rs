//! A cursor over `len` rows with a first visible row: the one piece of
//! scrolling logic every list-like pane shares.

use ratatui::crossterm::event::{KeyCode, KeyEvent};

use super::EventState;

/// Cursor and scroll position over a list of rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scroll {
    /// The selected row.
    pub cursor: usize,
    /// The first row shown.
    pub top: usize,
}

impl Scroll {
    /// Moves the cursor to `row` (clamped to `len`) and scrolls so it shows
    /// in a viewport of `page` rows.
    pub fn select(&mut self, row: usize, len: usize, page: usize) {
        self.cursor = row.min(len.saturating_sub(1));
        let page = page.max(1);
        if self.cursor < self.top {
            self.top = self.cursor;
        } else if self.cursor >= self.top + page {
            self.top = self.cursor + 1 - page;
        }
    }

    /// The first row to draw in a viewport of `page` rows: `top`, moved
    /// just enough to show the cursor (the viewport may have shrunk since
    /// the last key; drawing must not change state, so it corrects here).
    pub fn visible_top(&self, page: usize) -> usize {
        let page = page.max(1);
        if self.cursor < self.top {
            self.cursor
        } else if self.cursor >= self.top + page {
            self.cursor + 1 - page
        } else {
            self.top
        }
    }

    /// Movement keys: arrows, j/k, PageUp/PageDown, Home/End, g/G.
    pub fn handle_key(&mut self, key: KeyEvent, len: usize, page: usize) -> EventState {
        let c = self.cursor;
        let target = match key.code {
            KeyCode::Down | KeyCode::Char('j') => c.saturating_add(1),
            KeyCode::Up | KeyCode::Char('k') => c.saturating_sub(1),
            KeyCode::PageDown | KeyCode::Char(' ') => c.saturating_add(page.max(1)),
            KeyCode::PageUp => c.saturating_sub(page.max(1)),
            KeyCode::Home | KeyCode::Char('g') => 0,
            KeyCode::End | KeyCode::Char('G') => len.saturating_sub(1),
            _ => return EventState::NotConsumed,
        };
        self.select(target, len, page);
        EventState::Consumed
    }
}
