//! The `log_buf` of Linux 3.5–5.9: variable-length `struct printk_log`
//! records (`ts_nsec` u64, `len` u16, `text_len` u16, `dict_len` u16,
//! `facility` u8, `flags:5`/`level:3` u8, then text and dictionary) from
//! `log_first_idx` to `log_next_idx`; a record with `len` 0 means "continue
//! at offset 0". VMCOREINFO names the struct `printk_log` (3.11+) or `log`.

use crashview_vmcore::{KernelMemory, VmcoreInfo};

use crate::log::{Diagnostic, Error, Log, Record, RecordState, Result, RingKind};
use crate::mem::{le, read_u32, read_u64, sym, Region};

/// Largest log_buf accepted (1 GiB).
pub const MAX_LOG_BUF: u64 = 1 << 30;

fn field(vi: &VmcoreInfo, name: &str) -> Option<u64> {
    vi.offset("printk_log", name)
        .or_else(|| vi.offset("log", name))
}

fn missing(key: &'static str) -> Error {
    Error::MissingVmcoreinfo { key }
}

pub(crate) fn read(mem: &dyn KernelMemory, vi: &VmcoreInfo) -> Result<Log> {
    let hdr = vi
        .size("printk_log")
        .or_else(|| vi.size("log"))
        .ok_or(missing("SIZE(printk_log)"))?;
    let o_ts = field(vi, "ts_nsec").ok_or(missing("OFFSET(printk_log.ts_nsec)"))?;
    let o_len = field(vi, "len").ok_or(missing("OFFSET(printk_log.len)"))?;
    let o_text_len = field(vi, "text_len").ok_or(missing("OFFSET(printk_log.text_len)"))?;
    let o_caller = field(vi, "caller_id");
    let buf = read_u64(mem, sym(vi, "SYMBOL(log_buf)")?, "log_buf (pointer)")?;
    let buf_len = u64::from(read_u32(
        mem,
        sym(vi, "SYMBOL(log_buf_len)")?,
        "log_buf_len",
    )?);
    let first = u64::from(read_u32(
        mem,
        sym(vi, "SYMBOL(log_first_idx)")?,
        "log_first_idx",
    )?);
    let next = u64::from(read_u32(
        mem,
        sym(vi, "SYMBOL(log_next_idx)")?,
        "log_next_idx",
    )?);
    let first_seq = match vi.symbol("log_first_seq") {
        Some(a) => read_u64(mem, a, "log_first_seq").unwrap_or(0),
        None => 0,
    };
    if buf_len == 0 || buf_len > MAX_LOG_BUF {
        return Err(Error::BadRing {
            what: "log_buf_len",
            value: buf_len,
        });
    }
    // text_len, dict_len (u16 each), facility, flags/level: 6 bytes from
    // text_len's offset, all inside the header.
    if o_text_len.checked_add(6).is_none_or(|end| hdr < end) || hdr > 64 {
        return Err(Error::BadRing {
            what: "SIZE(printk_log)",
            value: hdr,
        });
    }
    // Below hdr <= 64 (checked just above): these sums cannot wrap.
    let (o_facility, o_flags) = (o_text_len.wrapping_add(4), o_text_len.wrapping_add(5));
    if first >= buf_len || next >= buf_len {
        return Err(Error::BadRing {
            what: "log_first_idx/log_next_idx",
            value: first.max(next),
        });
    }
    let mut diagnostics = Vec::new();
    let mut ring = Region::new(mem, buf, buf_len, "log_buf");
    let mut records = Vec::new();
    let mut idx = first;
    let mut wrapped = false;
    let mut skipped = 0u64;
    // Each record is at least `hdr` (>= 6) bytes, so this bounds the walk.
    // Offsets stay below buf_len <= MAX_LOG_BUF (checked as they advance),
    // so `idx + x` below never saturates; addresses wrap like the kernel's.
    for _ in 0..=buf_len.checked_div(hdr).unwrap_or(0) {
        if idx == next && (wrapped || !records.is_empty() || first == next) {
            break;
        }
        let Some(h) = ring.get(idx, hdr).map(<[u8]>::to_vec) else {
            if idx.saturating_add(hdr) > buf_len && !wrapped {
                // No room for a header at the end: the kernel wrapped.
                idx = 0;
                wrapped = true;
                continue;
            }
            diagnostics.push(Diagnostic {
                addr: buf.wrapping_add(idx),
                structure: "printk_log",
                message: "header unreadable; stopping".into(),
            });
            break;
        };
        let len = le(&h, o_len, 2);
        if len == 0 {
            if wrapped {
                diagnostics.push(Diagnostic {
                    addr: buf.wrapping_add(idx),
                    structure: "printk_log",
                    message: "second wrap marker; stopping".into(),
                });
                break;
            }
            idx = 0;
            wrapped = true;
            continue;
        }
        let text_len = le(&h, o_text_len, 2);
        if len < hdr || idx.saturating_add(len) > buf_len || hdr.saturating_add(text_len) > len {
            diagnostics.push(Diagnostic {
                addr: buf.wrapping_add(idx),
                structure: "printk_log",
                message: format!("record length {len} (text {text_len}) does not fit; stopping"),
            });
            skipped = skipped.saturating_add(1);
            break;
        }
        let Some(text) = ring.get(idx.saturating_add(hdr), text_len) else {
            skipped = skipped.saturating_add(1);
            idx = idx.saturating_add(len);
            continue;
        };
        let fl = le(&h, o_flags, 1) as u8;
        records.push(Record {
            // Sequence numbers wrap at 64 bits, as the kernel's u64 does.
            seq: first_seq.wrapping_add(records.len() as u64),
            ts_nsec: le(&h, o_ts, 8),
            level: fl >> 5,
            facility: le(&h, o_facility, 1) as u8,
            flags: fl & 0x1f,
            caller_id: o_caller.map(|o| le(&h, o, 4) as u32),
            subsystem: String::new(),
            device: String::new(),
            text: text.to_vec(),
            state: RecordState::Legacy,
        });
        idx = idx.saturating_add(len);
    }
    let mut all = std::mem::take(&mut ring.diagnostics);
    all.append(&mut diagnostics);
    Ok(Log {
        kind: RingKind::Legacy,
        records,
        diagnostics: all,
        skipped,
        reusable: 0,
    })
}
