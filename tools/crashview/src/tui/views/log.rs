//! The log pane: the kernel log with level colours, the cursor, search
//! matches and the first report / panic lines marked.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Widget};

use crashview_analysis::Report;

use super::fit;
use crate::tui::state::log::{LogState, LEVELS};
use crate::tui::theme::Theme;

/// The kernel log.
pub struct LogView<'a> {
    /// The report whose log is shown.
    pub report: &'a Report,
    /// Filter, cursor, search.
    pub state: &'a LogState,
    /// Styles.
    pub theme: Theme,
}

/// Splits `text` into spans, styling the matches of `query` (smart case,
/// as [`matches`](crate::tui::state::log::matches)).
fn highlight(text: String, query: Option<&str>, base: Style, hit: Style) -> Vec<Span<'static>> {
    let Some(q) = query.filter(|q| !q.is_empty()) else {
        return vec![Span::styled(text, base)];
    };
    let (hay, needle) = if q.chars().any(char::is_uppercase) {
        (text.clone(), q.to_string())
    } else {
        // Lower-casing ASCII keeps byte offsets; other text is matched
        // as is (the state's search still finds it, just unhighlighted).
        (text.to_ascii_lowercase(), q.to_ascii_lowercase())
    };
    let mut spans = Vec::new();
    let mut at = 0;
    while let Some(off) = hay.get(at..).and_then(|h| h.find(&needle)) {
        let s = at + off;
        let e = s + needle.len();
        let (Some(before), Some(m)) = (text.get(at..s), text.get(s..e)) else {
            break;
        };
        spans.push(Span::styled(before.to_string(), base));
        spans.push(Span::styled(m.to_string(), hit));
        at = e;
    }
    spans.push(Span::styled(text.get(at..).unwrap_or("").to_string(), base));
    spans
}

impl Widget for &LogView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let th = self.theme;
        let st = self.state;
        let lines = &self.report.log.lines;
        let level = st
            .max_level
            .and_then(|l| LEVELS.get(usize::from(l)))
            .map_or("all levels".to_string(), |n| format!("level ≤ {n}"));
        let pos = if st.visible.is_empty() {
            "empty".to_string()
        } else {
            format!("{}/{}", st.scroll.cursor + 1, st.visible.len())
        };
        let title = format!(
            " Log: {} │ {level} │ {pos} ",
            if self.report.log.source.is_empty() {
                "kernel log"
            } else {
                &self.report.log.source
            }
        );
        let block = Block::new()
            .borders(Borders::ALL)
            .title(fit(&title, usize::from(area.width.saturating_sub(2))));
        let inner = block.inner(area);
        block.render(area, buf);
        if st.visible.is_empty() {
            Line::styled("no log lines (at this level)", th.dim()).render(inner, buf);
            return;
        }
        let s = &self.report.summary;
        let first = s.first_report.as_ref().map(|m| m.line);
        let panic = s.panic.as_ref().map(|m| m.line);
        let page = usize::from(inner.height);
        let top = st.scroll.visible_top(page);
        let width = usize::from(inner.width);
        for (y, (pos, &idx)) in st
            .visible
            .iter()
            .enumerate()
            .skip(top)
            .take(page)
            .enumerate()
        {
            let Some(l) = lines.get(idx) else { continue };
            let marker = if Some(idx) == first || Some(idx) == panic {
                "▶"
            } else {
                " "
            };
            let mut base = th.level(l.level);
            if marker != " " {
                base = base.add_modifier(Modifier::BOLD);
            }
            if pos == st.scroll.cursor {
                base = base.patch(th.cursor());
            }
            let text = fit(&l.console(), width.saturating_sub(1));
            let mut spans = vec![Span::styled(marker, th.bad())];
            spans.extend(highlight(text, st.query.as_deref(), base, th.matched()));
            let row = Rect {
                y: inner.y + u16::try_from(y).unwrap_or(0),
                height: 1,
                ..inner
            };
            if pos == st.scroll.cursor {
                buf.set_style(row, th.cursor());
            }
            Line::from(spans).render(row, buf);
        }
    }
}
