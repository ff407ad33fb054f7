//! The x86_64 ORC unwinder over a kernel memory image: ORC tables of vmlinux and modules, CALL/REGS/REGS_PARTIAL frames, stack switches
//!
//! A crashed kernel's stacks can be walked from its memory alone: the ORC
//! tables that objtool generated are in the kernel image (`.orc_unwind_ip`,
//! `.orc_unwind`, and the boot-time `orc_lookup[]`) and in each module
//! (`module->arch.orc_unwind_ip`, `orc_unwind`, `num_orcs`), so no debug
//! file is needed. This crate is the mechanism: it decodes entries
//! ([`OrcEntry`], the Linux <= 6.2, 6.3 and 6.4+ [`OrcLayout`]s), finds
//! them in a table ([`OrcTable::find`], the kernel's `__orc_find` with the
//! lookup blocks), and walks a stack ([`unwind`], the kernel's
//! `unwind_next_frame`) through CALL frames, pt_regs and iret frames and the
//! IRQ-stack switch. Where the tables, the registers and the stack ranges
//! come from is the caller's business (the kernel model crate finds them
//! through kallsyms and BTF).
//!
//! All input is untrusted: no read is assumed to succeed, every address
//! computation is checked, a table lookup reads `O(log n)` slots, and a walk
//! is bounded by [`Limits::max_frames`] and stops on a loop. A stopped walk
//! says why ([`End::Stopped`]), naming the address that failed.
//!
//! ```
//! use crashview_unwind::*;
//! use std::collections::HashMap;
//!
//! // A stack with one return address, and ORC data saying "sp + 8".
//! struct Words(HashMap<u64, u64>);
//! impl Memory for Words {
//!     fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), Fault> {
//!         let w = self.0.get(&addr).ok_or(Fault { addr })?;
//!         buf.copy_from_slice(&w.to_le_bytes()[..buf.len()]);
//!         Ok(())
//!     }
//! }
//! struct Orc;
//! impl OrcSource for Orc {
//!     fn orc_for(&self, ip: u64) -> Result<Option<OrcEntry>, Fault> {
//!         let call = OrcEntry { sp_offset: 8, bp_offset: 0, sp_reg: orc::reg::SP,
//!             bp_reg: orc::reg::UNDEFINED, kind: OrcKind::Call, signal: false };
//!         let end = OrcEntry { kind: OrcKind::EndOfStack, ..call };
//!         Ok(Some(if ip < 0x2000 { call } else { end }))
//!     }
//! }
//! let mem = Words(HashMap::from([(0x8000, 0x2005)]));
//! let start = Start { ip: 0x1000, sp: 0x8000, bp: 0, exact: true, regs: None };
//! let stack = unwind(&mem, &Orc, start, &[], Limits::default());
//! assert_eq!(stack.frames.len(), 2);
//! assert_eq!(stack.frames[1].pc, 0x2005);
//! assert_eq!(stack.end, End::EndOfStack);
//! ```
//!
//! Formats were checked against the kernel sources of both releases read
//! (6.1 and 6.12); each module cites the lines.
#![deny(missing_docs)]
#![deny(clippy::arithmetic_side_effects)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::panic))]

mod memory;
pub mod orc;
pub mod regs;
mod unwind;

pub use memory::{Fault, Memory};
pub use orc::{
    OrcEntry, OrcKind, OrcLayout, OrcLookup, OrcTable, LOOKUP_BLOCK_SIZE, ORC_ENTRY_SIZE,
};
pub use regs::PtRegs;
pub use unwind::{
    unwind, End, Frame, FrameKind, Limits, OrcRegion, OrcSource, OrcTables, Stack, StackRange,
    Start, MAX_FRAMES,
};
