//! Reading a whole ramoops region (std): find the layout (from signatures,
//! or from parameters named like the ramoops module's), check and correct
//! every zone as ram_core.c does at probe time, and produce the records
//! ramoops' read callback would hand to pstore (fs/pstore/ram.c,
//! `ramoops_pstore_read`).
//!
//! The reader judges nothing beyond what Linux itself does; every departure
//! from a clean region becomes a [`Diagnostic`] naming the zone and offset,
//! and everything still readable is returned.
//!
//! One module per concern, each depending only on those listed before it:
//! [`Diagnostic`]s, the [`Overrides`], layout autodetection, ECC
//! detection, reading one [`Zone`], the [`Record`]s built from zones, and
//! the merge of per-CPU ftrace zones. This module only puts them in order.

mod detect;
mod diag;
mod ecc_detect;
mod ftrace;
mod params;
mod record;
mod zones;

pub use diag::{Diagnostic, Severity};
pub use params::Overrides;
pub use record::Record;
pub use zones::{Zone, ZoneState};

use crate::dmesg;
use crate::layout::{Layout, Params, ZoneKind};
use crate::rs::Codec;
use crate::zone::HEADER_LEN;
use crate::{Error, Result};
use detect::{choose_layout, MAX_ZONES};
use ecc_detect::detect_ecc;
use zones::read_zone;

/// A parsed ramoops region.
#[derive(Debug, Clone)]
pub struct Region {
    /// The parameters in effect (detected or given).
    pub params: Params,
    /// Where the zones are.
    pub layout: Layout,
    /// Each zone in region order.
    pub zones: Vec<Zone>,
    /// Everything noticed while reading.
    pub diagnostics: Vec<Diagnostic>,
    /// Which values came from autodetection rather than overrides.
    pub detected: Detected,
}

/// Which parameters autodetection decided.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Detected {
    /// The zone layout (record/console/ftrace/pmsg sizes).
    pub layout: bool,
    /// The ECC size.
    pub ecc: bool,
}

impl Region {
    /// Reads a region image (the bytes at `mem_address`, `mem_size` long).
    pub fn scan(bytes: &[u8], ov: &Overrides) -> Result<Region> {
        let mut diags = Vec::new();
        let mem_size = ov.mem_size.unwrap_or(bytes.len() as u64);
        if (bytes.len() as u64) < mem_size {
            diags.push(Diagnostic {
                severity: Severity::Warning,
                offset: bytes.len() as u64,
                zone: None,
                message: format!(
                    "input is {} bytes, shorter than mem_size {mem_size:#x}: zones past the end are missing",
                    bytes.len()
                ),
            });
        }
        let (params, layout, detected) = choose_layout(bytes, mem_size, ov, &mut diags)?;
        let nroots = match ov.ecc {
            Some(e) => Params { ecc: e, ..params }.ecc_size(),
            None => detect_ecc(bytes, &layout, &mut diags),
        };
        let params = Params {
            ecc: nroots as u32,
            ..params
        };
        let codec = if nroots > 0 {
            Some(Codec::new(nroots).map_err(Error::Ecc)?)
        } else {
            None
        };
        let mut zones = Vec::new();
        for (kind, index, offset, size) in layout.zones().take(MAX_ZONES) {
            zones.push(read_zone(
                bytes,
                kind,
                index,
                offset,
                size,
                nroots,
                codec.as_ref(),
                &mut diags,
            )?);
        }
        Ok(Region {
            params,
            layout,
            zones,
            diagnostics: diags,
            detected: Detected {
                layout: detected,
                ecc: ov.ecc.is_none(),
            },
        })
    }

    /// The records ramoops would hand to pstore, in its read order: dmesg
    /// zones by index, console, pmsg, then ftrace (per-CPU zones merged).
    pub fn records(&self) -> Vec<Record> {
        let mut out = Vec::new();
        let dmesg_capacity = self
            .zones
            .iter()
            .find(|z| z.kind == ZoneKind::Dmesg)
            .map(|z| z.geometry.data_size);
        for z in self
            .zones
            .iter()
            .filter(|z| z.kind == ZoneKind::Dmesg && !z.old_log.is_empty())
        {
            let Some(h) = dmesg::parse_header(&z.old_log) else {
                continue;
            };
            out.push(Record::dmesg(z, h, dmesg_capacity.unwrap_or(0)));
        }
        for kind in [ZoneKind::Console, ZoneKind::Pmsg] {
            if let Some(z) = self
                .zones
                .iter()
                .find(|z| z.kind == kind && !z.old_log.is_empty())
            {
                out.push(Record::plain(z));
            }
        }
        let ftrace: Vec<&Zone> = self
            .zones
            .iter()
            .filter(|z| z.kind == ZoneKind::Ftrace)
            .collect();
        if ftrace.len() == 1 {
            if let Some(z) = ftrace.first().filter(|z| !z.old_log.is_empty()) {
                out.push(Record::plain(z));
            }
        } else if let Some(r) = ftrace::combine(&ftrace) {
            out.push(r);
        }
        out
    }

    /// Diagnostics plus the per-record ones Linux would act on (dmesg zones
    /// whose payload has no ramoops header are dropped and zapped by Linux).
    pub fn all_diagnostics(&self) -> Vec<Diagnostic> {
        let mut d = self.diagnostics.clone();
        for z in self
            .zones
            .iter()
            .filter(|z| z.kind == ZoneKind::Dmesg && !z.old_log.is_empty())
        {
            if dmesg::parse_header(&z.old_log).is_none() {
                d.push(Diagnostic {
                    severity: Severity::Warning,
                    // Zone offsets lie inside mem_size: this never saturates.
                    offset: z.offset.saturating_add(HEADER_LEN as u64),
                    zone: Some((z.kind, z.index)),
                    message: format!(
                        "{} bytes of data without a \"====<sec>.<usec>-<C|D>\" header: Linux discards this record",
                        z.old_log.len()
                    ),
                });
            }
        }
        d
    }
}
