//! Drawing: `impl Widget for &View` over a shared borrow of the state. No
//! I/O and no mutation here; a view that needs a scroll correction
//! computes it locally ([`Scroll::visible_top`](super::state::scroll::Scroll::visible_top)).

pub mod log;
pub mod summary;
pub mod timeline;
pub mod traces;

use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget, Wrap};

use super::popups::help::Help;
use super::state::{App, Load, Pane};
use super::theme::Theme;

/// The whole screen: tabs, the active pane, the status line, popups.
pub struct Root<'a> {
    /// The state drawn.
    pub app: &'a App,
    /// Styles.
    pub theme: Theme,
}

const SPINNER: [char; 4] = ['|', '/', '-', '\\'];

/// Cuts `s` to at most `width` characters, marking the cut with `…`.
pub fn fit(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        s.to_string()
    } else if width == 0 {
        String::new()
    } else {
        let mut t: String = s.chars().take(width - 1).collect();
        t.push('…');
        t
    }
}

/// Cuts `s` to at most `width` characters from the left, keeping the
/// end (a path's file name matters more than its first directories).
pub fn fit_left(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n <= width {
        s.to_string()
    } else if width == 0 {
        String::new()
    } else {
        let mut t = String::from("…");
        t.extend(s.chars().skip(n + 1 - width));
        t
    }
}

impl Widget for &Root<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let th = self.theme;
        let app = self.app;
        let [tabs, body, status] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(1),
            Constraint::Length(1),
        ])
        .areas(area);

        // Tab bar: `crashview │ 1 Summary  2 Log  3 Traces  4 Timeline`.
        let mut spans = vec![Span::styled(" crashview ", th.heading()), Span::raw("│")];
        for (i, p) in Pane::ALL.iter().enumerate() {
            let label = format!(" {} {} ", i + 1, p.title());
            spans.push(if *p == app.pane {
                Span::styled(label, th.cursor())
            } else {
                Span::raw(label)
            });
        }
        Line::from(spans).render(tabs, buf);

        match &app.load {
            Load::Loading { ticks, phase } => {
                let spin = SPINNER
                    .get(usize::try_from(*ticks % 4).unwrap_or(0))
                    .copied()
                    .unwrap_or('|');
                let text = vec![
                    Line::raw(""),
                    Line::styled(format!("{spin} loading {} …", app.input), th.heading()),
                    Line::raw(phase.as_str()),
                    Line::styled(
                        format!(
                            "{:.1} s (q quits)",
                            *ticks as f64 * super::TICK.as_secs_f64()
                        ),
                        th.dim(),
                    ),
                ];
                Paragraph::new(text)
                    .alignment(Alignment::Center)
                    .block(Block::new().borders(Borders::ALL))
                    .render(body, buf);
            }
            Load::Failed(e) => {
                Paragraph::new(vec![
                    Line::styled("cannot read the input", th.bad()),
                    Line::raw(e.as_str()),
                    Line::styled("press q to quit", th.dim()),
                ])
                .wrap(Wrap { trim: false })
                .block(Block::new().borders(Borders::ALL))
                .render(body, buf);
            }
            Load::Ready(r) => match app.pane {
                Pane::Summary => (&summary::SummaryView {
                    report: r,
                    scroll: &app.records,
                    theme: th,
                })
                    .render(body, buf),
                Pane::Log => (&log::LogView {
                    report: r,
                    state: &app.log,
                    theme: th,
                })
                    .render(body, buf),
                Pane::Traces => (&traces::TracesView {
                    report: r,
                    scroll: &app.traces,
                    symbols: &app.symbols,
                    theme: th,
                })
                    .render(body, buf),
                Pane::Timeline => (&timeline::TimelineView {
                    report: r,
                    scroll: &app.timeline,
                    theme: th,
                })
                    .render(body, buf),
            },
        }

        // Status line: the search being typed, a message, or key hints.
        let w = usize::from(status.width);
        let line = if let Some(q) = app.log.input.as_ref().filter(|_| app.pane == Pane::Log) {
            Line::from(vec![Span::styled(fit(&format!("/{q}█"), w), th.heading())])
        } else if let Some(m) = app.log.message.as_ref().filter(|_| app.pane == Pane::Log) {
            Line::styled(fit(m, w), th.warn())
        } else {
            let hint = match app.pane {
                Pane::Log => "/ search  n/N next/prev  l/L level  o oops  ? help  q quit",
                Pane::Traces | Pane::Timeline => {
                    "j/k move  Enter show in log  o oops  Tab pane  ? help  q quit"
                }
                Pane::Summary => "Tab/1-4 panes  o first oops  ? help  q quit",
            };
            Line::styled(fit(hint, w), th.dim())
        };
        line.render(status, buf);

        if app.help {
            (&Help { theme: th }).render(area, buf);
        }
    }
}
