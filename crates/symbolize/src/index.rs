//! A persistent per-object index, so that the second run over the same
//! vmlinux skips what the first one computed.
//!
//! What a run spends its time on (callgrind, Debian 6.1 vmlinux, a 30-frame
//! trace): a third on finding the trace's symbol names in `.symtab` (a pass
//! over 130k symbols), half on addr2line parsing the functions and line
//! programs of the ~20 units the addresses fall in, the rest on
//! `.debug_aranges` and the program itself. The index keeps:
//!
//! * every code symbol in `.symtab` order (address, value, size, section,
//!   name as an offset into the object's own `.strtab`), with a table of
//!   name hashes ([`DebugObject::find_symbol`](crate::DebugObject::find_symbol)
//!   becomes a binary search) and an order by address
//!   ([`DebugObject::symbol_at`](crate::DebugObject::symbol_at));
//! * the unit ranges from `.debug_aranges` (address to `.debug_info` unit);
//! * the source frames of every address resolved so far, so a trace seen
//!   before is answered without touching the DWARF at all.
//!
//! One file per object, `<cache>/debuginfod/<build-id>/symindex-v1`, in the
//! [`crashview_debuginfod::Cache`] (so it shares that cache's size limit and
//! eviction). It is written under a temporary name and renamed into place,
//! so concurrent runs see a whole old file or a whole new one, never a
//! partial one; a run that resolved new addresses rewrites it with them
//! merged in (last writer wins: a lost update costs a later run some
//! DWARF, never a wrong answer).
//!
//! The file is input like any other: its header names the source object
//! (build id, size, mtime) and carries a checksum over everything, and
//! every record is read through bounds checks. A file that does not match
//! or does not verify is ignored and rebuilt. Objects without a build id
//! are not indexed. `CRASHVIEW_NO_INDEX=1` turns the index off.
//!
//! Layout (little-endian, every section 8-aligned):
//!
//! ```text
//! 0    magic "CVSYMIX\0", version u32, section count u32
//! 16   source size u64, mtime seconds u64, mtime nanoseconds u32,
//!      build-id length u32, build id [64]
//! 104  file length u64
//! 112  checksum u64 (over the whole file but these 8 bytes)
//! 120  sections: (offset u64, length u64) x 7
//! 232  SYMS      32 B: address, value, size u64; name u32; section u32 (low
//!                30 bits) | 1<<30 findable by name | 1<<31 by address
//!      BY_ADDR    4 B: SYMS index, sorted by (address, size descending)
//!      NAMES      8 B: (name hash u32, SYMS index u32), sorted
//!      UNITS     24 B: begin, end, unit offset u64, sorted
//!      LISTED     8 B: unit offsets listed in .debug_aranges, sorted
//!      MEMO_KEYS 16 B: address u64, blob offset u32, blob length u32, sorted
//!      MEMO_BLOB      frames: count u16, then per frame a presence byte
//!                     (function, file, line, column) and the fields present
//! ```

// Without `loader` nothing writes an index: the writing half is unused.
#![cfg_attr(not(feature = "loader"), allow(dead_code))]

use std::collections::{BTreeMap, HashSet};

use crate::frame::{SourceFrame, MAX_INLINE_DEPTH};

/// The index file's name under its build-id directory.
pub const FILE_NAME: &str = "symindex-v1";

/// Set (to anything but `0` or empty) to neither read nor write the index.
pub const DISABLE_VAR: &str = "CRASHVIEW_NO_INDEX";

const MAGIC: [u8; 8] = *b"CVSYMIX\0";
const VERSION: u32 = 1;
const NSECTIONS: usize = 7;
const CHECKSUM_AT: usize = 112;
const TABLE_AT: usize = 120;
pub(crate) const HEADER_LEN: usize = 232;
const MAX_BUILD_ID: usize = 64;

const SYMS: usize = 0;
const BY_ADDR: usize = 1;
const NAMES: usize = 2;
const UNITS: usize = 3;
const LISTED: usize = 4;
const MEMO_KEYS: usize = 5;
const MEMO_BLOB: usize = 6;
/// Record size of each section (the blob is bytes).
const RECORD: [usize; NSECTIONS] = [32, 4, 8, 24, 8, 16, 1];

const FLAG_NAME: u32 = 1 << 30;
const FLAG_ADDR: u32 = 1 << 31;
const SECTION_MASK: u32 = FLAG_NAME - 1;

/// Most resolved addresses kept (about 100 bytes each): a run's new ones
/// first, then older ones until this.
pub const MAX_MEMO: usize = 1 << 16;
/// Most bytes of resolved frames kept.
const MAX_MEMO_BLOB: usize = 16 << 20;

/// The object an index was built from. A different size or mtime (the file
/// was replaced, even by one with the same build id) means a rebuild.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The object's build id (1 to 64 bytes).
    pub build_id: Vec<u8>,
    /// File size in bytes.
    pub size: u64,
    /// Modification time: seconds since the epoch.
    pub mtime_secs: u64,
    /// Modification time: nanoseconds.
    pub mtime_nanos: u32,
}

/// A code symbol as the index stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IdxSym {
    pub address: u64,
    pub value: u64,
    pub size: u64,
    /// Offset of the name in the object's symbol string table.
    pub name: u32,
    pub section: u32,
    /// [`DebugObject::find_symbol`] can return it.
    pub by_name: bool,
    /// [`DebugObject::symbol_at`] can return it.
    pub by_address: bool,
}

fn le_u64(b: &[u8], at: usize) -> Option<u64> {
    let s = b.get(at..at.checked_add(8)?)?;
    Some(u64::from_le_bytes(s.try_into().ok()?))
}

fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(s.try_into().ok()?))
}

fn le_u16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes(s.try_into().ok()?))
}

/// The hash the NAMES table is sorted by (FNV-1a, folded to 32 bits).
pub(crate) fn name_hash(name: &[u8]) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in name {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    (h ^ h.wrapping_shr(32)) as u32
}

/// A 64-bit checksum over `parts` in order (word-wise multiply-rotate; it
/// finds corruption and truncation, it is no defence against forgery: the
/// cache directory is the user's own).
fn checksum(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0x243f_6a88_85a3_08d3;
    let mut total: u64 = 0;
    for p in parts {
        let mut words = p.chunks_exact(8);
        for w in &mut words {
            let v = u64::from_le_bytes(w.try_into().unwrap_or([0; 8]));
            h = (h ^ v).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(29);
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            for (d, s) in last.iter_mut().zip(rest) {
                *d = *s;
            }
            h = (h ^ u64::from_le_bytes(last))
                .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                .rotate_left(29);
        }
        total = total.wrapping_add(p.len() as u64);
    }
    (h ^ total).wrapping_mul(0xff51_afd7_ed55_8ccd)
}

/// The first `i` in `0..n` for which `before(i)` is false (`before` must be
/// true on a prefix): `slice::partition_point` over records.
pub(crate) fn partition(n: usize, mut before: impl FnMut(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0usize, n);
    while lo < hi {
        let mid = lo.midpoint(hi);
        if before(mid) {
            lo = mid.saturating_add(1);
        } else {
            hi = mid;
        }
    }
    lo
}

/// Why an index file was not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reject {
    /// Shorter than its header, or not an index (magic).
    NotAnIndex,
    /// Another format version.
    Version(u32),
    /// Built from another file (build id, size or mtime differ).
    OtherSource,
    /// The length or checksum is wrong: truncated or corrupt.
    Corrupt,
    /// A section lies outside the file or is not whole records.
    BadSection(usize),
}

/// A verified index over borrowed bytes (normally a memory map).
#[derive(Debug, Clone, Copy)]
pub struct View<'d> {
    sections: [&'d [u8]; NSECTIONS],
}

impl<'d> View<'d> {
    /// Checks `bytes` against `source` and the checksum and returns the
    /// view, or why not.
    pub fn parse(bytes: &'d [u8], source: &Source) -> Result<Self, Reject> {
        let header = bytes.get(..HEADER_LEN).ok_or(Reject::NotAnIndex)?;
        if header.get(..8) != Some(&MAGIC[..]) {
            return Err(Reject::NotAnIndex);
        }
        let version = le_u32(header, 8).ok_or(Reject::NotAnIndex)?;
        if version != VERSION || le_u32(header, 12) != Some(NSECTIONS as u32) {
            return Err(Reject::Version(version));
        }
        if encode_source(source).as_deref() != header.get(16..104) {
            return Err(Reject::OtherSource);
        }
        if le_u64(header, 104) != Some(bytes.len() as u64) {
            return Err(Reject::Corrupt);
        }
        let stored = le_u64(header, CHECKSUM_AT).ok_or(Reject::Corrupt)?;
        let (before, after) = (
            bytes.get(..CHECKSUM_AT).unwrap_or(&[]),
            bytes.get(TABLE_AT..).unwrap_or(&[]),
        );
        if checksum(&[before, after]) != stored {
            return Err(Reject::Corrupt);
        }
        let mut sections = [&[][..]; NSECTIONS];
        for (i, (slot, rec)) in sections.iter_mut().zip(RECORD).enumerate() {
            let at = i.checked_mul(16).and_then(|o| o.checked_add(TABLE_AT));
            let bad = Reject::BadSection(i);
            let off = at.and_then(|a| le_u64(header, a)).ok_or(bad)?;
            let len = at
                .and_then(|a| a.checked_add(8))
                .and_then(|a| le_u64(header, a))
                .ok_or(bad)?;
            let off = usize::try_from(off).map_err(|_| bad)?;
            let len = usize::try_from(len).map_err(|_| bad)?;
            if off < HEADER_LEN || len.checked_rem(rec) != Some(0) {
                return Err(bad);
            }
            *slot = off
                .checked_add(len)
                .and_then(|end| bytes.get(off..end))
                .ok_or(bad)?;
        }
        Ok(View { sections })
    }

    fn count(&self, s: usize) -> usize {
        let len = self.sections.get(s).map_or(0, |b| b.len());
        RECORD.get(s).and_then(|&r| len.checked_div(r)).unwrap_or(0)
    }

    fn record(&self, s: usize, i: usize) -> Option<&'d [u8]> {
        let rec = *RECORD.get(s)?;
        let at = i.checked_mul(rec)?;
        self.sections.get(s)?.get(at..at.checked_add(rec)?)
    }

    /// Symbol `i` in `.symtab` order.
    pub(crate) fn sym(&self, i: usize) -> Option<IdxSym> {
        let r = self.record(SYMS, i)?;
        let packed = le_u32(r, 28)?;
        Some(IdxSym {
            address: le_u64(r, 0)?,
            value: le_u64(r, 8)?,
            size: le_u64(r, 16)?,
            name: le_u32(r, 24)?,
            section: packed & SECTION_MASK,
            by_name: packed & FLAG_NAME != 0,
            by_address: packed & FLAG_ADDR != 0,
        })
    }

    /// The symbols findable by name whose name hashes like `name`, in
    /// `.symtab` order (the caller compares the names).
    pub(crate) fn by_name(&self, name: &[u8]) -> impl Iterator<Item = IdxSym> + '_ {
        let h = name_hash(name);
        let n = self.count(NAMES);
        let key = |i: usize| self.record(NAMES, i).and_then(|r| le_u32(r, 0));
        let first = partition(n, |i| key(i).is_some_and(|k| k < h));
        (first..n)
            .map_while(move |i| {
                let r = self.record(NAMES, i)?;
                (le_u32(r, 0)? == h).then(|| le_u32(r, 4))?
            })
            .filter_map(move |s| self.sym(s as usize))
            .filter(|s| s.by_name)
    }

    /// Number of symbols in address order.
    pub(crate) fn by_address_len(&self) -> usize {
        self.count(BY_ADDR)
    }

    /// The `i`-th symbol in address order.
    pub(crate) fn by_address(&self, i: usize) -> Option<IdxSym> {
        let s = le_u32(self.record(BY_ADDR, i)?, 0)?;
        self.sym(s as usize).filter(|s| s.by_address)
    }

    /// The `.debug_aranges` unit ranges and the units they list.
    pub(crate) fn units(&self) -> (Vec<(u64, u64, usize)>, HashSet<usize>) {
        let ranges = (0..self.count(UNITS))
            .filter_map(|i| {
                let r = self.record(UNITS, i)?;
                let off = usize::try_from(le_u64(r, 16)?).ok()?;
                Some((le_u64(r, 0)?, le_u64(r, 8)?, off))
            })
            .collect();
        let listed = (0..self.count(LISTED))
            .filter_map(|i| usize::try_from(le_u64(self.record(LISTED, i)?, 0)?).ok())
            .collect();
        (ranges, listed)
    }

    fn memo_slot(&self, address: u64) -> Option<&'d [u8]> {
        let n = self.count(MEMO_KEYS);
        let key = |i: usize| self.record(MEMO_KEYS, i).and_then(|r| le_u64(r, 0));
        let i = partition(n, |i| key(i).is_some_and(|k| k < address));
        let r = self.record(MEMO_KEYS, i)?;
        if le_u64(r, 0)? != address {
            return None;
        }
        let off = le_u32(r, 8)? as usize;
        let len = le_u32(r, 12)? as usize;
        self.sections
            .get(MEMO_BLOB)?
            .get(off..off.checked_add(len)?)
    }

    /// The source frames stored for `address`, if it was resolved before.
    pub(crate) fn frames(&self, address: u64) -> Option<Vec<SourceFrame>> {
        decode_frames(self.memo_slot(address)?)
    }

    /// Whether `address` has stored frames.
    pub(crate) fn has_frames(&self, address: u64) -> bool {
        self.memo_slot(address).is_some()
    }

    fn memo_entries(&self) -> impl Iterator<Item = (u64, &'d [u8])> + '_ {
        (0..self.count(MEMO_KEYS)).filter_map(|i| {
            let r = self.record(MEMO_KEYS, i)?;
            let off = le_u32(r, 8)? as usize;
            let len = le_u32(r, 12)? as usize;
            let blob = self.sections.get(MEMO_BLOB)?;
            Some((le_u64(r, 0)?, blob.get(off..off.checked_add(len)?)?))
        })
    }
}

/// Header bytes 16..104: what identifies the source object.
fn encode_source(s: &Source) -> Option<Vec<u8>> {
    if s.build_id.is_empty() || s.build_id.len() > MAX_BUILD_ID {
        return None;
    }
    let mut v = Vec::with_capacity(88);
    v.extend_from_slice(&s.size.to_le_bytes());
    v.extend_from_slice(&s.mtime_secs.to_le_bytes());
    v.extend_from_slice(&s.mtime_nanos.to_le_bytes());
    v.extend_from_slice(&(s.build_id.len() as u32).to_le_bytes());
    v.extend_from_slice(&s.build_id);
    v.resize(88, 0);
    Some(v)
}

fn put_str(out: &mut Vec<u8>, s: &str) -> Option<()> {
    out.extend_from_slice(&u32::try_from(s.len()).ok()?.to_le_bytes());
    out.extend_from_slice(s.as_bytes());
    Some(())
}

/// One address's frames as stored in the blob.
pub(crate) fn encode_frames(frames: &[SourceFrame]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    out.extend_from_slice(&u16::try_from(frames.len()).ok()?.to_le_bytes());
    for f in frames {
        let present = u8::from(f.function.is_some())
            | u8::from(f.file.is_some()) << 1
            | u8::from(f.line.is_some()) << 2
            | u8::from(f.column.is_some()) << 3;
        out.push(present);
        if let Some(s) = &f.function {
            put_str(&mut out, s)?;
        }
        if let Some(s) = &f.file {
            put_str(&mut out, s)?;
        }
        for v in [f.line, f.column].into_iter().flatten() {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    Some(out)
}

pub(crate) fn decode_frames(b: &[u8]) -> Option<Vec<SourceFrame>> {
    let n = usize::from(le_u16(b, 0)?);
    if n > MAX_INLINE_DEPTH {
        return None;
    }
    let mut at = 2usize;
    let take_str = |at: &mut usize| -> Option<String> {
        let len = le_u32(b, *at)? as usize;
        let start = at.checked_add(4)?;
        let end = start.checked_add(len)?;
        let s = core::str::from_utf8(b.get(start..end)?).ok()?;
        *at = end;
        Some(s.to_string())
    };
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let present = *b.get(at)?;
        at = at.checked_add(1)?;
        let function = if present & 1 != 0 {
            Some(take_str(&mut at)?)
        } else {
            None
        };
        let file = if present & 2 != 0 {
            Some(take_str(&mut at)?)
        } else {
            None
        };
        let mut num = |bit: u8| -> Option<Option<u32>> {
            if present & bit == 0 {
                return Some(None);
            }
            let v = le_u32(b, at)?;
            at = at.checked_add(4)?;
            Some(Some(v))
        };
        let line = num(4)?;
        let column = num(8)?;
        out.push(SourceFrame {
            function,
            file,
            line,
            column,
        });
    }
    (at == b.len()).then_some(out)
}

/// What goes into an index file. Sections are raw records, so that a
/// rewrite copies the symbol and unit tables of the old file unchanged.
#[derive(Debug, Default)]
pub(crate) struct Contents<'a> {
    pub syms: std::borrow::Cow<'a, [u8]>,
    pub by_addr: std::borrow::Cow<'a, [u8]>,
    pub names: std::borrow::Cow<'a, [u8]>,
    pub units: std::borrow::Cow<'a, [u8]>,
    pub listed: std::borrow::Cow<'a, [u8]>,
    /// Address to encoded frames.
    pub memo: BTreeMap<u64, std::borrow::Cow<'a, [u8]>>,
}

impl<'a> Contents<'a> {
    /// The symbol and unit tables from scratch. `None` if a symbol's
    /// section index does not fit the format or there are more than 2^32.
    pub(crate) fn build<'n>(
        syms: &[IdxSym],
        name_of: impl Fn(u32) -> Option<&'n [u8]>,
        units: &[(u64, u64, usize)],
        listed: &HashSet<usize>,
    ) -> Option<Contents<'static>> {
        let mut c = Contents::default();
        let mut s = Vec::with_capacity(syms.len().saturating_mul(32));
        let mut names = Vec::new();
        let mut addrs = Vec::new();
        for (i, sym) in syms.iter().enumerate() {
            if sym.section > SECTION_MASK {
                return None;
            }
            let i = u32::try_from(i).ok()?;
            let mut packed = sym.section;
            if sym.by_name {
                packed |= FLAG_NAME;
                names.push((name_hash(name_of(sym.name).unwrap_or(&[])), i));
            }
            if sym.by_address {
                packed |= FLAG_ADDR;
                addrs.push((sym.address, core::cmp::Reverse(sym.size), i));
            }
            for v in [sym.address, sym.value, sym.size] {
                s.extend_from_slice(&v.to_le_bytes());
            }
            s.extend_from_slice(&sym.name.to_le_bytes());
            s.extend_from_slice(&packed.to_le_bytes());
        }
        // Stable orders: ties keep `.symtab` order, as the scans do.
        names.sort_unstable();
        addrs.sort_unstable();
        c.syms = s.into();
        c.names = names
            .iter()
            .flat_map(|(h, i)| h.to_le_bytes().into_iter().chain(i.to_le_bytes()))
            .collect::<Vec<u8>>()
            .into();
        c.by_addr = addrs
            .iter()
            .flat_map(|a| a.2.to_le_bytes())
            .collect::<Vec<u8>>()
            .into();
        let mut u = Vec::with_capacity(units.len().saturating_mul(24));
        for &(b, e, off) in units {
            for v in [b, e, off as u64] {
                u.extend_from_slice(&v.to_le_bytes());
            }
        }
        c.units = u.into();
        let mut l: Vec<usize> = listed.iter().copied().collect();
        l.sort_unstable();
        c.listed = l
            .iter()
            .flat_map(|&o| (o as u64).to_le_bytes())
            .collect::<Vec<u8>>()
            .into();
        Some(c)
    }

    /// The tables of `old`, and its stored frames.
    pub(crate) fn from_view(old: &View<'a>) -> Self {
        let s = |i: usize| std::borrow::Cow::Borrowed(old.sections.get(i).copied().unwrap_or(&[]));
        Contents {
            syms: s(SYMS),
            by_addr: s(BY_ADDR),
            names: s(NAMES),
            units: s(UNITS),
            listed: s(LISTED),
            memo: old
                .memo_entries()
                .map(|(a, b)| (a, std::borrow::Cow::Borrowed(b)))
                .collect(),
        }
    }

    /// Adds a run's resolved addresses (kept over older ones when the
    /// store is full).
    pub(crate) fn add_frames(&mut self, new: impl IntoIterator<Item = (u64, Vec<u8>)>) {
        let new: BTreeMap<u64, Vec<u8>> = new.into_iter().collect();
        let mut bytes = 0usize;
        let mut kept = BTreeMap::new();
        for (a, b) in new {
            bytes = bytes.saturating_add(b.len());
            if kept.len() >= MAX_MEMO || bytes > MAX_MEMO_BLOB {
                break;
            }
            kept.insert(a, std::borrow::Cow::Owned(b));
        }
        for (a, b) in std::mem::take(&mut self.memo) {
            if kept.len() >= MAX_MEMO {
                break;
            }
            if kept.contains_key(&a) {
                continue;
            }
            bytes = bytes.saturating_add(b.len());
            if bytes > MAX_MEMO_BLOB {
                break;
            }
            kept.insert(a, b);
        }
        self.memo = kept;
    }

    /// The file's bytes.
    pub(crate) fn encode(&self, source: &Source) -> Option<Vec<u8>> {
        let mut keys = Vec::with_capacity(self.memo.len().saturating_mul(16));
        let mut blob = Vec::new();
        for (a, b) in &self.memo {
            keys.extend_from_slice(&a.to_le_bytes());
            keys.extend_from_slice(&u32::try_from(blob.len()).ok()?.to_le_bytes());
            keys.extend_from_slice(&u32::try_from(b.len()).ok()?.to_le_bytes());
            blob.extend_from_slice(b);
        }
        let sections: [&[u8]; NSECTIONS] = [
            &self.syms,
            &self.by_addr,
            &self.names,
            &self.units,
            &self.listed,
            &keys,
            &blob,
        ];
        let mut out = vec![0u8; HEADER_LEN];
        let mut table = Vec::with_capacity(NSECTIONS.saturating_mul(16));
        for s in sections {
            while !out.len().is_multiple_of(8) {
                out.push(0);
            }
            table.extend_from_slice(&(out.len() as u64).to_le_bytes());
            table.extend_from_slice(&(s.len() as u64).to_le_bytes());
            out.extend_from_slice(s);
        }
        let total = out.len() as u64;
        let src = encode_source(source)?;
        let header = out.get_mut(..HEADER_LEN)?;
        header.get_mut(..8)?.copy_from_slice(&MAGIC);
        header
            .get_mut(8..12)?
            .copy_from_slice(&VERSION.to_le_bytes());
        header
            .get_mut(12..16)?
            .copy_from_slice(&(NSECTIONS as u32).to_le_bytes());
        header.get_mut(16..104)?.copy_from_slice(&src);
        header
            .get_mut(104..112)?
            .copy_from_slice(&total.to_le_bytes());
        header.get_mut(TABLE_AT..)?.copy_from_slice(&table);
        let sum = checksum(&[
            out.get(..CHECKSUM_AT).unwrap_or(&[]),
            out.get(TABLE_AT..).unwrap_or(&[]),
        ]);
        out.get_mut(CHECKSUM_AT..TABLE_AT)?
            .copy_from_slice(&sum.to_le_bytes());
        Some(out)
    }
}

/// The index attached to a [`DebugObject`](crate::DebugObject): the
/// verified file (if there was one), and the writer that stores what the
/// run learnt when the object is dropped. (The writer owns all it needs,
/// so dropping an object never needs its borrowed bytes alive.)
pub(crate) struct Attached<'d> {
    pub view: Option<View<'d>>,
    /// The writer ([`crate::index_store`]), kept alive with the object and
    /// run when it is dropped; type-erased so that this format layer does
    /// not depend on the store above it.
    pub _saver: Option<Box<dyn core::any::Any>>,
}
