//! `crashview log` and `crashview info`: vmcores through crashview-vmcore and
//! crashview-printk. Formatting only; the readers decide nothing here.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use crashview_analysis::input::{self, Question, VmcoreBytes};
use crashview_printk::{Log, Record, RecordState, RingKind};
use crashview_vmcore::{Container, Format, PageType, Vmcore};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{json, Value};

/// A spinner on stderr when it is a terminal; hidden otherwise.
fn spinner(msg: &'static str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
        pb.set_style(style);
    }
    pb.set_message(msg);
    pb.enable_steady_tick(std::time::Duration::from_millis(100));
    pb
}

fn open(path: &Path, q: Question) -> Result<(PathBuf, VmcoreBytes)> {
    Ok(input::open_vmcore(path, q)?)
}

fn parse<'a>(path: &Path, bytes: &'a [u8]) -> Result<Vmcore<'a>> {
    Vmcore::parse(bytes).with_context(|| format!("{}: not a readable vmcore", path.display()))
}

fn warn_diagnostics(path: &Path, core: &Vmcore<'_>, log: Option<&Log>) {
    for d in core.diagnostics() {
        eprintln!("crashview: warning: {}: {d}", path.display());
    }
    if let Some(log) = log {
        for d in &log.diagnostics {
            eprintln!("crashview: warning: {}: printk: {d}", path.display());
        }
    }
}

fn read_log(path: &Path, core: &Vmcore<'_>) -> Result<Log> {
    crashview_printk::read_log(core)
        .with_context(|| format!("{}: cannot read the kernel log", path.display()))
}

/// `crashview log`.
pub fn log(input: &Path, json: bool) -> Result<()> {
    let pb = spinner("reading the kernel log");
    let (path, file) = open(input, Question::KernelLog)?;
    let path = path.as_path();
    let core = parse(path, file.bytes())?;
    let log = read_log(path, &core);
    pb.finish_and_clear();
    let log = match log {
        Ok(l) => l,
        Err(e) => {
            warn_diagnostics(path, &core, None);
            return Err(e);
        }
    };
    warn_diagnostics(path, &core, Some(&log));
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    if json {
        let v = json!({
            "schema": "crashview.log/1",
            "file": path.display().to_string(),
            "format": core.format().to_string(),
            "ring": ring_name(log.kind),
            "skipped": log.skipped,
            "diagnostics": log.diagnostics.iter().map(|d| json!({"addr": d.addr, "structure": d.structure, "message": d.message})).collect::<Vec<_>>(),
            "records": log.records.iter().map(record_json).collect::<Vec<_>>(),
        });
        serde_json::to_writer_pretty(&mut out, &v)?;
        writeln!(out)?;
    } else {
        for r in &log.records {
            r.write_console(&mut out)?;
        }
    }
    out.flush()?;
    Ok(())
}

fn ring_name(k: RingKind) -> &'static str {
    match k {
        RingKind::Lockless => "printk_ringbuffer",
        RingKind::Legacy => "log_buf",
    }
}

fn record_json(r: &Record) -> Value {
    json!({
        "seq": r.seq,
        "ts_nsec": r.ts_nsec,
        "level": r.level,
        "facility": r.facility,
        "flags": r.flags,
        "continuation": r.is_continuation(),
        "caller": r.caller(),
        "subsystem": r.subsystem,
        "device": r.device,
        "state": match r.state { RecordState::Finalized => "finalized", RecordState::Committed => "committed", RecordState::Legacy => "legacy" },
        "text": String::from_utf8_lossy(&r.text),
    })
}

fn excluded_text(fmt: &Format) -> String {
    let v: Vec<&str> = fmt.excluded_pages().map(PageType::name).collect();
    if v.is_empty() {
        "nothing excluded".into()
    } else {
        format!("excluded: {}", v.join(", "))
    }
}

fn utc(secs: i64) -> String {
    let (y, m, d) = crashview_analysis::text::civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// `crashview info`.
pub fn info(input: &Path, json: bool) -> Result<()> {
    let pb = spinner("indexing the dump");
    let (path, file) = open(input, Question::VmcoreFacts)?;
    let path = path.as_path();
    let core = parse(path, file.bytes())?;
    let log = crashview_printk::read_log(&core);
    pb.finish_and_clear();
    warn_diagnostics(path, &core, log.as_ref().ok());
    let vi = core.vmcoreinfo();
    let fmt = core.format();
    let uts = core.utsname().ok();
    let mut missing: Vec<String> = Vec::new();

    let release = vi
        .and_then(|v| v.osrelease().map(str::to_owned))
        .or_else(|| uts.as_ref().map(|u| u.release.clone()))
        .or_else(|| {
            core.kdump()
                .map(|k| k.header.utsname.release.clone())
                .filter(|s| !s.is_empty())
        });
    let machine = uts
        .as_ref()
        .map(|u| u.machine.clone())
        .filter(|s| !s.is_empty())
        .or_else(|| {
            core.kdump()
                .map(|k| k.header.utsname.machine.clone())
                .filter(|s| !s.is_empty())
        })
        .or_else(|| {
            core.elf()
                .filter(|e| e.machine == 62)
                .map(|_| "x86_64".to_owned())
        });
    let crash_time = vi
        .and_then(|v| v.crash_time())
        .map(|t| (t, "VMCOREINFO CRASHTIME"));
    let crash_time = crash_time.or_else(|| {
        core.kdump()
            .filter(|k| k.header.timestamp_sec > 0)
            .map(|k| (k.header.timestamp_sec, "kdump header timestamp"))
    });
    if vi.is_none() {
        missing.push("VMCOREINFO (no log, no address translation)".into());
    } else if vi.and_then(|v| v.crash_time()).is_none() {
        missing.push("CRASHTIME in VMCOREINFO (the dump was not taken by kdump)".into());
    }
    if core.cpus().is_empty() {
        missing.push("NT_PRSTATUS notes (no CPU registers)".into());
    }
    if let Some(k) = core.kdump() {
        if k.header.utsname.release.is_empty() {
            missing.push("utsname in the kdump header (QEMU leaves it empty)".into());
        }
        let valid = (0..k.max_mapnr).filter(|&p| k.is_valid(p)).count() as u64;
        let dumped = k.dumped_pages();
        if valid > dumped {
            missing.push(format!(
                "{} of {valid} pages excluded by dump level {}",
                valid - dumped,
                k.sub.dump_level
            ));
        }
    }
    if let Some(f) = core.flat() {
        if !f.complete() {
            missing.push("the flattened stream's end marker (truncated stream)".into());
        }
    }
    if let Err(e) = core.translator() {
        missing.push(format!("address translation: {e}"));
    }
    let (records, panic_msg, oops) = match &log {
        Ok(l) => {
            let text = |r: &Record| String::from_utf8_lossy(&r.text).into_owned();
            let panic_msg = l
                .records
                .iter()
                .rev()
                .map(text)
                .find(|t| t.starts_with("Kernel panic - not syncing"));
            let oops = l.records.iter().map(text).find(|t| {
                t.starts_with("BUG: ")
                    || t.starts_with("Oops: ")
                    || t.starts_with("kernel BUG at")
                    || t.starts_with("general protection fault")
            });
            (Some(l.records.len()), panic_msg, oops)
        }
        Err(e) => {
            missing.push(format!("kernel log: {e:#}"));
            (None, None, None)
        }
    };
    let kernel_offset = vi.and_then(|v| v.kernel_offset());
    let phys_base = vi.and_then(|v| v.phys_base());
    let (rip_names, rip_note) = crashview_analysis::dump_state::rip_names(&core);
    if let Some(n) = &rip_note {
        missing.push(format!("function names at rip: {n}"));
    }
    let paging = core
        .translator()
        .ok()
        .map(|t| if t.l5 { "5-level" } else { "4-level" });

    if json {
        let v = json!({
            "schema": "crashview.info/1",
            "file": path.display().to_string(),
            "format": {
                "container": match fmt.container { Container::Elf => "elf", Container::Kdump => "kdump" },
                "flattened": fmt.flattened,
                "codec": fmt.codec.map(|c| c.to_string()),
                "dump_level": fmt.dump_level,
                "header_version": fmt.header_version,
                "page_size": fmt.page_size,
                "description": fmt.to_string(),
            },
            "release": release,
            "architecture": machine,
            "utsname": uts.as_ref().map(|u| json!({"sysname": u.sysname, "nodename": u.nodename, "release": u.release, "version": u.version, "machine": u.machine, "domainname": u.domainname})),
            "crash_time": crash_time.map(|(t, src)| json!({"unix": t, "utc": utc(t), "source": src})),
            "panic": panic_msg,
            "first_oops": oops,
            "kernel_offset": kernel_offset,
            "phys_base": phys_base,
            "paging": paging,
            "cpus": core.cpus().iter().zip(rip_names.iter()).map(|(c, f)| json!({
                "index": c.index, "pid": c.pid, "rip_function": f,
                "regs": c.regs.iter().map(|(n, v)| (n.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
            })).collect::<Vec<_>>(),
            "log_records": records,
            "missing": missing,
            "diagnostics": core.diagnostics().iter().map(|d| d.to_string()).collect::<Vec<_>>(),
        });
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, &v)?;
        writeln!(out)?;
        return Ok(());
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let na = || "unknown".to_string();
    writeln!(out, "file:          {}", path.display())?;
    let level = match fmt.dump_level {
        Some(_) => format!(" ({})", excluded_text(fmt)),
        None => String::new(),
    };
    writeln!(out, "format:        {fmt}{level}")?;
    writeln!(out, "release:       {}", release.unwrap_or_else(na))?;
    if let Some(u) = &uts {
        writeln!(out, "version:       {}", u.version)?;
        writeln!(out, "hostname:      {}", u.nodename)?;
    }
    writeln!(out, "architecture:  {}", machine.unwrap_or_else(na))?;
    match crash_time {
        Some((t, src)) => writeln!(out, "crash time:    {} ({src})", utc(t))?,
        None => writeln!(out, "crash time:    unknown")?,
    }
    writeln!(
        out,
        "panic:         {}",
        panic_msg.unwrap_or_else(|| "none found in the log".into())
    )?;
    if let Some(o) = oops {
        writeln!(out, "first oops:    {o}")?;
    }
    match kernel_offset {
        Some(o) => writeln!(
            out,
            "kernel offset: {o:#x} (KASLR; text at {:#x})",
            0xffff_ffff_8100_0000u64.wrapping_add(o)
        )?,
        None => writeln!(out, "kernel offset: unknown")?,
    }
    if let Some(p) = phys_base {
        writeln!(out, "phys_base:     {p:#x}")?;
    }
    if let Some(p) = paging {
        writeln!(out, "page tables:   {p}")?;
    }
    if let Some(n) = records {
        let ring = log.as_ref().map(|l| ring_name(l.kind)).unwrap_or("");
        writeln!(out, "log:           {n} records ({ring})")?;
    }
    writeln!(out, "cpus:          {}", core.cpus().len())?;
    for (c, f) in core.cpus().iter().zip(rip_names.iter()) {
        match f {
            Some(f) => writeln!(out, "  cpu {} pid {}: rip in {f}", c.index, c.pid)?,
            None => writeln!(out, "  cpu {} pid {}:", c.index, c.pid)?,
        }
        for row in c.regs.chunks(4) {
            let cells: Vec<String> = row
                .iter()
                .map(|(n, v)| format!("{n:>8} {v:016x}"))
                .collect();
            writeln!(out, "   {}", cells.join(" "))?;
        }
    }
    if missing.is_empty() {
        writeln!(out, "missing:       nothing")?;
    } else {
        writeln!(out, "missing:")?;
        for m in &missing {
            writeln!(out, "  - {m}")?;
        }
    }
    out.flush()?;
    Ok(())
}
