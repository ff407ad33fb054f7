//! The kmsg dumper: writes the end of the kernel log into the next ramoops
//! dump zone exactly as fs/pstore/ram.c's `ramoops_pstore_write` would (zap,
//! `====<sec>.<usec>-D\n`, then pstore's `<Reason>#<n> Part1\n` and the log),
//! rotating through the zones like ramoops' `dump_write_cnt`, so the stock
//! ramoops driver reads our records after the reboot.

use crashview_ramoops::dmesg;
use crashview_ramoops::rs::Codec;
use crashview_ramoops::writer::ZoneWriter;
use crashview_ramoops::zone::ZoneGeometry;

use crate::platform::Platform;

/// Writes one dump into `zone` (exactly one dmesg zone's bytes). Returns the
/// record length (header included) or `None` if the zone cannot be written.
pub fn write_dump<P: Platform + ?Sized>(
    p: &P,
    zone: &mut [u8],
    geom: ZoneGeometry,
    codec: Option<&Codec>,
    reason: &str,
    count: u32,
) -> Option<usize> {
    let mut w = ZoneWriter::new(zone, geom, codec).ok()?;
    w.zap();
    let (secs, nsecs) = p.wall_time();
    let mut hdr = [0u8; dmesg::MAX_HEADER_LEN + 1];
    let hlen = dmesg::write_header(secs, nsecs, false, &mut hdr);
    let data = w.data_mut();
    let mut at = 0usize;
    let mut put = |data: &mut [u8], bytes: &[u8]| {
        let n = bytes.len().min(data.len().saturating_sub(at));
        if let (Some(d), Some(s)) = (data.get_mut(at..at + n), bytes.get(..n)) {
            d.copy_from_slice(s);
        }
        at += n;
    };
    put(data, hdr.get(..hlen).unwrap_or(&[]));
    // pstore_dump: "%s#%d Part%u\n", reason, oopscount, part.
    let mut line = [0u8; 40];
    let llen = part_line(&mut line, reason, count);
    put(data, line.get(..llen).unwrap_or(&[]));
    let room = data.get_mut(at..).unwrap_or(&mut []);
    let n = p.kmsg_tail(room).min(room.len());
    let total = at + n;
    w.commit_fresh(total);
    Some(total)
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
