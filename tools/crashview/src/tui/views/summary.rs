//! The summary pane: what the input is, the panic in a few lines, and the
//! pstore records it holds.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget};

use crashview_analysis::text::{ts, utc};
use crashview_analysis::Report;

use super::{fit, fit_left};
use crate::tui::state::rows::source_word;
use crate::tui::state::scroll::Scroll;
use crate::tui::theme::Theme;

/// Summary and records list.
pub struct SummaryView<'a> {
    /// The report.
    pub report: &'a Report,
    /// The records list cursor.
    pub scroll: &'a Scroll,
    /// Styles.
    pub theme: Theme,
}

impl SummaryView<'_> {
    fn facts(&self) -> Vec<(&'static str, String)> {
        let r = self.report;
        let s = &r.summary;
        let mut v = vec![
            ("input", r.input.clone()),
            ("kind", r.kind.name().to_string()),
        ];
        if let Some(vm) = &r.vmcore {
            v.push((
                "vmcore",
                format!(
                    "{}, {} CPU notes{}",
                    vm.format,
                    vm.cpus,
                    vm.release
                        .as_deref()
                        .map(|x| format!(", {x}"))
                        .unwrap_or_default()
                ),
            ));
        }
        if let Some(t) = r.crash_time() {
            v.push(("time", utc(t)));
        }
        v.push((
            "log",
            format!("{} lines from {}", r.log.lines.len(), r.log.source),
        ));
        v.push((
            "first",
            s.first_report
                .as_ref()
                .map_or("no Oops/BUG/WARN".into(), |m| {
                    format!("{} {}", ts(m.ts_ns), m.text)
                }),
        ));
        v.push((
            "panic",
            s.panic.as_ref().map_or("no panic in the log".into(), |m| {
                format!("{} {}", ts(m.ts_ns), m.text)
            }),
        ));
        if s.cpu.is_some() || s.comm.is_some() {
            v.push((
                "task",
                format!(
                    "CPU {} PID {} ({}){}",
                    s.cpu.map_or("?".into(), |c| c.to_string()),
                    s.pid.map_or("?".into(), |c| c.to_string()),
                    s.comm.as_deref().unwrap_or("?"),
                    s.release
                        .as_deref()
                        .map(|x| format!(", {x}"))
                        .unwrap_or_default()
                ),
            ));
        }
        if let Some(t) = &s.taint {
            let names: Vec<&str> = t.flags.iter().map(|f| f.name).collect();
            v.push((
                "taint",
                if names.is_empty() {
                    "not tainted".into()
                } else {
                    format!("\"{}\" {}", t.raw, names.join(" "))
                },
            ));
        }
        v.push((
            "signature",
            format!("{} {}", r.signature.id, r.signature.reason),
        ));
        let tl = &r.timeline;
        let stop = match &tl.stopped {
            Some(st) if st.expected => format!(", stopped in {} (expected)", st.step),
            Some(st) => match &st.call {
                Some(c) => format!(", STOPPED in {} inside {c}", st.step),
                None => format!(", STOPPED in {}", st.step),
            },
            None if tl.finished => ", every step ran".into(),
            None => String::new(),
        };
        v.push((
            "timeline",
            format!("{} steps, {}{stop}", tl.steps.len(), source_word(r)),
        ));
        v.push((
            "traces",
            format!("{}, diagnostics: {}", r.traces.len(), r.diagnostics.len()),
        ));
        v
    }
}

impl Widget for &SummaryView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let th = self.theme;
        let r = self.report;
        let facts = self.facts();
        let want = u16::try_from(facts.len() + 2).unwrap_or(u16::MAX);
        let [top, bottom] =
            Layout::vertical([Constraint::Max(want), Constraint::Min(0)]).areas(area);
        let inner_w = usize::from(top.width.saturating_sub(2));
        let lines: Vec<Line> = facts
            .into_iter()
            .map(|(k, v)| {
                let style = match k {
                    "panic" | "first" => th.bad(),
                    "timeline" if v.contains("STOPPED") => th.bad(),
                    _ => ratatui::style::Style::new(),
                };
                Line::from(vec![
                    Span::styled(format!("{k:<10} "), th.heading()),
                    Span::styled(
                        if k == "input" {
                            fit_left(&v, inner_w.saturating_sub(11))
                        } else {
                            fit(&v, inner_w.saturating_sub(11))
                        },
                        style,
                    ),
                ])
            })
            .collect();
        Paragraph::new(lines)
            .block(Block::new().borders(Borders::ALL).title(" Summary "))
            .render(top, buf);

        if bottom.height < 3 {
            return;
        }
        let title = format!(" Records ({}) ", r.records.len());
        let block = Block::new().borders(Borders::ALL).title(title);
        let inner = block.inner(bottom);
        block.render(bottom, buf);
        if r.records.is_empty() {
            Line::styled(
                format!("no pstore records: the input is a {}", r.kind.name()),
                th.dim(),
            )
            .render(inner, buf);
            return;
        }
        let page = usize::from(inner.height);
        let top_row = self.scroll.visible_top(page);
        for (y, (i, rec)) in r
            .records
            .iter()
            .enumerate()
            .skip(top_row)
            .take(page)
            .enumerate()
        {
            let what = match (rec.reason, rec.count, rec.part) {
                (Some(re), Some(c), Some(p)) => format!("{re}#{c} Part{p}"),
                _ if rec.compressed => "still compressed".into(),
                _ => rec.type_name.clone(),
            };
            let ecc = rec
                .ecc
                .map(|(c, b)| format!(", ECC {c} fixed, {b} bad"))
                .unwrap_or_default();
            let time = rec.time.map(utc).unwrap_or_default();
            let text = format!(
                "{:<22} {:<14} {:>7} B{ecc} {time}",
                rec.name, what, rec.bytes
            );
            let style = if i == self.scroll.cursor {
                th.cursor()
            } else {
                ratatui::style::Style::new()
            };
            let row = Rect {
                y: inner.y + u16::try_from(y).unwrap_or(0),
                height: 1,
                ..inner
            };
            Line::styled(fit(&text, usize::from(inner.width)), style).render(row, buf);
        }
    }
}
