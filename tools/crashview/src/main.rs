//! `crashview`: read what a crashed Linux machine left behind.
//!
//! This file parses arguments, runs, and maps the outcome to an exit code;
//! the work is in [`pstore_cmd`] over the reader crates.

mod journal_cmd;
mod kernel_cmd;
mod progress;
mod pstore_cmd;
mod report_cmd;
mod trace_cmd;
mod tui;
mod vmcore_cmd;

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use crashview_analysis::input;
use crashview_ramoops::region::Overrides;

/// Read Linux kernel crash data: ramoops regions, pstore directories,
/// systemd-pstore archives.
#[derive(Parser, Debug)]
#[command(name = "crashview", version, about, long_about = None, after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

const EXAMPLES: &str = "Examples:
  crashview pstore list fixtures/ramoops/sysrq-ecc/region.bin
  crashview pstore list /sys/fs/pstore --json
  crashview pstore extract region.bin -o out/ --record-size 0x4000 --ecc 16
  crashview report fixtures/recorder/hang/region.bin      (TUI on a terminal)
  crashview report --plain vmcore | less
  crashview report --plain vmcore --vmlinux /usr/lib/debug/boot/vmlinux-6.1.0-56-amd64 --modules ./build
  crashview report /var/crash/202612010818/             (kdump-tools' crash directory)
  crashview triage /var/lib/systemd/pstore --json
  crashview triage --jsonl /var/crash > dumps.jsonl      (for DuckDB: read_json_auto)
  crashview completions bash > /etc/bash_completion.d/crashview
  crashview man > crashview.1

Exit status:
  0  success (a crash found in the input is not an error)
  2  bad arguments, or an input that cannot be read

Environment:
  NO_COLOR  when set and non-empty, the TUI draws without colour";

#[derive(Subcommand, Debug)]
enum Command {
    /// pstore records: from a raw ramoops region image, a /sys/fs/pstore
    /// directory or a systemd-pstore archive.
    #[command(subcommand)]
    Pstore(PstoreCommand),
    /// The panic recorder's journal in a region image: plan, steps in the
    /// order they ran, and where the panic path stopped.
    Journal {
        /// Region image (ramoops zones followed by the journal), the
        /// module's journal file, a pstore directory with it, or a vmcore
        /// of a patched kernel.
        input: std::path::PathBuf,
        /// Offset of the journal zone (default: found by its header).
        #[arg(long, value_parser = parse_num)]
        journal_offset: Option<u64>,
        /// Print JSON (schema: crashview.journal/1).
        #[arg(long)]
        json: bool,
    },
    /// Call traces in a log, pstore directory or region image, with file:line.
    Trace(trace_cmd::TraceArgs),
    /// Annotate call traces in text read from standard input.
    Symbolize(trace_cmd::SymbolizeArgs),
    /// The kernel log, like dmesg: a vmcore's printk ring (ELF,
    /// kdump-compressed or flattened, read in place), else the log a
    /// pstore directory, region image or text holds.
    Log {
        /// vmcore, crash directory, pstore directory, region image or text.
        input: std::path::PathBuf,
        /// Print JSON (schema: crashview.log/1).
        #[arg(long)]
        json: bool,
    },
    /// One report from any input (region image, pstore directory, vmcore,
    /// dmesg text): records, log, first Oops/BUG/WARN, panic, taint, traces
    /// with file:line (when debug files are found), and the panic-phase
    /// timeline (exact from the recorder's journal, else inferred from the log).
    Report {
        /// Region image, pstore directory, systemd-pstore archive, crash
        /// directory (kdump-tools, kexec-tools), vmcore or text; several
        /// with --jsonl.
        #[arg(required = true)]
        inputs: Vec<std::path::PathBuf>,
        /// Print JSON (schema: crashview.report/1). Never opens the TUI.
        #[arg(long, conflicts_with = "jsonl")]
        json: bool,
        /// Print one compact JSON report per line, one per input, each as
        /// soon as it is read (for query engines and many inputs).
        #[arg(long)]
        jsonl: bool,
        /// Print the text report even on a terminal (no TUI).
        #[arg(long, visible_alias = "plain", conflicts_with_all = ["json", "jsonl"])]
        no_tui: bool,
        #[command(flatten)]
        symbols: SymbolArgs,
    },
    /// Browse the report in a terminal UI: summary, log with search and
    /// level filter, traces, timeline (`report` opens it on a terminal).
    Tui {
        /// Region image, pstore directory, systemd-pstore archive, vmcore or text.
        input: std::path::PathBuf,
        #[command(flatten)]
        symbols: SymbolArgs,
    },
    /// Print a shell completion script to standard output.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) to standard output.
    Man,
    /// Group many dumps by crash signature (reason + top frames), with counts
    /// and first/last seen. A crash directory (kdump-tools, kexec-tools) is
    /// one dump; any other directory without pstore files of its own stands
    /// for its entries (a systemd-pstore archive, /var/crash).
    Triage {
        /// Inputs (any kind `report` reads), or directories of them.
        #[arg(required = true)]
        inputs: Vec<std::path::PathBuf>,
        /// Print JSON (schema: crashview.triage/1).
        #[arg(long, conflicts_with = "jsonl")]
        json: bool,
        /// Stream one JSON object per dump (schema: crashview.triage.row/1)
        /// instead of the groups, in constant memory: for DuckDB, Spark,
        /// BigQuery.
        #[arg(long)]
        jsonl: bool,
    },
    /// Stacks from a vmcore's memory, unwound with the kernel's own ORC
    /// tables and named from its kallsyms (no debug file needed; file:line
    /// when DWARF is found or given): the crashed task by default.
    Bt(kernel_cmd::BtArgs),
    /// The task list from a vmcore's memory: pid, ppid, cpu, state, comm.
    Ps {
        /// The vmcore, or a crash directory holding it.
        vmcore: std::path::PathBuf,
        /// Print JSON (schema: crashview.ps/1).
        #[arg(long)]
        json: bool,
    },
    /// The modules loaded in a vmcore's kernel: name, base, size, taint.
    Modules {
        /// The vmcore, or a crash directory holding it.
        vmcore: std::path::PathBuf,
        /// Print JSON (schema: crashview.modules/1).
        #[arg(long)]
        json: bool,
    },
    /// What a vmcore is: release, crash time, panic, KASLR offset, CPUs, format.
    Info {
        /// The vmcore, or a crash directory holding it.
        vmcore: std::path::PathBuf,
        /// Print JSON (schema: crashview.info/1).
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
enum PstoreCommand {
    /// List every record: zone, type, reason, part, time, compression, ECC.
    List {
        /// Region image, pstore directory or systemd-pstore archive.
        input: std::path::PathBuf,
        /// Print JSON (schema: crashview.pstore.list/1).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        params: RamoopsArgs,
    },
    /// Write one file per record, named and filled as /sys/fs/pstore would.
    Extract {
        /// Region image, pstore directory or systemd-pstore archive.
        input: std::path::PathBuf,
        /// Output directory (created if missing).
        #[arg(short, long)]
        output: std::path::PathBuf,
        #[command(flatten)]
        params: RamoopsArgs,
    },
}

/// How `report` and `tui` resolve trace frames to file:line.
#[derive(Args, Debug, Default, Clone)]
pub struct SymbolArgs {
    #[command(flatten)]
    pub files: trace_cmd::DebugFileArgs,
    /// Do not look for debug files: frames stay as the log prints them.
    #[arg(long, conflicts_with_all = ["vmlinux", "modules"])]
    pub no_symbols: bool,
}

impl SymbolArgs {
    /// The debug-file search, or `None` with `--no-symbols`.
    pub fn options(&self) -> Option<crashview_symbolize::debug_files::DebugOptions> {
        (!self.no_symbols).then(|| self.files.options())
    }
}

/// Overrides for autodetection, named like the ramoops module parameters.
/// Numbers take decimal or 0x-prefixed hex.
#[derive(Args, Debug, Default, Clone)]
pub struct RamoopsArgs {
    /// ramoops mem_size (default: the image's size).
    #[arg(long, value_parser = parse_num)]
    pub mem_size: Option<u64>,
    /// ramoops record_size.
    #[arg(long, value_parser = parse_num)]
    pub record_size: Option<u64>,
    /// ramoops console_size.
    #[arg(long, value_parser = parse_num)]
    pub console_size: Option<u64>,
    /// ramoops ftrace_size.
    #[arg(long, value_parser = parse_num)]
    pub ftrace_size: Option<u64>,
    /// ramoops pmsg_size.
    #[arg(long, value_parser = parse_num)]
    pub pmsg_size: Option<u64>,
    /// ramoops ecc (0 = off; 1 means 16).
    #[arg(long, value_parser = parse_num)]
    pub ecc: Option<u64>,
    /// Number of per-CPU ftrace zones (the writer's nr_cpu_ids).
    #[arg(long, value_parser = parse_num)]
    pub ftrace_zones: Option<u64>,
}

impl RamoopsArgs {
    /// Validates the numeric ranges and converts to reader overrides.
    pub fn to_overrides(&self) -> anyhow::Result<Overrides> {
        let small = |name: &str, v: Option<u64>| -> anyhow::Result<Option<u32>> {
            v.map(|v| u32::try_from(v).with_context(|| format!("--{name} {v} is out of range")))
                .transpose()
        };
        Ok(Overrides {
            mem_size: self.mem_size,
            record_size: self.record_size,
            console_size: self.console_size,
            ftrace_size: self.ftrace_size,
            pmsg_size: self.pmsg_size,
            ecc: small("ecc", self.ecc)?,
            ftrace_zones: small("ftrace-zones", self.ftrace_zones)?,
        })
    }
}

fn parse_num(s: &str) -> Result<u64, String> {
    let r = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse(),
    };
    r.map_err(|e| format!("{s:?} is not a number: {e}"))
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Journal {
            input,
            journal_offset,
            json,
        } => journal_cmd::run(&input, journal_offset, json),
        Command::Report {
            inputs,
            json,
            jsonl,
            no_tui,
            symbols,
        } => {
            let format = match (json, jsonl) {
                (_, true) => report_cmd::Format::JsonLines,
                (true, _) => report_cmd::Format::Json,
                _ => report_cmd::Format::Text,
            };
            let tty = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
            match inputs.as_slice() {
                [one] if format == report_cmd::Format::Text && !no_tui && tty => {
                    tui::run(one, symbols.options())
                }
                _ => report_cmd::report(&inputs, format, symbols.options().as_ref()),
            }
        }
        Command::Tui { input, symbols } => tui::run(&input, symbols.options()),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "crashview", &mut std::io::stdout());
            Ok(())
        }
        Command::Man => {
            let cmd = <Cli as clap::CommandFactory>::command();
            clap_mangen::Man::new(cmd).render(&mut std::io::stdout())?;
            Ok(())
        }
        Command::Triage {
            inputs,
            json,
            jsonl,
        } => report_cmd::triage(&inputs, json, jsonl),
        Command::Trace(a) => trace_cmd::trace(&a),
        Command::Symbolize(a) => trace_cmd::symbolize(&a),
        Command::Log { input, json } if input::is_vmcore_path(&input) => {
            match vmcore_cmd::log(&input, json) {
                // A crash directory whose dump is unreadable: its dmesg
                // file, as `report` reads it.
                Err(e) if input.is_dir() => {
                    eprintln!(
                        "crashview: warning: {e:#}: reading the crash directory's dmesg file"
                    );
                    report_cmd::kernel_log(&input, json)
                }
                r => r,
            }
        }
        Command::Log { input, json } => report_cmd::kernel_log(&input, json),
        Command::Info { vmcore, json } => vmcore_cmd::info(&vmcore, json),
        Command::Bt(a) => kernel_cmd::bt(&a),
        Command::Ps { vmcore, json } => kernel_cmd::ps(&vmcore, json),
        Command::Modules { vmcore, json } => kernel_cmd::modules(&vmcore, json),
        Command::Pstore(PstoreCommand::List {
            input,
            json,
            params,
        }) => pstore_cmd::list(&input, &params.to_overrides()?, json),
        Command::Pstore(PstoreCommand::Extract {
            input,
            output,
            params,
        }) => pstore_cmd::extract(&input, &output, &params.to_overrides()?),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // A closed pipe (`crashview … | head`) is not a failure.
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("crashview: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
