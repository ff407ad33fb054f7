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
//! counted in [`Log::skipped`](crate::Log::skipped) (reusable descriptors, whose
//! data was recycled, in [`Log::reusable`](crate::Log::reusable)).

use crashview_vmcore::{KernelMemory, VmcoreInfo};

use crate::mem::{cstr, dec, le, read_u32, read_u64, sym, Region};
use crate::{Diagnostic, Error, Log, Record, RecordState, Result, RingKind};

const DESC_ID_MASK: u64 = !(3u64 << 62);
const FAILED_LPOS: u64 = 0x1;
const NO_LPOS: u64 = 0x3;
/// Largest descriptor ring accepted (2^24 records).
pub const MAX_COUNT_BITS: u32 = 24;
/// Largest data ring accepted (1 GiB).
pub const MAX_SIZE_BITS: u32 = 30;
/// Per-record diagnostics kept before summarising.
const MAX_RECORD_DIAGS: usize = 32;

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
    caller: u64,
    subsys: (u64, u64),
    device: (u64, u64),
}

impl Layout {
    fn new(vi: &VmcoreInfo) -> Result<Layout> {
        let lpos = dec(vi, "OFFSET(prb_desc.text_blk_lpos)")?;
        let dev = dec(vi, "OFFSET(printk_info.dev_info)")?;
        Ok(Layout {
            counter: dec(vi, "OFFSET(atomic_long_t.counter)").unwrap_or(0),
            desc_size: dec(vi, "SIZE(prb_desc)")?,
            sv: dec(vi, "OFFSET(prb_desc.state_var)")?,
            lpos_begin: lpos + dec(vi, "OFFSET(prb_data_blk_lpos.begin)")?,
            lpos_next: lpos + dec(vi, "OFFSET(prb_data_blk_lpos.next)")?,
            info_size: dec(vi, "SIZE(printk_info)")?,
            seq: dec(vi, "OFFSET(printk_info.seq)")?,
            ts: dec(vi, "OFFSET(printk_info.ts_nsec)")?,
            text_len: dec(vi, "OFFSET(printk_info.text_len)")?,
            caller: dec(vi, "OFFSET(printk_info.caller_id)")?,
            subsys: (
                dev + dec(vi, "OFFSET(dev_printk_info.subsystem)").unwrap_or(0),
                dec(vi, "LENGTH(printk_info_subsystem)").unwrap_or(0),
            ),
            device: (
                dev + dec(vi, "OFFSET(dev_printk_info.device)").unwrap_or(0),
                dec(vi, "LENGTH(printk_info_device)").unwrap_or(0),
            ),
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
    let dr = prb.wrapping_add(dec(vi, "OFFSET(printk_ringbuffer.desc_ring)")?);
    let tr = prb.wrapping_add(dec(vi, "OFFSET(printk_ringbuffer.text_data_ring)")?);
    let count_bits = read_u32(
        mem,
        dr + dec(vi, "OFFSET(prb_desc_ring.count_bits)")?,
        "prb_desc_ring.count_bits",
    )?;
    let descs = read_u64(
        mem,
        dr + dec(vi, "OFFSET(prb_desc_ring.descs)")?,
        "prb_desc_ring.descs",
    )?;
    let infos = read_u64(
        mem,
        dr + dec(vi, "OFFSET(prb_desc_ring.infos)")?,
        "prb_desc_ring.infos",
    )?;
    let head_id = read_u64(
        mem,
        dr + dec(vi, "OFFSET(prb_desc_ring.head_id)")? + l.counter,
        "prb_desc_ring.head_id",
    )?;
    let tail_id = read_u64(
        mem,
        dr + dec(vi, "OFFSET(prb_desc_ring.tail_id)")? + l.counter,
        "prb_desc_ring.tail_id",
    )?;
    let size_bits = read_u32(
        mem,
        tr + dec(vi, "OFFSET(prb_data_ring.size_bits)")?,
        "prb_data_ring.size_bits",
    )?;
    let data = read_u64(
        mem,
        tr + dec(vi, "OFFSET(prb_data_ring.data)")?,
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
    if l.desc_size < l.lpos_next + 8 || l.desc_size > 256 {
        return Err(Error::BadRing {
            what: "SIZE(prb_desc)",
            value: l.desc_size,
        });
    }
    if l.info_size < l.caller + 4 || l.info_size > 1024 {
        return Err(Error::BadRing {
            what: "SIZE(printk_info)",
            value: l.info_size,
        });
    }
    let count = 1u64 << count_bits;
    let size = 1u64 << size_bits;
    let mut diagnostics = Vec::new();
    let mut desc_mem = Region::new(mem, descs, count * l.desc_size, "prb_desc array");
    let mut info_mem = Region::new(mem, infos, count * l.info_size, "printk_info array");
    let mut data_mem = Region::new(mem, data, size, "text data ring");

    let head_id = head_id & DESC_ID_MASK;
    let tail_id = tail_id & DESC_ID_MASK;
    let mut span = head_id.wrapping_sub(tail_id) & DESC_ID_MASK;
    if span >= count {
        diagnostics.push(Diagnostic {
            addr: dr,
            structure: "prb_desc_ring",
            message: format!("tail_id {tail_id:#x} is {span} ids behind head_id {head_id:#x}, more than the {count} descriptors: reading the newest {count}"),
        });
        span = count - 1;
    }
    let first = head_id.wrapping_sub(span) & DESC_ID_MASK;

    let mut records = Vec::with_capacity(span as usize + 1);
    let mut skipped = 0u64;
    let mut reusable = 0u64;
    let mut record_diags = 0usize;
    let mut note = |diagnostics: &mut Vec<Diagnostic>, addr, structure, message: String| {
        record_diags += 1;
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
        let slot = id & (count - 1);
        let doff = slot * l.desc_size;
        let daddr = descs.wrapping_add(doff);
        let Some(d) = desc_mem.get(doff, l.desc_size) else {
            skipped += 1;
            note(
                &mut diagnostics,
                daddr,
                "prb_desc",
                format!("descriptor of id {id:#x} unreadable"),
            );
            continue;
        };
        let sv = le(d, l.sv + l.counter, 8);
        let (sv_id, state) = (sv & DESC_ID_MASK, sv >> 62);
        if sv_id != id {
            // Reused for a newer record while we were between tail and
            // head, or torn: the kernel's desc_miss.
            skipped += 1;
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
                reusable += 1;
                continue;
            }
            _ => {
                skipped += 1;
                note(
                    &mut diagnostics,
                    daddr,
                    "prb_desc",
                    format!("id {id:#x} still reserved (being written when the dump was taken)"),
                );
                continue;
            }
        };
        let ioff = slot * l.info_size;
        let iaddr = infos.wrapping_add(ioff);
        let Some(info) = info_mem.get(ioff, l.info_size) else {
            skipped += 1;
            note(
                &mut diagnostics,
                iaddr,
                "printk_info",
                format!("info of id {id:#x} unreadable"),
            );
            continue;
        };
        let seq = le(info, l.seq, 8);
        if seq & (count - 1) != slot {
            skipped += 1;
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
                skipped += 1;
                continue;
            }
        } else {
            match block(&mut data_mem, size, size_bits, id, begin, next) {
                Ok(t) => t
                    .get(..(text_len as usize).min(t.len()))
                    .unwrap_or_default()
                    .to_vec(),
                Err(why) => {
                    skipped += 1;
                    note(
                        &mut diagnostics,
                        data.wrapping_add(begin & (size - 1)),
                        "data block",
                        format!("record seq {seq} (id {id:#x}, lpos {begin:#x}..{next:#x}): {why}"),
                    );
                    continue;
                }
            }
        };
        let fl = le(info, l.text_len + 3, 1) as u8;
        records.push(Record {
            seq,
            ts_nsec: le(info, l.ts, 8),
            level: fl >> 5,
            facility: le(info, l.text_len + 2, 1) as u8,
            flags: fl & 0x1f,
            caller_id: Some(le(info, l.caller, 4) as u32),
            subsystem: info
                .get(l.subsys.0 as usize..(l.subsys.0 + l.subsys.1) as usize)
                .map(cstr)
                .unwrap_or_default(),
            device: info
                .get(l.device.0 as usize..(l.device.0 + l.device.1) as usize)
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
    if record_diags > MAX_RECORD_DIAGS {
        diagnostics.push(Diagnostic {
            addr: descs,
            structure: "prb_desc array",
            message: format!(
                "{} more record problems not listed",
                record_diags - MAX_RECORD_DIAGS
            ),
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
    let index = |lpos: u64| lpos & (size - 1);
    let (db, len) = if wraps(begin) == wraps(next) && begin < next {
        (index(begin), next - begin)
    } else if wraps(begin.wrapping_add(size)) == wraps(next) {
        (0, index(next))
    } else {
        return Err("illegal block positions".into());
    };
    if begin % 8 != 0 || next % 8 != 0 {
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
