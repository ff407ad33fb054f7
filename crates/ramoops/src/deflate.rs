//! A small raw-deflate compressor for the panic path: greedy LZ77 over a
//! caller-provided hash table, one final block of fixed Huffman codes
//! (RFC 1951 §3.2.6). No allocation and one pass, so a dying kernel can
//! compress its log like pstore does (pstore's "deflate" is raw deflate,
//! window bits -15; ramoops marks such records `-C`).
//!
//! It compresses kernel logs about 3:1 — less than zlib's dynamic codes,
//! but the stock kernel's `zlib_inflate` reads it, which is what matters.

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
    out: &'a mut [u8],
    pos: usize,
    acc: u64,
    nbits: u32,
    overflow: bool,
}

impl Bits<'_> {
    fn put(&mut self, value: u32, n: u32) {
        self.acc |= u64::from(value) << self.nbits;
        self.nbits += n;
        while self.nbits >= 8 {
            match self.out.get_mut(self.pos) {
                Some(b) => *b = self.acc as u8,
                None => self.overflow = true,
            }
            self.pos += 1;
            self.acc >>= 8;
            self.nbits -= 8;
        }
    }

    /// A Huffman code: stored most-significant bit first.
    fn code(&mut self, code: u32, n: u32) {
        self.put(code.reverse_bits() >> (32 - n), n);
    }

    fn finish(mut self) -> Option<usize> {
        if self.nbits > 0 {
            self.put(0, 8 - self.nbits);
        }
        (!self.overflow).then_some(self.pos)
    }
}

fn literal(w: &mut Bits<'_>, sym: u16) {
    match sym {
        0..=143 => w.code(0x30 + u32::from(sym), 8),
        144..=255 => w.code(0x190 + u32::from(sym - 144), 9),
        256..=279 => w.code(u32::from(sym - 256), 7),
        _ => w.code(0xc0 + u32::from(sym - 280), 8),
    }
}

fn length(w: &mut Bits<'_>, len: usize) {
    // The last code whose base is <= len.
    let i = LEN_BASE
        .iter()
        .rposition(|&b| usize::from(b) <= len)
        .unwrap_or(0);
    literal(w, 257 + i as u16);
    let extra = LEN_EXTRA.get(i).copied().unwrap_or(0);
    if extra > 0 {
        w.put(
            (len - usize::from(LEN_BASE.get(i).copied().unwrap_or(3))) as u32,
            u32::from(extra),
        );
    }
}

fn distance(w: &mut Bits<'_>, dist: usize) {
    let i = DIST_BASE
        .iter()
        .rposition(|&b| usize::from(b) <= dist)
        .unwrap_or(0);
    w.code(i as u32, 5);
    let extra = DIST_EXTRA.get(i).copied().unwrap_or(0);
    if extra > 0 {
        w.put(
            (dist - usize::from(DIST_BASE.get(i).copied().unwrap_or(1))) as u32,
            u32::from(extra),
        );
    }
}

fn hash(b: [u8; 3]) -> usize {
    let v = u32::from(b[0]) | u32::from(b[1]) << 8 | u32::from(b[2]) << 16;
    (v.wrapping_mul(0x9e37_79b1) >> (32 - 13)) as usize
}

/// Compresses `input` into `out` as one raw-deflate stream; `table` is
/// scratch of at least [`HASH_SLOTS`] entries (overwritten). `None` when
/// `out` is too small or `table` is short.
#[allow(clippy::indexing_slicing)] // every index is checked against len or masked
pub fn compress(input: &[u8], out: &mut [u8], table: &mut [u32]) -> Option<usize> {
    let table = table.get_mut(..HASH_SLOTS)?;
    table.fill(u32::MAX);
    let mut w = Bits {
        out,
        pos: 0,
        acc: 0,
        nbits: 0,
        overflow: false,
    };
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
    let n = input.len();
    let mut i = 0usize;
    while i < n {
        if w.overflow {
            return None;
        }
        let mut best = 0usize;
        let mut dist = 0usize;
        if i + MIN_LEN <= n {
            let h = hash([input[i], input[i + 1], input[i + 2]]);
            let cand = table[h];
            table[h] = i as u32;
            if cand != u32::MAX {
                let c = cand as usize;
                if c < i && i - c <= MAX_DIST {
                    let max = MAX_LEN.min(n - i);
                    let mut l = 0;
                    while l < max && input[c + l] == input[i + l] {
                        l += 1;
                    }
                    if l >= MIN_LEN {
                        best = l;
                        dist = i - c;
                    }
                }
            }
        }
        if best > 0 {
            length(&mut w, best);
            distance(&mut w, dist);
            // Index the skipped positions too, so later text finds them.
            let end = i + best;
            i += 1;
            while i < end {
                if i + MIN_LEN <= n {
                    table[hash([input[i], input[i + 1], input[i + 2]])] = i as u32;
                }
                i += 1;
            }
        } else {
            literal(&mut w, u16::from(input[i]));
            i += 1;
        }
    }
    literal(&mut w, 256); // end of block
    w.finish()
}

#[cfg(all(test, feature = "std"))]
mod tests {
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
