//! `crashview journal`: the panic path as the panic recorder journaled it —
//! the plan, every step in the order it ran with times and outcomes, and
//! where it stopped. Formatting only, over crashview-analysis's listing.

use std::io::Write;
use std::path::Path;

use crashview_analysis::input::{self, LoadOptions, Question};
use crashview_analysis::journal_listing::{self, ListedEntry};
use crashview_analysis::text::{rel, timeline_result};
use serde::Serialize;

#[derive(Serialize)]
struct JsonJournal<'a> {
    schema: &'static str,
    input: String,
    offset: usize,
    generation: u32,
    capacity: u32,
    tail: String,
    version: u32,
    corrected_bytes: u32,
    corrupt_slots: &'a [crashview_analysis::timeline::CorruptSlot],
    header_recovered: bool,
    finished: bool,
    stopped_in_step: Option<JsonStep>,
    stopped_in_call: Option<String>,
    plan: &'a [String],
    entries: &'a [ListedEntry],
}

#[derive(Serialize)]
struct JsonStep {
    index: u8,
    step: String,
}

/// `crashview journal INPUT`.
pub fn run(path: &Path, offset: Option<u64>, json: bool) -> anyhow::Result<()> {
    let opts = LoadOptions {
        journal_offset: offset,
        skip_kernel_state: true,
        ..LoadOptions::default()
    };
    let inp = input::load_with(path, &opts)?;
    inp.require(Question::Journal)?;
    let Some(zone) = &inp.journal else {
        anyhow::bail!("{}: no panic journal", inp.name);
    };
    let listing = journal_listing::list(zone).map_err(|e| anyhow::anyhow!("{}: {e}", inp.name))?;
    let tl = &listing.timeline;
    let Some(meta) = &tl.journal else {
        anyhow::bail!("{}: panic journal unreadable", inp.name);
    };
    let tail = match meta.torn_offset {
        Some(o) => format!("{} at offset {o:#x}", meta.tail),
        None => meta.tail.clone(),
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if json {
        let doc = JsonJournal {
            schema: "crashview.journal/1",
            input: path.display().to_string(),
            offset: meta.offset,
            generation: meta.generation,
            capacity: meta.capacity,
            tail,
            version: meta.version,
            corrected_bytes: meta.corrected_bytes,
            corrupt_slots: &meta.corrupt_slots,
            header_recovered: meta.header_recovered,
            finished: tl.finished,
            stopped_in_step: tl.stopped.as_ref().and_then(|s| {
                s.index.map(|index| JsonStep {
                    index,
                    step: s.step.clone(),
                })
            }),
            stopped_in_call: tl.stopped.as_ref().and_then(|s| s.call.clone()),
            plan: &tl.plan,
            entries: &listing.entries,
        };
        serde_json::to_writer_pretty(&mut out, &doc)?;
        writeln!(out)?;
        return Ok(());
    }

    writeln!(
        out,
        "panic journal at offset {:#x}: generation {:#x}, {} of {} entries, {tail}",
        meta.offset, meta.generation, meta.entries, meta.capacity
    )?;
    if meta.header_recovered {
        writeln!(
            out,
            "journal damage: header beyond repair, rebuilt from the entries (generation {:#x})",
            meta.generation
        )?;
    }
    if meta.corrected_bytes > 0 {
        writeln!(
            out,
            "journal damage: {} byte(s) corrected by the Reed-Solomon parity",
            meta.corrected_bytes
        )?;
    }
    for c in &meta.corrupt_slots {
        writeln!(
            out,
            "journal damage: slot {} at offset {:#x} unreadable: skipped, later entries still read",
            c.index, c.offset
        )?;
    }
    // Times relative to the panic's start (negative before it); since boot
    // when the journal holds no panic start.
    let t0 = tl.start.as_ref().and_then(|s| s.time_ns);
    match &tl.start {
        Some(s) => {
            let t = s.time_ns.unwrap_or(0);
            writeln!(
                out,
                "panic on CPU {} at {}.{:06}s since boot: {}",
                s.cpu.unwrap_or(0),
                t / 1_000_000_000,
                t % 1_000_000_000 / 1000,
                s.message
            )?
        }
        None => writeln!(
            out,
            "no panic start journaled: times are seconds since boot"
        )?,
    }
    if tl.plan.is_empty() {
        writeln!(out, "plan: none journaled")?;
    } else {
        writeln!(out, "plan:")?;
    }
    for (i, p) in tl.plan.iter().enumerate() {
        match p.strip_suffix(" (plan entry lost)") {
            Some(_) => writeln!(out, "  {:2}. (plan entry lost)", i + 1)?,
            None => writeln!(out, "  {:2}. {p}", i + 1)?,
        }
    }
    writeln!(out, "timeline:")?;
    for e in &listing.entries {
        if let Some(line) = &e.line {
            writeln!(out, "  {:>11}  {line}", rel(e.time_ns, t0))?;
        }
    }
    if let Some(result) = timeline_result(tl, true) {
        writeln!(out, "result: {result}")?;
    }
    if let Some(o) = meta.torn_offset {
        let index = meta.tail.trim_start_matches("torn entry ");
        writeln!(
            out,
            "note: entry {index} at offset {o:#x} was being written when the machine stopped"
        )?;
    }
    Ok(())
}
