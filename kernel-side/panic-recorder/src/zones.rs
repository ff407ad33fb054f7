//! The region's zone table: what attach found in every ramoops zone
//! (`ramoops_probe`/`persistent_ram_post_init`, Linux 6.1), checked and
//! corrected in place. Below both the recorder, which keeps the table, and
//! the pstore backend, which reads and writes the zones.

use crashview_ramoops::layout::{Layout, ZoneKind};
use crashview_ramoops::rs::Codec;
use crashview_ramoops::writer::ZoneWriter;
use crashview_ramoops::zone::{
    correct_data, correct_header, old_log_ranges, EccStatus, Signature, ZoneGeometry, ZoneHeader,
};

use crate::raw::RawRegion;

/// Most zones (dmesg, console, per-CPU ftrace, pmsg together) a region may
/// have: the size of the recorder's static status table.
pub const MAX_ZONES: usize = 512;

/// What attach found in a zone (`persistent_ram_post_init`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZoneInit {
    /// Not a zone of this layout.
    Unused,
    /// A valid signature and an empty ring.
    Empty,
    /// A valid zone with a saved log ("found existing buffer").
    Kept,
    /// A valid signature but `start`/`size` out of bounds: zapped
    /// ("found existing invalid buffer").
    Invalid,
    /// No valid signature: formatted ("no valid data in buffer").
    NoSignature,
}

/// One zone's state after attach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZoneStatus {
    /// What attach found.
    pub init: ZoneInit,
    /// ECC findings at attach (header and saved data), as ramoops counts
    /// them for its `ECC:` notice.
    pub ecc: EccStatus,
}

impl ZoneStatus {
    pub(crate) const UNUSED: ZoneStatus = ZoneStatus {
        init: ZoneInit::Unused,
        ecc: EccStatus {
            corrected_bytes: 0,
            bad_blocks: 0,
            header_bad: false,
        },
    };
}

/// A zone as attach reported it, for the module's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZoneReport {
    /// Record type.
    pub kind: ZoneKind,
    /// Index within its type.
    pub index: u32,
    /// Offset in the region.
    pub offset: u64,
    /// What attach found and corrected.
    pub status: ZoneStatus,
}

/// Why the zone table could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZonesError {
    /// The ramoops parameters are invalid.
    Layout(crashview_ramoops::Error),
    /// A zone lies past the end of the region.
    RegionTooSmall,
    /// More zones than [`MAX_ZONES`].
    TooManyZones,
}

/// ramoops' probe of every zone: header ECC, signature, bounds, then the
/// saved data's ECC, correcting the region in place as Linux does.
pub(crate) fn init_zones(
    table: &mut [ZoneStatus; MAX_ZONES],
    region: &RawRegion,
    layout: &Layout,
    codec: Option<&Codec>,
    version_code: u32,
) -> Result<(), ZonesError> {
    let nroots = codec.map_or(0, Codec::nroots);
    if layout.zones().count() > MAX_ZONES {
        return Err(ZonesError::TooManyZones);
    }
    table.fill(ZoneStatus::UNUSED);
    for ((kind, _, off, size), status) in layout.zones().zip(table.iter_mut()) {
        let geom = ZoneGeometry::new(size as usize, nroots).map_err(ZonesError::Layout)?;
        // SAFETY: attaching: nobody else uses the region yet.
        let Some(zone) = (unsafe { region.slice_mut(off as usize, size as usize) }) else {
            return Err(ZonesError::RegionTooSmall);
        };
        let want = if kind == ZoneKind::Ftrace {
            version_code
        } else {
            0
        };
        let mut ecc = EccStatus::default();
        if let Some(c) = codec {
            let _ = correct_header(zone, &geom, c, &mut ecc);
        }
        let h = ZoneHeader::parse(zone).unwrap_or_default();
        let sig_ok = match h.signature() {
            Signature::Plain => want == 0,
            Signature::Versioned { version_code } => version_code == want,
            Signature::Invalid => false,
        };
        let init = if !sig_ok {
            ZoneInit::NoSignature
        } else if h.size == 0 && h.start == 0 {
            ZoneInit::Empty
        } else if old_log_ranges(&h, geom.data_size).is_none() {
            ZoneInit::Invalid
        } else {
            if let Some(c) = codec {
                let _ = correct_data(zone, &geom, c, h.size as usize, &mut ecc);
            }
            ZoneInit::Kept
        };
        if let Ok(mut w) = ZoneWriter::new(zone, geom, codec) {
            match init {
                ZoneInit::NoSignature => w.format(want),
                ZoneInit::Invalid => w.zap(),
                _ => {}
            }
        }
        *status = ZoneStatus { init, ecc };
    }
    Ok(())
}
