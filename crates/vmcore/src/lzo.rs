//! LZO1X decompression (the format of liblzo2's `lzo1x_1_compress`, which
//! makedumpfile `-l` uses), written against liblzo's `lzo1x_d.ch`.
//!
//! A bounds-checked port: every read of input and every write of output is
//! checked against the slices, so corrupt data returns `None` instead of
//! panicking or overrunning, and output never exceeds `out.len()`. (The
//! `lzokay-native` crate was considered; its decoder subtracts
//! attacker-controlled distances without checks and grows a `Vec` without
//! bound, so it panics or allocates on corrupt pages.)

struct Dec<'a, 'b> {
    inp: &'a [u8],
    ip: usize,
    out: &'b mut [u8],
    op: usize,
}

// Positions only move forward within the slices, and the values built from
// a token are at most 16 bits: their pieces occupy separate bits, so they
// are joined with `|`, and the rest is checked (an overflow is corruption).
impl Dec<'_, '_> {
    fn byte(&mut self) -> Option<usize> {
        let b = *self.inp.get(self.ip)?;
        self.skip(1)?;
        Some(b.into())
    }

    fn peek(&self, k: usize) -> Option<usize> {
        self.inp.get(self.ip.checked_add(k)?).map(|&b| b.into())
    }

    fn skip(&mut self, n: usize) -> Option<()> {
        self.ip = self.ip.checked_add(n)?;
        Some(())
    }

    fn literals(&mut self, n: usize) -> Option<()> {
        let ip_end = self.ip.checked_add(n)?;
        let op_end = self.op.checked_add(n)?;
        let src = self.inp.get(self.ip..ip_end)?;
        self.out.get_mut(self.op..op_end)?.copy_from_slice(src);
        self.ip = ip_end;
        self.op = op_end;
        Some(())
    }

    /// Copy `n` bytes from `base + back` bytes back (may overlap, byte by
    /// byte). liblzo's match distances are a fixed base plus token bits.
    fn copy_match(&mut self, back: usize, base: usize, n: usize) -> Option<()> {
        let from = self.op.checked_sub(back)?.checked_sub(base)?;
        let end = self.op.checked_add(n)?;
        if end > self.out.len() {
            return None;
        }
        for (src, dst) in (from..).zip(self.op..end) {
            let b = *self.out.get(src)?;
            *self.out.get_mut(dst)? = b;
        }
        self.op = end;
        Some(())
    }

    /// A run of zero bytes extends a length by 255 each, then one byte more.
    fn long_len(&mut self, base: usize) -> Option<usize> {
        let mut t = 0usize;
        while self.peek(0)? == 0 {
            t = t.checked_add(255)?;
            self.skip(1)?;
        }
        t.checked_add(base)?.checked_add(self.byte()?)
    }
}

/// Decompress an LZO1X stream into `out`; returns the bytes written, or
/// `None` if the stream is corrupt, does not end cleanly, or would overflow.
pub fn decompress(inp: &[u8], out: &mut [u8]) -> Option<usize> {
    let mut d = Dec {
        inp,
        ip: 0,
        out,
        op: 0,
    };
    let mut next = Next::Start;
    if d.peek(0)? > 17 {
        let t = d.byte()?.checked_sub(17)?;
        if t < 4 {
            next = Next::Literals(t);
        } else {
            d.literals(t)?;
            next = Next::FirstLiteralRun;
        }
    }
    // Each iteration consumes at least one input byte, so the input length
    // bounds the loop; the extra margin covers the final checks.
    for _ in 0..inp.len().saturating_add(2) {
        match next {
            Next::Start => {
                let mut t = d.byte()?;
                if t >= 16 {
                    next = Next::Match(t);
                    continue;
                }
                if t == 0 {
                    t = d.long_len(15)?;
                }
                d.literals(t.checked_add(3)?)?;
                next = Next::FirstLiteralRun;
            }
            Next::FirstLiteralRun => {
                let t = d.byte()?;
                if t >= 16 {
                    next = Next::Match(t);
                    continue;
                }
                // t < 16: bits 0-1, then a byte at bits 2-9.
                let back = (t >> 2) | (d.byte()? << 2);
                d.copy_match(back, 1 + 0x0800, 3)?;
                next = done(&d, d.ip.checked_sub(2)?)?;
            }
            Next::Match(t) => {
                if t >= 64 {
                    // Bits 0-2 from the token, a byte at bits 3-10.
                    let back = ((t >> 2) & 7) | (d.byte()? << 3);
                    // t < 256: 2..=7, a length of 3..=8.
                    d.copy_match(back, 1, (t >> 5).checked_add(1)?)?;
                } else if t >= 32 {
                    let mut len = t & 31;
                    if len == 0 {
                        len = d.long_len(31)?;
                    }
                    let back = (d.peek(0)? >> 2) | (d.peek(1)? << 6);
                    d.skip(2)?;
                    d.copy_match(back, 1, len.checked_add(2)?)?;
                } else if t >= 16 {
                    let mut len = t & 7;
                    if len == 0 {
                        len = d.long_len(7)?;
                    }
                    // Bit 14 from the token, bits 0-5 and 6-13 from two bytes.
                    let back = ((t & 8) << 11) | (d.peek(0)? >> 2) | (d.peek(1)? << 6);
                    d.skip(2)?;
                    if back == 0 {
                        // End of stream marker.
                        return (d.ip == inp.len() && len == 1).then_some(d.op);
                    }
                    d.copy_match(back, 0x4000, len.checked_add(2)?)?;
                } else {
                    let back = (t >> 2) | (d.byte()? << 2);
                    d.copy_match(back, 1, 2)?;
                }
                next = done(&d, d.ip.checked_sub(2)?)?;
            }
            Next::Literals(t) => {
                d.literals(t)?;
                next = Next::Match(d.byte()?);
            }
        }
    }
    None
}

/// liblzo's goto targets: what the next token means.
enum Next {
    Start,
    FirstLiteralRun,
    Match(usize),
    Literals(usize),
}

/// After a match: the low two bits of the byte two back say how many
/// literals follow (0: back to the outer loop).
fn done(d: &Dec<'_, '_>, at: usize) -> Option<Next> {
    let t = *d.inp.get(at)? as usize & 3;
    Some(if t == 0 {
        Next::Start
    } else {
        Next::Literals(t)
    })
}

#[cfg(test)]
mod tests {
    use super::decompress;

    #[test]
    fn literal_only_stream() {
        // 0x11+4 = 21: 4 literals, then the end marker 0x11 0 0.
        let s = [21u8, b'a', b'b', b'c', b'd', 0x11, 0, 0];
        let mut out = [0u8; 4];
        assert_eq!(decompress(&s, &mut out), Some(4));
        assert_eq!(&out, b"abcd");
    }

    #[test]
    fn garbage_never_panics() {
        let mut out = [0u8; 64];
        for seed in 0..2000u32 {
            let v: Vec<u8> = (0..40u32)
                .map(|i| (seed.wrapping_mul(2654435761).wrapping_add(i * 40503) >> 7) as u8)
                .collect();
            let _ = decompress(&v, &mut out);
        }
    }
}
