//! Source locations for a report's call traces: the frames the log prints
//! as `function+0xoff/0xlen [module]`, resolved to file:line through
//! vmlinux and module DWARF (`crashview-symbolize`).
//!
//! This is a separate step from [`analyze`](crate::analyze) because it
//! opens files beside the input (debug packages, module trees): the TUI
//! shows the report first and the locations when they arrive, and triage
//! never needs them.

use crashview_symbolize::debug_files::{DebugFiles, DebugOptions, LoadError};
use crashview_symbolize::parse::{self, Frame, Log};
use crashview_symbolize::SectionArena;

use crate::report::Report;
pub use crate::source::{note_text, source_lines, DebugFilesUsed, ModuleFile, SourceLine};
use crate::summary::TraceSource;
use crashview_symbolize::resolve::Note;

/// Source locations for every frame of a report, ready to
/// [`apply`](Symbols::apply) (computed apart from the report so a UI can
/// keep showing it meanwhile).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbols {
    /// Per trace, per frame: source lines and a note when there are none.
    frames: Vec<Vec<(Vec<SourceLine>, Option<String>)>>,
    /// The files used.
    pub files: DebugFilesUsed,
}

fn resolve_frame(
    sym: &crashview_symbolize::Symbolizer<'_>,
    f: &Frame<'_>,
    log: &Log<'_>,
) -> (Vec<SourceLine>, Option<String>) {
    let r = sym.resolve(f, &log.info);
    let note = r
        .note
        .as_ref()
        .filter(|n| !matches!(n, Note::UserSpace))
        .map(note_text);
    (source_lines(&r), note)
}

/// `text` (the report's trace lines) parsed as the symbolizer reads it,
/// with the vmcore's KASLR offset where the log has none; and `opts` with
/// the release (when the log has none) and the vmlinux build id from the
/// vmcore or the report.
fn prepare<'t>(report: &Report, opts: &DebugOptions, text: &'t str) -> (Log<'t>, DebugOptions) {
    let mut log = parse::parse_log(text);
    let vmcore = report.vmcore.as_ref();
    if log.info.kernel_offset.is_none() {
        log.info.kernel_offset = vmcore.and_then(|v| v.kernel_offset);
    }
    let mut opts = opts.clone();
    if opts.release.is_none() && log.info.release.is_none() {
        opts.release = vmcore
            .and_then(|v| v.release.clone())
            .or_else(|| report.summary.release.clone());
    }
    if opts.vmlinux_build_id.is_none() {
        opts.vmlinux_build_id = vmcore.and_then(|v| v.build_id.clone());
    }
    (log, opts)
}

fn resolve_with(log: &Log<'_>, files: &DebugFiles) -> Symbols {
    let arena = SectionArena::new();
    let sym = files.symbolizer(&arena);
    sym.prefetch(log);
    let frames = log
        .traces
        .iter()
        .map(|t| t.frames().map(|f| resolve_frame(&sym, f, log)).collect())
        .collect();
    Symbols {
        frames,
        files: DebugFilesUsed::from(files),
    }
}

/// The text the symbolizer parses: the log, then each stack from the dump
/// as a `Call Trace:` block of its frames as printed, so the parsed traces
/// line up one to one with `report.traces`.
fn symbol_text(report: &Report) -> String {
    let mut text = crate::summary::trace_text(&report.log);
    for t in report
        .traces
        .iter()
        .filter(|t| t.source == TraceSource::Dump)
    {
        crate::dump_state::push_call_trace(&mut text, t.frames.iter().map(|f| f.text.as_str()));
    }
    text
}

/// Resolves every frame of `report`'s traces. The release and KASLR
/// offset come from the log, else from the vmcore. A file named in `opts`
/// that cannot be read is an error; anything not found is a warning in
/// [`DebugFilesUsed::warnings`].
pub fn resolve(report: &Report, opts: &DebugOptions) -> Result<Symbols, LoadError> {
    let text = symbol_text(report);
    let (log, opts) = prepare(report, opts, &text);
    let files = DebugFiles::load(std::slice::from_ref(&log), &opts)?;
    Ok(resolve_with(&log, &files))
}

/// Debug files kept for many reports (`report --jsonl` over a fleet's
/// dumps, the fuzzer): reports of the same kernel needing the same modules
/// share one search and one set of maps instead of each finding and
/// mapping them again.
#[derive(Debug)]
pub struct Session {
    opts: DebugOptions,
    /// (release, build id, modules needed) -> files; the newest last.
    found: Vec<(SessionKey, DebugFiles)>,
}

type SessionKey = (Option<String>, Option<String>, Vec<String>);

/// Kernels whose debug files a [`Session`] keeps mapped at once.
const SESSION_KERNELS: usize = 4;

impl Session {
    /// A session searching with `opts`.
    pub fn new(opts: DebugOptions) -> Session {
        Session {
            opts,
            found: Vec::new(),
        }
    }

    /// [`Report::symbolize`], reusing the files an earlier report of the
    /// same kernel found.
    pub fn symbolize(&mut self, report: &mut Report) -> Result<(), LoadError> {
        let text = symbol_text(report);
        let (log, opts) = prepare(report, &self.opts, &text);
        let needs = crashview_symbolize::Symbolizer::new().needs(&log);
        let key: SessionKey = (
            opts.release
                .clone()
                .or_else(|| log.info.release.map(str::to_string)),
            log.info.build_id.map(str::to_string),
            needs.modules.into_iter().collect(),
        );
        let at = match self.found.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                let files = DebugFiles::load(std::slice::from_ref(&log), &opts)?;
                if self.found.len() >= SESSION_KERNELS {
                    self.found.remove(0);
                }
                self.found.push((key, files));
                self.found.len().saturating_sub(1)
            }
        };
        if let Some((_, files)) = self.found.get(at) {
            resolve_with(&log, files).apply(report);
        }
        Ok(())
    }
}

impl Symbols {
    /// Writes the locations into `report`'s frames (traces and frames
    /// pair up by position: both come from the same parse of the log).
    pub fn apply(self, report: &mut Report) {
        for (t, frames) in report.traces.iter_mut().zip(self.frames) {
            for (f, (source, note)) in t.frames.iter_mut().zip(frames) {
                f.source = source;
                f.note = note;
            }
        }
        report.debug_files = Some(self.files);
    }
}

impl Report {
    /// [`resolve`] and [`Symbols::apply`] in one step.
    pub fn symbolize(&mut self, opts: &DebugOptions) -> Result<(), LoadError> {
        resolve(self, opts)?.apply(self);
        Ok(())
    }
}
