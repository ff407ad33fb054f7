//! The crate's one error type (a module of its own so that every layer
//! can use it without depending on the crate root).

/// What went wrong reading a debug object. Trace text never fails to parse:
/// what is not understood is skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Not an ELF file, or a malformed one (the `object` crate's reason).
    BadElf(&'static str),
    /// An ELF class or machine this crate does not read.
    Unsupported(&'static str),
    /// A DWARF section could not be read or relocated.
    BadSection {
        /// Which section.
        section: &'static str,
        /// Why.
        what: &'static str,
    },
    /// A relocation points outside its section.
    BadRelocation {
        /// Which section.
        section: &'static str,
        /// The relocation's offset.
        offset: u64,
    },
    /// The DWARF is malformed (gimli's reason).
    Dwarf(gimli::Error),
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Error::BadElf(why) => write!(f, "not a readable ELF file: {why}"),
            Error::Unsupported(what) => write!(f, "unsupported object: {what}"),
            Error::BadSection { section, what } => write!(f, "section {section}: {what}"),
            Error::BadRelocation { section, offset } => {
                write!(
                    f,
                    "relocation at {section}+{offset:#x} is outside the section"
                )
            }
            Error::Dwarf(e) => write!(f, "bad DWARF: {e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<gimli::Error> for Error {
    fn from(e: gimli::Error) -> Self {
        Error::Dwarf(e)
    }
}

/// Result with this crate's [`Error`].
pub type Result<T> = core::result::Result<T, Error>;
