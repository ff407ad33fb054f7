//! The kernel log from a memory image, using only VMCOREINFO offsets (no
//! vmlinux): the lockless printk ring buffer of Linux 5.10+
//! (kernel/printk/printk_ringbuffer.[ch]) and the `log_buf` of struct
//! `printk_log` records used from 3.5 to 5.9.
//!
//! The reader judges nothing: it decodes every record it can prove intact
//! (descriptor state and id, sequence index, data block id) and reports the
//! rest as [`Diagnostic`]s with the address and structure involved.
//!
//! ```no_run
//! use crashview_vmcore::{loader::MappedFile, Vmcore};
//! let file = MappedFile::open("vmcore".as_ref()).unwrap();
//! let core = Vmcore::parse(file.bytes()).unwrap();
//! let log = crashview_printk::read_log(&core).unwrap();
//! for r in &log.records {
//!     for line in r.console_lines() {
//!         println!("{line}");
//!     }
//! }
//! ```
//!
//! The book's "Reading vmcores" chapter describes the ring layout.
#![deny(missing_docs)]
// Every value read from a dump or region is untrusted: arithmetic on it is
// checked (or wraps/saturates where the format says so), never silent.
#![deny(clippy::arithmetic_side_effects)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::panic))]

mod legacy;
mod lockless;
mod log;
mod mem;

use crashview_vmcore::KernelMemory;

pub use lockless::MAX_RECORDS;
pub use log::{
    Diagnostic, Error, Log, Record, RecordState, Result, RingKind, LOG_CONT, LOG_NEWLINE,
};

/// Read the kernel log through `mem`, choosing the layout VMCOREINFO describes.
pub fn read_log(mem: &dyn KernelMemory) -> Result<Log> {
    let vi = mem.vmcoreinfo().ok_or(Error::NoVmcoreinfo)?;
    if vi.symbol("prb").is_some() {
        lockless::read(mem, vi)
    } else if vi.symbol("log_buf").is_some() && vi.symbol("log_first_idx").is_some() {
        legacy::read(mem, vi)
    } else {
        Err(Error::UnsupportedLayout)
    }
}
