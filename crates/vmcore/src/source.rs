//! The logical dump file: the bytes as they are, or a flattened stream seen
//! through its record index (see [`crate::flat`]).

use std::borrow::Cow;

use crate::error::{Error, Result};
use crate::flat::FlatIndex;

/// Largest read served by copying from several flattened records (256 MiB:
/// one bitmap of an 8 TiB machine).
pub const MAX_ASSEMBLED: u64 = 1 << 28;

/// Random access to the logical file of a dump.
#[derive(Debug)]
pub enum Source<'a> {
    /// A regular file: the logical file is the bytes.
    Plain(&'a [u8]),
    /// A flattened (`makedumpfile -F`) stream, read through its index.
    Flat(FlatIndex<'a>),
}

impl<'a> Source<'a> {
    /// Size of the logical file.
    pub fn len(&self) -> u64 {
        match self {
            Source::Plain(b) => b.len() as u64,
            Source::Flat(f) => f.logical_len(),
        }
    }

    /// True for an empty file.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `len` bytes at logical `offset`; borrowed when they are contiguous in
    /// the input. `what` names the structure for the error.
    pub fn read(&self, offset: u64, len: u64, what: &'static str) -> Result<Cow<'a, [u8]>> {
        let file_size = self.len();
        let trunc = Error::Truncated {
            what,
            offset,
            needed: len,
            file_size,
        };
        let end = match offset.checked_add(len) {
            Some(e) if e <= file_size => e,
            _ => return Err(trunc),
        };
        match self {
            Source::Plain(b) => {
                let (s, e) = (offset as usize, end as usize);
                b.get(s..e).map(Cow::Borrowed).ok_or(trunc)
            }
            Source::Flat(f) => {
                // Bytes spread over several records are copied; a corrupt
                // header must not make that copy unbounded.
                if len > MAX_ASSEMBLED {
                    return Err(Error::TooMany {
                        what: "bytes read at once from a flattened file",
                        limit: MAX_ASSEMBLED,
                    });
                }
                f.read(offset, len).ok_or(trunc)
            }
        }
    }
}
