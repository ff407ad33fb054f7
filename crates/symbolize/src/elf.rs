//! One ELF debug object: vmlinux (`ET_EXEC`) or a module `.ko` (`ET_REL`).
//!
//! A [`DebugObject`] borrows the file's bytes (normally a memory map made by
//! the caller) and parses nothing up front but the ELF headers: symbols are
//! read in one pass over `.symtab` for all the names a log needs
//! ([`DebugObject::prefetch_symbols`]), and the DWARF context is built on the
//! first line lookup. addr2line then parses each compilation unit's line
//! table and functions only when an address falls into it, so a 600 MB
//! vmlinux costs page faults on the units a trace touches, not a read of the
//! whole file.
//!
//! # Relocatable modules
//!
//! In a `.ko` every section has address 0 and the DWARF refers to code
//! through relocations (`.rela.debug_info`, `.rela.debug_line`, …). We lay
//! the allocated sections out one after another at increasing addresses (as
//! binutils' BFD does in `place_sections` for the same reason), compute each
//! symbol's address as its section's base plus `st_value`, and apply the
//! DWARF relocations against that layout into copies of the debug sections
//! (kept in a [`SectionArena`]). A `name+off` frame then maps to one address
//! in one section, which is what `addr2line -j <section> <st_value+off>`
//! looks up. (`decode_stacktrace.sh` passes `st_value+off` without the
//! section, so binutils searches `.text` and answers wrongly for functions in
//! `.text.unlikely` or `.init.text`.)
//!
//! A vmlinux is linked with `--emit-relocs`, so it too carries
//! `.rela.debug_*` sections; they are already applied and must be ignored.

use std::borrow::Cow;
use std::cell::{OnceCell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use object::elf;
use object::read::elf::{ElfFile64, FileHeader, Rela, SectionHeader, Sym};
use object::{Endianness, Object, ObjectSection, SectionIndex};

use crate::error::{Error, Result};

/// The gimli reader over a debug section.
pub type Slice<'data> = gimli::EndianSlice<'data, gimli::RunTimeEndian>;

pub use crate::frame::{SourceFrame, MAX_INLINE_DEPTH};

/// Owns the debug sections that had to be copied (relocated or
/// decompressed), and the maps of index files, so that everything a
/// [`DebugObject`] hands out can borrow for the same lifetime as the
/// file's bytes.
pub struct SectionArena(
    typed_arena::Arena<Vec<u8>>,
    typed_arena::Arena<Box<dyn AsRef<[u8]> + Send + Sync>>,
);

impl SectionArena {
    /// An empty arena.
    pub fn new() -> Self {
        SectionArena(typed_arena::Arena::new(), typed_arena::Arena::new())
    }

    /// Keeps `bytes` (a memory map, say) for the arena's lifetime.
    pub fn keep(&self, bytes: Box<dyn AsRef<[u8]> + Send + Sync>) -> &[u8] {
        let kept: &(dyn AsRef<[u8]> + Send + Sync) = &**self.1.alloc(bytes);
        kept.as_ref()
    }
}

impl Default for SectionArena {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for SectionArena {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SectionArena")
    }
}

/// Where an object's bytes come from, told which of them are about to be
/// read. With a cold page cache, resolving a trace through a memory map
/// reads a few MB scattered over a 600 MB vmlinux; asked for up front,
/// those reads run in parallel instead of one page fault at a time.
/// [`loader`](crate::loader) implements it for its maps
/// (`madvise(MADV_WILLNEED)`).
pub trait ReadAhead {
    /// `len` bytes at file offset `offset` will be read soon. A hint only.
    fn will_need(&self, offset: usize, len: usize);
}

/// How much of a unit's abbreviations and line program to ask for before
/// their exact sizes are known (their headers are in the same pages).
const READ_AHEAD_GUESS: usize = 64 << 10;

/// A code symbol from `.symtab`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SymDef<'data> {
    /// Symbol name.
    pub name: &'data str,
    /// Address in the object's address space (placed for `ET_REL`).
    pub address: u64,
    /// `st_value` (section-relative in a `.ko`).
    pub value: u64,
    /// `st_size`.
    pub size: u64,
    /// Index of the section it is defined in.
    pub section: usize,
}

/// A vmlinux or module ELF file with (possibly) DWARF.
pub struct DebugObject<'data> {
    elf: ElfFile64<'data, Endianness>,
    arena: &'data SectionArena,
    relocatable: bool,
    /// Per section index: base address (ET_REL placement; 0 otherwise) and
    /// whether it holds code.
    bases: Vec<(u64, bool)>,
    /// Placed allocated sections (base, size, index), sorted by base.
    placed: Vec<(u64, u64, usize)>,
    has_dwarf: bool,
    sections: OnceCell<Result<Sections<'data>>>,
    /// addr2line over the whole file: only for units the per-unit path
    /// cannot take (see [`DebugObject::frames`]).
    dwarf: OnceCell<Result<addr2line::Context<Slice<'data>>>>,
    units: OnceCell<Result<UnitIndex>>,
    unlisted: OnceCell<Result<UnitIndex>>,
    unit_contexts: RefCell<HashMap<usize, Rc<Result<addr2line::Context<Slice<'data>>>>>>,
    symbols: RefCell<HashMap<String, Vec<SymDef<'data>>>>,
    by_address: OnceCell<Vec<SymDef<'data>>>,
    /// Shared with the index writer, which stores them when dropped.
    frames: Rc<RefCell<HashMap<u64, Vec<SourceFrame>>>>,
    read_ahead: Option<&'data dyn ReadAhead>,
    /// The persistent index ([`crate::index`]), when attached.
    index: Option<crate::index::Attached<'data>>,
}

impl core::fmt::Debug for DebugObject<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DebugObject")
            .field("relocatable", &self.relocatable)
            .field("has_dwarf", &self.has_dwarf)
            .field("sections", &self.bases.len())
            .finish_non_exhaustive()
    }
}

fn elf_err(_: object::Error) -> Error {
    // object's reason is only reachable through Display; keep the enum Copy.
    Error::BadElf("malformed ELF headers, symbols or relocations")
}

impl<'data> DebugObject<'data> {
    /// Reads the ELF headers of `data`. Sections that must be copied go to
    /// `arena`.
    pub fn parse(data: &'data [u8], arena: &'data SectionArena) -> Result<Self> {
        let elf = ElfFile64::<Endianness>::parse(data).map_err(elf_err)?;
        let endian = elf.endian();
        let header = elf.elf_header();
        let relocatable = header.e_type(endian) == elf::ET_REL;
        let sections = elf.elf_section_table();
        let mut bases = Vec::with_capacity(sections.len());
        let mut placed = Vec::new();
        let mut cursor: u64 = 0;
        for (i, sh) in sections.iter().enumerate() {
            let flags = sh.sh_flags(endian);
            let alloc = flags.0 & elf::SHF_ALLOC.0 != 0;
            let exec = flags.0 & elf::SHF_EXECINSTR.0 != 0;
            let size = sh.sh_size(endian);
            if !alloc {
                bases.push((0, false));
                continue;
            }
            let base = if relocatable {
                // Alignment comes from the file: cap it so a hostile value
                // cannot overflow the layout.
                let align = sh.sh_addralign(endian).clamp(1, 1 << 16);
                let b = cursor
                    .checked_next_multiple_of(align)
                    .ok_or(Error::BadElf("section layout overflows"))?;
                let layout_size = if sh.sh_type(endian) == elf::SHT_NOBITS {
                    size
                } else {
                    size.max(1)
                };
                cursor = b
                    .checked_add(layout_size)
                    .ok_or(Error::BadElf("section layout overflows"))?;
                b
            } else {
                sh.sh_addr(endian)
            };
            bases.push((base, exec));
            placed.push((base, size, i));
        }
        placed.sort_unstable();
        let has_dwarf = elf.section_by_name(".debug_info").is_some();
        Ok(DebugObject {
            elf,
            arena,
            relocatable,
            bases,
            placed,
            has_dwarf,
            sections: OnceCell::new(),
            dwarf: OnceCell::new(),
            units: OnceCell::new(),
            unlisted: OnceCell::new(),
            unit_contexts: RefCell::new(HashMap::new()),
            symbols: RefCell::new(HashMap::new()),
            by_address: OnceCell::new(),
            frames: Rc::new(RefCell::new(HashMap::new())),
            read_ahead: None,
            index: None,
        })
    }

    // Used by the index writer (feature `loader`).
    #[cfg_attr(not(feature = "loader"), allow(dead_code))]
    /// Attaches a persistent index (see [`crate::index::attach`]).
    pub(crate) fn set_index(&mut self, a: crate::index::Attached<'data>) {
        self.index = Some(a);
    }

    /// The verified index file, if one is attached.
    fn view(&self) -> Option<&crate::index::View<'data>> {
        self.index.as_ref()?.view.as_ref()
    }

    /// Whether a verified index file is in use (tests and benchmarks).
    pub fn uses_index(&self) -> bool {
        self.view().is_some()
    }

    /// Length of the object's bytes.
    pub fn file_len(&self) -> usize {
        self.elf.data().len()
    }

    // Used by the index writer (feature `loader`).
    #[cfg_attr(not(feature = "loader"), allow(dead_code))]
    /// The memo of resolved addresses, which the index writer shares.
    pub(crate) fn resolved(&self) -> Rc<RefCell<HashMap<u64, Vec<SourceFrame>>>> {
        self.frames.clone()
    }

    // Used by the index writer (feature `loader`).
    #[cfg_attr(not(feature = "loader"), allow(dead_code))]
    /// One code symbol of `.symtab` as the index stores it: findable by
    /// name under [`prefetch_symbols`](Self::prefetch_symbols)'s rules, by
    /// address under [`symbol_at`](Self::symbol_at)'s, or `None`.
    fn index_sym(
        &self,
        i: usize,
        sym: &elf::Sym64<Endianness>,
        strings: object::read::StringTable<'data>,
    ) -> Option<crate::index::IdxSym> {
        let endian = self.elf.endian();
        let t = sym.st_type();
        let st_name = sym.st_name(endian);
        let shndx = self.shndx(sym, i);
        if !self.bases.get(shndx).is_some_and(|b| b.1) {
            return None;
        }
        let name = sym
            .name(endian, strings)
            .ok()
            .and_then(|n| core::str::from_utf8(n).ok());
        let by_name = t != elf::STT_SECTION && t != elf::STT_FILE && st_name != 0 && name.is_some();
        let by_address =
            (t == elf::STT_FUNC || t == elf::STT_NOTYPE) && name.is_some_and(|n| !n.is_empty());
        if !by_name && !by_address {
            return None;
        }
        let value = sym.st_value(endian);
        Some(crate::index::IdxSym {
            address: self.sym_address(shndx, value),
            value,
            size: sym.st_size(endian),
            name: st_name,
            section: u32::try_from(shndx).ok()?,
            by_name,
            by_address,
        })
    }

    // Used by the index writer (feature `loader`).
    #[cfg_attr(not(feature = "loader"), allow(dead_code))]
    /// A fresh index's symbol and unit tables (the unit ranges are read
    /// from `.debug_aranges` if this run did not need them).
    pub(crate) fn index_contents(&self) -> Option<crate::index::Contents<'static>> {
        let symtab = self.elf.elf_symbol_table();
        let strings = symtab.strings();
        // Both tables are read end to end: ask for them at once.
        let endian = self.elf.endian();
        let table = self.elf.elf_section_table();
        for i in [symtab.section(), symtab.string_section()] {
            if let Ok(b) = table
                .section(i)
                .and_then(|sh| sh.data(endian, self.elf.data()))
            {
                self.will_need(b);
            }
        }
        let syms: Vec<_> = symtab
            .symbols()
            .iter()
            .enumerate()
            .filter_map(|(i, sym)| self.index_sym(i, sym, strings))
            .collect();
        let empty = UnitIndex::new(Vec::new(), HashSet::new());
        let units = if self.has_dwarf {
            self.units().ok()?
        } else {
            &empty
        };
        crate::index::Contents::build(
            &syms,
            |off| strings.get(off).ok(),
            &units.ranges,
            &units.listed,
        )
    }

    /// A [`SymDef`] from an index record (its name read from `.strtab`).
    fn def_of(&self, s: crate::index::IdxSym) -> Option<SymDef<'data>> {
        let strings = self.elf.elf_symbol_table().strings();
        let name = core::str::from_utf8(strings.get(s.name).ok()?).ok()?;
        Some(SymDef {
            name,
            address: s.address,
            value: s.value,
            size: s.size,
            section: s.section as usize,
        })
    }

    /// Sends read-ahead hints for the file's bytes to `r` (see [`ReadAhead`]).
    pub fn with_read_ahead(mut self, r: &'data dyn ReadAhead) -> Self {
        self.read_ahead = Some(r);
        self
    }

    /// Hints that `bytes` (a slice of the file, else nothing happens: a
    /// relocated or decompressed copy is already in memory) will be read.
    fn will_need(&self, bytes: &[u8]) {
        let Some(r) = self.read_ahead else { return };
        let file = self.elf.data();
        let start = (bytes.as_ptr() as usize).wrapping_sub(file.as_ptr() as usize);
        // A slice from elsewhere gives a start past the end (or wraps).
        match file.len().checked_sub(start) {
            Some(room) if room > 0 && !bytes.is_empty() => {
                r.will_need(start, bytes.len().min(room));
            }
            _ => {}
        }
    }

    /// Hints the file ranges that resolving `addresses` will read: the
    /// symbol table, the small DWARF sections read at scattered places,
    /// and for each unit covering an address its `.debug_info`,
    /// abbreviations and line program. Costs a few page reads (unit
    /// headers and root DIEs) and nothing without a [`ReadAhead`].
    pub fn read_ahead_for(&self, addresses: &[u64]) {
        if self.read_ahead.is_none() || !self.has_dwarf {
            return;
        }
        // Addresses the index answers need no DWARF.
        let addresses: Vec<u64> = match self.view() {
            Some(v) => addresses
                .iter()
                .copied()
                .filter(|&a| !v.has_frames(a))
                .collect(),
            None => addresses.to_vec(),
        };
        if addresses.is_empty() {
            return;
        }
        let Ok(secs) = self.sections() else { return };
        let sec = |id: gimli::SectionId| secs.0.get(&id).copied().unwrap_or(&[]);
        use gimli::SectionId::*;
        for id in [
            DebugAranges,
            DebugStr,
            DebugLineStr,
            DebugRngLists,
            DebugRanges,
            DebugAddr,
            DebugStrOffsets,
        ] {
            self.will_need(sec(id));
        }
        let Ok(units) = self.units() else { return };
        let mut offs: Vec<usize> = addresses
            .iter()
            .flat_map(|&a| units.containing(a))
            .collect();
        offs.sort_unstable();
        offs.dedup();
        let info = sec(DebugInfo);
        let (abbrev, line) = (sec(DebugAbbrev), sec(DebugLine));
        let guess =
            |s: &'data [u8], at: usize| s.get(at..).map(|t| t.get(..READ_AHEAD_GUESS).unwrap_or(t));
        // Each round asks for what the next one reads, for every unit at
        // once: the units' first pages; then (reading their headers) the
        // whole units and their abbreviations; then (reading their root
        // DIEs) their line programs.
        for &off in &offs {
            if let Some(b) = guess(info, off) {
                self.will_need(b);
            }
        }
        let Ok(dwarf) = self.dwarf_with(None) else {
            return;
        };
        let headers: Vec<_> = offs
            .iter()
            .filter_map(|&off| {
                let h = dwarf
                    .debug_info
                    .header_from_offset(gimli::DebugInfoOffset(off))
                    .ok()?;
                if let Some(u) = off
                    .checked_add(h.length_including_self())
                    .and_then(|end| info.get(off..end))
                {
                    self.will_need(u);
                }
                if let Some(b) = guess(abbrev, h.debug_abbrev_offset().0) {
                    self.will_need(b);
                }
                Some(h)
            })
            .collect();
        for h in headers {
            let stmt = (|| {
                let abbrevs = dwarf.abbreviations(&h).ok()?;
                let mut entries = h.entries(&abbrevs);
                let root = entries.next_dfs().ok()??;
                match root.attr_value(gimli::DW_AT_stmt_list)? {
                    gimli::AttributeValue::DebugLineRef(o) => Some(o.0),
                    _ => None,
                }
            })();
            if let Some(b) = stmt.and_then(|o| guess(line, o)) {
                self.will_need(b);
            }
        }
    }

    /// The GNU build id, if the file has one.
    pub fn build_id(&self) -> Option<&'data [u8]> {
        self.elf.build_id().ok().flatten()
    }

    /// `ET_REL` (a module): addresses are our own section layout.
    pub fn is_relocatable(&self) -> bool {
        self.relocatable
    }

    /// The file has `.debug_info` (or `.zdebug_info`).
    pub fn has_dwarf(&self) -> bool {
        self.has_dwarf
    }

    /// The name of section `index`.
    pub fn section_name(&self, index: usize) -> Option<&'data str> {
        let endian = self.elf.endian();
        let table = self.elf.elf_section_table();
        let sh = table.section(SectionIndex(index)).ok()?;
        let name = table.section_name(endian, sh).ok()?;
        core::str::from_utf8(name).ok()
    }

    /// The allocated section containing `address`, and the offset in it.
    pub fn section_of(&self, address: u64) -> Option<(usize, u64)> {
        let i = self.placed.partition_point(|p| p.0 <= address);
        let &(base, size, index) = self.placed.get(i.checked_sub(1)?)?;
        let off = address.checked_sub(base)?;
        (off < size.max(1)).then_some((index, off))
    }

    /// Reads the `.modinfo` `name=value` strings (modules only).
    pub fn modinfo(&self, key: &str) -> Option<&'data str> {
        let data = self.elf.section_by_name(".modinfo")?.data().ok()?;
        data.split(|b| *b == 0).find_map(|kv| {
            let kv = core::str::from_utf8(kv).ok()?;
            kv.strip_prefix(key)?.strip_prefix('=')
        })
    }

    fn sym_address(&self, shndx: usize, value: u64) -> u64 {
        let base = self.bases.get(shndx).map_or(0, |b| b.0);
        if self.relocatable {
            base.wrapping_add(value)
        } else {
            value
        }
    }

    fn shndx(&self, sym: &elf::Sym64<Endianness>, index: usize) -> usize {
        let endian = self.elf.endian();
        let s = sym.st_shndx(endian);
        if s == elf::SHN_XINDEX {
            self.elf
                .elf_symbol_table()
                .shndx(endian, object::SymbolIndex(index))
                .map_or(0, |v| v as usize)
        } else if s.is_reserved() {
            0
        } else {
            usize::from(s.0)
        }
    }

    /// Looks up every name in `names` not yet looked up, in one pass over
    /// `.symtab`. Only symbols in executable sections count (what `nm`
    /// shows as `t`/`T`).
    pub fn prefetch_symbols<'n>(&self, names: impl IntoIterator<Item = &'n str>) {
        let mut cache = self.symbols.borrow_mut();
        let mut wanted: HashMap<&'n str, Vec<SymDef<'data>>> = HashMap::new();
        for n in names {
            if !cache.contains_key(n) {
                wanted.insert(n, Vec::new());
            }
        }
        if wanted.is_empty() {
            return;
        }
        if let Some(v) = self.view() {
            for (n, mut defs) in wanted {
                for s in v.by_name(n.as_bytes()) {
                    match self.def_of(s) {
                        Some(d) if d.name == n && defs.len() < 64 => defs.push(d),
                        _ => {}
                    }
                }
                cache.insert(n.to_string(), defs);
            }
            return;
        }
        let endian = self.elf.endian();
        let symtab = self.elf.elf_symbol_table();
        let strings = symtab.strings();
        // Most of a vmlinux's 130k symbols are rejected by their first two
        // bytes, without finding the end of the name.
        let strtab = self
            .elf
            .elf_section_table()
            .section(symtab.string_section())
            .ok()
            .and_then(|sh| sh.data(endian, self.elf.data()).ok())
            .unwrap_or(&[]);
        // The scan reads both tables end to end.
        if let Ok(sh) = self.elf.elf_section_table().section(symtab.section()) {
            if let Ok(b) = sh.data(endian, self.elf.data()) {
                self.will_need(b);
            }
        }
        self.will_need(strtab);
        let mut first2 = vec![false; 1 << 16];
        for n in wanted.keys() {
            if let Some(f) = first2.get_mut(first2_key(n.as_bytes())) {
                *f = true;
            }
        }
        for (i, sym) in symtab.symbols().iter().enumerate() {
            let t = sym.st_type();
            let st_name = sym.st_name(endian) as usize;
            if t == elf::STT_SECTION || t == elf::STT_FILE || st_name == 0 {
                continue;
            }
            if let Some(at) = strtab.get(st_name..) {
                if !first2.get(first2_key(at)).copied().unwrap_or(true) {
                    continue;
                }
            }
            let Ok(name) = sym.name(endian, strings) else {
                continue;
            };
            let Ok(name) = core::str::from_utf8(name) else {
                continue;
            };
            let Some(slot) = wanted.get_mut(name) else {
                continue;
            };
            let shndx = self.shndx(sym, i);
            if !self.bases.get(shndx).is_some_and(|b| b.1) {
                continue;
            }
            let value = sym.st_value(endian);
            if slot.len() < 64 {
                slot.push(SymDef {
                    name,
                    address: self.sym_address(shndx, value),
                    value,
                    size: sym.st_size(endian),
                    section: shndx,
                });
            }
        }
        for (n, defs) in wanted {
            cache.insert(n.to_string(), defs);
        }
    }

    /// The code symbol `name`; among duplicates (static functions of the
    /// same name), the one whose size best fits the printed `size` (kallsyms
    /// sizes run to the next symbol, so they include padding).
    pub fn find_symbol(&self, name: &str, size: Option<u64>) -> Option<SymDef<'data>> {
        self.prefetch_symbols([name]);
        let cache = self.symbols.borrow();
        let defs = cache.get(name)?;
        match size {
            Some(sz) if defs.len() > 1 => defs
                .iter()
                .min_by_key(|d| {
                    // Exact first, then smaller (padding), then larger.
                    let rank = match d.size.cmp(&sz) {
                        core::cmp::Ordering::Equal => 0,
                        core::cmp::Ordering::Less => 1,
                        core::cmp::Ordering::Greater => 2,
                    };
                    (rank, d.size.abs_diff(sz))
                })
                .copied(),
            _ => defs.first().copied(),
        }
    }

    /// The code symbol nearest below `address` (for frames printed as a
    /// bare address, and to name assembly code), and the offset into it.
    /// Sorts `.symtab` on first use.
    pub fn symbol_at(&self, address: u64) -> Option<(SymDef<'data>, u64)> {
        if let Some(v) = self.view() {
            // The same search as below, over the index's address order.
            let n = v.by_address_len();
            let addr = |i: usize| v.by_address(i).map(|s| s.address);
            let i = crate::index::partition(n, |i| addr(i).is_some_and(|a| a <= address));
            let at = addr(i.checked_sub(1)?)?;
            let first = crate::index::partition(n, |i| addr(i).is_some_and(|a| a < at));
            let d = self.def_of(v.by_address(first)?)?;
            return Some((d, address.checked_sub(d.address)?));
        }
        let index = self.by_address.get_or_init(|| {
            let endian = self.elf.endian();
            let symtab = self.elf.elf_symbol_table();
            let strings = symtab.strings();
            let mut v = Vec::new();
            for (i, sym) in symtab.symbols().iter().enumerate() {
                let t = sym.st_type();
                if t != elf::STT_FUNC && t != elf::STT_NOTYPE {
                    continue;
                }
                let shndx = self.shndx(sym, i);
                if !self.bases.get(shndx).is_some_and(|b| b.1) {
                    continue;
                }
                let Some(name) = sym
                    .name(endian, strings)
                    .ok()
                    .and_then(|n| core::str::from_utf8(n).ok())
                else {
                    continue;
                };
                if name.is_empty() {
                    continue;
                }
                let value = sym.st_value(endian);
                v.push(SymDef {
                    name,
                    address: self.sym_address(shndx, value),
                    value,
                    size: sym.st_size(endian),
                    section: shndx,
                });
            }
            v.sort_by_key(|d| (d.address, core::cmp::Reverse(d.size)));
            v
        });
        let i = index.partition_point(|d| d.address <= address);
        // The nearest symbol at or below, whatever its size: kallsyms has no
        // sizes, and binutils names a return address just past a noreturn
        // call at a function's end after that function too. Among aliases
        // at one address the largest wins (sorted last-to-first below).
        let at = index.get(i.checked_sub(1)?)?.address;
        let first = index.partition_point(|d| d.address < at);
        let d = *index.get(first)?;
        Some((d, address.checked_sub(d.address)?))
    }

    /// The bytes of debug section `name`, decompressed and (in a module)
    /// relocated; empty when absent.
    fn debug_section(&self, name: &'static str) -> Result<&'data [u8]> {
        let Some(section) = self.elf.section_by_name(name) else {
            return Ok(&[]);
        };
        let data = section.uncompressed_data().map_err(|_| Error::BadSection {
            section: name,
            what: "cannot read or decompress",
        })?;
        let index = section.index();
        if self.relocatable {
            let mut owned = None;
            let endian = self.elf.endian();
            let table = self.elf.elf_section_table();
            for sh in table.iter() {
                if sh.sh_type(endian) != elf::SHT_RELA || sh.sh_info(endian) as usize != index.0 {
                    continue;
                }
                let buf = owned.get_or_insert_with(|| data.to_vec());
                self.apply_relocations(name, sh, buf)?;
            }
            if let Some(buf) = owned {
                return Ok(self.arena.0.alloc(buf).as_slice());
            }
        }
        Ok(match data {
            Cow::Borrowed(b) => b,
            Cow::Owned(v) => self.arena.0.alloc(v).as_slice(),
        })
    }

    fn apply_relocations(
        &self,
        name: &'static str,
        sh: &elf::SectionHeader64<Endianness>,
        buf: &mut [u8],
    ) -> Result<()> {
        let endian = self.elf.endian();
        let machine = self.elf.elf_header().e_machine(endian);
        let data = self.elf.data();
        let Some((relas, _link)) = sh.rela(endian, data).map_err(elf_err)? else {
            return Ok(());
        };
        let symtab = self.elf.elf_symbol_table();
        for r in relas {
            let width = match (machine, r.r_type(endian, false)) {
                (elf::EM_X86_64, elf::R_X86_64_64) | (elf::EM_AARCH64, elf::R_AARCH64_ABS64) => 8,
                (elf::EM_X86_64, elf::R_X86_64_32 | elf::R_X86_64_32S)
                | (elf::EM_AARCH64, elf::R_AARCH64_ABS32) => 4,
                // PC-relative relocations only appear in .debug_frame,
                // which symbolization does not read.
                _ => continue,
            };
            let offset = r.r_offset(endian);
            let sym_index = r.r_sym(endian, false) as usize;
            let s = if sym_index == 0 {
                0
            } else {
                let sym = symtab
                    .symbol(object::SymbolIndex(sym_index))
                    .map_err(elf_err)?;
                let shndx = self.shndx(sym, sym_index);
                self.sym_address(shndx, sym.st_value(endian))
            };
            let value = s.wrapping_add(r.r_addend(endian) as u64);
            let start = usize::try_from(offset).map_err(|_| Error::BadRelocation {
                section: name,
                offset,
            })?;
            let dst = start
                .checked_add(width)
                .and_then(|end| buf.get_mut(start..end))
                .ok_or(Error::BadRelocation {
                    section: name,
                    offset,
                })?;
            // The low `width` bytes of the value, in the file's order.
            let bytes = value.to_le_bytes();
            let low = bytes.get(..width).unwrap_or(&[]);
            if matches!(endian, Endianness::Little) {
                dst.copy_from_slice(low);
            } else {
                for (d, s) in dst.iter_mut().zip(low.iter().rev()) {
                    *d = *s;
                }
            }
        }
        Ok(())
    }

    fn endian(&self) -> gimli::RunTimeEndian {
        if matches!(self.elf.endian(), Endianness::Little) {
            gimli::RunTimeEndian::Little
        } else {
            gimli::RunTimeEndian::Big
        }
    }

    /// The debug sections, read (and relocated) once.
    fn sections(&self) -> Result<&Sections<'data>> {
        let r = self.sections.get_or_init(|| {
            use gimli::SectionId::*;
            let mut map = HashMap::new();
            // Location lists, macros, frames and type units are never
            // needed to map an address to a line; do not copy them.
            for id in [
                DebugAbbrev,
                DebugAddr,
                DebugAranges,
                DebugInfo,
                DebugLine,
                DebugLineStr,
                DebugRanges,
                DebugRngLists,
                DebugStr,
                DebugStrOffsets,
            ] {
                map.insert(id, self.debug_section(id.name())?);
            }
            Ok(Sections(map))
        });
        r.as_ref().map_err(|e| *e)
    }

    /// A `gimli::Dwarf` over our sections, with `.debug_info` replaced by
    /// `info` when given (a single unit) and no `.debug_aranges` then.
    fn dwarf_with(&self, info: Option<&'data [u8]>) -> Result<gimli::Dwarf<Slice<'data>>> {
        let secs = self.sections()?;
        let endian = self.endian();
        let d = gimli::Dwarf::load(|id| -> Result<Slice<'data>> {
            let data = match (id, info) {
                (gimli::SectionId::DebugInfo, Some(i)) => i,
                (gimli::SectionId::DebugAranges, Some(_)) => &[][..],
                _ => secs.0.get(&id).copied().unwrap_or(&[]),
            };
            Ok(gimli::EndianSlice::new(data, endian))
        })?;
        Ok(d)
    }

    fn context(&self) -> Result<&addr2line::Context<Slice<'data>>> {
        let r = self
            .dwarf
            .get_or_init(|| Ok(addr2line::Context::from_dwarf(self.dwarf_with(None)?)?));
        r.as_ref().map_err(|e| *e)
    }

    /// Address ranges to compilation units from `.debug_aranges` (and the
    /// offsets of the units listed there). Reading it touches no unit.
    fn units(&self) -> Result<&UnitIndex> {
        let r = self.units.get_or_init(|| {
            if let Some(v) = self.view() {
                let (ranges, listed) = v.units();
                return Ok(UnitIndex::new(ranges, listed));
            }
            let dwarf = self.dwarf_with(None)?;
            let mut ranges = Vec::new();
            let mut listed = HashSet::new();
            let mut headers = dwarf.debug_aranges.headers();
            while let Some(h) = headers.next()? {
                let off = h.debug_info_offset().0;
                listed.insert(off);
                let mut entries = h.entries();
                while let Some(e) = entries.next()? {
                    let r = e.range();
                    if r.end > r.begin {
                        ranges.push((r.begin, r.end, off));
                    }
                }
            }
            Ok(UnitIndex::new(ranges, listed))
        });
        r.as_ref().map_err(|e| *e)
    }

    /// The root-DIE ranges of units `.debug_aranges` does not list (built
    /// on the first address the aranges do not cover: it walks every unit
    /// header).
    fn unlisted_units(&self) -> Result<&UnitIndex> {
        let r = self.unlisted.get_or_init(|| {
            let listed = &self.units()?.listed;
            let dwarf = self.dwarf_with(None)?;
            let mut ranges = Vec::new();
            let mut units = dwarf.units();
            while let Some(h) = units.next()? {
                let Some(off) = h.debug_info_offset() else {
                    continue;
                };
                if listed.contains(&off.0) {
                    continue;
                }
                let unit = dwarf.unit(h)?;
                let mut rs = dwarf.unit_ranges(&unit)?;
                while let Some(r) = rs.next()? {
                    if r.end > r.begin {
                        ranges.push((r.begin, r.end, off.0));
                    }
                }
            }
            Ok(UnitIndex::new(ranges, HashSet::new()))
        });
        r.as_ref().map_err(|e| *e)
    }

    /// An addr2line context over just the unit at `.debug_info` offset
    /// `off`, or `None` when the unit refers to DIEs outside itself
    /// (`DW_FORM_ref_addr`, dwz's `GNU_ref_alt`): such a unit needs the
    /// whole-file context.
    fn unit_context(
        &self,
        off: usize,
    ) -> Result<Option<Rc<Result<addr2line::Context<Slice<'data>>>>>> {
        if let Some(c) = self.unit_contexts.borrow().get(&off) {
            return Ok(Some(c.clone()));
        }
        let secs = self.sections()?;
        let info = secs
            .0
            .get(&gimli::SectionId::DebugInfo)
            .copied()
            .unwrap_or(&[]);
        let header = gimli::DebugInfo::new(info, self.endian())
            .header_from_offset(gimli::DebugInfoOffset(off))?;
        let abbrev = secs
            .0
            .get(&gimli::SectionId::DebugAbbrev)
            .copied()
            .unwrap_or(&[]);
        if abbrevs_refer_outside(abbrev, header.debug_abbrev_offset().0) {
            return Ok(None);
        }
        let unit = off
            .checked_add(header.length_including_self())
            .and_then(|end| info.get(off..end))
            .ok_or(Error::Dwarf(gimli::Error::UnexpectedEof(
                gimli::ReaderOffsetId(off as u64),
            )))?;
        let ctx = Rc::new(
            self.dwarf_with(Some(unit))
                .and_then(|d| Ok(addr2line::Context::from_dwarf(d)?)),
        );
        self.unit_contexts.borrow_mut().insert(off, ctx.clone());
        Ok(Some(ctx))
    }

    fn collect(iter: &mut addr2line::FrameIter<'_, Slice<'data>>) -> Result<Vec<SourceFrame>> {
        let mut out = Vec::new();
        while let Some(frame) = iter.next()? {
            if out.len() >= MAX_INLINE_DEPTH {
                break;
            }
            let function = match frame.function {
                Some(f) => Some(f.demangle()?.into_owned()),
                None => None,
            };
            let (file, line, column) = match frame.location {
                Some(l) => (l.file.map(str::to_string), l.line, l.column),
                None => (None, None, None),
            };
            out.push(SourceFrame {
                function,
                file,
                line,
                column,
            });
        }
        Ok(out)
    }

    /// The unlisted-unit index, only when the aranges miss `address`.
    fn unlisted_for(&self, address: u64) -> Result<Option<&UnitIndex>> {
        if self.units()?.containing(address).next().is_some() {
            return Ok(None);
        }
        self.unlisted_units().map(Some)
    }

    fn frames_uncached(&self, address: u64) -> Result<Vec<SourceFrame>> {
        // Fast path: find the unit(s) covering the address and give
        // addr2line just that unit. Building a context over the whole of a
        // vmlinux parses every unit's abbreviations and line header (about
        // 3000 units, hundreds of MB of allocations); this parses one.
        if let (Ok(listed), Ok(unlisted)) = (self.units(), self.unlisted_for(address)) {
            let mut seen = Vec::new();
            let mut whole = false;
            let candidates = listed
                .containing(address)
                .chain(unlisted.into_iter().flat_map(|u| u.containing(address)));
            for off in candidates {
                if seen.contains(&off) {
                    continue;
                }
                seen.push(off);
                match self.unit_context(off)? {
                    Some(ctx) => {
                        let ctx = match ctx.as_ref() {
                            Ok(c) => c,
                            Err(e) => return Err(*e),
                        };
                        let mut it = ctx.find_frames(address).skip_all_loads()?;
                        let f = Self::collect(&mut it)?;
                        if !f.is_empty() {
                            return Ok(f);
                        }
                    }
                    None => whole = true,
                }
            }
            if !whole {
                return Ok(Vec::new());
            }
        }
        let ctx = self.context()?;
        let mut it = ctx.find_frames(address).skip_all_loads()?;
        Self::collect(&mut it)
    }

    /// Source frames for `address`, innermost (inlined) first; empty when
    /// the DWARF does not cover it. Results are memoised.
    pub fn frames(&self, address: u64) -> Result<Vec<SourceFrame>> {
        if let Some(f) = self.frames.borrow().get(&address) {
            return Ok(f.clone());
        }
        let stored = self.view().and_then(|v| v.frames(address));
        let out = match stored {
            Some(f) => f,
            None => self.frames_uncached(address)?,
        };
        self.frames.borrow_mut().insert(address, out.clone());
        Ok(out)
    }
}

/// The first two bytes of a name (0 past its end) as a 16-bit key: a cheap
/// filter before comparing whole names.
fn first2_key(b: &[u8]) -> usize {
    usize::from(b.first().copied().unwrap_or(0)) << 8 | usize::from(b.get(1).copied().unwrap_or(0))
}

/// The debug sections by id (borrowed from the file or the arena).
struct Sections<'data>(HashMap<gimli::SectionId, &'data [u8]>);

/// Sorted `(begin, end, unit offset)` ranges and the running maximum of
/// `end`, so that all ranges containing an address are found by walking
/// back from the last range starting at or below it only while some
/// earlier range could still reach it.
struct UnitIndex {
    ranges: Vec<(u64, u64, usize)>,
    max_end: Vec<u64>,
    listed: HashSet<usize>,
}

impl UnitIndex {
    fn new(mut ranges: Vec<(u64, u64, usize)>, listed: HashSet<usize>) -> Self {
        ranges.sort_unstable();
        let mut max_end = Vec::with_capacity(ranges.len());
        let mut m = 0;
        for r in &ranges {
            m = m.max(r.1);
            max_end.push(m);
        }
        UnitIndex {
            ranges,
            max_end,
            listed,
        }
    }

    fn containing(&self, address: u64) -> impl Iterator<Item = usize> + '_ {
        let hi = self.ranges.partition_point(|r| r.0 <= address);
        (0..hi)
            .rev()
            .take_while(move |&i| self.max_end.get(i).is_some_and(|&m| m > address))
            .filter_map(move |i| {
                let r = self.ranges.get(i)?;
                (address < r.1).then_some(r.2)
            })
    }
}

/// Whether the abbreviation table at `offset` uses a form that refers to a
/// DIE outside the unit. Malformed tables count as "yes" (the whole-file
/// path then reports the error properly).
fn abbrevs_refer_outside(abbrev: &[u8], offset: usize) -> bool {
    use gimli::Reader;
    let Some(data) = abbrev.get(offset..) else {
        return true;
    };
    let mut r = gimli::EndianSlice::new(data, gimli::LittleEndian);
    let mut scan = || -> gimli::Result<bool> {
        // Bounded by the table's bytes: every iteration consumes some.
        for _ in 0..data.len() {
            if r.read_uleb128()? == 0 {
                return Ok(false);
            }
            r.read_uleb128()?; // tag
            r.read_u8()?; // children
            for _ in 0..data.len() {
                let attr = r.read_uleb128()?;
                let form = r.read_uleb128()?;
                if attr == 0 && form == 0 {
                    break;
                }
                match gimli::DwForm(form as u16) {
                    gimli::DW_FORM_implicit_const => {
                        r.read_sleb128()?;
                    }
                    gimli::DW_FORM_ref_addr
                    | gimli::DW_FORM_GNU_ref_alt
                    | gimli::DW_FORM_ref_sup4
                    | gimli::DW_FORM_ref_sup8 => return Ok(true),
                    _ => {}
                }
            }
        }
        Ok(true)
    };
    scan().unwrap_or(true)
}
