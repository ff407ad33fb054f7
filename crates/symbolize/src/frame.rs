//! One source position of an address: what the DWARF readers produce
//! and the index stores. Below both.

/// One source-level frame: a function and a position in it. The first of a
/// list is the innermost (inlined) function; each next one is the caller it
/// was inlined into, at the call site. (Its own module, below the DWARF
/// reader, the index and [`resolve`](crate::resolve), which all use it.)
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SourceFrame {
    /// Function name from DWARF.
    pub function: Option<String>,
    /// Source file (with the compilation directory prepended when relative).
    pub file: Option<String>,
    /// Line, 1-based.
    pub line: Option<u32>,
    /// Column, 1-based.
    pub column: Option<u32>,
}

/// Most inline levels reported for one address.
pub const MAX_INLINE_DEPTH: usize = 64;
