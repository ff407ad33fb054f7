//! The recorder's journal entry by entry, as `crashview journal` lists it:
//! each entry with its step named from the plan and a one-line meaning.
//! Durations, the verdict and the damage come from the one
//! [`Timeline`](crate::Timeline) built from the same journal.

use serde::Serialize;

use crashview_journal::{self as journal, EntryKind, Outcome, Performer};

use crate::input::JournalZone;
use crate::timeline::{self, plan_kind, plan_of, step_name, Plan, Timeline};

/// One journal entry, decoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListedEntry {
    /// Slot sequence number.
    pub seq: u32,
    /// Entry kind (`StepBegin`, `CallBegin`, ...).
    pub kind: String,
    /// Plan index of its step.
    pub step: u8,
    /// The step's name, for entries that belong to a step.
    pub step_name: Option<String>,
    /// The CPU that wrote it.
    pub cpu: u16,
    /// ns since boot.
    pub time_ns: u64,
    /// The kind's argument (slot, zone, count).
    pub arg: u64,
    /// How a step ended (`StepEnd`).
    pub outcome: Option<&'static str>,
    /// Plan and step-begin entries: `recorder`, or `kernel` when the
    /// kernel's own panic() performs the step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub performer: Option<&'static str>,
    /// The name or message the entry carries.
    pub name: String,
    /// What the entry means, as a line of the listing (`None` for the panic
    /// start and plan entries, which the listing shows apart).
    #[serde(skip)]
    pub line: Option<String>,
}

/// A journal read for listing.
#[derive(Debug, Clone)]
pub struct Listing {
    /// The timeline of the same journal (durations, verdict, damage).
    pub timeline: Timeline,
    /// Every complete entry, in journal order.
    pub entries: Vec<ListedEntry>,
}

fn performer_name(p: Performer) -> &'static str {
    match p {
        Performer::Recorder => "recorder",
        Performer::Kernel => "kernel",
    }
}

/// ` (the kernel's)` after a step the kernel's own panic() performs.
fn whose(plan: &Plan, e: &journal::Entry) -> &'static str {
    let planned = plan
        .get(usize::from(e.step))
        .copied()
        .flatten()
        .map(|p| p.1);
    let begun = (e.kind == EntryKind::StepBegin).then(|| e.performer());
    if planned == Some(Performer::Kernel) || begun == Some(Performer::Kernel) {
        " (the kernel's)"
    } else {
        ""
    }
}

fn ms(ns: u64) -> String {
    format!(" in {}.{:03} ms", ns / 1_000_000, ns % 1_000_000 / 1000)
}

/// Lists the journal in `z`; `Err` names the offset and why it is unreadable.
pub fn list(z: &JournalZone) -> Result<Listing, String> {
    let j = journal::read(&z.bytes)
        .map_err(|e| format!("offset {:#x}: panic journal: {e}", z.offset))?;
    // The damage the timeline's diagnostics describe is in the listing's
    // header (`Timeline::journal`): they are not needed here.
    let mut diags = Vec::new();
    let tl = timeline::of_journal(&j, z.offset, &mut diags);
    let plan = plan_of(&j);
    let text = |e: &journal::Entry| String::from_utf8_lossy(e.name_bytes()).into_owned();
    // The timeline's steps in begin order, matched to the StepEnd entries.
    let mut steps = tl.steps.iter();
    let mut current: Option<&timeline::Step> = None;
    let mut entries = Vec::new();
    for e in j.entries() {
        let line = match e.kind {
            EntryKind::StepBegin => {
                current = steps.next();
                let name = plan_kind(&plan, e.step)
                    .or_else(|| e.step_kind())
                    .map_or_else(|| format!("step {}", e.step), |k| k.name().to_string());
                Some(format!(
                    "step {:2} {name}{} begins",
                    u32::from(e.step) + 1,
                    whose(&plan, &e)
                ))
            }
            EntryKind::StepEnd => {
                let took = current
                    .filter(|s| s.index == Some(e.step) && s.end_ns == Some(e.time_ns))
                    .and_then(|s| s.duration_ns);
                Some(format!(
                    "step {:2} {} {}{}",
                    u32::from(e.step) + 1,
                    step_name(&plan, e.step),
                    e.outcome().map_or("ended", Outcome::name),
                    took.map(ms).unwrap_or_default()
                ))
            }
            EntryKind::CallBegin => Some(format!("          calls {} (slot {})", text(&e), e.arg)),
            EntryKind::CallEnd => Some(format!("          {} returned", text(&e))),
            EntryKind::CorruptEntry if e.arg == u64::MAX => {
                Some("          list table corrupted: whole list skipped".to_string())
            }
            EntryKind::CorruptEntry => Some(format!(
                "          slot {} failed its check: skipped, not called",
                e.arg
            )),
            EntryKind::NestedPanic => Some(format!("NESTED PANIC on CPU {}: {}", e.cpu, text(&e))),
            EntryKind::OtherCpu => Some(format!(
                "{} other CPU(s) entered panic and were turned away",
                e.arg
            )),
            EntryKind::DumpWritten => Some(format!(
                "          kmsg dump written to dmesg zone {}: {}",
                e.arg,
                text(&e)
            )),
            EntryKind::PanicEnd => Some("all steps done".to_string()),
            EntryKind::Note => Some(format!("note: {}", text(&e))),
            EntryKind::PanicStart | EntryKind::PlanStep => None,
        };
        entries.push(ListedEntry {
            seq: e.seq,
            kind: format!("{:?}", e.kind),
            step: e.step,
            step_name: matches!(
                e.kind,
                EntryKind::StepBegin
                    | EntryKind::StepEnd
                    | EntryKind::CallBegin
                    | EntryKind::CallEnd
                    | EntryKind::CorruptEntry
            )
            .then(|| step_name(&plan, e.step)),
            cpu: e.cpu,
            time_ns: e.time_ns,
            arg: e.arg,
            outcome: (e.kind == EntryKind::StepEnd)
                .then(|| e.outcome().map_or("unknown", Outcome::name)),
            performer: matches!(e.kind, EntryKind::PlanStep | EntryKind::StepBegin)
                .then(|| performer_name(e.performer())),
            name: text(&e),
            line,
        });
    }
    Ok(Listing {
        timeline: tl,
        entries,
    })
}
