//! The crate's one error type.

use crate::TypeId;
use core::fmt;

/// What went wrong while parsing a BTF blob or looking something up in it.
///
/// Parse errors carry the byte offset in the input blob (counted from the
/// first byte of the BTF header, as `xxd` shows it) and what was expected
/// there. Lookup errors name the type and, for member paths, the component.
///
/// Unlike the other reader crates' errors this one is `Clone` but not `Copy`:
/// [`Error::MemberNotFound`] and [`Error::NotComposite`] must name the path
/// component the caller asked for, so they own a copy of it. Only those
/// lookup errors allocate; every parse error is allocation-free.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The input ended before a structure that had to be there.
    Truncated {
        /// Where the structure starts.
        offset: u64,
        /// How many bytes it needs.
        needed: u64,
        /// How many bytes are left from `offset`.
        available: u64,
        /// What the structure is ("btf header", ...).
        what: &'static str,
    },
    /// The first two bytes are not the BTF magic 0xeB9F in either byte order.
    BadMagic {
        /// The first two bytes, read little-endian.
        found: u16,
    },
    /// The magic is 0xeB9F stored big-endian: BTF of a big-endian target,
    /// which this crate does not read.
    BigEndian,
    /// The header's version byte (at offset 2) is not 1.
    UnsupportedVersion {
        /// The version found.
        version: u8,
    },
    /// `hdr_len` (at offset 4) is smaller than the 24-byte header.
    HeaderTooShort {
        /// The value found.
        hdr_len: u32,
    },
    /// A section named by the header lies (partly) outside the input.
    SectionOutOfRange {
        /// "type" or "string".
        section: &'static str,
        /// Offset of the header field that holds the section's offset.
        field_offset: u64,
        /// Where the section would start in the blob.
        start: u64,
        /// Where it would end (exclusive).
        end: u64,
        /// The size of the input.
        input_len: u64,
    },
    /// The type section does not start on a 4-byte boundary.
    MisalignedTypeSection {
        /// The `type_off` value found (at offset 8).
        type_off: u32,
    },
    /// The string section breaks a rule of the format.
    BadStringSection {
        /// Where the string section starts in the blob.
        offset: u64,
        /// Which rule ("is empty", "does not start with a nul byte", ...).
        what: &'static str,
    },
    /// A type record's `info` word has bits set that the format leaves unused.
    BadInfo {
        /// Where the record starts.
        offset: u64,
        /// The type id the record would get.
        id: TypeId,
        /// The info word.
        info: u32,
    },
    /// A type record has a kind this crate does not know (0 or above 19).
    UnknownKind {
        /// Where the record starts.
        offset: u64,
        /// The type id the record would get.
        id: TypeId,
        /// The raw kind number.
        kind: u8,
    },
    /// A type record (with its members, parameters, ...) runs past the end of
    /// the type section.
    RecordTruncated {
        /// Where the record starts.
        offset: u64,
        /// The type id the record would get.
        id: TypeId,
        /// Bytes the record needs, header included.
        needed: u64,
        /// Bytes left in the type section from `offset`.
        available: u64,
    },
    /// A type's `name_off` points outside the string section, or at a name
    /// with no terminating nul.
    BadNameOffset {
        /// Where the type record starts.
        offset: u64,
        /// The type id.
        id: TypeId,
        /// The offset into the string section.
        name_off: u32,
    },
    /// More type records than the kernel allows (`BTF_MAX_TYPE`).
    TooManyTypes {
        /// Where the first record past the limit starts.
        offset: u64,
        /// The limit.
        limit: u32,
    },
    /// A type id that does not exist in this BTF.
    NoSuchType {
        /// The id.
        id: TypeId,
    },
    /// A chain of typedefs/qualifiers is longer than the hop limit or loops.
    ModifierLoop {
        /// The id the chain started from.
        id: TypeId,
    },
    /// A member path was empty or had an empty component (`"a..b"`).
    EmptyPathComponent {
        /// Byte position of the empty component in the path.
        position: usize,
    },
    /// A member path component was not found in the struct/union (nor in any
    /// of its anonymous struct/union members).
    MemberNotFound {
        /// The component that was not found.
        component: Box<str>,
        /// The struct/union it was looked for in (after resolving typedefs).
        ty: TypeId,
        /// That type's name, if it has one.
        type_name: Option<Box<str>>,
    },
    /// A member path tried to descend into something that is not a
    /// struct/union (an int, a pointer, an array, ...).
    NotComposite {
        /// The component that was to be looked up.
        component: Box<str>,
        /// The type it was to be looked up in (after resolving typedefs).
        ty: TypeId,
        /// That type's kind.
        kind: crate::Kind,
    },
    /// A lookup went deeper (nested anonymous members) or visited more
    /// members than its limit: crafted or corrupt input.
    TooComplex {
        /// The struct/union the lookup started in.
        ty: TypeId,
    },
    /// Offsets added up to more than 64 bits.
    Overflow {
        /// The type where it happened.
        ty: TypeId,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = core::result::Result<T, Error>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Truncated {
                offset,
                needed,
                available,
                what,
            } => write!(
                f,
                "truncated {what} at byte {offset}: expected {needed} bytes, {available} left"
            ),
            Error::BadMagic { found } => {
                write!(
                    f,
                    "bad magic at byte 0: expected 0xeb9f, found {found:#06x}"
                )
            }
            Error::BigEndian => write!(
                f,
                "big-endian btf (magic 0xeb9f byte-swapped at byte 0) is not supported"
            ),
            Error::UnsupportedVersion { version } => {
                write!(f, "unsupported btf version {version} at byte 2: expected 1")
            }
            Error::HeaderTooShort { hdr_len } => write!(
                f,
                "hdr_len {hdr_len} at byte 4 is shorter than the 24-byte btf header"
            ),
            Error::SectionOutOfRange {
                section,
                field_offset,
                start,
                end,
                input_len,
            } => write!(
                f,
                "{section} section (header field at byte {field_offset}) spans bytes \
                 {start}..{end}, past the {input_len}-byte input"
            ),
            Error::MisalignedTypeSection { type_off } => {
                write!(f, "type_off {type_off} at byte 8 is not a multiple of 4")
            }
            Error::BadStringSection { offset, what } => {
                write!(f, "string section at byte {offset} {what}")
            }
            Error::BadInfo { offset, id, info } => write!(
                f,
                "type [{id}] at byte {offset}: info {info:#010x} has unused bits set"
            ),
            Error::UnknownKind { offset, id, kind } => write!(
                f,
                "type [{id}] at byte {offset}: unknown kind {kind}, expected 1..=19"
            ),
            Error::RecordTruncated {
                offset,
                id,
                needed,
                available,
            } => write!(
                f,
                "type [{id}] at byte {offset} needs {needed} bytes, only {available} left \
                 in the type section"
            ),
            Error::BadNameOffset {
                offset,
                id,
                name_off,
            } => write!(
                f,
                "type [{id}] at byte {offset}: name_off {name_off} is not a string in the \
                 string section"
            ),
            Error::TooManyTypes { offset, limit } => {
                write!(f, "more than {limit} types (record at byte {offset})")
            }
            Error::NoSuchType { id } => write!(f, "no type [{id}]"),
            Error::ModifierLoop { id } => write!(
                f,
                "typedef/qualifier chain from type [{id}] loops or is too long"
            ),
            Error::EmptyPathComponent { position } => {
                write!(f, "empty member path component at position {position}")
            }
            Error::MemberNotFound {
                component,
                ty,
                type_name,
            } => match type_name {
                Some(n) => write!(f, "no member `{component}` in type [{ty}] `{n}`"),
                None => write!(f, "no member `{component}` in anonymous type [{ty}]"),
            },
            Error::NotComposite {
                component,
                ty,
                kind,
            } => write!(
                f,
                "cannot look up member `{component}` in type [{ty}]: a {kind:?}, not a \
                 struct or union"
            ),
            Error::TooComplex { ty } => write!(
                f,
                "member lookup in type [{ty}] exceeded its depth or work limit"
            ),
            Error::Overflow { ty } => write!(f, "offset overflow in type [{ty}]"),
        }
    }
}

impl std::error::Error for Error {}
