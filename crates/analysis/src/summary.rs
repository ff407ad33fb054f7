//! The panic summary: the first report (Oops/BUG/WARN), the panic message,
//! the taint flags, the task and CPU, the faulting RIP, and the call traces
//! (parsed by `crashview-symbolize`).

use serde::Serialize;

use crate::log::KernelLog;
use crate::source::SourceLine;

/// A log line the summary points at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Marker {
    /// What it is: `oops`, `bug`, `warning`, `sysrq`, `hung-task`, `panic`.
    pub kind: &'static str,
    /// The message (for `panic`, after `Kernel panic - not syncing: `).
    pub text: String,
    /// Index into [`KernelLog::lines`].
    pub line: usize,
    /// Its timestamp.
    pub ts_ns: Option<u64>,
}

/// One decoded taint flag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaintFlag {
    /// The letter printed (`O`).
    pub letter: char,
    /// Bit number (`TAINT_OOT_MODULE` = 12).
    pub bit: u32,
    /// The kernel's name without `TAINT_` (`OOT_MODULE`).
    pub name: &'static str,
    /// What it means.
    pub meaning: &'static str,
}

/// The `Tainted:` field decoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Taint {
    /// The field as printed (`G           OE`), trimmed.
    pub raw: String,
    /// The taint mask (`/proc/sys/kernel/tainted`).
    pub mask: u64,
    /// Each set flag.
    pub flags: Vec<TaintFlag>,
}

/// What the log says about the crash.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PanicSummary {
    /// The first Oops/BUG/WARN (or sysrq crash, hung task) in the log.
    pub first_report: Option<Marker>,
    /// The first `Kernel panic - not syncing:` line.
    pub panic: Option<Marker>,
    /// How many `Kernel panic - not syncing:` lines (more than one: nested).
    pub panic_lines: usize,
    /// Decoded `Tainted:` (from the first report's `CPU:` line).
    pub taint: Option<Taint>,
    /// CPU of the first report.
    pub cpu: Option<u32>,
    /// PID of the first report.
    pub pid: Option<u32>,
    /// Task name (`Comm:`).
    pub comm: Option<String>,
    /// Kernel release from the `CPU:` line.
    pub release: Option<String>,
    /// The kdump kernel was loaded (`Kdump: loaded` on the `CPU:` line).
    pub kdump_loaded: bool,
    /// The first kernel-mode `RIP:` (`crashmod_oops_target+0x1c/0x25 [crashmod]`).
    pub rip: Option<String>,
    /// KASLR offset from `Kernel Offset:`.
    pub kernel_offset: Option<u64>,
}

/// One call trace, owned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TraceInfo {
    /// Where the trace comes from: the log, or a stack unwound from the
    /// dump's memory.
    pub source: TraceSource,
    /// The report's first line, when the parser tied one to the trace; for
    /// a stack from the dump, which task and CPU.
    pub title: Option<String>,
    /// First and last log line (indices into [`KernelLog::lines`]); `(0, 0)`
    /// for a stack from the dump.
    pub lines: (usize, usize),
    /// The frames, `RIP:` first.
    pub frames: Vec<FrameInfo>,
}

/// Where a [`TraceInfo`] was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TraceSource {
    /// Printed by the kernel into its log.
    Log,
    /// Unwound from the dump's memory (kallsyms + ORC, `crashview bt`).
    Dump,
}

/// One frame of a [`TraceInfo`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FrameInfo {
    /// The function (`crashmod_write.cold`), when printed.
    pub function: Option<String>,
    /// Offset into it.
    pub offset: Option<u64>,
    /// The module, `None` for vmlinux.
    pub module: Option<String>,
    /// `false` for `?` frames.
    pub reliable: bool,
    /// A `RIP:` line.
    pub rip: bool,
    /// A user-mode `RIP:`.
    pub user: bool,
    /// The line as printed.
    pub text: String,
    /// Its index in [`KernelLog::lines`].
    pub line: usize,
    /// Source positions, innermost (inlined) first: empty until the report
    /// is [symbolized](crate::Report::symbolize), or when unknown.
    pub source: Vec<SourceLine>,
    /// Why `source` is empty, once symbolized.
    pub note: Option<String>,
}

/// kernel/panic.c `taint_flags[]` (6.1): letter when set, name, meaning.
/// Bit 0 prints `G` when clear.
pub const TAINT_FLAGS: [(char, &str, &str); 19] = [
    ('P', "PROPRIETARY_MODULE", "proprietary module was loaded"),
    ('F', "FORCED_MODULE", "module was force loaded"),
    (
        'S',
        "CPU_OUT_OF_SPEC",
        "kernel running on an out of specification system",
    ),
    ('R', "FORCED_RMMOD", "module was force unloaded"),
    (
        'M',
        "MACHINE_CHECK",
        "processor reported a Machine Check Exception",
    ),
    (
        'B',
        "BAD_PAGE",
        "bad page referenced or unexpected page flags",
    ),
    ('U', "USER", "taint requested by userspace"),
    ('D', "DIE", "kernel died recently (OOPS or BUG)"),
    (
        'A',
        "OVERRIDDEN_ACPI_TABLE",
        "an ACPI table was overridden by the user",
    ),
    ('W', "WARN", "kernel issued a warning"),
    ('C', "CRAP", "staging driver was loaded"),
    (
        'I',
        "FIRMWARE_WORKAROUND",
        "workaround for a platform firmware bug applied",
    ),
    (
        'O',
        "OOT_MODULE",
        "externally-built (out-of-tree) module was loaded",
    ),
    ('E', "UNSIGNED_MODULE", "unsigned module was loaded"),
    ('L', "SOFTLOCKUP", "soft lockup occurred"),
    ('K', "LIVEPATCH", "kernel has been live patched"),
    ('X', "AUX", "auxiliary taint (distribution defined)"),
    (
        'T',
        "RANDSTRUCT",
        "kernel built with the struct randomization plugin",
    ),
    ('N', "TEST", "an in-kernel test has been run"),
];

/// Decodes the flags field of a `Tainted:` line. print_tainted() prints one
/// column per flag (the letter, or a space; `G` for bit 0 clear), so the
/// position decides; a letter in the wrong column (another kernel's table)
/// is looked up by letter instead.
pub fn decode_taint(field: &str) -> Taint {
    let mut mask = 0u64;
    for (i, c) in field.chars().enumerate() {
        if c == ' ' || (i == 0 && c == 'G') {
            continue;
        }
        let bit = match TAINT_FLAGS.get(i) {
            Some(&(l, _, _)) if l == c => Some(i),
            _ => TAINT_FLAGS.iter().position(|&(l, _, _)| l == c),
        };
        if let Some(b) = bit {
            mask |= 1 << b;
        }
    }
    let flags = TAINT_FLAGS
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(i, &(letter, name, meaning))| TaintFlag {
            letter,
            bit: i as u32,
            name,
            meaning,
        })
        .collect();
    Taint {
        raw: field.trim_end().to_string(),
        mask,
        flags,
    }
}

fn report_kind(t: &str) -> Option<&'static str> {
    if t.starts_with("BUG: ") || t.starts_with("kernel BUG at ") || t.starts_with("watchdog: BUG:")
    {
        Some("bug")
    } else if t.starts_with("Oops: ")
        || t.starts_with("Oops - ")
        || t.starts_with("general protection fault")
        || t.starts_with("Unable to handle kernel")
    {
        Some("oops")
    } else if t.starts_with("WARNING: ") {
        Some("warning")
    } else if t.starts_with("sysrq: Trigger a crash") {
        Some("sysrq")
    } else if t.starts_with("INFO: task ") && t.contains("blocked for more than") {
        Some("hung-task")
    } else {
        None
    }
}

/// The message of a `Kernel panic - not syncing:` line.
pub fn panic_message(t: &str) -> Option<&str> {
    t.strip_prefix("Kernel panic - not syncing")
        .map(|r| r.trim_start_matches(':').trim())
}

/// `CPU: 0 PID: 99 Comm: sh [Kdump: loaded] Tainted: G  OE  6.1.0 #1 …`;
/// since 6.10 with the uid: `CPU: 0 UID: 0 PID: 160 Comm: insmod …`.
struct CpuLine {
    cpu: Option<u32>,
    pid: Option<u32>,
    comm: Option<String>,
    kdump: bool,
    taint: Option<Taint>,
    release: Option<String>,
}

fn cpu_line(t: &str) -> Option<CpuLine> {
    let rest = t.strip_prefix("CPU: ")?;
    let (cpu, rest) = rest.split_once(" PID: ")?;
    let (pid, rest) = rest.split_once(" Comm: ")?;
    let ends = [" Kdump: ", " Tainted: ", " Not tainted "];
    let end = ends
        .iter()
        .filter_map(|e| rest.find(e))
        .min()
        .unwrap_or(rest.len());
    let comm = rest.get(..end)?.to_string();
    let tail = rest.get(end..)?;
    let mut taint = None;
    let mut release_part = tail;
    if let Some(p) = tail.find(" Tainted: ") {
        let field = tail.get(p..)?.get(" Tainted: ".len()..)?;
        // The flags are letters and spaces; the release starts with a digit.
        let cut = field
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(field.len());
        taint = Some(decode_taint(field.get(..cut)?));
        release_part = field.get(cut..)?;
    } else if let Some(p) = tail.find(" Not tainted ") {
        taint = Some(decode_taint(""));
        release_part = tail.get(p..)?.get(" Not tainted ".len()..)?;
    }
    // 6.10+ prints the uid between the CPU and the pid (lib/dump_stack.c).
    let cpu = cpu.split(" UID: ").next().unwrap_or(cpu);
    Some(CpuLine {
        cpu: cpu.trim().parse().ok(),
        pid: pid.trim().parse().ok(),
        comm: Some(comm),
        kdump: tail.contains(" Kdump: loaded"),
        taint,
        release: release_part
            .split_whitespace()
            .next()
            .filter(|r| r.starts_with(|c: char| c.is_ascii_digit()))
            .map(str::to_owned),
    })
}

/// Reads the summary and the traces out of the log.
pub fn summarize(log: &KernelLog) -> (PanicSummary, Vec<TraceInfo>) {
    let mut s = PanicSummary::default();
    let mut cpu: Option<(usize, CpuLine)> = None;
    for (i, l) in log.lines.iter().enumerate() {
        let t = l.text.trim_start();
        if s.first_report.is_none() {
            if let Some(kind) = report_kind(t) {
                s.first_report = Some(Marker {
                    kind,
                    text: t.to_string(),
                    line: i,
                    ts_ns: l.ts_ns,
                });
            }
        }
        if let Some(m) = panic_message(t) {
            s.panic_lines = s.panic_lines.saturating_add(1);
            if s.panic.is_none() {
                s.panic = Some(Marker {
                    kind: "panic",
                    text: m.to_string(),
                    line: i,
                    ts_ns: l.ts_ns,
                });
            }
        }
        // The CPU: line of the first report (or the first one at all).
        let want = cpu.as_ref().is_none_or(|(at, _)| {
            s.first_report
                .as_ref()
                .is_some_and(|r| *at < r.line && i >= r.line)
        });
        if want {
            if let Some(c) = cpu_line(t) {
                cpu = Some((i, c));
            }
        }
        if s.rip.is_none() {
            if let Some(r) = t.strip_prefix("RIP: ") {
                if !r.starts_with("0033:") {
                    s.rip = Some(r.strip_prefix("0010:").unwrap_or(r).to_string());
                }
            }
        }
        if let Some(o) = t.strip_prefix("Kernel Offset: 0x") {
            let hex: String = o.chars().take_while(char::is_ascii_hexdigit).collect();
            s.kernel_offset = u64::from_str_radix(&hex, 16).ok();
        } else if t.starts_with("Kernel Offset: disabled") {
            s.kernel_offset = Some(0);
        }
    }
    if let Some((_, c)) = cpu {
        s.cpu = c.cpu;
        s.pid = c.pid;
        s.comm = c.comm;
        s.kdump_loaded = c.kdump;
        s.taint = c.taint;
        s.release = c.release;
    }
    (s, traces(log))
}

/// The log as the trace parser reads it: one text line per log line, so
/// the parser's line numbers are log indices.
pub(crate) fn trace_text(log: &KernelLog) -> String {
    let mut text = String::new();
    for l in &log.lines {
        text.push_str(&l.text.replace(['\n', '\r'], " "));
        text.push('\n');
    }
    text
}

fn traces(log: &KernelLog) -> Vec<TraceInfo> {
    let text = trace_text(log);
    let parsed = crashview_symbolize::parse::parse_log(&text);
    parsed
        .traces
        .iter()
        .map(|t| TraceInfo {
            source: TraceSource::Log,
            title: t.title.map(str::to_owned),
            lines: (t.first_line, t.last_line),
            frames: t
                .frames()
                .map(|f| FrameInfo {
                    function: f.symbol.map(|s| s.name.to_string()),
                    offset: f.symbol.map(|s| s.offset),
                    module: f.module.map(str::to_owned),
                    reliable: f.reliable,
                    rip: f.is_rip,
                    user: f.user,
                    text: f.text.to_string(),
                    line: f.line,
                    source: Vec::new(),
                    note: None,
                })
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taint_columns() {
        let t = decode_taint("G           OE      ");
        assert_eq!(t.mask, 0x3000);
        assert_eq!(t.flags.len(), 2);
        assert_eq!(t.flags[0].name, "OOT_MODULE");
        assert_eq!(decode_taint("P        W  OE      ").mask, 0x3201);
        assert_eq!(decode_taint("").mask, 0);
    }

    #[test]
    fn cpu_lines() {
        let c = cpu_line(
            "CPU: 0 PID: 90 Comm: sh Kdump: loaded Tainted: G           OE      6.1.0-56-amd64 #1  Debian",
        )
        .unwrap();
        assert_eq!((c.cpu, c.pid), (Some(0), Some(90)));
        assert_eq!(c.comm.as_deref(), Some("sh"));
        assert!(c.kdump);
        assert_eq!(c.taint.unwrap().mask, 0x3000);
        assert_eq!(c.release.as_deref(), Some("6.1.0-56-amd64"));
        let c = cpu_line("CPU: 0 UID: 0 PID: 160 Comm: insmod Tainted: G           OE      6.12.57+deb12-amd64 #1  Debian 6.12.57-1~bpo12+1").unwrap();
        assert_eq!((c.cpu, c.pid), (Some(0), Some(160)));
        assert_eq!(c.comm.as_deref(), Some("insmod"));
        assert_eq!(c.release.as_deref(), Some("6.12.57+deb12-amd64"));
        let c = cpu_line("CPU: 1 PID: 7 Comm: kworker/1:0 Not tainted 6.1.0 #1").unwrap();
        assert_eq!(c.comm.as_deref(), Some("kworker/1:0"));
        assert_eq!(c.taint.unwrap().mask, 0);
    }
}
