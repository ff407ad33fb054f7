//! Reed–Solomon codec byte-compatible with Linux's `lib/reed_solomon` as ramoops
//! configures it: `init_rs(symsize 8, gfpoly 0x11d, fcr 0, prim 1, nroots N)`
//! (fs/pstore/ram_core.c, `persistent_ram_init_ecc`), used through
//! `encode_rs8`/`decode_rs8` on shortened blocks.
//!
//! The arithmetic follows the published algorithm (Phil Karn's, as adapted in
//! lib/reed_solomon/decode_rs.c): syndromes, Berlekamp–Massey, Chien search,
//! Forney, then a re-check of the error syndrome. The same rejection rules are
//! applied (root count ≠ locator degree, an error located in the shortened
//! padding, a correction pattern whose syndrome does not match) so a block that
//! Linux declares uncorrectable is uncorrectable here too, and a block Linux
//! "corrects" is corrected to the same bytes.
//!
//! Everything is fixed-size: no allocation, bounded loops, and each symbol
//! (polynomial or index form) fits a `u8` because the field has 255 elements
//! and index 255 stands for zero.

// The decoder is polynomial arithmetic over several arrays at once; explicit
// indices mirror the math and Linux's formulation, which makes review easier.
// Every index is bounded by construction: symbols and logarithms are u8 into
// 256-entry tables, polynomial indices are < nroots + 1 <= MAX_ROOTS + 1 (the
// arrays' size, checked in Codec::new), and modnn() keeps exponents < 255.
//
// Exponent arithmetic (sums and products of logarithms, reduced mod 255 by
// the table lookup) uses wrapping_* in the few helpers below: the operands
// are below 2^16, so nothing wraps, and the hot loops of encode and decode
// keep plain adds with no overflow branch. Polynomial indices are walked
// with iterators instead of computed.
#![allow(clippy::needless_range_loop, clippy::indexing_slicing)]

/// Symbols per codeword: `2^8 - 1`.
const NN: usize = 255;
/// Index-form representation of the zero element (`log(0) = -inf`).
const A0: u8 = NN as u8;
/// The field polynomial ramoops uses (x^8 + x^4 + x^3 + x^2 + 1).
pub const GF_POLY: u16 = 0x11d;
/// The largest parity count a block of [`BLOCK_SIZE`] data bytes allows.
pub const MAX_ROOTS: usize = NN - BLOCK_SIZE;
/// ramoops' ECC block size (`ecc_info->block_size ?: 128`).
pub const BLOCK_SIZE: usize = 128;

/// `alpha_to[i] = α^i` and `index_of[x] = log_α(x)` for GF(2^8) over
/// [`GF_POLY`]; `exp2[i] = α^(i mod 255)` for `i < 512` so that the sum of two
/// logarithms needs no modulo on hot paths.
struct Tables {
    alpha_to: [u8; 256],
    index_of: [u8; 256],
    exp2: [u8; 512],
}

// Only evaluated at compile time (for TABLES), where an overflow or an
// out-of-range index is a build error, not a wrong table.
#[allow(clippy::arithmetic_side_effects)]
const fn build_tables() -> Tables {
    let mut alpha_to = [0u8; 256];
    let mut index_of = [0u8; 256];
    index_of[0] = A0;
    alpha_to[NN] = 0;
    let mut sr: u16 = 1;
    let mut i = 0;
    while i < NN {
        index_of[sr as usize] = i as u8;
        alpha_to[i] = sr as u8;
        sr <<= 1;
        if sr & 0x100 != 0 {
            sr ^= GF_POLY;
        }
        sr &= NN as u16;
        i += 1;
    }
    let mut exp2 = [0u8; 512];
    let mut i = 0;
    while i < 512 {
        exp2[i] = alpha_to[i % NN];
        i += 1;
    }
    Tables {
        alpha_to,
        index_of,
        exp2,
    }
}

static TABLES: Tables = build_tables();

#[inline]
fn modnn(x: usize) -> usize {
    x % NN
}

#[inline]
fn alpha(i: usize) -> u8 {
    TABLES.alpha_to[modnn(i)]
}

/// `α^(a + b)` for two logarithms below 256 (so `a + b < 512`, which
/// cannot wrap).
#[inline]
fn alpha_sum(a: u8, b: u8) -> u8 {
    TABLES.exp2[usize::from(a).wrapping_add(usize::from(b))]
}

/// `α^(e + i·x)` for a logarithm `e` and `i`, `x` below 256: the power
/// series of Forney's algorithm and of the syndrome re-check. The terms are
/// below 2^17, so nothing wraps; `alpha` reduces mod 255.
#[inline]
fn alpha_pow(e: u8, i: usize, x: usize) -> u8 {
    alpha(usize::from(e).wrapping_add(i.wrapping_mul(x)))
}

/// `(a + b) mod 255` for two exponents below 256, as an exponent.
#[inline]
fn exp_add(a: u8, b: u8) -> u8 {
    modnn(usize::from(a).wrapping_add(usize::from(b))) as u8
}

/// `(a - b) mod 255` for an exponent `a` below 255 and `b <= 255` (so
/// `NN - b` cannot wrap; `b` = 255 is `log(0)`, subtracting nothing).
#[inline]
fn exp_sub(a: u8, b: u8) -> u8 {
    modnn(usize::from(a).wrapping_add(NN.wrapping_sub(usize::from(b)))) as u8
}

#[inline]
fn log(x: u8) -> u8 {
    TABLES.index_of[x as usize]
}

/// Why a codec could not be built or a block could not be processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RsError {
    /// `nroots` outside `1..=MAX_ROOTS`.
    BadRootCount(usize),
    /// Data length plus parity does not fit a 255-symbol codeword.
    BadLength(usize),
    /// Parity slice shorter than `nroots`.
    ShortParity(usize),
}

/// What decoding one block found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded {
    /// The block and its parity form a codeword.
    Clean,
    /// This many symbols (data or parity) were corrected; data was fixed in place.
    Corrected(usize),
    /// More errors than the parity can correct; data is left untouched.
    Uncorrectable,
}

/// A Reed–Solomon codec for one parity size, as `init_rs(8, 0x11d, 0, 1, nroots)`.
#[derive(Clone, Copy)]
pub struct Codec {
    nroots: usize,
    /// Generator polynomial in index form, `genpoly[0..=nroots]`.
    genpoly: [u8; MAX_ROOTS + 1],
}

impl core::fmt::Debug for Codec {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Codec")
            .field("nroots", &self.nroots)
            .finish()
    }
}

impl Codec {
    /// Builds the codec for `nroots` parity bytes per block.
    pub fn new(nroots: usize) -> Result<Self, RsError> {
        if nroots == 0 || nroots > MAX_ROOTS {
            return Err(RsError::BadRootCount(nroots));
        }
        // Generator g(x) = prod_{i<nroots} (x + α^(fcr+i)·prim) with fcr 0, prim 1,
        // built in polynomial form and stored in index form.
        let mut g = [0u8; MAX_ROOTS + 1];
        g[0] = 1;
        // root < nroots <= MAX_ROOTS, so it fits a u8 and g[..=root+1] the array.
        for root in 0..nroots as u8 {
            // Multiply by (x + α^root): g[j] = g[j-1] + g[j]·α^root, from the
            // top coefficient (new, 1) down to g[1]; then g[0]·α^root.
            let deg = usize::from(root);
            let (lower, upper) = g.split_at_mut(deg);
            upper[1] = 1;
            let mut hi = &mut upper[0];
            for lo in lower.iter_mut().rev() {
                *hi = if *hi != 0 {
                    *lo ^ alpha_sum(log(*hi), root)
                } else {
                    *lo
                };
                hi = lo;
            }
            *hi = alpha_sum(log(*hi), root);
        }
        let mut genpoly = [A0; MAX_ROOTS + 1];
        for (dst, &src) in genpoly
            .iter_mut()
            .zip(g.iter())
            .take(nroots.wrapping_add(1))
        {
            *dst = log(src);
        }
        Ok(Codec { nroots, genpoly })
    }

    /// Parity bytes per block.
    pub fn nroots(&self) -> usize {
        self.nroots
    }

    fn check_len(&self, len: usize) -> Result<usize, RsError> {
        // pad = nn - nroots - len must be in 0..nn-nroots (decode_rs.c BUG_ON).
        match NN.checked_sub(self.nroots).and_then(|k| k.checked_sub(len)) {
            Some(pad) if len > 0 => Ok(pad),
            _ => Err(RsError::BadLength(len)),
        }
    }

    /// Computes the parity of `data` into `parity[..nroots]` (`encode_rs8` with a
    /// zeroed parity buffer and `invmsk` 0).
    pub fn encode(&self, data: &[u8], parity: &mut [u8]) -> Result<(), RsError> {
        let nroots = self.nroots;
        self.check_len(data.len())?;
        let have = parity.len();
        let par = parity.get_mut(..nroots).ok_or(RsError::ShortParity(have))?;
        par.fill(0);
        // par[j] += fb·genpoly[nroots - j] for j in 1..nroots, then shift.
        let gen_high = &self.genpoly[1..nroots];
        for &d in data {
            let fb = log(d ^ par[0]);
            if fb != A0 {
                for (p, &g) in par[1..].iter_mut().zip(gen_high.iter().rev()) {
                    *p ^= alpha_sum(fb, g);
                }
            }
            par.copy_within(1.., 0);
            if let Some(last) = par.last_mut() {
                *last = if fb != A0 {
                    alpha_sum(fb, self.genpoly[0])
                } else {
                    0
                };
            }
        }
        Ok(())
    }

    /// Checks `data` against `parity` and corrects `data` in place when the
    /// errors are within capacity (`decode_rs8` without erasures). `parity` is
    /// read only: like ram_core.c, which decodes a copy of the stored parity,
    /// corrections that fall in the parity are counted but not written back.
    pub fn decode(&self, data: &mut [u8], parity: &[u8]) -> Result<Decoded, RsError> {
        let nroots = self.nroots;
        let len = data.len();
        let pad = self.check_len(len)?;
        let par = parity
            .get(..nroots)
            .ok_or(RsError::ShortParity(parity.len()))?;

        // Syndromes: evaluate the received word at α^(fcr+i)·prim = α^i.
        let mut s = [0u8; MAX_ROOTS];
        let s = &mut s[..nroots];
        for (i, syn) in s.iter_mut().enumerate() {
            let mut acc = 0u8;
            for &sym in data.iter().chain(par.iter()) {
                acc = if acc == 0 {
                    sym
                } else {
                    sym ^ alpha_sum(log(acc), i as u8)
                };
            }
            *syn = acc;
        }
        if s.iter().all(|&x| x == 0) {
            return Ok(Decoded::Clean);
        }
        for syn in s.iter_mut() {
            *syn = log(*syn);
        }

        // Berlekamp–Massey: error locator lambda(x), polynomial form.
        let mut lambda = [0u8; MAX_ROOTS + 1];
        let mut b = [A0; MAX_ROOTS + 1];
        let mut t = [0u8; MAX_ROOTS + 1];
        lambda[0] = 1;
        b[0] = log(1);
        let mut el = 0usize;
        for r in 1..=nroots {
            // discr = sum over i < r of lambda[i]·s[r - 1 - i].
            let mut discr = 0u8;
            for (&l, &sv) in lambda[..r].iter().zip(s[..r].iter().rev()) {
                if l != 0 && sv != A0 {
                    discr ^= alpha_sum(log(l), sv);
                }
            }
            let discr = log(discr);
            if discr == A0 {
                b.copy_within(0..nroots, 1);
                b[0] = A0;
            } else {
                t[0] = lambda[0];
                for ((ti, &li), &bi) in t[1..=nroots]
                    .iter_mut()
                    .zip(&lambda[1..=nroots])
                    .zip(&b[..nroots])
                {
                    *ti = if bi != A0 {
                        li ^ alpha_sum(discr, bi)
                    } else {
                        li
                    };
                }
                // 2·el < r, written without the product; el <= r.
                if el < r.div_ceil(2) {
                    el = r.wrapping_sub(el);
                    for (bi, &li) in b[..=nroots].iter_mut().zip(&lambda[..=nroots]) {
                        *bi = if li == 0 { A0 } else { exp_sub(log(li), discr) };
                    }
                } else {
                    b.copy_within(0..nroots, 1);
                    b[0] = A0;
                }
                lambda[..=nroots].copy_from_slice(&t[..=nroots]);
            }
        }

        // Locator to index form; its degree.
        let mut deg_lambda = 0usize;
        for (i, l) in lambda[..=nroots].iter_mut().enumerate() {
            *l = log(*l);
            if *l != A0 {
                deg_lambda = i;
            }
        }
        if deg_lambda == 0 {
            return Ok(Decoded::Uncorrectable);
        }

        // Chien search for the locator's roots; iprim is 1 because prim is 1,
        // so the position k of root α^i is i - 1.
        let mut reg = [A0; MAX_ROOTS + 1];
        reg[1..=nroots].copy_from_slice(&lambda[1..=nroots]);
        let mut root = [0u8; MAX_ROOTS];
        let mut loc = [0usize; MAX_ROOTS];
        let mut count = 0usize;
        for (k, i) in (1..=NN).enumerate() {
            let mut q = 1u8;
            // j <= deg_lambda <= MAX_ROOTS fits a u8.
            for (j, rj) in reg[..=deg_lambda].iter_mut().enumerate().skip(1) {
                if *rj != A0 {
                    *rj = exp_add(*rj, j as u8);
                    q ^= TABLES.alpha_to[*rj as usize];
                }
            }
            if q == 0 {
                if k < pad {
                    // A root in the shortened (virtual zero) part: impossible.
                    return Ok(Decoded::Uncorrectable);
                }
                root[count] = i as u8;
                loc[count] = k;
                // count < deg_lambda <= MAX_ROOTS here.
                count = count.wrapping_add(1);
                if count == deg_lambda {
                    break;
                }
            }
        }
        if count != deg_lambda {
            return Ok(Decoded::Uncorrectable);
        }

        // Error evaluator omega(x) = s(x)·lambda(x) mod x^nroots, index form;
        // its degree is deg_lambda - 1 (deg_lambda >= 1 here).
        let mut omega = [A0; MAX_ROOTS + 1];
        for (i, om) in omega.iter_mut().enumerate().take(deg_lambda) {
            // sum over j <= i of s[i - j]·lambda[j].
            let mut tmp = 0u8;
            for (&sv, &lv) in s[..=i].iter().rev().zip(&lambda[..=i]) {
                if sv != A0 && lv != A0 {
                    tmp ^= alpha_sum(sv, lv);
                }
            }
            *om = log(tmp);
        }
        let omega = &omega[..deg_lambda];

        // Forney: error values; b[] is reused for the correction pattern.
        for (&rj, bj) in root[..count].iter().zip(b.iter_mut()) {
            let rj = usize::from(rj);
            let mut num1 = 0u8;
            for (i, &om) in omega.iter().enumerate() {
                if om != A0 {
                    num1 ^= alpha_pow(om, i, rj);
                }
            }
            if num1 == 0 {
                *bj = 0;
                continue;
            }
            // num2 = inv(X)^(fcr-1) = α^(nn - root) for fcr 0; root <= NN.
            let num2 = alpha(NN.wrapping_sub(rj));
            // den = sum over even i <= min(deg_lambda, nroots - 1) of
            // lambda[i + 1]·X^i; lambda[1..=nroots] has exactly nroots terms.
            let mut den = 0u8;
            for (i, &l) in lambda[1..=nroots].iter().enumerate().step_by(2) {
                if i > deg_lambda {
                    break;
                }
                if l != A0 {
                    den ^= alpha_pow(l, i, rj);
                }
            }
            // den == 0 has log 255 (Linux's A0); the result is then junk that
            // the syndrome re-check below rejects, exactly as in Linux.
            *bj = alpha_sum(exp_add(log(num1), log(num2)), exp_sub(0, log(den)));
        }
        // Every value b[j] set from alpha() is non-zero (alpha_to[..NN] has no 0).
        let corrected = b[..count].iter().filter(|&&v| v != 0).count();

        // The correction's own syndrome must equal the received one.
        for (i, &si) in s.iter().enumerate() {
            let mut tmp = 0u8;
            for (&bj, &lj) in b[..count].iter().zip(&loc[..count]) {
                if bj == 0 {
                    continue;
                }
                // lj < NN, so NN - 1 - lj cannot wrap.
                tmp ^= alpha_pow(log(bj), i, (NN - 1).wrapping_sub(lj));
            }
            if tmp != TABLES.alpha_to[si as usize] {
                return Ok(Decoded::Uncorrectable);
            }
        }

        // Positions pad.. are the data; those past it are parity, which is
        // read only (its corrections are counted, not written back).
        for (&bj, &lj) in b[..count].iter().zip(&loc[..count]) {
            if let Some(d) = lj.checked_sub(pad).and_then(|p| data.get_mut(p)) {
                *d ^= bj;
            }
        }
        Ok(Decoded::Corrected(corrected))
    }
}

#[cfg(test)]
mod tests {
    // Test arithmetic on known small values; overflow would fail the test.
    #![allow(clippy::arithmetic_side_effects)]
    use super::*;

    #[test]
    fn field_tables_are_a_permutation() {
        let mut seen = [false; 256];
        for i in 0..NN {
            let v = TABLES.alpha_to[i] as usize;
            assert!(!seen[v], "α^{i} repeats");
            seen[v] = true;
            assert_eq!(TABLES.index_of[v] as usize, i);
        }
        assert!(!seen[0]);
    }

    #[test]
    fn corrects_up_to_half_the_parity() {
        let codec = Codec::new(16).unwrap();
        let mut data = [0u8; 128];
        for (i, d) in data.iter_mut().enumerate() {
            *d = (i * 7 + 3) as u8;
        }
        let mut par = [0u8; 16];
        codec.encode(&data, &mut par).unwrap();
        let orig = data;
        for (n, pos) in [3usize, 40, 77, 100, 120, 127, 0, 64].iter().enumerate() {
            data[*pos] ^= 0x5a + n as u8;
        }
        assert_eq!(
            codec.decode(&mut data, &par).unwrap(),
            Decoded::Corrected(8)
        );
        assert_eq!(data, orig);
    }

    #[test]
    fn shortened_block_roundtrip() {
        let codec = Codec::new(32).unwrap();
        let mut data = *b"a short block of twelve+ bytes";
        let mut par = [0u8; 32];
        codec.encode(&data, &mut par).unwrap();
        data[5] ^= 1;
        assert_eq!(
            codec.decode(&mut data, &par).unwrap(),
            Decoded::Corrected(1)
        );
        assert_eq!(&data, b"a short block of twelve+ bytes");
    }

    #[test]
    fn rejects_bad_parameters() {
        assert!(Codec::new(0).is_err());
        assert!(Codec::new(MAX_ROOTS + 1).is_err());
        let codec = Codec::new(16).unwrap();
        let mut par = [0u8; 16];
        assert_eq!(
            codec.encode(&[0u8; 240], &mut par),
            Err(RsError::BadLength(240))
        );
        assert_eq!(codec.encode(&[], &mut par), Err(RsError::BadLength(0)));
        assert_eq!(
            codec.encode(&[1], &mut par[..3]),
            Err(RsError::ShortParity(3))
        );
    }
}
