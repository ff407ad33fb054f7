//! One crash [`Report`] from a loaded input: what [`analyze`] decides.

use serde::Serialize;

use crate::dump_state::{DumpState, Thread};
use crate::input::{self, Input, InputKind, VmcoreFacts};
use crate::log::{self, Dump, KernelLog, RecordInfo};
use crate::signature::{self, Signature};
use crate::source::DebugFilesUsed;
use crate::summary::{self, FrameInfo, PanicSummary, TraceInfo, TraceSource};
use crate::timeline::{self, Timeline};

/// The JSON schema name and version of [`Report`] (`book/src/json-schema.md`).
pub const SCHEMA: &str = "crashview.report/1";

/// Everything crashview can say about one input.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// [`SCHEMA`].
    pub schema: &'static str,
    /// The input as named by the caller.
    pub input: String,
    /// What the input was detected as.
    pub kind: InputKind,
    /// pstore records (regions and pstore directories).
    pub records: Vec<RecordInfo>,
    /// kmsg dumps reassembled from their parts, oldest first.
    pub dumps: Vec<Dump>,
    /// The kernel log the rest of the report is read from.
    pub log: KernelLog,
    /// The first report, the panic, taint, task, RIP.
    pub summary: PanicSummary,
    /// Call traces found in the log.
    pub traces: Vec<TraceInfo>,
    /// The debug files the traces were resolved with; `None` when the
    /// report was not [symbolized](Report::symbolize).
    pub debug_files: Option<DebugFilesUsed>,
    /// Which step of the panic path ran when, and where it stopped.
    pub timeline: Timeline,
    /// The crash signature used by [`triage`].
    pub signature: Signature,
    /// What the vmcore says about itself (vmcores only).
    pub vmcore: Option<VmcoreFacts>,
    /// CPUs, modules and notes read from the vmcore's memory (its stacks
    /// are in `traces`, with `source: "dump"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dump: Option<DumpState>,
    /// The kdump service's crash directory the input was read from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crash_dir: Option<input::CrashDir>,
    /// Problems met while reading, each naming where.
    pub diagnostics: Vec<String>,
}

impl Report {
    /// When the crash happened, in seconds since the epoch, as well as the
    /// input tells: the vmcore's crash time, else the newest dump's time.
    pub fn crash_time(&self) -> Option<i64> {
        self.vmcore
            .as_ref()
            .and_then(|v| v.crash_time)
            .or_else(|| self.records.iter().filter_map(|r| r.time).max())
    }
}

/// Builds the report for a loaded input.
pub fn analyze(input: &Input) -> Report {
    let mut diagnostics = input.diagnostics.clone();
    let (records, dumps, log) = log::build(input, &mut diagnostics);
    let (summary, mut traces) = summary::summarize(&log);
    let mut dump = input.vmcore.as_ref().and_then(|v| v.dump.clone());
    if let Some(d) = dump.as_mut() {
        traces.extend(dump_traces(&d.threads));
        d.threads.clear();
    }
    let timeline = match &input.journal {
        Some(j) => timeline::from_journal(j, &mut diagnostics),
        None => timeline::infer(&log, &dumps, input.vmcore.as_ref()),
    };
    let signature = signature::signature(&summary, &traces);
    Report {
        schema: SCHEMA,
        input: input.name.clone(),
        kind: input.kind,
        records,
        dumps,
        log,
        summary,
        traces,
        debug_files: None,
        timeline,
        signature,
        vmcore: input.vmcore.as_ref().map(|v| v.facts.clone()),
        dump,
        crash_dir: input.crash_dir.clone(),
        diagnostics,
    }
}

/// The dump's stacks as traces (the crashed task first), each frame
/// written as the kernel would print it, so the one symbolizer reads them
/// like log traces: the exact first and interrupted frames as `RIP:`
/// lines, the others as return addresses.
fn dump_traces(threads: &[Thread]) -> Vec<TraceInfo> {
    let mut order: Vec<&Thread> = threads.iter().collect();
    order.sort_by_key(|t| !t.crashed);
    order
        .into_iter()
        .map(|t| TraceInfo {
            source: TraceSource::Dump,
            title: Some(format!(
                "CPU {} PID {} {}{} (unwound from {})",
                t.cpu,
                t.pid,
                t.comm,
                if t.crashed { ", crashed" } else { "" },
                match t.unwound_from {
                    "cpu-registers" => "its CPU's saved registers",
                    _ => "its switch frame",
                }
            )),
            lines: (0, 0),
            frames: t
                .frames
                .iter()
                .filter(|f| f.function.is_some())
                .map(|f| FrameInfo {
                    function: f.function.clone(),
                    offset: Some(f.offset),
                    module: f.module.clone(),
                    reliable: true,
                    rip: f.pc_kind == "exact",
                    user: false,
                    text: crate::dump_state::trace_line(f),
                    line: 0,
                    source: Vec::new(),
                    note: None,
                })
                .collect(),
        })
        .collect()
}
