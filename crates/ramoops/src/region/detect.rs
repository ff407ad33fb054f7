//! Layout autodetection: where the zones are, from the signatures found in
//! the image and whatever parameters the caller pinned.

use core::ops::ControlFlow;

use crate::layout::{round_down_pow2, Layout, Params, ZoneKind, MODULE_DEFAULT_SIZE};
use crate::region::diag::{push, Diagnostic, Severity};
use crate::region::params::Overrides;
use crate::zone::{Signature, ZoneHeader, HEADER_LEN};
use crate::{Error, Result};

/// Upper bound on zones a region may hold; a 1 MiB region with 4 KiB records
/// has ~256. Far above any real configuration, low enough to bound work.
pub(crate) const MAX_ZONES: usize = 1 << 16;

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
    // Offsets with a whole header before `end`. A half-open range: StepBy
    // over an inclusive one is measurably slower on this 1-in-2 walk.
    for off in (0..end.saturating_sub(HEADER_LEN - 1)).step_by(2) {
        let h = bytes
            .get(off..)
            .and_then(ZoneHeader::parse)
            .unwrap_or_default();
        let s = h.signature();
        if s != Signature::Invalid && h.start <= h.size && u64::from(h.size) < mem_size {
            out.push((off as u64, s));
            if out.len() >= MAX_ZONES {
                break;
            }
        }
    }
    out
}

/// Picks the layout: straight from overrides when they pin it, otherwise the
/// candidate whose computed zone starts carry the most signatures.
pub(crate) fn choose_layout(
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
    let mut budget = Budget::new(DETECT_BUDGET);
    candidates(&sigs, mem_size, ov, &mut budget, |budget, p| {
        let Ok(layout) = Layout::compute(&p) else {
            return ControlFlow::Continue(());
        };
        let mut score = 0usize;
        let mut misses = 0usize;
        // Scores count probes, at most MAX_ZONES each: the saturating ops
        // below never saturate, and keep the bound's order if they did.
        let total = usize::try_from(layout.zone_count())
            .unwrap_or(usize::MAX)
            .min(MAX_ZONES);
        let best_key = best.as_ref().map_or(0, |(k, _, _)| *k);
        for (seen, (kind, _, off, _)) in layout.zones().take(MAX_ZONES).enumerate() {
            // Stop once even all remaining zones matching cannot beat the best.
            let reachable = score.saturating_add(total.saturating_sub(seen));
            if reachable.saturating_mul(4) <= best_key.saturating_add(misses) {
                break;
            }
            if budget.spend_probe().is_break() {
                return ControlFlow::Break(());
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
                .and_then(|o| bytes.get(o..))
                .and_then(|z| z.get(HEADER_LEN..))
                .and_then(|d| d.first_chunk::<4>())
                .is_some_and(|b| b == crate::dmesg::HEADER_MAGIC);
            let ok = match kind {
                ZoneKind::Ftrace => matches!(s, Signature::Versioned { .. }),
                ZoneKind::Dmesg => s == Signature::Plain,
                ZoneKind::Console | ZoneKind::Pmsg => s == Signature::Plain && !holds_dump,
            };
            if ok {
                score = score.saturating_add(1);
            } else {
                misses = misses.saturating_add(1);
            }
        }
        // Prefer layouts explaining more headers, then fewer unexplained zones.
        let key = score.saturating_mul(4).saturating_sub(misses);
        if score > 0 && best.as_ref().is_none_or(|(k, _, _)| key > *k) {
            best = Some((key, p, layout));
        }
        ControlFlow::Continue(())
    });
    if budget.exhausted {
        push(
            diags,
            Severity::Warning,
            0,
            None,
            format!(
                "layout autodetection stopped at its work budget ({} units) after {} candidate layouts \
                 and {} zone probes, {}; give record_size, console_size, ftrace_size and pmsg_size \
                 to read the region without detection",
                budget.limit,
                budget.candidates,
                budget.probes,
                if best.is_some() {
                    "using the best layout found by then"
                } else {
                    "before any layout matched"
                }
            ),
        );
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

/// Work units layout autodetection may spend on one image: one per
/// candidate layout generated, one per zone header probed. Real regions
/// (the fixtures, every layout Linux makes) need well under 1% of it (see
/// the `autodetection_budget` test); a crafted image with many
/// signatures at many spacings would otherwise try millions of layouts of
/// thousands of zones each.
pub(crate) const DETECT_BUDGET: u64 = 1 << 24;

/// What autodetection has spent of its budget.
pub(crate) struct Budget {
    pub(crate) limit: u64,
    pub(crate) candidates: u64,
    pub(crate) probes: u64,
    left: u64,
    pub(crate) exhausted: bool,
}

impl Budget {
    pub(crate) fn new(limit: u64) -> Self {
        Budget {
            limit,
            candidates: 0,
            probes: 0,
            left: limit,
            exhausted: false,
        }
    }

    fn spend(&mut self) -> ControlFlow<()> {
        match self.left.checked_sub(1) {
            Some(left) => {
                self.left = left;
                ControlFlow::Continue(())
            }
            None => {
                self.exhausted = true;
                ControlFlow::Break(())
            }
        }
    }

    fn spend_candidate(&mut self) -> ControlFlow<()> {
        self.spend()?;
        // Both counts are below `limit`: they cannot wrap.
        self.candidates = self.candidates.saturating_add(1);
        ControlFlow::Continue(())
    }

    fn spend_probe(&mut self) -> ControlFlow<()> {
        self.spend()?;
        self.probes = self.probes.saturating_add(1);
        ControlFlow::Continue(())
    }
}

/// Candidate parameter sets consistent with the signatures, handed to `f`
/// one by one (each costs a budget unit; `f` may stop the walk): the dmesg
/// zone size is the distance between the first two headers; the tail after
/// the last dmesg zone is read as console / ftrace zones (versioned
/// signature) / pmsg. Overrides filter the candidates.
fn candidates(
    sigs: &[(u64, Signature)],
    mem_size: u64,
    ov: &Overrides,
    budget: &mut Budget,
    mut f: impl FnMut(&mut Budget, Params) -> ControlFlow<()>,
) {
    let pow2s = || {
        (8..=40)
            .filter_map(|s| 1u64.checked_shl(s))
            .filter(|&v| v <= mem_size)
    };
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
    // header spacing in the tail, and also try the module default. Offsets
    // are sorted and below mem_size, so the differences are checked only
    // for form's sake.
    let mut tail_sizes: Vec<u64> = plain
        .windows(2)
        .filter_map(|w| w.get(1)?.checked_sub(*w.first()?))
        .filter(|d| d.is_power_of_two())
        .collect();
    tail_sizes.extend(versioned.first().and_then(|&f| {
        let after = plain.iter().find(|&&o| o > f).copied().unwrap_or(mem_size);
        after.checked_sub(f).map(round_down_pow2)
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
    for record in pow2s() {
        // Console before pmsg on ties: a lone tail zone is more often the console.
        for &console in tail_sizes.iter().rev() {
            for &ftrace in &tail_sizes {
                for &pmsg in &tail_sizes {
                    if budget.spend_candidate().is_break() {
                        return;
                    }
                    let p = Params {
                        mem_size,
                        record_size: record,
                        console_size: console,
                        ftrace_size: ftrace,
                        pmsg_size: pmsg,
                        ecc: 0,
                        ftrace_zones: nftrace,
                    };
                    if keep(&p) && f(budget, p).is_break() {
                        return;
                    }
                }
            }
        }
    }
}
