//! Debug files fetched by build id from debuginfod servers, for
//! [`DebugFiles::load`](crate::debug_files::DebugFiles::load) (feature
//! `loader`).
//!
//! The fetching, checking and caching is [`crashview_debuginfod`]'s; this
//! module only decides when to ask (a client is made on the first need),
//! reports progress through the caller's [`Progress`] hook, and turns a
//! failure into one sentence for [`DebugFiles::warnings`](crate::debug_files::DebugFiles::warnings).
#![cfg(feature = "loader")]

use std::path::PathBuf;
use std::sync::Arc;

use crashview_debuginfod::{BuildId, Client, FetchError, Kind};

/// Told how a download goes. A closure `Fn(&str, u64, Option<u64>)` is
/// one (its `finish` does nothing).
pub trait FetchProgress: Send + Sync {
    /// `done` bytes of `what` (e.g. `module crashmod`) have arrived, of
    /// `total` if the server said.
    fn update(&self, what: &str, done: u64, total: Option<u64>);

    /// The download of `what` is over; `ok` if a file was stored. Also
    /// called after a cache hit or a failure without any [`update`](Self::update).
    fn finish(&self, what: &str, ok: bool) {
        let _ = (what, ok);
    }
}

impl<F: Fn(&str, u64, Option<u64>) + Send + Sync> FetchProgress for F {
    fn update(&self, what: &str, done: u64, total: Option<u64>) {
        self(what, done, total)
    }
}

/// An optional [`FetchProgress`] hook, in a type that is `Clone`, `Eq`
/// and `Debug` so that [`DebugOptions`](crate::debug_files::DebugOptions)
/// stays so: two hooks are equal when both are unset or both are the same
/// `Arc`.
#[derive(Clone, Default)]
pub struct Progress(Option<Arc<dyn FetchProgress>>);

impl Progress {
    /// No progress reports (the default).
    pub fn none() -> Self {
        Self(None)
    }

    /// Reports to `p`.
    pub fn new(p: impl FetchProgress + 'static) -> Self {
        Self(Some(Arc::new(p)))
    }

    /// Whether a hook is set.
    pub fn is_set(&self) -> bool {
        self.0.is_some()
    }

    fn update(&self, what: &str, done: u64, total: Option<u64>) {
        if let Some(p) = &self.0 {
            p.update(what, done, total);
        }
    }

    fn finish(&self, what: &str, ok: bool) {
        if let Some(p) = &self.0 {
            p.finish(what, ok);
        }
    }
}

impl PartialEq for Progress {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Eq for Progress {}

impl core::fmt::Debug for Progress {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(if self.is_set() {
            "Progress(set)"
        } else {
            "Progress(none)"
        })
    }
}

/// Fetches for one [`DebugFiles::load`](crate::debug_files::DebugFiles::load):
/// the client is made from the environment when first needed
/// (`DEBUGINFOD_URLS`, `DEBUGINFOD_TIMEOUT`, …, the cache under
/// `$XDG_CACHE_HOME/crashview`; see [`Client::from_env`]).
pub(crate) struct Fetcher<'o> {
    enabled: bool,
    progress: &'o Progress,
    client: Option<Result<Client, String>>,
}

impl<'o> Fetcher<'o> {
    pub(crate) fn new(enabled: bool, progress: &'o Progress) -> Self {
        Self {
            enabled,
            progress,
            client: None,
        }
    }

    /// The debug file of `build_id` (hex), for `what` (`vmlinux`,
    /// `module crashmod`): `Ok(Some)` from the cache or a server,
    /// `Ok(None)` when fetching is off, the id is not a build id, or no
    /// server is configured and the cache has nothing (not worth a
    /// warning), `Err` with a sentence naming the build id and each
    /// server's failure (the crate's [`FetchError`] text).
    pub(crate) fn fetch(&mut self, build_id: &str, what: &str) -> Result<Option<PathBuf>, String> {
        if !self.enabled {
            return Ok(None);
        }
        let Ok(id) = build_id.parse::<BuildId>() else {
            return Ok(None);
        };
        let client = match self
            .client
            .get_or_insert_with(|| Client::from_env().map_err(|e| e.to_string()))
        {
            Ok(c) => c,
            // No cache directory: worth saying only when servers are set.
            Err(e)
                if !crashview_debuginfod::Settings::from_env()
                    .servers
                    .is_empty() =>
            {
                return Err(format!("{what}: debuginfod: {e}"))
            }
            Err(_) => return Ok(None),
        };
        let progress = self.progress;
        let r = client.fetch(&id, Kind::Debuginfo, &mut |done, total| {
            progress.update(what, done, total)
        });
        progress.finish(what, r.is_ok());
        match r {
            Ok(p) => Ok(Some(p)),
            Err(FetchError::NoServers { .. }) => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }
}
