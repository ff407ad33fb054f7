//! The errors of fetching: per server ([`ServerFailure`]) and overall
//! ([`FetchError`]), and the local cache's ([`CacheError`]).

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use crate::build_id::BuildId;
use crate::kind::Kind;

/// The local cache could not be used.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheError {
    /// Neither `$XDG_CACHE_HOME` (absolute) nor `$HOME` is set, so there is
    /// no default cache directory.
    NoCacheDir,
    /// A file system operation on the cache failed.
    Io {
        /// What was being done: "create directory", "write", "rename", ….
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The I/O error's kind.
        kind: io::ErrorKind,
        /// The I/O error's text.
        message: String,
    },
}

impl CacheError {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, e: &io::Error) -> Self {
        Self::Io {
            action,
            path: path.into(),
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

impl fmt::Display for CacheError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoCacheDir => {
                f.write_str("no cache directory: neither XDG_CACHE_HOME (absolute) nor HOME is set")
            }
            Self::Io {
                action,
                path,
                message,
                ..
            } => write!(f, "cache: cannot {action} {}: {message}", path.display()),
        }
    }
}

impl std::error::Error for CacheError {}

/// What went wrong with one server.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// HTTP 404: the server does not know this build-id.
    NotFound,
    /// Another HTTP status that is not a success.
    HttpStatus(u16),
    /// Nothing listens at the server's address.
    ConnectionRefused,
    /// The server's host name does not resolve.
    HostNotFound,
    /// The server went silent for longer than the timeout.
    Timeout {
        /// The limit that was hit.
        after: Duration,
        /// What we were waiting for, e.g. "waiting for data".
        phase: &'static str,
    },
    /// The file is larger than the size limit.
    TooLarge {
        /// The limit in bytes.
        limit: u64,
        /// The size the server announced, if it did.
        size: Option<u64>,
    },
    /// The answer is not valid HTTP, or broke off.
    BadResponse(String),
    /// The server answered 200 with a file that is not the requested
    /// artifact of this build-id; the text says why.
    WrongFile(String),
    /// The URL cannot be used (bad syntax, `https://` without the `https`
    /// feature).
    Unsupported(String),
    /// Any other network error.
    Network(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound => f.write_str("not found (HTTP 404)"),
            Self::HttpStatus(code) => write!(f, "HTTP status {code}"),
            Self::ConnectionRefused => f.write_str("connection refused"),
            Self::HostNotFound => f.write_str("host not found"),
            Self::Timeout { after, phase } => {
                write!(f, "timeout after {} s {phase}", after.as_secs_f64())
            }
            Self::TooLarge {
                limit,
                size: Some(size),
            } => write!(f, "file is {size} bytes, over the {limit}-byte limit"),
            Self::TooLarge { limit, size: None } => {
                write!(f, "file is over the {limit}-byte limit")
            }
            Self::BadResponse(why) => write!(f, "garbage answer, not valid HTTP ({why})"),
            Self::WrongFile(why) => write!(f, "wrong file ({why})"),
            Self::Unsupported(why) => write!(f, "unusable URL ({why})"),
            Self::Network(why) => write!(f, "network error ({why})"),
        }
    }
}

/// One server's failure to deliver one artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerFailure {
    /// The server's base URL, as listed in `DEBUGINFOD_URLS`.
    pub server: String,
    /// The URL that was requested.
    pub url: String,
    /// The build-id asked for.
    pub build_id: BuildId,
    /// The artifact asked for.
    pub kind: Kind,
    /// What happened.
    pub failure: Failure,
}

impl fmt::Display for ServerFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.failure {
            Failure::WrongFile(why) => write!(
                f,
                "server {} returned a file that is not the {} of build-id {} ({why})",
                self.server, self.kind, self.build_id
            ),
            other => write!(f, "server {}: {other}", self.server),
        }
    }
}

/// Why [`Client::fetch`](crate::Client::fetch) returned no file.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// Not in the cache, and no server is configured (`DEBUGINFOD_URLS`
    /// empty or unset).
    NoServers {
        /// The build-id asked for.
        build_id: BuildId,
        /// The artifact asked for.
        kind: Kind,
    },
    /// Every server failed; one entry per server, in `DEBUGINFOD_URLS` order.
    Servers {
        /// The build-id asked for.
        build_id: BuildId,
        /// The artifact asked for.
        kind: Kind,
        /// Each server's failure.
        failures: Vec<ServerFailure>,
    },
    /// The local cache could not be written.
    Cache {
        /// The build-id asked for.
        build_id: BuildId,
        /// What failed.
        error: CacheError,
    },
}

impl FetchError {
    /// The build-id asked for.
    pub fn build_id(&self) -> &BuildId {
        match self {
            Self::NoServers { build_id, .. }
            | Self::Servers { build_id, .. }
            | Self::Cache { build_id, .. } => build_id,
        }
    }

    /// The per-server failures (empty unless [`FetchError::Servers`]).
    pub fn failures(&self) -> &[ServerFailure] {
        match self {
            Self::Servers { failures, .. } => failures,
            _ => &[],
        }
    }
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoServers { build_id, kind } => write!(
                f,
                "cannot fetch the {kind} of build-id {build_id}: no debuginfod server (DEBUGINFOD_URLS is empty)"
            ),
            Self::Servers {
                build_id,
                kind,
                failures,
            } => {
                write!(f, "cannot fetch the {kind} of build-id {build_id}: ")?;
                for (i, failure) in failures.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{failure}")?;
                }
                Ok(())
            }
            Self::Cache { build_id, error } => {
                write!(f, "cannot store the file of build-id {build_id}: {error}")
            }
        }
    }
}

impl std::error::Error for FetchError {}
