//! The executor: one CPU claims the panic path, builds the plan, journals it,
//! then runs each step between a journaled begin and end. A nested panic on
//! the claiming CPU resumes after the step that panicked; other CPUs are
//! turned away. No step ever runs twice.
//!
//! Steps that belong to the kernel (a module inside the stock `panic()`, see
//! [`Plan::stock_6_1`]) are journaled too: those the kernel did before the
//! recorder ran, or will do after its last hook, as "left to the kernel";
//! the one it does next is begun and left open until a hook
//! ([`Recorder::resume_after`]) says it is over, so a machine that stops
//! inside the kernel's notifier chain or its crash kexec says so.
//!
//! This module holds the [`Recorder`] and its state; the work is split by
//! concern into `attach` (taking over the region), `executor` (the claim
//! and the plan's steps), `calls` (the phase lists' callbacks and the
//! notifier chain, each call journaled), `journal` (the write-ahead journal
//! and its mirror) and `info` (the info lines). The kmsg dumper, the pstore
//! backend, is [`crate::backend`].

use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU8, Ordering};

use crashview_journal::Header;
use crashview_ramoops::layout::{Layout, Params, ZoneRun};
use crashview_ramoops::rs::Codec;
use crashview_ramoops::zone::ZoneGeometry;

use crate::list::{ListId, PhaseList};
use crate::plan::{self, Plan};
use crate::raw::{ClaimCell, RawRegion};
use crate::zones::{ZoneStatus, ZonesError, MAX_ZONES};

mod attach;
mod calls;
mod executor;
mod info;
mod journal;

pub(crate) const NO_CPU: u32 = u32::MAX;
const NONE: u32 = u32::MAX;
const DETACHED: u8 = 0;
const ATTACHING: u8 = 1;
const READY: u8 = 2;
/// Most entries of the legacy notifier chain walked.
pub const MAX_CHAIN: usize = 64;
/// Longest `panic_timeout` delay honoured (one hour).
const MAX_DELAY_S: u64 = 3600;
/// Journal states: not armed this boot, being armed, armed.
const J_NONE: u8 = 0;
const J_ARMING: u8 = 1;
const J_ARMED: u8 = 2;
/// Share of the journal that events before a panic (oops dumps) may use:
/// the rest is kept for the panic path itself.
const PRE_PANIC_SHARE: u32 = 4;

/// How the recorder is laid out in its region and what it should do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setup {
    /// Plan choices.
    pub plan: plan::Config,
    /// The recorder is a module inside the stock `panic()`: its plan is
    /// [`Plan::stock_6_1`] (the kernel's order, observed), not
    /// [`Plan::build`] (an order the recorder runs).
    pub stock_panic: bool,
    /// ramoops parameters for the region's first `ramoops.mem_size` bytes;
    /// `mem_size` 0: no ramoops zones, the region is the journal alone (a
    /// kernel whose pstore backend is the stock ramoops).
    pub ramoops: Params,
    /// Bytes of the journal zone, placed right after the ramoops zones.
    pub journal_len: usize,
    /// `LINUX_VERSION_CODE`, for ftrace zone signatures.
    pub version_code: u32,
    /// Whether the kernel has a kmsg dumper registered, when the caller
    /// knows (a kernel whose dumper is the stock ramoops); `None`: the
    /// recorder's own backend is the dumper when the region has dmesg zones.
    pub kmsg_dumper: Option<bool>,
}

/// Why attaching failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttachError {
    /// Already attached (or attaching).
    Busy,
    /// The ramoops parameters are invalid.
    Layout(crashview_ramoops::Error),
    /// The region is smaller than ramoops' `mem_size` plus the journal.
    RegionTooSmall,
    /// The journal zone cannot hold a header and one entry.
    JournalTooSmall,
    /// More zones than the recorder's status table holds ([`MAX_ZONES`]).
    TooManyZones,
}

impl From<ZonesError> for AttachError {
    fn from(e: ZonesError) -> AttachError {
        match e {
            ZonesError::Layout(l) => AttachError::Layout(l),
            ZonesError::RegionTooSmall => AttachError::RegionTooSmall,
            ZonesError::TooManyZones => AttachError::TooManyZones,
        }
    }
}

/// What `panic` (or a hook) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This CPU ran the panic path (or the part of it this hook covers).
    Ran,
    /// This CPU was already panicking: resumed after the interrupted step.
    Nested,
    /// Another CPU owns the panic path; this one must stop.
    OtherCpu,
    /// Not attached: nothing recorded.
    NotAttached,
    /// A hook ran while no panic is in progress.
    NotPanicking,
}

#[derive(Clone, Copy)]
pub(crate) struct State {
    pub(crate) region: Option<RawRegion>,
    /// A second copy of the journal, written entry by entry after the first
    /// (ordinary memory, which a kdump vmcore holds, mirrored into reserved
    /// memory, which survives a reboot).
    mirror: Option<RawRegion>,
    pub(crate) setup: Option<Setup>,
    pub(crate) layout: Layout,
    pub(crate) dmesg_geom: Option<ZoneGeometry>,
    pub(crate) codec: Option<Codec>,
    plan: Option<Plan>,
    journal: Option<Header>,
    /// The panic message, for the info list (truncated).
    message: [u8; MESSAGE_LEN],
    message_len: usize,
}

/// Bytes of the panic message kept for the info list.
const MESSAGE_LEN: usize = 120;

const EMPTY_RUN: ZoneRun = ZoneRun {
    offset: 0,
    zone_size: 0,
    count: 0,
};

/// The panic recorder. Meant to live in a `static`.
pub struct Recorder {
    /// Pre-crash-dump set.
    pub pre_crash_dump: PhaseList,
    /// Hypervisor list.
    pub hypervisor: PhaseList,
    /// Info list.
    pub info: PhaseList,
    /// Pre-reboot list.
    pub pre_reboot: PhaseList,
    /// Post-reboot list.
    pub post_reboot: PhaseList,
    pub(crate) attach_state: AtomicU8,
    claim: AtomicU32,
    cursor: AtomicU32,
    running: AtomicU32,
    journal_state: AtomicU8,
    journal_lock: AtomicU32,
    journal_next: AtomicU32,
    journal_dropped: AtomicU32,
    pub(crate) dump_write_cnt: AtomicU32,
    pub(crate) read_cnt: AtomicU32,
    turned_away: AtomicU32,
    turned_away_logged: AtomicU32,
    ended: AtomicBool,
    pub(crate) state: ClaimCell<State>,
    pub(crate) zone_status: ClaimCell<[ZoneStatus; MAX_ZONES]>,
}

impl core::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Recorder")
            .field("claim", &self.claim.load(Ordering::Relaxed))
            .finish()
    }
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

impl Recorder {
    /// A detached recorder with empty lists.
    pub const fn new() -> Self {
        Recorder {
            pre_crash_dump: PhaseList::new(ListId::PreCrashDump),
            hypervisor: PhaseList::new(ListId::Hypervisor),
            info: PhaseList::new(ListId::Info),
            pre_reboot: PhaseList::new(ListId::PreReboot),
            post_reboot: PhaseList::new(ListId::PostReboot),
            attach_state: AtomicU8::new(DETACHED),
            claim: AtomicU32::new(NO_CPU),
            cursor: AtomicU32::new(0),
            running: AtomicU32::new(NONE),
            journal_state: AtomicU8::new(J_NONE),
            journal_lock: AtomicU32::new(NO_CPU),
            journal_next: AtomicU32::new(0),
            journal_dropped: AtomicU32::new(0),
            dump_write_cnt: AtomicU32::new(0),
            read_cnt: AtomicU32::new(0),
            turned_away: AtomicU32::new(0),
            turned_away_logged: AtomicU32::new(0),
            ended: AtomicBool::new(false),
            state: ClaimCell::new(State {
                region: None,
                mirror: None,
                setup: None,
                layout: Layout {
                    dmesg: EMPTY_RUN,
                    console: EMPTY_RUN,
                    ftrace: EMPTY_RUN,
                    pmsg: EMPTY_RUN,
                    record_size: 0,
                },
                dmesg_geom: None,
                codec: None,
                plan: None,
                journal: None,
                message: [0; MESSAGE_LEN],
                message_len: 0,
            }),
            zone_status: ClaimCell::new([ZoneStatus::UNUSED; MAX_ZONES]),
        }
    }

    /// The list for `id`.
    pub fn list(&self, id: ListId) -> &PhaseList {
        match id {
            ListId::PreCrashDump => &self.pre_crash_dump,
            ListId::Hypervisor => &self.hypervisor,
            ListId::Info => &self.info,
            ListId::PreReboot => &self.pre_reboot,
            ListId::PostReboot => &self.post_reboot,
        }
    }

    pub(crate) fn st(&self) -> State {
        *self.st_ref()
    }

    /// The state without copying it (the journal path runs per entry).
    pub(crate) fn st_ref(&self) -> &State {
        // SAFETY: written only while ATTACHING, by the journal's lock holder
        // (the armed header) or by the claiming CPU between steps; readers
        // are those same writers, or run after READY was published.
        unsafe { &*self.state.as_ptr() }
    }

    fn set_st(&self, s: State) {
        // SAFETY: callers hold the attach transition, the journal lock or
        // the panic claim.
        unsafe { self.state.set(s) }
    }

    pub(crate) fn attached(&self) -> bool {
        self.attach_state.load(Ordering::Acquire) == READY
    }

    /// Bytes of the region (for hosts and tests that inspect it).
    #[doc(hidden)]
    pub fn region(&self) -> Option<RawRegion> {
        self.st().region
    }
}
