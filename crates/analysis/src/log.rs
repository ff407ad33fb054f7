//! The kernel log of an input: pstore records and the kmsg dumps they make
//! up, and which text is "the log" the rest of the report reads.
//!
//! Policy: a kmsg dump is split into parts, `Part1` holding the newest
//! chunk (fs/pstore/platform.c `pstore_dump`), so a dump is its parts from
//! the highest number down. The newest dump (highest `#count`; a `Panic`
//! dump over an `Oops` dump of the same count) is the kernel log: it holds
//! the most of what happened.

use serde::Serialize;

use crashview_ramoops::pstore::{PstoreFile, Source};

use crate::input::Input;
pub use crate::input::LogLine;

/// The log the report is read from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct KernelLog {
    /// Where it came from: `dump Panic#1`, `printk ring`, `text`.
    pub source: String,
    /// The lines, oldest first.
    pub lines: Vec<LogLine>,
}

/// One pstore record, as listed in the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordInfo {
    /// pstore file name (`dmesg-ramoops-0`).
    pub name: String,
    /// Record type (`dmesg`, `console`, …).
    #[serde(rename = "type")]
    pub type_name: String,
    /// Dump reason (`Oops`, `Panic`, …) of dmesg records.
    pub reason: Option<&'static str>,
    /// pstore's dump counter.
    pub count: Option<u32>,
    /// Part number (1 = newest chunk).
    pub part: Option<u32>,
    /// Dump time, seconds since the epoch (ramoops header, or file mtime).
    pub time: Option<i64>,
    /// Still compressed: could not be inflated (the log is not readable).
    pub compressed: bool,
    /// Bytes of the record as pstore shows it.
    pub bytes: usize,
    /// ECC corrected bytes and bad blocks, for ECC zones of a region.
    pub ecc: Option<(u32, u32)>,
}

/// A kmsg dump reassembled from its parts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dump {
    /// `Panic`, `Oops`, …
    pub reason: &'static str,
    /// pstore's dump counter (`Panic#<count>`).
    pub count: u32,
    /// Part numbers found, newest chunk (1) first.
    pub parts: Vec<u32>,
    /// Log lines in the dump.
    pub lines: usize,
    /// Timestamp of the dump's last log line: the dump ran after it.
    pub last_ts_ns: Option<u64>,
    /// Text of the dump's last log line.
    pub last_line: Option<String>,
    /// Dump time, seconds since the epoch.
    pub time: Option<i64>,
}

/// Parses `<l>[ sec.usec] text` (both prefixes optional).
pub fn parse_line(raw: &str) -> (Option<u8>, Option<u64>, &str) {
    let mut s = raw.trim_end_matches(['\r', '\n']);
    let mut level = None;
    if let Some(rest) = s.strip_prefix('<') {
        if let Some((n, tail)) = rest.split_once('>') {
            if (1..=3).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()) {
                level = n.parse::<u16>().ok().map(|v| (v & 7) as u8);
                s = tail;
            }
        }
    }
    let mut ts = None;
    if let Some(rest) = s.strip_prefix('[') {
        if let Some((inner, tail)) = rest.split_once(']') {
            if let Some((sec, usec)) = inner.trim_start().split_once('.') {
                if !sec.is_empty()
                    && sec.bytes().all(|b| b.is_ascii_digit())
                    && (1..=9).contains(&usec.len())
                    && usec.bytes().all(|b| b.is_ascii_digit())
                {
                    // A seconds field too large for u64 nanoseconds is not
                    // a printk timestamp: the line keeps it as text.
                    let digits = u32::try_from(usec.len()).unwrap_or(9);
                    let scale = 10u64.checked_pow(9u32.saturating_sub(digits));
                    let ns = sec.parse::<u64>().ok().and_then(|sec| {
                        let frac: u64 = usec.parse().ok()?;
                        sec.checked_mul(1_000_000_000)?
                            .checked_add(frac.checked_mul(scale?)?)
                    });
                    if let Some(ns) = ns {
                        ts = Some(ns);
                        s = tail.strip_prefix(' ').unwrap_or(tail);
                    }
                }
            }
        }
    }
    (level, ts, s)
}

/// Log lines of a text: with timestamps only, when any line has one (a
/// serial console mixes kernel lines with firmware and shell output).
pub fn text_lines(text: &str) -> Vec<LogLine> {
    let all: Vec<LogLine> = text
        .lines()
        .map(|l| {
            let (level, ts_ns, t) = parse_line(l);
            LogLine {
                ts_ns,
                level,
                text: t.to_string(),
            }
        })
        .collect();
    if all.iter().any(|l| l.ts_ns.is_some()) {
        all.into_iter().filter(|l| l.ts_ns.is_some()).collect()
    } else {
        all.into_iter().filter(|l| !l.text.is_empty()).collect()
    }
}

/// Lines of one dmesg record: without the part line and ECC notice.
fn record_lines(f: &PstoreFile) -> Vec<LogLine> {
    let text = String::from_utf8_lossy(&f.contents);
    let body = match f.part {
        Some(p) => text.get(p.len..).unwrap_or(""),
        None => &text,
    };
    body.lines()
        .filter_map(|l| {
            let (level, ts_ns, t) = parse_line(l);
            if ts_ns.is_none() && (t.is_empty() || t.starts_with("ECC: ")) {
                return None;
            }
            Some(LogLine {
                ts_ns,
                level,
                text: t.to_string(),
            })
        })
        .collect()
}

fn record_info(f: &PstoreFile) -> RecordInfo {
    RecordInfo {
        name: f.name.clone(),
        type_name: f.type_name.clone(),
        reason: f.part.map(|p| p.reason.as_str()),
        count: f.part.map(|p| p.count),
        part: f.part.map(|p| p.part),
        time: f.time.map(|t| t.0),
        compressed: f.compressed,
        bytes: f.contents.len(),
        ecc: match f.source {
            Source::Region { ecc, .. } => ecc,
            Source::File(_) => None,
        },
    }
}

fn reason_rank(r: &str) -> u8 {
    match r {
        "Panic" => 3,
        "Oops" => 2,
        "Emergency" => 1,
        _ => 0,
    }
}

/// Records, dumps and the kernel log of an input.
pub fn build(input: &Input, diags: &mut Vec<String>) -> (Vec<RecordInfo>, Vec<Dump>, KernelLog) {
    if let Some(v) = &input.vmcore {
        return (
            Vec::new(),
            Vec::new(),
            KernelLog {
                source: "printk ring".into(),
                lines: v.log.clone(),
            },
        );
    }
    if let Some(t) = &input.text {
        return (
            Vec::new(),
            Vec::new(),
            KernelLog {
                source: "text".into(),
                lines: text_lines(t),
            },
        );
    }
    let records: Vec<RecordInfo> = input.files.iter().map(record_info).collect();
    // (reason, count) -> [(part, lines, time)]
    type Parts = Vec<(u32, Vec<LogLine>, Option<i64>)>;
    let mut groups: Vec<((&'static str, u32), Parts)> = Vec::new();
    for f in &input.files {
        if f.type_name != "dmesg" {
            continue;
        }
        if f.compressed {
            diags.push(format!(
                "{}: {}: still compressed (damaged beyond ECC?): its log is not readable",
                input.name, f.name
            ));
            continue;
        }
        let Some(p) = f.part else {
            continue;
        };
        let key = (p.reason.as_str(), p.count);
        let entry = (p.part, record_lines(f), f.time.map(|t| t.0));
        match groups.iter_mut().find(|g| g.0 == key) {
            Some(g) => g.1.push(entry),
            None => groups.push((key, vec![entry])),
        }
    }
    groups.sort_by_key(|g| (g.0 .1, reason_rank(g.0 .0)));
    let mut dumps = Vec::new();
    let mut texts = Vec::new();
    for ((reason, count), mut parts) in groups {
        parts.sort_by_key(|p| std::cmp::Reverse(p.0));
        let lines: Vec<LogLine> = parts.iter().flat_map(|p| p.1.iter().cloned()).collect();
        let last = lines.iter().rev().find(|l| l.ts_ns.is_some());
        dumps.push(Dump {
            reason,
            count,
            parts: parts.iter().rev().map(|p| p.0).collect(),
            lines: lines.len(),
            last_ts_ns: last.and_then(|l| l.ts_ns),
            last_line: last.map(|l| l.text.clone()),
            time: parts.iter().filter_map(|p| p.2).max(),
        });
        texts.push(lines);
    }
    let log = match (dumps.last(), texts.pop()) {
        (Some(d), Some(lines)) => KernelLog {
            source: format!("dump {}#{}", d.reason, d.count),
            lines,
        },
        _ => {
            // No dmesg dump: a console record is the next best log.
            let console = input.files.iter().find(|f| f.type_name == "console");
            KernelLog {
                source: console.map_or_else(String::new, |f| format!("record {}", f.name)),
                lines: console
                    .map(|f| text_lines(&String::from_utf8_lossy(&f.contents)))
                    .unwrap_or_default(),
            }
        }
    };
    (records, dumps, log)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_too_large_for_nanoseconds_stays_text() {
        // 10^17 s is 10^26 ns: past u64. It used to wrap in release builds
        // and panic in debug and fuzz builds.
        let raw = "[99999999999999999.123456] x";
        assert_eq!(parse_line(raw), (None, None, raw));
        // The largest that fits.
        let (_, ts, text) = parse_line("[18446744073.709551] y");
        assert_eq!((ts, text), (Some(18_446_744_073_709_551_000), "y"));
        assert_eq!(parse_line("[18446744074.000000] z").1, None);
    }

    #[test]
    fn prefixes() {
        assert_eq!(
            parse_line("<4>[    2.286633] CPU: 0 PID: 99"),
            (Some(4), Some(2_286_633_000), "CPU: 0 PID: 99")
        );
        assert_eq!(parse_line("[ 12.5] x"), (None, Some(12_500_000_000), "x"));
        assert_eq!(parse_line("Killed"), (None, None, "Killed"));
        assert_eq!(parse_line("[<ffffffff>] f"), (None, None, "[<ffffffff>] f"));
    }
}
