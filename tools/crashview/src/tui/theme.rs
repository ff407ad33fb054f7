//! Styles, with and without colour. `NO_COLOR` (set and non-empty, per
//! no-color.org) leaves only bold, dim, underline and reverse.

use ratatui::style::{Color, Modifier, Style};

/// The styles views draw with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    /// Use colours.
    pub color: bool,
}

impl Theme {
    /// Colour unless `NO_COLOR` is set to a non-empty value.
    pub fn from_env() -> Theme {
        Theme {
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }

    fn fg(self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    /// The selected row.
    pub fn cursor(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    /// Headings and the active tab.
    pub fn heading(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    /// A source location (file:line under a frame).
    pub fn source(self) -> Style {
        self.fg(Color::Green)
    }

    /// Secondary text.
    pub fn dim(self) -> Style {
        Style::new().add_modifier(Modifier::DIM)
    }

    /// Something went wrong: errors, never-returned calls.
    pub fn bad(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    /// Something went as planned.
    pub fn good(self) -> Style {
        self.fg(Color::Green)
    }

    /// Worth a look.
    pub fn warn(self) -> Style {
        self.fg(Color::Yellow)
    }

    /// A search match.
    pub fn matched(self) -> Style {
        if self.color {
            Style::new().fg(Color::Black).bg(Color::Yellow)
        } else {
            Style::new().add_modifier(Modifier::UNDERLINED | Modifier::BOLD)
        }
    }

    /// A log line at console level `level`.
    pub fn level(self, level: Option<u8>) -> Style {
        match level {
            Some(0..=3) => self.bad(),
            Some(4) => self.warn(),
            Some(7) => self.dim(),
            _ => Style::new(),
        }
    }

    /// Timeline bars: journaled, inferred, never ended.
    pub fn bar(self, inferred: bool, open: bool) -> Style {
        if open {
            self.bad()
        } else if inferred {
            self.fg(Color::Blue)
        } else {
            self.good()
        }
    }
}
