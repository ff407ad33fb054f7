//! The panic-phase timeline: which step of the panic path ran, when, for
//! how long, and where it stopped.
//!
//! * **Exact** ([`from_journal`]): the panic recorder journaled every step
//!   before and after it ran; the timeline is that journal, entry for entry
//!   (plan, begin/end with durations, calls, nested panics, skipped corrupt
//!   entries, the step and call it stopped in).
//! * **Inferred** ([`infer`]): a stock kernel journals nothing, but
//!   `panic()` prints markers (kernel/panic.c, 6.1): the report that led to
//!   it, `Kernel panic - not syncing`, `Kernel Offset:` (the info notifier
//!   `dump_kernel_offset`), then kmsg dump (visible as pstore dump records:
//!   the dump ran after the last line it holds), crash kexec (visible as a
//!   kdump vmcore), `Rebooting in N seconds..` or `---[ end Kernel panic`.
//!   Every inferred step says so, names its evidence, and steps are listed
//!   in the order the log shows them.

use serde::Serialize;

use crashview_journal::{self as journal, EntryKind, Outcome, Performer, StepKind, Tail};

use crate::input::{JournalZone, VmcoreData};
use crate::log::{Dump, KernelLog};
use crate::summary::panic_message;

/// How the timeline was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TimelineSource {
    /// From the panic recorder's journal: exact.
    Journal,
    /// From log markers and dump records: inferred.
    Inferred,
}

/// A list entry called during a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Call {
    /// The entry's name.
    pub name: String,
    /// Its slot in the list.
    pub slot: u64,
    /// When it was called (ns since boot).
    pub begin_ns: u64,
    /// When it returned, if it did.
    pub end_ns: Option<u64>,
}

/// One step of the panic path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// Index in the plan (journal), 0-based.
    pub index: Option<u8>,
    /// Step name (`kmsg dump`; inferred steps use the same words).
    pub name: String,
    /// Inferred from the log rather than journaled.
    pub inferred: bool,
    /// CPU (journal).
    pub cpu: Option<u16>,
    /// When it began (ns since boot): journal time, or the marker's timestamp.
    pub begin_ns: Option<u64>,
    /// When it ended (journal only).
    pub end_ns: Option<u64>,
    /// `end - begin` (journal only).
    pub duration_ns: Option<u64>,
    /// How it ended (journal), e.g. `done`, `nested panic`; `never ended`
    /// for the step the path stopped in.
    pub outcome: Option<String>,
    /// List entries called.
    pub calls: Vec<Call>,
    /// What else happened in it: dumps written, entries skipped, nested panics.
    pub notes: Vec<String>,
    /// Inferred steps: the log line or fact it was inferred from.
    pub evidence: Option<String>,
    /// Inferred steps: index of the evidence line in the kernel log.
    pub log_line: Option<usize>,
    /// `kernel` when the kernel's own `panic()` performs the step and the
    /// recorder only observes it (journal); absent when the recorder ran it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub performer: Option<String>,
}

impl Step {
    fn inferred(name: &str, ts: Option<u64>, evidence: String, line: Option<usize>) -> Step {
        Step {
            index: None,
            name: name.to_string(),
            inferred: true,
            cpu: None,
            begin_ns: ts,
            end_ns: None,
            duration_ns: None,
            outcome: None,
            calls: Vec::new(),
            notes: Vec::new(),
            evidence: Some(evidence),
            log_line: line,
            performer: None,
        }
    }
}

/// A nested panic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Nested {
    /// When (ns since boot).
    pub time_ns: u64,
    /// On which CPU.
    pub cpu: u16,
    /// The message's first bytes.
    pub message: String,
    /// The step it hit.
    pub step: Option<String>,
}

/// A corrupted list entry (or list) skipped, never called.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// When (ns since boot).
    pub time_ns: u64,
    /// The step whose list it was in.
    pub step: String,
    /// The slot, or `None` when the whole list table was corrupt.
    pub slot: Option<u64>,
}

/// Where the panic path stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stopped {
    /// The step begun and never ended.
    pub step: String,
    /// Its plan index.
    pub index: Option<u8>,
    /// The list entry called and never returned.
    pub call: Option<String>,
    /// Stopping here is expected (the crash kernel took over, the machine
    /// restarted).
    pub expected: bool,
    /// Why, when expected: `the crash kernel took over`, `the machine restarted`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_by: Option<String>,
    /// When the step began (ns since boot).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub begin_ns: Option<u64>,
    /// When the call that never returned was made (ns since boot).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_begin_ns: Option<u64>,
}

impl Stopped {
    /// `step 7 pre-reboot list`: the step as the plan numbers it (from 1).
    pub fn step_label(&self) -> String {
        format!(
            "step {} {}",
            self.index.map_or(0, |i| u32::from(i) + 1),
            self.step
        )
    }
}

/// A journal entry outside every step: a kmsg dump written before the
/// panic (an oops's) or with no panic at all (a clean shutdown's), a note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    /// When (ns since boot).
    pub time_ns: u64,
    /// On which CPU.
    pub cpu: u16,
    /// `kmsg dump` or `note`.
    pub kind: String,
    /// `kmsg dump written to dmesg zone 0: Oops#1 Part1 deflated`, or the note.
    pub text: String,
}

/// The start of the panic path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Start {
    /// ns since boot.
    pub time_ns: Option<u64>,
    /// The panicking CPU (journal).
    pub cpu: Option<u16>,
    /// The panic message (its first bytes, in a journal).
    pub message: String,
}

/// About the journal itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JournalMeta {
    /// Offset of the journal zone in the region image.
    pub offset: usize,
    /// The arming generation.
    pub generation: u32,
    /// Entry slots.
    pub capacity: u32,
    /// Complete entries.
    pub entries: u32,
    /// `clean`, `full`, or `torn entry N`.
    pub tail: String,
    /// Offset of the torn entry in the region image (a torn tail).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub torn_offset: Option<usize>,
    /// Format version (1: no parity; 2: Reed–Solomon parity per entry).
    pub version: u32,
    /// Bytes the parity corrected (header and entries).
    pub corrected_bytes: u32,
    /// Slots that could not be read: skipped, later entries still read.
    pub corrupt_slots: Vec<CorruptSlot>,
    /// The header was beyond repair and was rebuilt from the entries.
    pub header_recovered: bool,
}

/// A journal slot that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CorruptSlot {
    /// Slot index (the entry's `seq`).
    pub index: u32,
    /// Offset of the slot in the region image.
    pub offset: usize,
}

impl JournalMeta {
    /// One line on the journal's damage, when there is any: `header rebuilt
    /// from the entries; 3 bytes corrected by parity; 1 corrupt slot skipped:
    /// 5 at 0xfe1a0`.
    pub fn damage(&self) -> Option<String> {
        let mut parts = Vec::new();
        if self.header_recovered {
            parts.push("header rebuilt from the entries".to_string());
        }
        if self.corrected_bytes > 0 {
            parts.push(format!(
                "{} byte{} corrected by parity",
                self.corrected_bytes,
                if self.corrected_bytes == 1 { "" } else { "s" }
            ));
        }
        if !self.corrupt_slots.is_empty() {
            let list: Vec<String> = self
                .corrupt_slots
                .iter()
                .map(|c| format!("{} at {:#x}", c.index, c.offset))
                .collect();
            parts.push(format!(
                "{} corrupt slot{} skipped: {}",
                list.len(),
                if list.len() == 1 { "" } else { "s" },
                list.join(", ")
            ));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

/// The panic-phase timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Timeline {
    /// Exact (journal) or inferred (log).
    pub source: TimelineSource,
    /// The plan, in order (journal only).
    pub plan: Vec<String>,
    /// When the panic path started, on which CPU, and why.
    pub start: Option<Start>,
    /// The steps in the order they ran (or the log shows them).
    pub steps: Vec<Step>,
    /// Every step ran.
    pub finished: bool,
    /// Where it stopped, when it did not finish (journal only).
    pub stopped: Option<Stopped>,
    /// Nested panics.
    pub nested: Vec<Nested>,
    /// Corrupt entries skipped.
    pub skipped: Vec<Skipped>,
    /// CPUs turned away from the panic path.
    pub other_cpus: u32,
    /// Journal entries outside every step, in journal order (journal only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<Event>,
    /// The journal's header and tail (journal only).
    pub journal: Option<JournalMeta>,
}

impl Timeline {
    /// A journal that records no panic at all (no panic start, no plan, no
    /// step: a clean shutdown's kmsg dump): `no panic recorded; 1 kmsg dump
    /// journaled`. `None` for a panic, and for an inferred timeline.
    pub fn no_panic(&self) -> Option<String> {
        if self.source != TimelineSource::Journal
            || self.journal.is_none()
            || self.start.is_some()
            || !self.plan.is_empty()
            || !self.steps.is_empty()
        {
            return None;
        }
        let dumps = self.events.iter().filter(|e| e.kind == "kmsg dump").count();
        Some(format!(
            "no panic recorded; {dumps} kmsg dump{} journaled",
            if dumps == 1 { "" } else { "s" }
        ))
    }
}

fn text(e: &journal::Entry) -> String {
    String::from_utf8_lossy(e.name_bytes()).into_owned()
}

/// The journaled plan, by step index: a `PlanStep` entry lost to a corrupt
/// slot leaves a hole instead of renumbering the steps after it.
pub type Plan = Vec<Option<(StepKind, Performer)>>;

/// The plan a journal's `PlanStep` entries give (one reading for the
/// timeline and `crashview journal`).
pub fn plan_of(j: &journal::Journal<'_>) -> Plan {
    let mut plan: Plan = Vec::new();
    for e in j.entries().filter(|e| e.kind == EntryKind::PlanStep) {
        let i = usize::from(e.step);
        if plan.len() <= i {
            plan.resize(i + 1, None);
        }
        if let (Some(slot), Some(k)) = (plan.get_mut(i), e.step_kind()) {
            *slot = Some((k, e.performer()));
        }
    }
    plan
}

/// The kind of planned step `i`, when its plan entry was read.
pub fn plan_kind(plan: &Plan, i: u8) -> Option<StepKind> {
    plan.get(usize::from(i)).copied().flatten().map(|p| p.0)
}

/// The name of planned step `i` (`step N` when its plan entry was lost).
pub fn step_name(plan: &Plan, i: u8) -> String {
    plan_kind(plan, i).map_or_else(|| format!("step {i}"), |s| s.name().to_string())
}

/// A plan step as listed: its name, and whose it is when not the recorder's.
fn plan_label(kind: StepKind, performer: Performer) -> String {
    match performer {
        Performer::Kernel => format!("{} (the kernel's)", kind.name()),
        Performer::Recorder => kind.name().to_string(),
    }
}

/// The exact timeline: the journal, entry for entry.
pub fn from_journal(z: &JournalZone, diags: &mut Vec<String>) -> Timeline {
    let j = match journal::read(&z.bytes) {
        Ok(j) => j,
        Err(e) => {
            diags.push(format!(
                "offset {:#x}: panic journal unreadable: {e}",
                z.offset
            ));
            return Timeline {
                source: TimelineSource::Journal,
                plan: Vec::new(),
                start: None,
                steps: Vec::new(),
                finished: false,
                stopped: None,
                nested: Vec::new(),
                skipped: Vec::new(),
                other_cpus: 0,
                events: Vec::new(),
                journal: None,
            };
        }
    };
    of_journal(&j, z.offset, diags)
}

/// The exact timeline of a journal already read; `zone_offset` is where
/// its zone starts (for the offsets of damaged slots).
pub fn of_journal(
    j: &journal::Journal<'_>,
    zone_offset: usize,
    diags: &mut Vec<String>,
) -> Timeline {
    let plan = plan_of(j);
    let prog = j.progress();
    let mut steps: Vec<Step> = Vec::new();
    let mut nested = Vec::new();
    let mut skipped = Vec::new();
    let mut events = Vec::new();
    // The step entries belong to: the last begun and not yet ended.
    let mut open: Option<usize> = None;
    for e in j.entries() {
        match e.kind {
            EntryKind::StepBegin => {
                // The begin entry names its step too (the plan entry may be lost).
                let kind = plan_kind(&plan, e.step).or_else(|| e.step_kind());
                let performer = match (
                    plan.get(usize::from(e.step)).copied().flatten(),
                    e.performer(),
                ) {
                    (_, Performer::Kernel) | (Some((_, Performer::Kernel)), _) => {
                        Some("kernel".to_string())
                    }
                    _ => None,
                };
                steps.push(Step {
                    index: Some(e.step),
                    name: kind.map_or_else(|| format!("step {}", e.step), |k| k.name().to_string()),
                    inferred: false,
                    cpu: Some(e.cpu),
                    begin_ns: Some(e.time_ns),
                    end_ns: None,
                    duration_ns: None,
                    outcome: None,
                    calls: Vec::new(),
                    notes: Vec::new(),
                    evidence: None,
                    log_line: None,
                    performer,
                });
                open = steps.len().checked_sub(1);
            }
            EntryKind::StepEnd => {
                let at = steps
                    .iter()
                    .rposition(|s| s.index == Some(e.step) && s.end_ns.is_none());
                if let Some(s) = at.and_then(|i| steps.get_mut(i)) {
                    s.end_ns = Some(e.time_ns);
                    s.duration_ns = s.begin_ns.map(|b| e.time_ns.saturating_sub(b));
                    s.outcome = Some(e.outcome().map_or("unknown", Outcome::name).to_string());
                }
                if open == at {
                    open = None;
                }
            }
            EntryKind::CallBegin => {
                if let Some(s) = open.and_then(|i| steps.get_mut(i)) {
                    s.calls.push(Call {
                        name: text(&e),
                        slot: e.arg,
                        begin_ns: e.time_ns,
                        end_ns: None,
                    });
                }
            }
            EntryKind::CallEnd => {
                if let Some(c) = open
                    .and_then(|i| steps.get_mut(i))
                    .and_then(|s| s.calls.iter_mut().rev().find(|c| c.end_ns.is_none()))
                {
                    c.end_ns = Some(e.time_ns);
                }
            }
            EntryKind::CorruptEntry => {
                let slot = (e.arg != u64::MAX).then_some(e.arg);
                skipped.push(Skipped {
                    time_ns: e.time_ns,
                    step: step_name(&plan, e.step),
                    slot,
                });
                if let Some(s) = open.and_then(|i| steps.get_mut(i)) {
                    s.notes.push(match slot {
                        Some(n) => format!("slot {n} failed its check: skipped, not called"),
                        None => "list table corrupted: whole list skipped".into(),
                    });
                }
            }
            EntryKind::NestedPanic => {
                let step = open.and_then(|i| steps.get(i)).map(|s| s.name.clone());
                nested.push(Nested {
                    time_ns: e.time_ns,
                    cpu: e.cpu,
                    message: text(&e),
                    step,
                });
                if let Some(s) = open.and_then(|i| steps.get_mut(i)) {
                    s.notes
                        .push(format!("nested panic on CPU {}: {}", e.cpu, text(&e)));
                }
            }
            EntryKind::DumpWritten | EntryKind::Note => {
                let (kind, line) = if e.kind == EntryKind::DumpWritten {
                    (
                        "kmsg dump",
                        format!("kmsg dump written to dmesg zone {}: {}", e.arg, text(&e)),
                    )
                } else {
                    ("note", text(&e))
                };
                // In a step, a note on it; outside every step (an oops's
                // dump before the panic), an event of its own.
                match open.and_then(|i| steps.get_mut(i)) {
                    Some(s) => s.notes.push(line),
                    None => events.push(Event {
                        time_ns: e.time_ns,
                        cpu: e.cpu,
                        kind: kind.to_string(),
                        text: line,
                    }),
                }
            }
            EntryKind::OtherCpu
            | EntryKind::PanicStart
            | EntryKind::PlanStep
            | EntryKind::PanicEnd => {}
        }
    }
    let stopped = prog.open_step.map(|s| {
        if let Some(st) = steps
            .iter_mut()
            .rev()
            .find(|x| x.index == Some(s.step) && x.end_ns.is_none())
        {
            st.outcome = Some("never ended".into());
        }
        let ended_by = plan_kind(&plan, s.step)
            .or_else(|| s.step_kind())
            .and_then(StepKind::expected_end)
            .filter(|_| prog.open_call.is_none());
        Stopped {
            step: plan_kind(&plan, s.step)
                .or_else(|| s.step_kind())
                .map_or_else(|| format!("step {}", s.step), |k| k.name().to_string()),
            index: Some(s.step),
            call: prog.open_call.map(|c| text(&c)),
            expected: ended_by.is_some(),
            ended_by: ended_by.map(str::to_string),
            begin_ns: Some(s.time_ns),
            call_begin_ns: prog.open_call.map(|c| c.time_ns),
        }
    });
    let corrupt_slots: Vec<CorruptSlot> = j
        .corrupt_slots()
        .map(|c| CorruptSlot {
            index: c.index,
            offset: zone_offset.saturating_add(c.offset),
        })
        .collect();
    if j.header_recovered() {
        diags.push(format!(
            "offset {:#x}: panic journal header damaged beyond its parity: rebuilt from the entries (generation {:#x})",
            zone_offset, j.header.generation
        ));
    }
    for c in &corrupt_slots {
        diags.push(format!(
            "offset {:#x}: panic journal slot {} unreadable (damaged): skipped",
            c.offset, c.index
        ));
    }
    let (tail, torn_offset) = match j.tail {
        Tail::Clean => ("clean".to_string(), None),
        Tail::Full => ("full".to_string(), None),
        Tail::Torn { index, offset } => (
            format!("torn entry {index}"),
            zone_offset.checked_add(offset),
        ),
    };
    Timeline {
        source: TimelineSource::Journal,
        plan: plan
            .iter()
            .enumerate()
            .map(|(i, p)| match p {
                Some((k, who)) => plan_label(*k, *who),
                None => format!("step {i} (plan entry lost)"),
            })
            .collect(),
        start: prog.start.map(|s| Start {
            time_ns: Some(s.time_ns),
            cpu: Some(s.cpu),
            message: text(&s),
        }),
        steps,
        finished: prog.finished,
        stopped,
        nested,
        skipped,
        other_cpus: prog.other_cpus,
        events,
        journal: Some(JournalMeta {
            offset: zone_offset,
            generation: j.header.generation,
            capacity: j.header.capacity,
            entries: j.len(),
            tail,
            torn_offset,
            version: j.version(),
            corrected_bytes: j.corrected_bytes(),
            corrupt_slots,
            header_recovered: j.header_recovered(),
        }),
    }
}

/// Position `2 * line + k` of an inferred step: right before line `line`
/// (k = 0), on it (1), right after it (2).
fn at_line(line: usize, k: usize) -> usize {
    line.saturating_mul(2).saturating_add(k)
}

/// The inferred timeline of a stock kernel, from its log markers.
pub fn infer(log: &KernelLog, dumps: &[Dump], vmcore: Option<&VmcoreData>) -> Timeline {
    // (position, step): 2*line+1 for a marker on a line, 2*line+2 for
    // something that happened right after that line, 2*line right before it.
    let mut found: Vec<(usize, Step)> = Vec::new();
    let mut seen_report = false;
    let mut panics = 0usize;
    for (i, l) in log.lines.iter().enumerate() {
        let t = l.text.trim_start();
        let ev = || t.to_string();
        let step = if !seen_report && is_report(t) {
            seen_report = true;
            Some(Step::inferred("oops", l.ts_ns, ev(), Some(i)))
        } else if panic_message(t).is_some() {
            panics = panics.saturating_add(1);
            let name = if panics == 1 { "panic" } else { "nested panic" };
            Some(Step::inferred(name, l.ts_ns, ev(), Some(i)))
        } else if t.starts_with("Kernel Offset:") {
            Some(Step::inferred("info list", l.ts_ns, ev(), Some(i)))
        } else if t.starts_with("Starting crashdump kernel") {
            Some(Step::inferred("crash dump", l.ts_ns, ev(), Some(i)))
        } else if t.starts_with("Rebooting in ") {
            Some(Step::inferred("reboot", l.ts_ns, ev(), Some(i)))
        } else if t.starts_with("---[ end Kernel panic") {
            Some(Step::inferred("end of panic", l.ts_ns, ev(), Some(i)))
        } else {
            None
        };
        if let Some(s) = step {
            found.push((at_line(i, 1), s));
        }
    }
    // kmsg dumps ran right after the last line they hold.
    for d in dumps {
        let at = d.last_line.as_ref().and_then(|last| {
            log.lines
                .iter()
                .rposition(|l| l.ts_ns == d.last_ts_ns && &l.text == last)
        });
        // A dump whose last line is not in the log (an older dump than the
        // log's window) goes where its timestamp falls.
        let pos = match at {
            Some(i) => at_line(i, 2),
            None => {
                let next = d.last_ts_ns.and_then(|t| {
                    log.lines
                        .iter()
                        .position(|l| l.ts_ns.is_some_and(|x| x > t))
                });
                next.map_or(at_line(log.lines.len(), 2), |i| at_line(i, 0))
            }
        };
        let mut s = Step::inferred(
            "kmsg dump",
            d.last_ts_ns,
            format!(
                "pstore dump {}#{} ({} part{}), after its last line",
                d.reason,
                d.count,
                d.parts.len(),
                if d.parts.len() == 1 { "" } else { "s" }
            ),
            at,
        );
        s.notes
            .push(format!("reason {}, parts {:?}", d.reason, d.parts));
        found.push((pos, s));
    }
    // A vmcore with CRASHTIME was written by the crash kernel: crash kexec ran
    // after the last line of the log.
    if let Some(v) = vmcore {
        if v.facts.crash_time.is_some() {
            let s = Step::inferred(
                "crash dump",
                log.lines.iter().rev().find_map(|l| l.ts_ns),
                "vmcore with CRASHTIME: the crash kernel wrote it".into(),
                None,
            );
            found.push((at_line(log.lines.len(), 3), s));
        }
    }
    // Stable: a dump and a marker never share a position, but two dumps may.
    found.sort_by_key(|(p, s)| (*p, s.begin_ns));
    let steps: Vec<Step> = found.into_iter().map(|(_, s)| s).collect();
    let start = log.lines.iter().find_map(|l| {
        panic_message(l.text.trim_start()).map(|m| Start {
            time_ns: l.ts_ns,
            cpu: None,
            message: m.to_string(),
        })
    });
    Timeline {
        source: TimelineSource::Inferred,
        plan: Vec::new(),
        start,
        finished: steps
            .iter()
            .any(|s| s.name == "reboot" || s.name == "end of panic" || s.name == "crash dump"),
        steps,
        stopped: None,
        nested: Vec::new(),
        skipped: Vec::new(),
        other_cpus: 0,
        events: Vec::new(),
        journal: None,
    }
}

fn is_report(t: &str) -> bool {
    t.starts_with("BUG: ")
        || t.starts_with("kernel BUG at ")
        || t.starts_with("Oops: ")
        || t.starts_with("general protection fault")
        || t.starts_with("Unable to handle kernel")
        || t.starts_with("WARNING: ")
        || t.starts_with("sysrq: Trigger a crash")
        || t.starts_with("watchdog: BUG:")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crashview_journal::{zone_len, Entry, JournalWriter, Performer, HEADER_AREA_LEN, SLOT_LEN};

    /// A version 2 journal: a kernel-performed first step, a notifier chain
    /// step, one entry repaired by parity and one beyond repair.
    fn damaged() -> JournalZone {
        let mut bytes = vec![0u8; zone_len(32)];
        let mut w = JournalWriter::arm(&mut bytes, 5).unwrap();
        let list = [
            Entry::new(EntryKind::PanicStart, 0, 0, 100).with_name(b"boom"),
            Entry::new(EntryKind::PlanStep, 0, 0, 100)
                .with_step(StepKind::StopCpus, Performer::Kernel),
            Entry::new(EntryKind::PlanStep, 1, 0, 100)
                .with_step(StepKind::NotifierChain, Performer::Recorder),
            Entry::new(EntryKind::StepBegin, 0, 0, 200)
                .with_step(StepKind::StopCpus, Performer::Kernel),
            Entry::new(EntryKind::StepEnd, 0, 0, 300).with_arg(Outcome::Delegated as u64),
            Entry::new(EntryKind::StepBegin, 1, 0, 400)
                .with_step(StepKind::NotifierChain, Performer::Recorder),
            Entry::new(EntryKind::CallBegin, 1, 0, 500).with_name(b"first"),
            Entry::new(EntryKind::CallEnd, 1, 0, 600).with_name(b"first"),
            Entry::new(EntryKind::CallBegin, 1, 0, 700).with_name(b"hung"),
        ];
        for e in &list {
            w.append(e).unwrap();
        }
        // Slot 4 (the first step's end): one flipped bit. Slot 7 (a call's
        // end): beyond repair.
        bytes[HEADER_AREA_LEN + 4 * SLOT_LEN + 30] ^= 0x08;
        let at = HEADER_AREA_LEN + 7 * SLOT_LEN;
        for b in &mut bytes[at..at + 30] {
            *b ^= 0x5a;
        }
        JournalZone {
            offset: 0x1000,
            bytes,
        }
    }

    fn zone(list: &[Entry]) -> JournalZone {
        let mut bytes = vec![0u8; zone_len(16)];
        let mut w = JournalWriter::arm(&mut bytes, 9).unwrap();
        for e in list {
            w.append(e).unwrap();
        }
        JournalZone {
            offset: 0x2000,
            bytes,
        }
    }

    /// A dump written before the panic started (an oops's) is an event, not
    /// dropped and not a note on a step; one written in a step is its note.
    #[test]
    fn dumps_outside_every_step_are_events() {
        let tl = from_journal(
            &zone(&[
                Entry::new(EntryKind::DumpWritten, 0, 1, 50)
                    .with_arg(0)
                    .with_name(b"Oops#1 Part1 deflated"),
                Entry::new(EntryKind::PanicStart, 0, 0, 100).with_name(b"boom"),
                Entry::new(EntryKind::PlanStep, 0, 0, 100)
                    .with_step(StepKind::KmsgDump, Performer::Kernel),
                Entry::new(EntryKind::StepBegin, 0, 0, 200)
                    .with_step(StepKind::KmsgDump, Performer::Kernel),
                Entry::new(EntryKind::DumpWritten, 0, 0, 250)
                    .with_arg(1)
                    .with_name(b"Panic#2 Part1 deflated"),
                Entry::new(EntryKind::StepEnd, 0, 0, 300).with_arg(Outcome::Delegated as u64),
                Entry::new(EntryKind::PanicEnd, 0, 0, 400),
            ]),
            &mut Vec::new(),
        );
        assert_eq!(
            tl.events,
            [Event {
                time_ns: 50,
                cpu: 1,
                kind: "kmsg dump".into(),
                text: "kmsg dump written to dmesg zone 0: Oops#1 Part1 deflated".into(),
            }]
        );
        assert_eq!(
            tl.steps[0].notes,
            ["kmsg dump written to dmesg zone 1: Panic#2 Part1 deflated"]
        );
        assert!(tl.finished);
        assert_eq!(tl.no_panic(), None);
        assert_eq!(crate::text::rel(50, Some(100)), "-0.000000");
        assert_eq!(
            crate::text::rel(1_234_567_000, Some(2_469_134_000)),
            "-1.234567"
        );
        assert_eq!(crate::text::rel(1_234_567_000, Some(0)), "+1.234567");
        assert_eq!(crate::text::rel(2_246_884_949, None), "2.246884");
    }

    /// A journal of kmsg dumps alone (a clean shutdown with
    /// always_kmsg_dump) records no panic; a panic that stopped is not that.
    #[test]
    fn a_journal_without_a_panic_says_so() {
        let shutdown = Entry::new(EntryKind::DumpWritten, 0, 0, 2_246_884_949)
            .with_name(b"Shutdown#1 Part1 deflated");
        let tl = from_journal(&zone(&[shutdown]), &mut Vec::new());
        assert!(tl.steps.is_empty() && tl.plan.is_empty() && tl.start.is_none());
        assert!(!tl.finished && tl.stopped.is_none());
        assert_eq!(tl.events.len(), 1);
        assert_eq!(
            tl.no_panic().as_deref(),
            Some("no panic recorded; 1 kmsg dump journaled")
        );
        let two = from_journal(&zone(&[shutdown, shutdown.with_arg(1)]), &mut Vec::new());
        assert_eq!(
            two.no_panic().as_deref(),
            Some("no panic recorded; 2 kmsg dumps journaled")
        );
        let stopped = from_journal(&damaged(), &mut Vec::new());
        assert_eq!(stopped.no_panic(), None);
        let inferred = Timeline {
            source: TimelineSource::Inferred,
            journal: None,
            ..tl
        };
        assert_eq!(inferred.no_panic(), None);
    }

    #[test]
    fn damage_and_performers_are_reported() {
        let mut diags = Vec::new();
        let tl = from_journal(&damaged(), &mut diags);
        let j = tl.journal.as_ref().unwrap();
        assert_eq!(j.version, 2);
        assert_eq!(j.corrected_bytes, 1);
        assert_eq!(
            j.corrupt_slots,
            [CorruptSlot {
                index: 7,
                offset: 0x1000 + HEADER_AREA_LEN + 7 * SLOT_LEN
            }]
        );
        assert!(!j.header_recovered);
        assert_eq!(j.tail, "clean");
        assert_eq!(
            j.damage().unwrap(),
            "1 byte corrected by parity; 1 corrupt slot skipped: 7 at 0x1280"
        );
        assert!(
            diags.iter().any(|d| d.contains("slot 7 unreadable")),
            "{diags:?}"
        );
        assert_eq!(
            tl.plan,
            ["stop other CPUs (the kernel's)", "panic notifier chain"]
        );
        assert_eq!(tl.steps[0].performer.as_deref(), Some("kernel"));
        assert_eq!(
            tl.steps[0].outcome.as_deref(),
            Some("left to the kernel's panic()")
        );
        assert_eq!(tl.steps[1].name, "panic notifier chain");
        assert_eq!(tl.steps[1].performer, None);
        let st = tl.stopped.unwrap();
        assert_eq!(st.step, "panic notifier chain");
        assert_eq!(st.call.as_deref(), Some("hung"));
    }
}
