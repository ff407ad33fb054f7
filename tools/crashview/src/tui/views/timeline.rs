//! The timeline pane: the panic path's steps and calls as bars on one time
//! axis, with durations; what never ended runs to the end in red.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Widget};

use crashview_analysis::text::ts;
use crashview_analysis::{Report, TimelineSource};

use super::fit;
use crate::tui::state::rows::{source_word, timeline_rows, timeline_span, TimelineKind};
use crate::tui::state::scroll::Scroll;
use crate::tui::theme::Theme;
use crate::tui::widgets::bar;

/// The panic-phase timeline.
pub struct TimelineView<'a> {
    /// The report.
    pub report: &'a Report,
    /// Cursor over rows.
    pub scroll: &'a Scroll,
    /// Styles.
    pub theme: Theme,
}

const LABEL_W: usize = 22;
const DUR_W: usize = 10;

impl TimelineView<'_> {
    fn header(&self) -> Vec<Line<'static>> {
        let th = self.theme;
        let tl = &self.report.timeline;
        let mut v = Vec::new();
        let src = match (tl.source, &tl.journal) {
            (TimelineSource::Journal, Some(j)) => format!(
                "exact, from the panic journal at {:#x} ({} of {} entries, {})",
                j.offset, j.entries, j.capacity, j.tail
            ),
            (TimelineSource::Journal, None) => "panic journal unreadable".into(),
            (TimelineSource::Inferred, _) => {
                "inferred from the log (no panic journal): bars span the gap to the next marker"
                    .into()
            }
        };
        v.push(Line::styled(src, th.heading()));
        if let Some(st) = &tl.start {
            v.push(Line::raw(format!(
                "panic {}{}: {}",
                ts(st.time_ns),
                st.cpu.map(|c| format!(" on CPU {c}")).unwrap_or_default(),
                st.message
            )));
        }
        v
    }

    fn result(&self) -> Option<Line<'static>> {
        let th = self.theme;
        let tl = &self.report.timeline;
        if tl.source != TimelineSource::Journal {
            return None;
        }
        Some(if let Some(none) = tl.no_panic() {
            Line::styled(format!("result: {none}"), th.warn())
        } else if tl.finished {
            Line::styled("result: the panic path ran every step", th.good())
        } else if let Some(st) = &tl.stopped {
            let step = st.step_label();
            if let Some(why) = st.ended_by.as_deref().filter(|_| st.expected) {
                Line::styled(
                    format!("result: stopped in {step}: {why} (expected)"),
                    th.good(),
                )
            } else if let Some(c) = &st.call {
                Line::styled(
                    format!("result: STOPPED in {step}: \"{c}\" never returned"),
                    th.bad(),
                )
            } else {
                Line::styled(format!("result: STOPPED in {step} (never ended)"), th.bad())
            }
        } else {
            Line::styled("result: stopped between steps", th.warn())
        })
    }
}

impl Widget for &TimelineView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let th = self.theme;
        let r = self.report;
        let block = Block::new()
            .borders(Borders::ALL)
            .title(format!(" Timeline ({}) ", source_word(r)));
        let inner = block.inner(area);
        block.render(area, buf);
        let rows = timeline_rows(r);
        if rows.is_empty() {
            Line::styled("no panic markers in the log", th.dim()).render(inner, buf);
            return;
        }
        let width = usize::from(inner.width);
        let mut y = inner.y;
        let bottom = inner.y + inner.height;
        for l in self.header() {
            if y >= bottom {
                return;
            }
            let l = Line::from(
                l.spans
                    .into_iter()
                    .map(|s| Span::styled(fit(&s.content, width), s.style))
                    .collect::<Vec<_>>(),
            );
            l.render(
                Rect {
                    y,
                    height: 1,
                    ..inner
                },
                buf,
            );
            y += 1;
        }
        let result = self.result();
        let rows_bottom = bottom.saturating_sub(u16::from(result.is_some()));
        let page = usize::from(rows_bottom.saturating_sub(y)).max(1);
        let rest = width.saturating_sub(LABEL_W + DUR_W + 3);
        let out_w = (rest / 3).max(14).min(rest);
        let bar_w = u16::try_from(rest - out_w).unwrap_or(0);
        let span = timeline_span(r, &rows);
        let top = self.scroll.visible_top(page);
        for (i, row) in rows.iter().enumerate().skip(top).take(page) {
            if y >= rows_bottom {
                break;
            }
            let rect = Rect {
                y,
                height: 1,
                ..inner
            };
            y += 1;
            let selected = i == self.scroll.cursor;
            if row.kind == TimelineKind::Note {
                Line::styled(fit(&format!("      {}", row.label), width), th.dim())
                    .render(rect, buf);
                if selected {
                    buf.set_style(rect, th.cursor());
                }
                continue;
            }
            let label = match row.kind {
                TimelineKind::Call => format!("  ↳ {}", row.label),
                _ => row.label.clone(),
            };
            let label_style = if row.kind == TimelineKind::Step {
                Style::new().patch(th.heading())
            } else {
                Style::new()
            };
            buf.set_string(
                rect.x,
                rect.y,
                format!("{:<LABEL_W$}", fit(&label, LABEL_W)),
                label_style,
            );
            // The bar.
            let bx = rect.x + u16::try_from(LABEL_W + 1).unwrap_or(0);
            for c in 0..bar_w {
                buf.set_string(bx + c, rect.y, "·", th.dim());
            }
            if let (Some((t0, t1)), Some(b)) = (span, row.begin_ns) {
                let end = if row.open {
                    t1
                } else {
                    row.end_ns.unwrap_or(b)
                };
                let (a, z) = bar::cells(t0, t1, b, end, bar_w);
                let (glyph, fill_to) = if row.open { ("▓", bar_w) } else { ("█", z) };
                for c in a..fill_to {
                    buf.set_string(bx + c, rect.y, glyph, th.bar(row.inferred, row.open));
                }
            }
            // Duration and outcome.
            let dur = match (row.begin_ns, row.end_ns, row.open) {
                (_, _, true) => "?".to_string(),
                (Some(b), Some(e), _) if row.inferred => {
                    format!("~{}", bar::duration(e - b.min(e)))
                }
                (Some(b), Some(e), _) => bar::duration(e.saturating_sub(b)),
                _ => String::new(),
            };
            let dx = bx + bar_w + 1;
            buf.set_string(dx, rect.y, format!("{dur:>DUR_W$}"), Style::new());
            let outcome = if row.inferred {
                format!("inferred: {}", row.outcome)
            } else {
                row.outcome.clone()
            };
            let out_style = if row.open {
                th.bad()
            } else if row.inferred {
                th.dim()
            } else {
                Style::new()
            };
            let ox = dx + u16::try_from(DUR_W + 1).unwrap_or(0);
            let avail = usize::from((rect.x + rect.width).saturating_sub(ox));
            buf.set_string(ox, rect.y, fit(&outcome, avail), out_style);
            if selected {
                buf.set_style(rect, th.cursor());
            }
        }
        if let Some(res) = result {
            let l = Line::from(
                res.spans
                    .into_iter()
                    .map(|s| Span::styled(fit(&s.content, width), s.style))
                    .collect::<Vec<_>>(),
            );
            l.render(
                Rect {
                    y: bottom.saturating_sub(1),
                    height: 1,
                    ..inner
                },
                buf,
            );
        }
    }
}
