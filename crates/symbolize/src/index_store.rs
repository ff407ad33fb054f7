//! Where index files live and how they are read and written (feature
//! `loader`): [`crashview_debuginfod::Cache`], memory maps.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::OsString;
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use crashview_debuginfod::{BuildId, Cache};

use crate::elf::{DebugObject, SectionArena, SourceFrame};
use crate::index::{encode_frames, Attached, Contents, Source, View, DISABLE_VAR, FILE_NAME};
use crate::loader::Mmap;

/// Whether the index is on, given the value of [`DISABLE_VAR`].
pub fn enabled(var: Option<OsString>) -> bool {
    var.is_none_or(|v| v.is_empty() || v == "0")
}

/// Attaches the index for `obj` (the object mapped from `path`) from the
/// default cache ([`Cache::from_env`]), unless [`DISABLE_VAR`] is set or
/// there is no cache directory. See [`attach_in`].
pub fn attach<'d>(obj: DebugObject<'d>, path: &Path, arena: &'d SectionArena) -> DebugObject<'d> {
    if !enabled(std::env::var_os(DISABLE_VAR)) {
        return obj;
    }
    match Cache::from_env() {
        Ok(cache) => attach_in(obj, path, cache, arena),
        Err(_) => obj,
    }
}

/// An index file's map, shared by the arena (for lookups) and the writer.
struct Shared(Arc<Mmap>);

impl AsRef<[u8]> for Shared {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// Attaches the index for `obj` from `cache`. When the index file is
/// valid for this file (build id, size, mtime, checksum), the object answers
/// symbol lookups, unit ranges and addresses resolved before from it;
/// otherwise the symbol and unit tables are built now. When the object is
/// dropped, a new file is written if there was none (or it was stale or
/// corrupt) or this run resolved addresses it lacks. An object without a
/// build id, or whose file on disk no longer has the size of the mapped
/// bytes, is returned as it is. The map of the index file is kept in
/// `arena`.
pub fn attach_in<'d>(
    mut obj: DebugObject<'d>,
    path: &Path,
    cache: Cache,
    arena: &'d SectionArena,
) -> DebugObject<'d> {
    let Some(build_id) = obj.build_id().and_then(|b| BuildId::from_bytes(b).ok()) else {
        return obj;
    };
    let Ok(meta) = std::fs::metadata(path) else {
        return obj;
    };
    if meta.len() != obj.file_len() as u64 {
        return obj;
    }
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .unwrap_or_default();
    let source = Source {
        build_id: build_id.to_bytes(),
        size: meta.len(),
        mtime_secs: mtime.as_secs(),
        mtime_nanos: mtime.subsec_nanos(),
    };
    let old = cache
        .lookup(FILE_NAME, &build_id)
        .and_then(|p| crate::loader::map(&p).ok())
        .map(Arc::new);
    let view = old.as_ref().and_then(|m| {
        let bytes = arena.keep(Box::new(Shared(m.clone())));
        View::parse(bytes, &source).ok()
    });
    let fresh = match view {
        Some(_) => None,
        None => obj.index_contents(),
    };
    let saver = Saver {
        cache,
        build_id,
        source,
        frames: obj.resolved(),
        old: old.filter(|_| view.is_some()),
        fresh,
    };
    obj.set_index(Attached {
        view,
        _saver: Some(Box::new(saver)),
    });
    obj
}

/// Writes the index file when dropped (see [`attach_in`]).
pub(crate) struct Saver {
    cache: Cache,
    build_id: BuildId,
    source: Source,
    /// The object's resolved addresses.
    frames: Rc<RefCell<HashMap<u64, Vec<SourceFrame>>>>,
    /// The valid index file read at the start.
    old: Option<Arc<Mmap>>,
    /// The tables built because there was none.
    fresh: Option<Contents<'static>>,
}

impl Drop for Saver {
    fn drop(&mut self) {
        // Failures are ignored: the index is a cache.
        let old = self
            .old
            .as_deref()
            .and_then(|m| View::parse(m, &self.source).ok());
        let new: Vec<(u64, Vec<u8>)> = self
            .frames
            .borrow()
            .iter()
            .filter(|(a, _)| old.is_none_or(|v| !v.has_frames(**a)))
            .filter_map(|(a, f)| Some((*a, encode_frames(f)?)))
            .collect();
        let mut contents = match (&old, self.fresh.take()) {
            (Some(_), _) if new.is_empty() => return,
            (Some(v), _) => Contents::from_view(v),
            (None, Some(c)) => c,
            (None, None) => return,
        };
        contents.add_frames(new);
        let Some(bytes) = contents.encode(&self.source) else {
            return;
        };
        let Ok(mut pending) = self.cache.begin(FILE_NAME, &self.build_id) else {
            return;
        };
        if pending.write_all(&bytes).is_ok() {
            // The index checks itself when read (checksum): no fsync.
            let _ = pending.commit_unsynced();
        }
    }
}

#[cfg(test)]
mod tests;
