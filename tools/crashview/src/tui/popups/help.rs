//! The `?` help popup: every key, drawn over the pane.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget};

use crate::tui::theme::Theme;

/// Keys and what they do, as the popup and the user guide list them.
pub const KEYS: &[(&str, &str)] = &[
    ("Tab / S-Tab", "next / previous pane"),
    ("1 2 3 4", "Summary, Log, Traces, Timeline"),
    ("j k ↓ ↑", "move; PgDn/PgUp/Space page"),
    ("g G Home End", "first / last row"),
    ("/ Enter", "search the log (smart case)"),
    ("n N", "next / previous match"),
    ("l L", "log: lower / raise max level"),
    ("o", "jump to the first Oops/BUG/panic"),
    ("Enter", "trace/timeline: show in log"),
    ("?", "this help (any key closes)"),
    ("q Esc Ctrl-C", "quit"),
];

/// The help popup.
pub struct Help {
    /// Styles.
    pub theme: Theme,
}

impl Widget for &Help {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let h = u16::try_from(KEYS.len() + 2).unwrap_or(u16::MAX);
        let [v] = Layout::vertical([Constraint::Length(h)])
            .flex(Flex::Center)
            .areas(area);
        let [rect] = Layout::horizontal([Constraint::Length(56)])
            .flex(Flex::Center)
            .areas(v);
        Clear.render(rect, buf);
        let lines: Vec<Line> = KEYS
            .iter()
            .map(|(k, what)| {
                Line::from(vec![
                    Span::styled(format!(" {k:<13}"), self.theme.heading()),
                    Span::raw(*what),
                ])
            })
            .collect();
        Paragraph::new(lines)
            .block(Block::new().borders(Borders::ALL).title(" Keys "))
            .render(rect, buf);
    }
}
