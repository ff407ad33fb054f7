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

pub mod dump_state;
pub mod input;
pub mod journal_listing;
pub mod log;
pub mod report;
pub mod signature;
pub mod source;
pub mod summary;
pub mod symbols;
pub mod text;
pub mod timeline;
pub mod triage;

pub use crashview_symbolize::debug_files::DebugOptions;
pub use input::{Input, InputKind, VmcoreFacts};
pub use log::{Dump, KernelLog, LogLine, RecordInfo};
pub use report::{analyze, Report, SCHEMA};
pub use signature::Signature;
pub use source::{DebugFilesUsed, SourceLine};
pub use summary::{FrameInfo, PanicSummary, Taint, TraceInfo};
pub use symbols::Symbols;
pub use timeline::{Step, Timeline, TimelineSource};
pub use triage::Group;
