//! Findings about a region: what the reader noticed, how serious it is, and
//! where (region offset, zone). Every other part of [`crate::region`]
//! reports through these.

use crate::layout::ZoneKind;

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

pub(crate) fn push(
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
