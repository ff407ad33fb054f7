//! Plain-text rendering of a [`Report`] and of triage [`Group`]s, for
//! terminals and pipes. Stable enough for golden tests; JSON is the
//! machine interface.

use std::io::{self, Write};

use crate::report::Report;
use crate::summary::{FrameInfo, TraceSource};
use crate::timeline::{Step, Timeline, TimelineSource};
use crate::triage::Group;

/// Frames printed per trace in the text report.
const MAX_FRAMES: usize = 12;

/// `[    2.286633]`.
pub fn ts(t: Option<u64>) -> String {
    match t {
        Some(t) => format!("[{:5}.{:06}]", t / 1_000_000_000, t % 1_000_000_000 / 1000),
        None => "[      ?     ]".into(),
    }
}

/// `1.234 ms`.
pub fn ms(ns: u64) -> String {
    format!("{}.{:03} ms", ns / 1_000_000, ns % 1_000_000 / 1000)
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's civil_from_days).
// Clamped to ±10^12 days (far past any dump's clock), every step below
// fits in i64.
#[allow(clippy::arithmetic_side_effects)]
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let days = days.clamp(-1_000_000_000_000, 1_000_000_000_000);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `2026-11-29 03:18:11` (UTC) from Unix seconds.
pub fn utc_plain(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// `2026-11-29 03:18:11 UTC`.
pub fn utc(secs: i64) -> String {
    format!("{} UTC", utc_plain(secs))
}

/// Writes the text report.
pub fn write_report(out: &mut dyn Write, r: &Report) -> io::Result<()> {
    writeln!(out, "input:      {} ({})", r.input, r.kind.name())?;
    if let Some(c) = &r.crash_dir {
        let read = match r.kind {
            crate::InputKind::Vmcore => c.dump.as_ref(),
            _ => c.dmesg.as_ref(),
        };
        writeln!(
            out,
            "crash dir:  {} layout; read {}",
            c.layout.name(),
            read.and_then(|p| p.file_name())
                .map_or_else(|| "nothing".into(), |n| n.to_string_lossy())
        )?;
    }
    if let Some(v) = &r.vmcore {
        writeln!(out, "vmcore:     {}, {} CPU notes", v.format, v.cpus)?;
        if let Some(t) = v.crash_time {
            writeln!(out, "crash time: {} (VMCOREINFO CRASHTIME)", utc(t))?;
        }
    }
    if !r.records.is_empty() {
        writeln!(out, "records:    {}", r.records.len())?;
        for rec in &r.records {
            let what = match (rec.reason, rec.count, rec.part) {
                (Some(re), Some(c), Some(p)) => format!("{re}#{c} Part{p}"),
                _ if rec.compressed => "still compressed: unreadable".into(),
                _ => rec.type_name.clone(),
            };
            let ecc = rec
                .ecc
                .map(|(c, b)| format!(", ECC {c} corrected, {b} bad blocks"))
                .unwrap_or_default();
            writeln!(out, "  {:<24} {what}, {} bytes{ecc}", rec.name, rec.bytes)?;
        }
    }
    writeln!(
        out,
        "log:        {} lines{}",
        r.log.lines.len(),
        if r.log.source.is_empty() {
            String::new()
        } else {
            format!(" from {}", r.log.source)
        }
    )?;
    let s = &r.summary;
    match &s.first_report {
        Some(m) => writeln!(out, "first:      {} {} ({})", ts(m.ts_ns), m.text, m.kind)?,
        None => writeln!(out, "first:      no Oops/BUG/WARN in the log")?,
    }
    match &s.panic {
        Some(p) => writeln!(
            out,
            "panic:      {} {}{}",
            ts(p.ts_ns),
            p.text,
            if s.panic_lines > 1 {
                format!(" (+{} more panic lines)", s.panic_lines.saturating_sub(1))
            } else {
                String::new()
            }
        )?,
        None => writeln!(
            out,
            "panic:      no \"Kernel panic - not syncing\" in the log"
        )?,
    }
    if s.cpu.is_some() || s.comm.is_some() {
        writeln!(
            out,
            "task:       CPU {} PID {} ({}){}{}",
            s.cpu.map_or("?".into(), |c| c.to_string()),
            s.pid.map_or("?".into(), |c| c.to_string()),
            s.comm.as_deref().unwrap_or("?"),
            s.release
                .as_deref()
                .map(|r| format!(", kernel {r}"))
                .unwrap_or_default(),
            if s.kdump_loaded { ", kdump loaded" } else { "" }
        )?;
    }
    if let Some(t) = &s.taint {
        if t.flags.is_empty() {
            writeln!(out, "taint:      not tainted")?;
        } else {
            writeln!(out, "taint:      {:#x} \"{}\"", t.mask, t.raw)?;
            for f in &t.flags {
                writeln!(out, "  {} {:<20} {}", f.letter, f.name, f.meaning)?;
            }
        }
    }
    if let Some(rip) = &s.rip {
        writeln!(out, "rip:        {rip}")?;
    }
    if let Some(o) = s.kernel_offset {
        writeln!(out, "kaslr:      {o:#x}")?;
    }
    writeln!(out, "signature:  {} {}", r.signature.id, r.signature.reason)?;
    for f in &r.signature.frames {
        writeln!(out, "  {f}")?;
    }
    let from_dump = r
        .traces
        .iter()
        .filter(|t| t.source == TraceSource::Dump)
        .count();
    if from_dump > 0 {
        writeln!(
            out,
            "traces:     {} ({} from the log, {from_dump} unwound from the dump)",
            r.traces.len(),
            r.traces.len().saturating_sub(from_dump)
        )?;
    } else {
        writeln!(out, "traces:     {}", r.traces.len())?;
    }
    for t in &r.traces {
        match t.source {
            TraceSource::Log => writeln!(
                out,
                "  lines {}-{}: {}",
                t.lines.0,
                t.lines.1,
                t.title.as_deref().unwrap_or("(untitled)")
            )?,
            TraceSource::Dump => writeln!(
                out,
                "  from the dump: {}",
                t.title.as_deref().unwrap_or("(untitled)")
            )?,
        }
        for f in t.frames.iter().take(MAX_FRAMES) {
            writeln!(out, "    {}", f.text)?;
            write_source(out, r, f)?;
        }
        if t.frames.len() > MAX_FRAMES {
            writeln!(
                out,
                "    … {} more frames",
                t.frames.len().saturating_sub(MAX_FRAMES)
            )?;
        }
    }
    if let Some(d) = &r.debug_files {
        writeln!(out, "debug files:")?;
        if let Some(v) = &d.vmlinux {
            writeln!(out, "  vmlinux {v}")?;
        }
        for m in &d.modules {
            writeln!(out, "  {} {}", m.name, m.path)?;
        }
        for w in &d.warnings {
            writeln!(out, "  warning: {w}")?;
        }
    }
    write_timeline(out, r)?;
    if !r.diagnostics.is_empty() {
        writeln!(out, "diagnostics:")?;
        for d in &r.diagnostics {
            writeln!(out, "  {d}")?;
        }
    }
    Ok(())
}

/// A frame's source lines (`func at file:line`), and its note when the
/// object's debug file was loaded yet the frame did not resolve (a missing
/// file is said once, under `debug files:`).
fn write_source(out: &mut dyn Write, r: &Report, f: &FrameInfo) -> io::Result<()> {
    for s in &f.source {
        writeln!(out, "        {s}")?;
    }
    let loaded = r.debug_files.as_ref().is_some_and(|d| match &f.module {
        Some(m) => d.modules.iter().any(|x| x.name == m.replace('-', "_")),
        None => d.vmlinux.is_some(),
    });
    if let (Some(n), true) = (&f.note, loaded) {
        writeln!(out, "        ({n})")?;
    }
    Ok(())
}

/// A journal time relative to the panic's start: `+0.001223`, or
/// `-0.004058` for what came before it (an oops's kmsg dump); seconds since
/// boot, unsigned, when no panic started.
pub fn rel(t: u64, t0: Option<u64>) -> String {
    let (sign, d) = match t0 {
        None => ("", t),
        Some(t0) if t < t0 => ("-", t0.saturating_sub(t)),
        Some(t0) => ("+", t.saturating_sub(t0)),
    };
    format!(
        "{sign}{}.{:06}",
        d / 1_000_000_000,
        d % 1_000_000_000 / 1000
    )
}

fn write_step(out: &mut dyn Write, s: &Step, t0: Option<u64>) -> io::Result<()> {
    let rel = |t: u64| rel(t, t0);
    if s.inferred {
        writeln!(
            out,
            "  {}  {:<13} inferred: {}",
            ts(s.begin_ns),
            s.name,
            s.evidence.as_deref().unwrap_or("")
        )?;
    } else {
        writeln!(
            out,
            "  {:>10}  {:2}. {:<19} {:>10}  {}",
            s.begin_ns.map_or("?".into(), rel),
            s.index.map_or(0, |i| u32::from(i) + 1),
            match s.performer.as_deref() {
                Some("kernel") => format!("{} (the kernel's)", s.name),
                _ => s.name.clone(),
            },
            s.duration_ns.map(ms).unwrap_or_default(),
            s.outcome.as_deref().unwrap_or("")
        )?;
        for c in &s.calls {
            writeln!(
                out,
                "  {:>10}      calls {} (slot {}){}",
                rel(c.begin_ns),
                c.name,
                c.slot,
                match c.end_ns {
                    Some(e) => format!(", returned in {}", ms(e.saturating_sub(c.begin_ns))),
                    None => ", never returned".into(),
                }
            )?;
        }
    }
    for n in &s.notes {
        writeln!(out, "  {:>10}      {n}", "")?;
    }
    Ok(())
}

fn write_timeline(out: &mut dyn Write, r: &Report) -> io::Result<()> {
    let tl = &r.timeline;
    match (tl.source, &tl.journal) {
        (TimelineSource::Journal, Some(j)) => writeln!(
            out,
            "timeline:   exact, from the panic journal at {:#x} (generation {:#x}, {} of {} entries, {})",
            j.offset, j.generation, j.entries, j.capacity, j.tail
        )
        .and_then(|()| match j.damage() {
            Some(d) => writeln!(out, "  journal damage: {d}"),
            None => Ok(()),
        })?,
        (TimelineSource::Journal, None) => writeln!(out, "timeline:   panic journal unreadable")?,
        (TimelineSource::Inferred, _) if tl.steps.is_empty() => {
            writeln!(out, "timeline:   no panic markers in the log")?;
            return Ok(());
        }
        (TimelineSource::Inferred, _) => {
            writeln!(out, "timeline:   inferred from the log (no panic journal)")?
        }
    }
    if let Some(st) = &tl.start {
        writeln!(
            out,
            "  panic {}{}: {}",
            ts(st.time_ns),
            st.cpu.map(|c| format!(" on CPU {c}")).unwrap_or_default(),
            st.message
        )?;
    }
    if !tl.plan.is_empty() {
        writeln!(out, "  plan: {}", tl.plan.join(", "))?;
    }
    let t0 = tl.start.as_ref().and_then(|s| s.time_ns);
    // Entries outside every step go where their time falls among the steps.
    let mut events = tl.events.iter().peekable();
    for s in &tl.steps {
        while let Some(e) = events.next_if(|e| s.begin_ns.is_some_and(|b| e.time_ns < b)) {
            writeln!(out, "  {:>10}      {}", rel(e.time_ns, t0), e.text)?;
        }
        write_step(out, s, t0)?;
    }
    for e in events {
        writeln!(out, "  {:>10}      {}", rel(e.time_ns, t0), e.text)?;
    }
    if let Some(result) = timeline_result(tl, false) {
        writeln!(out, "  result: {result}")?;
        if !tl.nested.is_empty() || !tl.skipped.is_empty() || tl.other_cpus > 0 {
            writeln!(
                out,
                "  {} nested panic(s), {} corrupt entr(ies) skipped, {} other CPU(s) turned away",
                tl.nested.len(),
                tl.skipped.len(),
                tl.other_cpus
            )?;
        }
    }
    Ok(())
}

/// The verdict on a journaled panic path: `the panic path ran every step`,
/// `STOPPED in step 8 pre-reboot list, inside "hung_notifier"`, ... With
/// `times`, when the step began or the call was made (relative to the
/// panic's start). `None` for an inferred timeline.
pub fn timeline_result(tl: &Timeline, times: bool) -> Option<String> {
    if tl.source != TimelineSource::Journal {
        return None;
    }
    let t0 = tl.start.as_ref().and_then(|s| s.time_ns);
    let at = |what: &str, t: Option<u64>| match t.filter(|_| times) {
        Some(t) => format!("{what} at {}, ", rel(t, t0)),
        None => String::new(),
    };
    Some(if let Some(none) = tl.no_panic() {
        none
    } else if tl.finished {
        "the panic path ran every step".to_string()
    } else if let Some(st) = &tl.stopped {
        let step = st.step_label();
        if let Some(why) = st.ended_by.as_deref().filter(|_| st.expected) {
            format!("stopped in {step}: {why} (expected)")
        } else if let Some(c) = &st.call {
            format!(
                "STOPPED in {step}, inside \"{c}\" ({}never returned)",
                at("called", st.call_begin_ns)
            )
        } else {
            format!(
                "STOPPED in {step} ({}never ended)",
                at("begun", st.begin_ns)
            )
        }
    } else {
        "stopped between steps".to_string()
    })
}

/// Writes triage groups as a short table.
pub fn write_triage(out: &mut dyn Write, groups: &[Group], total: usize) -> io::Result<()> {
    writeln!(
        out,
        "{total} dump{} in {} group{}",
        if total == 1 { "" } else { "s" },
        groups.len(),
        if groups.len() == 1 { "" } else { "s" }
    )?;
    for g in groups {
        let seen = match (g.first_seen, g.last_seen) {
            (Some(a), Some(b)) if a == b => format!("seen {}", utc(a)),
            (Some(a), Some(b)) => format!("first {}, last {}", utc(a), utc(b)),
            _ => "time unknown".into(),
        };
        writeln!(out)?;
        writeln!(
            out,
            "{:>5}x  {}  {}",
            g.count, g.signature.id, g.signature.reason
        )?;
        if let Some(p) = &g.panic {
            writeln!(out, "        panic: {p}")?;
        }
        for f in &g.signature.frames {
            writeln!(out, "        {f}")?;
        }
        writeln!(out, "        {seen}")?;
        let shown: Vec<&str> = g.inputs.iter().take(3).map(String::as_str).collect();
        writeln!(
            out,
            "        e.g. {}{}",
            shown.join(", "),
            if g.inputs.len() > 3 {
                format!(" (+{} more)", g.inputs.len().saturating_sub(3))
            } else {
                String::new()
            }
        )?;
    }
    Ok(())
}
