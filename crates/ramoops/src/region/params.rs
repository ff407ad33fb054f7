//! The ramoops module parameters a caller may pin instead of having them
//! detected.

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
    /// All four zone sizes are given: the layout needs no detection.
    pub(crate) fn pins_layout(&self) -> bool {
        self.record_size.is_some()
            && self.console_size.is_some()
            && self.ftrace_size.is_some()
            && self.pmsg_size.is_some()
    }
}
