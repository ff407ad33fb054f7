//! VMCOREINFO: the `KEY=value` text the kernel exports for dump readers
//! (kernel/crash_core.c, arch/x86/kernel/crash_core_64.c,
//! kernel/printk/printk.c `log_buf_vmcoreinfo_setup`).
//!
//! Keys are `OSRELEASE`, `PAGESIZE`, `BUILD-ID`, `KERNELOFFSET` (hex, no
//! prefix), `CRASHTIME` (decimal seconds), `SYMBOL(name)` (hex address),
//! `SIZE(type)`, `OFFSET(type.field)`, `LENGTH(name)`, `NUMBER(name)` (all
//! decimal, `NUMBER` may be negative: `phys_base` under KASLR).

use std::collections::HashMap;

/// Lines parsed before the text is judged corrupt (VMCOREINFO is one page).
pub const MAX_LINES: usize = 4096;

/// Parsed VMCOREINFO.
#[derive(Debug, Clone, Default)]
pub struct VmcoreInfo {
    raw: String,
    map: HashMap<String, String>,
}

impl VmcoreInfo {
    /// Parse the note's text. Malformed lines are skipped; trailing NULs end it.
    pub fn parse(text: &[u8]) -> VmcoreInfo {
        let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
        let raw = String::from_utf8_lossy(text.get(..end).unwrap_or_default()).into_owned();
        let mut map = HashMap::new();
        for line in raw.lines().take(MAX_LINES) {
            if let Some((k, v)) = line.split_once('=') {
                map.insert(k.trim().to_owned(), v.trim().to_owned());
            }
        }
        VmcoreInfo { raw, map }
    }

    /// The text as found.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True with no entries.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Value of a raw key, e.g. `"OSRELEASE"` or `"SYMBOL(prb)"`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.map.get(key).map(String::as_str)
    }

    fn dec(&self, key: &str) -> Option<i64> {
        self.get(key)?.parse().ok()
    }

    /// `SYMBOL(name)`: a kernel virtual address.
    pub fn symbol(&self, name: &str) -> Option<u64> {
        u64::from_str_radix(self.get(&format!("SYMBOL({name})"))?, 16).ok()
    }

    /// `SIZE(name)`.
    pub fn size(&self, name: &str) -> Option<u64> {
        self.dec(&format!("SIZE({name})"))
            .and_then(|v| u64::try_from(v).ok())
    }

    /// `OFFSET(ty.field)`.
    pub fn offset(&self, ty: &str, field: &str) -> Option<u64> {
        self.dec(&format!("OFFSET({ty}.{field})"))
            .and_then(|v| u64::try_from(v).ok())
    }

    /// `LENGTH(name)`.
    pub fn length(&self, name: &str) -> Option<u64> {
        self.dec(&format!("LENGTH({name})"))
            .and_then(|v| u64::try_from(v).ok())
    }

    /// `NUMBER(name)` (signed).
    pub fn number(&self, name: &str) -> Option<i64> {
        self.dec(&format!("NUMBER({name})"))
    }

    /// `OSRELEASE`, the kernel release (`uname -r`).
    pub fn osrelease(&self) -> Option<&str> {
        self.get("OSRELEASE")
    }

    /// `PAGESIZE`.
    pub fn page_size(&self) -> Option<u64> {
        self.dec("PAGESIZE").and_then(|v| u64::try_from(v).ok())
    }

    /// `KERNELOFFSET`: the KASLR text offset (hex without prefix).
    pub fn kernel_offset(&self) -> Option<u64> {
        u64::from_str_radix(self.get("KERNELOFFSET")?, 16).ok()
    }

    /// `BUILD-ID`: the vmlinux build id in lowercase hex (which finds its
    /// debug file); `None` when absent or not hex.
    pub fn build_id(&self) -> Option<String> {
        self.get("BUILD-ID")
            .map(|b| b.trim().to_ascii_lowercase())
            .filter(|b| !b.is_empty() && b.bytes().all(|c| c.is_ascii_hexdigit()))
    }

    /// `CRASHTIME`: seconds since the epoch, set by `crash_save_vmcoreinfo`
    /// when kdump runs (absent from dumps taken from outside, e.g. QEMU's).
    pub fn crash_time(&self) -> Option<i64> {
        self.dec("CRASHTIME")
    }

    /// `NUMBER(phys_base)` as the kernel means it: an unsigned long printed
    /// with `%ld` (QEMU 7.2 misreads it as hex in its kdump header; this
    /// value is the right one).
    pub fn phys_base(&self) -> Option<u64> {
        self.number("phys_base").map(|v| v as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kinds() {
        let v = VmcoreInfo::parse(
            b"OSRELEASE=6.1.0\nPAGESIZE=4096\nSYMBOL(prb)=ffffffff9e0a1b20\nOFFSET(printk_info.seq)=0\nNUMBER(phys_base)=-1073741824\nKERNELOFFSET=1c000000\nbad line\n\0\0junk",
        );
        assert_eq!(v.osrelease(), Some("6.1.0"));
        assert_eq!(v.page_size(), Some(4096));
        assert_eq!(v.symbol("prb"), Some(0xffffffff9e0a1b20));
        assert_eq!(v.offset("printk_info", "seq"), Some(0));
        assert_eq!(v.phys_base(), Some((-1073741824i64) as u64));
        assert_eq!(v.kernel_offset(), Some(0x1c000000));
        assert_eq!(v.len(), 6);
    }
}
