//! The one way the unwinder sees the crashed machine: reads of kernel
//! virtual memory that may fail page by page.

use std::fmt;

/// Reads kernel virtual memory of the crashed machine.
///
/// An implementation fills all of `buf` from `addr` on, or fails with the
/// first address it could not read (a page left out of the dump, an
/// unmapped address). Nothing else is asked of it: the unwinder never
/// assumes that two reads agree or that a page read once stays readable.
pub trait Memory {
    /// Fills `buf` with the bytes at `addr .. addr + buf.len()`.
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), Fault>;
}

impl<M: Memory + ?Sized> Memory for &M {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), Fault> {
        (**self).read(addr, buf)
    }
}

/// A read that failed: `addr` is the first address that could not be read.
///
/// Deliberately just the address, so that any [`Memory`] can build one
/// (`Fault { addr }`); the unwinder adds the size and the purpose of the
/// read when it reports one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Fault {
    /// The address that could not be read.
    pub addr: u64,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot read 0x{:x}", self.addr)
    }
}

impl std::error::Error for Fault {}

/// Reads `N` bytes at `addr`.
pub(crate) fn read_array<const N: usize>(mem: &dyn Memory, addr: u64) -> Result<[u8; N], Fault> {
    let mut b = [0u8; N];
    mem.read(addr, &mut b)?;
    Ok(b)
}

/// Reads a little-endian u64 (x86_64 is little-endian throughout).
pub(crate) fn read_u64(mem: &dyn Memory, addr: u64) -> Result<u64, Fault> {
    read_array::<8>(mem, addr).map(u64::from_le_bytes)
}

/// Reads a little-endian u32.
pub(crate) fn read_u32(mem: &dyn Memory, addr: u64) -> Result<u32, Fault> {
    read_array::<4>(mem, addr).map(u32::from_le_bytes)
}

/// Reads a little-endian i32.
pub(crate) fn read_i32(mem: &dyn Memory, addr: u64) -> Result<i32, Fault> {
    read_array::<4>(mem, addr).map(i32::from_le_bytes)
}
