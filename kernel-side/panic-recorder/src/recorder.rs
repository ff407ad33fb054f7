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

use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU8, Ordering};

use crashview_journal::{
    step_arg, Entry, EntryKind, Header, JournalWriter, Outcome, Performer, StepKind,
};
use crashview_ramoops::layout::{Layout, Params, ZoneRun};
use crashview_ramoops::rs::Codec;
use crashview_ramoops::zone::ZoneGeometry;

use crate::backend::{ZoneStatus, MAX_ZONES};
use crate::list::{ListId, PhaseList, Visit};
use crate::plan::{self, Facts, Plan, Who};
use crate::platform::{ChainEntry, Platform};
use crate::raw::{self, ClaimCell, RawRegion};
use crate::text::{Lines, LINE_LEN};
use crashview_ramoops::fmt::ByteWriter;

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

    /// Takes over `region`: its first `setup.ramoops.mem_size` bytes become
    /// ramoops zones, checked and ECC-corrected as ramoops does at probe
    /// (kept where they hold a valid zone, formatted where they do not; see
    /// [`zone_report`](Self::zone_report)), the next `journal_len` bytes the
    /// journal, armed at the first event of this boot. Call once, before
    /// any panic.
    pub fn attach(&self, region: RawRegion, setup: Setup) -> Result<Layout, AttachError> {
        self.attach_mirrored(region, setup, None)
    }

    /// [`attach`](Self::attach), the journal also copied, entry by entry,
    /// into `mirror` (at least `journal_len` bytes).
    pub fn attach_mirrored(
        &self,
        region: RawRegion,
        setup: Setup,
        mirror: Option<RawRegion>,
    ) -> Result<Layout, AttachError> {
        if mirror.is_some_and(|m| m.len() < setup.journal_len) {
            return Err(AttachError::JournalTooSmall);
        }
        if self
            .attach_state
            .compare_exchange(DETACHED, ATTACHING, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return Err(AttachError::Busy);
        }
        let r = self.attach_inner(region, setup, mirror);
        self.attach_state
            .store(if r.is_ok() { READY } else { DETACHED }, Ordering::Release);
        r
    }

    fn attach_inner(
        &self,
        region: RawRegion,
        setup: Setup,
        mirror: Option<RawRegion>,
    ) -> Result<Layout, AttachError> {
        let layout = if setup.ramoops.mem_size == 0 {
            Layout {
                dmesg: EMPTY_RUN,
                console: EMPTY_RUN,
                ftrace: EMPTY_RUN,
                pmsg: EMPTY_RUN,
                record_size: 0,
            }
        } else {
            Layout::compute(&setup.ramoops).map_err(AttachError::Layout)?
        };
        let mem =
            usize::try_from(setup.ramoops.mem_size).map_err(|_| AttachError::RegionTooSmall)?;
        if mem
            .checked_add(setup.journal_len)
            .is_none_or(|end| end > region.len())
        {
            return Err(AttachError::RegionTooSmall);
        }
        if crashview_journal::capacity_for(setup.journal_len) == 0 {
            return Err(AttachError::JournalTooSmall);
        }
        let nroots = setup.ramoops.ecc_size();
        let codec = if nroots > 0 {
            Some(
                Codec::new(nroots)
                    .map_err(|e| AttachError::Layout(crashview_ramoops::Error::Ecc(e)))?,
            )
        } else {
            None
        };
        let dmesg_geom = if layout.dmesg.count > 0 {
            Some(
                ZoneGeometry::new(layout.dmesg.zone_size as usize, nroots)
                    .map_err(AttachError::Layout)?,
            )
        } else {
            None
        };
        crate::backend::init_zones(self, &region, &layout, codec.as_ref(), setup.version_code)?;
        self.set_st(State {
            region: Some(region),
            mirror,
            setup: Some(setup),
            layout,
            dmesg_geom,
            codec,
            plan: None,
            journal: None,
            message: [0; MESSAGE_LEN],
            message_len: 0,
        });
        Ok(layout)
    }

    /// Updates the plan choices from the kernel's settings (the module reads
    /// `crash_kexec_post_notifiers` and `panic_timeout` again whenever the
    /// plan is shown). Ignored while a panic is in progress.
    pub fn set_plan_config(&self, config: plan::Config, kmsg_dumper: Option<bool>) -> bool {
        if self
            .attach_state
            .compare_exchange(READY, ATTACHING, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return false;
        }
        let ok = self.claim.load(Ordering::Acquire) == NO_CPU;
        if ok {
            let mut st = self.st();
            if let Some(s) = st.setup.as_mut() {
                s.plan = config;
                if kmsg_dumper.is_some() {
                    s.kmsg_dumper = kmsg_dumper;
                }
            }
            self.set_st(st);
        }
        self.attach_state.store(READY, Ordering::Release);
        ok
    }

    /// The plan the recorder would run now, given the platform's facts.
    pub fn current_plan(&self, crash_kernel_loaded: bool) -> Option<Plan> {
        build_plan(self.st_ref(), crash_kernel_loaded).ok()
    }

    /// Whether the plan for these facts can be built (`Err` names the rule
    /// an invalid combination breaks, for a clear message at boot).
    pub fn check_plan(&self, crash_kernel_loaded: bool) -> Result<(), plan::PlanError> {
        build_plan(self.st_ref(), crash_kernel_loaded).map(|_| ())
    }

    /// Enters the panic path on this CPU. `crash_kernel_loaded` is the fact
    /// the plan is built with; `msg` is the panic message.
    pub fn panic<P: Platform + ?Sized>(
        &self,
        p: &P,
        crash_kernel_loaded: bool,
        msg: &[u8],
    ) -> Claim {
        if !self.attached() {
            return Claim::NotAttached;
        }
        let cpu = u32::from(p.cpu_id());
        match self
            .claim
            .compare_exchange(NO_CPU, cpu, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => {
                self.begin(p, crash_kernel_loaded, msg);
                self.run_steps(p, None);
                Claim::Ran
            }
            Err(owner) if owner == cpu => {
                let step = self.running.load(Ordering::Acquire);
                let s = if step == NONE { 0 } else { step as u8 };
                self.log(
                    p,
                    Entry::new(EntryKind::NestedPanic, s, cpu as u16, p.now_ns()).with_name(msg),
                );
                if step != NONE {
                    self.end_step(p, step, Outcome::NestedPanic);
                }
                self.run_steps(p, None);
                Claim::Nested
            }
            Err(_) => {
                self.turned_away.fetch_add(1, Ordering::AcqRel);
                Claim::OtherCpu
            }
        }
    }

    /// Another CPU entered `panic()` while this one owns the panic path and
    /// was stopped by the kernel's own claim (`panic_cpu`) before it could
    /// reach the recorder: counted, journaled by the owner at its next step.
    pub fn note_other_cpu(&self) {
        self.turned_away.fetch_add(1, Ordering::AcqRel);
    }

    /// A hook in the kernel's panic path: the kernel is done with `step` (and
    /// everything planned before it). Ends the kernel step the recorder was
    /// waiting on (a crash dump that comes back ends as "returned"), then
    /// runs on until the next step the kernel does. Only the panicking CPU
    /// counts; steps already past are never repeated.
    pub fn resume_after<P: Platform + ?Sized>(&self, p: &P, step: StepKind) -> Claim {
        if !self.attached() {
            return Claim::NotAttached;
        }
        let owner = self.claim.load(Ordering::Acquire);
        if owner == NO_CPU {
            return Claim::NotPanicking;
        }
        if owner != u32::from(p.cpu_id()) {
            return Claim::OtherCpu;
        }
        let Some(plan) = self.st_ref().plan else {
            return Claim::Ran;
        };
        let Some(upto) = plan.position(step) else {
            return Claim::Ran;
        };
        let r = self.running.load(Ordering::Acquire);
        if r != NONE && r as usize <= upto && plan.who(r as usize).is_kernel() {
            let outcome = if plan.steps().get(r as usize) == Some(&StepKind::CrashDump) {
                Outcome::Returned
            } else {
                Outcome::Delegated
            };
            self.end_step(p, r, outcome);
        }
        self.run_steps(p, Some(upto));
        Claim::Ran
    }

    fn begin<P: Platform + ?Sized>(&self, p: &P, crash_kernel_loaded: bool, msg: &[u8]) {
        let mut st = self.st();
        let n = msg.len().min(MESSAGE_LEN);
        st.message_len = n;
        if let (Some(d), Some(m)) = (st.message.get_mut(..n), msg.get(..n)) {
            d.copy_from_slice(m);
        }
        // A valid configuration always builds; fall back to the defaults
        // rather than run no plan at all.
        let plan = build_plan(&st, crash_kernel_loaded)
            .or_else(|_| Plan::build(&plan::Config::default(), &facts(&st, crash_kernel_loaded)))
            .ok();
        st.plan = plan;
        self.set_st(st);
        let now = p.now_ns();
        let cpu = p.cpu_id();
        self.log(
            p,
            Entry::new(EntryKind::PanicStart, 0, cpu, now).with_name(msg),
        );
        if let Some(plan) = plan {
            for (i, s) in plan.steps().iter().enumerate() {
                self.log(
                    p,
                    Entry::new(EntryKind::PlanStep, i as u8, cpu, now)
                        .with_arg(step_arg(*s, performer(plan.who(i))))
                        .with_name(s.name().as_bytes()),
                );
            }
        }
    }

    // The region is raw reserved memory, not owned by `State`; the journal
    // lock (or the panic claim) is what makes this the only live reference.
    #[allow(clippy::mut_from_ref)]
    fn journal_zone<'a>(&self, st: &'a State) -> Option<&'a mut [u8]> {
        let region = st.region.as_ref()?;
        let setup = st.setup?;
        // SAFETY: called with the journal lock held.
        unsafe { region.slice_mut(setup.ramoops.mem_size as usize, setup.journal_len) }
    }

    /// Arms the journal with a new generation (first event of this boot).
    /// The previous boot's journal is overwritten here, not at attach: the
    /// module copies it out for reading before.
    fn arm<P: Platform + ?Sized>(&self, p: &P) -> bool {
        let mut st = self.st();
        let Some(zone) = self.journal_zone(&st) else {
            return false;
        };
        let prev = Header::parse(zone).map(|h| h.generation).unwrap_or(0);
        let (secs, _) = p.wall_time();
        let generation = prev.wrapping_add(1) ^ ((secs as u32) << 8);
        let Ok(w) = JournalWriter::arm_at(zone, generation, p.now_ns()) else {
            return false;
        };
        let header = w.header();
        // The mirror starts as the armed zone: its header, and no entry of
        // this generation.
        mirror_copy(&st, 0, zone.len());
        p.write_barrier();
        st.journal = Some(header);
        self.set_st(st);
        self.journal_next.store(0, Ordering::Release);
        true
    }

    /// Appends to the journal. Writers are serialised by a lock that is only
    /// ever tried, never waited for: a non-panicking CPU that finds it taken
    /// drops its entry (counted), and the panicking CPU takes it over (its
    /// holder has been stopped). Entries from before a panic may use a
    /// quarter of the journal; once full, entries are dropped.
    pub(crate) fn log<P: Platform + ?Sized>(&self, p: &P, e: Entry) {
        let cpu = u32::from(p.cpu_id());
        let owner = self.claim.load(Ordering::Acquire);
        if owner == cpu {
            self.journal_lock.store(cpu, Ordering::Release);
        } else if owner != NO_CPU
            || self
                .journal_lock
                .compare_exchange(NO_CPU, cpu, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
        {
            self.journal_dropped.fetch_add(1, Ordering::AcqRel);
            return;
        }
        self.log_locked(p, e, owner == cpu);
        // Only release what is still ours.
        let _ =
            self.journal_lock
                .compare_exchange(cpu, NO_CPU, Ordering::AcqRel, Ordering::Acquire);
    }

    fn log_locked<P: Platform + ?Sized>(&self, p: &P, e: Entry, panicking: bool) {
        let state = self.journal_state.load(Ordering::Acquire);
        if state != J_ARMED {
            // An arming cut short (its CPU stopped) is redone by the panic.
            if state == J_ARMING && !panicking {
                return;
            }
            self.journal_state.store(J_ARMING, Ordering::Release);
            if !self.arm(p) {
                self.journal_state.store(J_NONE, Ordering::Release);
                return;
            }
            self.journal_state.store(J_ARMED, Ordering::Release);
        }
        let st = self.st_ref();
        let (Some(header), Some(zone)) = (st.journal, self.journal_zone(st)) else {
            return;
        };
        let next = self.journal_next.load(Ordering::Acquire);
        if !panicking && next >= header.capacity / PRE_PANIC_SHARE {
            self.journal_dropped.fetch_add(1, Ordering::AcqRel);
            return;
        }
        if let Ok(mut w) = JournalWriter::open_at(zone, header, next) {
            if w.append_with(&e, || p.write_barrier()).is_ok() {
                mirror_copy(
                    st,
                    crashview_journal::HEADER_AREA_LEN
                        + next as usize * crashview_journal::SLOT_LEN,
                    crashview_journal::SLOT_LEN,
                );
                p.write_barrier();
                self.journal_next.store(next + 1, Ordering::Release);
            }
        }
    }

    /// Entries dropped because the journal was busy or full.
    pub fn journal_dropped(&self) -> u32 {
        self.journal_dropped.load(Ordering::Acquire)
    }

    fn run_steps<P: Platform + ?Sized>(&self, p: &P, upto: Option<usize>) {
        let Some(plan) = self.st_ref().plan else {
            return;
        };
        let steps = plan.steps();
        // Each pass consumes one step, so this runs at most `steps.len()`
        // times across all nested entries and hooks together.
        for _ in 0..steps.len() {
            // A kernel step still running: only a hook ends it.
            if self.running.load(Ordering::Acquire) != NONE {
                return;
            }
            let i = self.cursor.fetch_add(1, Ordering::AcqRel);
            let Some(&kind) = steps.get(i as usize) else {
                break;
            };
            let who = plan.who(i as usize);
            self.note_turned_away(p, i);
            self.running.store(i, Ordering::Release);
            self.log(
                p,
                Entry::new(EntryKind::StepBegin, i as u8, p.cpu_id(), p.now_ns())
                    .with_arg(step_arg(kind, performer(who)))
                    .with_name(kind.name().as_bytes()),
            );
            match who {
                Who::Recorder => {
                    let outcome = self.run_step(p, kind, i as u8, &plan);
                    self.end_step(p, i, outcome);
                }
                // Before the recorder got control, a crash dump that was
                // planned there came back: no capture kernel started.
                Who::KernelBefore if kind == StepKind::CrashDump => {
                    self.end_step(p, i, Outcome::Returned)
                }
                Who::KernelBefore | Who::KernelAfter => self.end_step(p, i, Outcome::Delegated),
                Who::KernelNext => {
                    if upto.is_some_and(|u| i as usize <= u) {
                        // A hook further on says the kernel is past it.
                        self.end_step(p, i, Outcome::Delegated);
                    } else {
                        // The kernel does it once we return; a hook ends it.
                        return;
                    }
                }
            }
        }
        let all_taken = self.cursor.load(Ordering::Acquire) as usize >= steps.len();
        if all_taken
            && self.running.load(Ordering::Acquire) == NONE
            && !self.ended.swap(true, Ordering::AcqRel)
        {
            self.log(
                p,
                Entry::new(EntryKind::PanicEnd, 0, p.cpu_id(), p.now_ns()),
            );
        }
    }

    fn end_step<P: Platform + ?Sized>(&self, p: &P, i: u32, outcome: Outcome) {
        // Only the first end of a step counts (a nested panic ends it early).
        if self
            .running
            .compare_exchange(i, NONE, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            self.log(
                p,
                Entry::new(EntryKind::StepEnd, i as u8, p.cpu_id(), p.now_ns())
                    .with_arg(outcome as u64),
            );
        }
    }

    fn note_turned_away<P: Platform + ?Sized>(&self, p: &P, step: u32) {
        let n = self.turned_away.load(Ordering::Acquire);
        let logged = self.turned_away_logged.swap(n, Ordering::AcqRel);
        if n > logged {
            self.log(
                p,
                Entry::new(EntryKind::OtherCpu, step as u8, p.cpu_id(), p.now_ns())
                    .with_arg(u64::from(n - logged)),
            );
        }
    }

    fn run_step<P: Platform + ?Sized>(
        &self,
        p: &P,
        kind: StepKind,
        step: u8,
        plan: &Plan,
    ) -> Outcome {
        match kind {
            StepKind::StopCpus => done_if(p.stop_other_cpus()),
            StepKind::PreCrashDump => self.run_list(p, ListId::PreCrashDump, step),
            StepKind::Hypervisor => self.run_list(p, ListId::Hypervisor, step),
            StepKind::Info => {
                self.print_info(p, plan);
                match self.run_list(p, ListId::Info, step) {
                    Outcome::Skipped => Outcome::Done,
                    o => o,
                }
            }
            StepKind::NotifierChain => self.run_chain(p, step),
            StepKind::KmsgDump => done_if(p.kmsg_dump()),
            StepKind::CrashDump => {
                p.crash_kexec();
                Outcome::Returned
            }
            StepKind::ConsoleFlush => done_if(p.console_flush()),
            StepKind::PreReboot => self.run_list(p, ListId::PreReboot, step),
            StepKind::Delay => {
                let secs = u64::try_from(plan.config.panic_timeout)
                    .unwrap_or(0)
                    .min(MAX_DELAY_S);
                done_if(p.delay_ms(secs * 1000))
            }
            StepKind::PostReboot => self.run_list(p, ListId::PostReboot, step),
            StepKind::Reboot => {
                if p.reboot() {
                    Outcome::Returned
                } else {
                    Outcome::Delegated
                }
            }
        }
    }

    fn run_list<P: Platform + ?Sized>(&self, p: &P, id: ListId, step: u8) -> Outcome {
        let list = self.list(id);
        let cpu = p.cpu_id();
        if !list.table_ok() {
            self.log(
                p,
                Entry::new(EntryKind::CorruptEntry, step, cpu, p.now_ns())
                    .with_arg(u64::MAX)
                    .with_name(b"list table"),
            );
            return Outcome::CorruptedEntry;
        }
        let is_code = |a: usize| p.is_code(a);
        let mut called = 0;
        let mut corrupt = 0;
        for i in 0..crate::list::LIST_SLOTS {
            match list.visit(i, &is_code) {
                None => {}
                Some(Visit::Corrupt { slot }) => {
                    corrupt += 1;
                    self.log(
                        p,
                        Entry::new(EntryKind::CorruptEntry, step, cpu, p.now_ns())
                            .with_arg(slot as u64),
                    );
                }
                Some(Visit::Call {
                    slot,
                    func,
                    ctx,
                    name,
                }) => {
                    called += 1;
                    self.log(
                        p,
                        Entry::new(EntryKind::CallBegin, step, cpu, p.now_ns())
                            .with_arg(slot as u64)
                            .with_name(name),
                    );
                    // SAFETY: the slot's check value proves it holds what
                    // `register` stored, a `Callback`; `is_code` vouched for
                    // the address.
                    unsafe { raw::call(func, ctx) };
                    self.log(
                        p,
                        Entry::new(EntryKind::CallEnd, step, cpu, p.now_ns())
                            .with_arg(slot as u64)
                            .with_name(name),
                    );
                }
            }
        }
        match (called, corrupt) {
            (_, c) if c > 0 => Outcome::CorruptedEntry,
            (0, _) => Outcome::Skipped,
            _ => Outcome::Done,
        }
    }

    /// Walks the legacy notifier chain entry by entry (at most
    /// [`MAX_CHAIN`] entries): each callable entry journaled before and
    /// after its call with its symbol, each corrupt one journaled and
    /// skipped, never called.
    fn run_chain<P: Platform + ?Sized>(&self, p: &P, step: u8) -> Outcome {
        let cpu = p.cpu_id();
        let (mut called, mut corrupt) = (0u32, 0u32);
        let mut cursor = 0usize;
        for i in 0..MAX_CHAIN {
            let Some((entry, next)) = p.notifier_next(cursor) else {
                break;
            };
            match entry {
                ChainEntry::Call { block, name } => {
                    called += 1;
                    let e = Entry::new(EntryKind::CallBegin, step, cpu, p.now_ns())
                        .with_arg(i as u64)
                        .with_name(&name);
                    self.log(p, e);
                    p.notifier_call(block);
                    self.log(
                        p,
                        Entry::new(EntryKind::CallEnd, step, cpu, p.now_ns())
                            .with_arg(i as u64)
                            .with_name(&name),
                    );
                }
                ChainEntry::Corrupt { why, resumable } => {
                    corrupt += 1;
                    self.log(
                        p,
                        Entry::new(EntryKind::CorruptEntry, step, cpu, p.now_ns())
                            .with_arg(i as u64)
                            .with_name(&why),
                    );
                    if !resumable {
                        break;
                    }
                }
            }
            if i + 1 == MAX_CHAIN {
                self.log(
                    p,
                    Entry::new(EntryKind::Note, step, cpu, p.now_ns())
                        .with_name(b"chain longer than 64: rest skipped"),
                );
            }
            cursor = next;
        }
        match (called, corrupt) {
            (_, c) if c > 0 => Outcome::CorruptedEntry,
            (0, _) => Outcome::Skipped,
            _ => Outcome::Done,
        }
    }

    /// The built-in info lines: what an engineer wants at the top of any
    /// dump. They go to the kernel log, so the kmsg dump that follows holds them.
    fn print_info<P: Platform + ?Sized>(&self, p: &P, plan: &Plan) {
        use core::fmt::Write;
        let (offset, taint) = p.kernel_facts();
        let now = p.now_ns();
        let mut buf = [0u8; LINE_LEN];
        let mut line = ByteWriter::new(&mut buf);
        let _ = write!(
            line,
            "CPU {} uptime {}.{:06}s taint {:#x}",
            p.cpu_id(),
            now / 1_000_000_000,
            now % 1_000_000_000 / 1000,
            taint
        );
        if let Some(off) = offset {
            let _ = write!(line, " kernel offset {off:#x}");
        }
        p.print(line.as_bytes());
        line.clear();
        line.put(b"panic: ");
        let st = self.st_ref();
        for &b in st.message.get(..st.message_len).unwrap_or(&[]) {
            // Printable ASCII only: the message may be anything.
            line.put(&[if (0x20..0x7f).contains(&b) { b } else { b'?' }]);
        }
        p.print(line.as_bytes());
        let mut text = Lines::new(&mut buf, |l: &[u8]| p.print(l));
        let _ = plan.write_text(&mut text);
    }

    /// Bytes of the region (for hosts and tests that inspect it).
    #[doc(hidden)]
    pub fn region(&self) -> Option<RawRegion> {
        self.st().region
    }
}

fn build_plan(st: &State, crash_kernel_loaded: bool) -> Result<Plan, plan::PlanError> {
    let Some(setup) = st.setup else {
        return Err(plan::PlanError::Order("not attached"));
    };
    let f = facts(st, crash_kernel_loaded);
    if setup.stock_panic {
        Plan::stock_6_1(&setup.plan, &f)
    } else {
        Plan::build(&setup.plan, &f)
    }
}

/// What the plan is built from: the caller's crash-kernel fact, and the
/// kernel's kmsg dumper as the caller said, else our own (present when the
/// region has dmesg zones).
fn facts(st: &State, crash_kernel_loaded: bool) -> Facts {
    Facts {
        crash_kernel_loaded,
        kmsg_dumper_registered: st
            .setup
            .and_then(|s| s.kmsg_dumper)
            .unwrap_or(st.layout.dmesg.count > 0),
    }
}

fn performer(who: Who) -> Performer {
    if who.is_kernel() {
        Performer::Kernel
    } else {
        Performer::Recorder
    }
}

/// Copies `len` journal bytes at `at` from the journal zone to the mirror.
fn mirror_copy(st: &State, at: usize, len: usize) {
    let (Some(region), Some(mirror), Some(setup)) =
        (st.region.as_ref(), st.mirror.as_ref(), st.setup)
    else {
        return;
    };
    let base = setup.ramoops.mem_size as usize;
    // SAFETY: called with the journal lock held: the only writer of both.
    let (src, dst) = unsafe {
        (
            region.slice_mut(base.saturating_add(at), len),
            mirror.slice_mut(at, len),
        )
    };
    if let (Some(s), Some(d)) = (src, dst) {
        d.copy_from_slice(s);
    }
}

/// `true`: done here; `false`: the platform leaves it to the kernel's panic().
fn done_if(b: bool) -> Outcome {
    if b {
        Outcome::Done
    } else {
        Outcome::Delegated
    }
}
