//! VMCOREINFO lookups and fault-tolerant reads of ring memory.

use crashview_vmcore::{KernelMemory, VmcoreInfo};

use crate::log::{Diagnostic, Error, Result};

/// A decimal VMCOREINFO entry (`OFFSET(..)`, `SIZE(..)`, `LENGTH(..)`), by full key.
pub(crate) fn dec(vi: &VmcoreInfo, key: &'static str) -> Result<u64> {
    vi.get(key)
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or(Error::MissingVmcoreinfo { key })
}

/// A hex VMCOREINFO entry (`SYMBOL(..)`), by full key.
pub(crate) fn sym(vi: &VmcoreInfo, key: &'static str) -> Result<u64> {
    vi.get(key)
        .and_then(|v| u64::from_str_radix(v, 16).ok())
        .ok_or(Error::MissingVmcoreinfo { key })
}

pub(crate) fn read_u64(mem: &dyn KernelMemory, addr: u64, what: &'static str) -> Result<u64> {
    let mut b = [0u8; 8];
    mem.read_virt(addr, &mut b)
        .map_err(|error| Error::Memory { what, addr, error })?;
    Ok(u64::from_le_bytes(b))
}

pub(crate) fn read_u32(mem: &dyn KernelMemory, addr: u64, what: &'static str) -> Result<u32> {
    let mut b = [0u8; 4];
    mem.read_virt(addr, &mut b)
        .map_err(|error| Error::Memory { what, addr, error })?;
    Ok(u32::from_le_bytes(b))
}

pub(crate) fn le(b: &[u8], off: u64, size: u64) -> u64 {
    let field = usize::try_from(off)
        .ok()
        .and_then(|o| b.get(o..))
        .and_then(|r| r.get(..usize::try_from(size).ok()?));
    let Some(s) = field else {
        return 0;
    };
    s.iter().rev().fold(0u64, |a, &x| (a << 8) | u64::from(x))
}

/// A block of kernel memory read lazily, page by page, on first use: a
/// reader touches only the pages its records live on (makedumpfile does the
/// same), and an unreadable page costs only the records on it.
pub(crate) struct Region<'m> {
    mem: &'m dyn KernelMemory,
    addr: u64,
    len: u64,
    what: &'static str,
    /// Per virtual page from `addr & !4095`: `None` not read yet, `Some(None)`
    /// unreadable, `Some(Some(page))` read.
    pages: Vec<Slot>,
    scratch: Vec<u8>,
    pub diagnostics: Vec<Diagnostic>,
}

const PAGE: u64 = 4096;
/// Offset within a page: `addr & PAGE_MASK`.
const PAGE_MASK: u64 = PAGE - 1;

impl<'m> Region<'m> {
    pub(crate) fn new(
        mem: &'m dyn KernelMemory,
        addr: u64,
        len: u64,
        what: &'static str,
    ) -> Region<'m> {
        // Callers bound len (the rings' sizes are checked: at most 16 GiB,
        // one 16-byte empty slot per page); a sum past 2^64 could only
        // cover every page there is, so saturating is exact enough.
        let pages = (addr & PAGE_MASK).saturating_add(len).div_ceil(PAGE);
        Region {
            mem,
            addr,
            len,
            what,
            pages: (0..pages).map(|_| None).collect(),
            scratch: Vec::new(),
            diagnostics: Vec::new(),
        }
    }

    fn load(&mut self, p: u64) -> bool {
        let Some(slot) = self.pages.get_mut(p as usize) else {
            return false;
        };
        if let Some(state) = slot {
            return state.is_some();
        }
        // p < pages: the page's address, wrapping as kernel addresses do.
        let v = (self.addr & !PAGE_MASK).wrapping_add(p.wrapping_mul(PAGE));
        let mut page = vec![0u8; PAGE as usize].into_boxed_slice();
        match self.mem.read_virt(v, &mut page) {
            Ok(()) => {
                *slot = Some(Some(page));
                true
            }
            Err(e) => {
                *slot = Some(None);
                self.diagnostics.push(Diagnostic {
                    addr: v,
                    structure: self.what,
                    message: format!("unreadable: {e}"),
                });
                false
            }
        }
    }

    /// `[off, off+len)` of the region if inside it and readable.
    pub(crate) fn get(&mut self, off: u64, len: u64) -> Option<&[u8]> {
        let end = off.checked_add(len)?;
        if end > self.len || len == 0 {
            return (len == 0 && off <= self.len).then_some(&[][..]);
        }
        // end <= self.len, so start + len - 1 stays below the region's end
        // plus a page: no overflow.
        let start = (self.addr & PAGE_MASK).checked_add(off)?;
        let end_incl = start.checked_add(len)?.checked_sub(1)?;
        let (first, last) = (start / PAGE, end_incl / PAGE);
        let mut ok = true;
        for p in first..=last {
            ok &= self.load(p);
        }
        if !ok {
            return None;
        }
        if first == last {
            let o = (start & PAGE_MASK) as usize;
            return page(&self.pages, first)?
                .get(o..)?
                .get(..usize::try_from(len).ok()?);
        }
        self.scratch.clear();
        for p in first..=last {
            let a = if p == first {
                (start & PAGE_MASK) as usize
            } else {
                0
            };
            let b = if p == last {
                // At most PAGE: the last byte's offset plus one.
                ((end_incl & PAGE_MASK) as usize).saturating_add(1)
            } else {
                PAGE as usize
            };
            self.scratch
                .extend_from_slice(page(&self.pages, p)?.get(a..b)?);
        }
        Some(&self.scratch)
    }
}

type Slot = Option<Option<Box<[u8]>>>;

fn page(pages: &[Slot], p: u64) -> Option<&[u8]> {
    pages.get(p as usize)?.as_ref()?.as_deref()
}

/// A NUL-terminated string field.
pub(crate) fn cstr(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(b.get(..end).unwrap_or_default()).into_owned()
}
