//! The trace pane: every call trace in the log, title and frames.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Widget};

use crashview_analysis::summary::TraceSource;
use crashview_analysis::Report;

use super::fit;
use crate::tui::state::rows::trace_rows;
use crate::tui::state::scroll::Scroll;
use crate::tui::state::SymbolState;
use crate::tui::theme::Theme;

/// Call traces.
pub struct TracesView<'a> {
    /// The report.
    pub report: &'a Report,
    /// Cursor over title and frame rows.
    pub scroll: &'a Scroll,
    /// How far resolving file:line got.
    pub symbols: &'a SymbolState,
    /// Styles.
    pub theme: Theme,
}

/// A source path shortened for an 80-column row: the part from the last
/// kernel top-level directory on (`…/linux-6.1/mm/slub.c` → `mm/slub.c`),
/// else the last two components.
fn short_path(p: &str) -> &str {
    const TOP: [&str; 12] = [
        "arch/", "block/", "crypto/", "drivers/", "fs/", "include/", "init/", "ipc/", "kernel/",
        "lib/", "mm/", "net/",
    ];
    let p = p.trim_start_matches("./");
    if let Some(i) = TOP
        .iter()
        .filter_map(|t| {
            p.match_indices(t)
                .map(|(i, _)| i)
                .find(|&i| i == 0 || p.as_bytes().get(i - 1) == Some(&b'/'))
        })
        .min()
    {
        return p.get(i..).unwrap_or(p);
    }
    let mut cuts = p.rmatch_indices('/').map(|(i, _)| i);
    match (cuts.next(), cuts.next()) {
        (Some(_), Some(i)) => p.get(i + 1..).unwrap_or(p),
        _ => p,
    }
}

impl Widget for &TracesView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let th = self.theme;
        let r = self.report;
        let files = match self.symbols {
            SymbolState::Off => String::new(),
            SymbolState::Resolving => " · resolving file:line …".into(),
            SymbolState::Done { files: 0, .. } => {
                " · no debug files found (--vmlinux, --modules)".into()
            }
            SymbolState::Done { files, warnings } if !warnings.is_empty() => format!(
                " · file:line from {files} debug file(s), {} warning(s)",
                warnings.len()
            ),
            SymbolState::Done { files, .. } => format!(" · file:line from {files} debug file(s)"),
            SymbolState::Failed(e) => format!(" · {e}"),
        };
        let block = Block::new()
            .borders(Borders::ALL)
            .title(format!(" Traces ({}){files} ", r.traces.len()));
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
            let frame = row.frame.and_then(|f| t.frames.get(f));
            let source = frame.zip(row.source).and_then(|(f, k)| f.source.get(k));
            let line = match (frame, source) {
                (Some(_), Some(s)) => {
                    let at = format!(
                        "      {} {}:{}{}",
                        s.function.as_deref().unwrap_or("??"),
                        s.file.as_deref().map_or("??", short_path),
                        s.line.map_or("?".to_string(), |l| l.to_string()),
                        if s.inlined { " (inlined)" } else { "" }
                    );
                    Line::styled(fit(&at, width), th.source())
                }
                (None, _) => Line::from(vec![Span::styled(
                    fit(
                        &match t.source {
                            TraceSource::Log => format!(
                                "#{} lines {}-{}: {}",
                                row.trace + 1,
                                t.lines.0,
                                t.lines.1,
                                t.title.as_deref().unwrap_or("(untitled)")
                            ),
                            TraceSource::Dump => format!(
                                "#{} from the dump: {}",
                                row.trace + 1,
                                t.title.as_deref().unwrap_or("(untitled)")
                            ),
                        },
                        width,
                    ),
                    th.heading(),
                )]),
                (Some(f), None) => {
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
