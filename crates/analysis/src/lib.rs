/*!
One crash [`Report`] from any input crashview reads.

The reader crates decode bytes (`crashview-ramoops`, `crashview-journal`,
`crashview-vmcore`, `crashview-printk`, `crashview-symbolize`) and judge
nothing. This crate is the policy half: it decides which kmsg dump is the
kernel log, which report was the first Oops/BUG/WARN, what the
`Tainted:` letters mean, which step of the panic path ran and where it
stopped, and which dumps are "the same crash" ([`triage`]).

Inputs are autodetected ([`input::load`], the one detector every
subcommand uses): a raw ramoops region image (with or without the panic
recorder's journal after the zones), a `/sys/fs/pstore` directory or
systemd-pstore archive, a crash directory of kdump-tools or kexec-tools, a
vmcore (ELF, kdump-compressed, flattened; optionally zstd-compressed as our
fixtures are), or plain dmesg / serial-console text.

```no_run
let input = crashview_analysis::input::load(std::path::Path::new("region.bin")).unwrap();
let report = crashview_analysis::analyze(&input);
println!("{}", report.summary.panic.as_ref().map_or("no panic", |p| p.text.as_str()));
let mut text = Vec::new();
crashview_analysis::text::write_report(&mut text, &report).unwrap();
```

The panic-phase [`Timeline`] is exact when the recorder's journal is in
the input: it is the journal, step for step. Otherwise it is inferred from
the markers a stock kernel prints, each step marked `inferred` and listed
in the order the log shows them (book: "JSON schema", "User guide").

Call-trace frames get file:line from vmlinux and module DWARF in a
separate step, [`Report::symbolize`] (or [`symbols::resolve`] then
[`Symbols::apply`], so a UI can show the report meanwhile): it opens
debug files beside the input, which triage never needs.

Features: none. File I/O lives in [`input`] and [`symbols`] only;
everything else works on loaded data.
*/
#![deny(missing_docs)]
#![deny(clippy::arithmetic_side_effects)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)
)]

pub mod input;
pub mod journal_listing;
pub mod log;
pub mod summary;
pub mod symbols;
pub mod text;
pub mod timeline;
pub mod triage;

use serde::Serialize;

pub use crashview_symbolize::debug_files::DebugOptions;
pub use input::{Input, InputKind, VmcoreFacts};
pub use log::{Dump, KernelLog, LogLine, RecordInfo};
pub use summary::{FrameInfo, PanicSummary, Taint, TraceInfo};
pub use symbols::{DebugFilesUsed, SourceLine, Symbols};
pub use timeline::{Step, Timeline, TimelineSource};
pub use triage::{Group, Signature};

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
    let (summary, traces) = summary::summarize(&log);
    let timeline = match &input.journal {
        Some(j) => timeline::from_journal(j, &mut diagnostics),
        None => timeline::infer(&log, &dumps, input.vmcore.as_ref()),
    };
    let signature = triage::signature(&summary, &traces);
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
        crash_dir: input.crash_dir.clone(),
        diagnostics,
    }
}
