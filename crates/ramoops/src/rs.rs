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

/// `α^(a + b)` for two logarithms below 256 (so `a + b < 512`).
#[inline]
fn alpha_sum(a: u8, b: u8) -> u8 {
    TABLES.exp2[a as usize + b as usize]
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
        for i in 0..nroots {
            let root = i;
            g[i + 1] = 1;
            let mut j = i;
            while j > 0 {
                g[j] = if g[j] != 0 {
                    g[j - 1] ^ alpha(log(g[j]) as usize + root)
                } else {
                    g[j - 1]
                };
                j -= 1;
            }
            g[0] = alpha(log(g[0]) as usize + root);
        }
        let mut genpoly = [A0; MAX_ROOTS + 1];
        for (dst, &src) in genpoly.iter_mut().zip(g.iter()).take(nroots + 1) {
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
        match (NN - self.nroots).checked_sub(len) {
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
        for &d in data {
            let fb = log(d ^ par[0]);
            if fb != A0 {
                for j in 1..nroots {
                    par[j] ^= alpha_sum(fb, self.genpoly[nroots - j]);
                }
            }
            par.copy_within(1.., 0);
            par[nroots - 1] = if fb != A0 {
                alpha_sum(fb, self.genpoly[0])
            } else {
                0
            };
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
            let mut discr = 0u8;
            for i in 0..r {
                if lambda[i] != 0 && s[r - i - 1] != A0 {
                    discr ^= alpha(log(lambda[i]) as usize + s[r - i - 1] as usize);
                }
            }
            let discr = log(discr);
            if discr == A0 {
                b.copy_within(0..nroots, 1);
                b[0] = A0;
            } else {
                t[0] = lambda[0];
                for i in 0..nroots {
                    t[i + 1] = if b[i] != A0 {
                        lambda[i + 1] ^ alpha(discr as usize + b[i] as usize)
                    } else {
                        lambda[i + 1]
                    };
                }
                if 2 * el < r {
                    el = r - el;
                    for i in 0..=nroots {
                        b[i] = if lambda[i] == 0 {
                            A0
                        } else {
                            modnn(log(lambda[i]) as usize + NN - discr as usize) as u8
                        };
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
        for (i, l) in lambda.iter_mut().enumerate().take(nroots + 1) {
            *l = log(*l);
            if *l != A0 {
                deg_lambda = i;
            }
        }
        if deg_lambda == 0 {
            return Ok(Decoded::Uncorrectable);
        }

        // Chien search for the locator's roots; iprim is 1 because prim is 1.
        let mut reg = [A0; MAX_ROOTS + 1];
        reg[1..=nroots].copy_from_slice(&lambda[1..=nroots]);
        let mut root = [0u8; MAX_ROOTS];
        let mut loc = [0usize; MAX_ROOTS];
        let mut count = 0usize;
        let mut k = 0usize; // iprim - 1
        for i in 1..=NN {
            let mut q = 1u8;
            for j in (1..=deg_lambda).rev() {
                if reg[j] != A0 {
                    reg[j] = modnn(reg[j] as usize + j) as u8;
                    q ^= TABLES.alpha_to[reg[j] as usize];
                }
            }
            if q == 0 {
                if k < pad {
                    // A root in the shortened (virtual zero) part: impossible.
                    return Ok(Decoded::Uncorrectable);
                }
                root[count] = i as u8;
                loc[count] = k;
                count += 1;
                if count == deg_lambda {
                    break;
                }
            }
            k = modnn(k + 1);
        }
        if count != deg_lambda {
            return Ok(Decoded::Uncorrectable);
        }

        // Error evaluator omega(x) = s(x)·lambda(x) mod x^nroots, index form.
        let deg_omega = deg_lambda - 1;
        let mut omega = [A0; MAX_ROOTS + 1];
        for i in 0..=deg_omega {
            let mut tmp = 0u8;
            for j in 0..=i {
                if s[i - j] != A0 && lambda[j] != A0 {
                    tmp ^= alpha(s[i - j] as usize + lambda[j] as usize);
                }
            }
            omega[i] = log(tmp);
        }

        // Forney: error values; b[] is reused for the correction pattern.
        let mut corrected = 0usize;
        for j in (0..count).rev() {
            let rj = root[j] as usize;
            let mut num1 = 0u8;
            for i in (0..=deg_omega).rev() {
                if omega[i] != A0 {
                    num1 ^= alpha(omega[i] as usize + i * rj);
                }
            }
            if num1 == 0 {
                b[j] = 0;
                continue;
            }
            // num2 = inv(X)^(fcr-1) = α^(nn - root) for fcr 0.
            let num2 = alpha(NN - rj);
            let mut den = 0u8;
            let top = deg_lambda.min(nroots - 1) & !1;
            let mut i = top as isize;
            while i >= 0 {
                let iu = i as usize;
                if lambda[iu + 1] != A0 {
                    den ^= alpha(lambda[iu + 1] as usize + iu * rj);
                }
                i -= 2;
            }
            // den == 0 has log 255 (Linux's A0); the result is then junk that
            // the syndrome re-check below rejects, exactly as in Linux.
            b[j] = alpha(log(num1) as usize + log(num2) as usize + NN - log(den) as usize);
            corrected += 1;
        }

        // The correction's own syndrome must equal the received one.
        for (i, &si) in s.iter().enumerate() {
            let mut tmp = 0u8;
            for j in 0..count {
                if b[j] == 0 {
                    continue;
                }
                let kk = i * (NN - loc[j] - 1);
                tmp ^= alpha(log(b[j]) as usize + kk);
            }
            if tmp != TABLES.alpha_to[si as usize] {
                return Ok(Decoded::Uncorrectable);
            }
        }

        for j in 0..count {
            if loc[j] < NN - nroots {
                if let Some(d) = data.get_mut(loc[j] - pad) {
                    *d ^= b[j];
                }
            }
        }
        Ok(Decoded::Corrected(corrected))
    }
}

#[cfg(test)]
mod tests {
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
