//! The kernel half of crashview: a panic path that is explicit, reviewable
//! and journaled. `no_std`, no allocation, no locks, and every loop bounded.
//!
//! - [`list`]: the phase lists (pre-crash-dump set, hypervisor, info,
//!   pre-reboot, post-reboot) as static tables with check values.
//! - [`plan`]: the ordered steps, from `prefer_crash_dump` and the legacy
//!   `crash_kexec_post_notifiers` / `panic_notifiers_level` settings.
//! - [`recorder`]: the executor: a single-CPU claim, a write-ahead journal
//!   entry before and after every step, nested panics resumed, never re-run.
//! - [`backend`]: the pstore backend: ramoops zones written, read and
//!   erased as Linux's ramoops does.
//! - [`platform`]: the one door to the kernel.
//!
//! Formats come from `crashview-ramoops` and `crashview-journal`, the same
//! crates the host reader uses. The book's "The panic recorder module"
//! explains how a kernel wires it in.
//!
//! ```no_run
//! use panic_recorder::recorder::{Recorder, Setup};
//! static RECORDER: Recorder = Recorder::new();
//! ```
#![no_std]
#![deny(missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)
)]
// A dying kernel must not trip an overflow check: arithmetic on what the
// region, the platform or a caller hands in is checked, or saturating
// where the value is bounded anyway. Tests compute freely.
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

pub mod backend;
pub mod list;
pub mod plan;
pub mod platform;
pub mod raw;
pub mod recorder;
pub mod text;
pub mod zones;

pub use crashview_journal as journal;
pub use crashview_ramoops as ramoops;
