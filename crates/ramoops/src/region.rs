//! Reading a whole ramoops region (std): find the layout (from signatures,
//! or from parameters named like the ramoops module's), check and correct
//! every zone as ram_core.c does at probe time, and produce the records
//! ramoops' read callback would hand to pstore (fs/pstore/ram.c,
//! `ramoops_pstore_read`).
//!
//! The reader judges nothing beyond what Linux itself does; every departure
//! from a clean region becomes a [`Diagnostic`] naming the zone and offset,
//! and everything still readable is returned.

use crate::dmesg::{self, DmesgHeader};
use crate::layout::{round_down_pow2, Layout, Params, ZoneKind, MODULE_DEFAULT_SIZE};
use crate::rs::{Codec, MAX_ROOTS};
use crate::zone::{self, EccStatus, Signature, ZoneGeometry, ZoneHeader, HEADER_LEN};
use crate::{Error, Result};

/// Parameter overrides, named like the ramoops module parameters. Each one
/// given replaces autodetection for that value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `mem_size`; default: the input's length.
    pub mem_size: Option<u64>,
    /// `record_size`.
    pub record_size: Option<u64>,
    /// `console_size`.
    pub console_size: Option<u64>,
    /// `ftrace_size`.
    pub ftrace_size: Option<u64>,
    /// `pmsg_size`.
    pub pmsg_size: Option<u64>,
    /// `ecc` (0 = off, 1 = 16).
    pub ecc: Option<u32>,
    /// Number of per-CPU ftrace zones (`nr_cpu_ids` of the writing kernel).
    pub ftrace_zones: Option<u32>,
}

impl Overrides {
    fn pins_layout(&self) -> bool {
        self.record_size.is_some()
            && self.console_size.is_some()
            && self.ftrace_size.is_some()
            && self.pmsg_size.is_some()
    }
}

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Worth knowing; nothing lost.
    Note,
    /// Something was repaired, guessed or skipped.
    Warning,
    /// Data was lost or could not be read.
    Error,
}

/// One finding about the region, with where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// How serious.
    pub severity: Severity,
    /// Region offset the finding is about.
    pub offset: u64,
    /// The zone, when the finding is about one (`dmesg(3/62)` style).
    pub zone: Option<(ZoneKind, u32)>,
    /// What was found and what it means, one line.
    pub message: String,
}

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

/// Upper bound on zones a region may hold; a 1 MiB region with 4 KiB records
/// has ~256. Far above any real configuration, low enough to bound work.
const MAX_ZONES: usize = 1 << 16;

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
        } else if let Some(r) = Record::ftrace_combined(&ftrace) {
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
                    offset: z.offset + HEADER_LEN as u64,
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

fn push(
    diags: &mut Vec<Diagnostic>,
    severity: Severity,
    offset: u64,
    zone: Option<(ZoneKind, u32)>,
    message: String,
) {
    diags.push(Diagnostic {
        severity,
        offset,
        zone,
        message,
    });
}

fn word_at(bytes: &[u8], off: u64) -> Option<u32> {
    let off = usize::try_from(off).ok()?;
    Some(u32::from_le_bytes(
        bytes.get(off..off.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn sig_at(bytes: &[u8], off: u64) -> Signature {
    word_at(bytes, off).map_or(Signature::Invalid, Signature::classify)
}

/// Offsets (even, as zones are 2-aligned) holding what looks like a zone
/// header: a ramoops signature with `start <= size < mem_size`. The ring
/// check keeps text that happens to contain "DBGC"-like words (log data is
/// ASCII) from passing for a header.
fn signature_offsets(bytes: &[u8], mem_size: u64) -> Vec<(u64, Signature)> {
    let end = bytes
        .len()
        .min(usize::try_from(mem_size).unwrap_or(usize::MAX));
    let mut out = Vec::new();
    let mut off = 0usize;
    while off + HEADER_LEN <= end {
        let h = bytes
            .get(off..off + HEADER_LEN)
            .and_then(ZoneHeader::parse)
            .unwrap_or_default();
        let s = h.signature();
        if s != Signature::Invalid && h.start <= h.size && u64::from(h.size) < mem_size {
            out.push((off as u64, s));
            if out.len() >= MAX_ZONES {
                break;
            }
        }
        off += 2;
    }
    out
}

/// Picks the layout: straight from overrides when they pin it, otherwise the
/// candidate whose computed zone starts carry the most signatures.
fn choose_layout(
    bytes: &[u8],
    mem_size: u64,
    ov: &Overrides,
    diags: &mut Vec<Diagnostic>,
) -> Result<(Params, Layout, bool)> {
    let ftrace_zones_seen = || {
        signature_offsets(bytes, mem_size)
            .iter()
            .filter(|(_, s)| matches!(s, Signature::Versioned { .. }))
            .count() as u32
    };
    if ov.pins_layout() {
        let p = Params {
            mem_size,
            record_size: ov.record_size.unwrap_or(0),
            console_size: ov.console_size.unwrap_or(0),
            ftrace_size: ov.ftrace_size.unwrap_or(0),
            pmsg_size: ov.pmsg_size.unwrap_or(0),
            ecc: ov.ecc.unwrap_or(0),
            ftrace_zones: ov
                .ftrace_zones
                .unwrap_or_else(|| ftrace_zones_seen().max(1)),
        };
        return Ok((p, Layout::compute(&p)?, false));
    }
    let sigs = signature_offsets(bytes, mem_size);
    let mut best: Option<(usize, Params, Layout)> = None;
    for p in candidates(&sigs, mem_size, ov) {
        let Ok(layout) = Layout::compute(&p) else {
            continue;
        };
        let mut score = 0usize;
        let mut misses = 0usize;
        let total = layout.zones().take(MAX_ZONES).count();
        let best_key = best.as_ref().map_or(0, |(k, _, _)| *k);
        for (seen, (kind, _, off, _)) in layout.zones().take(MAX_ZONES).enumerate() {
            // Stop once even all remaining zones matching cannot beat the best.
            if (score + total - seen) * 4 <= best_key + misses {
                break;
            }
            // Zones past the end of a truncated image are unknown, not wrong.
            if off.saturating_add(HEADER_LEN as u64) > bytes.len() as u64 {
                continue;
            }
            let s = sig_at(bytes, off);
            // A zone holding a ramoops dump header is a dmesg zone, whatever
            // its size: this separates the last dmesg zone from a console zone
            // of the same size.
            let holds_dump = usize::try_from(off)
                .ok()
                .and_then(|o| bytes.get(o + HEADER_LEN..o + HEADER_LEN + 4))
                .is_some_and(|b| b == crate::dmesg::HEADER_MAGIC);
            let ok = match kind {
                ZoneKind::Ftrace => matches!(s, Signature::Versioned { .. }),
                ZoneKind::Dmesg => s == Signature::Plain,
                ZoneKind::Console | ZoneKind::Pmsg => s == Signature::Plain && !holds_dump,
            };
            if ok {
                score += 1;
            } else {
                misses += 1;
            }
        }
        // Prefer layouts explaining more headers, then fewer unexplained zones.
        let key = score.saturating_mul(4).saturating_sub(misses);
        if score > 0 && best.as_ref().is_none_or(|(k, _, _)| key > *k) {
            best = Some((key, p, layout));
        }
    }
    match best {
        Some((_, p, layout)) => Ok((p, layout, true)),
        None => {
            let found = word_at(bytes, 0).unwrap_or(0);
            // Fall back to the module defaults so the caller still sees zones.
            let p = Params {
                mem_size,
                record_size: ov.record_size.unwrap_or(MODULE_DEFAULT_SIZE),
                console_size: ov.console_size.unwrap_or(MODULE_DEFAULT_SIZE),
                ftrace_size: ov.ftrace_size.unwrap_or(MODULE_DEFAULT_SIZE),
                pmsg_size: ov.pmsg_size.unwrap_or(MODULE_DEFAULT_SIZE),
                ecc: ov.ecc.unwrap_or(0),
                ftrace_zones: ov.ftrace_zones.unwrap_or(1),
            };
            let layout =
                Layout::compute(&p).map_err(|_| Error::NoSignature { offset: 0, found })?;
            push(
                diags,
                Severity::Error,
                0,
                None,
                format!(
                    "no ramoops zone signature found (expected 0x43474244 \"DBGC\" at offset 0, found {found:#010x}); \
                     assuming module defaults record_size={:#x} console/ftrace/pmsg_size=0x1000",
                    p.record_size
                ),
            );
            Ok((p, layout, true))
        }
    }
}

/// Candidate parameter sets consistent with the signatures: the dmesg zone
/// size is the distance between the first two headers; the tail after the
/// last dmesg zone is read as console / ftrace zones (versioned signature) /
/// pmsg. Overrides filter the candidates.
fn candidates(sigs: &[(u64, Signature)], mem_size: u64, ov: &Overrides) -> Vec<Params> {
    let mut out = Vec::new();
    let pow2s = || (8..=40).map(|s| 1u64 << s).filter(|&v| v <= mem_size);
    let keep = |p: &Params| {
        let eq = |o: Option<u64>, v: u64| o.is_none_or(|o| round_down_pow2(o) == v);
        eq(ov.record_size, p.record_size)
            && eq(ov.console_size, p.console_size)
            && eq(ov.ftrace_size, p.ftrace_size)
            && eq(ov.pmsg_size, p.pmsg_size)
            && ov.ftrace_zones.is_none_or(|n| n == p.ftrace_zones)
    };
    // Tail shapes: which of console/ftrace/pmsg exist, from the headers seen.
    let plain: Vec<u64> = sigs
        .iter()
        .filter(|(_, s)| *s == Signature::Plain)
        .map(|(o, _)| *o)
        .collect();
    let versioned: Vec<u64> = sigs
        .iter()
        .filter(|(_, s)| matches!(s, Signature::Versioned { .. }))
        .map(|(o, _)| *o)
        .collect();
    let nftrace = (versioned.len() as u32).max(1);
    // The console/pmsg/ftrace sizes are powers of two; measure them from the
    // header spacing in the tail, and also try the module default.
    let mut tail_sizes: Vec<u64> = plain
        .windows(2)
        .filter_map(|w| Some(w.get(1)? - w.first()?))
        .filter(|d| d.is_power_of_two())
        .collect();
    tail_sizes.extend(versioned.first().map(|&f| {
        let after = plain.iter().find(|&&o| o > f).copied().unwrap_or(mem_size);
        round_down_pow2(after - f)
    }));
    if let Some(&last) = plain.last() {
        tail_sizes.push(round_down_pow2(mem_size.saturating_sub(last)));
    }
    tail_sizes.push(MODULE_DEFAULT_SIZE);
    tail_sizes.push(0);
    tail_sizes.sort_unstable();
    tail_sizes.dedup();
    // ftrace zones may be missing from a damaged or cut image, so sizes
    // without a versioned header seen are candidates too.
    let ftrace_opts: Vec<(u64, u32)> = tail_sizes.iter().map(|&s| (s, nftrace)).collect();
    for record in pow2s() {
        // Console before pmsg on ties: a lone tail zone is more often the console.
        for &console in tail_sizes.iter().rev() {
            for &(ftrace, nz) in &ftrace_opts {
                for &pmsg in &tail_sizes {
                    let p = Params {
                        mem_size,
                        record_size: record,
                        console_size: console,
                        ftrace_size: ftrace,
                        pmsg_size: pmsg,
                        ecc: 0,
                        ftrace_zones: nz,
                    };
                    if keep(&p) {
                        out.push(p);
                    }
                }
            }
        }
    }
    out
}

/// Finds the ECC size: the smallest parity count under which a zone header
/// and the last N bytes of its zone (where ram_core.c keeps the header
/// parity, whatever N is) form a Reed–Solomon codeword. Looks at the first
/// four zones with a signature; 0 when none matches.
fn detect_ecc(bytes: &[u8], layout: &Layout, diags: &mut Vec<Diagnostic>) -> usize {
    let zones: Vec<&[u8]> = layout
        .zones()
        .filter_map(|(_, _, off, size)| {
            let o = usize::try_from(off).ok()?;
            bytes.get(o..o.checked_add(usize::try_from(size).ok()?)?)
        })
        .filter(|z| ZoneHeader::parse(z).is_some_and(|h| h.signature() != Signature::Invalid))
        .take(4)
        .collect();
    for n in 1..=MAX_ROOTS {
        let mut codec = None;
        let mut clean = 0;
        for zone in &zones {
            let Ok(g) = ZoneGeometry::new(zone.len(), n) else {
                continue;
            };
            let Some(po) = g.header_parity_offset() else {
                continue;
            };
            let (Some(head), Some(par)) = (zone.get(..HEADER_LEN), zone.get(po..po + n)) else {
                continue;
            };
            // The first syndrome (evaluation at α^0) of a codeword is the XOR
            // of all its symbols: a cheap filter before the full decode.
            if head.iter().chain(par).fold(0u8, |a, &b| a ^ b) != 0 {
                continue;
            }
            let Some(c) = codec.get_or_insert_with(|| Codec::new(n).ok()) else {
                continue;
            };
            let mut h = [0u8; HEADER_LEN];
            h.copy_from_slice(head);
            if matches!(c.decode(&mut h, par), Ok(crate::rs::Decoded::Clean)) {
                clean += 1;
            }
        }
        if clean > 0 {
            if clean < zones.len() {
                push(
                    diags,
                    Severity::Note,
                    0,
                    None,
                    format!(
                        "ecc={n} detected from {clean} of {} zone headers",
                        zones.len()
                    ),
                );
            }
            return n;
        }
    }
    0
}

#[allow(clippy::too_many_arguments)]
fn read_zone(
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
    let mut buf = bytes.get(start..start + size_us).unwrap_or(&[]).to_vec();
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
        let before = *st;
        zone::correct_data(&mut buf, &geometry, c, header.size as usize, st)?;
        let fixed = st.corrected_bytes - before.corrected_bytes;
        let bad = st.bad_blocks - before.bad_blocks;
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
    let data = buf
        .get(HEADER_LEN..HEADER_LEN + geometry.data_size)
        .unwrap_or(&[]);
    zone.old_log.extend_from_slice(data.get(a).unwrap_or(&[]));
    zone.old_log.extend_from_slice(data.get(b).unwrap_or(&[]));
    zone.state = ZoneState::Valid;
    Ok(zone)
}

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
    fn dmesg(z: &Zone, h: DmesgHeader, capacity: usize) -> Record {
        Record {
            kind: z.kind,
            id: z.index,
            offset: z.offset,
            header: Some(h),
            payload: z.old_log.get(h.len..).unwrap_or_default().to_vec(),
            ecc: z.ecc,
            decompress_limit: crate::pstore::zbufsize_deflate(capacity),
        }
    }

    fn plain(z: &Zone) -> Record {
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

    /// pstore's merge of per-CPU ftrace zones (fs/pstore/ftrace.c,
    /// `pstore_ftrace_combine_log`): 24-byte records merged by timestamp
    /// (`ts >> 8` on 64-bit), a partial leading record dropped per zone.
    fn ftrace_combined(zones: &[&Zone]) -> Option<Record> {
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
                acc.corrected_bytes += e.corrected_bytes;
                acc.bad_blocks += e.bad_blocks;
            }
            let src = z.old_log.get(z.old_log.len() % REC..).unwrap_or(&[]);
            let dst = merged.get(merged.len() % REC..).unwrap_or(&[]);
            let mut out = Vec::with_capacity(dst.len() + src.len());
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

    /// The stored payload is compressed.
    pub fn compressed(&self) -> bool {
        self.header.is_some_and(|h| h.compressed)
    }

    /// `<Reason>#<count> Part<n>` of a dmesg record, when readable.
    pub fn part_line(&self) -> Option<dmesg::PartLine> {
        if self.compressed() {
            dmesg::parse_part_line(&crate::pstore::inflate(
                &self.payload,
                self.decompress_limit,
            )?)
        } else {
            dmesg::parse_part_line(&self.payload)
        }
    }

    /// The file pstore would create for this record.
    pub fn pstore_file(&self) -> crate::pstore::PstoreFile {
        crate::pstore::PstoreFile::from_record(self, "ramoops")
    }

    /// The name of that file, e.g. `dmesg-ramoops-3`.
    pub fn file_name(&self) -> String {
        self.pstore_file().name
    }

    /// The contents of that file.
    pub fn file_contents(&self) -> Vec<u8> {
        self.pstore_file().contents
    }
}
