//! Rows of the trace and timeline panes, computed from the report. Both the
//! key handlers (how many rows, where Enter jumps) and the views (what to
//! draw) use them, so they live with the state.

use crashview_analysis::text::rel;
use crashview_analysis::{Report, TimelineSource};

/// One row of the trace pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceRow {
    /// Which trace.
    pub trace: usize,
    /// Which frame, or `None` for the trace's title row.
    pub frame: Option<usize>,
    /// Which of the frame's source lines, or `None` for the frame itself.
    pub source: Option<usize>,
}

/// Title, frame and source-line rows of every trace, in order.
pub fn trace_rows(r: &Report) -> Vec<TraceRow> {
    let mut rows = Vec::new();
    for (t, tr) in r.traces.iter().enumerate() {
        rows.push(TraceRow {
            trace: t,
            frame: None,
            source: None,
        });
        for (f, fr) in tr.frames.iter().enumerate() {
            rows.push(TraceRow {
                trace: t,
                frame: Some(f),
                source: None,
            });
            rows.extend((0..fr.source.len()).map(|k| TraceRow {
                trace: t,
                frame: Some(f),
                source: Some(k),
            }));
        }
    }
    rows
}

/// What a timeline row stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimelineKind {
    /// A step of the panic path.
    Step,
    /// A list entry a step called.
    Call,
    /// A note on a step (dump written, entry skipped).
    Note,
}

/// One row of the timeline pane: a label and, for steps and calls, a span
/// of time drawn as a bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineRow {
    /// Step, call or note.
    pub kind: TimelineKind,
    /// `7. pre-reboot list`, `hung_notifier`, or the note's text.
    pub label: String,
    /// Start (ns since boot).
    pub begin_ns: Option<u64>,
    /// End (ns since boot); `None` with `open` for what never ended.
    pub end_ns: Option<u64>,
    /// Began and never ended or returned: the bar runs to the end.
    pub open: bool,
    /// Inferred from the log, not journaled: the span is the gap to the
    /// next marker, not a measured duration.
    pub inferred: bool,
    /// `done`, `never returned`, the evidence of an inferred step, ….
    pub outcome: String,
    /// The log line Enter jumps to.
    pub log_line: Option<usize>,
}

/// The timeline's rows. Exact steps use their journaled begin/end; an
/// inferred step spans to the next marker with a later timestamp.
pub fn timeline_rows(r: &Report) -> Vec<TimelineRow> {
    let tl = &r.timeline;
    let panic_line = r.summary.panic.as_ref().map(|p| p.line);
    let mut rows = Vec::new();
    // Journal entries outside every step (an oops's kmsg dump before the
    // panic) are notes where their time falls, with that time.
    let t0 = tl.start.as_ref().and_then(|s| s.time_ns);
    let event = |e: &crashview_analysis::timeline::Event| TimelineRow {
        kind: TimelineKind::Note,
        label: format!("{} {}", rel(e.time_ns, t0), e.text),
        begin_ns: None,
        end_ns: None,
        open: false,
        inferred: false,
        outcome: String::new(),
        log_line: None,
    };
    let mut events = tl.events.iter().peekable();
    for (i, s) in tl.steps.iter().enumerate() {
        while let Some(e) = events.next_if(|e| s.begin_ns.is_some_and(|b| e.time_ns < b)) {
            rows.push(event(e));
        }
        if s.inferred {
            let next = tl
                .steps
                .iter()
                .skip(i + 1)
                .filter_map(|n| n.begin_ns)
                .find(|&b| s.begin_ns.is_some_and(|a| b > a));
            rows.push(TimelineRow {
                kind: TimelineKind::Step,
                label: s.name.clone(),
                begin_ns: s.begin_ns,
                end_ns: next,
                open: false,
                inferred: true,
                outcome: s.evidence.clone().unwrap_or_default(),
                log_line: s.log_line.or(panic_line),
            });
        } else {
            let open = s.end_ns.is_none();
            rows.push(TimelineRow {
                kind: TimelineKind::Step,
                label: format!("{}. {}", s.index.map_or(0, |i| u32::from(i) + 1), s.name),
                begin_ns: s.begin_ns,
                end_ns: s.end_ns,
                open,
                inferred: false,
                outcome: s
                    .outcome
                    .clone()
                    .unwrap_or_else(|| if open { "never ended" } else { "" }.into()),
                log_line: panic_line,
            });
            for c in &s.calls {
                rows.push(TimelineRow {
                    kind: TimelineKind::Call,
                    label: c.name.clone(),
                    begin_ns: Some(c.begin_ns),
                    end_ns: c.end_ns,
                    open: c.end_ns.is_none(),
                    inferred: false,
                    outcome: if c.end_ns.is_some() {
                        "returned".into()
                    } else {
                        "never returned".into()
                    },
                    log_line: panic_line,
                });
            }
        }
        rows.extend(s.notes.iter().map(|n| TimelineRow {
            kind: TimelineKind::Note,
            label: n.clone(),
            begin_ns: None,
            end_ns: None,
            open: false,
            inferred: s.inferred,
            outcome: String::new(),
            log_line: None,
        }));
    }
    rows.extend(events.map(event));
    rows
}

/// The span the bars are scaled to: panic start (or first step) to the
/// latest time any row mentions.
pub fn timeline_span(r: &Report, rows: &[TimelineRow]) -> Option<(u64, u64)> {
    let t0 = r
        .timeline
        .start
        .as_ref()
        .and_then(|s| s.time_ns)
        .into_iter()
        .chain(rows.iter().filter_map(|x| x.begin_ns))
        .min()?;
    let t1 = rows
        .iter()
        .flat_map(|x| [x.begin_ns, x.end_ns])
        .flatten()
        .max()
        .unwrap_or(t0)
        .max(t0);
    // What never ended runs past the last timestamp: leave it an eighth
    // of the axis so an open bar reads as "and on", not as one cell.
    let t1 = if rows.iter().any(|x| x.open) {
        t1 + (t1 - t0).max(8) / 8
    } else {
        t1
    };
    Some((t0, t1))
}

/// `exact` or `inferred`, as the header says it.
pub fn source_word(r: &Report) -> &'static str {
    match r.timeline.source {
        TimelineSource::Journal => "exact",
        TimelineSource::Inferred => "inferred",
    }
}
