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
                // zone.len() < zone_size here: the distance is what is missing.
                needed: geom.zone_size.abs_diff(zone.len()) as u64,
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
        // A zone with no data bytes takes nothing.
        let Some(last) = cap.checked_sub(1) else {
            return;
        };
        let bytes = bytes.get(bytes.len().saturating_sub(cap)..).unwrap_or(&[]);
        let mut h = self.header();
        // Clamp what a corrupted header might hold before doing arithmetic.
        let old_size = (h.size as usize).min(cap);
        let start = (h.start as usize).min(last);
        // `size` saturates at the capacity (buffer_size_add in ram_core.c).
        h.size = old_size.saturating_add(bytes.len()).min(cap) as u32;
        // start < cap, so at least one byte fits before the ring's end; the
        // rest wraps to offset 0 (buffer_start_add).
        let Some(room) = cap.checked_sub(start) else {
            return;
        };
        let (head, tail) = bytes.split_at(bytes.len().min(room));
        // Short of the end, start moves on; at or past it, it lands where the
        // wrapped tail ends.
        let new_start = start
            .checked_add(bytes.len())
            .filter(|&p| p < cap)
            .unwrap_or(tail.len());
        h.start = new_start as u32;
        if let Some(dst) = self.zone.get_mut(..HEADER_LEN) {
            dst.copy_from_slice(&h.to_bytes());
        }
        self.update(start, head);
        if !tail.is_empty() {
            self.update(0, tail);
        }
        self.update_header_ecc();
    }

    /// The data area, for callers that fill it in place (a panicking kernel
    /// has no spare buffer for a whole record); follow with
    /// [`commit_fresh`](Self::commit_fresh).
    pub fn data_mut(&mut self) -> &mut [u8] {
        let end = self.geom.data_end().unwrap_or(HEADER_LEN);
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
        if let Some(dst) = self
            .data_mut()
            .get_mut(start..)
            .and_then(|d| d.get_mut(..bytes.len()))
        {
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
        let Some((body, parity)) = self
            .geom
            .data_end()
            .and_then(|end| self.zone.split_at_mut_checked(end))
        else {
            return;
        };
        let data = body.get(HEADER_LEN..).unwrap_or(&[]);
        // Blocks first..end cover [start, start + max(count, 1)); the sum is
        // at most the data size for every caller, and only bounds the loop.
        let first = start / BLOCK_SIZE;
        let end = start
            .saturating_add(count.max(1))
            .div_ceil(BLOCK_SIZE)
            .min(ecc.blocks);
        // codec.nroots() == ecc.nroots >= 1 (checked in new): chunks of parity.
        let blocks = data
            .chunks(BLOCK_SIZE)
            .zip(parity.chunks_exact_mut(codec.nroots()))
            .take(end)
            .skip(first);
        for (d, p) in blocks {
            // Lengths are valid by construction of the geometry.
            let _ = codec.encode(d, p);
        }
    }

    fn update_header_ecc(&mut self) {
        let (Some(off), Some(codec)) = (self.geom.header_parity_offset(), self.codec) else {
            return;
        };
        let n = codec.nroots();
        let Some((head, tail)) = self.zone.split_at_mut_checked(HEADER_LEN) else {
            return;
        };
        // off >= HEADER_LEN for any geometry; tail starts at HEADER_LEN.
        let par = off
            .checked_sub(HEADER_LEN)
            .and_then(|o| tail.get_mut(o..))
            .and_then(|t| t.get_mut(..n));
        if let Some(p) = par {
            let _ = codec.encode(head, p);
        }
    }
}
