//! `crashview trace` and `crashview symbolize`: call traces annotated with
//! source locations (crashview-symbolize), from text, pstore directories
//! or ramoops region images.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use crashview_analysis::input::{self, Question};
use crashview_analysis::symbols::{note_text, source_lines, DebugFilesUsed, SourceLine};
use crashview_symbolize::debug_files::{DebugFiles, DebugOptions};
use crashview_symbolize::parse::{self, Entry, Frame, Log, Trace};
use crashview_symbolize::resolve::{Note, Resolution};
use crashview_symbolize::{Lookup, SectionArena, Symbolizer};
use serde::Serialize;

/// Where debug files come from (`trace`, `symbolize`, `report`, `tui`).
#[derive(Args, Debug, Default, Clone)]
pub struct DebugFileArgs {
    /// vmlinux with DWARF (default: found by build id or release under
    /// /usr/lib/debug, /boot, /lib/modules/<release>/build).
    #[arg(long, value_name = "FILE")]
    pub vmlinux: Option<PathBuf>,
    /// Directory (searched recursively) or .ko file with module debug info;
    /// repeatable. Searched before /usr/lib/debug/lib/modules/<release>.
    #[arg(long, value_name = "DIR")]
    pub modules: Vec<PathBuf>,
    /// Look for the default debug paths under this root instead of /.
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub debug_root: PathBuf,
    /// Kernel release for the default paths (default: from the log).
    #[arg(long)]
    pub release: Option<String>,
    /// Look caller frames up at their return address, as printed (what
    /// decode_stacktrace.sh and addr2line on the raw address report),
    /// instead of at the call (pc - 1).
    #[arg(long)]
    pub return_address: bool,
    /// Do not fetch missing debug files by build id from the debuginfod
    /// servers in DEBUGINFOD_URLS (nor use crashview's cache of them).
    #[arg(long)]
    pub no_debuginfod: bool,
}

impl DebugFileArgs {
    /// The search options these flags stand for.
    pub fn options(&self) -> DebugOptions {
        DebugOptions {
            vmlinux: self.vmlinux.clone(),
            modules: self.modules.clone(),
            debug_root: self.debug_root.clone(),
            release: self.release.clone(),
            lookup: if self.return_address {
                Lookup::ReturnAddress
            } else {
                Lookup::CallSite
            },
            debuginfod: !self.no_debuginfod,
            ..DebugOptions::default()
        }
    }
}

/// Debug files and output options of `trace` and `symbolize`.
#[derive(Args, Debug, Default, Clone)]
pub struct DebugArgs {
    #[command(flatten)]
    pub files: DebugFileArgs,
    /// Strip this prefix from source paths (like decode_stacktrace.sh's base
    /// path); repeatable, the first that matches is stripped.
    #[arg(long, value_name = "DIR")]
    pub base_path: Vec<String>,
    /// Print JSON (schema: crashview.trace/1).
    #[arg(long)]
    pub json: bool,
    /// Do not disassemble `Code:` lines.
    #[arg(long)]
    pub no_code: bool,
}

/// `crashview trace <INPUT>`.
#[derive(Args, Debug)]
pub struct TraceArgs {
    /// Text log, /sys/fs/pstore-style directory, or ramoops region image.
    pub input: PathBuf,
    #[command(flatten)]
    pub debug: DebugArgs,
}

/// `crashview symbolize < text`.
#[derive(Args, Debug)]
pub struct SymbolizeArgs {
    #[command(flatten)]
    pub debug: DebugArgs,
}

/// Longest text input read (logs are megabytes at most).
const MAX_TEXT: u64 = 256 << 20;

/// A named text to search for traces.
struct Source {
    label: String,
    text: String,
}

/// The texts of an input to search for traces: each pstore record, the
/// text, or a vmcore's log, read through the one input detector.
fn read_sources(path: &Path) -> anyhow::Result<Vec<Source>> {
    // The log's traces only: not the dump's kernel state.
    let inp = input::load_with(
        path,
        &input::LoadOptions {
            skip_kernel_state: true,
            ..input::LoadOptions::default()
        },
    )?;
    inp.require(Question::Traces)?;
    for d in &inp.diagnostics {
        eprintln!("crashview: warning: {d}");
    }
    let mut sources = Vec::new();
    if let Some(text) = inp.text {
        sources.push(Source {
            label: inp.name.clone(),
            text,
        });
    }
    if let Some(v) = &inp.vmcore {
        let mut text = String::new();
        for l in &v.log {
            text.push_str(&l.console());
            text.push('\n');
        }
        sources.push(Source {
            label: inp.name.clone(),
            text,
        });
    }
    let region = inp.region.is_some();
    for f in inp.files.into_iter().filter(|f| !f.compressed) {
        let label = if region {
            format!("{}:{}", path.display(), f.name)
        } else {
            path.join(&f.name).display().to_string()
        };
        sources.push(Source {
            label,
            text: String::from_utf8_lossy(&f.contents).into_owned(),
        });
    }
    Ok(sources)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[derive(Serialize)]
struct JsonDoc {
    schema: &'static str,
    #[serde(flatten)]
    files: DebugFilesUsed,
    inputs: Vec<JsonInput>,
}

#[derive(Serialize)]
struct JsonInput {
    source: String,
    release: Option<String>,
    kernel_offset: Option<u64>,
    traces: Vec<JsonTrace>,
}

#[derive(Serialize)]
struct JsonTrace {
    title: Option<String>,
    first_line: usize,
    last_line: usize,
    truncated: bool,
    frames: Vec<JsonFrame>,
}

#[derive(Serialize)]
struct JsonFrame {
    line: usize,
    text: String,
    kind: &'static str,
    section: Option<String>,
    reliable: bool,
    symbol: Option<String>,
    offset: Option<u64>,
    size: Option<u64>,
    module: Option<String>,
    printed_address: Option<u64>,
    object: Option<String>,
    lookup_address: Option<u64>,
    /// `call-site` (pc - 1) or `address` (the frame's own address).
    lookup: Option<&'static str>,
    /// The frame's address in the object (before the call-site adjustment).
    pc: Option<u64>,
    object_section: Option<String>,
    section_offset: Option<u64>,
    source: Vec<SourceLine>,
    note: Option<String>,
    code: Option<JsonCode>,
}

#[derive(Serialize)]
struct JsonCode {
    bytes: String,
    fault: Option<usize>,
    instructions: Vec<JsonInsn>,
}

#[derive(Serialize)]
struct JsonInsn {
    offset: usize,
    bytes: String,
    text: String,
    fault: bool,
}

fn strip<'a>(path: &'a str, bases: &[String]) -> &'a str {
    bases
        .iter()
        .find_map(|b| path.strip_prefix(b.as_str()))
        .map_or(path, |r| r.trim_start_matches('/'))
}

fn json_frame(
    f: &Frame<'_>,
    kind: &'static str,
    r: &Resolution,
    code: Option<&parse::Code>,
    args: &DebugArgs,
) -> JsonFrame {
    JsonFrame {
        line: f.line + 1,
        text: f.text.to_string(),
        kind,
        section: f.section.map(str::to_string),
        reliable: f.reliable,
        symbol: f.symbol.map(|s| s.name.to_string()),
        offset: f.symbol.map(|s| s.offset),
        size: f.symbol.and_then(|s| s.size),
        module: f.module.map(str::to_string),
        printed_address: f.address,
        object: r.object.clone(),
        lookup_address: r.address,
        lookup: r
            .address
            .map(|_| if r.call_site { "call-site" } else { "address" }),
        pc: r.pc,
        object_section: r.section.as_ref().map(|s| s.0.clone()),
        section_offset: r.section.as_ref().map(|s| s.1),
        source: stripped_source(r, args),
        note: r.note.as_ref().map(note_text),
        code: code.filter(|_| !args.no_code).map(|c| JsonCode {
            bytes: hex(&c.bytes),
            fault: c.fault,
            instructions: crashview_symbolize::code::disassemble(c, None)
                .into_iter()
                .map(|i| JsonInsn {
                    offset: i.offset,
                    bytes: hex(&i.bytes),
                    text: i.text,
                    fault: i.fault,
                })
                .collect(),
        }),
    }
}

/// The resolution's source lines with `--base-path` stripped.
fn stripped_source(r: &Resolution, args: &DebugArgs) -> Vec<SourceLine> {
    let mut v = source_lines(r);
    for s in &mut v {
        s.file = s
            .file
            .as_deref()
            .map(|p| strip(p, &args.base_path).to_string());
    }
    v
}

fn write_resolution(out: &mut impl Write, r: &Resolution, args: &DebugArgs) -> std::io::Result<()> {
    for s in stripped_source(r, args) {
        writeln!(out, "        {s}")?;
    }
    if let Some(note) = &r.note {
        if !matches!(note, Note::UserSpace) {
            writeln!(out, "        ({})", note_text(note))?;
        }
    }
    Ok(())
}

/// `trapping`: the report's own RIP (the faulting instruction); else an
/// interrupted context's RIP.
fn write_code(out: &mut impl Write, c: &parse::Code, trapping: bool) -> std::io::Result<()> {
    if c.bytes.is_empty() {
        return Ok(());
    }
    for i in crashview_symbolize::code::disassemble(c, None) {
        let mark = if i.fault { '*' } else { ' ' };
        let bytes: Vec<String> = i.bytes.iter().map(|b| format!("{b:02x}")).collect();
        let tail = match (i.fault, trapping) {
            (true, true) => "\t\t<-- trapping instruction",
            (true, false) => "\t\t<-- RIP",
            _ => "",
        };
        writeln!(
            out,
            "    {:>4x}:{mark} {:<24} {}{tail}",
            i.offset,
            bytes.join(" "),
            i.text
        )?;
    }
    Ok(())
}

fn write_trace(
    out: &mut impl Write,
    label: &str,
    idx: usize,
    t: &Trace<'_>,
    log: &Log<'_>,
    sym: &Symbolizer<'_>,
    args: &DebugArgs,
) -> std::io::Result<()> {
    writeln!(
        out,
        "== {label}:{}: trace {}{}",
        t.first_line + 1,
        idx + 1,
        t.title.map(|s| format!(": {s}")).unwrap_or_default()
    )?;
    let regs = |out: &mut dyn Write, r: &parse::Regs<'_>, trapping: bool| -> std::io::Result<()> {
        writeln!(out, "{}", r.rip.text)?;
        let mut buf = Vec::new();
        write_resolution(&mut buf, &sym.resolve(&r.rip, &log.info), args)?;
        out.write_all(&buf)?;
        if let (Some(c), false) = (&r.code, args.no_code) {
            let mut buf = Vec::new();
            write_code(&mut buf, c, trapping)?;
            if !buf.is_empty() {
                writeln!(out, "Code:")?;
                out.write_all(&buf)?;
            }
        }
        Ok(())
    };
    writeln!(
        out,
        "{}",
        match sym.lookup() {
            Lookup::CallSite =>
                "(source of caller frames is the call: looked up at pc-1; RIP lines at their address)",
            Lookup::ReturnAddress => "(every frame looked up at its printed address)",
        }
    )?;
    if let Some(r) = &t.regs {
        regs(out, r, true)?;
    }
    writeln!(out, "Call Trace:")?;
    for e in &t.entries {
        match e {
            Entry::Section { name, open, .. } => {
                writeln!(out, " <{}{name}>", if *open { "" } else { "/" })?
            }
            Entry::Frame(f) => {
                writeln!(out, " {}", f.text)?;
                write_resolution(out, &sym.resolve(f, &log.info), args)?;
            }
            Entry::Regs(r) => regs(out, r, false)?,
        }
    }
    if t.truncated {
        writeln!(out, " (trace truncated at {} entries)", parse::MAX_ENTRIES)?;
    }
    writeln!(out)
}

fn run(sources: &[Source], args: &DebugArgs) -> anyhow::Result<()> {
    let logs: Vec<Log<'_>> = sources.iter().map(|s| parse::parse_log(&s.text)).collect();
    let opts = DebugOptions {
        progress: crate::progress::debuginfod_bar(),
        ..args.files.options()
    };
    let maps = DebugFiles::load(&logs, &opts)?;
    let arena = SectionArena::new();
    let sym = maps.symbolizer(&arena);
    for l in &logs {
        sym.prefetch(l);
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if args.json {
        let mut inputs = Vec::new();
        for (s, log) in sources.iter().zip(&logs) {
            let mut traces = Vec::new();
            for t in &log.traces {
                let mut frames = Vec::new();
                let mut add = |f: &Frame<'_>, kind, code: Option<&parse::Code>| {
                    let r = sym.resolve(f, &log.info);
                    frames.push(json_frame(f, kind, &r, code, args));
                };
                if let Some(r) = &t.regs {
                    add(&r.rip, "rip", r.code.as_ref());
                }
                for e in &t.entries {
                    match e {
                        Entry::Frame(f) => add(f, "frame", None),
                        Entry::Regs(r) => add(&r.rip, "rip", r.code.as_ref()),
                        Entry::Section { .. } => {}
                    }
                }
                traces.push(JsonTrace {
                    title: t.title.map(str::to_string),
                    first_line: t.first_line + 1,
                    last_line: t.last_line + 1,
                    truncated: t.truncated,
                    frames,
                });
            }
            inputs.push(JsonInput {
                source: s.label.clone(),
                release: log.info.release.map(str::to_string),
                kernel_offset: log.info.kernel_offset,
                traces,
            });
        }
        let doc = JsonDoc {
            schema: "crashview.trace/1",
            files: DebugFilesUsed::from(&maps),
            inputs,
        };
        serde_json::to_writer_pretty(&mut out, &doc)?;
        writeln!(out)?;
    } else {
        for w in &maps.warnings {
            eprintln!("crashview: warning: {w}");
        }
        let mut n = 0;
        for (s, log) in sources.iter().zip(&logs) {
            for (i, t) in log.traces.iter().enumerate() {
                write_trace(&mut out, &s.label, i, t, log, &sym, args)?;
                n += 1;
            }
        }
        if n == 0 {
            eprintln!("crashview: note: no call trace found");
        }
    }
    out.flush()?;
    Ok(())
}

/// `crashview trace INPUT`.
pub fn trace(a: &TraceArgs) -> anyhow::Result<()> {
    let sources = read_sources(&a.input)?;
    run(&sources, &a.debug)
}

/// `crashview symbolize < text`.
pub fn symbolize(a: &SymbolizeArgs) -> anyhow::Result<()> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .take(MAX_TEXT)
        .read_to_end(&mut bytes)
        .context("reading standard input")?;
    let sources = vec![Source {
        label: "<stdin>".to_string(),
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }];
    run(&sources, &a.debug)
}
