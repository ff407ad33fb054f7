//! Modal overlays.

pub mod help;
