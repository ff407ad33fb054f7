//! Linux vmcore readers: ELF64 cores (`/proc/vmcore` copies,
//! `makedumpfile -E`, QEMU `dump-guest-memory` ELF), makedumpfile's
//! kdump-compressed files (zlib, lzo, snappy, zstd pages, any dump level) and
//! the flattened format (`makedumpfile -F`, QEMU's kdump output), read in
//! place without reassembling it on disk.
//!
//! [`Vmcore::parse`] builds only an index: the ELF program headers, or the
//! kdump headers and bitmaps, or the flattened record index. Pages are read
//! on demand ([`Vmcore::read_phys`], [`Vmcore::read_virt`]) through a bounded
//! page cache. [`VmcoreInfo`] and the per-CPU [`PrStatus`] registers come
//! from the notes; x86_64 virtual addresses translate with VMCOREINFO alone
//! ([`x86_64`]), no vmlinux needed; [`Vmcore::utsname`] reads the crashed
//! kernel's `struct new_utsname` that way. The book's "Reading vmcores"
//! chapter draws the formats.
//!
//! ```no_run
//! use crashview_vmcore::{loader::MappedFile, Vmcore};
//! let file = MappedFile::open("vmcore".as_ref()).unwrap();
//! let core = Vmcore::parse(file.bytes()).unwrap();
//! println!("{:?} {:?}", core.format(), core.vmcoreinfo().and_then(|v| v.osrelease()));
//! let mut buf = [0u8; 8];
//! core.read_virt(0xffffffff81000000, &mut buf).unwrap();
//! ```
//!
//! Features: `loader` (default) memory-maps files with memmap2
//! ([`loader::MappedFile`]); the parsers themselves do no I/O and take a
//! byte slice.
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::panic))]
// Sizes, counts and offsets come from the data being read: every overflow
// is either checked (an error naming the field), wrapping on purpose, or
// saturating where a bound is all that matters. Tests compute freely.
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

mod bytes;
pub mod compress;
pub mod elf;
mod error;
pub mod flat;
pub mod kdump;
#[cfg(feature = "loader")]
pub mod loader;
pub mod lzo;
pub mod notes;
pub mod source;
pub mod utsname;
pub mod vmcoreinfo;
pub mod x86_64;

use std::collections::HashMap;
use std::num::NonZeroU64;
use std::sync::Mutex;

pub use compress::Codec;
pub use error::{Error, Result};
pub use kdump::PageType;
pub use notes::PrStatus;
pub use utsname::Utsname;
pub use vmcoreinfo::VmcoreInfo;

use elf::ElfCore;
use flat::FlatIndex;
use kdump::Kdump;
use source::Source;
use x86_64::{PhysRead, Translator};

/// Pages kept decompressed (4 MiB with 4 KiB pages).
pub const PAGE_CACHE_PAGES: usize = 1024;
/// Largest note area read.
pub const MAX_NOTE_AREA: u64 = 64 << 20;

/// Which container format the dump is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// ELF64 core.
    Elf,
    /// makedumpfile kdump-compressed.
    Kdump,
}

/// What the dump is, for reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Format {
    /// ELF or kdump-compressed.
    pub container: Container,
    /// Read through a flattened (`-F`) stream.
    pub flattened: bool,
    /// Codec the kdump header announces (`None`: stored pages / ELF).
    pub codec: Option<Codec>,
    /// makedumpfile dump level (`-d`), kdump only.
    pub dump_level: Option<i32>,
    /// kdump `header_version`.
    pub header_version: Option<i32>,
    /// Page size.
    pub page_size: u64,
}

impl Format {
    /// The page types the dump level excludes, in makedumpfile's bit order
    /// (none for ELF cores, which carry no dump level).
    pub fn excluded_pages(&self) -> impl Iterator<Item = PageType> {
        PageType::excluded_by(self.dump_level.unwrap_or(0))
    }
}

impl core::fmt::Display for Format {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.container {
            Container::Elf => f.write_str("ELF64 core")?,
            Container::Kdump => {
                f.write_str("kdump-compressed")?;
                if let Some(c) = self.codec {
                    write!(f, " ({c})")?;
                }
            }
        }
        if self.flattened {
            f.write_str(", flattened")?;
        }
        if let Some(l) = self.dump_level {
            write!(f, ", dump level {l}")?;
        }
        Ok(())
    }
}

/// A recoverable problem found while reading: what and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// File offset of the structure.
    pub offset: u64,
    /// The structure (`"PT_NOTE"`, `"flattened stream"`, …).
    pub structure: &'static str,
    /// What is wrong.
    pub message: String,
}

impl core::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{} at offset {:#x}: {}",
            self.structure, self.offset, self.message
        )
    }
}

#[derive(Debug)]
enum Body<'a> {
    Elf(ElfCore),
    Kdump(Box<Kdump<'a>>),
}

/// Bounded FIFO cache of decompressed pages.
#[derive(Debug, Default)]
struct PageCache {
    slot_of: HashMap<u64, usize>,
    slots: Vec<(u64, Box<[u8]>)>,
    hand: usize,
    decoders: compress::Decoders,
}

/// Kernel memory as the printk reader and others see it.
pub trait KernelMemory {
    /// Fill `buf` from kernel virtual address `addr`.
    fn read_virt(&self, addr: u64, buf: &mut [u8]) -> Result<()>;
    /// The dump's VMCOREINFO.
    fn vmcoreinfo(&self) -> Option<&VmcoreInfo>;
}

/// An opened vmcore.
#[derive(Debug)]
pub struct Vmcore<'a> {
    src: Source<'a>,
    body: Body<'a>,
    format: Format,
    vmcoreinfo: Option<VmcoreInfo>,
    cpus: Vec<PrStatus>,
    diagnostics: Vec<Diagnostic>,
    translator: Result<Translator>,
    cache: Mutex<PageCache>,
    page_size: NonZeroU64,
    trace: Mutex<Option<std::collections::BTreeSet<u64>>>,
}

impl<'a> Vmcore<'a> {
    /// Detect the format and index the dump.
    pub fn parse(bytes: &'a [u8]) -> Result<Vmcore<'a>> {
        let mut diagnostics = Vec::new();
        let flattened = flat::is_flattened(bytes);
        let src = if flattened {
            let idx = FlatIndex::parse(bytes)?;
            if let Some(e) = idx.error {
                diagnostics.push(Diagnostic {
                    offset: 0,
                    structure: "flattened stream",
                    message: format!("{e} (records after it are lost)"),
                });
            }
            Source::Flat(idx)
        } else {
            Source::Plain(bytes)
        };
        let head = src.read(0, 8.min(src.len()), "file header")?;
        let magic = head.iter().fold(0u64, |a, &b| (a << 8) | u64::from(b));
        let mut notes_areas: Vec<(u64, u64, &'static str)> = Vec::new();
        let mut vmcoreinfo_area = None;
        let (body, format) = if elf::is_elf(&head) {
            let e = ElfCore::parse(&src)?;
            if e.machine != elf::EM_X86_64 {
                diagnostics.push(Diagnostic {
                    offset: 18,
                    structure: "ELF header",
                    message: format!(
                        "e_machine {} is not x86_64: no address translation",
                        e.machine
                    ),
                });
            }
            notes_areas.extend(e.notes.iter().map(|&(o, s)| (o, s, "PT_NOTE")));
            let format = Format {
                container: Container::Elf,
                flattened,
                codec: None,
                dump_level: None,
                header_version: None,
                page_size: 4096,
            };
            (Body::Elf(e), format)
        } else if kdump::is_kdump(&head) {
            let k = Kdump::parse(&src)?;
            if let Some((o, s)) = k.sub.note {
                notes_areas.push((o, s, "kdump note area"));
            }
            vmcoreinfo_area = k.sub.vmcoreinfo;
            if k.header.status & compress::flags::INCOMPLETE != 0 {
                diagnostics.push(Diagnostic {
                    offset: 424,
                    structure: "disk_dump_header.status",
                    message: "makedumpfile marked this dump incomplete (it ran out of space or was interrupted)".into(),
                });
            }
            let format = Format {
                container: Container::Kdump,
                flattened,
                codec: Codec::from_flags(k.header.status).ok().flatten(),
                dump_level: Some(k.sub.dump_level),
                header_version: Some(k.header.header_version),
                page_size: k.page_size(),
            };
            (Body::Kdump(Box::new(k)), format)
        } else {
            return Err(Error::UnknownFormat { magic });
        };

        let mut vmcoreinfo = None;
        let mut cpus = Vec::new();
        for (off, size, structure) in notes_areas {
            if size > MAX_NOTE_AREA {
                diagnostics.push(Diagnostic {
                    offset: off,
                    structure,
                    message: format!("{size} bytes is too large, skipped"),
                });
                continue;
            }
            let area = match src.read(off, size, structure) {
                Ok(a) => a,
                Err(e) => {
                    diagnostics.push(Diagnostic {
                        offset: off,
                        structure,
                        message: e.to_string(),
                    });
                    continue;
                }
            };
            // Offsets below are inside the area just read, which ends in the
            // file: adding them to `off` cannot reach 2^64.
            let (notes, bad) = notes::parse_notes(&area);
            if let Some(at) = bad {
                diagnostics.push(Diagnostic {
                    offset: off.saturating_add(at as u64),
                    structure: "ELF note",
                    message: "note runs past its area; later notes ignored".into(),
                });
            }
            for n in notes {
                match (n.name, n.n_type) {
                    (b"CORE", elf::NT_PRSTATUS) => {
                        match notes::parse_prstatus(cpus.len(), n.desc) {
                            Some(p) => cpus.push(p),
                            None => diagnostics.push(Diagnostic {
                                offset: off.saturating_add(n.offset as u64),
                                structure: "NT_PRSTATUS note",
                                message: format!(
                                    "{} bytes, too short for x86_64 elf_prstatus",
                                    n.desc.len()
                                ),
                            }),
                        }
                    }
                    (b"VMCOREINFO", _) if vmcoreinfo.is_none() => {
                        vmcoreinfo = Some(VmcoreInfo::parse(n.desc))
                    }
                    _ => {}
                }
            }
        }
        if vmcoreinfo.is_none() {
            if let Some((o, s)) = vmcoreinfo_area.filter(|&(_, s)| s > 0 && s <= MAX_NOTE_AREA) {
                match src.read(o, s, "kdump VMCOREINFO") {
                    Ok(t) => vmcoreinfo = Some(VmcoreInfo::parse(&t)),
                    Err(e) => diagnostics.push(Diagnostic {
                        offset: o,
                        structure: "kdump VMCOREINFO",
                        message: e.to_string(),
                    }),
                }
            }
        }
        let translator = match &vmcoreinfo {
            Some(vi) => Translator::from_vmcoreinfo(vi),
            None => Err(Error::NoVmcoreinfo),
        };
        let page_size = NonZeroU64::new(format.page_size).ok_or(Error::BadField {
            what: "page size",
            offset: 0,
            value: 0,
        })?;
        Ok(Vmcore {
            src,
            body,
            format,
            vmcoreinfo,
            cpus,
            diagnostics,
            translator,
            cache: Mutex::new(PageCache::default()),
            page_size,
            trace: Mutex::new(None),
        })
    }

    /// What format the dump is in.
    pub fn format(&self) -> &Format {
        &self.format
    }

    /// VMCOREINFO, if the dump has it.
    pub fn vmcoreinfo(&self) -> Option<&VmcoreInfo> {
        self.vmcoreinfo.as_ref()
    }

    /// Registers of each CPU (`NT_PRSTATUS` notes, in note order).
    pub fn cpus(&self) -> &[PrStatus] {
        &self.cpus
    }

    /// Recoverable problems found while indexing.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// The address translator, or why there is none.
    pub fn translator(&self) -> Result<&Translator> {
        self.translator.as_ref().map_err(|e| *e)
    }

    /// The ELF index, for ELF dumps.
    pub fn elf(&self) -> Option<&ElfCore> {
        match &self.body {
            Body::Elf(e) => Some(e),
            Body::Kdump(_) => None,
        }
    }

    /// The kdump index, for kdump-compressed dumps.
    pub fn kdump(&self) -> Option<&Kdump<'a>> {
        match &self.body {
            Body::Kdump(k) => Some(k),
            Body::Elf(_) => None,
        }
    }

    /// The flattened index, for flattened dumps.
    pub fn flat(&self) -> Option<&FlatIndex<'a>> {
        match &self.src {
            Source::Flat(f) => Some(f),
            Source::Plain(_) => None,
        }
    }

    /// Size of the logical dump file.
    pub fn logical_len(&self) -> u64 {
        self.src.len()
    }

    /// Start recording which page frames are read (see [`Vmcore::page_trace`]).
    pub fn enable_page_trace(&self) {
        if let Ok(mut t) = self.trace.lock() {
            t.get_or_insert_with(Default::default);
        }
    }

    /// Page frames read since [`Vmcore::enable_page_trace`], sorted.
    pub fn page_trace(&self) -> Vec<u64> {
        self.trace
            .lock()
            .ok()
            .and_then(|t| t.as_ref().map(|s| s.iter().copied().collect()))
            .unwrap_or_default()
    }

    /// Copy physical memory at `addr` into `buf`.
    pub fn read_phys(&self, addr: u64, buf: &mut [u8]) -> Result<()> {
        let ps = self.page_size;
        if let Ok(mut t) = self.trace.lock() {
            if let Some(set) = t.as_mut() {
                let len = (buf.len() as u64).max(1);
                let last = addr.saturating_add(len.saturating_sub(1)) / ps;
                set.extend(addr / ps..=last);
            }
        }
        for_each_page(addr, buf, ps, |a, out| match &self.body {
            Body::Elf(e) => self.read_elf(e, a, out),
            Body::Kdump(k) => self.read_kdump(k, a, out),
        })
    }

    fn read_elf(&self, e: &ElfCore, a: u64, out: &mut [u8]) -> Result<()> {
        let missing = Error::PageNotPresent { addr: a };
        let s = e.segment_for(a).ok_or(missing)?;
        // segment_for: `s.paddr <= a` and `a - s.paddr < s.memsz`.
        let delta = a.checked_sub(s.paddr).ok_or(missing)?;
        let in_segment = s.memsz.checked_sub(delta).ok_or(missing)?;
        if out.len() as u64 > in_segment {
            // Crosses the segment's end: split (`in_segment` < `out.len()`).
            let (x, y) = out.split_at_mut(in_segment as usize);
            self.read_elf(e, a, x)?;
            let next = a.checked_add(in_segment).ok_or(missing)?;
            return self.read_elf(e, next, y);
        }
        // Bytes of the segment in the file from `delta` on (none past
        // `filesz`: the rest of `memsz` reads as zero).
        let present = s.filesz.saturating_sub(delta).min(out.len() as u64);
        if present == 0 {
            out.fill(0);
            return Ok(());
        }
        // `p_offset` comes from the file: data past 2^64 is past its end.
        let at = s.offset.checked_add(delta).ok_or(Error::Truncated {
            what: "PT_LOAD segment data",
            offset: s.offset,
            needed: delta.saturating_add(present),
            file_size: self.src.len(),
        })?;
        let data = self.src.read(at, present, "PT_LOAD segment data")?;
        let (x, y) = out.split_at_mut(present as usize);
        x.copy_from_slice(&data);
        y.fill(0);
        Ok(())
    }

    fn read_kdump(&self, k: &Kdump<'a>, a: u64, out: &mut [u8]) -> Result<()> {
        let ps = self.page_size;
        let pfn = a / ps;
        let off = (a % ps) as usize;
        // for_each_page keeps `out` inside one page.
        let len = out.len();
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(&slot) = cache.slot_of.get(&pfn) {
            if let Some(src) = cache
                .slots
                .get(slot)
                .and_then(|(_, p)| in_page(p, off, len))
            {
                out.copy_from_slice(src);
                return Ok(());
            }
        }
        let mut page = vec![0u8; ps.get() as usize].into_boxed_slice();
        k.read_page_with(&mut cache.decoders, &self.src, pfn, &mut page)?;
        if let Some(src) = in_page(&page, off, len) {
            out.copy_from_slice(src);
        }
        let c = &mut *cache;
        if c.slots.len() < PAGE_CACHE_PAGES {
            c.slot_of.insert(pfn, c.slots.len());
            c.slots.push((pfn, page));
        } else {
            let slot = c.hand % PAGE_CACHE_PAGES;
            c.hand = c.hand.wrapping_add(1);
            if let Some(e) = c.slots.get_mut(slot) {
                c.slot_of.remove(&e.0);
                *e = (pfn, page);
                c.slot_of.insert(pfn, slot);
            }
        }
        Ok(())
    }

    /// Translate a kernel virtual address (x86_64).
    pub fn virt_to_phys(&self, v: u64) -> Result<u64> {
        self.translator()?.translate(self, v)
    }

    /// Copy kernel virtual memory at `addr` into `buf`.
    pub fn read_virt(&self, addr: u64, buf: &mut [u8]) -> Result<()> {
        let t = self.translator()?;
        for_each_page(addr, buf, VIRT_PAGE, |v, out| {
            let p = t.translate(self, v)?;
            self.read_phys(p, out)
        })
    }

    /// `struct new_utsname` of the crashed kernel, read from
    /// `init_uts_ns.name` in memory (VMCOREINFO has the address and, as the
    /// struct's layout may be randomised, the field's offset).
    pub fn utsname(&self) -> Result<Utsname> {
        let vi = self.vmcoreinfo().ok_or(Error::NoVmcoreinfo)?;
        let ns = vi.symbol("init_uts_ns").ok_or(Error::MissingVmcoreinfo {
            key: "SYMBOL(init_uts_ns)",
        })?;
        // Kernels before OFFSET(uts_namespace.name) (4.x) have it first.
        let off = vi.offset("uts_namespace", "name").unwrap_or(0);
        let addr = ns.checked_add(off).ok_or(Error::BadField {
            what: "VMCOREINFO OFFSET(uts_namespace.name) (init_uts_ns + it is past 2^64)",
            offset: 0,
            value: off,
        })?;
        let mut b = [0u8; utsname::UTSNAME_LEN];
        self.read_virt(addr, &mut b)?;
        Ok(Utsname::parse(&b))
    }
}

/// `len` bytes at `off` of a page, if they are in it.
fn in_page(page: &[u8], off: usize, len: usize) -> Option<&[u8]> {
    page.get(off..)?.get(..len)
}

/// Kernel virtual pages are translated 4 KiB at a time (a huge page is
/// translated once per 4 KiB piece; the TLB keeps that cheap).
const VIRT_PAGE: NonZeroU64 = NonZeroU64::new(4096).unwrap();

/// Calls `f(address, piece)` for the pieces of the `buf.len()` bytes at
/// `addr` that each lie in one `page`-aligned page. Running past 2^64 is an
/// error.
fn for_each_page(
    addr: u64,
    mut buf: &mut [u8],
    page: NonZeroU64,
    mut f: impl FnMut(u64, &mut [u8]) -> Result<()>,
) -> Result<()> {
    let mut at = Some(addr);
    while !buf.is_empty() {
        let a = at.ok_or(Error::PageNotPresent { addr })?;
        // `a % page < page`: the distance to the page's end, at least 1.
        let to_end = page.get().abs_diff(a % page);
        let n = usize::try_from(to_end).map_or(buf.len(), |t| t.min(buf.len()));
        let (piece, rest) = core::mem::take(&mut buf).split_at_mut(n);
        f(a, piece)?;
        at = a.checked_add(n as u64);
        buf = rest;
    }
    Ok(())
}

impl PhysRead for Vmcore<'_> {
    fn read_phys(&self, addr: u64, buf: &mut [u8]) -> Result<()> {
        Vmcore::read_phys(self, addr, buf)
    }
}

impl KernelMemory for Vmcore<'_> {
    fn read_virt(&self, addr: u64, buf: &mut [u8]) -> Result<()> {
        Vmcore::read_virt(self, addr, buf)
    }
    fn vmcoreinfo(&self) -> Option<&VmcoreInfo> {
        Vmcore::vmcoreinfo(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EHDR: usize = 64;
    const PHDR: usize = 56;

    /// An x86_64 ELF core: one PT_NOTE holding `vmcoreinfo` (if any), one
    /// PT_LOAD of `data` at physical `paddr` (its `p_offset` replaced by
    /// `offset` when given).
    fn elf_core(vmcoreinfo: &[u8], paddr: u64, data: &[u8], offset: Option<u64>) -> Vec<u8> {
        let mut note = Vec::new();
        if !vmcoreinfo.is_empty() {
            note.extend_from_slice(&11u32.to_le_bytes());
            note.extend_from_slice(&(vmcoreinfo.len() as u32).to_le_bytes());
            note.extend_from_slice(&0u32.to_le_bytes());
            note.extend_from_slice(b"VMCOREINFO\0\0");
            note.extend_from_slice(vmcoreinfo);
            note.resize(note.len().next_multiple_of(4), 0);
        }
        let note_at = EHDR + 2 * PHDR;
        let data_at = (note_at + note.len()).next_multiple_of(16);
        let mut f = vec![0u8; data_at];
        f[..4].copy_from_slice(b"\x7fELF");
        f[4] = 2; // ELFCLASS64
        f[5] = 1; // ELFDATA2LSB
        f[16..18].copy_from_slice(&4u16.to_le_bytes()); // ET_CORE
        f[18..20].copy_from_slice(&62u16.to_le_bytes()); // EM_X86_64
        f[32..40].copy_from_slice(&(EHDR as u64).to_le_bytes());
        f[54..56].copy_from_slice(&(PHDR as u16).to_le_bytes());
        f[56..58].copy_from_slice(&2u16.to_le_bytes());
        let phdrs = [
            (4u32, note_at as u64, 0u64, note.len() as u64), // PT_NOTE
            (
                1,
                offset.unwrap_or(data_at as u64),
                paddr,
                data.len() as u64,
            ), // PT_LOAD
        ];
        for (i, (ty, off, pa, size)) in phdrs.into_iter().enumerate() {
            let p = &mut f[EHDR + PHDR * i..][..PHDR];
            p[..4].copy_from_slice(&ty.to_le_bytes());
            p[8..16].copy_from_slice(&off.to_le_bytes());
            p[24..32].copy_from_slice(&pa.to_le_bytes());
            p[32..40].copy_from_slice(&size.to_le_bytes());
            p[40..48].copy_from_slice(&size.to_le_bytes());
        }
        f[note_at..][..note.len()].copy_from_slice(&note);
        f.extend_from_slice(data);
        f
    }

    /// A `p_offset` near 2^64 made `p_offset + delta` overflow: a panic in
    /// debug builds, a read of the wrong bytes (wrapped to the file's start)
    /// in release ones.
    #[test]
    fn segment_data_past_2_64_is_an_error_not_a_panic() {
        let f = elf_core(b"", 0x1000, &[0xaa; 0x1000], Some(u64::MAX - 0xff));
        let core = Vmcore::parse(&f).unwrap();
        let mut buf = [0u8; 16];
        let e = core.read_phys(0x1100, &mut buf).unwrap_err();
        assert!(
            matches!(e, Error::Truncated { what: "PT_LOAD segment data", offset, .. } if offset == u64::MAX - 0xff),
            "{e}"
        );
        // The same segment read from its real offset works.
        let f = elf_core(b"", 0x1000, &[0xaa; 0x1000], None);
        let core = Vmcore::parse(&f).unwrap();
        core.read_phys(0x1ff8, &mut buf[..8]).unwrap();
        assert_eq!(buf[..8], [0xaa; 8]);
        // Crossing the segment's end: there is nothing after it.
        assert!(core.read_phys(0x1ff8, &mut buf).is_err());
    }

    const UTS_VA: u64 = 0xffff_ffff_8200_0000;

    fn utsname_core(extra: &str) -> Vec<u8> {
        let mut uts = vec![0u8; utsname::UTSNAME_LEN + 0x40];
        for (i, f) in [
            "Linux",
            "vm",
            "6.1.0-57-amd64",
            "#1 SMP",
            "x86_64",
            "(none)",
        ]
        .iter()
        .enumerate()
        {
            uts[0x40 + i * utsname::UTS_FIELD_LEN..][..f.len()].copy_from_slice(f.as_bytes());
        }
        let vi = format!(
            "SYMBOL(init_top_pgt)=ffffffff81000000\nNUMBER(phys_base)=0\nSYMBOL(init_uts_ns)={UTS_VA:x}\n{extra}"
        );
        // __pa_symbol(UTS_VA) = 0x2000000 with phys_base 0.
        elf_core(vi.as_bytes(), 0x200_0000, &uts, None)
    }

    #[test]
    fn utsname_from_init_uts_ns() {
        let f = utsname_core("OFFSET(uts_namespace.name)=64\n");
        let core = Vmcore::parse(&f).unwrap();
        let u = core.utsname().unwrap();
        assert_eq!(
            (u.sysname.as_str(), u.nodename.as_str(), u.release.as_str()),
            ("Linux", "vm", "6.1.0-57-amd64")
        );
        assert_eq!(
            (
                u.version.as_str(),
                u.machine.as_str(),
                u.domainname.as_str()
            ),
            ("#1 SMP", "x86_64", "(none)")
        );
        // Without the offset (older kernels) `name` is taken to be first.
        let core_f = utsname_core("");
        let core = Vmcore::parse(&core_f).unwrap();
        assert_eq!(core.utsname().unwrap().sysname, "");
    }

    /// `SYMBOL(init_uts_ns) + OFFSET(uts_namespace.name)` both come from the
    /// dump; the CLI used to add them unchecked (an overflow panic in debug).
    #[test]
    fn utsname_address_past_2_64_is_an_error_not_a_panic() {
        let f = utsname_core("OFFSET(uts_namespace.name)=18446744073709551615\n");
        let core = Vmcore::parse(&f).unwrap();
        assert!(core
            .vmcoreinfo()
            .and_then(|v| v.offset("uts_namespace", "name"))
            .is_none());
        let f = utsname_core("OFFSET(uts_namespace.name)=9223372036854775807\n");
        let core = Vmcore::parse(&f).unwrap();
        let e = core.utsname().unwrap_err();
        assert!(matches!(e, Error::BadField { .. }), "{e}");
        let no_vmcoreinfo = elf_core(b"", 0, &[0; 16], None);
        let core = Vmcore::parse(&no_vmcoreinfo).unwrap();
        assert_eq!(core.utsname().unwrap_err(), Error::NoVmcoreinfo);
    }

    #[test]
    fn excluded_pages_follow_the_dump_level() {
        let mut fmt = Format {
            container: Container::Kdump,
            flattened: false,
            codec: None,
            dump_level: Some(31),
            header_version: Some(6),
            page_size: 4096,
        };
        assert_eq!(fmt.excluded_pages().count(), 5);
        fmt.dump_level = Some(1 | 16);
        let v: Vec<_> = fmt.excluded_pages().collect();
        assert_eq!(v, [PageType::Zero, PageType::Free]);
        fmt.dump_level = None;
        assert_eq!(fmt.excluded_pages().count(), 0);
    }
}
