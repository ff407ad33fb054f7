//! The panic journal: a write-ahead record, kept in persistent RAM, of the
//! panic plan and of every step the panic path begins and ends, so the next
//! boot can tell which steps ran, in what order, and where it stopped.
//!
//! One definition for both sides: the kernel-side recorder writes it
//! ([`JournalWriter`], no allocation, no locks, bounded work per entry) and the
//! host reader parses it ([`read`]). Layout of the journal zone:
//!
//! ```text
//! | header: 64 bytes | entry 0: 64 bytes | entry 1 | … | entry capacity-1 |
//! ```
//!
//! Crash consistency: an entry is written body first and its CRC last, so a
//! write cut at any byte leaves either the old bytes (blank, or an entry of
//! an earlier generation: the end of this journal) or an entry whose CRC does
//! not match (the *torn* entry, reported as such). The header's `generation`
//! changes every time the journal is armed, so entries left by an earlier
//! boot never pass for new ones.
//!
//! ```
//! use crashview_journal::{JournalWriter, Entry, EntryKind, read, HEADER_LEN, ENTRY_LEN};
//! let mut zone = [0u8; HEADER_LEN + 4 * ENTRY_LEN];
//! let mut w = JournalWriter::arm(&mut zone, 7).unwrap();
//! w.append(&Entry::new(EntryKind::PanicStart, 0, 0, 1_000).with_name(b"sysrq")).unwrap();
//! let j = read(&zone).unwrap();
//! assert_eq!(j.entries().count(), 1);
//! ```
#![no_std]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)
)]

mod crc;
pub use crc::crc32;

/// "CVJOURN1": journal zone magic.
pub const MAGIC: [u8; 8] = *b"CVJOURN1";
/// Format version in the header.
pub const VERSION: u32 = 1;
/// Bytes of the header.
pub const HEADER_LEN: usize = 64;
/// Bytes per entry.
pub const ENTRY_LEN: usize = 64;
/// Bytes of an entry's name field.
pub const NAME_LEN: usize = 32;
/// Most entries a journal may declare; bounds every reader loop.
pub const MAX_ENTRIES: u32 = 1 << 16;

/// Errors of the journal format. Offsets are from the zone start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Zone too small for the header or one entry.
    TooSmall {
        /// Bytes available.
        len: usize,
    },
    /// No journal magic at the start of the zone.
    BadMagic,
    /// The header's checksum does not match: the header is damaged.
    BadHeaderCrc {
        /// CRC stored.
        stored: u32,
        /// CRC computed.
        computed: u32,
    },
    /// A header field is impossible.
    BadHeader(&'static str),
    /// Every entry slot is used.
    Full {
        /// The capacity.
        capacity: u32,
    },
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Error::TooSmall { len } => write!(f, "journal zone of {len} bytes is too small"),
            Error::BadMagic => write!(f, "no journal magic \"CVJOURN1\" at offset 0x0"),
            Error::BadHeaderCrc { stored, computed } => {
                write!(f, "journal header checksum mismatch at offset 0x0 (stored {stored:#010x}, computed {computed:#010x})")
            }
            Error::BadHeader(why) => write!(f, "invalid journal header: {why}"),
            Error::Full { capacity } => write!(f, "journal full ({capacity} entries)"),
        }
    }
}

impl core::error::Error for Error {}

/// Result with this crate's [`Error`].
pub type Result<T> = core::result::Result<T, Error>;

/// What an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum EntryKind {
    /// The panic path started; `arg` = reason code, name = first bytes of the message.
    PanicStart = 1,
    /// One step of the plan, in plan order; `step` = index, `arg` = [`StepKind`] code.
    PlanStep = 2,
    /// A step begins.
    StepBegin = 3,
    /// A step ended; `arg` = [`Outcome`] code.
    StepEnd = 4,
    /// A list entry (notifier) is about to be called; `arg` = slot, name = its name.
    CallBegin = 5,
    /// A list entry returned; `arg` = slot.
    CallEnd = 6,
    /// A list entry failed its check and was skipped, never called; `arg` = slot.
    CorruptEntry = 7,
    /// A panic arrived while the panic path was already running on this CPU.
    NestedPanic = 8,
    /// Another CPU entered the panic path and was turned away; `arg` = its CPU.
    OtherCpu = 9,
    /// Free-form note; name = text.
    Note = 10,
    /// A kmsg dump record was written; `arg` = zone index, name = "<Reason>#<n>".
    DumpWritten = 11,
    /// The panic path finished all steps.
    PanicEnd = 12,
}

impl EntryKind {
    /// Decodes the kind byte.
    pub fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            1 => EntryKind::PanicStart,
            2 => EntryKind::PlanStep,
            3 => EntryKind::StepBegin,
            4 => EntryKind::StepEnd,
            5 => EntryKind::CallBegin,
            6 => EntryKind::CallEnd,
            7 => EntryKind::CorruptEntry,
            8 => EntryKind::NestedPanic,
            9 => EntryKind::OtherCpu,
            10 => EntryKind::Note,
            11 => EntryKind::DumpWritten,
            12 => EntryKind::PanicEnd,
            _ => return None,
        })
    }
}

/// The steps a panic plan can hold (kernel/panic.c's stages, as split by the
/// 2022 "panic: Refactor the panic path" proposal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum StepKind {
    /// Stop the other CPUs (`crash_smp_send_stop`).
    StopCpus = 1,
    /// The small fixed set that must run before a crash dump (Hyper-V disconnect…).
    PreCrashDump = 2,
    /// Hypervisor / firmware notifier list.
    Hypervisor = 3,
    /// Informational notifier list (kernel offset, taint, plan…).
    Info = 4,
    /// kmsg dumpers (pstore/ramoops).
    KmsgDump = 5,
    /// Jump to the crash kernel (`__crash_kexec`); does not return when it works.
    CrashDump = 6,
    /// Unblank and flush consoles.
    ConsoleFlush = 7,
    /// Pre-reboot notifier list (LEDs, IPMI, the rest).
    PreReboot = 8,
    /// Wait `panic_timeout` seconds.
    Delay = 9,
    /// Post-reboot list: last architecture hooks.
    PostReboot = 10,
    /// Restart (or halt when `panic_timeout` is 0).
    Reboot = 11,
}

impl StepKind {
    /// Decodes the step code.
    pub fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            1 => StepKind::StopCpus,
            2 => StepKind::PreCrashDump,
            3 => StepKind::Hypervisor,
            4 => StepKind::Info,
            5 => StepKind::KmsgDump,
            6 => StepKind::CrashDump,
            7 => StepKind::ConsoleFlush,
            8 => StepKind::PreReboot,
            9 => StepKind::Delay,
            10 => StepKind::PostReboot,
            11 => StepKind::Reboot,
            _ => return None,
        })
    }

    /// Short name, as printed in plans and timelines.
    pub fn name(self) -> &'static str {
        match self {
            StepKind::StopCpus => "stop other CPUs",
            StepKind::PreCrashDump => "pre-crash-dump set",
            StepKind::Hypervisor => "hypervisor list",
            StepKind::Info => "info list",
            StepKind::KmsgDump => "kmsg dump",
            StepKind::CrashDump => "crash dump",
            StepKind::ConsoleFlush => "console flush",
            StepKind::PreReboot => "pre-reboot list",
            StepKind::Delay => "delay",
            StepKind::PostReboot => "post-reboot list",
            StepKind::Reboot => "reboot",
        }
    }
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Outcome {
    /// Ran to completion.
    Done = 1,
    /// Not run (nothing to do, or not possible here).
    Skipped = 2,
    /// Ran, but skipped one or more corrupted list entries.
    CorruptedEntry = 3,
    /// Was cut short by a nested panic.
    NestedPanic = 4,
    /// Returned although it should not have (e.g. crash dump with no crash kernel).
    Returned = 5,
    /// Not done here: the kernel's own `panic()` does it (the recorder runs
    /// from a notifier in a stock kernel).
    Delegated = 6,
}

impl Outcome {
    /// Decodes the outcome code.
    pub fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            1 => Outcome::Done,
            2 => Outcome::Skipped,
            3 => Outcome::CorruptedEntry,
            4 => Outcome::NestedPanic,
            5 => Outcome::Returned,
            6 => Outcome::Delegated,
            _ => return None,
        })
    }

    /// Short name.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::Skipped => "skipped",
            Outcome::CorruptedEntry => "corrupted entry skipped",
            Outcome::NestedPanic => "nested panic",
            Outcome::Returned => "returned",
            Outcome::Delegated => "left to the kernel's panic()",
        }
    }
}

/// One journal entry.
///
/// ```text
/// 0  crc u32 (over bytes 4..64)   4  generation u32   8  seq u32
/// 12 kind u8   13 step u8   14 cpu u16   16 time_ns u64   24 arg u64
/// 32 name [u8; 32] (NUL padded)
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// Entry kind.
    pub kind: EntryKind,
    /// Step index in the plan (0 when not about a step).
    pub step: u8,
    /// CPU that wrote it.
    pub cpu: u16,
    /// Monotonic time in nanoseconds (`local_clock()`).
    pub time_ns: u64,
    /// Kind-specific argument.
    pub arg: u64,
    /// Kind-specific short text.
    pub name: [u8; NAME_LEN],
    /// Sequence number (index in the journal); set by the writer.
    pub seq: u32,
}

impl Entry {
    /// An entry with no argument and no name.
    pub fn new(kind: EntryKind, step: u8, cpu: u16, time_ns: u64) -> Self {
        Entry {
            kind,
            step,
            cpu,
            time_ns,
            arg: 0,
            name: [0; NAME_LEN],
            seq: 0,
        }
    }

    /// Sets the argument.
    pub fn with_arg(mut self, arg: u64) -> Self {
        self.arg = arg;
        self
    }

    /// Sets the name (truncated to 32 bytes).
    pub fn with_name(mut self, name: &[u8]) -> Self {
        let n = name.len().min(NAME_LEN);
        self.name = [0; NAME_LEN];
        if let (Some(dst), Some(src)) = (self.name.get_mut(..n), name.get(..n)) {
            dst.copy_from_slice(src);
        }
        self
    }

    /// The name up to its first NUL.
    pub fn name_bytes(&self) -> &[u8] {
        let end = self.name.iter().position(|&b| b == 0).unwrap_or(NAME_LEN);
        self.name.get(..end).unwrap_or(&[])
    }

    /// The step kind, for plan entries.
    pub fn step_kind(&self) -> Option<StepKind> {
        u8::try_from(self.arg).ok().and_then(StepKind::from_u8)
    }

    /// The outcome, for step-end entries.
    pub fn outcome(&self) -> Option<Outcome> {
        u8::try_from(self.arg).ok().and_then(Outcome::from_u8)
    }

    fn encode(&self, generation: u32) -> [u8; ENTRY_LEN] {
        let mut b = [0u8; ENTRY_LEN];
        put(&mut b, 4, &generation.to_le_bytes());
        put(&mut b, 8, &self.seq.to_le_bytes());
        put(&mut b, 12, &[self.kind as u8, self.step]);
        put(&mut b, 14, &self.cpu.to_le_bytes());
        put(&mut b, 16, &self.time_ns.to_le_bytes());
        put(&mut b, 24, &self.arg.to_le_bytes());
        put(&mut b, 32, &self.name);
        let crc = crc32(b.get(4..).unwrap_or(&[]));
        put(&mut b, 0, &crc.to_le_bytes());
        b
    }
}

fn put(dst: &mut [u8], at: usize, src: &[u8]) {
    if let Some(d) = dst.get_mut(at..at + src.len()) {
        d.copy_from_slice(src);
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    if let Some(s) = b.get(at..at + 4) {
        w.copy_from_slice(s);
    }
    u32::from_le_bytes(w)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    if let Some(s) = b.get(at..at + 8) {
        w.copy_from_slice(s);
    }
    u64::from_le_bytes(w)
}

/// The journal header.
///
/// ```text
/// 0 magic [u8; 8]   8 version u32   12 generation u32   16 entry_len u32
/// 20 capacity u32   24 boot_time_ns u64   32 reserved [u8; 28]   60 crc u32 (over 0..60)
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Changes each time the journal is armed.
    pub generation: u32,
    /// Number of entry slots.
    pub capacity: u32,
    /// Clock value when armed.
    pub armed_ns: u64,
}

impl Header {
    fn encode(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        put(&mut b, 0, &MAGIC);
        put(&mut b, 8, &VERSION.to_le_bytes());
        put(&mut b, 12, &self.generation.to_le_bytes());
        put(&mut b, 16, &(ENTRY_LEN as u32).to_le_bytes());
        put(&mut b, 20, &self.capacity.to_le_bytes());
        put(&mut b, 24, &self.armed_ns.to_le_bytes());
        let crc = crc32(b.get(..60).unwrap_or(&[]));
        put(&mut b, 60, &crc.to_le_bytes());
        b
    }

    /// Parses and checks a header at the start of `zone`.
    pub fn parse(zone: &[u8]) -> Result<Header> {
        let h = zone
            .get(..HEADER_LEN)
            .ok_or(Error::TooSmall { len: zone.len() })?;
        if h.get(..8) != Some(&MAGIC[..]) {
            return Err(Error::BadMagic);
        }
        let stored = u32_at(h, 60);
        let computed = crc32(h.get(..60).unwrap_or(&[]));
        if stored != computed {
            return Err(Error::BadHeaderCrc { stored, computed });
        }
        if u32_at(h, 8) != VERSION {
            return Err(Error::BadHeader("unknown version"));
        }
        if u32_at(h, 16) != ENTRY_LEN as u32 {
            return Err(Error::BadHeader("unexpected entry size"));
        }
        let capacity = u32_at(h, 20);
        if capacity == 0 || capacity > MAX_ENTRIES {
            return Err(Error::BadHeader("capacity out of range"));
        }
        Ok(Header {
            generation: u32_at(h, 12),
            capacity,
            armed_ns: u64_at(h, 24),
        })
    }
}

/// Finds a journal zone inside a larger image (a whole reserved region, where
/// the panic recorder puts the journal after the ramoops zones): the last
/// 2-aligned offset holding a valid header. Bounded by the image length.
pub fn locate(bytes: &[u8]) -> Option<usize> {
    let mut found = None;
    let mut off = 0usize;
    while off + HEADER_LEN <= bytes.len() {
        if let Some(z) = bytes.get(off..) {
            if z.starts_with(&MAGIC) && Header::parse(z).is_ok() {
                found = Some(off);
            }
        }
        off += 2;
    }
    found
}

/// Entry slots that fit a zone of `len` bytes.
pub fn capacity_for(len: usize) -> u32 {
    (len.saturating_sub(HEADER_LEN) / ENTRY_LEN).min(MAX_ENTRIES as usize) as u32
}

/// Appends entries to a journal zone. Holds the zone exclusively; the
/// recorder's single-CPU claim is what makes that true at panic time.
#[derive(Debug)]
pub struct JournalWriter<'a> {
    zone: &'a mut [u8],
    header: Header,
    next: u32,
}

impl<'a> JournalWriter<'a> {
    /// Arms a journal in `zone` with a new `generation`: writes the header;
    /// old entries stay but no longer count.
    pub fn arm(zone: &'a mut [u8], generation: u32) -> Result<Self> {
        Self::arm_at(zone, generation, 0)
    }

    /// [`arm`](Self::arm), recording the clock value `armed_ns`.
    pub fn arm_at(zone: &'a mut [u8], generation: u32, armed_ns: u64) -> Result<Self> {
        let capacity = capacity_for(zone.len());
        if capacity == 0 {
            return Err(Error::TooSmall { len: zone.len() });
        }
        let header = Header {
            generation,
            capacity,
            armed_ns,
        };
        put(zone, 0, &header.encode());
        Ok(JournalWriter {
            zone,
            header,
            next: 0,
        })
    }

    /// Continues a journal armed with `header` whose next free slot is
    /// `next`, without re-reading it: the recorder keeps both in memory so a
    /// nested panic can append without holding a writer across steps.
    pub fn open_at(zone: &'a mut [u8], header: Header, next: u32) -> Result<Self> {
        if capacity_for(zone.len()) < header.capacity {
            return Err(Error::TooSmall { len: zone.len() });
        }
        Ok(JournalWriter { zone, header, next })
    }

    /// Re-opens an armed journal (same generation) and continues after its
    /// last complete entry, e.g. after a nested panic re-entered the recorder.
    pub fn resume(zone: &'a mut [u8]) -> Result<Self> {
        let header = Header::parse(zone)?;
        let next = {
            let j = read(zone)?;
            j.entries().count() as u32
        };
        Ok(JournalWriter { zone, header, next })
    }

    /// The header written at arming.
    pub fn header(&self) -> Header {
        self.header
    }

    /// Entries written so far.
    pub fn len(&self) -> u32 {
        self.next
    }

    /// No entries yet.
    pub fn is_empty(&self) -> bool {
        self.next == 0
    }

    /// Appends `e` (its `seq` is set here): body first, CRC last. x86 and
    /// arm64 keep stores to normal memory in program order for a later reader
    /// on the same CPU or after a warm reset; the compiler fence keeps the
    /// compiler from moving the CRC store before the body.
    pub fn append(&mut self, e: &Entry) -> Result<u32> {
        if self.next >= self.header.capacity {
            return Err(Error::Full {
                capacity: self.header.capacity,
            });
        }
        let seq = self.next;
        let bytes = Entry { seq, ..*e }.encode(self.header.generation);
        let at = HEADER_LEN + seq as usize * ENTRY_LEN;
        let slot = self.zone.get_mut(at..at + ENTRY_LEN).ok_or(Error::Full {
            capacity: self.header.capacity,
        })?;
        let (crc, body) = slot.split_at_mut(4);
        body.copy_from_slice(bytes.get(4..).unwrap_or(&[0; ENTRY_LEN - 4]));
        core::sync::atomic::compiler_fence(core::sync::atomic::Ordering::SeqCst);
        for (dst, &src) in crc.iter_mut().zip(bytes.iter()) {
            volatile_store(dst, src);
        }
        core::sync::atomic::compiler_fence(core::sync::atomic::Ordering::SeqCst);
        self.next += 1;
        Ok(seq)
    }
}

fn volatile_store(dst: &mut u8, v: u8) {
    // SAFETY: `dst` is a valid, exclusive reference; a volatile write keeps
    // the compiler from merging or reordering the stores of one entry.
    unsafe { core::ptr::write_volatile(dst, v) }
}

/// A summary of a journal: where the panic path stopped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// The `PanicStart` entry.
    pub start: Option<Entry>,
    /// Steps in the journaled plan.
    pub plan_len: u8,
    /// The step begun and never ended (the path stopped in it), if any.
    pub open_step: Option<Entry>,
    /// The list entry called and never returned, if any.
    pub open_call: Option<Entry>,
    /// Every step ran (`PanicEnd` written).
    pub finished: bool,
    /// Nested panics recorded.
    pub nested: u32,
    /// Corrupted list entries skipped.
    pub corrupt: u32,
    /// CPUs turned away.
    pub other_cpus: u32,
}

/// How the journal ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tail {
    /// The next slot is blank or from an earlier generation: a clean end.
    Clean,
    /// Every slot is used.
    Full,
    /// The next slot holds a partly written entry (CRC mismatch): the write
    /// was cut, here, at `offset`.
    Torn {
        /// Index of the torn slot.
        index: u32,
        /// Zone offset of the torn slot.
        offset: usize,
    },
}

/// A parsed journal: the header and the complete entries of its generation.
#[derive(Debug, Clone, Copy)]
pub struct Journal<'a> {
    /// The header.
    pub header: Header,
    zone: &'a [u8],
    count: u32,
    /// How it ends.
    pub tail: Tail,
}

/// Reads the journal in `zone`: the complete entries of the current
/// generation, in order, and how the sequence ends.
pub fn read(zone: &[u8]) -> Result<Journal<'_>> {
    let header = Header::parse(zone)?;
    let slots = header.capacity.min(capacity_for(zone.len()));
    let mut count = 0u32;
    let mut tail = if slots == header.capacity {
        Tail::Full
    } else {
        Tail::Clean
    };
    while count < slots {
        let at = HEADER_LEN + count as usize * ENTRY_LEN;
        let Some(slot) = zone.get(at..at + ENTRY_LEN) else {
            break;
        };
        let crc_ok = u32_at(slot, 0) == crc32(slot.get(4..).unwrap_or(&[]));
        let gen_ok = u32_at(slot, 4) == header.generation;
        let seq_ok = u32_at(slot, 8) == count;
        let kind_ok = slot.get(12).copied().and_then(EntryKind::from_u8).is_some();
        if crc_ok && gen_ok && seq_ok && kind_ok {
            count += 1;
            continue;
        }
        let blank = slot.iter().all(|&b| b == 0);
        tail = if blank || (crc_ok && !gen_ok) {
            Tail::Clean
        } else {
            Tail::Torn {
                index: count,
                offset: at,
            }
        };
        break;
    }
    Ok(Journal {
        header,
        zone,
        count,
        tail,
    })
}

impl<'a> Journal<'a> {
    /// The complete entries, in write order.
    pub fn entries(&self) -> impl Iterator<Item = Entry> + 'a {
        let zone = self.zone;
        (0..self.count).filter_map(move |i| {
            let at = HEADER_LEN + i as usize * ENTRY_LEN;
            let s = zone.get(at..at + ENTRY_LEN)?;
            let mut name = [0u8; NAME_LEN];
            name.copy_from_slice(s.get(32..64)?);
            Some(Entry {
                kind: EntryKind::from_u8(*s.get(12)?)?,
                step: *s.get(13)?,
                cpu: u16::from_le_bytes([*s.get(14)?, *s.get(15)?]),
                time_ns: u64_at(s, 16),
                arg: u64_at(s, 24),
                name,
                seq: i,
            })
        })
    }

    /// Number of complete entries.
    pub fn len(&self) -> u32 {
        self.count
    }

    /// Where the panic path got to: the step (and list entry) begun but
    /// never ended, whether it finished, how often it was re-entered.
    pub fn progress(&self) -> Progress {
        let mut p = Progress::default();
        for e in self.entries() {
            match e.kind {
                EntryKind::PanicStart => p.start = Some(e),
                EntryKind::PlanStep => p.plan_len = p.plan_len.saturating_add(1),
                EntryKind::StepBegin => {
                    p.open_step = Some(e);
                    p.open_call = None;
                }
                EntryKind::StepEnd => {
                    if p.open_step.is_some_and(|s| s.step == e.step) {
                        p.open_step = None;
                        p.open_call = None;
                    }
                }
                EntryKind::CallBegin => p.open_call = Some(e),
                EntryKind::CallEnd => p.open_call = None,
                EntryKind::NestedPanic => p.nested += 1,
                EntryKind::CorruptEntry => p.corrupt += 1,
                EntryKind::PanicEnd => p.finished = true,
                EntryKind::OtherCpu => {
                    p.other_cpus = p
                        .other_cpus
                        .saturating_add(e.arg.min(u64::from(u32::MAX)) as u32)
                }
                EntryKind::Note | EntryKind::DumpWritten => {}
            }
        }
        p
    }

    /// No complete entries.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

#[cfg(test)]
mod tests;
