//! Small drawing helpers shared by views.

pub mod bar;
