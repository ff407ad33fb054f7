//! Detecting the ECC size of a region from the zone headers' parity.

use crate::layout::Layout;
use crate::region::detect::MAX_ZONES;
use crate::region::diag::{push, Diagnostic, Severity};
use crate::rs::{Codec, MAX_ROOTS};
use crate::zone::{Signature, ZoneGeometry, ZoneHeader, HEADER_LEN};

/// Finds the ECC size: the smallest parity count under which a zone header
/// and the last N bytes of its zone (where ram_core.c keeps the header
/// parity, whatever N is) form a Reed–Solomon codeword. Looks at the first
/// four zones with a signature; 0 when none matches.
pub(crate) fn detect_ecc(bytes: &[u8], layout: &Layout, diags: &mut Vec<Diagnostic>) -> usize {
    // Bounded like every zone walk: a layout from overrides may name more
    // zones than any region holds.
    let zones: Vec<&[u8]> = layout
        .zones()
        .take(MAX_ZONES)
        .filter_map(|(_, _, off, size)| {
            let o = usize::try_from(off).ok()?;
            bytes.get(o..o.checked_add(usize::try_from(size).ok()?)?)
        })
        .filter(|z| ZoneHeader::parse(z).is_some_and(|h| h.signature() != Signature::Invalid))
        .take(4)
        .collect();
    for n in 1..=MAX_ROOTS {
        let mut codec = None;
        let mut header_checks = |zone: &&[u8]| {
            let Ok(g) = ZoneGeometry::new(zone.len(), n) else {
                return false;
            };
            let par = g
                .header_parity_offset()
                .and_then(|po| zone.get(po..))
                .and_then(|p| p.get(..n));
            let (Some(head), Some(par)) = (zone.get(..HEADER_LEN), par) else {
                return false;
            };
            // The first syndrome (evaluation at α^0) of a codeword is the XOR
            // of all its symbols: a cheap filter before the full decode.
            if head.iter().chain(par).fold(0u8, |a, &b| a ^ b) != 0 {
                return false;
            }
            let Some(c) = codec.get_or_insert_with(|| Codec::new(n).ok()) else {
                return false;
            };
            let mut h = [0u8; HEADER_LEN];
            h.copy_from_slice(head);
            matches!(c.decode(&mut h, par), Ok(crate::rs::Decoded::Clean))
        };
        let clean = zones.iter().filter(|z| header_checks(z)).count();
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
