//! Reading one zone of a region as ram_core.c does at probe time: correct
//! the header and data blocks with the parity, check the signature and the
//! ring, and save the old log (`persistent_ram_post_init`,
//! `persistent_ram_save_old`).

use crate::layout::ZoneKind;
use crate::region::diag::{push, Diagnostic, Severity};
use crate::rs::Codec;
use crate::zone::{self, EccStatus, Signature, ZoneGeometry, ZoneHeader, HEADER_LEN};
use crate::{Error, Result};

/// What a zone turned out to hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZoneState {
    /// Valid signature, nothing stored.
    Empty,
    /// Valid signature and a ring with data.
    Valid,
    /// Signature valid but `start`/`size` impossible; Linux zaps it.
    BadHeader,
    /// No valid signature; Linux reinitialises it.
    NoSignature,
    /// The input ends inside this zone.
    Truncated,
}

/// One zone of the region, after ECC correction.
#[derive(Debug, Clone)]
pub struct Zone {
    /// Record type of the zone.
    pub kind: ZoneKind,
    /// Index among zones of that type.
    pub index: u32,
    /// Region offset of the zone header.
    pub offset: u64,
    /// Geometry (size, data capacity, parity placement).
    pub geometry: ZoneGeometry,
    /// The header after ECC correction.
    pub header: ZoneHeader,
    /// What the zone holds.
    pub state: ZoneState,
    /// ECC findings, when ECC is on.
    pub ecc: Option<EccStatus>,
    /// The saved log, oldest byte first (`persistent_ram_save_old`).
    pub old_log: Vec<u8>,
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn read_zone(
    bytes: &[u8],
    kind: ZoneKind,
    index: u32,
    offset: u64,
    size: u64,
    nroots: usize,
    codec: Option<&Codec>,
    diags: &mut Vec<Diagnostic>,
) -> Result<Zone> {
    let id = Some((kind, index));
    let size_us =
        usize::try_from(size).map_err(|_| Error::BadParams("zone size exceeds address space"))?;
    let geometry = ZoneGeometry::new(size_us, nroots)?;
    let mut zone = Zone {
        kind,
        index,
        offset,
        geometry,
        header: ZoneHeader::default(),
        state: ZoneState::Truncated,
        ecc: None,
        old_log: Vec::new(),
    };
    let start = usize::try_from(offset).unwrap_or(usize::MAX);
    let avail = bytes.len().saturating_sub(start);
    if avail < size_us {
        push(
            diags,
            Severity::Error,
            offset,
            id,
            format!("zone needs {size_us} bytes but the input has {avail} left"),
        );
        if let Some(h) = bytes.get(start..).and_then(ZoneHeader::parse) {
            zone.header = h;
        }
        return Ok(zone);
    }
    // avail >= size_us: the zone is all there.
    let mut buf = bytes
        .get(start..)
        .and_then(|b| b.get(..size_us))
        .unwrap_or(&[])
        .to_vec();
    let mut ecc = codec.map(|_| EccStatus::default());
    if let (Some(c), Some(st)) = (codec, ecc.as_mut()) {
        zone::correct_header(&mut buf, &geometry, c, st)?;
        if st.header_bad {
            push(
                diags,
                Severity::Warning,
                offset,
                id,
                "header parity: uncorrectable errors in the zone header".into(),
            );
        } else if st.corrected_bytes > 0 {
            push(
                diags,
                Severity::Warning,
                offset,
                id,
                format!(
                    "header parity: corrected {} bytes of the zone header",
                    st.corrected_bytes
                ),
            );
        }
    }
    let header = ZoneHeader::parse(&buf).unwrap_or_default();
    zone.header = header;
    zone.ecc = ecc;
    let sig_ok = match (kind, header.signature()) {
        (ZoneKind::Ftrace, Signature::Versioned { .. }) => true,
        (ZoneKind::Ftrace, _) => false,
        (_, s) => s == Signature::Plain,
    };
    if !sig_ok {
        zone.state = ZoneState::NoSignature;
        push(
            diags,
            Severity::Warning,
            offset,
            id,
            format!(
                "no valid signature (found {:#010x}); Linux reinitialises this zone",
                header.sig
            ),
        );
        return Ok(zone);
    }
    if header.size == 0 && header.start == 0 {
        zone.state = ZoneState::Empty;
        return Ok(zone);
    }
    let Some((a, b)) = zone::old_log_ranges(&header, geometry.data_size) else {
        zone.state = ZoneState::BadHeader;
        push(
            diags,
            Severity::Error,
            offset,
            id,
            format!(
                "invalid ring: start {} size {} with {} data bytes (need start <= size <= capacity); Linux discards this zone",
                header.start, header.size, geometry.data_size
            ),
        );
        return Ok(zone);
    };
    if let (Some(c), Some(st)) = (codec, zone.ecc.as_mut()) {
        // The data blocks' findings on their own, then added to the header's.
        let mut data = EccStatus::default();
        zone::correct_data(&mut buf, &geometry, c, header.size as usize, &mut data)?;
        let (fixed, bad) = (data.corrected_bytes, data.bad_blocks);
        st.corrected_bytes = st.corrected_bytes.saturating_add(fixed);
        st.bad_blocks = st.bad_blocks.saturating_add(bad);
        if bad > 0 {
            push(diags, Severity::Error, offset, id, format!("{bad} data blocks have uncorrectable errors (shown as found); {fixed} bytes corrected"));
        } else if fixed > 0 {
            push(
                diags,
                Severity::Warning,
                offset,
                id,
                format!("corrected {fixed} bytes in the data blocks"),
            );
        }
    }
    // old_log_ranges checked both ranges against data_size.
    let data = geometry
        .data_end()
        .and_then(|end| buf.get(HEADER_LEN..end))
        .unwrap_or(&[]);
    zone.old_log.extend_from_slice(data.get(a).unwrap_or(&[]));
    zone.old_log.extend_from_slice(data.get(b).unwrap_or(&[]));
    zone.state = ZoneState::Valid;
    Ok(zone)
}
