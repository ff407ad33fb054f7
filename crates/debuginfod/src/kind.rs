//! [`Kind`]: which artifact of a build-id to fetch.

use std::fmt;

/// The artifact to fetch for a build-id: the two ELF requests of the
/// debuginfod webapi (debuginfod(8), "WEBAPI": `/buildid/BUILDID/debuginfo`
/// and `/buildid/BUILDID/executable`). Source and section requests are not
/// needed by crashview and are not offered.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// An object with the `.debug_*` sections: a split debug file as made by
    /// `objcopy --only-keep-debug`, or an unstripped binary.
    Debuginfo,
    /// An object with the loadable segments (possibly stripped).
    Executable,
}

impl Kind {
    /// The webapi path component, also the file name in the cache entry.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Debuginfo => "debuginfo",
            Self::Executable => "executable",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
