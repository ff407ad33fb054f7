//! ELF64 cores: `/proc/vmcore` copies, `makedumpfile -E`, QEMU's
//! `dump-guest-memory` ELF.
//!
//! Only the program headers matter: PT_LOAD maps physical ranges to file
//! offsets, PT_NOTE holds the notes. QEMU 7.2 puts its section headers first
//! and the program headers after them, so `e_phoff` is honoured (it is not
//! 0x40), and with more than 65534 segments `e_phnum` is `PN_XNUM` and the
//! real count is section header 0's `sh_info`.

use object::elf;

use crate::bytes::{u16_le, u32_le, u64_le};
use crate::error::{Error, Result};
use crate::source::Source;

// object's ELF constants are newtypes; this reader decodes raw
// little-endian fields, so it compares with their integer values.
const ELFCLASS64: u8 = elf::ELFCLASS64.0;
const ELFDATA2LSB: u8 = elf::ELFDATA2LSB.0;
const ET_CORE: u16 = elf::ET_CORE.0;
const PT_LOAD: u32 = elf::PT_LOAD.0;
const PT_NOTE: u32 = elf::PT_NOTE.0;
/// `e_machine` of x86_64.
pub(crate) const EM_X86_64: u16 = elf::EM_X86_64.0;
/// `n_type` of a `CORE` note holding `struct elf_prstatus`.
pub(crate) const NT_PRSTATUS: u32 = elf::NT_PRSTATUS.0;

/// Program headers read before the file is judged corrupt.
pub const MAX_PHDRS: u64 = 1 << 22;
const EHDR_SIZE: u64 = 64;
const PHDR_SIZE: u64 = 56;

/// One PT_LOAD segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// Physical address of the first byte.
    pub paddr: u64,
    /// Virtual address (`/proc/vmcore`: direct map or kernel text; QEMU: 0).
    pub vaddr: u64,
    /// File offset of the data.
    pub offset: u64,
    /// Bytes present in the file.
    pub filesz: u64,
    /// Bytes of memory (the part past `filesz` reads as zero).
    pub memsz: u64,
}

/// A parsed ELF core: segments and note areas.
#[derive(Debug, Clone)]
pub struct ElfCore {
    /// `e_machine`.
    pub machine: u16,
    /// `e_phoff`.
    pub phoff: u64,
    /// Program header count (after PN_XNUM).
    pub phnum: u64,
    /// True if the count came from section header 0 (PN_XNUM).
    pub pn_xnum: bool,
    /// PT_LOAD segments sorted by physical address.
    pub segments: Vec<Segment>,
    /// PT_NOTE `(offset, size)` areas.
    pub notes: Vec<(u64, u64)>,
}

/// True if `bytes` starts with the ELF magic.
pub fn is_elf(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x7fELF")
}

impl ElfCore {
    /// Parse the ELF header and program headers.
    pub fn parse(src: &Source<'_>) -> Result<ElfCore> {
        let eh = src.read(0, EHDR_SIZE, "ELF header")?;
        let bad = |what, value: u64| Error::BadField {
            what,
            offset: 0,
            value,
        };
        if eh.get(4) != Some(&ELFCLASS64) {
            return Err(bad(
                "ELF e_ident[EI_CLASS] (need 64-bit)",
                eh.get(4).copied().unwrap_or(0).into(),
            ));
        }
        if eh.get(5) != Some(&ELFDATA2LSB) {
            return Err(bad(
                "ELF e_ident[EI_DATA] (need little-endian)",
                eh.get(5).copied().unwrap_or(0).into(),
            ));
        }
        let e_type = u16_le(&eh, 16);
        if e_type != ET_CORE {
            return Err(bad("ELF e_type (need ET_CORE)", e_type.into()));
        }
        let machine = u16_le(&eh, 18);
        let phoff = u64_le(&eh, 32);
        let shoff = u64_le(&eh, 40);
        let phentsize = u16_le(&eh, 54);
        let mut phnum = u64::from(u16_le(&eh, 56));
        if phentsize as u64 != PHDR_SIZE && phnum != 0 {
            return Err(bad("ELF e_phentsize", phentsize.into()));
        }
        let mut pn_xnum = false;
        if phnum == u64::from(elf::PN_XNUM) {
            // The real count is in section header 0's sh_info.
            let sh0 = src.read(shoff, 64, "ELF section header 0 (PN_XNUM)")?;
            phnum = u32_le(&sh0, 44).into();
            pn_xnum = true;
        }
        if phnum > MAX_PHDRS {
            return Err(Error::TooMany {
                what: "ELF program headers",
                limit: MAX_PHDRS,
            });
        }
        // At most MAX_PHDRS * PHDR_SIZE (2^28) bytes: no overflow.
        let ph = src.read(
            phoff,
            phnum.saturating_mul(PHDR_SIZE),
            "ELF program headers",
        )?;
        let mut segments = Vec::new();
        let mut notes = Vec::new();
        for b in ph.chunks_exact(PHDR_SIZE as usize) {
            let p_type = u32_le(b, 0);
            let offset = u64_le(b, 8);
            let filesz = u64_le(b, 32);
            match p_type {
                PT_LOAD => segments.push(Segment {
                    offset,
                    vaddr: u64_le(b, 16),
                    paddr: u64_le(b, 24),
                    filesz,
                    memsz: u64_le(b, 40).max(filesz),
                }),
                PT_NOTE => notes.push((offset, filesz)),
                _ => {}
            }
        }
        segments.sort_by_key(|s| s.paddr);
        Ok(ElfCore {
            machine,
            phoff,
            phnum,
            pn_xnum,
            segments,
            notes,
        })
    }

    /// The segment holding physical address `paddr`.
    pub fn segment_for(&self, paddr: u64) -> Option<&Segment> {
        let i = self.segments.partition_point(|s| s.paddr <= paddr);
        // /proc/vmcore's kernel-text segment overlaps a RAM segment, so the
        // nearest start is not always the one that holds the address.
        self.segments
            .get(..i)?
            .iter()
            .rev()
            .take(16)
            .find(|s| paddr.checked_sub(s.paddr).is_some_and(|d| d < s.memsz))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// QEMU's layout (section header at 0x40, program headers at 0xc0) with
    /// PN_XNUM: the real count lives in section header 0's `sh_info`.
    #[test]
    fn honours_e_phoff_and_pn_xnum() {
        let mut f = vec![0u8; 0x200];
        f[..4].copy_from_slice(b"\x7fELF");
        f[4] = ELFCLASS64;
        f[5] = ELFDATA2LSB;
        f[16..18].copy_from_slice(&ET_CORE.to_le_bytes());
        f[18..20].copy_from_slice(&EM_X86_64.to_le_bytes());
        f[32..40].copy_from_slice(&0xc0u64.to_le_bytes()); // e_phoff
        f[40..48].copy_from_slice(&0x40u64.to_le_bytes()); // e_shoff
        f[54..56].copy_from_slice(&56u16.to_le_bytes());
        f[56..58].copy_from_slice(&elf::PN_XNUM.to_le_bytes());
        f[0x40 + 44..0x40 + 48].copy_from_slice(&2u32.to_le_bytes()); // sh_info
        for (i, (ty, off, pa, sz)) in [
            (PT_NOTE, 0x170u64, 0u64, 0x10u64),
            (PT_LOAD, 0x180, 0x1000, 0x80),
        ]
        .into_iter()
        .enumerate()
        {
            let p = 0xc0 + 56 * i;
            f[p..p + 4].copy_from_slice(&ty.to_le_bytes());
            f[p + 8..p + 16].copy_from_slice(&off.to_le_bytes());
            f[p + 24..p + 32].copy_from_slice(&pa.to_le_bytes());
            f[p + 32..p + 40].copy_from_slice(&sz.to_le_bytes());
            f[p + 40..p + 48].copy_from_slice(&(sz * 2).to_le_bytes());
        }
        let e = ElfCore::parse(&Source::Plain(&f)).unwrap();
        assert!(e.pn_xnum);
        assert_eq!((e.phoff, e.phnum), (0xc0, 2));
        assert_eq!(e.notes, vec![(0x170, 0x10)]);
        let s = e.segment_for(0x10ff).unwrap();
        assert_eq!((s.offset, s.filesz, s.memsz), (0x180, 0x80, 0x100));
        assert!(e.segment_for(0x1100).is_none());
        // A count past the file is an error naming the structure.
        f[0x40 + 44..0x40 + 48].copy_from_slice(&100u32.to_le_bytes());
        let err = ElfCore::parse(&Source::Plain(&f)).unwrap_err();
        assert!(
            err.to_string()
                .contains("ELF program headers at offset 0xc0"),
            "{err}"
        );
    }
}
