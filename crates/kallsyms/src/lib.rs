//! Kernel symbols from the compressed kallsyms tables in a dump's memory,
//! located by VMCOREINFO: no vmlinux, no System.map.
//!
//! Since Linux 6.0 VMCOREINFO exports the addresses of the tables
//! (`kernel/crash_core.c` in 6.1, `kernel/vmcore_info.c` in 6.12):
//! `kallsyms_names`, `kallsyms_num_syms`, `kallsyms_token_table`,
//! `kallsyms_token_index` and either `kallsyms_offsets` +
//! `kallsyms_relative_base` (base-relative, every x86_64 distribution
//! kernel) or `kallsyms_addresses`.
//!
//! The format, the same in 6.1 and 6.12 (`scripts/kallsyms.c`,
//! `kernel/kallsyms.c` `kallsyms_expand_symbol`, `kallsyms_sym_address`):
//! - `kallsyms_num_syms`: a 32-bit count (`.long`);
//! - `kallsyms_names`: per symbol a length byte (if its top bit is set, a
//!   second byte holds bits 7..14: "big" symbols, 6.1+) then that many token
//!   numbers; the tokens' texts concatenated are the type letter followed by
//!   the name;
//! - `kallsyms_token_table`: 256 NUL-terminated token texts, found through
//!   `kallsyms_token_index` (256 `u16` offsets);
//! - `kallsyms_offsets`: one `s32` per symbol. With absolute per-CPU
//!   symbols (x86_64 SMP), a non-negative value is the address itself and a
//!   negative one means `relative_base - 1 - value`; otherwise each is an
//!   unsigned offset from `relative_base`.
//!
//! kallsyms stores no sizes: a symbol runs to the next higher address, as
//! the kernel's own `get_symbol_pos` assumes.
#![deny(missing_docs)]
#![deny(clippy::arithmetic_side_effects)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::panic))]

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::OnceLock;

use crashview_vmcore::{KernelMemory, VmcoreInfo};

/// More symbols than this is a corrupt count (Debian's 6.1 has ~190k, with
/// `CONFIG_KALLSYMS_ALL`).
pub const MAX_SYMBOLS: u32 = 1 << 22;
/// Longest encoded name the format can hold (15-bit length).
const MAX_ENCODED_LEN: usize = 0x7fff;
/// Bytes of `kallsyms_names` read at a time.
const CHUNK: usize = 64 * 1024;

/// Why the tables could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// VMCOREINFO lacks a key (kernels before 6.0, or a dump without it).
    Missing(&'static str),
    /// Memory at `addr` could not be read.
    Unreadable {
        /// The table being read.
        what: &'static str,
        /// Its address (or the address of the piece that failed).
        addr: u64,
        /// Why, as the dump reader said.
        reason: String,
    },
    /// A value that cannot be right.
    Corrupt {
        /// The table.
        what: &'static str,
        /// Address of the bad value.
        addr: u64,
        /// What is wrong.
        message: String,
    },
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::Missing(k) => write!(
                f,
                "VMCOREINFO has no {k} (kallsyms tables are exported since Linux 6.0)"
            ),
            Error::Unreadable { what, addr, reason } => {
                write!(f, "cannot read {what} at {addr:#x}: {reason}")
            }
            Error::Corrupt {
                what,
                addr,
                message,
            } => write!(f, "{what} at {addr:#x}: {message}"),
        }
    }
}

impl std::error::Error for Error {}

/// One symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    addr: u64,
    name_start: u32,
    name_len: u16,
    kind: u8,
}

/// The symbol containing an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location<'a> {
    /// Symbol name.
    pub name: &'a str,
    /// Symbol address.
    pub address: u64,
    /// `addr - address`.
    pub offset: u64,
    /// Distance to the next higher symbol (kallsyms has no sizes).
    pub size: u64,
    /// The `nm`-style type letter (`t`, `T`, `d`, …).
    pub kind: char,
}

/// The table's bytes: owned, or a map of a cache file.
pub type Storage = Box<dyn AsRef<[u8]> + Send + Sync>;

/// The decoded table, sorted by address. It is held in the format of
/// [`Kallsyms::to_bytes`] (fixed 16-byte entries, then the names), so a
/// table from a cache file is used where it lies, with nothing to build.
pub struct Kallsyms {
    data: Storage,
    /// Where the table (its magic) starts in `data`.
    at: usize,
    /// KASLR offset added to addresses that move with it.
    kaslr: u64,
    count: usize,
    /// Start of the names, in `data`.
    names_at: usize,
    names_len: usize,
    by_name: OnceLock<HashMap<u64, u32, BuildHasherDefault<Prehashed>>>,
}

impl core::fmt::Debug for Kallsyms {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Kallsyms({} symbols)", self.count)
    }
}

impl Default for Kallsyms {
    fn default() -> Self {
        Kallsyms::from_entries(&[], "", 0)
    }
}

/// FNV-1a of a name: the key of the name index (hashing once, with no
/// allocation per name, is most of what opening a cached table costs).
fn name_hash(name: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A hasher for keys that are hashes already.
#[derive(Default)]
struct Prehashed(u64);

impl std::hash::Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// The raw tables, for decoding bytes already in hand (tests, fuzzing).
#[derive(Debug, Clone, Copy)]
pub struct Tables<'a> {
    /// `kallsyms_names` (at least up to the last symbol's end).
    pub names: &'a [u8],
    /// `kallsyms_token_table`.
    pub token_table: &'a [u8],
    /// `kallsyms_token_index` (512 bytes).
    pub token_index: &'a [u8],
    /// `kallsyms_offsets` (4 bytes per symbol).
    pub offsets: &'a [u8],
    /// `kallsyms_relative_base`.
    pub relative_base: u64,
    /// `kallsyms_num_syms`.
    pub num_syms: u32,
}

impl Kallsyms {
    /// Decode the tables of the dumped kernel.
    pub fn read(mem: &dyn KernelMemory) -> Result<Kallsyms, Error> {
        let vi = mem.vmcoreinfo().ok_or(Error::Missing("VMCOREINFO"))?;
        let sym =
            |name: &'static str, key: &'static str| vi.symbol(name).ok_or(Error::Missing(key));
        let names_at = sym("kallsyms_names", "SYMBOL(kallsyms_names)")?;
        let num_at = sym("kallsyms_num_syms", "SYMBOL(kallsyms_num_syms)")?;
        let table_at = sym("kallsyms_token_table", "SYMBOL(kallsyms_token_table)")?;
        let index_at = sym("kallsyms_token_index", "SYMBOL(kallsyms_token_index)")?;

        let mut n = [0u8; 4];
        read(mem, "kallsyms_num_syms", num_at, &mut n)?;
        let num_syms = u32::from_le_bytes(n);
        if num_syms > MAX_SYMBOLS {
            return Err(Error::Corrupt {
                what: "kallsyms_num_syms",
                addr: num_at,
                message: format!("{num_syms} symbols (more than {MAX_SYMBOLS})"),
            });
        }
        let mut token_index = [0u8; 512];
        read(mem, "kallsyms_token_index", index_at, &mut token_index)?;
        let token_table = read_token_table(mem, table_at, index_at, &token_index)?;
        let count = num_syms as usize;
        let addrs = addresses(mem, vi, count)?;
        let names = NameStream::new(mem, names_at);
        let kaslr = vi.kernel_offset().unwrap_or(0);
        decode(names, &token_table, &token_index, count, kaslr, |i| {
            addrs.get(i).copied()
        })
    }

    /// Decode tables given as bytes.
    pub fn from_tables(t: Tables<'_>) -> Result<Kallsyms, Error> {
        if t.num_syms > MAX_SYMBOLS {
            return Err(corrupt(
                "kallsyms_num_syms",
                0,
                format!("{} symbols", t.num_syms),
            ));
        }
        let count = t.num_syms as usize;
        let need = count.saturating_mul(4);
        let offs = t.offsets.get(..need).ok_or_else(|| {
            corrupt(
                "kallsyms_offsets",
                0,
                format!("{} bytes, need {need}", t.offsets.len()),
            )
        })?;
        let raw: Vec<i32> = offs
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let rel = Relative::of(&raw, t.relative_base);
        decode(
            SliceStream(t.names),
            t.token_table,
            t.token_index,
            count,
            0,
            |i| raw.get(i).map(|&o| rel.address(o)),
        )
    }

    /// Number of symbols.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True with no symbols.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    fn bytes(&self) -> &[u8] {
        (*self.data).as_ref()
    }

    /// Entry `i`: (stored address, name start, name length, type).
    fn raw(&self, i: usize) -> Option<(u64, u32, u16, u8)> {
        let off = self
            .at
            .checked_add(16)?
            .checked_add(i.checked_mul(CACHE_ENTRY)?)?;
        let c = self.bytes().get(off..off.checked_add(CACHE_ENTRY)?)?;
        Some((
            u64::from_le_bytes(c.get(..8)?.try_into().ok()?),
            u32::from_le_bytes(c.get(8..12)?.try_into().ok()?),
            u16::from_le_bytes(c.get(12..14)?.try_into().ok()?),
            *c.get(14)?,
        ))
    }

    /// A stored address as this dump's.
    fn runtime(&self, stored: u64) -> u64 {
        if stored >= KASLR_MOVES {
            stored.wrapping_add(self.kaslr)
        } else {
            stored
        }
    }

    fn addr(&self, i: usize) -> Option<u64> {
        self.raw(i).map(|r| self.runtime(r.0))
    }

    fn name(&self, i: usize) -> &str {
        let Some((_, start, len, _)) = self.raw(i) else {
            return "";
        };
        let from = self.names_at.saturating_add(start as usize);
        self.bytes()
            .get(from..from.saturating_add(len as usize))
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or("")
    }

    /// Every symbol: `(address, type letter, name)`, by address.
    pub fn iter(&self) -> impl Iterator<Item = (u64, char, &str)> + '_ {
        (0..self.count).filter_map(|i| {
            let r = self.raw(i)?;
            Some((self.runtime(r.0), r.3 as char, self.name(i)))
        })
    }

    /// The symbol containing `addr`: the last one at or below it, if the
    /// next higher symbol is above `addr` (the highest symbol contains
    /// nothing: its end is unknown). Per-CPU offsets name no kernel address.
    pub fn lookup(&self, addr: u64) -> Option<Location<'_>> {
        // Binary search over the sorted entries, in this dump's addresses.
        let (mut lo, mut hi) = (0usize, self.count);
        while lo < hi {
            let mid = lo.saturating_add(hi.saturating_sub(lo) / 2);
            if self.addr(mid)? <= addr {
                lo = mid.saturating_add(1);
            } else {
                hi = mid;
            }
        }
        let i = lo.checked_sub(1)?;
        let (stored, _, _, kind) = self.raw(i)?;
        if stored < KASLR_MOVES && addr >= KASLR_MOVES {
            return None;
        }
        let here = self.runtime(stored);
        let next = (lo..self.count).find_map(|j| self.addr(j).filter(|&n| n > here))?;
        Some(Location {
            name: self.name(i),
            address: here,
            offset: addr.checked_sub(here)?,
            size: next.checked_sub(here)?,
            kind: kind as char,
        })
    }

    /// Addresses of the first symbols with these names, in one pass over
    /// the table (no index is built: for the few names a reader needs).
    pub fn find_all(&self, names: &[&str]) -> Vec<Option<u64>> {
        let mut out = vec![None; names.len()];
        let mut left = names.len();
        for i in 0..self.count {
            let n = self.name(i);
            if let Some(w) = names.iter().position(|w| *w == n) {
                if let Some(slot) = out.get_mut(w).filter(|s| s.is_none()) {
                    *slot = self.addr(i);
                    left = left.saturating_sub(1);
                    if left == 0 {
                        break;
                    }
                }
            }
        }
        out
    }

    /// Address of the first symbol called `name`.
    pub fn address_of(&self, name: &str) -> Option<u64> {
        let map = self.by_name.get_or_init(|| {
            let mut m =
                HashMap::with_capacity_and_hasher(self.count, BuildHasherDefault::default());
            for i in 0..self.count {
                m.entry(name_hash(self.name(i))).or_insert(i as u32);
            }
            m
        });
        let first = map.get(&name_hash(name)).map(|&i| i as usize);
        match first {
            Some(i) if self.name(i) == name => self.addr(i),
            // Another name with the same hash came first: look it up the
            // slow way (never seen with real tables; kept correct).
            Some(_) => (0..self.count)
                .find(|&i| self.name(i) == name)
                .and_then(|i| self.addr(i)),
            None => None,
        }
    }
}

/// Magic and version of [`Kallsyms::to_bytes`].
const CACHE_MAGIC: &[u8; 8] = b"CVKSYM1\0";
/// Addresses at or above this (kernel text and data) move with KASLR; the
/// absolute per-CPU offsets below do not.
const KASLR_MOVES: u64 = crashview_vmcore::x86_64::START_KERNEL_MAP;
/// Bytes per entry in [`Kallsyms::to_bytes`].
const CACHE_ENTRY: usize = 16;

impl Kallsyms {
    /// Build the table from decoded entries (sorted by address).
    fn from_entries(entries: &[Entry], names: &str, kaslr: u64) -> Kallsyms {
        let mut b = Vec::with_capacity(
            16usize
                .saturating_add(entries.len().saturating_mul(CACHE_ENTRY))
                .saturating_add(names.len()),
        );
        b.extend_from_slice(CACHE_MAGIC);
        b.extend_from_slice(&(entries.len() as u32).to_le_bytes());
        b.extend_from_slice(&(names.len() as u32).to_le_bytes());
        for e in entries {
            let a = if e.addr >= KASLR_MOVES {
                e.addr.wrapping_sub(kaslr)
            } else {
                e.addr
            };
            b.extend_from_slice(&a.to_le_bytes());
            b.extend_from_slice(&e.name_start.to_le_bytes());
            b.extend_from_slice(&e.name_len.to_le_bytes());
            b.push(e.kind);
            b.push(0);
        }
        b.extend_from_slice(names.as_bytes());
        let names_at = 16usize.saturating_add(entries.len().saturating_mul(CACHE_ENTRY));
        Kallsyms {
            data: Box::new(b),
            at: 0,
            kaslr,
            count: entries.len(),
            names_at,
            names_len: names.len(),
            by_name: OnceLock::new(),
        }
    }

    /// The table for a cache shared by dumps of the same build: as it is
    /// held, addresses that move with KASLR stored less this dump's offset.
    pub fn to_bytes(&self) -> Vec<u8> {
        let end = self.names_at.saturating_add(self.names_len);
        self.bytes().get(self.at..end).unwrap_or_default().to_vec()
    }

    /// [`Kallsyms::to_bytes`] read back for a dump whose KASLR offset is
    /// `kaslr`; `None` if the bytes are not such a table.
    pub fn from_bytes(b: &[u8], kaslr: u64) -> Option<Kallsyms> {
        Kallsyms::from_storage(Box::new(b.to_vec()), 0, kaslr)
    }

    /// The table that starts at `at` of `data` (a cache file's map, say),
    /// used in place: checked once (sizes, sorted addresses, every name in
    /// bounds and UTF-8), never copied.
    pub fn from_storage(data: Storage, at: usize, kaslr: u64) -> Option<Kallsyms> {
        let b = (*data).as_ref();
        let rest = b.get(at..)?.strip_prefix(CACHE_MAGIC)?;
        let word = |o: usize| -> Option<u32> {
            Some(u32::from_le_bytes(
                rest.get(o..o.checked_add(4)?)?.try_into().ok()?,
            ))
        };
        let count = word(0)?;
        let names_len = word(4)? as usize;
        if count > MAX_SYMBOLS {
            return None;
        }
        let table_len = (count as usize).checked_mul(CACHE_ENTRY)?;
        let names_rel = 8usize.checked_add(table_len)?;
        // What follows the table (a container's trailer) is not ours.
        let names = rest.get(names_rel..names_rel.checked_add(names_len)?)?;
        // ASCII (every real table): any slice of it is UTF-8, so names
        // need no check each; otherwise each name is checked below.
        let ascii = names.is_ascii();
        if !ascii {
            std::str::from_utf8(names).ok()?;
        }
        let entries = rest.get(8..names_rel)?;
        let mut last = 0u64;
        for c in entries.chunks_exact(CACHE_ENTRY) {
            let stored = u64::from_le_bytes(c.get(..8)?.try_into().ok()?);
            let start = u32::from_le_bytes(c.get(8..12)?.try_into().ok()?) as usize;
            let len = u16::from_le_bytes(c.get(12..14)?.try_into().ok()?) as usize;
            let name = names.get(start..start.checked_add(len)?)?;
            if stored < last || (!ascii && std::str::from_utf8(name).is_err()) {
                return None;
            }
            last = stored;
        }
        let k = Kallsyms {
            names_at: at.checked_add(16)?.checked_add(table_len)?,
            data,
            at,
            kaslr,
            count: count as usize,
            names_len,
            by_name: OnceLock::new(),
        };
        Some(k)
    }
}

fn corrupt(what: &'static str, addr: u64, message: String) -> Error {
    Error::Corrupt {
        what,
        addr,
        message,
    }
}

fn read(
    mem: &dyn KernelMemory,
    what: &'static str,
    addr: u64,
    buf: &mut [u8],
) -> Result<(), Error> {
    mem.read_virt(addr, buf).map_err(|e| Error::Unreadable {
        what,
        addr,
        reason: e.to_string(),
    })
}

/// The token table: up to the index when it follows the table (as
/// `scripts/kallsyms.c` lays them out), else the furthest token plus room.
fn read_token_table(
    mem: &dyn KernelMemory,
    at: u64,
    index_at: u64,
    index: &[u8; 512],
) -> Result<Vec<u8>, Error> {
    let furthest = index
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]) as u64)
        .max()
        .unwrap_or(0);
    let len = match index_at.checked_sub(at) {
        Some(d) if d > furthest && d <= 0x1_0000 => d,
        _ => furthest.saturating_add(256),
    };
    let mut t = vec![0u8; len as usize];
    read(mem, "kallsyms_token_table", at, &mut t)?;
    Ok(t)
}

/// How `kallsyms_offsets` encodes addresses.
#[derive(Debug, Clone, Copy)]
struct Relative {
    base: u64,
    absolute_percpu: bool,
}

impl Relative {
    /// With absolute per-CPU symbols every kernel address is stored as a
    /// negative number, so one negative value settles the mode; all values
    /// non-negative means plain unsigned offsets.
    fn of(raw: &[i32], base: u64) -> Relative {
        Relative {
            base,
            absolute_percpu: raw.iter().any(|&o| o < 0),
        }
    }

    fn address(self, o: i32) -> u64 {
        if !self.absolute_percpu {
            self.base.wrapping_add(o as u32 as u64)
        } else if o >= 0 {
            o as u64
        } else {
            // base - 1 - o, with o < 0: base + (-o - 1), -o - 1 >= 0.
            let back = i64::from(o).unsigned_abs().wrapping_sub(1);
            self.base.wrapping_add(back)
        }
    }
}

/// Symbol addresses from `kallsyms_offsets` (or `kallsyms_addresses`).
fn addresses(mem: &dyn KernelMemory, vi: &VmcoreInfo, count: usize) -> Result<Vec<u64>, Error> {
    let bytes_for = |width: usize| count.saturating_mul(width);
    if let Some(at) = vi.symbol("kallsyms_offsets") {
        let base_at = vi
            .symbol("kallsyms_relative_base")
            .ok_or(Error::Missing("SYMBOL(kallsyms_relative_base)"))?;
        let mut b = [0u8; 8];
        read(mem, "kallsyms_relative_base", base_at, &mut b)?;
        let base = u64::from_le_bytes(b);
        let mut raw = vec![0u8; bytes_for(4)];
        read(mem, "kallsyms_offsets", at, &mut raw)?;
        let offs: Vec<i32> = raw
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let rel = Relative::of(&offs, base);
        return Ok(offs.into_iter().map(|o| rel.address(o)).collect());
    }
    let at = vi
        .symbol("kallsyms_addresses")
        .ok_or(Error::Missing("SYMBOL(kallsyms_offsets)"))?;
    let mut raw = vec![0u8; bytes_for(8)];
    read(mem, "kallsyms_addresses", at, &mut raw)?;
    let addrs = raw
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
        .collect();
    Ok(addrs)
}

/// Sequential reads of `kallsyms_names`.
trait Stream {
    /// Fill `buf` from byte `at` of the names table.
    fn fill(&mut self, at: usize, buf: &mut [u8]) -> Result<(), Error>;
}

struct SliceStream<'a>(&'a [u8]);

impl Stream for SliceStream<'_> {
    fn fill(&mut self, at: usize, buf: &mut [u8]) -> Result<(), Error> {
        let src = at
            .checked_add(buf.len())
            .and_then(|end| self.0.get(at..end))
            .ok_or_else(|| corrupt("kallsyms_names", at as u64, "runs past the table".into()))?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

/// `kallsyms_names` in memory, read [`CHUNK`] bytes at a time.
struct NameStream<'m> {
    mem: &'m dyn KernelMemory,
    base: u64,
    chunk_at: usize,
    chunk: Vec<u8>,
}

impl<'m> NameStream<'m> {
    fn new(mem: &'m dyn KernelMemory, base: u64) -> Self {
        NameStream {
            mem,
            base,
            chunk_at: 0,
            chunk: Vec::new(),
        }
    }
}

impl Stream for NameStream<'_> {
    fn fill(&mut self, at: usize, buf: &mut [u8]) -> Result<(), Error> {
        let end = at
            .checked_add(buf.len())
            .ok_or_else(|| corrupt("kallsyms_names", self.base, "offset past 2^64".into()))?;
        let have_end = self.chunk_at.saturating_add(self.chunk.len());
        if at < self.chunk_at || end > have_end {
            // A new chunk from `at`, large enough for this read.
            let len = CHUNK.max(buf.len());
            let addr = self
                .base
                .checked_add(at as u64)
                .ok_or_else(|| corrupt("kallsyms_names", self.base, "runs past 2^64".into()))?;
            self.chunk.resize(len, 0);
            if read(self.mem, "kallsyms_names", addr, &mut self.chunk).is_err() {
                // The table may end within the chunk, before unreadable
                // memory: read just what is asked.
                self.chunk.resize(buf.len(), 0);
                read(self.mem, "kallsyms_names", addr, &mut self.chunk)?;
            }
            self.chunk_at = at;
        }
        let from = at.saturating_sub(self.chunk_at);
        let src = self
            .chunk
            .get(from..from.saturating_add(buf.len()))
            .ok_or_else(|| corrupt("kallsyms_names", self.base, "chunk arithmetic".into()))?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

/// Expand every name and pair it with its address.
fn decode(
    mut names: impl Stream,
    token_table: &[u8],
    token_index: &[u8],
    count: usize,
    kaslr: u64,
    address: impl Fn(usize) -> Option<u64>,
) -> Result<Kallsyms, Error> {
    // The 256 tokens' texts, expanded once.
    let mut tokens: Vec<&[u8]> = Vec::with_capacity(256);
    for i in 0..256usize {
        let at = i
            .checked_mul(2)
            .and_then(|o| token_index.get(o..o.checked_add(2)?))
            .map(|c| u16::from_le_bytes([c[0], c[1]]) as usize)
            .ok_or_else(|| corrupt("kallsyms_token_index", 0, format!("no entry {i}")))?;
        let rest = token_table.get(at..).ok_or_else(|| {
            corrupt(
                "kallsyms_token_table",
                at as u64,
                format!("token {i} starts past the table"),
            )
        })?;
        let len = rest.iter().position(|&b| b == 0).ok_or_else(|| {
            corrupt(
                "kallsyms_token_table",
                at as u64,
                format!("token {i} has no NUL"),
            )
        })?;
        tokens.push(rest.get(..len).unwrap_or_default());
    }

    let mut entries = Vec::with_capacity(count);
    let mut text: Vec<u8> = Vec::new();
    let mut off = 0usize;
    let mut head = [0u8; 2];
    let mut body = vec![0u8; MAX_ENCODED_LEN];
    let mut name = Vec::with_capacity(128);
    for i in 0..count {
        names.fill(off, &mut head[..1])?;
        let mut len = head[0] as usize;
        let mut skip = 1usize;
        if len & 0x80 != 0 {
            names.fill(off.saturating_add(1), &mut head[1..2])?;
            len = (len & 0x7f) | ((head[1] as usize) << 7);
            skip = 2;
        }
        let start = off.saturating_add(skip);
        let enc = body.get_mut(..len).unwrap_or_default();
        names.fill(start, enc)?;
        off = start.saturating_add(len);
        name.clear();
        for &t in enc.iter() {
            name.extend_from_slice(tokens.get(t as usize).copied().unwrap_or_default());
        }
        let Some((&kind, rest)) = name.split_first() else {
            return Err(corrupt(
                "kallsyms_names",
                off as u64,
                format!("symbol {i} has an empty name"),
            ));
        };
        let addr = address(i)
            .ok_or_else(|| corrupt("kallsyms_offsets", 0, format!("no address for symbol {i}")))?;
        let name_start = u32::try_from(text.len())
            .map_err(|_| corrupt("kallsyms_names", off as u64, "names exceed 4 GiB".into()))?;
        let name_len = u16::try_from(rest.len()).unwrap_or(u16::MAX);
        text.extend_from_slice(rest.get(..name_len as usize).unwrap_or_default());
        entries.push(Entry {
            addr,
            name_start,
            name_len,
            kind,
        });
    }
    // Names are ASCII in practice; anything else is shown lossily.
    let names = match String::from_utf8(text) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    };
    // Sorted by address as scripts/kallsyms.c emits them; a corrupt table
    // may not be, and lookups need it.
    if entries
        .windows(2)
        .any(|w| w.first().map(|a| a.addr) > w.get(1).map(|b| b.addr))
    {
        entries.sort_by_key(|e| e.addr);
    }
    Ok(Kallsyms::from_entries(&entries, &names, kaslr))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A three-symbol table built by hand in the kernel's encoding.
    fn tables() -> (Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>) {
        // Tokens: 0 -> "t", 1 -> "foo", 2 -> "T", 3 -> "bar", 4.. -> single bytes.
        let mut table = Vec::new();
        let mut index = Vec::new();
        for i in 0..256u32 {
            index.extend_from_slice(&(table.len() as u16).to_le_bytes());
            match i {
                0 => table.extend_from_slice(b"t\0"),
                1 => table.extend_from_slice(b"foo\0"),
                2 => table.extend_from_slice(b"T\0"),
                3 => table.extend_from_slice(b"bar\0"),
                _ => table.extend_from_slice(&[b'a', 0]),
            }
        }
        // "tfoo", "Tbar", "tfoobar"
        let names = vec![2, 0, 1, 2, 2, 3, 3, 0, 1, 3];
        let base: u64 = 0xffff_ffff_8100_0000;
        let mut offsets = Vec::new();
        // absolute-percpu encoding: -(addr - base) - 1
        for d in [0u64, 0x10, 0x30] {
            offsets.extend_from_slice(&(d as i32).wrapping_neg().wrapping_sub(1).to_le_bytes());
        }
        let _ = base;
        (names, table, index, offsets)
    }

    #[test]
    fn decodes_and_looks_up() {
        let (names, table, index, offsets) = tables();
        let k = Kallsyms::from_tables(Tables {
            names: &names,
            token_table: &table,
            token_index: &index,
            offsets: &offsets,
            relative_base: 0xffff_ffff_8100_0000,
            num_syms: 3,
        })
        .unwrap();
        let all: Vec<_> = k.iter().collect();
        assert_eq!(
            all,
            vec![
                (0xffff_ffff_8100_0000, 't', "foo"),
                (0xffff_ffff_8100_0010, 'T', "bar"),
                (0xffff_ffff_8100_0030, 't', "foobar")
            ]
        );
        let l = k.lookup(0xffff_ffff_8100_0015).unwrap();
        assert_eq!((l.name, l.offset, l.size), ("bar", 5, 0x20));
        // The highest symbol's end is unknown: it names nothing.
        assert!(k.lookup(0xffff_ffff_8100_0031).is_none());
        assert!(k.lookup(0xffff_ffff_80ff_ffff).is_none());
        assert_eq!(k.address_of("foobar"), Some(0xffff_ffff_8100_0030));
        // Through the cache format, for a dump with another KASLR offset.
        let b = k.to_bytes();
        let k2 = Kallsyms::from_bytes(&b, 0x2000).unwrap();
        assert_eq!(k2.address_of("foobar"), Some(0xffff_ffff_8100_2030));
        assert_eq!(k2.len(), 3);
        for cut in 0..b.len() {
            assert!(Kallsyms::from_bytes(&b[..cut], 0).is_none());
        }
    }

    #[test]
    fn big_symbol_length() {
        // One symbol of 200 tokens: length 200 = 0x80 | (200 & 0x7f), 200 >> 7.
        let (_, table, index, _) = tables();
        let mut names = vec![0x80 | (200 & 0x7f), 200 >> 7, 0];
        names.extend(std::iter::repeat_n(1u8, 199));
        let offsets = 0i32.to_le_bytes();
        let k = Kallsyms::from_tables(Tables {
            names: &names,
            token_table: &table,
            token_index: &index,
            offsets: &offsets,
            relative_base: 0x1000,
            num_syms: 1,
        })
        .unwrap();
        let (addr, kind, name) = k.iter().next().unwrap();
        assert_eq!((addr, kind, name.len()), (0x1000, 't', 199 * 3));
    }

    #[test]
    fn truncated_names_are_an_error() {
        let (names, table, index, offsets) = tables();
        let e = Kallsyms::from_tables(Tables {
            names: &names[..6],
            token_table: &table,
            token_index: &index,
            offsets: &offsets,
            relative_base: 0,
            num_syms: 3,
        })
        .unwrap_err();
        assert!(e.to_string().contains("kallsyms_names"), "{e}");
        let e = Kallsyms::from_tables(Tables {
            names: &names,
            token_table: &table[..3],
            token_index: &index,
            offsets: &offsets,
            relative_base: 0,
            num_syms: 3,
        })
        .unwrap_err();
        assert!(e.to_string().contains("token"), "{e}");
    }
}
