//! Checked little-endian field access. Callers pass buffers that were read
//! with the right length, so a short buffer means a bug or a lying size field;
//! either way these return zero instead of panicking and the caller's own
//! length check reports the error.

/// `N` bytes at `off`, if the buffer has them.
fn field<const N: usize>(b: &[u8], off: usize) -> Option<[u8; N]> {
    b.get(off..)?.get(..N)?.try_into().ok()
}

pub(crate) fn u16_le(b: &[u8], off: usize) -> u16 {
    field(b, off).map_or(0, u16::from_le_bytes)
}

pub(crate) fn u32_le(b: &[u8], off: usize) -> u32 {
    field(b, off).map_or(0, u32::from_le_bytes)
}

pub(crate) fn u64_le(b: &[u8], off: usize) -> u64 {
    field(b, off).map_or(0, u64::from_le_bytes)
}

pub(crate) fn i64_be(b: &[u8], off: usize) -> i64 {
    field(b, off).map_or(0, i64::from_be_bytes)
}

/// A NUL-terminated string field, lossily decoded.
pub(crate) fn cstr(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(b.get(..end).unwrap_or_default()).into_owned()
}
