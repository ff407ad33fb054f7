//! Shared by the integration tests: a sparse memory image, ORC tables laid
//! out in it the way the kernel keeps them, and the boot-time lookup table.
#![allow(dead_code)]

use std::cell::Cell;
use std::collections::HashMap;

use crashview_unwind::{
    Fault, Memory, OrcEntry, OrcLayout, OrcLookup, OrcTable, LOOKUP_BLOCK_SIZE,
};

const PAGE: u64 = 4096;

/// Memory made of 4 KiB pages; reads of an absent page fail at its first
/// missing byte. Counts the reads it serves.
#[derive(Default)]
pub struct SparseMem {
    pages: HashMap<u64, Box<[u8; PAGE as usize]>>,
    pub reads: Cell<usize>,
}

impl SparseMem {
    pub fn write(&mut self, addr: u64, bytes: &[u8]) {
        for (i, b) in bytes.iter().enumerate() {
            let a = addr + i as u64;
            let page = self
                .pages
                .entry(a & !(PAGE - 1))
                .or_insert_with(|| Box::new([0; PAGE as usize]));
            page[(a & (PAGE - 1)) as usize] = *b;
        }
    }
    pub fn write_u64(&mut self, addr: u64, v: u64) {
        self.write(addr, &v.to_le_bytes());
    }
    pub fn write_u32(&mut self, addr: u64, v: u32) {
        self.write(addr, &v.to_le_bytes());
    }
    /// Maps zeroed memory (a stack) without writing values.
    pub fn map(&mut self, start: u64, end: u64) {
        let mut p = start & !(PAGE - 1);
        while p < end {
            self.pages
                .entry(p)
                .or_insert_with(|| Box::new([0; PAGE as usize]));
            p += PAGE;
        }
    }
    pub fn unmap_page(&mut self, addr: u64) {
        self.pages.remove(&(addr & !(PAGE - 1)));
    }
}

impl Memory for SparseMem {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), Fault> {
        self.reads.set(self.reads.get() + 1);
        for (i, b) in buf.iter_mut().enumerate() {
            let a = addr.checked_add(i as u64).ok_or(Fault { addr })?;
            let page = self
                .pages
                .get(&(a & !(PAGE - 1)))
                .ok_or(Fault { addr: a })?;
            *b = page[(a & (PAGE - 1)) as usize];
        }
        Ok(())
    }
}

/// Lays `entries` (sorted by ip) out at `base` as `.orc_unwind_ip` (relative
/// ints) followed by `.orc_unwind`.
pub fn write_table(
    mem: &mut SparseMem,
    base: u64,
    entries: &[(u64, OrcEntry)],
    layout: OrcLayout,
) -> OrcTable {
    let ip_table = base;
    let orcs = base + 4 * entries.len() as u64;
    for (i, (ip, e)) in entries.iter().enumerate() {
        let slot = ip_table + 4 * i as u64;
        let rel = ip.wrapping_sub(slot) as i64;
        assert!(
            i32::try_from(rel).is_ok(),
            "ip 0x{ip:x} too far from its slot"
        );
        mem.write_u32(slot, rel as i32 as u32);
        mem.write(orcs + 6 * i as u64, &e.encode(layout));
    }
    OrcTable {
        ip_table,
        entries: orcs,
        count: entries.len() as u32,
        lookup: None,
        layout,
    }
}

/// What the kernel's `unwind_init()` writes into `orc_lookup[]`: for each
/// block, the index of the entry covering its first ip (found with the
/// whole-table search), and a last slot for `stop`.
pub fn build_lookup(
    mem: &mut SparseMem,
    table: &OrcTable,
    at: u64,
    start: u64,
    stop: u64,
) -> OrcLookup {
    let plain = OrcTable {
        lookup: None,
        ..*table
    };
    // lookup_num_blocks as vmlinux.lds.h sizes orc_lookup[] (6.1 and 6.12):
    // ((text_size + LOOKUP_BLOCK_SIZE - 1) / LOOKUP_BLOCK_SIZE) + 1 slots.
    let num_blocks = ((stop - start).div_ceil(LOOKUP_BLOCK_SIZE) + 1) as u32;
    let mut values = Vec::with_capacity(num_blocks as usize);
    for i in 0..num_blocks - 1 {
        let ip = start + LOOKUP_BLOCK_SIZE * i as u64;
        values.push(plain.find_index(&*mem, ip).unwrap().unwrap_or(0));
    }
    values.push(plain.find_index(&*mem, stop).unwrap().unwrap_or(0));
    for (i, v) in values.iter().enumerate() {
        mem.write_u32(at + 4 * i as u64, *v);
    }
    OrcLookup {
        table: at,
        num_blocks,
        start_ip: start,
        end_ip: stop,
    }
}
