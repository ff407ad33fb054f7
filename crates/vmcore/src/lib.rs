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
//! ([`x86_64`]), no vmlinux needed. The book's "Reading vmcores" chapter
//! draws the formats.
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
pub mod vmcoreinfo;
pub mod x86_64;

use std::collections::HashMap;
use std::sync::Mutex;

pub use compress::Codec;
pub use error::{Error, Result};
pub use notes::PrStatus;
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
    page_size: u64,
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
            if e.machine != object::elf::EM_X86_64 {
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
            let (notes, bad) = notes::parse_notes(&area);
            if let Some(at) = bad {
                diagnostics.push(Diagnostic {
                    offset: off + at as u64,
                    structure: "ELF note",
                    message: "note runs past its area; later notes ignored".into(),
                });
            }
            for n in notes {
                match (n.name, n.n_type) {
                    (b"CORE", object::elf::NT_PRSTATUS) => {
                        match notes::parse_prstatus(cpus.len(), n.desc) {
                            Some(p) => cpus.push(p),
                            None => diagnostics.push(Diagnostic {
                                offset: off + n.offset as u64,
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
        let page_size = format.page_size;
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
                let last = addr.saturating_add(buf.len().max(1) as u64 - 1) / ps;
                set.extend(addr / ps..=last);
            }
        }
        let mut done = 0usize;
        while done < buf.len() {
            let a = addr
                .checked_add(done as u64)
                .ok_or(Error::PageNotPresent { addr })?;
            let in_page = (ps - a % ps) as usize;
            let n = in_page.min(buf.len() - done);
            let out = buf
                .get_mut(done..done + n)
                .ok_or(Error::PageNotPresent { addr: a })?;
            match &self.body {
                Body::Elf(e) => self.read_elf(e, a, out)?,
                Body::Kdump(k) => self.read_kdump(k, a, out)?,
            }
            done += n;
        }
        Ok(())
    }

    fn read_elf(&self, e: &ElfCore, a: u64, out: &mut [u8]) -> Result<()> {
        let s = e.segment_for(a).ok_or(Error::PageNotPresent { addr: a })?;
        let delta = a - s.paddr;
        let n = out.len() as u64;
        if delta + n > s.memsz {
            // Crosses the segment's end: split.
            let first = (s.memsz - delta) as usize;
            let (x, y) = out.split_at_mut(first.min(out.len()));
            self.read_elf(e, a, x)?;
            return self.read_elf(e, a + first as u64, y);
        }
        if delta >= s.filesz {
            out.fill(0);
            return Ok(());
        }
        let present = (s.filesz - delta).min(n);
        let data = self
            .src
            .read(s.offset + delta, present, "PT_LOAD segment data")?;
        let (x, y) = out.split_at_mut(present as usize);
        x.copy_from_slice(&data);
        y.fill(0);
        Ok(())
    }

    fn read_kdump(&self, k: &Kdump<'a>, a: u64, out: &mut [u8]) -> Result<()> {
        let ps = self.page_size;
        let pfn = a / ps;
        let off = (a % ps) as usize;
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(&slot) = cache.slot_of.get(&pfn) {
            if let Some(src) = cache
                .slots
                .get(slot)
                .and_then(|(_, p)| p.get(off..off + out.len()))
            {
                out.copy_from_slice(src);
                return Ok(());
            }
        }
        let mut page = vec![0u8; ps as usize].into_boxed_slice();
        k.read_page_with(&mut cache.decoders, &self.src, pfn, &mut page)?;
        if let Some(src) = page.get(off..off + out.len()) {
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
        let mut done = 0usize;
        while done < buf.len() {
            let v = addr.wrapping_add(done as u64);
            let n = ((4096 - v % 4096) as usize).min(buf.len() - done);
            let p = t.translate(self, v)?;
            let out = buf
                .get_mut(done..done + n)
                .ok_or(Error::PageNotPresent { addr: p })?;
            self.read_phys(p, out)?;
            done += n;
        }
        Ok(())
    }
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
