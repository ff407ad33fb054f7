//! [`BuildId`]: the validated hex name of an ELF file.

use std::fmt;
use std::str::FromStr;

/// Fewest bytes a build-id may have.
pub const MIN_BYTES: usize = 2;

/// Most bytes a build-id may have. elfutils' `debuginfod-client.c` has
/// `MAX_BUILD_ID_BYTES 64`; `ld --build-id=sha1` makes 20.
pub const MAX_BYTES: usize = 64;

/// The GNU build-id of an ELF file (its `NT_GNU_BUILD_ID` note), held as
/// lowercase hex: the form the debuginfod webapi and its caches use
/// (debuginfod(8): "the buildid is encoded as a lowercase hexadecimal
/// string").
///
/// Because a build-id becomes a URL path segment and a cache directory name,
/// the constructors accept nothing but [`MIN_BYTES`]..=[`MAX_BYTES`] bytes of
/// hex; no `/`, `.` or other character can reach a path.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BuildId(String);

/// Why a string or byte slice is not a [`BuildId`].
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildIdError {
    /// An odd number of hex digits (the value is the count).
    OddLength(usize),
    /// Fewer than [`MIN_BYTES`] or more than [`MAX_BYTES`] bytes (the value
    /// is the byte count).
    BadLength(usize),
    /// A character that is not a hex digit, at this byte offset.
    NotHex(usize),
}

impl fmt::Display for BuildIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OddLength(n) => write!(f, "build-id has an odd number of hex digits ({n})"),
            Self::BadLength(n) => write!(
                f,
                "build-id is {n} bytes long, not {MIN_BYTES} to {MAX_BYTES}"
            ),
            Self::NotHex(at) => write!(f, "build-id has a non-hex character at offset {at}"),
        }
    }
}

impl std::error::Error for BuildIdError {}

impl BuildId {
    /// Parses hex digits. Upper case is accepted and stored as lower case;
    /// surrounding whitespace is not accepted.
    pub fn from_hex(hex: &str) -> Result<Self, BuildIdError> {
        if let Some(at) = hex.bytes().position(|b| !b.is_ascii_hexdigit()) {
            return Err(BuildIdError::NotHex(at));
        }
        let digits = hex.len();
        if !digits.is_multiple_of(2) {
            return Err(BuildIdError::OddLength(digits));
        }
        let bytes = digits / 2;
        if !(MIN_BYTES..=MAX_BYTES).contains(&bytes) {
            return Err(BuildIdError::BadLength(bytes));
        }
        Ok(Self(hex.to_ascii_lowercase()))
    }

    /// Takes the raw bytes of a build-id note's descriptor.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, BuildIdError> {
        if !(MIN_BYTES..=MAX_BYTES).contains(&bytes.len()) {
            return Err(BuildIdError::BadLength(bytes.len()));
        }
        let mut hex = String::with_capacity(bytes.len().saturating_mul(2));
        for b in bytes {
            hex.push(hex_digit(b >> 4));
            hex.push(hex_digit(b & 0xf));
        }
        Ok(Self(hex))
    }

    /// The lowercase hex form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The raw bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Every pair is two validated hex digits, so nothing is skipped.
        self.0
            .as_bytes()
            .chunks_exact(2)
            .filter_map(|pair| Some((hex_value(*pair.first()?)? << 4) | hex_value(*pair.get(1)?)?))
            .collect()
    }
}

fn hex_digit(nibble: u8) -> char {
    char::from_digit(u32::from(nibble), 16).unwrap_or('0')
}

fn hex_value(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|v| u8::try_from(v).ok())
}

impl FromStr for BuildId {
    type Err = BuildIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_hex(s)
    }
}

impl fmt::Display for BuildId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for BuildId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BuildId({})", self.0)
    }
}

impl AsRef<str> for BuildId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalises() {
        let id = BuildId::from_hex("C3AE68eb").unwrap();
        assert_eq!(id.as_str(), "c3ae68eb");
        assert_eq!(id.to_bytes(), [0xc3, 0xae, 0x68, 0xeb]);
        assert_eq!(BuildId::from_bytes(&id.to_bytes()).unwrap(), id);
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(BuildId::from_hex("abc"), Err(BuildIdError::OddLength(3)));
        assert_eq!(BuildId::from_hex("ab"), Err(BuildIdError::BadLength(1)));
        assert_eq!(BuildId::from_hex(""), Err(BuildIdError::BadLength(0)));
        assert_eq!(BuildId::from_hex("ab/../cd"), Err(BuildIdError::NotHex(2)));
        assert_eq!(BuildId::from_hex(" abcd"), Err(BuildIdError::NotHex(0)));
        let long = "ab".repeat(MAX_BYTES + 1);
        assert_eq!(BuildId::from_hex(&long), Err(BuildIdError::BadLength(65)));
        assert!(BuildId::from_hex(&"ab".repeat(MAX_BYTES)).is_ok());
        assert_eq!(BuildId::from_bytes(&[1]), Err(BuildIdError::BadLength(1)));
    }
}
