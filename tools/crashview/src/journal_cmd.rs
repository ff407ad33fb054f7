//! `crashview journal`: the panic path as the panic recorder journaled it —
//! the plan, every step in the order it ran with times and outcomes, and
//! where it stopped.

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context};
use crashview_analysis::timeline::{plan_kind, plan_of, step_name, Plan};
use crashview_journal::{self as journal, Entry, EntryKind, Outcome, Performer, StepKind, Tail};
use serde::Serialize;

/// The journal zone of a region image: at `at` when given, else found by its
/// header (`crashview_journal::locate`). Returns (offset, zone bytes).
pub fn locate(bytes: &[u8], at: Option<u64>) -> Option<(usize, &[u8])> {
    let off = match at {
        Some(at) => usize::try_from(at).ok()?,
        None => journal::locate(bytes)?,
    };
    bytes.get(off..).map(|z| (off, z))
}

#[derive(Serialize)]
struct JsonJournal {
    schema: &'static str,
    input: String,
    offset: usize,
    generation: u32,
    capacity: u32,
    tail: String,
    version: u32,
    corrected_bytes: u32,
    corrupt_slots: Vec<JsonSlot>,
    header_recovered: bool,
    finished: bool,
    stopped_in_step: Option<JsonStep>,
    stopped_in_call: Option<String>,
    plan: Vec<String>,
    entries: Vec<JsonEntry>,
}

#[derive(Serialize)]
struct JsonSlot {
    index: u32,
    offset: usize,
}

#[derive(Serialize)]
struct JsonStep {
    index: u8,
    step: String,
}

#[derive(Serialize)]
struct JsonEntry {
    seq: u32,
    kind: String,
    step: u8,
    step_name: Option<String>,
    cpu: u16,
    time_ns: u64,
    arg: u64,
    outcome: Option<&'static str>,
    /// Plan and step-begin entries: `recorder`, or `kernel` when the
    /// kernel's own panic() performs the step.
    #[serde(skip_serializing_if = "Option::is_none")]
    performer: Option<&'static str>,
    name: String,
}

/// ` (the kernel's)` after a step the kernel's own panic() performs.
fn whose(plan: &Plan, e: &Entry) -> &'static str {
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

fn performer_name(p: Performer) -> &'static str {
    match p {
        Performer::Recorder => "recorder",
        Performer::Kernel => "kernel",
    }
}

fn text(e: &Entry) -> String {
    String::from_utf8_lossy(e.name_bytes()).into_owned()
}

/// `crashview journal INPUT`.
pub fn run(path: &Path, offset: Option<u64>, json: bool) -> anyhow::Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let Some((off, zone)) = locate(&bytes, offset) else {
        bail!(
            "{}: no panic journal found (expected the \"CVJOURN1\" header after the ramoops zones)",
            path.display()
        );
    };
    let j = journal::read(zone)
        .with_context(|| format!("{}: offset {off:#x}: panic journal", path.display()))?;
    let plan = plan_of(&j);
    let prog = j.progress();
    let corrupt: Vec<JsonSlot> = j
        .corrupt_slots()
        .map(|c| JsonSlot {
            index: c.index,
            offset: off + c.offset,
        })
        .collect();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let tail = match j.tail {
        Tail::Clean => "clean".to_string(),
        Tail::Full => "full".to_string(),
        Tail::Torn { index, offset } => format!("torn entry {index} at offset {:#x}", off + offset),
    };
    if json {
        let doc = JsonJournal {
            schema: "crashview.journal/1",
            input: path.display().to_string(),
            offset: off,
            generation: j.header.generation,
            capacity: j.header.capacity,
            tail,
            version: j.version(),
            corrected_bytes: j.corrected_bytes(),
            corrupt_slots: corrupt,
            header_recovered: j.header_recovered(),
            finished: prog.finished,
            stopped_in_step: prog.open_step.map(|e| JsonStep {
                index: e.step,
                step: step_name(&plan, e.step),
            }),
            stopped_in_call: prog.open_call.map(|e| text(&e)),
            plan: plan
                .iter()
                .enumerate()
                .map(|(i, p)| match p {
                    Some((k, Performer::Kernel)) => format!("{} (the kernel's)", k.name()),
                    Some((k, Performer::Recorder)) => k.name().to_string(),
                    None => format!("step {i} (plan entry lost)"),
                })
                .collect(),
            entries: j
                .entries()
                .map(|e| JsonEntry {
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
                })
                .collect(),
        };
        serde_json::to_writer_pretty(&mut out, &doc)?;
        writeln!(out)?;
        return Ok(());
    }

    // Times relative to the panic's start (negative before it); since boot
    // when the journal holds no panic start.
    let t0 = prog.start.map(|e| e.time_ns);
    let rel = |t: u64| crashview_analysis::text::rel(t, t0);
    // No panic start, plan or step: a journal of kmsg dumps alone (a clean
    // shutdown's), not a panic path that stopped.
    let no_panic = prog.start.is_none()
        && !j
            .entries()
            .any(|e| matches!(e.kind, EntryKind::PlanStep | EntryKind::StepBegin));
    writeln!(
        out,
        "panic journal at offset {off:#x}: generation {:#x}, {} of {} entries, {tail}",
        j.header.generation,
        j.len(),
        j.header.capacity
    )?;
    if j.header_recovered() {
        writeln!(
            out,
            "journal damage: header beyond repair, rebuilt from the entries (generation {:#x})",
            j.header.generation
        )?;
    }
    if j.corrected_bytes() > 0 {
        writeln!(
            out,
            "journal damage: {} byte(s) corrected by the Reed-Solomon parity",
            j.corrected_bytes()
        )?;
    }
    for c in &corrupt {
        writeln!(
            out,
            "journal damage: slot {} at offset {:#x} unreadable: skipped, later entries still read",
            c.index, c.offset
        )?;
    }
    match prog.start {
        Some(s) => writeln!(
            out,
            "panic on CPU {} at {}.{:06}s since boot: {}",
            s.cpu,
            s.time_ns / 1_000_000_000,
            s.time_ns % 1_000_000_000 / 1000,
            text(&s)
        )?,
        None => writeln!(
            out,
            "no panic start journaled: times are seconds since boot"
        )?,
    }
    if plan.is_empty() {
        writeln!(out, "plan: none journaled")?;
    } else {
        writeln!(out, "plan:")?;
    }
    for (i, s) in plan.iter().enumerate() {
        match s {
            Some((k, Performer::Kernel)) => {
                writeln!(out, "  {:2}. {} (the kernel's)", i + 1, k.name())?
            }
            Some((k, Performer::Recorder)) => writeln!(out, "  {:2}. {}", i + 1, k.name())?,
            None => writeln!(out, "  {:2}. (plan entry lost)", i + 1)?,
        }
    }
    writeln!(out, "timeline:")?;
    let mut begun: Option<(u8, u64)> = None;
    for e in j.entries() {
        let line = match e.kind {
            EntryKind::StepBegin => {
                begun = Some((e.step, e.time_ns));
                let name = plan_kind(&plan, e.step)
                    .or_else(|| e.step_kind())
                    .map_or_else(|| format!("step {}", e.step), |k| k.name().to_string());
                format!("step {:2} {name}{} begins", e.step + 1, whose(&plan, &e))
            }
            EntryKind::StepEnd => {
                let took = begun
                    .filter(|b| b.0 == e.step)
                    .map(|b| e.time_ns.saturating_sub(b.1));
                format!(
                    "step {:2} {} {}{}",
                    e.step + 1,
                    step_name(&plan, e.step),
                    e.outcome().map_or("ended", Outcome::name),
                    took.map(|t| format!(" in {}.{:03} ms", t / 1_000_000, t % 1_000_000 / 1000))
                        .unwrap_or_default()
                )
            }
            EntryKind::CallBegin => format!("          calls {} (slot {})", text(&e), e.arg),
            EntryKind::CallEnd => format!("          {} returned", text(&e)),
            EntryKind::CorruptEntry if e.arg == u64::MAX => {
                "          list table corrupted: whole list skipped".to_string()
            }
            EntryKind::CorruptEntry => format!(
                "          slot {} failed its check: skipped, not called",
                e.arg
            ),
            EntryKind::NestedPanic => format!("NESTED PANIC on CPU {}: {}", e.cpu, text(&e)),
            EntryKind::OtherCpu => {
                format!("{} other CPU(s) entered panic and were turned away", e.arg)
            }
            EntryKind::DumpWritten => format!(
                "          kmsg dump written to dmesg zone {}: {}",
                e.arg,
                text(&e)
            ),
            EntryKind::PanicEnd => "all steps done".to_string(),
            EntryKind::Note => format!("note: {}", text(&e)),
            EntryKind::PanicStart | EntryKind::PlanStep => continue,
        };
        writeln!(out, "  {:>11}  {line}", rel(e.time_ns))?;
    }
    if no_panic {
        let dumps = j
            .entries()
            .filter(|e| e.kind == EntryKind::DumpWritten)
            .count();
        writeln!(
            out,
            "result: no panic recorded; {dumps} kmsg dump{} journaled",
            if dumps == 1 { "" } else { "s" }
        )?;
    } else if prog.finished {
        writeln!(out, "result: the panic path ran every step")?;
    } else if let Some(s) = prog.open_step {
        let step = step_name(&plan, s.step);
        let ended_by = s
            .step_kind_from_plan(&plan)
            .and_then(StepKind::expected_end)
            .filter(|_| prog.open_call.is_none());
        if let Some(why) = ended_by {
            writeln!(
                out,
                "result: stopped in step {} {step}: {why} (expected)",
                s.step + 1
            )?;
        } else if let Some(c) = prog.open_call {
            writeln!(
                out,
                "result: STOPPED in step {} {step}, inside \"{}\" (called at {}, never returned)",
                s.step + 1,
                text(&c),
                rel(c.time_ns)
            )?;
        } else {
            writeln!(
                out,
                "result: STOPPED in step {} {step} (begun at {}, never ended)",
                s.step + 1,
                rel(s.time_ns)
            )?;
        }
    } else {
        writeln!(out, "result: stopped between steps")?;
    }
    if let Tail::Torn { index, offset } = j.tail {
        writeln!(
            out,
            "note: entry {index} at offset {:#x} was being written when the machine stopped",
            off + offset
        )?;
    }
    Ok(())
}

trait StepOfPlan {
    fn step_kind_from_plan(&self, plan: &Plan) -> Option<StepKind>;
}

impl StepOfPlan for Entry {
    fn step_kind_from_plan(&self, plan: &Plan) -> Option<StepKind> {
        plan_kind(plan, self.step).or_else(|| self.step_kind())
    }
}
