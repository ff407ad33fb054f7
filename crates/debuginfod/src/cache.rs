//! [`Cache`]: crashview's on-disk cache of files named by build-id.
//!
//! Layout: `<root>/debuginfod/<build-id>/<kind>`, e.g.
//! `~/.cache/crashview/debuginfod/c3ae…/debuginfo`. One directory per
//! build-id holds every file derived from that object, so a later artifact
//! (a persistent symbol index, say) gets its own name from
//! [`Cache::path_for`] and shares the size limit and eviction.
//!
//! This is our own cache, not elfutils' `$DEBUGINFOD_CACHE_PATH`: that
//! layout is "deliberately undocumented" (debuginfod-client-config(7),
//! "CACHE"), so we neither read nor write it.

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use crate::build_id::BuildId;
use crate::error::CacheError;

/// The subdirectory of the cache root that holds the per-build-id entries.
const SUBDIR: &str = "debuginfod";

/// Temporary files start with this (and so with a dot, which no entry name
/// may): `.tmp.<name>.<pid>.<n>`.
const TMP_PREFIX: &str = ".tmp.";

/// A temporary file this old was left by a process that died mid-download;
/// eviction removes it. Younger ones may belong to a running download.
const STALE_TMP: Duration = Duration::from_secs(24 * 60 * 60);

/// Tries at a fresh temporary name before giving up (a name is taken only
/// when a dead process with the same pid left one behind).
const TMP_TRIES: u32 = 16;

/// Distinguishes temporary files of one process (threads fetch at once).
static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A size-bounded directory of files named by build-id.
///
/// Writes are atomic: a file is written under a temporary name in its final
/// directory and then `rename(2)`d into place, so readers see either no
/// file or a whole one, and two processes fetching the same build-id both
/// succeed (the second rename replaces the first's identical file). After
/// each write, least-recently-used files (by the later of mtime and atime;
/// a cache hit sets mtime) are removed until the total is under the limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cache {
    root: PathBuf,
    limit: u64,
}

/// What one eviction pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Evicted {
    /// Files removed to get under the limit.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Bytes of cache files left.
    pub remaining: u64,
}

impl Cache {
    /// The default size limit: 4 GiB (a distribution vmlinux debug file is
    /// several hundred MiB, modules a few MiB each).
    pub const DEFAULT_LIMIT: u64 = 4 << 30;

    /// A cache rooted at `root` (created on first write) with the default
    /// limit.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            limit: Self::DEFAULT_LIMIT,
        }
    }

    /// The default cache: `$XDG_CACHE_HOME/crashview`, else
    /// `$HOME/.cache/crashview`.
    pub fn from_env() -> Result<Self, CacheError> {
        Self::from_vars(|name| std::env::var_os(name))
    }

    /// [`Cache::from_env`] with the environment given as a lookup function.
    pub fn from_vars(var: impl Fn(&str) -> Option<OsString>) -> Result<Self, CacheError> {
        // The XDG Base Directory spec says a relative $XDG_CACHE_HOME is
        // invalid and to be ignored.
        if let Some(xdg) = var("XDG_CACHE_HOME").map(PathBuf::from) {
            if xdg.is_absolute() {
                return Ok(Self::new(xdg.join("crashview")));
            }
        }
        match var("HOME") {
            Some(home) if !home.is_empty() => Ok(Self::new(
                PathBuf::from(home).join(".cache").join("crashview"),
            )),
            _ => Err(CacheError::NoCacheDir),
        }
    }

    /// Sets the size limit in bytes.
    #[must_use]
    pub fn with_limit(mut self, bytes: u64) -> Self {
        self.limit = bytes;
        self
    }

    /// The cache root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The size limit in bytes.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Where the file `name` of `build_id` lives:
    /// `<root>/debuginfod/<build-id>/<name>`. `name` must be a plain file
    /// name of ASCII letters, digits, `-`, `_` and `.`, not starting with a
    /// dot (dot names are temporary files); otherwise `None`.
    pub fn path_for(&self, name: &str, build_id: &BuildId) -> Option<PathBuf> {
        let plain = !name.is_empty()
            && !name.starts_with('.')
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        plain.then(|| self.entry_dir(build_id).join(name))
    }

    fn entry_dir(&self, build_id: &BuildId) -> PathBuf {
        self.root.join(SUBDIR).join(build_id.as_str())
    }

    /// The cached file `name` of `build_id`, if present. A hit marks the
    /// file as used (sets its mtime), so eviction keeps it longer.
    pub fn lookup(&self, name: &str, build_id: &BuildId) -> Option<PathBuf> {
        let path = self.path_for(name, build_id)?;
        let meta = fs::metadata(&path).ok()?;
        if !meta.is_file() {
            return None;
        }
        // Best effort: a read-only cache still serves hits, it just cannot
        // record them.
        if let Ok(file) = File::options().write(true).open(&path) {
            let _ = file.set_modified(SystemTime::now());
        }
        Some(path)
    }

    /// Starts writing the file `name` of `build_id`: a temporary file in the
    /// entry's directory. Nothing is visible under the final name until
    /// [`Pending::commit`]; dropping the [`Pending`] removes the file.
    pub fn begin(&self, name: &str, build_id: &BuildId) -> Result<Pending<'_>, CacheError> {
        let dest = self
            .path_for(name, build_id)
            .ok_or_else(|| CacheError::Io {
                action: "name",
                path: self.entry_dir(build_id).join(name),
                kind: io::ErrorKind::InvalidInput,
                message: "not a plain file name".into(),
            })?;
        let dir = self.entry_dir(build_id);
        fs::create_dir_all(&dir).map_err(|e| CacheError::io("create directory", &dir, &e))?;
        let pid = std::process::id();
        let mut last = None;
        for _ in 0..TMP_TRIES {
            let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
            let tmp = dir.join(format!("{TMP_PREFIX}{name}.{pid}.{n}"));
            match File::options().write(true).create_new(true).open(&tmp) {
                Ok(file) => {
                    return Ok(Pending {
                        cache: self,
                        file,
                        tmp,
                        dest,
                        committed: false,
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some((tmp, e)),
                // Another process's failed download removed the (then
                // empty) directory between our create_dir_all and here.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    fs::create_dir_all(&dir)
                        .map_err(|e| CacheError::io("create directory", &dir, &e))?;
                    last = Some((tmp, e));
                }
                Err(e) => return Err(CacheError::io("create", &tmp, &e)),
            }
        }
        let (tmp, e) = last.unwrap_or_else(|| (dir.clone(), io::ErrorKind::AlreadyExists.into()));
        Err(CacheError::io("create", tmp, &e))
    }

    /// Removes least-recently-used files until the cache is within its
    /// limit, never `keep` (the file just written: a single file over the
    /// limit stays, alone). Also removes temporary files left by dead
    /// processes. Files that vanish meanwhile (another process evicting)
    /// are skipped.
    pub fn evict(&self, keep: Option<&Path>) -> Evicted {
        let mut files = Vec::new();
        let now = SystemTime::now();
        for dir in read_dir_paths(&self.root.join(SUBDIR)) {
            // Only build-id directories are ours; leave anything else alone.
            let ours = dir
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| BuildId::from_hex(n).is_ok());
            if !ours {
                continue;
            }
            for path in read_dir_paths(&dir) {
                let Ok(meta) = fs::symlink_metadata(&path) else {
                    continue;
                };
                if !meta.is_file() {
                    continue;
                }
                let used = last_use(&meta);
                let is_tmp = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with('.'));
                if is_tmp {
                    let stale = now.duration_since(used).is_ok_and(|age| age > STALE_TMP);
                    if stale {
                        let _ = fs::remove_file(&path);
                    }
                    continue;
                }
                files.push((used, meta.len(), path));
            }
        }
        let mut total = files.iter().fold(0u64, |t, f| t.saturating_add(f.1));
        let mut out = Evicted::default();
        files.sort();
        for (_, len, path) in files {
            if total <= self.limit {
                break;
            }
            if Some(path.as_path()) == keep {
                continue;
            }
            if fs::remove_file(&path).is_ok() {
                total = total.saturating_sub(len);
                out.files = out.files.saturating_add(1);
                out.bytes = out.bytes.saturating_add(len);
                if let Some(parent) = path.parent() {
                    // Fails, as it should, while the entry has other files.
                    let _ = fs::remove_dir(parent);
                }
            }
        }
        out.remaining = total;
        out
    }
}

/// The later of mtime and atime: with `relatime` mounts atime alone is
/// coarse, and a cache hit sets mtime (see [`Cache::lookup`]).
fn last_use(meta: &fs::Metadata) -> SystemTime {
    let m = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
    let a = meta.accessed().unwrap_or(SystemTime::UNIX_EPOCH);
    m.max(a)
}

fn read_dir_paths(dir: &Path) -> Vec<PathBuf> {
    match fs::read_dir(dir) {
        Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(_) => Vec::new(),
    }
}

/// A cache file being written; see [`Cache::begin`].
#[derive(Debug)]
pub struct Pending<'a> {
    cache: &'a Cache,
    file: File,
    tmp: PathBuf,
    dest: PathBuf,
    committed: bool,
}

impl Pending<'_> {
    /// The temporary file, to write the content to.
    pub fn file(&mut self) -> &mut File {
        &mut self.file
    }

    /// The temporary file's path (to read back and check before committing).
    pub fn tmp_path(&self) -> &Path {
        &self.tmp
    }

    /// Appends `bytes`, naming the file in the error.
    pub fn write_all(&mut self, bytes: &[u8]) -> Result<(), CacheError> {
        self.file
            .write_all(bytes)
            .map_err(|e| CacheError::io("write", &self.tmp, &e))
    }

    /// Flushes the file to disk, renames it to its final name, then evicts
    /// old entries to get under the limit. Returns the final path.
    pub fn commit(self) -> Result<PathBuf, CacheError> {
        // sync before rename, so that after a crash the name never points
        // at a file whose data did not reach the disk.
        self.file
            .sync_data()
            .map_err(|e| CacheError::io("sync", &self.tmp, &e))?;
        self.commit_unsynced()
    }

    /// [`commit`](Self::commit) without waiting for the disk: for files
    /// that check themselves when read (a checksummed index), where a file
    /// torn by a crash is detected and rebuilt, and the wait is not worth it.
    pub fn commit_unsynced(mut self) -> Result<PathBuf, CacheError> {
        fs::rename(&self.tmp, &self.dest).map_err(|e| CacheError::io("rename", &self.tmp, &e))?;
        self.committed = true;
        self.cache.evict(Some(&self.dest));
        Ok(self.dest.clone())
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.tmp);
            // Leave no empty entry directory behind a failed download; this
            // fails, as it should, if the entry has other files.
            if let Some(dir) = self.tmp.parent() {
                let _ = fs::remove_dir(dir);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    fn id() -> BuildId {
        BuildId::from_hex("c3ae68eb").unwrap()
    }

    #[test]
    fn default_root() {
        let env = |xdg: Option<&'static str>, home: Option<&'static str>| {
            move |k: &str| match k {
                "XDG_CACHE_HOME" => xdg.map(OsString::from),
                "HOME" => home.map(OsString::from),
                _ => None,
            }
        };
        let c = Cache::from_vars(env(Some("/x"), Some("/h"))).unwrap();
        assert_eq!(c.root(), Path::new("/x/crashview"));
        let c = Cache::from_vars(env(Some("rel"), Some("/h"))).unwrap();
        assert_eq!(c.root(), Path::new("/h/.cache/crashview"));
        let c = Cache::from_vars(env(None, Some("/h"))).unwrap();
        assert_eq!(c.root(), Path::new("/h/.cache/crashview"));
        assert_eq!(
            Cache::from_vars(env(None, None)),
            Err(CacheError::NoCacheDir)
        );
        assert_eq!(
            Cache::from_vars(env(None, Some(""))),
            Err(CacheError::NoCacheDir)
        );
    }

    #[test]
    fn path_for_takes_plain_names_only() {
        let c = Cache::new("/c");
        assert_eq!(
            c.path_for("debuginfo", &id()).unwrap(),
            Path::new("/c/debuginfod/c3ae68eb/debuginfo")
        );
        assert!(c.path_for("symindex.v1", &id()).is_some());
        for bad in ["", ".tmp", "../x", "a/b", "a b"] {
            assert_eq!(c.path_for(bad, &id()), None, "{bad:?}");
        }
    }

    #[test]
    fn dropped_pending_leaves_nothing() {
        let dir = std::env::temp_dir().join(format!("cv-dbgd-unit-{}", std::process::id()));
        let c = Cache::new(&dir);
        let mut p = c.begin("debuginfo", &id()).unwrap();
        p.write_all(b"half").unwrap();
        let tmp = p.tmp_path().to_path_buf();
        assert_eq!(
            tmp.parent().unwrap().file_name(),
            Some(OsStr::new("c3ae68eb"))
        );
        drop(p);
        assert!(!tmp.exists());
        assert_eq!(c.lookup("debuginfo", &id()), None);
        let p = c.begin("debuginfo", &id()).unwrap();
        let path = p.commit().unwrap();
        assert_eq!(c.lookup("debuginfo", &id()), Some(path));
        fs::remove_dir_all(&dir).unwrap();
    }
}
