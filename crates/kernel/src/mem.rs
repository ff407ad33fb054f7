//! Typed reads of the dumped kernel's memory, each failure naming the
//! address and what was being read.

use crashview_vmcore::KernelMemory;

/// A read that failed: what, where, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    /// What was being read (`"task_struct.tasks"`, `"BTF"`…).
    pub what: String,
    /// Its address.
    pub addr: u64,
    /// The dump reader's reason (page excluded, not present…).
    pub reason: String,
}

impl core::fmt::Display for ReadError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "cannot read {} at {:#x}: {}",
            self.what, self.addr, self.reason
        )
    }
}

impl std::error::Error for ReadError {}

/// Kernel memory with typed, checked reads.
#[derive(Clone, Copy)]
pub(crate) struct Mem<'m>(pub &'m dyn KernelMemory);

impl Mem<'_> {
    pub fn bytes(&self, what: &str, addr: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        self.0.read_virt(addr, buf).map_err(|e| ReadError {
            what: what.to_owned(),
            addr,
            reason: e.to_string(),
        })
    }

    pub fn u64(&self, what: &str, addr: u64) -> Result<u64, ReadError> {
        let mut b = [0u8; 8];
        self.bytes(what, addr, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    pub fn u32(&self, what: &str, addr: u64) -> Result<u32, ReadError> {
        let mut b = [0u8; 4];
        self.bytes(what, addr, &mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    /// An unsigned field of 1, 2, 4 or 8 bytes.
    pub fn uint(&self, what: &str, addr: u64, size: u64) -> Result<u64, ReadError> {
        let mut b = [0u8; 8];
        let n = (size as usize).clamp(1, 8);
        self.bytes(what, addr, b.get_mut(..n).unwrap_or_default())?;
        Ok(u64::from_le_bytes(b))
    }

    /// A NUL-terminated string in a fixed-size field (`comm`, `name`).
    pub fn fixed_str(&self, what: &str, addr: u64, len: usize) -> Result<String, ReadError> {
        let mut b = vec![0u8; len.min(4096)];
        self.bytes(what, addr, &mut b)?;
        let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
        Ok(String::from_utf8_lossy(b.get(..end).unwrap_or_default()).into_owned())
    }
}

impl crashview_unwind::Memory for Mem<'_> {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), crashview_unwind::Fault> {
        self.0
            .read_virt(addr, buf)
            .map_err(|_| crashview_unwind::Fault { addr })
    }
}

/// `base + off`, or an error naming the field.
pub(crate) fn at(base: u64, off: u64, what: &str) -> Result<u64, ReadError> {
    base.checked_add(off).ok_or_else(|| ReadError {
        what: what.to_owned(),
        addr: base,
        reason: format!("address + {off:#x} is past 2^64"),
    })
}
