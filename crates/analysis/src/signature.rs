//! Crash signatures: what makes two dumps "the same crash".
//!
//! A signature is the reason (the first report's title, else the panic
//! message) and the top [`TOP_FRAMES`] reliable frames of the first trace,
//! with everything that varies between occurrences of one bug removed:
//! frame offsets and sizes, addresses, and numbers in the reason
//! (`address: 0000000000000008` and `[#1]` become `address: _`, `[#_]`).

use serde::Serialize;

use crate::summary::{PanicSummary, TraceInfo, TraceSource};

/// Frames kept in a signature.
pub const TOP_FRAMES: usize = 5;

/// A crash signature.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Signature {
    /// 16 hex digits: FNV-1a of reason and frames (stable across runs).
    pub id: String,
    /// The normalized reason.
    pub reason: String,
    /// `function [module]` of the top frames, innermost first.
    pub frames: Vec<String>,
}

/// Functions of the reporting machinery itself (panic, WARN, BUG, stack
/// dumping, exception entry): the same in every crash, so not part of a
/// signature.
const MACHINERY: &[&str] = &[
    "dump_stack_lvl",
    "dump_stack",
    "panic",
    "vpanic",
    "__warn",
    "warn_slowpath_fmt",
    "report_bug",
    "handle_bug",
    "exc_invalid_op",
    "asm_exc_invalid_op",
    "die",
    "oops_end",
    "__die",
    // Where a dump finds the panicking CPU: kdump's entry, and panic()'s
    // delay loop when the dump is taken from outside (QEMU).
    "__crash_kexec",
    "crash_kexec",
    "delay_tsc",
];

/// Replaces numbers (decimal, hex, `0x…`) with `_`, keeping words.
pub fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for tok in s.split_inclusive(|c: char| !c.is_ascii_alphanumeric()) {
        let (word, sep) = match tok.char_indices().last() {
            Some((i, c)) if !c.is_ascii_alphanumeric() => (tok.get(..i).unwrap_or(""), &tok[i..]),
            _ => (tok, ""),
        };
        let w = word.strip_prefix("0x").unwrap_or(word);
        let numeric = !w.is_empty()
            && (w.bytes().all(|b| b.is_ascii_digit())
                || (w.len() >= 8 && w.bytes().all(|b| b.is_ascii_hexdigit()))
                || (word.starts_with("0x") && w.bytes().all(|b| b.is_ascii_hexdigit())));
        out.push_str(if numeric { "_" } else { word });
        out.push_str(sep);
    }
    // `func+_/_` (a symbol with offset/size) is the function alone.
    out.replace("+_/_", "").replace("+_", "").trim().to_string()
}

fn fnv1a(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// The signature of a report's summary and traces.
pub fn signature(s: &PanicSummary, traces: &[TraceInfo]) -> Signature {
    let reason = s
        .first_report
        .as_ref()
        .map(|r| r.text.as_str())
        .or(s.panic.as_ref().map(|p| p.text.as_str()))
        .map(normalize)
        .unwrap_or_else(|| "no crash found".into());
    // The first report's trace: the first log trace at or after its line;
    // with none in the log, the crashed task's stack from the dump (first
    // of the dump's).
    let first = s.first_report.as_ref().map_or(0, |r| r.line);
    let logged = || traces.iter().filter(|t| t.source == TraceSource::Log);
    let trace = logged()
        .find(|t| t.lines.1 >= first)
        .or_else(|| logged().next())
        .or_else(|| traces.iter().find(|t| t.source == TraceSource::Dump));
    let frames: Vec<String> = trace
        .map(|t| {
            t.frames
                .iter()
                .filter(|f| f.reliable && !f.user)
                .filter_map(|f| {
                    let func = f.function.as_deref()?;
                    if MACHINERY.contains(&func) {
                        return None;
                    }
                    Some(match &f.module {
                        Some(m) => format!("{func} [{m}]"),
                        None => func.to_string(),
                    })
                })
                .take(TOP_FRAMES)
                .collect()
        })
        .unwrap_or_default();
    let mut parts: Vec<&str> = vec![reason.as_str()];
    parts.extend(frames.iter().map(String::as_str));
    Signature {
        id: format!("{:016x}", fnv1a(&parts)),
        reason,
        frames,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::{FrameInfo, TraceSource};

    fn trace(source: TraceSource, funcs: &[&str]) -> TraceInfo {
        TraceInfo {
            source,
            title: None,
            lines: (0, 0),
            frames: funcs
                .iter()
                .map(|f| FrameInfo {
                    function: Some(f.to_string()),
                    offset: Some(0),
                    module: None,
                    reliable: true,
                    rip: false,
                    user: false,
                    text: f.to_string(),
                    line: 0,
                    source: Vec::new(),
                    note: None,
                })
                .collect(),
        }
    }

    #[test]
    fn the_log_trace_signs_else_the_dumps_crashed_stack() {
        let s = PanicSummary::default();
        let dump = trace(
            TraceSource::Dump,
            &[
                "__crash_kexec",
                "panic",
                "crashmod_panic_target",
                "crashmod_write",
            ],
        );
        let log = trace(
            TraceSource::Log,
            &["crashmod_oops_target", "crashmod_write"],
        );
        let with_log = signature(&s, &[log, dump.clone()]);
        assert_eq!(with_log.frames, ["crashmod_oops_target", "crashmod_write"]);
        // No trace in the log: the stack unwound from the dump signs it
        // (panic, the machinery, left out as in log traces).
        let dump_only = signature(&s, &[dump]);
        assert_eq!(
            dump_only.frames,
            ["crashmod_panic_target", "crashmod_write"]
        );
        assert_ne!(with_log.id, dump_only.id);
    }
}
