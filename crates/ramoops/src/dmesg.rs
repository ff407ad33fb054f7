//! The dmesg record framing ramoops and pstore put around a kmsg dump.
//!
//! ramoops prefixes every dump with `====<sec>.<usec>-<C|D>\n` (fs/pstore/ram.c,
//! `ramoops_write_kmsg_hdr`: `"====%lld.%06lu-%c\n"`, `C` = compressed) and
//! strips it on read. Inside, pstore's dumper starts each part with
//! `<Reason>#<count> Part<n>\n` (fs/pstore/platform.c, `pstore_dump`), reason
//! names from `kmsg_dump_reason_str` (kernel/printk/printk.c).

use crate::fmt::ByteWriter;

/// `RAMOOPS_KERNMSG_HDR`.
pub const HEADER_MAGIC: &[u8; 4] = b"====";
/// Longest header `ramoops_write_kmsg_hdr` produces (its buffer is 36 bytes).
pub const MAX_HEADER_LEN: usize = 35;

/// A parsed ramoops dmesg header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DmesgHeader {
    /// Seconds (the dump's wall-clock time).
    pub secs: i64,
    /// Microseconds as written.
    pub usecs: u64,
    /// The payload is compressed (`-C`).
    pub compressed: bool,
    /// Header bytes to strip, as Linux counts them (`%n`).
    pub len: usize,
}

/// Kernel `isspace` for the ASCII range (lib/ctype.c).
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

struct Scan<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Scan<'_> {
    /// The next byte; a NUL ends the string as it does for `sscanf`.
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied().filter(|&b| b != 0)
    }
    /// The byte after the next one.
    fn peek2(&self) -> Option<u8> {
        self.s.get(self.pos..)?.get(1).copied()
    }
    /// Steps over the byte `peek` just returned: `pos < s.len()`, so the
    /// position stays within the slice and the add cannot wrap.
    fn bump(&mut self) {
        self.pos = self.pos.wrapping_add(1);
    }
    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(is_space) {
            self.bump();
        }
    }
    fn lit(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.bump();
            true
        } else {
            false
        }
    }
    /// A `%lld` (`signed`) or `%lu` conversion as the kernel's vsscanf does
    /// it: leading spaces skipped, a '-' only for signed conversions and only
    /// when a digit follows, then digits.
    fn number(&mut self, signed: bool) -> Option<(bool, u64)> {
        self.skip_spaces();
        let neg =
            signed && self.peek() == Some(b'-') && self.peek2().is_some_and(|d| d.is_ascii_digit());
        if neg {
            self.bump();
        }
        let first = self.pos;
        let mut v: u64 = 0;
        while let Some(d) = self.peek().filter(u8::is_ascii_digit) {
            // The kernel's simple_strtoull wraps on overflow: so do we, to
            // read the same header the same way. d is a digit: no wrap.
            v = v
                .wrapping_mul(10)
                .wrapping_add(u64::from(d.wrapping_sub(b'0')));
            self.bump();
        }
        (self.pos > first).then_some((neg, v))
    }
}

/// Parses the header the way `ramoops_read_kmsg_hdr` does with the kernel's
/// `sscanf`: first `"====%lld.%lu-%c\n%n"`, then the older `"====%lld.%lu\n%n"`.
/// A `\n` in a scanf format matches any run of whitespace, so `len` includes
/// it. Returns `None` where Linux finds no header (and zaps the zone).
pub fn parse_header(buf: &[u8]) -> Option<DmesgHeader> {
    let mut sc = Scan { s: buf, pos: 0 };
    for b in HEADER_MAGIC {
        if !sc.lit(*b) {
            return None;
        }
    }
    let (neg, secs) = sc.number(true)?;
    let secs = if neg {
        (secs as i64).wrapping_neg()
    } else {
        secs as i64
    };
    if !sc.lit(b'.') {
        return None;
    }
    let (_, usecs) = sc.number(false)?;
    let after_usecs = sc.pos;
    if sc.lit(b'-') {
        if let Some(c) = sc.peek() {
            sc.bump();
            sc.skip_spaces();
            return Some(DmesgHeader {
                secs,
                usecs,
                compressed: c == b'C',
                len: sc.pos,
            });
        }
    }
    // Older header without the type character.
    sc.pos = after_usecs;
    sc.skip_spaces();
    Some(DmesgHeader {
        secs,
        usecs,
        compressed: false,
        len: sc.pos,
    })
}

/// Writes `====<sec>.<usec, 6 digits>-<C|D>\n` into `out`; returns its length.
pub fn write_header(
    secs: i64,
    nsecs: u64,
    compressed: bool,
    out: &mut [u8; MAX_HEADER_LEN + 1],
) -> usize {
    let mut w = ByteWriter::new(&mut out[..MAX_HEADER_LEN]);
    w.put(HEADER_MAGIC);
    w.put_i64(secs);
    w.put(b".");
    w.put_u64_width(nsecs / 1000, 6);
    w.put(if compressed { b"-C\n" } else { b"-D\n" });
    w.len()
}

/// pstore's decompression buffer for deflate (platform.c, `zbufsize_deflate`):
/// the record buffer size scaled by an assumed compression ratio.
pub fn zbufsize_deflate(size: usize) -> usize {
    // size_t arithmetic in the kernel; saturating keeps a nonsense size
    // from wrapping to a small limit.
    let scaled = size.saturating_mul(100);
    match size {
        1000..=2000 => scaled / 56,
        2001..=3000 => scaled / 54,
        3001..=3999 => scaled / 52,
        4000..=10000 => scaled / 45,
        _ => scaled / 60,
    }
}

/// Why the kernel dumped (`enum kmsg_dump_reason`, include/linux/kmsg_dump.h).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    /// `KMSG_DUMP_PANIC`.
    Panic,
    /// `KMSG_DUMP_OOPS`.
    Oops,
    /// `KMSG_DUMP_EMERG`.
    Emergency,
    /// `KMSG_DUMP_SHUTDOWN`.
    Shutdown,
    /// Anything else (`"Unknown"`).
    Unknown,
}

impl Reason {
    /// `kmsg_dump_reason_str`.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Panic => "Panic",
            Reason::Oops => "Oops",
            Reason::Emergency => "Emergency",
            Reason::Shutdown => "Shutdown",
            Reason::Unknown => "Unknown",
        }
    }

    fn from_name(s: &[u8]) -> Option<Self> {
        Some(match s {
            b"Panic" => Reason::Panic,
            b"Oops" => Reason::Oops,
            b"Emergency" => Reason::Emergency,
            b"Shutdown" => Reason::Shutdown,
            b"Unknown" => Reason::Unknown,
            _ => return None,
        })
    }
}

/// The `<Reason>#<count> Part<n>` line that opens a dump's payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartLine {
    /// The dump reason.
    pub reason: Reason,
    /// pstore's running dump counter (`oopscount`) since boot.
    pub count: u32,
    /// Part number, 1 for the newest chunk of the log.
    pub part: u32,
    /// Bytes of the line including its `\n`.
    pub len: usize,
}

/// Parses the first line of a dump payload; `None` when it is not a part line.
pub fn parse_part_line(text: &[u8]) -> Option<PartLine> {
    let nl = text.iter().take(64).position(|&b| b == b'\n')?;
    let line = text.get(..nl)?;
    let hash = line.iter().position(|&b| b == b'#')?;
    let (name, rest) = line.split_at_checked(hash)?;
    let reason = Reason::from_name(name)?;
    let rest = rest.strip_prefix(b"#")?;
    let sp = rest.iter().position(|&b| b == b' ')?;
    let (count, rest) = rest.split_at_checked(sp)?;
    let count = parse_u32(count)?;
    let part = parse_u32(rest.strip_prefix(b" Part")?)?;
    Some(PartLine {
        reason,
        count,
        part,
        // nl < 64.
        len: nl.checked_add(1)?,
    })
}

fn parse_u32(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 10 {
        return None;
    }
    let mut v: u64 = 0;
    for &d in s {
        if !d.is_ascii_digit() {
            return None;
        }
        // At most 10 digits: below 10^10, far inside u64.
        v = v
            .checked_mul(10)?
            .checked_add(u64::from(d.wrapping_sub(b'0')))?;
    }
    u32::try_from(v).ok()
}

#[cfg(test)]
mod tests {
    // Test arithmetic on known small values; overflow would fail the test.
    #![allow(clippy::arithmetic_side_effects)]
    use super::*;

    #[test]
    fn header_forms() {
        let h = parse_header(b"====1732845123.004567-C\nxyz").unwrap();
        assert_eq!(
            (h.secs, h.usecs, h.compressed, h.len),
            (1732845123, 4567, true, 24)
        );
        let h = parse_header(b"====12.5-D\n\n  Oops").unwrap();
        assert_eq!(
            (h.compressed, h.len),
            (false, 14),
            "whitespace after the header is eaten"
        );
        let h = parse_header(b"====12.000005\nPanic").unwrap();
        assert_eq!((h.secs, h.usecs, h.compressed, h.len), (12, 5, false, 14));
        assert!(parse_header(b"===12.5-D\n").is_none());
        assert!(parse_header(b"====x.5-D\n").is_none());
        assert!(parse_header(b"====12-D\n").is_none());
        assert!(parse_header(b"").is_none());
        assert!(parse_header(b"====1.-5-D\n").is_none(), "%lu takes no sign");
        let h = parse_header(b"====-1.5-D\n").unwrap();
        assert_eq!(h.secs, -1);
        assert_eq!(
            parse_header(b"====1.5-\0").unwrap().len,
            7,
            "%c stops at NUL"
        );
        let h = parse_header(b"====12.5-").unwrap();
        assert_eq!(h.len, 8, "no type character: falls back to the old form");
    }

    #[test]
    fn header_roundtrip() {
        let mut buf = [0u8; MAX_HEADER_LEN + 1];
        let n = write_header(1_700_000_000, 42_000, true, &mut buf);
        assert_eq!(&buf[..n], b"====1700000000.000042-C\n");
        let h = parse_header(&buf[..n]).unwrap();
        assert_eq!(
            (h.secs, h.usecs, h.compressed, h.len),
            (1_700_000_000, 42, true, n)
        );
        let n = write_header(i64::MIN, u64::MAX, false, &mut buf);
        assert!(n <= MAX_HEADER_LEN);
    }

    #[test]
    fn part_lines() {
        let p = parse_part_line(b"Panic#3 Part1\n<0>[ 1.0] Kernel panic").unwrap();
        assert_eq!(
            (p.reason, p.count, p.part, p.len),
            (Reason::Panic, 3, 1, 14)
        );
        assert!(parse_part_line(b"Panic#x Part1\n").is_none());
        assert!(parse_part_line(b"Bogus#1 Part1\n").is_none());
        assert!(parse_part_line(b"Oops#1 Part1").is_none());
    }
}
