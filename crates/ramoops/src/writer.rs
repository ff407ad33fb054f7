//! Writing a zone the way ram_core.c does (`persistent_ram_zap`,
//! `persistent_ram_write`, the per-block and header parity updates), so a
//! stock kernel's ramoops reads what we write. No allocation, no locks.

use crate::rs::{Codec, BLOCK_SIZE};
use crate::zone::{ZoneGeometry, ZoneHeader, HEADER_LEN, SIG_DBGC};
use crate::{Error, Result};

/// A writer over one zone's bytes (`zone.len() == geometry.zone_size`).
#[derive(Debug)]
pub struct ZoneWriter<'a> {
    zone: &'a mut [u8],
    geom: ZoneGeometry,
    codec: Option<&'a Codec>,
}

impl<'a> ZoneWriter<'a> {
    /// Wraps `zone`; `codec` must be given exactly when the geometry has ECC.
    pub fn new(zone: &'a mut [u8], geom: ZoneGeometry, codec: Option<&'a Codec>) -> Result<Self> {
        if zone.len() < geom.zone_size {
            return Err(Error::UnexpectedEof {
                offset: zone.len() as u64,
                needed: (geom.zone_size - zone.len()) as u64,
            });
        }
        match (geom.ecc, codec) {
            (Some(e), Some(c)) if e.nroots == c.nroots() => {}
            (None, None) => {}
            _ => return Err(Error::BadParams("codec does not match the zone's ECC size")),
        }
        Ok(ZoneWriter { zone, geom, codec })
    }

    /// The current header.
    pub fn header(&self) -> ZoneHeader {
        ZoneHeader::parse(self.zone).unwrap_or_default()
    }

    fn set_header(&mut self, h: ZoneHeader) {
        if let Some(dst) = self.zone.get_mut(..HEADER_LEN) {
            dst.copy_from_slice(&h.to_bytes());
        }
        self.update_header_ecc();
    }

    /// Gives a fresh zone its signature and empties it (what
    /// `persistent_ram_post_init` does on a zone with no valid signature).
    /// `sig_xor` is 0 for dmesg/console/pmsg, `LINUX_VERSION_CODE` for ftrace.
    pub fn format(&mut self, sig_xor: u32) {
        self.set_header(ZoneHeader {
            sig: SIG_DBGC ^ sig_xor,
            start: 0,
            size: 0,
        });
    }

    /// Empties the ring (`persistent_ram_zap`).
    pub fn zap(&mut self) {
        let sig = self.header().sig;
        self.set_header(ZoneHeader {
            sig,
            start: 0,
            size: 0,
        });
    }

    /// Appends `bytes` to the ring (`persistent_ram_write`): when more than
    /// the ring holds, only the tail is kept; `size` saturates, `start` wraps.
    pub fn write(&mut self, bytes: &[u8]) {
        let cap = self.geom.data_size;
        if cap == 0 {
            return;
        }
        let bytes = bytes.get(bytes.len().saturating_sub(cap)..).unwrap_or(&[]);
        let c = bytes.len();
        let mut h = self.header();
        // Clamp what a corrupted header might hold before doing arithmetic.
        let old_size = (h.size as usize).min(cap);
        let start = (h.start as usize).min(cap - 1);
        h.size = (old_size + c).min(cap) as u32;
        let mut new_start = start + c;
        if new_start >= cap {
            new_start -= cap;
        }
        h.start = new_start as u32;
        if let Some(dst) = self.zone.get_mut(..HEADER_LEN) {
            dst.copy_from_slice(&h.to_bytes());
        }
        let first = c.min(cap - start);
        self.update(start, bytes.get(..first).unwrap_or(&[]));
        if first < c {
            self.update(0, bytes.get(first..).unwrap_or(&[]));
        }
        self.update_header_ecc();
    }

    /// The data area, for callers that fill it in place (a panicking kernel
    /// has no spare buffer for a whole record); follow with
    /// [`commit_fresh`](Self::commit_fresh).
    pub fn data_mut(&mut self) -> &mut [u8] {
        let end = HEADER_LEN + self.geom.data_size;
        self.zone.get_mut(HEADER_LEN..end).unwrap_or(&mut [])
    }

    /// Accounts `len` bytes placed at the start of the data area of a zapped
    /// zone: the header and parity end up exactly as if [`zap`](Self::zap)
    /// then [`write`](Self::write) of those bytes had run.
    pub fn commit_fresh(&mut self, len: usize) {
        let cap = self.geom.data_size;
        let len = len.min(cap);
        let mut h = self.header();
        h.size = len as u32;
        h.start = if len == cap { 0 } else { len as u32 };
        if let Some(dst) = self.zone.get_mut(..HEADER_LEN) {
            dst.copy_from_slice(&h.to_bytes());
        }
        self.update_ecc(0, len);
        self.update_header_ecc();
    }

    fn update(&mut self, start: usize, bytes: &[u8]) {
        let lo = HEADER_LEN + start;
        if let Some(dst) = self.zone.get_mut(lo..lo + bytes.len()) {
            dst.copy_from_slice(bytes);
        }
        self.update_ecc(start, bytes.len());
    }

    /// Re-encodes the blocks touched by `[start, start + count)`
    /// (`persistent_ram_update_ecc`; the last block is cut at the data end).
    fn update_ecc(&mut self, start: usize, count: usize) {
        let (Some(ecc), Some(codec)) = (self.geom.ecc, self.codec) else {
            return;
        };
        let data_size = self.geom.data_size;
        let mut block = start / BLOCK_SIZE;
        let last = (start + count.max(1) - 1) / BLOCK_SIZE;
        while block <= last && block < ecc.blocks {
            let lo = HEADER_LEN + block * BLOCK_SIZE;
            let hi = HEADER_LEN + ((block + 1) * BLOCK_SIZE).min(data_size);
            let par_lo = block * ecc.nroots;
            let (body, parity) = self.zone.split_at_mut(HEADER_LEN + data_size);
            if let (Some(data), Some(p)) = (
                body.get(lo..hi),
                parity.get_mut(par_lo..par_lo + ecc.nroots),
            ) {
                // Lengths are valid by construction of the geometry.
                let _ = codec.encode(data, p);
            }
            block += 1;
        }
    }

    fn update_header_ecc(&mut self) {
        let (Some(off), Some(codec)) = (self.geom.header_parity_offset(), self.codec) else {
            return;
        };
        let n = codec.nroots();
        let (head, tail) = self.zone.split_at_mut(HEADER_LEN);
        if let Some(p) = tail.get_mut(off - HEADER_LEN..off - HEADER_LEN + n) {
            let _ = codec.encode(head, p);
        }
    }
}
