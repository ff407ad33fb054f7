//! Grouping by crash signature ([`crate::signature`]): many dumps of the
//! same bug read as one line with a count, or stream as one row each.

use serde::Serialize;

use crate::report::Report;
pub use crate::signature::{normalize, signature, Signature, TOP_FRAMES};

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
