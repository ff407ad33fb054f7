//! The pstore backend half of the recorder: the region's ramoops zones,
//! checked at attach, written and read exactly as fs/pstore/ram.c does
//! (`ramoops_probe`/`persistent_ram_post_init`, `ramoops_pstore_write`,
//! `ramoops_pstore_read`, `ramoops_pstore_erase`, Linux 6.1), so the module
//! is a drop-in for ramoops: the stock ramoops reads what it writes, and it
//! presents what the stock ramoops wrote.
//!
//! pstore's frontend (fs/pstore/platform.c) owns compression, the
//! `<Reason>#<count> Part<n>` line and `/sys/fs/pstore`; it serialises
//! writes with its `buf_lock` and reads with its `read_mutex`, so the zone
//! memory a call touches has one user at a time. Only the dmesg frontend is
//! served: console, ftrace and pmsg zones are laid out as ramoops lays them
//! out and left as they are.

use core::num::NonZeroU32;
use core::sync::atomic::Ordering;

use crashview_journal::{Entry, EntryKind};
use crashview_ramoops::dmesg::{self, Reason};
use crashview_ramoops::fmt::ByteWriter;
use crashview_ramoops::writer::ZoneWriter;
use crashview_ramoops::zone::{old_log_ranges, ZoneGeometry, ZoneHeader};

use crate::platform::Platform;
use crate::recorder::Recorder;
pub use crate::zones::{ZoneInit, ZoneReport, ZoneStatus, MAX_ZONES};

/// A kmsg dump as pstore's frontend hands it to a backend (`struct
/// pstore_record` of type `PSTORE_TYPE_DMESG`).
#[derive(Debug, Clone, Copy)]
pub struct DmesgRecord<'a> {
    /// Why the kernel dumped (`record->reason`).
    pub reason: Reason,
    /// pstore's dump counter (`record->count`).
    pub count: u32,
    /// Part number, from 1 (`record->part`).
    pub part: u32,
    /// The data is pstore's deflate output (`record->compressed`).
    pub compressed: bool,
    /// Dump time, seconds and nanoseconds (`record->time`).
    pub time: (i64, u64),
    /// `record->buf[..record->size]`.
    pub data: &'a [u8],
}

/// Why a write was refused (the module returns `-ENOSPC`/`-EINVAL` as ramoops).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteError {
    /// The recorder is not attached.
    NotAttached,
    /// Not part 1, or no dmesg zones: ramoops keeps only the first part.
    NoSpace,
}

/// A stored record found by [`Recorder::read_next`]: what pstore's
/// `struct pstore_record` gets, and where its bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredRecord {
    /// The dmesg zone index (pstore's record id).
    pub id: u32,
    /// Time from the ramoops header.
    pub time: (i64, u64),
    /// Stored compressed (`-C`).
    pub compressed: bool,
    /// Bytes of the ramoops header, skipped.
    pub header_len: usize,
    /// Bytes of the record after that header (`size` returned to pstore).
    pub size: usize,
    /// Bytes of the ECC notice that follows the record (`ecc_notice_size`).
    pub notice_len: usize,
}

impl StoredRecord {
    /// Bytes [`Recorder::read_copy`] writes: the record, the notice, a NUL.
    pub fn buf_len(&self) -> usize {
        // Saturates only for sizes no zone has (the fields are public): the
        // caller's allocation then fails instead of coming out short.
        self.size.saturating_add(self.notice_len).saturating_add(1)
    }
}

impl Recorder {
    /// Bytes one dmesg zone holds (ramoops' `buffer_size`, pstore's
    /// `bufsize`); 0 before attach or without dmesg zones.
    pub fn dmesg_capacity(&self) -> usize {
        if !self.attached() {
            return 0;
        }
        self.st_ref().dmesg_geom.map_or(0, |g| g.data_size)
    }

    /// Zone `i` (in region order) as attach found it, `None` past the end.
    pub fn zone_report(&self, i: usize) -> Option<ZoneReport> {
        if !self.attached() {
            return None;
        }
        let st = self.st_ref();
        let (kind, index, offset, _) = st.layout.zones().nth(i)?;
        // SAFETY: written once at attach, before READY was published.
        let table = unsafe { &*self.zone_status.as_ptr() };
        Some(ZoneReport {
            kind,
            index,
            offset,
            status: *table.get(i)?,
        })
    }

    /// Writes a kmsg dump into the next dmesg zone, as
    /// `ramoops_pstore_write`: only part 1, zap, `====<sec>.<usec>-<C|D>\n`,
    /// then as much of the record as the zone holds; zones rotate
    /// (`dump_write_cnt`, from 0 each boot). Journals the dump with its
    /// reason. Returns the zone index.
    pub fn write_dmesg<P: Platform + ?Sized>(
        &self,
        p: &P,
        r: &DmesgRecord<'_>,
    ) -> Result<u32, WriteError> {
        if !self.attached() {
            return Err(WriteError::NotAttached);
        }
        if r.part != 1 {
            return Err(WriteError::NoSpace);
        }
        let st = self.st_ref();
        let Some(count) = NonZeroU32::new(st.layout.dmesg.count) else {
            return Err(WriteError::NoSpace);
        };
        let idx = self.dump_write_cnt.load(Ordering::Acquire) % count;
        let Some((zone, geom)) = self.dmesg_zone(idx) else {
            return Err(WriteError::NoSpace);
        };
        let Ok(mut w) = ZoneWriter::new(zone, geom, st.codec.as_ref()) else {
            return Err(WriteError::NoSpace);
        };
        w.zap();
        let mut hdr = [0u8; dmesg::MAX_HEADER_LEN + 1];
        let hlen = dmesg::write_header(r.time.0, r.time.1, r.compressed, &mut hdr);
        w.write(hdr.get(..hlen).unwrap_or(&[]));
        let room = geom.data_size.saturating_sub(hlen);
        w.write(r.data.get(..r.data.len().min(room)).unwrap_or(&[]));
        // ramoops' round robin; `idx < count`, so `idx + 1` fits.
        let next = idx.checked_add(1).map_or(0, |n| n % count);
        self.dump_write_cnt.store(next, Ordering::Release);

        let mut name = [0u8; crashview_journal::NAME_LEN];
        let mut n = ByteWriter::new(&mut name);
        n.put(r.reason.as_str().as_bytes());
        n.put(b"#");
        n.put_u64(u64::from(r.count));
        n.put(b" Part");
        n.put_u64(u64::from(r.part));
        if r.compressed {
            n.put(b" deflated");
        }
        let name_len = n.len();
        self.log(
            p,
            Entry::new(EntryKind::DumpWritten, 0, p.cpu_id(), p.now_ns())
                .with_arg(u64::from(idx))
                .with_name(name.get(..name_len).unwrap_or(&[])),
        );
        Ok(idx)
    }

    /// Starts a new pass over the stored records (`ramoops_pstore_open`).
    pub fn read_rewind(&self) {
        self.read_cnt.store(0, Ordering::Release);
    }

    /// The next stored dmesg record, as `ramoops_pstore_read` finds it: the
    /// zone's current contents (so a dump written this boot shows, as in
    /// ramoops), zones with an empty ring skipped, zones whose ring does not
    /// start with a ramoops header zapped and skipped.
    pub fn read_next(&self) -> Option<StoredRecord> {
        if !self.attached() {
            return None;
        }
        let st = self.st_ref();
        for _ in 0..st.layout.dmesg.count {
            let id = self.read_cnt.fetch_add(1, Ordering::AcqRel);
            let (zone, geom) = self.dmesg_zone(id)?;
            let h = ZoneHeader::parse(zone).unwrap_or_default();
            let Some((a, b)) = old_log_ranges(&h, geom.data_size) else {
                continue;
            };
            // Two parts of one zone: far from usize::MAX.
            let size = a.len().saturating_add(b.len());
            if size == 0 {
                continue;
            }
            let mut head = [0u8; dmesg::MAX_HEADER_LEN + 1];
            ring_copy(zone, &h, geom.data_size, 0, &mut head);
            match dmesg::parse_header(head.get(..size.min(head.len())).unwrap_or(&[])) {
                Some(d) => {
                    return Some(StoredRecord {
                        id,
                        // At most 999_999_000: no saturation.
                        time: (d.secs, d.usecs.min(999_999).saturating_mul(1000)),
                        compressed: d.compressed,
                        header_len: d.len,
                        size: size.saturating_sub(d.len),
                        notice_len: self.notice(id as usize).1,
                    });
                }
                None => {
                    if let Ok(mut w) = ZoneWriter::new(zone, geom, st.codec.as_ref()) {
                        w.zap();
                    }
                }
            }
        }
        None
    }

    /// Copies record `r` into `out`: the bytes after the ramoops header,
    /// then the ECC notice, then a NUL (what `ramoops_pstore_read` puts in
    /// `record->buf`). Returns the bytes written.
    pub fn read_copy(&self, r: &StoredRecord, out: &mut [u8]) -> usize {
        if !self.attached() {
            return 0;
        }
        let Some((zone, geom)) = self.dmesg_zone(r.id) else {
            return 0;
        };
        let h = ZoneHeader::parse(zone).unwrap_or_default();
        let body = out.len().min(r.size);
        let n = ring_copy(
            zone,
            &h,
            geom.data_size,
            r.header_len,
            out.get_mut(..body).unwrap_or(&mut []),
        );
        let (text, len) = self.notice(r.id as usize);
        let mut w = ByteWriter::new(out.get_mut(n..).unwrap_or(&mut []));
        w.put(text.get(..len).unwrap_or(&[]));
        w.put(&[0]);
        // Both count bytes of `out`.
        n.saturating_add(w.len())
    }

    /// Empties dmesg zone `id` (`ramoops_pstore_erase`: pstore calls it when
    /// the file is removed).
    pub fn erase(&self, id: u32) -> bool {
        if !self.attached() {
            return false;
        }
        let Some((zone, geom)) = self.dmesg_zone(id) else {
            return false;
        };
        match ZoneWriter::new(zone, geom, self.st_ref().codec.as_ref()) {
            Ok(mut w) => {
                w.zap();
                true
            }
            Err(_) => false,
        }
    }

    /// Dmesg zone `id`'s bytes and geometry; `None` before attach, without
    /// dmesg zones or past the last one.
    // The region is reserved memory, not owned by the state it is borrowed
    // through; pstore's locking makes each caller its only user.
    #[allow(clippy::mut_from_ref)]
    fn dmesg_zone(&self, id: u32) -> Option<(&mut [u8], ZoneGeometry)> {
        let st = self.st_ref();
        let (region, geom) = (st.region.as_ref()?, st.dmesg_geom?);
        if id >= st.layout.dmesg.count {
            return None;
        }
        let off = st.layout.dmesg.zone_offset(id) as usize;
        // SAFETY: pstore serialises writes (buf_lock) and reads and erases
        // (read_mutex); a dump racing a read races as it does in ramoops.
        let zone = unsafe { region.slice_mut(off, geom.zone_size) }?;
        Some((zone, geom))
    }

    /// The ECC notice of dmesg zone `id` and its length (0 without ECC).
    fn notice(&self, id: usize) -> ([u8; 64], usize) {
        let mut buf = [0u8; 64];
        if self.st_ref().codec.is_none() {
            return (buf, 0);
        }
        // SAFETY: written once at attach, before READY was published.
        let table = unsafe { &*self.zone_status.as_ptr() };
        let ecc = table.get(id).map(|s| s.ecc).unwrap_or_default();
        let n = ecc.notice(&mut buf).len();
        (buf, n)
    }
}

/// Copies the saved log (`data[start..size]` then `data[..start]`) from
/// byte `from` on into `out`; returns the bytes copied.
fn ring_copy(zone: &[u8], h: &ZoneHeader, data_size: usize, from: usize, out: &mut [u8]) -> usize {
    let Some((a, b)) = old_log_ranges(h, data_size) else {
        return 0;
    };
    let data = zone
        .get(crashview_ramoops::zone::HEADER_LEN..)
        .unwrap_or(&[]);
    let mut skip = from;
    let mut n = 0;
    for r in [a, b] {
        let part = data.get(r).unwrap_or(&[]);
        let rest = part.get(skip.min(part.len())..).unwrap_or(&[]);
        // What is left to skip after this part (none once it is inside).
        skip = skip.saturating_sub(part.len());
        let Some(free) = out.get_mut(n..) else { break };
        let k = rest.len().min(free.len());
        if let (Some(d), Some(src)) = (free.get_mut(..k), rest.get(..k)) {
            d.copy_from_slice(src);
        }
        // `n + k <= out.len()`.
        n = n.saturating_add(k);
    }
    n
}
