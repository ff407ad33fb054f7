//! [`Client`]: fetch by build-id from the servers in `DEBUGINFOD_URLS`.

use std::io::{self, Read};
use std::path::PathBuf;
use std::time::Duration;

use crate::build_id::BuildId;
use crate::cache::Cache;
use crate::error::{CacheError, Failure, FetchError, ServerFailure};
use crate::kind::Kind;
use crate::verify;

/// elfutils' default for `DEBUGINFOD_TIMEOUT`: `default_timeout = 90` in
/// debuginfod-client.c, "The default is 90 seconds" in
/// debuginfod-client-config(7).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(90);

/// The size cap when `DEBUGINFOD_MAXSIZE` is unset or 0: 4 GiB. elfutils
/// has no cap by default; we keep one so a broken server cannot fill the
/// disk.
pub const DEFAULT_MAX_SIZE: u64 = 4 << 30;

/// Bytes read from the socket per write to the cache file (and per
/// progress call).
const CHUNK: usize = 64 * 1024;

/// Where and how to fetch: what [`Settings::from_env`] reads from the
/// elfutils client variables (debuginfod-client-config(7)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Server base URLs, tried in order (`DEBUGINFOD_URLS`).
    pub servers: Vec<String>,
    /// How long a server may stay silent, while connecting or sending
    /// (`DEBUGINFOD_TIMEOUT`; `None`: no limit).
    pub timeout: Option<Duration>,
    /// How long one download may take in all (`DEBUGINFOD_MAXTIME`;
    /// `None`: no limit).
    pub max_time: Option<Duration>,
    /// Largest file accepted, in bytes (`DEBUGINFOD_MAXSIZE`).
    pub max_size: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            servers: Vec::new(),
            timeout: Some(DEFAULT_TIMEOUT),
            max_time: None,
            max_size: DEFAULT_MAX_SIZE,
        }
    }
}

impl Settings {
    /// `servers` with the default limits.
    pub fn with_servers<S: Into<String>>(servers: impl IntoIterator<Item = S>) -> Self {
        Self {
            servers: servers.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    /// Reads `DEBUGINFOD_URLS`, `DEBUGINFOD_TIMEOUT`, `DEBUGINFOD_MAXTIME`
    /// and `DEBUGINFOD_MAXSIZE` from the environment.
    pub fn from_env() -> Self {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// [`Settings::from_env`] with the environment given as a lookup
    /// function.
    ///
    /// As in elfutils (debuginfod-client-config(7)): the URLs are separated
    /// by spaces; a timeout of zero or less means none; `MAXTIME` 0 means
    /// none. A value that is not a number is ignored (the default stays).
    /// `MAXSIZE` 0 means no limit to elfutils, but here it means the default
    /// cap, [`DEFAULT_MAX_SIZE`].
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Self {
        let seconds = |name: &str| -> Option<Option<Duration>> {
            let n: i64 = var(name)?.trim().parse().ok()?;
            Some(
                u64::try_from(n)
                    .ok()
                    .filter(|&n| n > 0)
                    .map(Duration::from_secs),
            )
        };
        let mut s = Self {
            servers: parse_urls(&var("DEBUGINFOD_URLS").unwrap_or_default()),
            ..Self::default()
        };
        if let Some(t) = seconds("DEBUGINFOD_TIMEOUT") {
            s.timeout = t;
        }
        if let Some(t) = seconds("DEBUGINFOD_MAXTIME") {
            s.max_time = t;
        }
        if let Some(n) = var("DEBUGINFOD_MAXSIZE").and_then(|v| v.trim().parse::<u64>().ok()) {
            if n > 0 {
                s.max_size = n;
            }
        }
        s
    }
}

/// Splits a `DEBUGINFOD_URLS` value into base URLs.
///
/// debuginfod-client-config(7): "Alternate URL prefixes are separated by
/// space" (debuginfod-client.c splits on `url_delim = " "`); tabs and
/// newlines are accepted too. A trailing `/` is dropped, since elfutils
/// accepts both `http://foo:999` and `http://foo:999/`; a repeated URL is
/// tried once.
pub fn parse_urls(value: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for url in value.split_ascii_whitespace() {
        let url = url.trim_end_matches('/');
        if !url.is_empty() && !out.iter().any(|u| u == url) {
            out.push(url.to_string());
        }
    }
    out
}

/// Fetches files by build-id from debuginfod servers into a [`Cache`].
///
/// `Client` holds no connection; it is cheap, `Send` and `Sync`, and
/// several threads may fetch through one (or processes through one cache
/// directory) at once.
#[derive(Debug, Clone)]
pub struct Client {
    settings: Settings,
    cache: Cache,
    env_proxy: bool,
}

/// One server's attempt ended: with its failure, or with a local cache error
/// that makes trying other servers pointless.
enum Attempt {
    Server(Failure),
    Cache(CacheError),
}

impl From<Failure> for Attempt {
    fn from(f: Failure) -> Self {
        Self::Server(f)
    }
}

impl Client {
    /// The servers and limits from [`Settings::from_env`], the cache from
    /// [`Cache::from_env`]. HTTP proxies are taken from the usual
    /// `http_proxy`/`ALL_PROXY`/`NO_PROXY` variables.
    pub fn from_env() -> Result<Self, CacheError> {
        Ok(Self::new(Settings::from_env(), Cache::from_env()?))
    }

    /// A client with these settings and cache.
    pub fn new(settings: Settings, cache: Cache) -> Self {
        Self {
            settings,
            cache,
            env_proxy: true,
        }
    }

    /// Whether to use the proxy named by the environment (default: yes).
    /// Tests that talk to 127.0.0.1 turn it off so a CI proxy cannot
    /// intercept them.
    #[must_use]
    pub fn with_env_proxy(mut self, yes: bool) -> Self {
        self.env_proxy = yes;
        self
    }

    /// The settings in use.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The cache in use.
    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// The `kind` file of `build_id`: from the cache if there (no network
    /// at all), else from the first server that has it, checked and stored
    /// in the cache.
    ///
    /// `progress(done, total)` is called as bytes arrive (`total` when the
    /// server says the size). With several servers it may restart from 0.
    ///
    /// A server's answer is accepted only if it is an ELF file whose
    /// `NT_GNU_BUILD_ID` note is `build_id` (and, for
    /// [`Kind::Debuginfo`], has `.debug_*` sections) and is at most
    /// [`Settings::max_size`] bytes; anything else is discarded and the
    /// next server is tried.
    pub fn fetch(
        &self,
        build_id: &BuildId,
        kind: Kind,
        progress: &mut dyn FnMut(u64, Option<u64>),
    ) -> Result<PathBuf, FetchError> {
        if let Some(path) = self.cache.lookup(kind.as_str(), build_id) {
            return Ok(path);
        }
        if self.settings.servers.is_empty() {
            return Err(FetchError::NoServers {
                build_id: build_id.clone(),
                kind,
            });
        }
        let agent = self.agent();
        let mut failures = Vec::with_capacity(self.settings.servers.len());
        for server in &self.settings.servers {
            // elfutils accepts a base URL with or without a trailing slash
            // (debuginfod-client.c, "Tolerate both http://foo:999 and
            // http://foo:999/ forms"); parse_urls dropped it already, but
            // Settings may be built by hand.
            let base = server.trim_end_matches('/');
            let url = format!("{base}/buildid/{build_id}/{kind}");
            match self.try_server(&agent, &url, build_id, kind, progress) {
                Ok(path) => return Ok(path),
                Err(Attempt::Server(failure)) => failures.push(ServerFailure {
                    server: server.clone(),
                    url,
                    build_id: build_id.clone(),
                    kind,
                    failure,
                }),
                Err(Attempt::Cache(error)) => {
                    return Err(FetchError::Cache {
                        build_id: build_id.clone(),
                        error,
                    })
                }
            }
        }
        Err(FetchError::Servers {
            build_id: build_id.clone(),
            kind,
            failures,
        })
    }

    fn agent(&self) -> ureq::Agent {
        let t = self.settings.timeout;
        let mut config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .user_agent(concat!("crashview-debuginfod/", env!("CARGO_PKG_VERSION")))
            // DEBUGINFOD_TIMEOUT bounds silence, not the whole transfer:
            // elfutils skips "a server that fails to provide at least 100K
            // of data within this many seconds" (debuginfod-client-config(7));
            // we bound connecting and each read, so a server that stops
            // sending is dropped and a slow big download still completes.
            .timeout_connect(t)
            .timeout_per_read(t)
            .timeout_global(self.settings.max_time);
        if !self.env_proxy {
            config = config.proxy(None);
        }
        ureq::Agent::new_with_config(config.build())
    }

    fn try_server(
        &self,
        agent: &ureq::Agent,
        url: &str,
        build_id: &BuildId,
        kind: Kind,
        progress: &mut dyn FnMut(u64, Option<u64>),
    ) -> Result<PathBuf, Attempt> {
        if url.starts_with("https://") && !cfg!(feature = "https") {
            return Err(Failure::Unsupported(
                "https:// needs crashview-debuginfod's `https` feature".into(),
            )
            .into());
        }
        let response = agent
            .get(url)
            .call()
            .map_err(|e| self.classify(e, "waiting for the answer"))?;
        let status = response.status().as_u16();
        if status == 404 {
            return Err(Failure::NotFound.into());
        }
        if !(200..300).contains(&status) {
            return Err(Failure::HttpStatus(status).into());
        }
        let limit = self.settings.max_size;
        let length = response.body().content_length();
        if let Some(size) = length.filter(|&n| n > limit) {
            return Err(Failure::TooLarge {
                limit,
                size: Some(size),
            }
            .into());
        }
        // debuginfod(8) sends X-DEBUGINFOD-SIZE; use it for progress only
        // (the cap is enforced on the bytes that actually arrive).
        let total = length.or_else(|| {
            response
                .headers()
                .get("x-debuginfod-size")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok())
        });

        let mut pending = self
            .cache
            .begin(kind.as_str(), build_id)
            .map_err(Attempt::Cache)?;
        // The reader has no limit of its own; ours is checked per chunk, and
        // the body is streamed to disk, never held in memory.
        let mut body = response.into_body().into_reader();
        let mut buf = vec![0u8; CHUNK];
        let mut done: u64 = 0;
        progress(0, total);
        loop {
            let n = match body.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(self
                        .classify(ureq::Error::from(e), "waiting for data")
                        .into())
                }
            };
            done = done.saturating_add(u64::try_from(n).unwrap_or(u64::MAX));
            if done > limit {
                return Err(Failure::TooLarge { limit, size: None }.into());
            }
            let chunk = buf.get(..n).unwrap_or_default();
            pending.write_all(chunk).map_err(Attempt::Cache)?;
            progress(done, total);
        }
        verify::check(pending.tmp_path(), build_id, kind).map_err(Failure::WrongFile)?;
        pending.commit().map_err(Attempt::Cache)
    }

    fn classify(&self, e: ureq::Error, phase: &'static str) -> Failure {
        use ureq::Timeout as T;
        let idle = self.settings.timeout.unwrap_or_default();
        match e {
            ureq::Error::Timeout(T::Global) => Failure::Timeout {
                after: self.settings.max_time.unwrap_or_default(),
                phase: "in all (DEBUGINFOD_MAXTIME)",
            },
            ureq::Error::Timeout(T::Connect | T::Resolve) => Failure::Timeout {
                after: idle,
                phase: "connecting",
            },
            ureq::Error::Timeout(_) => Failure::Timeout { after: idle, phase },
            ureq::Error::Io(io) => match io.kind() {
                io::ErrorKind::ConnectionRefused => Failure::ConnectionRefused,
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
                    Failure::Timeout { after: idle, phase }
                }
                io::ErrorKind::UnexpectedEof => {
                    Failure::BadResponse(format!("connection closed early: {io}"))
                }
                _ => Failure::Network(io.to_string()),
            },
            ureq::Error::HostNotFound => Failure::HostNotFound,
            ureq::Error::Protocol(p) => Failure::BadResponse(p.to_string()),
            ureq::Error::BadUri(u) => Failure::Unsupported(format!("bad URL {u}")),
            other => Failure::Network(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| pairs.iter().find(|p| p.0 == k).map(|p| p.1.to_string())
    }

    #[test]
    fn urls_split_on_spaces_trim_slashes_and_dedupe() {
        assert_eq!(
            parse_urls("  http://a:8002/ http://b\thttp://a:8002 https://c// "),
            ["http://a:8002", "http://b", "https://c"]
        );
        assert!(parse_urls("").is_empty());
        assert!(parse_urls("   ").is_empty());
    }

    #[test]
    fn settings_from_vars() {
        assert_eq!(Settings::from_vars(vars(&[])), Settings::default());
        assert_eq!(Settings::default().timeout, Some(Duration::from_secs(90)));
        let s = Settings::from_vars(vars(&[
            ("DEBUGINFOD_URLS", "http://x"),
            ("DEBUGINFOD_TIMEOUT", " 5 "),
            ("DEBUGINFOD_MAXTIME", "60"),
            ("DEBUGINFOD_MAXSIZE", "1000"),
        ]));
        assert_eq!(s.servers, ["http://x"]);
        assert_eq!(s.timeout, Some(Duration::from_secs(5)));
        assert_eq!(s.max_time, Some(Duration::from_secs(60)));
        assert_eq!(s.max_size, 1000);
        // elfutils: zero or negative timeout means none; MAXTIME 0 none.
        let s = Settings::from_vars(vars(&[
            ("DEBUGINFOD_TIMEOUT", "-1"),
            ("DEBUGINFOD_MAXTIME", "0"),
            ("DEBUGINFOD_MAXSIZE", "0"),
        ]));
        assert_eq!((s.timeout, s.max_time), (None, None));
        assert_eq!(s.max_size, DEFAULT_MAX_SIZE);
        // Not a number: the default stays.
        let s = Settings::from_vars(vars(&[("DEBUGINFOD_TIMEOUT", "soon")]));
        assert_eq!(s.timeout, Some(DEFAULT_TIMEOUT));
    }
}
