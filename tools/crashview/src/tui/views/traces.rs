//! The trace pane: every call trace in the log, title and frames.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Widget};

use crashview_analysis::Report;

use super::fit;
use crate::tui::state::rows::trace_rows;
use crate::tui::state::scroll::Scroll;
use crate::tui::theme::Theme;

/// Call traces.
pub struct TracesView<'a> {
    /// The report.
    pub report: &'a Report,
    /// Cursor over title and frame rows.
    pub scroll: &'a Scroll,
    /// Styles.
    pub theme: Theme,
}

impl Widget for &TracesView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let th = self.theme;
        let r = self.report;
        let block = Block::new()
            .borders(Borders::ALL)
            .title(format!(" Traces ({}) ", r.traces.len()));
        let inner = block.inner(area);
        block.render(area, buf);
        let rows = trace_rows(r);
        if rows.is_empty() {
            Line::styled("no call traces in the log", th.dim()).render(inner, buf);
            return;
        }
        let page = usize::from(inner.height);
        let top = self.scroll.visible_top(page);
        let width = usize::from(inner.width);
        for (y, (i, row)) in rows.iter().enumerate().skip(top).take(page).enumerate() {
            let Some(t) = r.traces.get(row.trace) else {
                continue;
            };
            let line = match row.frame.and_then(|f| t.frames.get(f)) {
                None => Line::from(vec![Span::styled(
                    fit(
                        &format!(
                            "#{} lines {}-{}: {}",
                            row.trace + 1,
                            t.lines.0,
                            t.lines.1,
                            t.title.as_deref().unwrap_or("(untitled)")
                        ),
                        width,
                    ),
                    th.heading(),
                )]),
                Some(f) => {
                    let mut style = Style::new();
                    if !f.reliable {
                        style = th.dim();
                    }
                    if f.rip {
                        style = th.bad();
                    }
                    let name = f.text.trim_start_matches("? ");
                    let mut tags = Vec::new();
                    if let Some(m) = f.module.as_ref().filter(|m| !name.contains(m.as_str())) {
                        tags.push(format!("[{m}]"));
                    }
                    if f.rip {
                        tags.push("RIP".into());
                    }
                    if !f.reliable {
                        tags.push("unreliable (?)".into());
                    }
                    if f.user {
                        tags.push("user".into());
                    }
                    Line::from(vec![
                        Span::styled(fit(&format!("  {name}"), width), style),
                        Span::styled(format!("  {}", tags.join(" ")), th.dim()),
                    ])
                }
            };
            let rect = Rect {
                y: inner.y + u16::try_from(y).unwrap_or(0),
                height: 1,
                ..inner
            };
            if i == self.scroll.cursor {
                buf.set_style(rect, th.cursor());
                line.patch_style(th.cursor()).render(rect, buf);
            } else {
                line.render(rect, buf);
            }
        }
    }
}
