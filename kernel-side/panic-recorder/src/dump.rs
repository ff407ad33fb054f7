//! The kmsg dumper: writes the end of the kernel log into the next ramoops
//! dump zone exactly as fs/pstore/ram.c's `ramoops_pstore_write` would (zap,
//! `====<sec>.<usec>-D\n`, then pstore's `<Reason>#<n> Part1\n` and the log),
//! rotating through the zones like ramoops' `dump_write_cnt`, so the stock
//! ramoops driver reads our records after the reboot.

use crashview_ramoops::deflate;
use crashview_ramoops::dmesg;
use crashview_ramoops::rs::Codec;
use crashview_ramoops::writer::ZoneWriter;
use crashview_ramoops::zone::ZoneGeometry;

use crate::platform::Platform;

/// Scratch for compressing: the match finder's table and room for the
/// uncompressed record (pstore's `big_oops_buf`).
#[derive(Debug)]
pub struct Scratch<'a> {
    /// At least [`deflate::HASH_SLOTS`] entries.
    pub table: &'a mut [u32],
    /// The uncompressed record is assembled here.
    pub input: &'a mut [u8],
}

/// Writes one dump into `zone` (exactly one dmesg zone's bytes). With
/// `scratch`, the record is deflated as pstore does: `<Reason>#<n> Part1\n`
/// plus as much log as pstore's decompression buffer allows
/// (`zbufsize_deflate` of the zone's capacity), then `-C`; when it does not
/// fit compressed, the uncompressed tail is written instead (`-D`), as
/// pstore falls back. Returns (bytes written, compressed).
pub fn write_dump<P: Platform + ?Sized>(
    p: &P,
    zone: &mut [u8],
    geom: ZoneGeometry,
    codec: Option<&Codec>,
    reason: &str,
    count: u32,
    scratch: Option<Scratch<'_>>,
) -> Option<(usize, bool)> {
    let mut w = ZoneWriter::new(zone, geom, codec).ok()?;
    w.zap();
    let (secs, nsecs) = p.wall_time();
    let mut line = [0u8; 40];
    let llen = part_line(&mut line, reason, count);
    let part = line.get(..llen).unwrap_or(&[]);
    if let Some(s) = scratch {
        let mut hdr = [0u8; dmesg::MAX_HEADER_LEN + 1];
        let hlen = dmesg::write_header(secs, nsecs, true, &mut hdr);
        let limit = dmesg::zbufsize_deflate(geom.data_size).min(s.input.len());
        let input = s.input.get_mut(..limit).unwrap_or(&mut []);
        let n = put_record(p, input, part);
        let data = w.data_mut();
        if data.len() > hlen {
            let (head, out) = data.split_at_mut(hlen);
            head.copy_from_slice(hdr.get(..hlen).unwrap_or(&[]));
            if let Some(clen) = deflate::compress(input.get(..n).unwrap_or(&[]), out, s.table) {
                w.commit_fresh(hlen + clen);
                return Some((hlen + clen, true));
            }
        }
    }
    let mut hdr = [0u8; dmesg::MAX_HEADER_LEN + 1];
    let hlen = dmesg::write_header(secs, nsecs, false, &mut hdr);
    let data = w.data_mut();
    let (head, rest) = data.split_at_mut(hlen.min(data.len()));
    head.copy_from_slice(hdr.get(..head.len()).unwrap_or(&[]));
    let n = put_record(p, rest, part);
    w.commit_fresh(hlen + n);
    Some((hlen + n, false))
}

/// `part` then the newest log that fits after it; returns the bytes used.
fn put_record<P: Platform + ?Sized>(p: &P, buf: &mut [u8], part: &[u8]) -> usize {
    let k = part.len().min(buf.len());
    let (head, room) = buf.split_at_mut(k);
    head.copy_from_slice(part.get(..k).unwrap_or(&[]));
    k + p.kmsg_tail(room).min(room.len())
}

fn part_line(out: &mut [u8; 40], reason: &str, count: u32) -> usize {
    let mut n = 0;
    let mut push = |b: &[u8]| {
        for &c in b {
            if let Some(slot) = out.get_mut(n) {
                *slot = c;
                n += 1;
            }
        }
    };
    push(reason.as_bytes());
    push(b"#");
    let mut digits = [0u8; 10];
    let mut v = count;
    let mut k = 0;
    loop {
        if let Some(d) = digits.get_mut(k) {
            *d = b'0' + (v % 10) as u8;
        }
        k += 1;
        v /= 10;
        if v == 0 || k == digits.len() {
            break;
        }
    }
    for i in (0..k).rev() {
        push(&[digits.get(i).copied().unwrap_or(b'0')]);
    }
    push(b" Part1\n");
    n
}

#[cfg(test)]
mod tests {
    #[test]
    fn part_lines() {
        let mut b = [0u8; 40];
        let n = super::part_line(&mut b, "Panic", 12);
        assert_eq!(&b[..n], b"Panic#12 Part1\n");
    }
}
