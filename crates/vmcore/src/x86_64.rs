//! x86_64 virtual to physical translation from VMCOREINFO alone.
//!
//! Kernel image addresses (`__START_KERNEL_map` = 0xffffffff80000000 up to
//! `KERNEL_IMAGE_SIZE`) translate as `__pa_symbol`, that is
//! `v - __START_KERNEL_map + phys_base`, with `phys_base` from VMCOREINFO. Everything else (direct
//! map, vmalloc, modules) walks the kernel page tables from `init_top_pgt`
//! (4 levels, or 5 when `NUMBER(pgtable_l5_enabled)=1`), honouring 1 GiB and
//! 2 MiB pages and stripping the SME encryption bit (`NUMBER(sme_mask)`).
//! The direct map base is randomised under KASLR and not in VMCOREINFO, so
//! walking is the way that always works. A small direct-mapped TLB keeps
//! repeated walks cheap.

use std::sync::Mutex;

use crate::error::{Error, Result};
use crate::vmcoreinfo::VmcoreInfo;

/// `__START_KERNEL_map`: the kernel image is mapped from here (its
/// addresses move with KASLR).
pub const START_KERNEL_MAP: u64 = 0xffff_ffff_8000_0000;
/// The lowest kernel address: the canonical upper half (4-level paging;
/// 5-level kernels start higher still). Below it is user space.
pub const KERNEL_HALF: u64 = 0xffff_8000_0000_0000;
const PTE_PRESENT: u64 = 1;
const PTE_PSE: u64 = 1 << 7;
const PHYS_MASK: u64 = 0x000f_ffff_ffff_f000;
const TLB_SIZE: usize = 256;

/// Reads physical memory: what the translator needs from a dump.
pub trait PhysRead {
    /// Fill `buf` from physical address `addr`.
    fn read_phys(&self, addr: u64, buf: &mut [u8]) -> Result<()>;
}

/// The translation parameters and a TLB.
#[derive(Debug)]
pub struct Translator {
    /// Physical address of `init_top_pgt`.
    pub pgd: u64,
    /// `phys_base`.
    pub phys_base: u64,
    /// Five-level paging.
    pub l5: bool,
    /// SME mask stripped from entries.
    pub sme_mask: u64,
    /// Size of the kernel image mapping.
    pub image_size: u64,
    tlb: Mutex<[(u64, u64); TLB_SIZE]>,
}

impl Translator {
    /// Build from VMCOREINFO: needs `SYMBOL(init_top_pgt)` and
    /// `NUMBER(phys_base)`.
    pub fn from_vmcoreinfo(vi: &VmcoreInfo) -> Result<Translator> {
        let top = vi
            .symbol("init_top_pgt")
            .or_else(|| vi.symbol("init_level4_pgt"))
            .ok_or(Error::MissingVmcoreinfo {
                key: "SYMBOL(init_top_pgt)",
            })?;
        let phys_base = vi.phys_base().ok_or(Error::MissingVmcoreinfo {
            key: "NUMBER(phys_base)",
        })?;
        let image_size = vi
            .number("KERNEL_IMAGE_SIZE")
            .and_then(|v| u64::try_from(v).ok())
            .filter(|&v| v > 0 && v <= 2 << 30)
            .unwrap_or(1 << 30);
        let t = Translator {
            pgd: 0,
            phys_base,
            l5: vi.number("pgtable_l5_enabled") == Some(1),
            sme_mask: vi.number("sme_mask").map_or(0, |v| v as u64),
            image_size,
            tlb: Mutex::new([(u64::MAX, 0); TLB_SIZE]),
        };
        let pgd = t.kernel_image_pa(top).ok_or(Error::BadField {
            what: "VMCOREINFO SYMBOL(init_top_pgt) (not a kernel image address)",
            offset: 0,
            value: top,
        })?;
        Ok(Translator { pgd, ..t })
    }

    /// `__pa_symbol` for kernel image addresses.
    pub fn kernel_image_pa(&self, v: u64) -> Option<u64> {
        let off = v.checked_sub(START_KERNEL_MAP)?;
        (off < self.image_size).then(|| off.wrapping_add(self.phys_base))
    }

    /// Translate a kernel virtual address.
    pub fn translate(&self, mem: &dyn PhysRead, v: u64) -> Result<u64> {
        if let Some(p) = self.kernel_image_pa(v) {
            return Ok(p);
        }
        let vpn = v >> 12;
        let slot = (vpn as usize) % TLB_SIZE;
        if let Ok(tlb) = self.tlb.lock() {
            if let Some(&(k, pfn)) = tlb.get(slot) {
                if k == vpn {
                    return Ok((pfn << 12) | (v & 0xfff));
                }
            }
        }
        let p = self.walk(mem, v)?;
        if let Ok(mut tlb) = self.tlb.lock() {
            if let Some(e) = tlb.get_mut(slot) {
                *e = (vpn, p >> 12);
            }
        }
        Ok(p)
    }

    /// Walk the page tables (no TLB).
    pub fn walk(&self, mem: &dyn PhysRead, v: u64) -> Result<u64> {
        let mask = PHYS_MASK & !self.sme_mask;
        let mut table = self.pgd;
        // (level, shift of the virtual address bits it indexes)
        let levels: &[(u8, u32)] = if self.l5 {
            &[(5, 48), (4, 39), (3, 30), (2, 21), (1, 12)]
        } else {
            &[(4, 39), (3, 30), (2, 21), (1, 12)]
        };
        for &(level, shift) in levels {
            let index = (v >> shift) & 0x1ff;
            // The top table comes from VMCOREINFO (phys_base wraps, as in
            // the kernel): an address past 2^64 is not in the dump.
            let entry_addr = table
                .checked_add(index << 3)
                .ok_or(Error::PageNotPresent { addr: table })?;
            let mut e = [0u8; 8];
            mem.read_phys(entry_addr, &mut e)?;
            let e = u64::from_le_bytes(e);
            if e & PTE_PRESENT == 0 {
                return Err(Error::NotMapped {
                    vaddr: v,
                    level,
                    entry_addr,
                });
            }
            if (level == 2 || level == 3) && e & PTE_PSE != 0 {
                let page_mask = !(u64::MAX << shift);
                return Ok((e & mask & !page_mask) | (v & page_mask));
            }
            table = e & mask;
        }
        Ok(table | (v & 0xfff))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoMemory;

    impl PhysRead for NoMemory {
        fn read_phys(&self, addr: u64, _: &mut [u8]) -> Result<()> {
            Err(Error::PageNotPresent { addr })
        }
    }

    /// `NUMBER(phys_base)` is signed and `__pa_symbol` wraps, so VMCOREINFO
    /// can put `init_top_pgt` just below 2^64: entry 511 of it is then past
    /// 2^64. That was an overflow panic (and a wrapped read in release).
    #[test]
    fn page_table_address_past_2_64_is_an_error_not_a_panic() {
        let vi =
            VmcoreInfo::parse(b"SYMBOL(init_top_pgt)=ffffffff80001000\nNUMBER(phys_base)=-6144\n");
        let t = Translator::from_vmcoreinfo(&vi).unwrap();
        assert_eq!(t.pgd, 0xffff_ffff_ffff_f800);
        let e = t.walk(&NoMemory, 0xffff_ff80_0000_0000).unwrap_err();
        assert_eq!(e, Error::PageNotPresent { addr: t.pgd });
    }
}
