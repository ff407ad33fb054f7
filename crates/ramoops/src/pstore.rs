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

pub use crate::dmesg::zbufsize_deflate;

/// Inflates a raw deflate stream (the kernel crypto "deflate" uses negative
/// window bits: no zlib header) into at most `limit` bytes, as
/// crypto_comp_decompress does; `None` when Linux would fail too.
pub fn inflate(data: &[u8], limit: usize) -> Option<Vec<u8>> {
    miniz_oxide::inflate::decompress_to_vec_with_limit(data, limit).ok()
}

/// pstore's text view of 24-byte ftrace records (fs/pstore/inode.c,
/// `pstore_ftrace_seq_show`: `CPU:%d ts:%llu %08lx  %08lx  %ps <- %pS`, on
/// 64-bit the CPU in the timestamp's low 8 bits). The previous boot's
/// addresses do not resolve in the kernel that shows them (KASLR moves it),
/// so `%ps`/`%pS` print as `0x…`, as here.
pub fn ftrace_text(records: &[u8]) -> Vec<u8> {
    let word = |r: &[u8], at: usize| {
        u64::from_le_bytes(
            r.get(at..at + 8)
                .and_then(|s| s.try_into().ok())
                .unwrap_or([0; 8]),
        )
    };
    let mut out = String::new();
    for r in records.chunks_exact(24) {
        let (ip, parent, ts) = (word(r, 0), word(r, 8), word(r, 16));
        out.push_str(&format!(
            "CPU:{} ts:{} {ip:08x}  {parent:08x}  {ip:#x} <- {parent:#x}\n",
            ts & 0xff,
            ts >> 8
        ));
    }
    out.into_bytes()
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
                .map(|h| (h.secs, (h.usecs.min(999_999) as u32) * 1000)),
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

/// Reads the pstore files under `dir`: a `/sys/fs/pstore` mount, a copy of
/// one, or a systemd-pstore archive (`/var/lib/systemd/pstore`, where files
/// keep their pstore names, sometimes one directory down). Files that do not
/// look like pstore records are skipped; errors name the path.
pub fn read_dir(dir: &Path) -> std::io::Result<Vec<PstoreFile>> {
    let mut out = Vec::new();
    walk(dir, 0, &mut out)?;
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

fn walk(dir: &Path, depth: u32, out: &mut Vec<PstoreFile>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<std::io::Result<_>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        if out.len() >= MAX_FILES {
            break;
        }
        let path = e.path();
        let ft = e.file_type()?;
        if ft.is_dir() && depth < 2 {
            walk(&path, depth + 1, out)?;
            continue;
        }
        if !ft.is_file() {
            continue;
        }
        let name = e.file_name().to_string_lossy().into_owned();
        let Some((type_name, backend, id, compressed)) = PstoreFile::parse_name(&name) else {
            continue;
        };
        let meta = e.metadata()?;
        if meta.len() > MAX_FILE {
            continue;
        }
        let contents = std::fs::read(&path)?;
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
        out.push(PstoreFile {
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

#[cfg(test)]
mod tests {
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
