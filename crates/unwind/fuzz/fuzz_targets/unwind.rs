//! The unwinder over random memory and a random ORC table: must end, within
//! the frame limit, without panicking.
//!
//! Input: a header (flags, start ip/sp/bp offsets, frame limit, entry
//! count), then the entries (u16 ip step, 6 raw bytes), then the stack's
//! bytes. The table and its boot-time lookup blocks (filled from the input
//! too, so they may be wrong) sit in memory as the kernel keeps them; start
//! registers point near the text and the stack so that walks get somewhere.
#![no_main]
use crashview_unwind::*;
use libfuzzer_sys::fuzz_target;

const TEXT: u64 = 0xffff_ffff_8100_0000;
const TABLE: u64 = 0xffff_ffff_8280_0000;
const LOOKUP: u64 = 0xffff_ffff_8300_0000;
const STACK: u64 = 0xffff_c900_0001_0000;

struct Regions(Vec<(u64, Vec<u8>)>);

impl Memory for Regions {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), Fault> {
        for (base, data) in &self.0 {
            let Some(off) = addr.checked_sub(*base) else {
                continue;
            };
            let Ok(off) = usize::try_from(off) else {
                continue;
            };
            if let Some(src) = off
                .checked_add(buf.len())
                .and_then(|end| data.get(off..end))
            {
                buf.copy_from_slice(src);
                return Ok(());
            }
        }
        Err(Fault { addr })
    }
}

fn u64_at(d: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    for (i, x) in b.iter_mut().enumerate() {
        *x = d.get(at + i).copied().unwrap_or(0);
    }
    u64::from_le_bytes(b)
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 16 {
        return;
    }
    let flags = data[0];
    let layout = [OrcLayout::V1, OrcLayout::V1Signal, OrcLayout::V2][usize::from(flags >> 6) % 3];
    let exact = flags & 2 != 0;
    let with_lookup = flags & 4 != 0;
    let with_ranges = flags & 8 != 0;
    let with_regs = flags & 16 != 0;
    let ip = TEXT + u64::from(u16::from_le_bytes([data[1], data[2]]));
    let sp = STACK + u64::from(u16::from_le_bytes([data[3], data[4]]) & 0x3fff);
    let bp = STACK + u64::from(u16::from_le_bytes([data[5], data[6]]));
    let max_frames = usize::from(data[7]).max(1);
    let count = usize::from(u16::from_le_bytes([data[8], data[9]]) % 512);
    let mut rest = &data[10..];

    // The table: ips ascending by the given steps (a zero step repeats).
    let mut ips = Vec::new();
    let mut entries = Vec::new();
    let mut next = TEXT;
    for _ in 0..count {
        if rest.len() < 8 {
            break;
        }
        next += u64::from(u16::from_le_bytes([rest[0], rest[1]]));
        let slot = TABLE + ips.len() as u64;
        let rel = next.wrapping_sub(slot) as i32;
        ips.extend_from_slice(&rel.to_le_bytes());
        entries.extend_from_slice(&rest[2..8]);
        rest = &rest[8..];
    }
    let n = (ips.len() / 4) as u32;
    let entries_at = TABLE + 0x10_0000;
    let mut regions = vec![(TABLE, ips), (entries_at, entries)];
    let lookup = with_lookup.then(|| {
        // Lookup slots taken from the input, so possibly out of range.
        let num_blocks = u32::from(data[10 % data.len()]) + 1;
        let mut slots = Vec::new();
        for i in 0..num_blocks as usize {
            let v = u32::from(*data.get(11 + i).unwrap_or(&0)) % (n + 2);
            slots.extend_from_slice(&v.to_le_bytes());
        }
        regions.push((LOOKUP, slots));
        OrcLookup {
            table: LOOKUP,
            num_blocks,
            start_ip: TEXT,
            end_ip: next + 1,
        }
    });
    let table = OrcTable {
        ip_table: TABLE,
        entries: entries_at,
        count: n,
        lookup,
        layout,
    };

    // The stack: the remaining bytes, with a hole to fault on.
    let stack = rest.to_vec();
    let hole = STACK + 0x1000;
    regions.push((STACK, stack.get(..0x1000).unwrap_or(&stack).to_vec()));
    if stack.len() > 0x1100 {
        regions.push((hole + 0x100, stack[0x1100..].to_vec()));
    }
    let mem = Regions(regions);

    let regs = with_regs.then(|| {
        let mut r = PtRegs::default();
        for (i, w) in r.words.iter_mut().enumerate() {
            *w = u64_at(rest, 8 * i);
        }
        r
    });
    let start = Start {
        ip,
        sp,
        bp,
        exact,
        regs,
    };
    let ranges = [
        StackRange {
            start: STACK,
            end: STACK + 0x4000,
            name: "task",
        },
        StackRange {
            start: STACK + 0x4000,
            end: STACK + 0x8000,
            name: "irq",
        },
    ];
    let mut src = OrcTables::new(&mem);
    src.add(TEXT, next.saturating_add(0x1000), table);
    let s = unwind(
        &mem,
        &src,
        start,
        if with_ranges { &ranges } else { &[] },
        Limits { max_frames },
    );
    assert!(!s.frames.is_empty() && s.frames.len() <= max_frames);
    let _ = s.end.to_string();
    // find() on its own, with and without the lookup blocks.
    let plain = OrcTable {
        lookup: None,
        ..table
    };
    for probe in [ip, ip.wrapping_sub(1), next, TEXT] {
        let a = table.find(&mem, probe);
        let b = plain.find(&mem, probe);
        if lookup.is_none() {
            assert_eq!(a, b);
        }
    }
});
