//! `crashview bt`, `ps` and `modules`: the dumped kernel's stacks, tasks
//! and modules, read from its memory (crashview-analysis `dump_state`).
//! Formatting only.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use crashview_analysis::dump_state::{self, DumpState, Selection, Thread};
use crashview_analysis::input::{self, Question};
use crashview_symbolize::debug_files::DebugOptions;
use crashview_vmcore::Vmcore;
use serde_json::json;

use crate::trace_cmd::DebugFileArgs;

/// `crashview bt VMCORE`.
#[derive(Args, Debug)]
pub struct BtArgs {
    /// The vmcore, or a crash directory holding it.
    pub vmcore: PathBuf,
    /// Every CPU's active task (as crash's `bt -a`).
    #[arg(long, conflicts_with_all = ["all", "pid"])]
    pub cpus: bool,
    /// Every task.
    #[arg(long, conflicts_with = "pid")]
    pub all: bool,
    /// These tasks (repeatable).
    #[arg(long, value_name = "PID")]
    pub pid: Vec<u32>,
    /// Print JSON (schema: crashview.bt/1).
    #[arg(long)]
    pub json: bool,
    /// Show the registers saved at interrupt and exception frames.
    #[arg(long)]
    pub regs: bool,
    /// Do not look for DWARF: frames keep symbol+offset only.
    #[arg(long, conflicts_with_all = ["vmlinux", "modules"])]
    pub no_symbols: bool,
    #[command(flatten)]
    pub files: DebugFileArgs,
}

/// The dump's state as `sel` asks, with source lines when `symbols` says
/// where to look for debug files; notes and debug-file warnings on stderr.
fn open_state(
    path: &Path,
    sel: &Selection,
    symbols: Option<&DebugOptions>,
) -> Result<(PathBuf, DumpState)> {
    let (file_path, bytes) = input::open_vmcore(path, Question::KernelState)?;
    let core = Vmcore::parse(bytes.bytes())
        .with_context(|| format!("{}: not a readable vmcore", file_path.display()))?;
    let mut state = dump_state::read(&core, sel)
        .map_err(|e| anyhow::anyhow!("{}: {e}", file_path.display()))?;
    for n in &state.notes {
        eprintln!("crashview: warning: {}: {n}", file_path.display());
    }
    if let Some(opts) = symbols {
        if let Err(e) = dump_state::symbolize(&mut state, opts, core.vmcoreinfo()) {
            eprintln!("crashview: warning: no source lines: {e}");
        }
        for w in state.debug_files.iter().flat_map(|d| &d.warnings) {
            eprintln!("crashview: warning: {w}");
        }
    }
    Ok((file_path, state))
}

/// `crashview bt`.
pub fn bt(a: &BtArgs) -> Result<()> {
    let sel = if a.cpus {
        Selection::Cpus
    } else if a.all {
        Selection::All
    } else if !a.pid.is_empty() {
        Selection::Pids(a.pid.clone())
    } else {
        Selection::Crashed
    };
    let opts = (!a.no_symbols).then(|| a.files.options());
    let (path, state) = open_state(&a.vmcore, &sel, opts.as_ref())?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if a.json {
        let v = json!({
            "schema": dump_state::BT_SCHEMA,
            "file": path.display().to_string(),
            "panic_cpu": state.panic_cpu,
            "threads": state.threads,
            "notes": state.notes,
            "debug_files": state.debug_files,
        });
        serde_json::to_writer_pretty(&mut out, &v)?;
        writeln!(out)?;
    } else {
        if state.threads.is_empty() {
            writeln!(out, "no task matched")?;
        }
        for (i, t) in state.threads.iter().enumerate() {
            if i > 0 {
                writeln!(out)?;
            }
            write_thread(&mut out, t, a.regs)?;
        }
    }
    out.flush()?;
    Ok(())
}

fn write_thread(out: &mut impl Write, t: &Thread, regs: bool) -> std::io::Result<()> {
    let from = match t.unwound_from {
        "cpu-registers" => format!("from CPU {}'s saved registers", t.cpu),
        _ => "from its switch frame".to_string(),
    };
    writeln!(
        out,
        "PID {} TGID {} CPU {} {} \"{}\"{} ({from})",
        t.pid,
        t.tgid,
        t.cpu,
        t.state,
        t.comm,
        if t.crashed { " crashed" } else { "" }
    )?;
    for (i, f) in t.frames.iter().enumerate() {
        let mark = if f.pc_kind == "exact" && i > 0 {
            " <- interrupted here"
        } else {
            ""
        };
        writeln!(out, " #{i:<2} {} {}{mark}", f.pc, f.symbolic())?;
        let n = f.source.len();
        for (j, s) in f.source.iter().enumerate() {
            let inl = if j + 1 < n { " (inlined)" } else { "" };
            writeln!(
                out,
                "       {} at {}:{}{inl}",
                s.function.as_deref().unwrap_or("??"),
                s.file.as_deref().unwrap_or("??"),
                s.line.map_or("?".to_string(), |l| l.to_string())
            )?;
        }
        if regs {
            if let Some(r) = &f.regs {
                let line: Vec<String> = r.iter().map(|(k, v)| format!("{k}={v}")).collect();
                for chunk in line.chunks(6) {
                    writeln!(out, "       {}", chunk.join(" "))?;
                }
            }
        }
    }
    if let Some(n) = &t.unwind_note {
        writeln!(out, " (note: {n})")?;
    }
    if let Some(why) = &t.stopped {
        writeln!(out, " (unwind stopped: {why})")?;
    }
    Ok(())
}

/// `ps` and `modules`: the dump's state as a JSON list under `key`, or
/// as the text `write_text` prints.
fn list(
    vmcore: &Path,
    json: bool,
    schema: &str,
    key: &str,
    rows: impl Fn(&DumpState) -> serde_json::Value,
    write_text: impl Fn(&DumpState, &mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let (path, state) = open_state(vmcore, &Selection::Pids(Vec::new()), None)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if json {
        let mut v = json!({
            "schema": schema,
            "file": path.display().to_string(),
            "notes": state.notes,
        });
        v[key] = rows(&state);
        serde_json::to_writer_pretty(&mut out, &v)?;
        writeln!(out)?;
    } else {
        write_text(&state, &mut out)?;
    }
    out.flush()?;
    Ok(())
}

/// `crashview ps`.
pub fn ps(vmcore: &Path, json: bool) -> Result<()> {
    list(
        vmcore,
        json,
        dump_state::PS_SCHEMA,
        "tasks",
        |s| json!(s.tasks),
        |state, out| {
            writeln!(
                out,
                "{:>7} {:>7} {:>3} {:>2}  {:<18} COMM",
                "PID", "PPID", "CPU", "ST", "TASK"
            )?;
            for t in &state.tasks {
                let mark = if t.on_cpu { ">" } else { " " };
                writeln!(
                    out,
                    "{mark}{:>6} {:>7} {:>3} {:>2}  {:<18} {}",
                    t.pid, t.ppid, t.cpu, t.state, t.task, t.comm
                )?;
            }
            Ok(())
        },
    )
}

/// `crashview modules`.
pub fn modules(vmcore: &Path, json: bool) -> Result<()> {
    list(
        vmcore,
        json,
        dump_state::MODULES_SCHEMA,
        "modules",
        |s| json!(s.modules),
        |state, out| {
            writeln!(
                out,
                "{:<24} {:<18} {:>8} {:<6} {:<8} SYMBOLS",
                "NAME", "BASE", "SIZE", "TAINT", "STATE"
            )?;
            for m in &state.modules {
                writeln!(
                    out,
                    "{:<24} {:<18} {:>8} {:<6} {:<8} {}",
                    m.name, m.base, m.size, m.taints, m.state, m.symbols
                )?;
            }
            Ok(())
        },
    )
}
