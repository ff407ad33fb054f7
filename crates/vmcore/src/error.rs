//! The crate's error type.

use crate::compress::Codec;

/// What went wrong reading a vmcore. Offsets are byte offsets in the
/// (logical, for flattened files) dump file unless a variant says otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The file ends before a structure does.
    Truncated {
        /// The structure being read.
        what: &'static str,
        /// Where it starts.
        offset: u64,
        /// Bytes it needs.
        needed: u64,
        /// Size of the file.
        file_size: u64,
    },
    /// Not an ELF core, kdump-compressed or flattened file.
    UnknownFormat {
        /// The first eight bytes, big-endian.
        magic: u64,
    },
    /// A header field holds a value the format does not allow.
    BadField {
        /// Structure and field, e.g. `"disk_dump_header.block_size"`.
        what: &'static str,
        /// Where the structure starts.
        offset: u64,
        /// The value found.
        value: u64,
    },
    /// A flattened-format record header that cannot be right.
    BadFlatRecord {
        /// Where the record header is in the flattened file.
        offset: u64,
        /// Its logical offset field.
        data_offset: i64,
        /// Its size field.
        size: i64,
    },
    /// More items than any real dump has: the input is corrupt.
    TooMany {
        /// What was being counted.
        what: &'static str,
        /// The limit.
        limit: u64,
    },
    /// The dump holds no data for this page frame (outside every segment, or
    /// not RAM).
    PageNotPresent {
        /// Physical address asked for.
        addr: u64,
    },
    /// makedumpfile excluded this page (dump level) or it was never written.
    PageExcluded {
        /// Page frame number.
        pfn: u64,
    },
    /// A page descriptor points outside the file or has an impossible size.
    BadPageDesc {
        /// Page frame number.
        pfn: u64,
        /// Where the descriptor is.
        desc_offset: u64,
        /// Its data offset.
        data_offset: u64,
        /// Its data size.
        size: u64,
    },
    /// A compressed page did not inflate to exactly one page.
    Decompress {
        /// Page frame number.
        pfn: u64,
        /// Where the compressed data starts.
        offset: u64,
        /// Codec named by the descriptor.
        codec: Codec,
    },
    /// A page descriptor flag this reader does not know.
    UnsupportedCompression {
        /// Page frame number.
        pfn: u64,
        /// The descriptor's flags.
        flags: u32,
    },
    /// The dump carries no VMCOREINFO note.
    NoVmcoreinfo,
    /// VMCOREINFO lacks an entry needed for this operation.
    MissingVmcoreinfo {
        /// The key, e.g. `"SYMBOL(init_top_pgt)"`.
        key: &'static str,
    },
    /// A page-table entry on the way to `vaddr` is not present.
    NotMapped {
        /// Virtual address being translated.
        vaddr: u64,
        /// Paging level of the missing entry (5 = PML5 … 1 = PTE).
        level: u8,
        /// Physical address of the entry.
        entry_addr: u64,
    },
    /// The dump is not of an x86_64 kernel (only x86_64 translation exists).
    UnsupportedArch {
        /// ELF machine or other arch marker.
        machine: u32,
    },
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Error::Truncated { what, offset, needed, file_size } => write!(
                f,
                "{what} at offset {offset:#x} needs {needed} bytes but the file ends at {file_size:#x}"
            ),
            Error::UnknownFormat { magic } => write!(
                f,
                "not a vmcore: first bytes {magic:#018x} are neither ELF, \"KDUMP   \" nor \"makedumpfile\""
            ),
            Error::BadField { what, offset, value } => {
                write!(f, "bad {what} in the structure at offset {offset:#x}: {value:#x}")
            }
            Error::BadFlatRecord { offset, data_offset, size } => write!(
                f,
                "bad flattened record header at offset {offset:#x}: offset {data_offset}, size {size}"
            ),
            Error::TooMany { what, limit } => write!(f, "more than {limit} {what}: corrupt input"),
            Error::PageNotPresent { addr } => {
                write!(f, "physical address {addr:#x} is not in the dump")
            }
            Error::PageExcluded { pfn } => {
                write!(f, "page frame {pfn:#x} was excluded from the dump")
            }
            Error::BadPageDesc { pfn, desc_offset, data_offset, size } => write!(
                f,
                "page descriptor at offset {desc_offset:#x} (pfn {pfn:#x}) points at {size} bytes at offset {data_offset:#x}, outside the file or larger than a page"
            ),
            Error::Decompress { pfn, offset, codec } => write!(
                f,
                "{codec} page data at offset {offset:#x} (pfn {pfn:#x}) does not decompress to one page"
            ),
            Error::UnsupportedCompression { pfn, flags } => {
                write!(f, "page descriptor of pfn {pfn:#x} has unknown flags {flags:#x}")
            }
            Error::NoVmcoreinfo => write!(f, "the dump has no VMCOREINFO"),
            Error::MissingVmcoreinfo { key } => write!(f, "VMCOREINFO has no {key}"),
            Error::NotMapped { vaddr, level, entry_addr } => write!(
                f,
                "virtual address {vaddr:#x} is not mapped (level-{level} entry at physical {entry_addr:#x} not present)"
            ),
            Error::UnsupportedArch { machine } => {
                write!(f, "unsupported architecture (ELF machine {machine})")
            }
        }
    }
}

impl std::error::Error for Error {}

/// Result with this crate's [`Error`].
pub type Result<T> = core::result::Result<T, Error>;
