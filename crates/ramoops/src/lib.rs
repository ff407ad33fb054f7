//! The ramoops persistent-RAM format, one definition for both sides: the
//! kernel-side writer (no_std, no alloc) and the host readers (`std` feature).
//!
//! A ramoops region is a run of *zones* (fs/pstore/ram.c decides where, see
//! [`layout`]); each zone is a header plus a ring buffer plus optional
//! Reed–Solomon parity (fs/pstore/ram_core.c, see [`zone`] and [`rs`]). dmesg
//! zones hold one kmsg dump each, framed as described in [`dmesg`]. The book's
//! "Reading pstore" chapter draws the layout.
//!
//! ```no_run
//! # #[cfg(feature = "std")] {
//! use crashview_ramoops::region::{Region, Overrides};
//! let bytes = std::fs::read("region.bin").unwrap();
//! let region = Region::scan(&bytes, &Overrides::default()).unwrap();
//! for rec in region.records() {
//!     println!("{} {} bytes", rec.file_name(), rec.file_contents().len());
//! }
//! # }
//! ```
//!
//! Features: `std` (default) adds [`region`] (autodetection, records, the
//! pstore file view) and deflate decompression. Without it the crate is
//! `no_std` and allocation-free.
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]
// Every value read from a dump or region is untrusted: arithmetic on it is
// checked (or wraps/saturates where the format says so), never silent.
#![deny(clippy::arithmetic_side_effects)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)
)]

pub mod deflate;
pub mod dmesg;
pub mod fmt;
pub mod layout;
pub mod rs;
pub mod writer;
pub mod zone;

#[cfg(feature = "std")]
pub mod pstore;
#[cfg(feature = "std")]
pub mod region;

/// What went wrong reading or writing ramoops data. Offsets are relative to
/// the start of the region (or of the zone, for zone-level calls).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The input ended `needed` bytes short of a structure at `offset`.
    UnexpectedEof {
        /// Where the structure starts or where input ran out.
        offset: u64,
        /// Bytes missing.
        needed: u64,
    },
    /// A zone smaller than its own header.
    ZoneTooSmall {
        /// The zone size.
        zone_size: usize,
    },
    /// An ECC size ramoops would refuse for this zone size.
    BadEccSize {
        /// The parity bytes per block asked for.
        ecc: usize,
    },
    /// Parameters ramoops would refuse.
    BadParams(&'static str),
    /// A zone does not fit in the region (`no room for … mem region`).
    NoRoom {
        /// Which zone type.
        what: &'static str,
        /// Where it would start.
        offset: u64,
        /// Its size.
        size: u64,
    },
    /// The Reed–Solomon codec refused its input.
    Ecc(rs::RsError),
    /// No zone header with a ramoops signature where one was required.
    NoSignature {
        /// Offset searched.
        offset: u64,
        /// The word found there.
        found: u32,
    },
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Error::UnexpectedEof { offset, needed } => {
                write!(
                    f,
                    "input ends at offset {offset:#x}, {needed} more bytes expected"
                )
            }
            Error::ZoneTooSmall { zone_size } => {
                write!(f, "zone of {zone_size} bytes is smaller than its header")
            }
            Error::BadEccSize { ecc } => write!(f, "ecc size {ecc} does not fit the zone"),
            Error::BadParams(why) => write!(f, "invalid ramoops parameters: {why}"),
            Error::NoRoom { what, offset, size } => {
                write!(
                    f,
                    "no room for the {what} zone ({size:#x} bytes at offset {offset:#x})"
                )
            }
            Error::Ecc(e) => write!(f, "reed-solomon: {e:?}"),
            Error::NoSignature { offset, found } => {
                write!(f, "no ramoops zone signature at offset {offset:#x} (expected 0x43474244 \"DBGC\", found {found:#010x})")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}

/// Result with this crate's [`Error`].
pub type Result<T> = core::result::Result<T, Error>;
