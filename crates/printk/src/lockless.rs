//! The lockless printk ring buffer (kernel/printk/printk_ringbuffer.[ch],
//! Linux 5.10+), located and decoded from VMCOREINFO alone.
//!
//! `prb` points at a `printk_ringbuffer`: a descriptor ring (`descs`,
//! `infos`, `count_bits`, `head_id`, `tail_id`) and a text data ring (`data`,
//! `size_bits`, `head_lpos`, `tail_lpos`). Descriptor ids increase forever;
//! `id & (count - 1)` is the slot. A descriptor's `state_var` holds its id in
//! the low 62 bits and its state (reserved, committed, finalized, reusable)
//! in the top two. Its `text_blk_lpos` (`begin`, `next`) are logical
//! positions in the data ring: the block at `begin & (size - 1)` starts with
//! the descriptor id; a block that would cross the ring's end is stored at
//! offset 0 instead (`begin` is then one wrap behind `next`). Odd positions
//! mean "no data" (`FAILED_LPOS` 0x1, `NO_LPOS` 0x3 for an empty message).
//!
//! Records are read from `tail_id` to `head_id`. A record is shown only if
//! its descriptor still carries the expected id, its state is committed or
//! finalized, its `info.seq` falls in the same slot (seq and id advance
//! together), and its data block still starts with its id; anything else was
//! overwritten (wrapped ring) or torn (being written at the crash) and is
//! counted in [`Log::skipped`](crate::log::Log::skipped) (reusable descriptors, whose
//! data was recycled, in [`Log::reusable`](crate::log::Log::reusable)).

use crashview_vmcore::{KernelMemory, VmcoreInfo};

use crate::log::{Diagnostic, Error, Log, Record, RecordState, Result, RingKind};
use crate::mem::{cstr, dec, le, read_u32, read_u64, sym, Region};

const DESC_ID_MASK: u64 = !(3u64 << 62);
const FAILED_LPOS: u64 = 0x1;
const NO_LPOS: u64 = 0x3;
/// Largest descriptor ring accepted (2^24 records).
pub const MAX_COUNT_BITS: u32 = 24;
/// Largest data ring accepted (1 GiB).
pub const MAX_SIZE_BITS: u32 = 30;
/// Per-record diagnostics kept before summarising.
const MAX_RECORD_DIAGS: usize = 32;
/// Most records read from one ring: the descriptor count of the largest
/// `CONFIG_LOG_BUF_SHIFT` (25: 2^20 descriptors). A bigger span between
/// tail and head (a `log_buf_len=` boot option, or a corrupt ring) is read
/// from its newest end, with a diagnostic, so the record list and its
/// up-front allocation stay bounded whatever `count_bits` says.
pub const MAX_RECORDS: u64 = 1 << 20;

/// `a + b` for two VMCOREINFO offsets, or the error naming `what`.
fn field_sum(a: u64, b: u64, what: &'static str) -> Result<u64> {
    a.checked_add(b).ok_or(Error::BadRing { what, value: b })
}

struct Layout {
    counter: u64,
    desc_size: u64,
    sv: u64,
    lpos_begin: u64,
    lpos_next: u64,
    info_size: u64,
    seq: u64,
    ts: u64,
    text_len: u64,
    /// `facility` and the flags/level byte follow `text_len` (u16).
    facility: u64,
    flags_level: u64,
    caller: u64,
    /// Byte ranges of the device info strings in `printk_info`.
    subsys: (u64, u64),
    device: (u64, u64),
}

impl Layout {
    fn new(vi: &VmcoreInfo) -> Result<Layout> {
        let lpos = dec(vi, "OFFSET(prb_desc.text_blk_lpos)")?;
        let dev = dec(vi, "OFFSET(printk_info.dev_info)")?;
        let text_len = dec(vi, "OFFSET(printk_info.text_len)")?;
        // A string field: (start, end) in printk_info, from VMCOREINFO.
        let string = |off_key: &'static str, len_key: &'static str| -> Result<(u64, u64)> {
            let start = field_sum(dev, dec(vi, off_key).unwrap_or(0), off_key)?;
            let end = field_sum(start, dec(vi, len_key).unwrap_or(0), len_key)?;
            Ok((start, end))
        };
        Ok(Layout {
            counter: dec(vi, "OFFSET(atomic_long_t.counter)").unwrap_or(0),
            desc_size: dec(vi, "SIZE(prb_desc)")?,
            sv: dec(vi, "OFFSET(prb_desc.state_var)")?,
            lpos_begin: field_sum(
                lpos,
                dec(vi, "OFFSET(prb_data_blk_lpos.begin)")?,
                "OFFSET(prb_data_blk_lpos.begin)",
            )?,
            lpos_next: field_sum(
                lpos,
                dec(vi, "OFFSET(prb_data_blk_lpos.next)")?,
                "OFFSET(prb_data_blk_lpos.next)",
            )?,
            info_size: dec(vi, "SIZE(printk_info)")?,
            seq: dec(vi, "OFFSET(printk_info.seq)")?,
            ts: dec(vi, "OFFSET(printk_info.ts_nsec)")?,
            text_len,
            facility: field_sum(text_len, 2, "OFFSET(printk_info.text_len)")?,
            flags_level: field_sum(text_len, 3, "OFFSET(printk_info.text_len)")?,
            caller: dec(vi, "OFFSET(printk_info.caller_id)")?,
            subsys: string(
                "OFFSET(dev_printk_info.subsystem)",
                "LENGTH(printk_info_subsystem)",
            )?,
            device: string(
                "OFFSET(dev_printk_info.device)",
                "LENGTH(printk_info_device)",
            )?,
        })
    }
}

pub(crate) fn read(mem: &dyn KernelMemory, vi: &VmcoreInfo) -> Result<Log> {
    let l = Layout::new(vi)?;
    let prb = read_u64(
        mem,
        sym(vi, "SYMBOL(prb)")?,
        "prb (pointer to the printk_ringbuffer)",
    )?;
    // Kernel virtual addresses: struct + offset wraps as the kernel's own
    // pointer arithmetic would; a wrapped address is simply unreadable.
    let dr = prb.wrapping_add(dec(vi, "OFFSET(printk_ringbuffer.desc_ring)")?);
    let tr = prb.wrapping_add(dec(vi, "OFFSET(printk_ringbuffer.text_data_ring)")?);
    let count_bits = read_u32(
        mem,
        dr.wrapping_add(dec(vi, "OFFSET(prb_desc_ring.count_bits)")?),
        "prb_desc_ring.count_bits",
    )?;
    let descs = read_u64(
        mem,
        dr.wrapping_add(dec(vi, "OFFSET(prb_desc_ring.descs)")?),
        "prb_desc_ring.descs",
    )?;
    let infos = read_u64(
        mem,
        dr.wrapping_add(dec(vi, "OFFSET(prb_desc_ring.infos)")?),
        "prb_desc_ring.infos",
    )?;
    let head_id = read_u64(
        mem,
        dr.wrapping_add(dec(vi, "OFFSET(prb_desc_ring.head_id)")?)
            .wrapping_add(l.counter),
        "prb_desc_ring.head_id",
    )?;
    let tail_id = read_u64(
        mem,
        dr.wrapping_add(dec(vi, "OFFSET(prb_desc_ring.tail_id)")?)
            .wrapping_add(l.counter),
        "prb_desc_ring.tail_id",
    )?;
    let size_bits = read_u32(
        mem,
        tr.wrapping_add(dec(vi, "OFFSET(prb_data_ring.size_bits)")?),
        "prb_data_ring.size_bits",
    )?;
    let data = read_u64(
        mem,
        tr.wrapping_add(dec(vi, "OFFSET(prb_data_ring.data)")?),
        "prb_data_ring.data",
    )?;

    if count_bits > MAX_COUNT_BITS {
        return Err(Error::BadRing {
            what: "prb_desc_ring.count_bits",
            value: count_bits.into(),
        });
    }
    if !(3..=MAX_SIZE_BITS).contains(&size_bits) {
        return Err(Error::BadRing {
            what: "prb_data_ring.size_bits",
            value: size_bits.into(),
        });
    }
    if l.lpos_next
        .checked_add(8)
        .is_none_or(|end| l.desc_size < end)
        || l.desc_size > 256
    {
        return Err(Error::BadRing {
            what: "SIZE(prb_desc)",
            value: l.desc_size,
        });
    }
    if l.caller.checked_add(4).is_none_or(|end| l.info_size < end) || l.info_size > 1024 {
        return Err(Error::BadRing {
            what: "SIZE(printk_info)",
            value: l.info_size,
        });
    }
    // Both bit counts were checked above, so the shifts fit and the masks
    // (size - 1, count - 1: ring index arithmetic) cannot wrap.
    let count = 1u64 << count_bits;
    let size = 1u64 << size_bits;
    let (count_mask, size_mask) = (count.wrapping_sub(1), size.wrapping_sub(1));
    // count <= 2^24 and the sizes <= 1024: the array lengths fit a u64.
    let array_len = |elem: u64, what| {
        count
            .checked_mul(elem)
            .ok_or(Error::BadRing { what, value: elem })
    };
    let mut diagnostics = Vec::new();
    let desc_len = array_len(l.desc_size, "SIZE(prb_desc)")?;
    let info_len = array_len(l.info_size, "SIZE(printk_info)")?;
    let mut desc_mem = Region::new(mem, descs, desc_len, "prb_desc array");
    let mut info_mem = Region::new(mem, infos, info_len, "printk_info array");
    let mut data_mem = Region::new(mem, data, size, "text data ring");

    let head_id = head_id & DESC_ID_MASK;
    let tail_id = tail_id & DESC_ID_MASK;
    // Ids increase forever and wrap at 62 bits: the span is their distance
    // on that circle.
    let mut span = head_id.wrapping_sub(tail_id) & DESC_ID_MASK;
    if span >= count {
        diagnostics.push(Diagnostic {
            addr: dr,
            structure: "prb_desc_ring",
            message: format!("tail_id {tail_id:#x} is {span} ids behind head_id {head_id:#x}, more than the {count} descriptors: reading the newest {count}"),
        });
        span = count_mask;
    }
    // span + 1 records from first to head_id; at most MAX_RECORDS of them.
    if span >= MAX_RECORDS {
        diagnostics.push(Diagnostic {
            addr: dr,
            structure: "prb_desc_ring",
            message: format!(
                "{} descriptors between tail_id {tail_id:#x} and head_id {head_id:#x} (count_bits {count_bits}), \
                 more than the {MAX_RECORDS} records read at most: reading the newest {MAX_RECORDS}",
                span.saturating_add(1)
            ),
        });
        span = MAX_RECORDS.wrapping_sub(1);
    }
    let first = head_id.wrapping_sub(span) & DESC_ID_MASK;

    // span < MAX_RECORDS: a bounded allocation, whatever count_bits said.
    let mut records = Vec::with_capacity(usize::try_from(span).unwrap_or(0).saturating_add(1));
    let mut skipped = 0u64;
    let mut reusable = 0u64;
    let mut record_diags = 0usize;
    let mut note = |diagnostics: &mut Vec<Diagnostic>, addr, structure, message: String| {
        record_diags = record_diags.saturating_add(1);
        if record_diags <= MAX_RECORD_DIAGS {
            diagnostics.push(Diagnostic {
                addr,
                structure,
                message,
            });
        }
    };
    for k in 0..=span {
        let id = first.wrapping_add(k) & DESC_ID_MASK;
        let slot = id & count_mask;
        // slot < count: the product is below desc_len, which fits (checked).
        let doff = slot.saturating_mul(l.desc_size);
        let daddr = descs.wrapping_add(doff);
        let Some(d) = desc_mem.get(doff, l.desc_size) else {
            skipped = skipped.saturating_add(1);
            note(
                &mut diagnostics,
                daddr,
                "prb_desc",
                format!("descriptor of id {id:#x} unreadable"),
            );
            continue;
        };
        let sv = le(d, l.sv.saturating_add(l.counter), 8);
        let (sv_id, state) = (sv & DESC_ID_MASK, sv >> 62);
        if sv_id != id {
            // Reused for a newer record while we were between tail and
            // head, or torn: the kernel's desc_miss.
            skipped = skipped.saturating_add(1);
            note(
                &mut diagnostics,
                daddr,
                "prb_desc",
                format!("expected id {id:#x}, found {sv_id:#x} (overwritten)"),
            );
            continue;
        }
        let state = match state {
            1 => RecordState::Committed,
            2 => RecordState::Finalized,
            3 => {
                // Reusable: its data was pushed out of the data ring.
                reusable = reusable.saturating_add(1);
                continue;
            }
            _ => {
                skipped = skipped.saturating_add(1);
                note(
                    &mut diagnostics,
                    daddr,
                    "prb_desc",
                    format!("id {id:#x} still reserved (being written when the dump was taken)"),
                );
                continue;
            }
        };
        let ioff = slot.saturating_mul(l.info_size);
        let iaddr = infos.wrapping_add(ioff);
        let Some(info) = info_mem.get(ioff, l.info_size) else {
            skipped = skipped.saturating_add(1);
            note(
                &mut diagnostics,
                iaddr,
                "printk_info",
                format!("info of id {id:#x} unreadable"),
            );
            continue;
        };
        let seq = le(info, l.seq, 8);
        if seq & count_mask != slot {
            skipped = skipped.saturating_add(1);
            note(
                &mut diagnostics,
                iaddr,
                "printk_info",
                format!("seq {seq} does not belong to slot {slot} (torn)"),
            );
            continue;
        }
        let begin = le(d, l.lpos_begin, 8);
        let next = le(d, l.lpos_next, 8);
        let text_len = le(info, l.text_len, 2);
        let text = if begin & 1 != 0 && next & 1 != 0 {
            if begin == NO_LPOS && next == NO_LPOS {
                Vec::new()
            } else {
                // FAILED_LPOS: the text was lost when the record was made.
                let _ = FAILED_LPOS;
                skipped = skipped.saturating_add(1);
                continue;
            }
        } else {
            match block(&mut data_mem, size, size_bits, id, begin, next) {
                Ok(t) => t
                    .get(..(text_len as usize).min(t.len()))
                    .unwrap_or_default()
                    .to_vec(),
                Err(why) => {
                    skipped = skipped.saturating_add(1);
                    note(
                        &mut diagnostics,
                        data.wrapping_add(begin & size_mask),
                        "data block",
                        format!("record seq {seq} (id {id:#x}, lpos {begin:#x}..{next:#x}): {why}"),
                    );
                    continue;
                }
            }
        };
        let fl = le(info, l.flags_level, 1) as u8;
        records.push(Record {
            seq,
            ts_nsec: le(info, l.ts, 8),
            level: fl >> 5,
            facility: le(info, l.facility, 1) as u8,
            flags: fl & 0x1f,
            caller_id: Some(le(info, l.caller, 4) as u32),
            subsystem: info
                .get(l.subsys.0 as usize..l.subsys.1 as usize)
                .map(cstr)
                .unwrap_or_default(),
            device: info
                .get(l.device.0 as usize..l.device.1 as usize)
                .map(cstr)
                .unwrap_or_default(),
            text,
            state,
        });
    }
    // Unreadable pages first: they explain the record problems after them.
    let mut region_diags: Vec<Diagnostic> = [
        desc_mem.diagnostics,
        info_mem.diagnostics,
        data_mem.diagnostics,
    ]
    .concat();
    region_diags.append(&mut diagnostics);
    let mut diagnostics = region_diags;
    if let Some(more) = record_diags
        .checked_sub(MAX_RECORD_DIAGS)
        .filter(|&m| m > 0)
    {
        diagnostics.push(Diagnostic {
            addr: descs,
            structure: "prb_desc array",
            message: format!("{more} more record problems not listed"),
        });
    }
    // Ids and sequence numbers advance together, so the records are already
    // in order; say so if a corrupt ring breaks that.
    if records
        .windows(2)
        .any(|w| w.first().map(|r| r.seq) >= w.get(1).map(|r| r.seq))
    {
        diagnostics.push(Diagnostic {
            addr: infos,
            structure: "printk_info array",
            message: "sequence numbers out of order; sorted".into(),
        });
        records.sort_by_key(|r| r.seq);
    }
    Ok(Log {
        kind: RingKind::Lockless,
        records,
        diagnostics,
        skipped,
        reusable,
    })
}

/// The data of a block (get_data() in printk_ringbuffer.c), checked to still
/// belong to descriptor `id`.
fn block<'r>(
    data: &'r mut Region<'_>,
    size: u64,
    size_bits: u32,
    id: u64,
    begin: u64,
    next: u64,
) -> core::result::Result<&'r [u8], String> {
    let wraps = |lpos: u64| lpos >> size_bits;
    // Logical positions: ring index arithmetic, wrapping by design.
    let index = |lpos: u64| lpos & size.wrapping_sub(1);
    let (db, len) = match next.checked_sub(begin) {
        Some(len) if wraps(begin) == wraps(next) && len > 0 => (index(begin), len),
        _ if wraps(begin.wrapping_add(size)) == wraps(next) => (0, index(next)),
        _ => return Err("illegal block positions".into()),
    };
    if begin & 7 != 0 || next & 7 != 0 {
        return Err("unaligned block positions".into());
    }
    if len < 8 {
        return Err(format!("block of {len} bytes has no room for its id"));
    }
    let blk = data
        .get(db, len)
        .ok_or_else(|| "block outside the readable data ring".to_string())?;
    let blk_id = le(blk, 0, 8) & DESC_ID_MASK;
    if blk_id != id {
        return Err(format!("block belongs to id {blk_id:#x} (overwritten)"));
    }
    Ok(blk.get(8..).unwrap_or_default())
}
