//! Memory-mapped input files (feature `loader`).

use std::fs::File;
use std::path::Path;

/// A read-only memory map of a whole file.
#[derive(Debug)]
pub struct MappedFile {
    map: Option<memmap2::Mmap>,
}

impl MappedFile {
    /// Map `path` read-only. An empty file maps to an empty slice.
    pub fn open(path: &Path) -> std::io::Result<MappedFile> {
        let f = File::open(path)?;
        if f.metadata()?.len() == 0 {
            return Ok(MappedFile { map: None });
        }
        // SAFETY: the map is read-only and private to this process; a dump
        // truncated or rewritten by another process while we read it can
        // raise SIGBUS, the accepted cost of reading multi-GB dumps in place
        // (the same trade-off as crash, makedumpfile and drgn make).
        let map = unsafe { memmap2::Mmap::map(&f)? };
        Ok(MappedFile { map: Some(map) })
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        self.map.as_deref().unwrap_or_default()
    }
}
