//! What the readers produce: records, the log, diagnostics and errors.
//! Below both ring readers and the page reader.

/// What went wrong reading the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The dump has no VMCOREINFO.
    NoVmcoreinfo,
    /// VMCOREINFO lacks an entry the ring layout needs.
    MissingVmcoreinfo {
        /// The entry, e.g. `"OFFSET(printk_info.ts_nsec)"`.
        key: &'static str,
    },
    /// Reading a structure of the ring failed.
    Memory {
        /// The structure.
        what: &'static str,
        /// Its kernel virtual address.
        addr: u64,
        /// Why.
        error: crashview_vmcore::Error,
    },
    /// A ring header field is impossible.
    BadRing {
        /// The field.
        what: &'static str,
        /// Its value.
        value: u64,
    },
    /// The kernel's log layout is not one this reader knows (pre-3.5 `log_buf`).
    UnsupportedLayout,
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Error::NoVmcoreinfo => f.write_str("the dump has no VMCOREINFO, the log cannot be located"),
            Error::MissingVmcoreinfo { key } => write!(f, "VMCOREINFO has no {key}"),
            Error::Memory { what, addr, error } => write!(f, "cannot read {what} at {addr:#x}: {error}"),
            Error::BadRing { what, value } => write!(f, "impossible {what}: {value:#x}"),
            Error::UnsupportedLayout => f.write_str("VMCOREINFO describes neither the printk ring buffer nor struct printk_log (kernel older than 3.5?)"),
        }
    }
}

impl std::error::Error for Error {}

/// Result with this crate's [`Error`].
pub type Result<T> = core::result::Result<T, Error>;

/// Which log structure the kernel used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RingKind {
    /// The lockless ring buffer (`prb`, 5.10+).
    Lockless,
    /// `log_buf` with `struct printk_log` records (3.5–5.9).
    Legacy,
}

/// The state a record's descriptor was in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordState {
    /// Finalized: complete, what readers see.
    Finalized,
    /// Committed but not finalized: the newest record, possibly still open
    /// for `pr_cont` continuation when the dump was taken.
    Committed,
    /// Legacy log_buf records have no state.
    Legacy,
}

/// `LOG_NEWLINE` record flag.
pub const LOG_NEWLINE: u8 = 2;
/// `LOG_CONT` record flag.
pub const LOG_CONT: u8 = 8;

/// One log record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Sequence number.
    pub seq: u64,
    /// Timestamp, nanoseconds since boot (local_clock).
    pub ts_nsec: u64,
    /// Log level 0–7.
    pub level: u8,
    /// Syslog facility (0 = kernel).
    pub facility: u8,
    /// Record flags (`LOG_NEWLINE`, `LOG_CONT`).
    pub flags: u8,
    /// Raw caller id (bit 31 set: CPU number; else thread id); `None` in
    /// legacy records without it.
    pub caller_id: Option<u32>,
    /// Device info subsystem (`SUBSYSTEM=`), may be empty.
    pub subsystem: String,
    /// Device info device (`DEVICE=`), may be empty.
    pub device: String,
    /// Message text (raw bytes: the kernel does not promise UTF-8).
    pub text: Vec<u8>,
    /// Descriptor state.
    pub state: RecordState,
}

impl Record {
    /// True if the record continues the previous one (`LOG_CONT`).
    pub fn is_continuation(&self) -> bool {
        self.flags & LOG_CONT != 0
    }

    /// The caller as the kernel prints it: `T<pid>` or `C<cpu>`.
    pub fn caller(&self) -> Option<String> {
        let id = self.caller_id?;
        Some(if id & 0x8000_0000 != 0 {
            format!("C{}", id & !0x8000_0000)
        } else {
            format!("T{id}")
        })
    }

    /// `[%5lu.%06lu]` as printk prints it.
    pub fn timestamp(&self) -> String {
        format!(
            "[{:5}.{:06}]",
            self.ts_nsec / 1_000_000_000,
            (self.ts_nsec % 1_000_000_000) / 1000
        )
    }

    /// The record as the serial console shows it: one line per text line,
    /// each with the timestamp prefix.
    pub fn console_lines(&self) -> Vec<String> {
        let ts = self.timestamp();
        String::from_utf8_lossy(&self.text)
            .split('\n')
            .map(|l| format!("{ts} {l}"))
            .collect()
    }

    /// Write [`Record::console_lines`] to `w`, one `\n`-terminated line
    /// each, without building strings (the fast path of `crashview log`).
    pub fn write_console<W: std::io::Write>(&self, w: &mut W) -> std::io::Result<()> {
        let (s, us) = (
            self.ts_nsec / 1_000_000_000,
            (self.ts_nsec % 1_000_000_000) / 1000,
        );
        for line in self.text.split(|&b| b == b'\n') {
            write!(w, "[{s:5}.{us:06}] ")?;
            match std::str::from_utf8(line) {
                Ok(t) => w.write_all(t.as_bytes())?,
                Err(_) => w.write_all(String::from_utf8_lossy(line).as_bytes())?,
            }
            w.write_all(b"\n")?;
        }
        Ok(())
    }

    /// The record as `makedumpfile --dump-dmesg` prints it: newlines become
    /// `.`, other unprintable bytes `\xNN`.
    pub fn makedumpfile_line(&self) -> String {
        let mut s = self.timestamp();
        s.push(' ');
        for &b in &self.text {
            match b {
                b'\n' => s.push('.'),
                b' '..=b'~' | b'\t' | 0x0b | 0x0c | b'\r' => s.push(b as char),
                _ => s.push_str(&format!("\\x{b:02x}")),
            }
        }
        s
    }
}

/// A problem with one part of the ring: where and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Kernel virtual address of the structure.
    pub addr: u64,
    /// The structure (`"prb_desc"`, `"data block"`, …).
    pub structure: &'static str,
    /// What is wrong.
    pub message: String,
}

impl core::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{} at {:#x}: {}",
            self.structure, self.addr, self.message
        )
    }
}

/// The log read from memory.
#[derive(Debug, Clone)]
pub struct Log {
    /// Ring type.
    pub kind: RingKind,
    /// Records in sequence order.
    pub records: Vec<Record>,
    /// What could not be read.
    pub diagnostics: Vec<Diagnostic>,
    /// Descriptors skipped (overwritten, reserved, torn or unreadable).
    pub skipped: u64,
    /// Descriptors in the reusable state between tail and head: their data
    /// was recycled (normal once the ring has wrapped; the ring's initial
    /// placeholder descriptor is one).
    pub reusable: u64,
}
