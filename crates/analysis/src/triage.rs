//! Crash signatures and grouping: many dumps of the same bug read as one
//! line with a count.
//!
//! A signature is the reason (the first report's title, else the panic
//! message) and the top [`TOP_FRAMES`] reliable frames of the first trace,
//! with everything that varies between occurrences of one bug removed:
//! frame offsets and sizes, addresses, and numbers in the reason
//! (`address: 0000000000000008` and `[#1]` become `address: _`, `[#_]`).

use serde::Serialize;

use crate::summary::{PanicSummary, TraceInfo};
use crate::Report;

/// Frames kept in a signature.
pub const TOP_FRAMES: usize = 5;

/// A crash signature.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Signature {
    /// 16 hex digits: FNV-1a of reason and frames (stable across runs).
    pub id: String,
    /// The normalized reason.
    pub reason: String,
    /// `function [module]` of the top frames, innermost first.
    pub frames: Vec<String>,
}

/// Functions of the reporting machinery itself (panic, WARN, BUG, stack
/// dumping, exception entry): the same in every crash, so not part of a
/// signature.
const MACHINERY: &[&str] = &[
    "dump_stack_lvl",
    "dump_stack",
    "panic",
    "vpanic",
    "__warn",
    "warn_slowpath_fmt",
    "report_bug",
    "handle_bug",
    "exc_invalid_op",
    "asm_exc_invalid_op",
    "die",
    "oops_end",
    "__die",
];

/// Replaces numbers (decimal, hex, `0x…`) with `_`, keeping words.
pub fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for tok in s.split_inclusive(|c: char| !c.is_ascii_alphanumeric()) {
        let (word, sep) = match tok.char_indices().last() {
            Some((i, c)) if !c.is_ascii_alphanumeric() => (tok.get(..i).unwrap_or(""), &tok[i..]),
            _ => (tok, ""),
        };
        let w = word.strip_prefix("0x").unwrap_or(word);
        let numeric = !w.is_empty()
            && (w.bytes().all(|b| b.is_ascii_digit())
                || (w.len() >= 8 && w.bytes().all(|b| b.is_ascii_hexdigit()))
                || (word.starts_with("0x") && w.bytes().all(|b| b.is_ascii_hexdigit())));
        out.push_str(if numeric { "_" } else { word });
        out.push_str(sep);
    }
    // `func+_/_` (a symbol with offset/size) is the function alone.
    out.replace("+_/_", "").replace("+_", "").trim().to_string()
}

fn fnv1a(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// The signature of a report's summary and traces.
pub fn signature(s: &PanicSummary, traces: &[TraceInfo]) -> Signature {
    let reason = s
        .first_report
        .as_ref()
        .map(|r| r.text.as_str())
        .or(s.panic.as_ref().map(|p| p.text.as_str()))
        .map(normalize)
        .unwrap_or_else(|| "no crash found".into());
    // The first report's trace: the first trace at or after its line.
    let first = s.first_report.as_ref().map_or(0, |r| r.line);
    let trace = traces
        .iter()
        .find(|t| t.lines.1 >= first)
        .or(traces.first());
    let frames: Vec<String> = trace
        .map(|t| {
            t.frames
                .iter()
                .filter(|f| f.reliable && !f.user)
                .filter_map(|f| {
                    let func = f.function.as_deref()?;
                    if MACHINERY.contains(&func) {
                        return None;
                    }
                    Some(match &f.module {
                        Some(m) => format!("{func} [{m}]"),
                        None => func.to_string(),
                    })
                })
                .take(TOP_FRAMES)
                .collect()
        })
        .unwrap_or_default();
    let mut parts: Vec<&str> = vec![reason.as_str()];
    parts.extend(frames.iter().map(String::as_str));
    Signature {
        id: format!("{:016x}", fnv1a(&parts)),
        reason,
        frames,
    }
}

/// One group of dumps with the same signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    /// The shared signature.
    pub signature: Signature,
    /// Number of dumps.
    pub count: usize,
    /// Earliest crash time (seconds since the epoch), when known.
    pub first_seen: Option<i64>,
    /// Latest crash time.
    pub last_seen: Option<i64>,
    /// The panic message of the first dump in the group.
    pub panic: Option<String>,
    /// The inputs, in the order given.
    pub inputs: Vec<String>,
}

/// Groups reports by signature: most frequent first, then earliest first.
pub fn group(reports: &[Report]) -> Vec<Group> {
    let mut g = Grouper::default();
    for r in reports {
        g.add(r);
    }
    g.finish()
}

/// Groups reports one at a time, so a fleet's pile is read with one
/// report in memory at a time: what is kept is per group, not per report
/// (but for the inputs' names).
#[derive(Debug, Default)]
pub struct Grouper {
    groups: Vec<Group>,
    by_id: std::collections::HashMap<String, usize>,
}

impl Grouper {
    /// Adds one report to its group.
    pub fn add(&mut self, r: &Report) {
        let t = r.crash_time();
        let i = match self.by_id.get(&r.signature.id) {
            Some(&i) => i,
            None => {
                self.groups.push(Group {
                    signature: r.signature.clone(),
                    count: 0,
                    first_seen: None,
                    last_seen: None,
                    panic: r.summary.panic.as_ref().map(|p| p.text.clone()),
                    inputs: Vec::new(),
                });
                let i = self.groups.len().saturating_sub(1);
                self.by_id.insert(r.signature.id.clone(), i);
                i
            }
        };
        if let Some(g) = self.groups.get_mut(i) {
            g.count = g.count.saturating_add(1);
            g.first_seen = match (g.first_seen, t) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            g.last_seen = g.last_seen.max(t);
            g.inputs.push(r.input.clone());
        }
    }

    /// The groups: most frequent first, then earliest first.
    pub fn finish(mut self) -> Vec<Group> {
        self.groups.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then(a.first_seen.cmp(&b.first_seen))
                .then(a.signature.id.cmp(&b.signature.id))
        });
        self.groups
    }
}

/// The JSON schema name and version of a [`Row`].
pub const ROW_SCHEMA: &str = "crashview.triage.row/1";

/// One dump as one flat JSON object (`triage --jsonl`): what a query engine
/// (DuckDB, Spark, BigQuery) groups and filters a fleet's dumps by. An
/// input that could not be read is a row with `error` set and no signature.
#[derive(Debug, Clone, Serialize)]
pub struct Row<'a> {
    /// [`ROW_SCHEMA`].
    pub schema: &'static str,
    /// The input as named.
    pub input: &'a str,
    /// What it was read as (`vmcore`, `pstore-dir`, ...), `null` when unreadable.
    pub kind: Option<&'static str>,
    /// [`Signature::id`]: the group key.
    pub signature: Option<&'a str>,
    /// The normalized reason.
    pub reason: Option<&'a str>,
    /// The signature's top frames, innermost first.
    pub frames: Option<&'a [String]>,
    /// The panic message.
    pub panic: Option<&'a str>,
    /// Crash time, seconds since the epoch.
    pub crash_time: Option<i64>,
    /// Kernel release, when the input says.
    pub release: Option<&'a str>,
    /// Where the journaled panic path stopped (`step 8 pre-reboot list`).
    pub stopped_in: Option<String>,
    /// Problems met while reading.
    pub diagnostics: usize,
    /// Why the input could not be read.
    pub error: Option<&'a str>,
}

impl<'a> Row<'a> {
    /// The row of a report.
    pub fn of(r: &'a Report) -> Row<'a> {
        Row {
            schema: ROW_SCHEMA,
            input: &r.input,
            kind: Some(r.kind.name()),
            signature: Some(&r.signature.id),
            reason: Some(&r.signature.reason),
            frames: Some(&r.signature.frames),
            panic: r.summary.panic.as_ref().map(|p| p.text.as_str()),
            crash_time: r.crash_time(),
            release: r
                .vmcore
                .as_ref()
                .and_then(|v| v.release.as_deref())
                .or(r.summary.release.as_deref()),
            stopped_in: r.timeline.stopped.as_ref().map(|s| s.step_label()),
            diagnostics: r.diagnostics.len(),
            error: None,
        }
    }

    /// The row of an input that could not be read.
    pub fn unreadable(input: &'a str, error: &'a str) -> Row<'a> {
        Row {
            schema: ROW_SCHEMA,
            input,
            kind: None,
            signature: None,
            reason: None,
            frames: None,
            panic: None,
            crash_time: None,
            release: None,
            stopped_in: None,
            diagnostics: 0,
            error: Some(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_numbers() {
        assert_eq!(
            normalize("BUG: kernel NULL pointer dereference, address: 0000000000000008"),
            "BUG: kernel NULL pointer dereference, address: _"
        );
        assert_eq!(
            normalize("Oops: 0000 [#1] PREEMPT SMP NOPTI"),
            "Oops: _ [#_] PREEMPT SMP NOPTI"
        );
        assert_eq!(normalize("at 0xffffffffc0380000 x86"), "at _ x86");
        assert_eq!(
            normalize("WARNING: CPU: 0 PID: 99 at crashmod.c:49 crashmod_warn_target+0x18/0x1f [crashmod]"),
            "WARNING: CPU: _ PID: _ at crashmod.c:_ crashmod_warn_target [crashmod]"
        );
    }
}
