//! The pstore file view (std): what `/sys/fs/pstore` shows for a record, and
//! reading such files back from a pstore directory or a systemd-pstore
//! archive.
//!
//! Names are `<type>-<backend>-<id>` plus `.enc.z` when a compressed record
//! could not be decompressed (fs/pstore/inode.c, `pstore_mkfile`). Contents
//! are the payload (decompressed when possible, fs/pstore/platform.c
//! `decompress_record`) followed by the ECC notice of ECC zones.

use std::path::{Path, PathBuf};

use crate::dmesg::{self, PartLine};
use crate::layout::ZoneKind;
use crate::region::Record;

/// One file as pstore presents it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PstoreFile {
    /// File name, e.g. `dmesg-ramoops-0`.
    pub name: String,
    /// Record type name (`dmesg`, `console`, …) as in the name.
    pub type_name: String,
    /// Backend name (`ramoops`, `efi`, …).
    pub backend: String,
    /// Record id.
    pub id: u64,
    /// Still compressed (`.enc.z`): stored compressed and not decompressible.
    pub compressed: bool,
    /// Stored compressed (ramoops `-C` header), whether or not it inflated.
    pub stored_compressed: bool,
    /// Dump time in seconds, when known (ramoops header or file mtime).
    pub time: Option<(i64, u32)>,
    /// The file's bytes.
    pub contents: Vec<u8>,
    /// `<Reason>#<count> Part<n>` when the contents start with one.
    pub part: Option<PartLine>,
    /// Where it came from: a region offset, or a path.
    pub source: Source,
}

/// Where a [`PstoreFile`] came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A zone of a region image, at this offset.
    Region {
        /// Region offset of the zone.
        offset: u64,
        /// ECC corrected bytes and bad blocks, when ECC is on.
        ecc: Option<(u32, u32)>,
    },
    /// A file on disk.
    File(PathBuf),
}

pub use crate::deflate::inflate;
pub use crate::dmesg::zbufsize_deflate;

/// pstore's text view of 24-byte ftrace records (fs/pstore/inode.c,
/// `pstore_ftrace_seq_show`: `CPU:%d ts:%llu %08lx  %08lx  %ps <- %pS`, on
/// 64-bit the CPU in the timestamp's low 8 bits). The previous boot's
/// addresses do not resolve in the kernel that shows them (KASLR moves it),
/// so `%ps`/`%pS` print as `0x…`, as here.
pub fn ftrace_text(records: &[u8]) -> Vec<u8> {
    let mut out = String::new();
    for r in records.chunks_exact(24) {
        let mut words = r
            .chunks_exact(8)
            .map(|w| u64::from_le_bytes(w.try_into().unwrap_or([0; 8])));
        let mut next = || words.next().unwrap_or(0);
        let (ip, parent, ts) = (next(), next(), next());
        out.push_str(&format!(
            "CPU:{} ts:{} {ip:08x}  {parent:08x}  {ip:#x} <- {parent:#x}\n",
            ts & 0xff,
            ts >> 8
        ));
    }
    out.into_bytes()
}

// The record -> file direction lives here only: a region's records know
// nothing of pstore files, so `region` never depends on this module.
impl Record {
    /// The file pstore would create for this record.
    pub fn pstore_file(&self) -> PstoreFile {
        PstoreFile::from_record(self, "ramoops")
    }

    /// The name of that file, e.g. `dmesg-ramoops-3`.
    pub fn file_name(&self) -> String {
        self.pstore_file().name
    }

    /// The contents of that file.
    pub fn file_contents(&self) -> Vec<u8> {
        self.pstore_file().contents
    }
}

impl PstoreFile {
    /// The file pstore makes for a region record of backend `backend`.
    pub fn from_record(r: &Record, backend: &str) -> PstoreFile {
        let mut notice_buf = [0u8; 64];
        let notice: &[u8] = match r.ecc {
            Some(e) => e.notice(&mut notice_buf),
            None => &[],
        };
        let (body, compressed) = if r.compressed() {
            match inflate(&r.payload, r.decompress_limit) {
                Some(v) => (v, false),
                None => (r.payload.clone(), true),
            }
        } else {
            (r.payload.clone(), false)
        };
        let part = if compressed {
            None
        } else {
            dmesg::parse_part_line(&body)
        };
        let contents = if r.kind == ZoneKind::Ftrace {
            // pstore shows ftrace records as text, without the ECC notice.
            ftrace_text(&body)
        } else {
            let mut c = body;
            c.extend_from_slice(notice);
            c
        };
        let type_name = r.kind.name().to_string();
        PstoreFile {
            name: format!(
                "{}-{}-{}{}",
                type_name,
                backend,
                r.id,
                if compressed { ".enc.z" } else { "" }
            ),
            type_name,
            backend: backend.to_string(),
            id: u64::from(r.id),
            compressed,
            stored_compressed: r.compressed(),
            time: r
                .header
                // usecs <= 999_999, so the nanoseconds fit a u32.
                .and_then(|h| Some((h.secs, (h.usecs.min(999_999) as u32).checked_mul(1000)?))),
            contents,
            part: if r.kind == ZoneKind::Dmesg {
                part
            } else {
                None
            },
            source: Source::Region {
                offset: r.offset,
                ecc: r.ecc.map(|e| (e.corrected_bytes, e.bad_blocks)),
            },
        }
    }

    /// Parses `<type>-<backend>-<id>[.enc.z]`; `None` for other names.
    pub fn parse_name(name: &str) -> Option<(String, String, u64, bool)> {
        let (stem, compressed) = match name.strip_suffix(".enc.z") {
            Some(s) => (s, true),
            None => (name, false),
        };
        let (rest, id) = stem.rsplit_once('-')?;
        let id: u64 = id.parse().ok()?;
        // Type names may contain '-' (powerpc-ofw); backends do not.
        let (ty, backend) = rest.rsplit_once('-')?;
        if ty.is_empty() || backend.is_empty() {
            return None;
        }
        Some((ty.to_string(), backend.to_string(), id, compressed))
    }
}

/// Largest file read from a pstore directory; pstore records are small
/// (a record buffer), so anything bigger is not one.
pub const MAX_FILE: u64 = 64 << 20;
/// Most files taken from one directory tree.
pub const MAX_FILES: usize = 4096;
/// Most bytes read from one directory tree, all files together: 4096 files
/// of a 64 KiB record each (the largest pstore record buffers).
pub const MAX_TOTAL: u64 = 256 << 20;
/// Most directory entries looked at (pstore files or not), so a directory
/// of junk cannot keep the walk going.
pub const MAX_ENTRIES: usize = 1 << 16;
/// How deep below the given directory files are looked for (systemd-pstore
/// puts them one directory down, by boot id).
const MAX_DEPTH: u32 = 2;

/// Bounds on what [`read_dir_with`] reads; [`read_dir`] uses the defaults
/// ([`MAX_FILES`], [`MAX_FILE`], [`MAX_TOTAL`], [`MAX_ENTRIES`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most pstore files taken.
    pub max_files: usize,
    /// Largest single file.
    pub max_file: u64,
    /// Most bytes over all files.
    pub max_total: u64,
    /// Most directory entries examined.
    pub max_entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_files: MAX_FILES,
            max_file: MAX_FILE,
            max_total: MAX_TOTAL,
            max_entries: MAX_ENTRIES,
        }
    }
}

/// Reads the pstore files under `dir`: a `/sys/fs/pstore` mount, a copy of
/// one, or a systemd-pstore archive (`/var/lib/systemd/pstore`, where files
/// keep their pstore names, sometimes one directory down). Files that do not
/// look like pstore records are skipped; errors name the path. A tree beyond
/// the default [`Limits`] is an error saying which limit, never a silent cut.
pub fn read_dir(dir: &Path) -> std::io::Result<Vec<PstoreFile>> {
    read_dir_with(dir, &Limits::default())
}

/// [`read_dir`] with explicit [`Limits`]. Reaching any of them is an
/// `InvalidData` error naming the path, the limit and its value: what was
/// read up to there would be an arbitrary subset of the records.
pub fn read_dir_with(dir: &Path, limits: &Limits) -> std::io::Result<Vec<PstoreFile>> {
    let mut walk = Walk {
        limits,
        entries: 0,
        total: 0,
        out: Vec::new(),
    };
    walk.dir(dir, 0)?;
    let mut out = walk.out;
    out.sort_by(|a, b| {
        (a.type_name.as_str(), a.id, &a.name, source_path(a)).cmp(&(
            b.type_name.as_str(),
            b.id,
            &b.name,
            source_path(b),
        ))
    });
    Ok(out)
}

fn source_path(f: &PstoreFile) -> Option<&Path> {
    match &f.source {
        Source::File(p) => Some(p),
        Source::Region { .. } => None,
    }
}

fn limit_error(msg: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, msg)
}

/// The state of one [`read_dir_with`] walk: what it has used of its limits.
struct Walk<'l> {
    limits: &'l Limits,
    entries: usize,
    total: u64,
    out: Vec<PstoreFile>,
}

impl Walk<'_> {
    fn dir(&mut self, dir: &Path, depth: u32) -> std::io::Result<()> {
        let mut entries = Vec::new();
        for e in std::fs::read_dir(dir)? {
            self.entries = self.entries.saturating_add(1);
            if self.entries > self.limits.max_entries {
                return Err(limit_error(format!(
                    "{}: more than {} directory entries under the pstore directory (limit {}); \
                     point at one crash's directory",
                    dir.display(),
                    self.limits.max_entries,
                    self.limits.max_entries
                )));
            }
            entries.push(e?);
        }
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let path = e.path();
            let ft = e.file_type()?;
            if ft.is_dir() {
                if depth < MAX_DEPTH {
                    self.dir(&path, depth.saturating_add(1))?;
                }
                continue;
            }
            if !ft.is_file() {
                continue;
            }
            let name = e.file_name().to_string_lossy().into_owned();
            let Some((type_name, backend, id, compressed)) = PstoreFile::parse_name(&name) else {
                continue;
            };
            if self.out.len() >= self.limits.max_files {
                return Err(limit_error(format!(
                    "{}: more than {} pstore files (limit {}); point at one crash's directory",
                    path.display(),
                    self.limits.max_files,
                    self.limits.max_files
                )));
            }
            let meta = e.metadata()?;
            let contents = self.read(&path, meta.len())?;
            let time = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .filter(|d| d.as_secs() != 0)
                .map(|d| (d.as_secs() as i64, d.subsec_nanos()));
            let part = if type_name == "dmesg" && !compressed {
                dmesg::parse_part_line(&contents)
            } else {
                None
            };
            self.out.push(PstoreFile {
                name,
                type_name,
                backend,
                id,
                compressed,
                stored_compressed: compressed,
                time,
                contents,
                part,
                source: Source::File(path),
            });
        }
        Ok(())
    }

    /// Reads one file, never more than the limits allow, whatever its
    /// metadata says (sysfs sizes are not always the contents' length).
    fn read(&mut self, path: &Path, meta_len: u64) -> std::io::Result<Vec<u8>> {
        use std::io::Read;
        let max_file = self.limits.max_file;
        let too_big = |len: u64| {
            limit_error(format!(
                "{}: {len} bytes is larger than any pstore record (limit {max_file} bytes)",
                path.display()
            ))
        };
        if meta_len > max_file {
            return Err(too_big(meta_len));
        }
        let left = self.limits.max_total.saturating_sub(self.total);
        let mut contents = Vec::new();
        // One byte past the smaller limit tells "at the limit" from "over it".
        std::fs::File::open(path)?
            .take(max_file.min(left).saturating_add(1))
            .read_to_end(&mut contents)?;
        let len = contents.len() as u64;
        if len > max_file {
            return Err(too_big(len));
        }
        if len > left {
            return Err(limit_error(format!(
                "{}: the pstore files read add up to more than {} bytes (limit {}); \
                 point at one crash's directory",
                path.display(),
                self.limits.max_total,
                self.limits.max_total
            )));
        }
        // len <= left = max_total - total: the sum stays within max_total.
        self.total = self.total.saturating_add(len);
        Ok(contents)
    }
}

#[cfg(test)]
mod tests {
    // Test arithmetic on known small values; overflow would fail the test.
    #![allow(clippy::arithmetic_side_effects)]
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            PstoreFile::parse_name("dmesg-ramoops-12"),
            Some(("dmesg".into(), "ramoops".into(), 12, false))
        );
        assert_eq!(
            PstoreFile::parse_name("dmesg-efi-172000001.enc.z"),
            Some(("dmesg".into(), "efi".into(), 172000001, true))
        );
        assert_eq!(
            PstoreFile::parse_name("powerpc-ofw-nvram-0"),
            Some(("powerpc-ofw".into(), "nvram".into(), 0, false))
        );
        assert_eq!(PstoreFile::parse_name("dmesg.txt"), None);
        assert_eq!(PstoreFile::parse_name("dmesg-ramoops-x"), None);
    }

    #[test]
    fn deflate_buffer_sizes() {
        assert_eq!(zbufsize_deflate(14532), 14532 * 100 / 60);
        assert_eq!(zbufsize_deflate(4084), 4084 * 100 / 45);
    }
}
