//! The records ramoops' read callback hands to pstore (fs/pstore/ram.c,
//! `ramoops_pstore_read`), built from the zones read. What pstore then makes
//! of a record (its file in `/sys/fs/pstore`) is [`crate::pstore`]'s
//! business: that module depends on this one, never the reverse.

use crate::dmesg::{self, DmesgHeader};
use crate::layout::ZoneKind;
use crate::region::zones::Zone;
use crate::zone::EccStatus;

/// One record as pstore receives it from ramoops.
#[derive(Debug, Clone)]
pub struct Record {
    /// Record type.
    pub kind: ZoneKind,
    /// pstore id: the dmesg zone index, 0 for the others.
    pub id: u32,
    /// Region offset of the (first) zone holding it.
    pub offset: u64,
    /// The dmesg header, for dmesg records.
    pub header: Option<DmesgHeader>,
    /// The payload after the ramoops header (still compressed if it was).
    pub payload: Vec<u8>,
    /// ECC findings of the zone(s).
    pub ecc: Option<EccStatus>,
    /// Decompression limit pstore uses for this backend (deflate's
    /// `zbufsize_deflate` of the dmesg zone capacity).
    pub decompress_limit: usize,
}

impl Record {
    /// The record of dmesg zone `z` whose payload starts with header `h`;
    /// `capacity` is the data size of a dmesg zone.
    pub(crate) fn dmesg(z: &Zone, h: DmesgHeader, capacity: usize) -> Record {
        Record {
            kind: z.kind,
            id: z.index,
            offset: z.offset,
            header: Some(h),
            payload: z.old_log.get(h.len..).unwrap_or_default().to_vec(),
            ecc: z.ecc,
            decompress_limit: dmesg::zbufsize_deflate(capacity),
        }
    }

    /// The record of a console, pmsg or single ftrace zone: its whole old log.
    pub(crate) fn plain(z: &Zone) -> Record {
        Record {
            kind: z.kind,
            id: 0,
            offset: z.offset,
            header: None,
            payload: z.old_log.clone(),
            ecc: z.ecc,
            decompress_limit: 0,
        }
    }

    /// The stored payload is compressed.
    pub fn compressed(&self) -> bool {
        self.header.is_some_and(|h| h.compressed)
    }

    /// `<Reason>#<count> Part<n>` of a dmesg record, when readable.
    pub fn part_line(&self) -> Option<dmesg::PartLine> {
        if self.compressed() {
            dmesg::parse_part_line(&crate::deflate::inflate(
                &self.payload,
                self.decompress_limit,
            )?)
        } else {
            dmesg::parse_part_line(&self.payload)
        }
    }
}
