//! The panic journal: a write-ahead record, kept in persistent RAM, of the
//! panic plan and of every step the panic path begins and ends, so the next
//! boot can tell which steps ran, in what order, and where it stopped.
//!
//! One definition for both sides: the kernel-side recorder writes it
//! ([`JournalWriter`], no allocation, no locks, bounded work per entry) and the
//! host reader parses it ([`read`]). Layout of a version 2 journal zone (the
//! writer's format):
//!
//! ```text
//! | header: 64 | RS parity: 16 | slot 0: entry 64 + RS parity 16 | slot 1 | … | slot capacity-1 |
//! ```
//!
//! Version 1 (still read, never written) has no parity: a 64-byte header and
//! 64-byte entries.
//!
//! **Crash consistency.** An entry is written body first (bytes 4..64), then
//! its Reed–Solomon parity, then its CRC (bytes 0..4), with a barrier between
//! the phases. A write cut at any byte leaves the slot's old bytes (blank, or
//! an entry of an earlier generation: the end of this journal) or a slot that
//! does not check: the *torn* entry. The header's `generation` changes every
//! time the journal is armed, so entries left by an earlier boot never pass
//! for new ones.
//!
//! **Surviving corruption.** Persistent RAM loses bits across a reset. Every
//! slot and the header carry 16 bytes of Reed–Solomon parity (the codec the
//! ramoops zones use, [`crashview_ramoops::rs`]), which corrects up to 8
//! damaged bytes per 80-byte slot. A slot that cannot be repaired is
//! *corrupt*, not torn: a torn entry can only be the last one written, so the
//! reader finds the last valid entry `L` first, reports unreadable slots
//! before it as corrupt (skipped, every later entry still read), and judges
//! only slot `L + 1` as the possible torn write. See [`read`] for the rules.
//!
//! ```
//! use crashview_journal::{JournalWriter, Entry, EntryKind, read, zone_len};
//! let mut zone = [0u8; zone_len(4)];
//! let mut w = JournalWriter::arm(&mut zone, 7).unwrap();
//! w.append(&Entry::new(EntryKind::PanicStart, 0, 0, 1_000).with_name(b"sysrq")).unwrap();
//! zone[100] ^= 0x40; // a flipped bit in persistent RAM
//! let j = read(&zone).unwrap();
//! assert_eq!(j.entries().count(), 1);
//! assert_eq!(j.corrected_bytes(), 1);
//! ```
#![no_std]
#![deny(missing_docs)]
// Every value read from a dump or region is untrusted: arithmetic on it is
// checked (or wraps/saturates where the format says so), never silent.
#![deny(clippy::arithmetic_side_effects)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)
)]

use crashview_ramoops::rs::{Codec, Decoded};

mod crc;
pub use crc::crc32;

/// "CVJOURN1": journal zone magic (both versions).
pub const MAGIC: [u8; 8] = *b"CVJOURN1";
/// Format version the writer writes.
pub const VERSION: u32 = 2;
/// The first format version: no parity (still read).
pub const VERSION_1: u32 = 1;
/// Bytes of the header (without its parity).
pub const HEADER_LEN: usize = 64;
/// Bytes per entry (without its parity).
pub const ENTRY_LEN: usize = 64;
/// Reed–Solomon parity bytes after the header and after each entry (version 2).
pub const PARITY_LEN: usize = 16;
/// Bytes of one version 2 entry slot: the entry and its parity.
pub const SLOT_LEN: usize = ENTRY_LEN + PARITY_LEN;
/// Bytes of the version 2 header area: the header and its parity; the first
/// slot starts here.
pub const HEADER_AREA_LEN: usize = HEADER_LEN + PARITY_LEN;
/// Bytes of an entry's name field.
pub const NAME_LEN: usize = 32;
/// Most entries a journal may declare; bounds every reader loop.
pub const MAX_ENTRIES: u32 = 1 << 16;

/// Bytes of a version 2 zone with `entries` slots.
///
/// Saturates for counts no memory holds: `usize::MAX` is a length no zone
/// has, so a writer or reader given it refuses the zone as too small.
pub const fn zone_len(entries: usize) -> usize {
    HEADER_AREA_LEN.saturating_add(entries.saturating_mul(SLOT_LEN))
}

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
    /// The header's checksum does not match and its parity could not repair
    /// it (nor could it be rebuilt from the entries): the header is damaged.
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
    /// One step of the plan, in plan order; `step` = index, `arg` = [`StepKind`]
    /// code (low 8 bits) and [`Performer`] (bits 8..16).
    PlanStep = 2,
    /// A step begins; `arg` as for [`PlanStep`](EntryKind::PlanStep).
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

    /// Entries about one step of the plan, whose `step` field is meaningful.
    fn is_step_scoped(self) -> bool {
        matches!(
            self,
            EntryKind::StepBegin
                | EntryKind::StepEnd
                | EntryKind::CallBegin
                | EntryKind::CallEnd
                | EntryKind::CorruptEntry
                | EntryKind::NestedPanic
                | EntryKind::DumpWritten
        )
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
    /// The legacy `panic_notifier_list`, walked as one step.
    NotifierChain = 12,
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
            12 => StepKind::NotifierChain,
            _ => return None,
        })
    }

    /// Why a panic path that stopped inside this step ended as it should:
    /// the crash dump and the restart do not return when they work.
    pub fn expected_end(self) -> Option<&'static str> {
        match self {
            StepKind::CrashDump => Some("the crash kernel took over"),
            StepKind::Reboot => Some("the machine restarted"),
            _ => None,
        }
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
            StepKind::NotifierChain => "panic notifier chain",
        }
    }
}

/// Who performs a step (bits 8..16 of a `PlanStep` or `StepBegin` entry's `arg`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum Performer {
    /// The recorder ran it (code 0, also what every version 1 entry says).
    #[default]
    Recorder = 0,
    /// The kernel's own `panic()` does it; the recorder only observes.
    Kernel = 1,
}

impl Performer {
    /// Decodes the performer code.
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(Performer::Recorder),
            1 => Some(Performer::Kernel),
            _ => None,
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

    /// Sets the argument of a `PlanStep` or `StepBegin` entry: the step kind
    /// in the low 8 bits and who performs it in bits 8..16.
    pub fn with_step(self, kind: StepKind, performer: Performer) -> Self {
        self.with_arg(step_arg(kind, performer))
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

    /// The step kind, for plan and step-begin entries (the low 8 bits of `arg`).
    pub fn step_kind(&self) -> Option<StepKind> {
        StepKind::from_u8((self.arg & 0xff) as u8)
    }

    /// Who performs the step, for plan and step-begin entries (bits 8..16 of
    /// `arg`); codes other than [`Performer::Kernel`]'s read as the recorder.
    pub fn performer(&self) -> Performer {
        Performer::from_u8(((self.arg >> 8) & 0xff) as u8).unwrap_or_default()
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

    /// Decodes an entry's 64 bytes (no checks beyond the kind byte).
    fn decode(s: &[u8]) -> Option<Entry> {
        let mut name = [0u8; NAME_LEN];
        name.copy_from_slice(s.get(32..64)?);
        Some(Entry {
            kind: EntryKind::from_u8(*s.get(12)?)?,
            step: *s.get(13)?,
            cpu: u16::from_le_bytes([*s.get(14)?, *s.get(15)?]),
            time_ns: u64_at(s, 16),
            arg: u64_at(s, 24),
            name,
            seq: u32_at(s, 8),
        })
    }
}

/// The `arg` of a `PlanStep` or `StepBegin` entry.
pub fn step_arg(kind: StepKind, performer: Performer) -> u64 {
    u64::from(kind as u8) | (u64::from(performer as u8) << 8)
}

/// `b[at..at + len]`, when all of it is there (no sum to overflow).
fn span(b: &[u8], at: usize, len: usize) -> Option<&[u8]> {
    b.get(at..)?.get(..len)
}

/// The mutable `b[at..at + len]`, when all of it is there.
fn span_mut(b: &mut [u8], at: usize, len: usize) -> Option<&mut [u8]> {
    b.get_mut(at..)?.get_mut(..len)
}

fn put(dst: &mut [u8], at: usize, src: &[u8]) {
    if let Some(d) = span_mut(dst, at, src.len()) {
        d.copy_from_slice(src);
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    b.get(at..)
        .and_then(|s| s.first_chunk::<4>())
        .map_or(0, |w| u32::from_le_bytes(*w))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    b.get(at..)
        .and_then(|s| s.first_chunk::<8>())
        .map_or(0, |w| u64::from_le_bytes(*w))
}

/// The Reed–Solomon codec of version 2 (16 parity bytes, ramoops' field).
fn codec() -> Result<Codec> {
    Codec::new(PARITY_LEN).map_err(|_| Error::BadHeader("parity codec"))
}

/// Where the slots of one format version sit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Layout {
    version: u32,
}

impl Layout {
    const V1: Layout = Layout { version: VERSION_1 };
    const V2: Layout = Layout { version: VERSION };

    fn base(self) -> usize {
        if self.version == VERSION_1 {
            HEADER_LEN
        } else {
            HEADER_AREA_LEN
        }
    }

    fn stride(self) -> usize {
        if self.version == VERSION_1 {
            ENTRY_LEN
        } else {
            SLOT_LEN
        }
    }

    /// Zone offset of slot `index`. Indices are below MAX_ENTRIES wherever
    /// they come from (a header's capacity is checked), so this never
    /// saturates; if it did, no zone reaches that offset and every read of
    /// it fails.
    fn offset(self, index: u32) -> usize {
        self.base()
            .saturating_add((index as usize).saturating_mul(self.stride()))
    }

    fn capacity_for(self, len: usize) -> u32 {
        // stride() is 64 or 80, never 0.
        let slots = len
            .saturating_sub(self.base())
            .checked_div(self.stride())
            .unwrap_or(0);
        slots.min(MAX_ENTRIES as usize) as u32
    }
}

/// The journal header.
///
/// ```text
/// 0 magic [u8; 8]   8 version u32   12 generation u32   16 entry_len u32
/// 20 capacity u32   24 armed_ns u64   32 parity_len u32 (version 2; 0 in version 1)
/// 36 reserved [u8; 24]   60 crc u32 (over 0..60)
/// 64 version 2: Reed–Solomon parity [u8; 16] over bytes 0..64
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

/// A header as read: which version, and what it took to read it.
#[derive(Debug, Clone, Copy)]
struct ParsedHeader {
    header: Header,
    layout: Layout,
    /// Bytes the parity corrected.
    corrected: u32,
}

/// Bytes by which the first 8 bytes of `z` differ from [`MAGIC`]: a magic
/// with a few damaged bytes is worth one parity decode.
fn magic_distance(z: &[u8]) -> usize {
    match z.get(..8) {
        Some(m) => m.iter().zip(MAGIC.iter()).filter(|(a, b)| a != b).count(),
        None => usize::MAX,
    }
}

/// Most bytes of the magic that may be damaged for the header parity to be
/// tried (half of it must be intact).
const MAGIC_SLACK: usize = 4;

impl Header {
    fn encode(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        put(&mut b, 0, &MAGIC);
        put(&mut b, 8, &VERSION.to_le_bytes());
        put(&mut b, 12, &self.generation.to_le_bytes());
        put(&mut b, 16, &(ENTRY_LEN as u32).to_le_bytes());
        put(&mut b, 20, &self.capacity.to_le_bytes());
        put(&mut b, 24, &self.armed_ns.to_le_bytes());
        put(&mut b, 32, &(PARITY_LEN as u32).to_le_bytes());
        let crc = crc32(b.get(..60).unwrap_or(&[]));
        put(&mut b, 60, &crc.to_le_bytes());
        b
    }

    /// Parses and checks a header (version 1 or 2) at the start of `zone`;
    /// a version 2 header is repaired with its parity when its CRC fails.
    /// (A header beyond repair may still be rebuilt from the entries: [`read`]
    /// does that.)
    pub fn parse(zone: &[u8]) -> Result<Header> {
        parse_header(zone).map(|p| p.header)
    }
}

/// Checks the fields of a header whose CRC matched.
fn check_fields(h: &[u8], corrected: u32) -> Result<ParsedHeader> {
    let layout = match u32_at(h, 8) {
        VERSION_1 => Layout::V1,
        VERSION => Layout::V2,
        _ => return Err(Error::BadHeader("unknown version")),
    };
    if u32_at(h, 16) != ENTRY_LEN as u32 {
        return Err(Error::BadHeader("unexpected entry size"));
    }
    if layout == Layout::V2 && u32_at(h, 32) != PARITY_LEN as u32 {
        return Err(Error::BadHeader("unexpected parity size"));
    }
    let capacity = u32_at(h, 20);
    if capacity == 0 || capacity > MAX_ENTRIES {
        return Err(Error::BadHeader("capacity out of range"));
    }
    Ok(ParsedHeader {
        header: Header {
            generation: u32_at(h, 12),
            capacity,
            armed_ns: u64_at(h, 24),
        },
        layout,
        corrected,
    })
}

fn parse_header(zone: &[u8]) -> Result<ParsedHeader> {
    let h = zone
        .get(..HEADER_LEN)
        .ok_or(Error::TooSmall { len: zone.len() })?;
    let stored = u32_at(h, 60);
    let computed = crc32(h.get(..60).unwrap_or(&[]));
    let exact_magic = h.get(..8) == Some(&MAGIC[..]);
    if exact_magic && stored == computed {
        return check_fields(h, 0);
    }
    // Version 2: repair a copy with the parity, then check it as written.
    if magic_distance(h) <= MAGIC_SLACK {
        if let (Some(par), Ok(rs)) = (zone.get(HEADER_LEN..HEADER_AREA_LEN), codec()) {
            let mut fixed = [0u8; HEADER_LEN];
            fixed.copy_from_slice(h);
            if let Ok(Decoded::Corrected(n)) = rs.decode(&mut fixed, par) {
                if fixed.get(..8) == Some(&MAGIC[..])
                    && u32_at(&fixed, 60) == crc32(fixed.get(..60).unwrap_or(&[]))
                    && u32_at(&fixed, 8) == VERSION
                {
                    return check_fields(&fixed, n as u32);
                }
            }
        }
    }
    if !exact_magic {
        return Err(Error::BadMagic);
    }
    Err(Error::BadHeaderCrc { stored, computed })
}

/// Rebuilds a version 2 header that neither its CRC nor its parity could
/// save, from the entries: capacity from the zone length, generation from
/// the entries that check (after correction) and sit in their own slot. The
/// generation the damaged header still names is preferred when entries bear
/// it; otherwise the one of the lowest such slot, because the current
/// generation is written from slot 0 and an earlier one only survives after
/// it. `None` when no entry checks.
fn recover_header(zone: &[u8]) -> Option<ParsedHeader> {
    let layout = Layout::V2;
    let rs = codec().ok()?;
    let capacity = layout.capacity_for(zone.len());
    let named = u32_at(zone, 12);
    let mut first: Option<u32> = None;
    let mut named_seen = false;
    for i in 0..capacity {
        let Some(e) = checked_entry(zone, layout, &rs, i) else {
            continue;
        };
        let generation = u32_at(&e, 4);
        if u32_at(&e, 8) != i || EntryKind::from_u8(e.get(12).copied().unwrap_or(0)).is_none() {
            continue;
        }
        first.get_or_insert(generation);
        if generation == named {
            named_seen = true;
            break;
        }
    }
    let generation = if named_seen { named } else { first? };
    Some(ParsedHeader {
        header: Header {
            generation,
            capacity,
            armed_ns: 0,
        },
        layout,
        corrected: 0,
    })
}

/// The 64 bytes of slot `i` when their CRC checks, repaired with the parity
/// if needed; of any generation.
fn checked_entry(zone: &[u8], layout: Layout, rs: &Codec, i: u32) -> Option<[u8; ENTRY_LEN]> {
    let at = layout.offset(i);
    let mut e = [0u8; ENTRY_LEN];
    e.copy_from_slice(span(zone, at, ENTRY_LEN)?);
    if crc_ok(&e) {
        return Some(e);
    }
    if e.iter().all(|&b| b == 0) {
        return None;
    }
    let par = span(zone, at, SLOT_LEN)?.get(ENTRY_LEN..)?;
    match rs.decode(&mut e, par) {
        Ok(Decoded::Corrected(_)) if crc_ok(&e) => Some(e),
        _ => None,
    }
}

fn crc_ok(e: &[u8]) -> bool {
    u32_at(e, 0) == crc32(e.get(4..ENTRY_LEN).unwrap_or(&[]))
}

/// The header of `zone`: as stored, repaired by its parity, or rebuilt from
/// the entries (version 2, magic intact). The flag says it was rebuilt.
fn header_of(zone: &[u8]) -> Result<(ParsedHeader, bool)> {
    match parse_header(zone) {
        Ok(p) => Ok((p, false)),
        Err(e @ Error::BadHeaderCrc { .. }) => recover_header(zone).map(|p| (p, true)).ok_or(e),
        Err(e) => Err(e),
    }
}

/// Finds a journal zone inside a larger image (a whole reserved region, where
/// the panic recorder puts the journal after the ramoops zones): the last
/// 2-aligned offset holding a readable header: valid, repaired by its parity
/// (up to half the magic may be damaged), or rebuilt from intact entries
/// behind an intact magic. Bounded by the image length; the parity and the
/// entries are only decoded where the magic (nearly) matches.
pub fn locate(bytes: &[u8]) -> Option<usize> {
    let mut found = None;
    // Offsets with a whole header before the end (half-open: StepBy over an
    // inclusive range is slower).
    for off in (0..bytes.len().saturating_sub(HEADER_LEN - 1)).step_by(2) {
        if let Some(z) = bytes.get(off..) {
            if magic_distance(z) <= MAGIC_SLACK && header_of(z).is_ok() {
                found = Some(off);
            }
        }
    }
    found
}

/// Entry slots that fit a (version 2) zone of `len` bytes.
pub fn capacity_for(len: usize) -> u32 {
    Layout::V2.capacity_for(len)
}

/// Appends entries to a journal zone (always version 2). Holds the zone
/// exclusively; the recorder's single-CPU claim is what makes that true at
/// panic time.
#[derive(Debug)]
pub struct JournalWriter<'a> {
    zone: &'a mut [u8],
    header: Header,
    next: u32,
    codec: Codec,
}

impl<'a> JournalWriter<'a> {
    /// Arms a journal in `zone` with a new `generation`: writes the header
    /// and its parity; old entries stay but no longer count.
    pub fn arm(zone: &'a mut [u8], generation: u32) -> Result<Self> {
        Self::arm_at(zone, generation, 0)
    }

    /// [`arm`](Self::arm), recording the clock value `armed_ns`.
    pub fn arm_at(zone: &'a mut [u8], generation: u32, armed_ns: u64) -> Result<Self> {
        let capacity = capacity_for(zone.len());
        if capacity == 0 {
            return Err(Error::TooSmall { len: zone.len() });
        }
        let codec = codec()?;
        let header = Header {
            generation,
            capacity,
            armed_ns,
        };
        let bytes = header.encode();
        let mut parity = [0u8; PARITY_LEN];
        codec
            .encode(&bytes, &mut parity)
            .map_err(|_| Error::BadHeader("parity codec"))?;
        put(zone, 0, &bytes);
        put(zone, HEADER_LEN, &parity);
        Ok(JournalWriter {
            zone,
            header,
            next: 0,
            codec,
        })
    }

    /// Continues a journal armed with `header` whose next free slot is
    /// `next`, without re-reading it: the recorder keeps both in memory so a
    /// nested panic can append without holding a writer across steps.
    pub fn open_at(zone: &'a mut [u8], header: Header, next: u32) -> Result<Self> {
        if capacity_for(zone.len()) < header.capacity {
            return Err(Error::TooSmall { len: zone.len() });
        }
        let codec = codec()?;
        Ok(JournalWriter {
            zone,
            header,
            next,
            codec,
        })
    }

    /// Re-opens an armed version 2 journal (same generation) and continues
    /// after its last complete entry, e.g. after a nested panic re-entered
    /// the recorder. A torn last entry is overwritten.
    pub fn resume(zone: &'a mut [u8]) -> Result<Self> {
        let (next, header) = {
            let j = read(zone)?;
            if j.version() != VERSION || j.header_recovered() {
                return Err(Error::BadHeader(
                    "only an intact version 2 journal can be resumed",
                ));
            }
            (j.end, j.header)
        };
        Self::open_at(zone, header, next)
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

    /// [`append_with`](Self::append_with) with a compiler fence as the
    /// barrier: enough where the zone is normal cached memory (x86 and arm64
    /// keep stores to it in program order for a later reader on the same CPU
    /// or after a warm reset), not where it is mapped write-combined.
    pub fn append(&mut self, e: &Entry) -> Result<u32> {
        self.append_with(e, || {
            core::sync::atomic::compiler_fence(core::sync::atomic::Ordering::SeqCst)
        })
    }

    /// Appends `e` (its `seq` is set here) in three phases: the body (bytes
    /// 4..64), the Reed–Solomon parity over all 64 bytes (CRC included),
    /// then the CRC, calling `barrier` after each. The kernel passes `wmb()`:
    /// on a write-combined mapping only a real barrier keeps the CRC from
    /// reaching memory before the body. Bounded work: one CRC and one parity
    /// computation over 64 bytes.
    pub fn append_with(&mut self, e: &Entry, mut barrier: impl FnMut()) -> Result<u32> {
        let full = Error::Full {
            capacity: self.header.capacity,
        };
        if self.next >= self.header.capacity {
            return Err(full);
        }
        let seq = self.next;
        // seq < capacity <= u32::MAX: checked before anything is written.
        let next = seq.checked_add(1).ok_or(full)?;
        let bytes = Entry { seq, ..*e }.encode(self.header.generation);
        let mut parity = [0u8; PARITY_LEN];
        self.codec
            .encode(&bytes, &mut parity)
            .map_err(|_| Error::BadHeader("parity codec"))?;
        let at = Layout::V2.offset(seq);
        let slot = span_mut(self.zone, at, SLOT_LEN).ok_or(full)?;
        let (entry, par) = slot.split_at_mut(ENTRY_LEN);
        let (crc, body) = entry.split_at_mut(4);
        body.copy_from_slice(bytes.get(4..).unwrap_or(&[0; ENTRY_LEN - 4]));
        barrier();
        par.copy_from_slice(&parity);
        barrier();
        for (dst, &src) in crc.iter_mut().zip(bytes.iter()) {
            volatile_store(dst, src);
        }
        barrier();
        self.next = next;
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
    /// The slot after the last entry is blank or from an earlier generation
    /// (possibly after repair): a clean end.
    Clean,
    /// Every slot is used.
    Full,
    /// The slot after the last entry holds a partly written entry: the write
    /// was cut, here, at `offset`.
    Torn {
        /// Index of the torn slot.
        index: u32,
        /// Zone offset of the torn slot.
        offset: usize,
    },
}

/// A slot that could not be read: skipped, and the entries after it still read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CorruptSlot {
    /// Slot index (the `seq` its entry would have had).
    pub index: u32,
    /// Zone offset of the slot.
    pub offset: usize,
}

/// What one slot holds, as the reader judges it.
#[derive(Debug, Clone, Copy)]
enum Slot {
    /// An entry of this generation in its own slot, repaired by this many bytes.
    Valid(Entry, u32),
    /// All zero, parity too.
    Blank,
    /// Its CRC checks but it is not this generation's entry for this slot.
    Stale,
    /// Repaired to blank or to a stale entry; `written` when the repaired
    /// bytes are the start of this slot's entry (a write cut early in the body).
    Repaired { written: bool },
    /// Beyond repair; `written` when it starts with this generation (a write
    /// cut later in the body or in the parity).
    Bad { written: bool },
}

/// Judges slot `i` of `zone`.
fn examine(zone: &[u8], layout: Layout, rs: &Codec, generation: u32, i: u32) -> Slot {
    let at = layout.offset(i);
    let Some(raw) = span(zone, at, ENTRY_LEN) else {
        return Slot::Bad { written: false };
    };
    let ours =
        |e: &[u8]| u32_at(e, 4) == generation && u32_at(e, 8) == i && Entry::decode(e).is_some();
    if crc_ok(raw) {
        return match Entry::decode(raw) {
            Some(e) if ours(raw) => Slot::Valid(e, 0),
            _ => Slot::Stale,
        };
    }
    let parity = if layout == Layout::V2 {
        span(zone, at, SLOT_LEN).and_then(|s| s.get(ENTRY_LEN..))
    } else {
        None
    };
    let blank = |s: &[u8]| s.iter().all(|&b| b == 0);
    if blank(raw) && parity.is_none_or(blank) {
        return Slot::Blank;
    }
    // What the slot's entry starts with when this generation writes it.
    let mut expect = [0u8; 8];
    put(&mut expect, 0, &generation.to_le_bytes());
    put(&mut expect, 4, &i.to_le_bytes());
    let Some(par) = parity else {
        // Version 1: no parity, so any other content is the cut write.
        return Slot::Bad { written: true };
    };
    let mut fixed = [0u8; ENTRY_LEN];
    fixed.copy_from_slice(raw);
    match rs.decode(&mut fixed, par) {
        Ok(Decoded::Corrected(n)) if crc_ok(&fixed) && ours(&fixed) => {
            match Entry::decode(&fixed) {
                Some(e) => Slot::Valid(e, n as u32),
                None => Slot::Bad { written: false },
            }
        }
        Ok(Decoded::Corrected(_) | Decoded::Clean) if crc_ok(&fixed) || blank(&fixed) => {
            // Repaired to old content. A write cut after k body bytes differs
            // from it in bytes 4..4+k only, those being this entry's start; a
            // single changed byte is what one flipped bit also gives, and is
            // read as the flip.
            let differs = |(a, b): (&u8, &u8)| a != b;
            let pairs = || raw.iter().zip(fixed.iter());
            let changed = pairs().filter(|&p| differs(p)).count();
            let below_body = pairs().take(4).any(differs);
            // Bytes 4..upto, up to the last changed one (within 4..12), must
            // be how this generation's entry for this slot starts.
            let upto = pairs()
                .rposition(differs)
                .map_or(4, |last| last.saturating_add(1).clamp(4, 12));
            let prefix = upto
                .checked_sub(4)
                .is_some_and(|n| raw.get(4..upto) == expect.get(..n));
            Slot::Repaired {
                written: changed >= 2 && !below_body && prefix,
            }
        }
        _ => Slot::Bad {
            written: raw.get(4..8) == expect.get(..4),
        },
    }
}

/// A parsed journal: the header and the complete entries of its generation.
#[derive(Debug, Clone, Copy)]
pub struct Journal<'a> {
    /// The header (rebuilt when [`header_recovered`](Self::header_recovered)).
    pub header: Header,
    zone: &'a [u8],
    layout: Layout,
    codec: Codec,
    /// Slots up to and including the last valid entry.
    end: u32,
    count: u32,
    corrected: u32,
    corrupt: u32,
    /// The slot after the last entry is unreadable (and not a cut write).
    damaged_after: bool,
    header_recovered: bool,
    /// How it ends.
    pub tail: Tail,
}

/// Reads the journal in `zone` (version 1 or 2): the valid entries of the
/// current generation, in order, and how the sequence ends.
///
/// A slot is valid when its CRC checks, it bears the header's generation, its
/// `seq` is its index and its kind is known; otherwise (version 2) a copy is
/// repaired with the slot's parity and checked again. Let `L` be the last
/// valid slot:
/// * an invalid slot before `L` (damaged, blank, another generation's) is
///   *corrupt*: reported ([`corrupt_slots`](Journal::corrupt_slots)) and skipped;
/// * slot `L + 1` decides the [`Tail`]: `Full` when there is none; `Clean`
///   when it is blank or holds an entry of another generation (after repair,
///   if needed); `Torn` when it holds the start of this slot's entry, i.e. the
///   write was cut there. A slot beyond repair that does not start like this
///   generation's entry is reported corrupt and the tail is `Clean`.
///
/// A write cut after the whole body and nearly all the parity (at most 8 of
/// the 20 CRC and parity bytes missing) is repaired by the parity: the entry
/// was completely written, and it is read as a complete entry. A cut after
/// the first body byte changes one byte, which a flipped bit also does; it
/// is read as the flip (`Clean`: nothing of the entry is there to read).
///
/// The header is repaired by its parity when its CRC fails; beyond repair
/// (magic intact) it is rebuilt from the entries
/// ([`header_recovered`](Journal::header_recovered)).
pub fn read(zone: &[u8]) -> Result<Journal<'_>> {
    let (parsed, header_recovered) = header_of(zone)?;
    let header = parsed.header;
    let layout = parsed.layout;
    let codec = codec()?;
    let slots = header.capacity.min(layout.capacity_for(zone.len()));
    let mut end = 0u32;
    let mut count = 0u32;
    let mut corrected = parsed.corrected;
    let mut corrupt = 0u32;
    let mut pending = 0u32;
    let mut after: Option<Slot> = None;
    for i in 0..slots {
        match examine(zone, layout, &codec, header.generation, i) {
            // Counts of slots, below MAX_ENTRIES: they never saturate, as
            // corrected (bytes) may not either.
            Slot::Valid(_, n) => {
                count = count.saturating_add(1);
                corrected = corrected.saturating_add(n);
                corrupt = corrupt.saturating_add(pending);
                pending = 0;
                end = i.saturating_add(1);
                after = None;
            }
            s => {
                pending = pending.saturating_add(1);
                if i == end {
                    after = Some(s);
                }
            }
        }
    }
    let offset = layout.offset(end);
    let mut damaged_after = false;
    let tail = match after {
        None if slots == header.capacity => Tail::Full,
        None | Some(Slot::Blank | Slot::Stale | Slot::Valid(..)) => Tail::Clean,
        Some(Slot::Repaired { written } | Slot::Bad { written }) if written => {
            Tail::Torn { index: end, offset }
        }
        Some(Slot::Repaired { .. }) => Tail::Clean,
        Some(Slot::Bad { .. }) => {
            damaged_after = true;
            corrupt = corrupt.saturating_add(1);
            Tail::Clean
        }
    };
    Ok(Journal {
        header,
        zone,
        layout,
        codec,
        end,
        count,
        corrected,
        corrupt,
        damaged_after,
        header_recovered,
        tail,
    })
}

impl<'a> Journal<'a> {
    /// The valid entries (repaired where needed), in write order; corrupt
    /// slots are skipped.
    pub fn entries(&self) -> impl Iterator<Item = Entry> + 'a {
        let (zone, layout, codec, generation) =
            (self.zone, self.layout, self.codec, self.header.generation);
        (0..self.end).filter_map(
            move |i| match examine(zone, layout, &codec, generation, i) {
                Slot::Valid(e, _) => Some(e),
                _ => None,
            },
        )
    }

    /// The slots that could not be read, in order: those before the last
    /// valid entry that are not valid entries, then the slot right after it
    /// when that is beyond repair without being a cut write.
    pub fn corrupt_slots(&self) -> impl Iterator<Item = CorruptSlot> + 'a {
        let (zone, layout, codec, generation) =
            (self.zone, self.layout, self.codec, self.header.generation);
        let upto = self.end.saturating_add(u32::from(self.damaged_after));
        (0..upto).filter_map(
            move |i| match examine(zone, layout, &codec, generation, i) {
                Slot::Valid(..) => None,
                _ => Some(CorruptSlot {
                    index: i,
                    offset: layout.offset(i),
                }),
            },
        )
    }

    /// Number of corrupt slots ([`corrupt_slots`](Self::corrupt_slots)).
    pub fn corrupt_count(&self) -> u32 {
        self.corrupt
    }

    /// Bytes the parity corrected, in the header and the valid entries
    /// (parity bytes included).
    pub fn corrected_bytes(&self) -> u32 {
        self.corrected
    }

    /// The header was beyond repair and was rebuilt from the entries
    /// (capacity from the zone length, generation from the entries,
    /// `armed_ns` unknown: 0).
    pub fn header_recovered(&self) -> bool {
        self.header_recovered
    }

    /// The format version read (1 or 2).
    pub fn version(&self) -> u32 {
        self.layout.version
    }

    /// Zone offset of slot `index`.
    pub fn slot_offset(&self, index: u32) -> usize {
        self.layout.offset(index)
    }

    /// Number of valid entries.
    pub fn len(&self) -> u32 {
        self.count
    }

    /// Slots used: up to and including the last valid entry.
    pub fn slots_used(&self) -> u32 {
        self.end
    }

    /// Where the panic path got to: the step (and list entry) begun but
    /// never ended, whether it finished, how often it was re-entered.
    ///
    /// Steps run in plan order and never twice, so an entry about a later
    /// step means every earlier step has ended, even when its end entry was
    /// lost to a corrupt slot: a lost entry leaves a step open only when it
    /// really is the last step begun.
    pub fn progress(&self) -> Progress {
        let mut p = Progress::default();
        for e in self.entries() {
            if e.kind.is_step_scoped() && p.open_step.is_some_and(|s| s.step < e.step) {
                p.open_step = None;
                p.open_call = None;
            }
            match e.kind {
                EntryKind::PanicStart => p.start = Some(e),
                EntryKind::PlanStep => p.plan_len = p.plan_len.saturating_add(1),
                EntryKind::StepBegin => {
                    p.open_step = Some(e);
                    p.open_call = None;
                }
                EntryKind::StepEnd => {
                    if p.open_step.is_none_or(|s| s.step == e.step) {
                        p.open_step = None;
                        p.open_call = None;
                    }
                }
                EntryKind::CallBegin => p.open_call = Some(e),
                EntryKind::CallEnd => p.open_call = None,
                // Counts shown to the user saturate, like plan_len.
                EntryKind::NestedPanic => p.nested = p.nested.saturating_add(1),
                EntryKind::CorruptEntry => p.corrupt = p.corrupt.saturating_add(1),
                EntryKind::PanicEnd => {
                    p.finished = true;
                    p.open_step = None;
                    p.open_call = None;
                }
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

    /// No valid entries.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

#[cfg(test)]
mod tests;
