//! pstore's merge of per-CPU ftrace zones into one record.

use crate::layout::ZoneKind;
use crate::region::record::Record;
use crate::region::zones::Zone;
use crate::zone::EccStatus;

/// pstore's merge of per-CPU ftrace zones (fs/pstore/ftrace.c,
/// `pstore_ftrace_combine_log`): 24-byte records merged by timestamp
/// (`ts >> 8` on 64-bit), a partial leading record dropped per zone.
pub(crate) fn combine(zones: &[&Zone]) -> Option<Record> {
    const REC: usize = 24;
    let ts = |r: &[u8]| {
        u64::from_le_bytes(
            r.get(16..24)
                .and_then(|s| s.try_into().ok())
                .unwrap_or([0; 8]),
        ) >> 8
    };
    let mut merged: Vec<u8> = Vec::new();
    let mut ecc: Option<EccStatus> = None;
    let mut first: Option<&Zone> = None;
    for z in zones
        .iter()
        .filter(|z| !z.old_log.is_empty() || z.ecc.is_some())
    {
        if z.old_log.is_empty() {
            continue;
        }
        first.get_or_insert(z);
        if let Some(e) = z.ecc {
            let acc = ecc.get_or_insert_with(EccStatus::default);
            // Counts shown to the user: they saturate, as EccStatus's own do.
            acc.corrected_bytes = acc.corrected_bytes.saturating_add(e.corrected_bytes);
            acc.bad_blocks = acc.bad_blocks.saturating_add(e.bad_blocks);
        }
        let src = z.old_log.get(z.old_log.len() % REC..).unwrap_or(&[]);
        let dst = merged.get(merged.len() % REC..).unwrap_or(&[]);
        // A capacity hint only: both are lengths of existing buffers.
        let mut out = Vec::with_capacity(dst.len().saturating_add(src.len()));
        let (mut d, mut s) = (
            dst.chunks_exact(REC).peekable(),
            src.chunks_exact(REC).peekable(),
        );
        loop {
            match (d.peek(), s.peek()) {
                (Some(a), Some(b)) => {
                    if ts(a) < ts(b) {
                        out.extend_from_slice(a);
                        d.next();
                    } else {
                        out.extend_from_slice(b);
                        s.next();
                    }
                }
                (Some(a), None) => {
                    out.extend_from_slice(a);
                    d.next();
                }
                (None, Some(b)) => {
                    out.extend_from_slice(b);
                    s.next();
                }
                (None, None) => break,
            }
        }
        merged = out;
    }
    let z = first?;
    Some(Record {
        kind: ZoneKind::Ftrace,
        id: 0,
        offset: z.offset,
        header: None,
        payload: merged,
        ecc,
        decompress_limit: 0,
    })
}
