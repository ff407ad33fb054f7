//! One persistent RAM zone: the 12-byte header, the ring of data bytes, and the
//! optional Reed–Solomon parity tail (fs/pstore/ram_core.c).
//!
//! ```text
//! | sig u32 | start u32 | size u32 | data[data_size] | par[blocks * N] | header par[N] | (slack)
//! ```
//! `start` is where the next write goes; `size` counts valid bytes. Once the
//! ring wraps (`size == data_size`) the oldest byte is at `start`, so the
//! saved log is `data[start..size] ++ data[..start]` (`persistent_ram_save_old`).

use crate::rs::{Codec, Decoded, BLOCK_SIZE};
use crate::{Error, Result};

/// "DBGC", `PERSISTENT_RAM_SIG`. dmesg, console and pmsg zones store it as is;
/// ftrace zones store it XORed with `LINUX_VERSION_CODE` (ram.c passes the
/// version as the zone `sig`, ram_core.c XORs it with this constant).
pub const SIG_DBGC: u32 = 0x4347_4244;
/// `sizeof(struct persistent_ram_buffer)`: sig, start, size.
pub const HEADER_LEN: usize = 12;

/// The decoded zone header, in the little-endian byte order of x86 and arm64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ZoneHeader {
    /// Signature, [`SIG_DBGC`] XOR the zone type's value.
    pub sig: u32,
    /// Ring offset where the next byte will be written.
    pub start: u32,
    /// Number of valid bytes in the ring.
    pub size: u32,
}

impl ZoneHeader {
    /// Reads a header from the first 12 bytes of `bytes`.
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        let (sig, rest) = bytes.split_first_chunk::<4>()?;
        let (start, rest) = rest.split_first_chunk::<4>()?;
        let (size, _) = rest.split_first_chunk::<4>()?;
        Some(ZoneHeader {
            sig: u32::from_le_bytes(*sig),
            start: u32::from_le_bytes(*start),
            size: u32::from_le_bytes(*size),
        })
    }

    /// The 12 bytes of this header.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0..4].copy_from_slice(&self.sig.to_le_bytes());
        out[4..8].copy_from_slice(&self.start.to_le_bytes());
        out[8..12].copy_from_slice(&self.size.to_le_bytes());
        out
    }

    /// What the signature says about the zone.
    pub fn signature(&self) -> Signature {
        Signature::classify(self.sig)
    }
}

/// A zone signature, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signature {
    /// Exactly "DBGC": a dmesg, console or pmsg zone.
    Plain,
    /// "DBGC" XOR a `LINUX_VERSION_CODE`: an ftrace zone written by that kernel.
    Versioned {
        /// The kernel version code, `(major << 16) | (minor << 8) | patch`.
        version_code: u32,
    },
    /// Anything else: no zone here, or a corrupted header.
    Invalid,
}

impl Signature {
    /// Classifies a raw signature word.
    pub fn classify(sig: u32) -> Self {
        let v = sig ^ SIG_DBGC;
        if v == 0 {
            Signature::Plain
        } else if (2..=9).contains(&(v >> 16)) && (v >> 8) & 0xff < 64 {
            // KERNEL_VERSION packs (major << 16) | (minor << 8) | patch; real
            // kernels have majors 2..9 and minors below 64.
            Signature::Versioned { version_code: v }
        } else {
            Signature::Invalid
        }
    }
}

/// Where parity lives in a zone of a given size (`persistent_ram_init_ecc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EccGeometry {
    /// Parity bytes per block (the ramoops `ecc` parameter; 1 means 16 there).
    pub nroots: usize,
    /// Number of parity blocks covering the data area.
    pub blocks: usize,
}

/// The geometry of one zone: total size, data capacity, parity placement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZoneGeometry {
    /// Bytes the zone occupies in the region, header included.
    pub zone_size: usize,
    /// Bytes of ring data (`prz->buffer_size` after ECC).
    pub data_size: usize,
    /// Parity layout, when ECC is on.
    pub ecc: Option<EccGeometry>,
}

impl ZoneGeometry {
    /// Computes the layout of a zone of `zone_size` bytes with `nroots` parity
    /// bytes per 128-byte block (0 = no ECC), exactly as ram_core.c does:
    /// `ecc_blocks = DIV_ROUND_UP(buffer_size - N, 128 + N)`, and the data area
    /// shrinks by `(ecc_blocks + 1) * N`, which must stay below `buffer_size`.
    pub fn new(zone_size: usize, nroots: usize) -> Result<Self> {
        let buffer_size = zone_size
            .checked_sub(HEADER_LEN)
            .ok_or(Error::ZoneTooSmall { zone_size })?;
        if nroots == 0 {
            return Ok(ZoneGeometry {
                zone_size,
                data_size: buffer_size,
                ecc: None,
            });
        }
        if nroots > crate::rs::MAX_ROOTS {
            return Err(Error::BadEccSize { ecc: nroots });
        }
        let bad = Error::BadEccSize { ecc: nroots };
        // nroots <= MAX_ROOTS keeps the stride small; checked all the same.
        let stride = BLOCK_SIZE.checked_add(nroots).ok_or(bad)?;
        let blocks = buffer_size.checked_sub(nroots).ok_or(bad)?.div_ceil(stride);
        let total = blocks
            .checked_add(1)
            .and_then(|b| b.checked_mul(nroots))
            .ok_or(bad)?;
        // The parity must leave at least one data byte (total < buffer_size).
        let data_size = buffer_size
            .checked_sub(total)
            .filter(|&d| d > 0)
            .ok_or(bad)?;
        Ok(ZoneGeometry {
            zone_size,
            data_size,
            ecc: Some(EccGeometry { nroots, blocks }),
        })
    }

    /// Zone offset where the data area ends and the parity starts; `None`
    /// only for a hand-made geometry past the address space.
    pub fn data_end(&self) -> Option<usize> {
        HEADER_LEN.checked_add(self.data_size)
    }

    /// Offset (from the zone start) of block `i`'s parity; `None` without
    /// ECC or past the address space.
    pub fn block_parity_offset(&self, i: usize) -> Option<usize> {
        let ecc = self.ecc?;
        self.data_end()?.checked_add(i.checked_mul(ecc.nroots)?)
    }

    /// Offset (from the zone start) of the header's parity.
    pub fn header_parity_offset(&self) -> Option<usize> {
        self.block_parity_offset(self.ecc?.blocks)
    }
}

/// ECC findings for one zone, as ram_core.c counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EccStatus {
    /// Symbols corrected, header and data blocks together (`corrected_bytes`).
    pub corrected_bytes: u32,
    /// Blocks (header included) with more errors than the parity corrects.
    pub bad_blocks: u32,
    /// The header itself was uncorrectable.
    pub header_bad: bool,
}

impl EccStatus {
    fn add(&mut self, d: Decoded) -> bool {
        match d {
            Decoded::Clean => true,
            Decoded::Corrected(n) => {
                self.corrected_bytes = self.corrected_bytes.saturating_add(n as u32);
                true
            }
            Decoded::Uncorrectable => {
                self.bad_blocks = self.bad_blocks.saturating_add(1);
                false
            }
        }
    }

    /// The notice Linux appends to each record read from an ECC zone
    /// (`persistent_ram_ecc_string`), written into `out`; returns its length.
    pub fn notice<'b>(&self, out: &'b mut [u8; 64]) -> &'b [u8] {
        let mut w = crate::fmt::ByteWriter::new(out);
        if self.corrected_bytes != 0 || self.bad_blocks != 0 {
            w.put(b"\nECC: ");
            w.put_u64(self.corrected_bytes as u64);
            w.put(b" Corrected bytes, ");
            w.put_u64(self.bad_blocks as u64);
            w.put(b" unrecoverable blocks\n");
        } else {
            w.put(b"\nECC: No errors detected\n");
        }
        let n = w.len();
        out.get(..n).unwrap_or(&[])
    }
}

/// Decodes the header parity and corrects the header in place, as
/// `persistent_ram_init_ecc` does before anything looks at the signature.
pub fn correct_header(
    zone: &mut [u8],
    geom: &ZoneGeometry,
    codec: &Codec,
    status: &mut EccStatus,
) -> Result<()> {
    let Some(off) = geom.header_parity_offset() else {
        return Ok(());
    };
    let n = codec.nroots();
    let (head, rest) = split_at(zone, HEADER_LEN)?;
    // off >= HEADER_LEN for any geometry; rest starts at HEADER_LEN.
    let par = off
        .checked_sub(HEADER_LEN)
        .and_then(|o| rest.get(o..))
        .and_then(|r| r.get(..n))
        .ok_or(Error::UnexpectedEof {
            offset: off as u64,
            needed: n as u64,
        })?;
    let d = codec.decode(head, par).map_err(Error::Ecc)?;
    if !status.add(d) {
        status.header_bad = true;
    }
    Ok(())
}

/// Decodes every data block up to the header's `size`, correcting in place
/// (`persistent_ram_ecc_old`: the loop runs while the block starts below
/// `size`, and the last block is cut at the data area's end).
pub fn correct_data(
    zone: &mut [u8],
    geom: &ZoneGeometry,
    codec: &Codec,
    valid: usize,
    status: &mut EccStatus,
) -> Result<()> {
    let Some(ecc) = geom.ecc else {
        return Ok(());
    };
    let zone_len = zone.len();
    let data_end = geom
        .data_end()
        .ok_or(Error::BadParams("zone geometry past the address space"))?;
    let (body, parity) = split_at(zone, data_end)?;
    let data = body.get_mut(HEADER_LEN..).unwrap_or(&mut []);
    // Blocks starting below `valid`: the last one is cut at the data end,
    // which chunks_mut does.
    let blocks = valid
        .min(geom.data_size)
        .div_ceil(BLOCK_SIZE)
        .min(ecc.blocks);
    if ecc.nroots == 0 {
        // A hand-made geometry; chunks_exact needs a non-zero size.
        return Err(Error::BadEccSize { ecc: 0 });
    }
    let mut pars = parity.chunks_exact(ecc.nroots);
    for chunk in data.chunks_mut(BLOCK_SIZE).take(blocks) {
        let par = pars.next().ok_or(Error::UnexpectedEof {
            offset: zone_len as u64,
            needed: ecc.nroots as u64,
        })?;
        status.add(codec.decode(chunk, par).map_err(Error::Ecc)?);
    }
    Ok(())
}

fn split_at(zone: &mut [u8], at: usize) -> Result<(&mut [u8], &mut [u8])> {
    if zone.len() < at {
        return Err(Error::UnexpectedEof {
            offset: zone.len() as u64,
            // at > zone.len(): the distance is what is missing.
            needed: at.abs_diff(zone.len()) as u64,
        });
    }
    Ok(zone.split_at_mut(at))
}

/// Where the saved ("old") log lies in the data area: `data[start..size]`
/// then `data[..start]`. `None` when `start > size` or `size` exceeds the data
/// area; Linux zaps such a zone ("found existing invalid buffer").
pub fn old_log_ranges(
    header: &ZoneHeader,
    data_size: usize,
) -> Option<(core::ops::Range<usize>, core::ops::Range<usize>)> {
    let size = header.size as usize;
    let start = header.start as usize;
    if size > data_size || start > size {
        return None;
    }
    Some((start..size, 0..start))
}

#[cfg(test)]
mod tests {
    // Test arithmetic on known small values; overflow would fail the test.
    #![allow(clippy::arithmetic_side_effects)]
    use super::*;

    #[test]
    fn geometry_matches_ram_core_arithmetic() {
        // A 0x4000 zone with ecc=16: buffer 16372; blocks = ceil((16372-16)/144) = 114;
        // data = 16372 - 115*16 = 14532.
        let g = ZoneGeometry::new(0x4000, 16).unwrap();
        assert_eq!(g.ecc.unwrap().blocks, 114);
        assert_eq!(g.data_size, 14532);
        assert_eq!(g.header_parity_offset(), Some(12 + 14532 + 114 * 16));
        assert!(g.header_parity_offset().unwrap() + 16 <= 0x4000);
        assert_eq!(ZoneGeometry::new(0x4000, 0).unwrap().data_size, 0x4000 - 12);
        assert!(ZoneGeometry::new(8, 0).is_err());
        assert!(ZoneGeometry::new(40, 16).is_err());
    }

    #[test]
    fn signatures() {
        assert_eq!(Signature::classify(SIG_DBGC), Signature::Plain);
        assert_eq!(
            Signature::classify(SIG_DBGC ^ 0x0601c0),
            Signature::Versioned {
                version_code: 0x0601c0
            }
        );
        assert_eq!(Signature::classify(0), Signature::Invalid);
        assert_eq!(Signature::classify(0xffff_ffff), Signature::Invalid);
    }

    #[test]
    fn notice_text() {
        let mut buf = [0u8; 64];
        assert_eq!(
            EccStatus::default().notice(&mut buf),
            b"\nECC: No errors detected\n"
        );
        let s = EccStatus {
            corrected_bytes: 16,
            bad_blocks: 2,
            header_bad: false,
        };
        assert_eq!(
            s.notice(&mut buf),
            b"\nECC: 16 Corrected bytes, 2 unrecoverable blocks\n"
        );
    }
}
