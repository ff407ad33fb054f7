//! A small raw-deflate compressor for the panic path: greedy LZ77 over a
//! caller-provided hash table, one final block of fixed Huffman codes
//! (RFC 1951 §3.2.6). No allocation and one pass, so a dying kernel can
//! compress its log like pstore does (pstore's "deflate" is raw deflate,
//! window bits -15; ramoops marks such records `-C`).
//!
//! It compresses kernel logs about 3:1 — less than zlib's dynamic codes,
//! but the stock kernel's `zlib_inflate` reads it, which is what matters.
//!
//! With `std`, [`inflate`] is the reverse, as pstore decompresses a record.

/// Entries of the match-finder hash table the caller provides.
pub const HASH_SLOTS: usize = 1 << 13;
const MAX_DIST: usize = 32768;
const MAX_LEN: usize = 258;
const MIN_LEN: usize = 3;

const LEN_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LEN_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];

/// LSB-first bit writer into a fixed buffer; `None` once it overflows.
struct Bits<'a> {
    /// The bytes not written yet.
    out: core::slice::IterMut<'a, u8>,
    /// Length of the whole buffer.
    cap: usize,
    acc: u64,
    /// Bits in `acc`: below 8 between calls, and `put` adds at most 16.
    nbits: u32,
    overflow: bool,
}

impl<'a> Bits<'a> {
    fn new(out: &'a mut [u8]) -> Self {
        Bits {
            cap: out.len(),
            out: out.iter_mut(),
            acc: 0,
            nbits: 0,
            overflow: false,
        }
    }

    fn byte(&mut self, b: u8) {
        match self.out.next() {
            Some(dst) => *dst = b,
            None => self.overflow = true,
        }
    }

    fn put(&mut self, value: u32, n: u32) {
        self.acc |= u64::from(value) << self.nbits;
        // nbits < 8 and n <= 16 (the longest code plus extra bits).
        self.nbits = self.nbits.wrapping_add(n);
        while let Some(rest) = self.nbits.checked_sub(8) {
            self.byte(self.acc as u8);
            self.acc >>= 8;
            self.nbits = rest;
        }
    }

    /// A Huffman code of `n` (1..=9) bits: stored most-significant bit first.
    fn code(&mut self, code: u32, n: u32) {
        let shift = u32::BITS.saturating_sub(n);
        self.put(code.reverse_bits().checked_shr(shift).unwrap_or(0), n);
    }

    fn finish(mut self) -> Option<usize> {
        if self.nbits > 0 {
            // The last partial byte, zero-padded.
            self.byte(self.acc as u8);
        }
        if self.overflow {
            return None;
        }
        self.cap.checked_sub(self.out.len())
    }
}

/// The fixed literal/length code (RFC 1951 §3.2.6): each range of symbols
/// is a run of consecutive codes, `sym - first + code of first`. `sym` is
/// below 288 and in the arm's range, so the wrapping ops never wrap.
fn literal(w: &mut Bits<'_>, sym: u16) {
    let s = u32::from(sym);
    match sym {
        0..=143 => w.code(s.wrapping_add(0x30), 8),
        144..=255 => w.code(s.wrapping_sub(144).wrapping_add(0x190), 9),
        256..=279 => w.code(s.wrapping_sub(256), 7),
        _ => w.code(s.wrapping_sub(280).wrapping_add(0xc0), 8),
    }
}

/// The code for `value` in a (base, extra bits) table: the last entry whose
/// base is <= value, and the offset from that base (checked: no entry fits
/// a value below the first base).
fn base_code(bases: &[u16], extras: &[u8], value: usize) -> Option<(usize, usize, u32)> {
    let (i, &base) = bases
        .iter()
        .enumerate()
        .rev()
        .find(|(_, &b)| usize::from(b) <= value)?;
    let extra = u32::from(extras.get(i).copied().unwrap_or(0));
    Some((i, value.checked_sub(usize::from(base))?, extra))
}

fn length(w: &mut Bits<'_>, len: usize) {
    let Some((i, off, extra)) = base_code(&LEN_BASE, &LEN_EXTRA, len) else {
        w.overflow = true;
        return;
    };
    // i < 29: length codes are 257..=285.
    literal(w, (i as u16).wrapping_add(257));
    if extra > 0 {
        w.put(off as u32, extra);
    }
}

fn distance(w: &mut Bits<'_>, dist: usize) {
    let Some((i, off, extra)) = base_code(&DIST_BASE, &DIST_EXTRA, dist) else {
        w.overflow = true;
        return;
    };
    w.code(i as u32, 5);
    if extra > 0 {
        w.put(off as u32, extra);
    }
}

fn hash(b: &[u8; 3]) -> usize {
    let v = u32::from(b[0]) | u32::from(b[1]) << 8 | u32::from(b[2]) << 16;
    // Multiplicative hashing wraps by design; the top 13 bits index the table.
    (v.wrapping_mul(0x9e37_79b1) >> (u32::BITS - 13)) as usize
}

/// The three bytes at `i`, when there are three.
fn triple(input: &[u8], i: usize) -> Option<&[u8; 3]> {
    input.get(i..)?.first_chunk::<3>()
}

/// Compresses `input` into `out` as one raw-deflate stream; `table` is
/// scratch of at least [`HASH_SLOTS`] entries (overwritten). `None` when
/// `out` is too small or `table` is short.
#[allow(clippy::indexing_slicing)] // every index is checked against len or masked
pub fn compress(input: &[u8], out: &mut [u8], table: &mut [u32]) -> Option<usize> {
    let table = table.get_mut(..HASH_SLOTS)?;
    table.fill(u32::MAX);
    let mut w = Bits::new(out);
    // An empty non-final block first. ramoops parses its record header with
    // sscanf("...-%c\n%n"), and the "\n" there eats any whitespace that
    // follows, so a stream whose first byte is 0x09-0x0d or 0x20 would lose
    // it. A fixed block starting with a literal begins 0x0b (vertical tab)
    // for 'P' of "Panic#"; this prefix makes the first byte 0x02.
    w.put(0, 1); // BFINAL = 0
    w.put(1, 2); // BTYPE = 01, fixed Huffman
    literal(&mut w, 256);
    w.put(1, 1); // BFINAL
    w.put(1, 2); // BTYPE = 01, fixed Huffman
                 // Positions are below input.len() (a slice length), and a match never
                 // runs past the input, so `i + best` and the u32 casts are exact for
                 // any input below 4 GiB; larger inputs (never a log) give up, as an
                 // output too small does.
    if u32::try_from(input.len()).is_err() {
        return None;
    }
    // Positions inside the last match: indexed, not encoded.
    let mut skip_until = 0usize;
    for (i, &byte) in input.iter().enumerate() {
        if w.overflow {
            return None;
        }
        let tri = triple(input, i);
        if i < skip_until {
            // Index the skipped positions too, so later text finds them.
            if let Some(t) = tri {
                table[hash(t)] = i as u32;
            }
            continue;
        }
        let mut best = 0usize;
        let mut dist = 0usize;
        if let Some(t) = tri {
            let h = hash(t);
            let cand = table[h];
            table[h] = i as u32;
            let c = cand as usize;
            // cand == u32::MAX (empty slot) is past every position, never < i.
            if let Some(d) = i.checked_sub(c).filter(|&d| d > 0 && d <= MAX_DIST) {
                let l = input[c..]
                    .iter()
                    .zip(&input[i..])
                    .take(MAX_LEN)
                    .take_while(|(a, b)| a == b)
                    .count();
                if l >= MIN_LEN {
                    best = l;
                    dist = d;
                }
            }
        }
        if best > 0 {
            length(&mut w, best);
            distance(&mut w, dist);
            // best <= input.len() - i: no overflow (see above).
            skip_until = i.wrapping_add(best);
        } else {
            literal(&mut w, u16::from(byte));
        }
    }
    literal(&mut w, 256); // end of block
    w.finish()
}

/// Inflates a raw deflate stream (the kernel crypto "deflate" uses negative
/// window bits: no zlib header) into at most `limit` bytes, as
/// crypto_comp_decompress does; `None` when Linux would fail too.
#[cfg(feature = "std")]
pub fn inflate(data: &[u8], limit: usize) -> Option<Vec<u8>> {
    miniz_oxide::inflate::decompress_to_vec_with_limit(data, limit).ok()
}

#[cfg(all(test, feature = "std"))]
mod tests {
    // Test arithmetic on known small values; overflow would fail the test.
    #![allow(clippy::arithmetic_side_effects)]
    use super::*;

    fn roundtrip(input: &[u8]) -> usize {
        let mut out = vec![0u8; input.len() * 2 + 64];
        let mut table = vec![0u32; HASH_SLOTS];
        let n = compress(input, &mut out, &mut table).unwrap();
        let back = miniz_oxide::inflate::decompress_to_vec(&out[..n]).unwrap();
        assert_eq!(back, input);
        n
    }

    #[test]
    fn inflates_back() {
        roundtrip(b"");
        roundtrip(b"a");
        roundtrip(b"abcabcabcabcabcabcabcabcabcabcabcabc");
        let all: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
        roundtrip(&all);
        let log: Vec<u8> = (0..2000)
            .flat_map(|i| {
                format!(
                    "<6>[{:5}.{:06}] ACPI: PCI Interrupt Link [LNK{}] enabled at IRQ {}\n",
                    i / 100,
                    i * 37 % 1_000_000,
                    i % 4,
                    i % 11
                )
                .into_bytes()
            })
            .collect();
        let n = roundtrip(&log);
        assert!(
            n * 3 < log.len(),
            "log compresses at least 3:1 ({} -> {n})",
            log.len()
        );
    }

    #[test]
    fn the_stream_never_starts_with_whitespace() {
        let mut out = [0u8; 64];
        let mut table = vec![0u32; HASH_SLOTS];
        for first in 0..=255u8 {
            let n = compress(&[first, b'x'], &mut out, &mut table).unwrap();
            assert!(
                n > 0 && !matches!(out[0], 0x09..=0x0d | 0x20),
                "first byte {:#x}",
                out[0]
            );
        }
    }

    #[test]
    fn too_small_output_is_none_not_a_panic() {
        let mut table = vec![0u32; HASH_SLOTS];
        let input: Vec<u8> = (0..5000u32).map(|i| (i * 7919 % 251) as u8).collect();
        let mut out = [0u8; 100];
        assert_eq!(compress(&input, &mut out, &mut table), None);
    }
}
