//! The executor: one CPU claims the panic path, builds the plan, journals it,
//! then runs each step between a journaled begin and end. A nested panic on
//! the claiming CPU resumes after the step that panicked; other CPUs are
//! turned away. No step ever runs twice.

use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU8, Ordering};

use crashview_journal::{Entry, EntryKind, Header, JournalWriter, Outcome, StepKind};
use crashview_ramoops::layout::{Layout, Params, ZoneKind};
use crashview_ramoops::rs::Codec;
use crashview_ramoops::writer::ZoneWriter;
use crashview_ramoops::zone::{old_log_ranges, Signature, ZoneGeometry, ZoneHeader};

use crate::list::{ListId, PhaseList, Visit};
use crate::plan::{self, Facts, Plan};
use crate::platform::Platform;
use crate::raw::{self, ClaimCell, RawRegion};

const NO_CPU: u32 = u32::MAX;
const NONE: u32 = u32::MAX;
const DETACHED: u8 = 0;
const ATTACHING: u8 = 1;
const READY: u8 = 2;
/// Smallest useful compression scratch: the hash table plus one record.
pub const SCRATCH_MIN: usize = TABLE_BYTES + 4096;
const TABLE_BYTES: usize = crashview_ramoops::deflate::HASH_SLOTS * 4;
/// Longest `panic_timeout` delay honoured (one hour).
const MAX_DELAY_S: u64 = 3600;

/// How the recorder is laid out in its region and what it should do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setup {
    /// Plan choices.
    pub plan: plan::Config,
    /// ramoops parameters for the region's first `ramoops.mem_size` bytes.
    pub ramoops: Params,
    /// Bytes of the journal zone, placed right after the ramoops zones.
    pub journal_len: usize,
    /// `LINUX_VERSION_CODE`, for ftrace zone signatures.
    pub version_code: u32,
    /// Deflate dumps as pstore does by default (needs scratch memory).
    pub compress: bool,
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
}

/// What `panic` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This CPU ran the panic path.
    Ran,
    /// This CPU was already panicking: resumed after the interrupted step.
    Nested,
    /// Another CPU owns the panic path; this one must stop.
    OtherCpu,
    /// Not attached: nothing recorded.
    NotAttached,
}

#[derive(Clone, Copy)]
struct State {
    region: Option<RawRegion>,
    scratch: Option<RawRegion>,
    setup: Option<Setup>,
    layout: Layout,
    dmesg_geom: Option<ZoneGeometry>,
    codec: Option<Codec>,
    plan: Option<Plan>,
    journal: Option<Header>,
    /// The panic message, for the info list (truncated).
    message: [u8; MESSAGE_LEN],
    message_len: usize,
}

/// Bytes of the panic message kept for the info list.
const MESSAGE_LEN: usize = 120;

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
    attach_state: AtomicU8,
    claim: AtomicU32,
    cursor: AtomicU32,
    running: AtomicU32,
    journal_next: AtomicU32,
    dump_next: AtomicU32,
    dump_count: AtomicU32,
    turned_away: AtomicU32,
    turned_away_logged: AtomicU32,
    ended: AtomicBool,
    state: ClaimCell<State>,
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
            journal_next: AtomicU32::new(0),
            dump_next: AtomicU32::new(0),
            dump_count: AtomicU32::new(0),
            turned_away: AtomicU32::new(0),
            turned_away_logged: AtomicU32::new(0),
            ended: AtomicBool::new(false),
            state: ClaimCell::new(State {
                region: None,
                scratch: None,
                setup: None,
                layout: Layout {
                    dmesg: crashview_ramoops::layout::ZoneRun {
                        offset: 0,
                        zone_size: 0,
                        count: 0,
                    },
                    console: crashview_ramoops::layout::ZoneRun {
                        offset: 0,
                        zone_size: 0,
                        count: 0,
                    },
                    ftrace: crashview_ramoops::layout::ZoneRun {
                        offset: 0,
                        zone_size: 0,
                        count: 0,
                    },
                    pmsg: crashview_ramoops::layout::ZoneRun {
                        offset: 0,
                        zone_size: 0,
                        count: 0,
                    },
                    record_size: 0,
                },
                dmesg_geom: None,
                codec: None,
                plan: None,
                journal: None,
                message: [0; MESSAGE_LEN],
                message_len: 0,
            }),
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

    fn st(&self) -> State {
        *self.st_ref()
    }

    /// The state without copying it (the journal path runs per entry).
    fn st_ref(&self) -> &State {
        // SAFETY: written only while ATTACHING or by the claiming CPU between
        // steps; readers are that same CPU, or run after READY was published.
        unsafe { &*self.state.as_ptr() }
    }

    fn set_st(&self, s: State) {
        // SAFETY: callers hold the attach transition or the panic claim.
        unsafe { self.state.set(s) }
    }

    /// Takes over `region`: its first `setup.ramoops.mem_size` bytes become
    /// ramoops zones (formatted where they hold no valid zone, kept where
    /// they do, as ramoops does at probe), the next `journal_len` bytes the
    /// journal. `scratch` (at least [`SCRATCH_MIN`] bytes, 4-aligned) is
    /// working memory for compression; without it dumps are stored
    /// uncompressed. Call once, before any panic.
    pub fn attach(
        &self,
        region: RawRegion,
        setup: Setup,
        scratch: Option<RawRegion>,
    ) -> Result<Layout, AttachError> {
        if self
            .attach_state
            .compare_exchange(DETACHED, ATTACHING, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return Err(AttachError::Busy);
        }
        let r = self.attach_inner(region, setup, scratch);
        self.attach_state
            .store(if r.is_ok() { READY } else { DETACHED }, Ordering::Release);
        r
    }

    fn attach_inner(
        &self,
        region: RawRegion,
        setup: Setup,
        scratch: Option<RawRegion>,
    ) -> Result<Layout, AttachError> {
        let layout = Layout::compute(&setup.ramoops).map_err(AttachError::Layout)?;
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
        let mut dmesg_geom = None;
        for (kind, _, off, size) in layout.zones() {
            let geom = ZoneGeometry::new(size as usize, nroots).map_err(AttachError::Layout)?;
            if kind == ZoneKind::Dmesg && dmesg_geom.is_none() {
                dmesg_geom = Some(geom);
            }
            // SAFETY: attaching: nobody else uses the region yet.
            let Some(zone) = (unsafe { region.slice_mut(off as usize, size as usize) }) else {
                return Err(AttachError::RegionTooSmall);
            };
            let want = if kind == ZoneKind::Ftrace {
                setup.version_code
            } else {
                0
            };
            let h = ZoneHeader::parse(zone).unwrap_or_default();
            let sig_ok = match h.signature() {
                Signature::Plain => want == 0,
                Signature::Versioned { version_code } => version_code == want,
                Signature::Invalid => false,
            };
            if !sig_ok || old_log_ranges(&h, geom.data_size).is_none() {
                if let Ok(mut w) = ZoneWriter::new(zone, geom, codec.as_ref()) {
                    w.format(want);
                }
            }
        }
        let scratch = scratch.filter(|s| setup.compress && s.len() >= SCRATCH_MIN);
        self.set_st(State {
            region: Some(region),
            scratch,
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

    /// The plan the recorder would run now, given the platform's facts.
    pub fn current_plan(&self, crash_kernel_loaded: bool) -> Option<Plan> {
        let st = self.st_ref();
        Plan::build(&st.setup?.plan, &facts(st, crash_kernel_loaded)).ok()
    }

    /// Enters the panic path on this CPU. `crash_kernel_loaded` is the fact
    /// the plan is built with; `msg` is the panic message.
    pub fn panic<P: Platform + ?Sized>(
        &self,
        p: &P,
        crash_kernel_loaded: bool,
        msg: &[u8],
    ) -> Claim {
        if self.attach_state.load(Ordering::Acquire) != READY {
            return Claim::NotAttached;
        }
        let cpu = u32::from(p.cpu_id());
        match self
            .claim
            .compare_exchange(NO_CPU, cpu, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => {
                self.begin(p, crash_kernel_loaded, msg);
                self.run_steps(p);
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
                self.run_steps(p);
                Claim::Nested
            }
            Err(_) => {
                self.turned_away.fetch_add(1, Ordering::AcqRel);
                Claim::OtherCpu
            }
        }
    }

    fn begin<P: Platform + ?Sized>(&self, p: &P, crash_kernel_loaded: bool, msg: &[u8]) {
        let mut st = self.st();
        let Some(setup) = st.setup else { return };
        let n = msg.len().min(MESSAGE_LEN);
        st.message_len = n;
        if let (Some(d), Some(m)) = (st.message.get_mut(..n), msg.get(..n)) {
            d.copy_from_slice(m);
        }
        let facts = facts(&st, crash_kernel_loaded);
        // A valid configuration always builds; fall back to the defaults
        // rather than run no plan at all.
        let plan = Plan::build(&setup.plan, &facts)
            .or_else(|_| Plan::build(&plan::Config::default(), &facts))
            .ok();
        st.plan = plan;
        let now = p.now_ns();
        if let Some(zone) = self.journal_zone(&st) {
            // A new generation each panic: the previous journal's entries
            // then read as "older", never as this panic's.
            let prev = Header::parse(zone).map(|h| h.generation).unwrap_or(0);
            let (secs, _) = p.wall_time();
            let generation = prev.wrapping_add(1) ^ ((secs as u32) << 8);
            if let Ok(w) = JournalWriter::arm_at(zone, generation, now) {
                st.journal = Some(w.header());
            }
        }
        self.set_st(st);
        self.journal_next.store(0, Ordering::Release);
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
                        .with_arg(*s as u64)
                        .with_name(s.name().as_bytes()),
                );
            }
        }
    }

    // The region is raw reserved memory, not owned by `State`; the claim is
    // what makes this the only live reference.
    #[allow(clippy::mut_from_ref)]
    fn journal_zone<'a>(&self, st: &'a State) -> Option<&'a mut [u8]> {
        let region = st.region.as_ref()?;
        let setup = st.setup?;
        // SAFETY: called by the claiming CPU only.
        unsafe { region.slice_mut(setup.ramoops.mem_size as usize, setup.journal_len) }
    }

    /// Appends to the journal; silently drops entries once it is full.
    fn log<P: Platform + ?Sized>(&self, _p: &P, e: Entry) {
        let st = self.st();
        let (Some(header), Some(zone)) = (st.journal, self.journal_zone(&st)) else {
            return;
        };
        let next = self.journal_next.load(Ordering::Acquire);
        if let Ok(mut w) = JournalWriter::open_at(zone, header, next) {
            if w.append(&e).is_ok() {
                self.journal_next.store(next + 1, Ordering::Release);
            }
        }
    }

    fn run_steps<P: Platform + ?Sized>(&self, p: &P) {
        let Some(plan) = self.st().plan else { return };
        let steps = plan.steps();
        // Each pass consumes one step, so this runs at most `steps.len()`
        // times across all nested entries together.
        for _ in 0..steps.len() {
            let i = self.cursor.fetch_add(1, Ordering::AcqRel);
            let Some(&kind) = steps.get(i as usize) else {
                break;
            };
            self.note_turned_away(p, i);
            self.running.store(i, Ordering::Release);
            self.log(
                p,
                Entry::new(EntryKind::StepBegin, i as u8, p.cpu_id(), p.now_ns())
                    .with_arg(kind as u64)
                    .with_name(kind.name().as_bytes()),
            );
            let outcome = self.run_step(p, kind, i as u8, &plan);
            self.end_step(p, i, outcome);
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
            StepKind::KmsgDump => self.kmsg_dump(p, step),
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

    /// The built-in info lines: what an engineer wants at the top of any
    /// dump. They go to the kernel log, so the kmsg dump that follows holds them.
    fn print_info<P: Platform + ?Sized>(&self, p: &P, plan: &Plan) {
        let (offset, taint) = p.kernel_facts();
        let now = p.now_ns();
        let mut line = LineBuf::new();
        let _ = core::fmt::write(
            &mut line,
            format_args!(
                "CPU {} uptime {}.{:06}s taint {:#x}",
                p.cpu_id(),
                now / 1_000_000_000,
                now % 1_000_000_000 / 1000,
                taint
            ),
        );
        if let Some(off) = offset {
            let _ = core::fmt::write(&mut line, format_args!(" kernel offset {off:#x}"));
        }
        p.print(line.as_bytes());
        let st = self.st_ref();
        let mut line = LineBuf::new();
        let _ = core::fmt::write(&mut line, format_args!("panic: "));
        for &b in st.message.get(..st.message_len).unwrap_or(&[]) {
            // Printable ASCII only: the message may be anything.
            let c = if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '?'
            };
            let _ = core::fmt::write(&mut line, format_args!("{c}"));
        }
        p.print(line.as_bytes());
        let mut text = PlanLines {
            p,
            line: LineBuf::new(),
        };
        let _ = plan.write_text(&mut text);
    }

    fn kmsg_dump<P: Platform + ?Sized>(&self, p: &P, step: u8) -> Outcome {
        let st = self.st();
        let (Some(region), Some(geom)) = (st.region, st.dmesg_geom) else {
            return Outcome::Skipped;
        };
        let count = st.layout.dmesg.count;
        if count == 0 {
            return Outcome::Skipped;
        }
        let idx = self.dump_next.load(Ordering::Acquire) % count;
        let off = st.layout.dmesg.zone_offset(idx) as usize;
        // SAFETY: the claiming CPU is the only writer of the region now.
        let Some(zone) = (unsafe { region.slice_mut(off, geom.zone_size) }) else {
            return Outcome::Skipped;
        };
        let n = self.dump_count.fetch_add(1, Ordering::AcqRel) + 1;
        let scratch_mem = st.scratch;
        let scratch = scratch_mem.as_ref().and_then(|s| {
            // SAFETY: the claiming CPU is the only user of the scratch
            // memory; the table and the input do not overlap.
            let (table, input) = unsafe {
                (
                    s.words_mut(0, crashview_ramoops::deflate::HASH_SLOTS)?,
                    s.slice_mut(TABLE_BYTES, s.len() - TABLE_BYTES)?,
                )
            };
            Some(crate::dump::Scratch { table, input })
        });
        match crate::dump::write_dump(p, zone, geom, st.codec.as_ref(), "Panic", n, scratch) {
            Some((len, compressed)) => {
                self.dump_next.store((idx + 1) % count, Ordering::Release);
                let mut name = [0u8; 32];
                let nl = fmt_into(
                    &mut name,
                    format_args!(
                        "Panic#{n} {len} bytes{}",
                        if compressed { " deflated" } else { "" }
                    ),
                );
                self.log(
                    p,
                    Entry::new(EntryKind::DumpWritten, step, p.cpu_id(), p.now_ns())
                        .with_arg(u64::from(idx))
                        .with_name(name.get(..nl).unwrap_or(&[])),
                );
                Outcome::Done
            }
            None => Outcome::Skipped,
        }
    }

    /// Bytes of the region (for hosts and tests that inspect it).
    #[doc(hidden)]
    pub fn region(&self) -> Option<RawRegion> {
        self.st().region
    }
}

/// What the plan is built from: the caller's crash-kernel fact, and our own
/// kmsg dumper (present when the region has dmesg zones).
fn facts(st: &State, crash_kernel_loaded: bool) -> Facts {
    Facts {
        crash_kernel_loaded,
        kmsg_dumper_registered: st.layout.dmesg.count > 0,
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

fn fmt_into(buf: &mut [u8], args: core::fmt::Arguments<'_>) -> usize {
    let mut l = LineBuf::new();
    let _ = core::fmt::write(&mut l, args);
    let n = l.len.min(buf.len());
    if let (Some(d), Some(s)) = (buf.get_mut(..n), l.buf.get(..n)) {
        d.copy_from_slice(s);
    }
    n
}

/// A 160-byte line for formatting without allocation.
struct LineBuf {
    buf: [u8; 160],
    len: usize,
}

impl LineBuf {
    fn new() -> Self {
        LineBuf {
            buf: [0; 160],
            len: 0,
        }
    }
    fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }
}

impl core::fmt::Write for LineBuf {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for &b in s.as_bytes() {
            if let Some(slot) = self.buf.get_mut(self.len) {
                *slot = b;
                self.len += 1;
            }
        }
        Ok(())
    }
}

/// Prints the plan text line by line through the platform.
struct PlanLines<'a, P: Platform + ?Sized> {
    p: &'a P,
    line: LineBuf,
}

impl<P: Platform + ?Sized> core::fmt::Write for PlanLines<'_, P> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for &b in s.as_bytes() {
            if b == b'\n' {
                self.p.print(self.line.as_bytes());
                self.line.len = 0;
            } else if let Some(slot) = self.line.buf.get_mut(self.line.len) {
                *slot = b;
                self.line.len += 1;
            }
        }
        Ok(())
    }
}
