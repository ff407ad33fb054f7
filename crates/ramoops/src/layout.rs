//! Where ramoops puts its zones inside the reserved region (`ramoops_probe` in
//! fs/pstore/ram.c, Linux 5.x–6.x): dmesg zones first, then console, ftrace
//! (one zone, or one per CPU), pmsg. Sizes are first rounded down to powers of
//! two; the dmesg area is what the others leave; each dmesg zone is
//! `ALIGN_DOWN(dump_area / count, 2)` bytes, which can exceed `record_size`.

use crate::{Error, Result};

/// ramoops' default for console, ftrace and pmsg sizes when the module is
/// loaded with parameters (`MIN_MEM_SIZE`, ram.c).
pub const MODULE_DEFAULT_SIZE: u64 = 4096;

/// The smallest dmesg zone `Layout::compute` accepts: a header and 2 bytes.
const MIN_DMESG_ZONE: u64 = crate::zone::HEADER_LEN as u64 + 2;

/// The ramoops configuration, named like its module parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// `mem_size`: bytes reserved for all zones.
    pub mem_size: u64,
    /// `record_size`: nominal size of one dmesg zone.
    pub record_size: u64,
    /// `console_size`.
    pub console_size: u64,
    /// `ftrace_size`: split over `ftrace_zones` zones.
    pub ftrace_size: u64,
    /// `pmsg_size`.
    pub pmsg_size: u64,
    /// `ecc`: parity bytes per 128-byte block, 0 for none (1 means 16).
    pub ecc: u32,
    /// Number of ftrace zones: 1, or `nr_cpu_ids` with the per-CPU flag (which
    /// module parameters always set).
    pub ftrace_zones: u32,
}

impl Params {
    /// Parameters as `insmod ramoops mem_size=… record_size=…` would set them:
    /// console, ftrace and pmsg default to 4096 bytes each.
    pub fn module_defaults(mem_size: u64, record_size: u64) -> Self {
        Params {
            mem_size,
            record_size,
            console_size: MODULE_DEFAULT_SIZE,
            ftrace_size: MODULE_DEFAULT_SIZE,
            pmsg_size: MODULE_DEFAULT_SIZE,
            ecc: 0,
            ftrace_zones: 1,
        }
    }

    /// The effective ECC size (`ramoops.ecc=1` means 16 bytes).
    pub fn ecc_size(&self) -> usize {
        if self.ecc == 1 {
            16
        } else {
            self.ecc as usize
        }
    }
}

/// A run of `count` equal zones starting at `offset` (region-relative).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ZoneRun {
    /// Offset of the first zone from the region start.
    pub offset: u64,
    /// Bytes per zone.
    pub zone_size: u64,
    /// Number of zones.
    pub count: u32,
}

impl ZoneRun {
    /// Offset of zone `i`.
    ///
    /// A run from [`Layout::compute`] ends inside `mem_size`, so this never
    /// saturates for `i < count`; for a hand-made run whose zones would lie
    /// past 2^64, `u64::MAX` is an offset no region has, which every bounds
    /// check after it refuses (saturating is the honest answer here).
    pub fn zone_offset(&self, i: u32) -> u64 {
        self.offset
            .saturating_add(u64::from(i).saturating_mul(self.zone_size))
    }

    /// Bytes covered by the run (saturating, as for
    /// [`zone_offset`](Self::zone_offset)).
    pub fn len(&self) -> u64 {
        u64::from(self.count).saturating_mul(self.zone_size)
    }

    /// No zones.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// The zones of a region, in region order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Layout {
    /// Oops/panic dump zones.
    pub dmesg: ZoneRun,
    /// Console zone (count 0 or 1).
    pub console: ZoneRun,
    /// ftrace zones.
    pub ftrace: ZoneRun,
    /// pmsg zone (count 0 or 1).
    pub pmsg: ZoneRun,
    /// The power-of-two record size actually used (informational).
    pub record_size: u64,
}

/// `rounddown_pow_of_two`, leaving 0 as 0.
pub fn round_down_pow2(v: u64) -> u64 {
    v.checked_ilog2()
        .and_then(|bit| 1u64.checked_shl(bit))
        .unwrap_or(0)
}

impl Layout {
    /// Computes the layout exactly as `ramoops_probe` does, with its errors.
    pub fn compute(p: &Params) -> Result<Self> {
        if p.mem_size == 0
            || (p.record_size == 0 && p.console_size == 0 && p.ftrace_size == 0 && p.pmsg_size == 0)
        {
            return Err(Error::BadParams(
                "mem_size and one of record/console/ftrace/pmsg size must be non-zero",
            ));
        }
        let record = round_down_pow2(p.record_size);
        let console = round_down_pow2(p.console_size);
        let ftrace = round_down_pow2(p.ftrace_size);
        let pmsg = round_down_pow2(p.pmsg_size);
        let others = console
            .checked_add(ftrace)
            .and_then(|v| v.checked_add(pmsg))
            .ok_or(Error::BadParams("zone sizes overflow"))?;
        // ram.c computes this in size_t and lets it wrap; a wrapped value
        // then fails the "no room" check below, so refuse it directly.
        let dump_area = p.mem_size.checked_sub(others).ok_or(Error::NoRoom {
            what: "dmesg",
            offset: 0,
            size: others,
        })?;

        let mut layout = Layout {
            record_size: record,
            ..Layout::default()
        };
        // Each zone must end inside mem_size, as ramoops_init_prz checks;
        // the end is computed checked, so a wrapped sum cannot pass for room.
        let room = |what, offset: u64, size: u64| match offset.checked_add(size) {
            Some(end) if end <= p.mem_size => Ok(end),
            _ => Err(Error::NoRoom { what, offset, size }),
        };
        let mut paddr = 0u64;
        // record != 0 here, so the divisions below have non-zero divisors.
        if let (Some(count), true) = (dump_area.checked_div(record), dump_area != 0) {
            let zone = dump_area
                .checked_div(count)
                .ok_or(Error::BadParams("record_size larger than the dmesg area"))?
                & !1;
            if zone < MIN_DMESG_ZONE {
                return Err(Error::BadParams("dmesg zone too small"));
            }
            let count =
                u32::try_from(count).map_err(|_| Error::BadParams("too many dmesg zones"))?;
            layout.dmesg = ZoneRun {
                offset: 0,
                zone_size: zone,
                count,
            };
            // zone * count <= dump_area: cannot fail, checked all the same.
            let run = zone
                .checked_mul(u64::from(count))
                .ok_or(Error::BadParams("zone sizes overflow"))?;
            paddr = room("dmesg", 0, run)?;
        }
        if console != 0 {
            let end = room("console", paddr, console)?;
            layout.console = ZoneRun {
                offset: paddr,
                zone_size: console,
                count: 1,
            };
            paddr = end;
        }
        if let (Some(zone), true) = (ftrace.checked_div(u64::from(p.ftrace_zones)), ftrace != 0) {
            room("ftrace", paddr, ftrace)?;
            let zone = zone & !1;
            if zone == 0 {
                return Err(Error::BadParams("ftrace zone size is zero"));
            }
            layout.ftrace = ZoneRun {
                offset: paddr,
                zone_size: zone,
                count: p.ftrace_zones,
            };
            // zone * ftrace_zones <= ftrace, which fits (checked above).
            let run = zone
                .checked_mul(u64::from(p.ftrace_zones))
                .ok_or(Error::BadParams("zone sizes overflow"))?;
            paddr = room("ftrace", paddr, run)?;
        }
        if pmsg != 0 {
            room("pmsg", paddr, pmsg)?;
            layout.pmsg = ZoneRun {
                offset: paddr,
                zone_size: pmsg,
                count: 1,
            };
        }
        Ok(layout)
    }

    /// Number of zones, all kinds together.
    pub fn zone_count(&self) -> u64 {
        [self.dmesg, self.console, self.ftrace, self.pmsg]
            .iter()
            .map(|r| u64::from(r.count))
            .sum()
    }

    /// Every zone as (kind, index within kind, offset, size), in region order.
    pub fn zones(&self) -> impl Iterator<Item = (ZoneKind, u32, u64, u64)> + '_ {
        [
            (ZoneKind::Dmesg, self.dmesg),
            (ZoneKind::Console, self.console),
            (ZoneKind::Ftrace, self.ftrace),
            (ZoneKind::Pmsg, self.pmsg),
        ]
        .into_iter()
        .flat_map(|(kind, run)| {
            (0..run.count).map(move |i| (kind, i, run.zone_offset(i), run.zone_size))
        })
    }
}

/// The record type a zone holds (pstore's type names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ZoneKind {
    /// Oops/panic kmsg dumps.
    Dmesg,
    /// Console log.
    Console,
    /// Function trace.
    Ftrace,
    /// User-space messages (/dev/pmsg0).
    Pmsg,
}

impl ZoneKind {
    /// pstore's name for the type (`pstore_type_names[]`, platform.c).
    pub fn name(self) -> &'static str {
        match self {
            ZoneKind::Dmesg => "dmesg",
            ZoneKind::Console => "console",
            ZoneKind::Ftrace => "ftrace",
            ZoneKind::Pmsg => "pmsg",
        }
    }
}

#[cfg(test)]
mod tests {
    // Test arithmetic on known small values; overflow would fail the test.
    #![allow(clippy::arithmetic_side_effects)]
    use super::*;

    #[test]
    fn module_defaults_leave_slightly_larger_dmesg_zones() {
        // 1 MiB with 16 KiB records and the 4 KiB defaults: dump area 1036288,
        // 63 zones of ALIGN_DOWN(1036288 / 63, 2) = 16448 bytes.
        let l = Layout::compute(&Params::module_defaults(0x100000, 0x4000)).unwrap();
        assert_eq!(
            l.dmesg,
            ZoneRun {
                offset: 0,
                zone_size: 16448,
                count: 63
            }
        );
        assert_eq!(l.console.offset, 16448 * 63);
        assert_eq!(l.ftrace.offset, 16448 * 63 + 4096);
        assert_eq!(l.pmsg.offset, 16448 * 63 + 8192);
        assert!(l.pmsg.offset + 4096 <= 0x100000);
        assert_eq!(l.zones().count(), 66);
    }

    #[test]
    fn sizes_round_down_to_powers_of_two() {
        let mut p = Params::module_defaults(0x10000, 0x3000);
        p.console_size = 0x1800;
        p.ftrace_size = 0;
        p.pmsg_size = 0;
        let l = Layout::compute(&p).unwrap();
        assert_eq!(l.record_size, 0x2000);
        assert_eq!(l.console.zone_size, 0x1000);
        assert_eq!(l.dmesg.count, (0x10000 - 0x1000) / 0x2000);
    }

    #[test]
    fn rejects_impossible_layouts() {
        assert!(Layout::compute(&Params::module_defaults(0, 0x1000)).is_err());
        assert!(Layout::compute(&Params::module_defaults(0x2000, 0x1000)).is_err());
        assert!(Layout::compute(&Params::module_defaults(0x100000, 0x200000)).is_err());
    }
}
