//! Finding and mapping debug files (feature `loader`).
//!
//! The places looked at, in order, follow `decode_stacktrace.sh` and the
//! distributions' debug packages:
//!
//! * vmlinux: the build id link `<root>/usr/lib/debug/.build-id/xx/yyyy.debug`
//!   (when the log prints the build id), `<root>/usr/lib/debug/boot/vmlinux-<release>`,
//!   `<root>/boot/vmlinux-<release>`, `<root>/lib/modules/<release>/build/vmlinux`,
//!   `<root>/usr/lib/debug/lib/modules/<release>/vmlinux`;
//! * modules: every directory given, then `<root>/usr/lib/debug/lib/modules/<release>/`
//!   and `<root>/lib/modules/<release>/`, searched recursively for
//!   `<name>.ko`, `<name>.ko.debug` or a compressed `<name>.ko.xz`,
//!   `.ko.zst`, `.ko.gz` (`-` and `_` equivalent); and, when the module's
//!   build id is known, the same `.build-id` link as vmlinux (Debian's
//!   `-dbg` packages have one for every module too).
//!
//! Module build ids come from the trace (`[module <build id>]`), from the
//! caller, or from `<root>/sys/module/<name>/notes/.note.gnu.build-id`
//! ([`sysfs_module_build_id`]).
//!
//! `<root>` is `/` unless a sysroot is given. Which candidate is used (the
//! first with DWARF) is the caller's decision; this module only lists and
//! opens: [`open`] maps a file, or decompresses it into memory (with a size
//! cap) when it is xz, zstd or gzip, as installed modules are (Debian's
//! 6.12 kernels ship `.ko.xz`; the kernel's `scripts/Makefile.modinst`
//! writes all three).
//!
//! Split DWARF (`.dwo` files, `-gsplit-dwarf`) is not read: Debian's
//! kernels do not use it (the 6.1 `linux-image-*-dbg` vmlinux has no
//! `DW_AT_dwo_name` and no skeleton units, only `DW_UT_compile` units;
//! checked with `readelf --debug-dump=abbrev,info`), and a kernel built
//! with `CONFIG_DEBUG_INFO_SPLIT` resolves to function names only.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use memmap2::Advice;

use crate::elf::ReadAhead;
use crate::resolve::normalize_module;

pub use memmap2::Mmap;

/// Directory entries visited per module tree before giving up.
pub const MAX_WALK_ENTRIES: usize = 500_000;
/// Directory depth followed under a module tree.
pub const MAX_WALK_DEPTH: usize = 16;

/// Files up to this size are read whole, ahead of use (a module); larger
/// ones (a vmlinux) only where [`ReadAhead`] hints say.
pub const READ_WHOLE_BELOW: usize = 16 << 20;

/// Memory-maps `path` read-only.
///
/// A big debug file is read at scattered places, so its map is marked
/// random access: the kernel's default read-around on a page fault (up to
/// `read_ahead_kb`, 8 MiB on some machines) would read a hundred MB for a
/// 30-frame trace. What will be read is asked for instead, by
/// [`DebugObject::read_ahead_for`](crate::DebugObject::read_ahead_for).
pub fn map(path: &Path) -> std::io::Result<Mmap> {
    let file = std::fs::File::open(path)?;
    // SAFETY: the map is read-only and private to us; if another process
    // truncates the file while we read it we may fault, which is the
    // accepted risk of every mmap-based symbolizer (addr2line, llvm-symbolizer).
    let m = unsafe { Mmap::map(&file) }?;
    let advice = if m.len() < READ_WHOLE_BELOW {
        Advice::WillNeed
    } else {
        Advice::Random
    };
    // Advice only: a kernel that refuses it reads the file all the same.
    let _ = m.advise(advice);
    Ok(m)
}

impl ReadAhead for Mmap {
    fn will_need(&self, offset: usize, len: usize) {
        // madvise wants a page-aligned start.
        let start = offset & !(PAGE - 1);
        let end = offset.saturating_add(len).min(self.len());
        if let Some(n) = end.checked_sub(start).filter(|&n| n > 0) {
            let _ = self.advise_range(Advice::WillNeed, start, n);
        }
    }
}

/// The most bytes a compressed debug file may decompress to. A stripped
/// Debian module is at most tens of MB and a module with DWARF a few
/// hundred; more than this is refused with [`OpenError::TooLarge`] rather
/// than allocated.
pub const MAX_DECOMPRESSED: usize = 512 << 20;

/// The most memory an xz stream's LZMA2 dictionary may take, in KiB
/// (`xz -9` needs 64 MiB; the kernel compresses modules with a 1 MiB
/// dictionary, `--lzma2=dict=1MiB` in `scripts/Makefile.modinst`).
const XZ_MEM_LIMIT_KB: u32 = 256 << 10;

/// The compressed formats a module file may be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// xz (`.ko.xz`: Debian since 6.12 and most distributions).
    Xz,
    /// Zstandard (`.ko.zst`: Fedora, Arch).
    Zstd,
    /// gzip (`.ko.gz`).
    Gzip,
}

impl Compression {
    /// The format of `data`, by its magic bytes (xz: `FD 37 7A 58 5A 00`,
    /// zstd frame: `28 B5 2F FD`, gzip: `1F 8B`), or `None` for anything
    /// else (an ELF file, say).
    pub fn detect(data: &[u8]) -> Option<Self> {
        if data.starts_with(b"\xfd7zXZ\0") {
            Some(Self::Xz)
        } else if data.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(Self::Zstd)
        } else if data.starts_with(&[0x1f, 0x8b]) {
            Some(Self::Gzip)
        } else {
            None
        }
    }

    /// Short lowercase name, as in messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Xz => "xz",
            Self::Zstd => "zstd",
            Self::Gzip => "gzip",
        }
    }
}

/// Why [`open`] gave no bytes.
#[derive(Debug)]
#[non_exhaustive]
pub enum OpenError {
    /// The file could not be opened or mapped.
    Io(std::io::Error),
    /// The file decompresses to more than the limit.
    TooLarge {
        /// Its format.
        format: Compression,
        /// The limit in bytes.
        limit: usize,
    },
    /// The compressed data is truncated or corrupt.
    Corrupt {
        /// Its format.
        format: Compression,
        /// The decoder's reason.
        reason: String,
    },
}

impl core::fmt::Display for OpenError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Io(e) => write!(f, "cannot open: {e}"),
            Self::TooLarge { format, limit } => write!(
                f,
                "{} data decompresses to more than {} MiB, the limit",
                format.name(),
                limit >> 20
            ),
            Self::Corrupt { format, reason } => {
                write!(f, "cannot decompress ({}): {reason}", format.name())
            }
        }
    }
}

impl std::error::Error for OpenError {}

/// A debug file's bytes: mapped, or decompressed into memory.
///
/// Derefs to the bytes and forwards [`ReadAhead`] hints to the map (a
/// decompressed file is in memory already).
#[derive(Debug)]
pub enum DebugBytes {
    /// The file itself, memory-mapped ([`map`]).
    Mapped(Mmap),
    /// A compressed file's contents.
    Decompressed {
        /// What it was compressed with.
        format: Compression,
        /// The bytes.
        bytes: Vec<u8>,
    },
}

impl DebugBytes {
    /// The compression the file had, if any.
    pub fn compression(&self) -> Option<Compression> {
        match self {
            Self::Mapped(_) => None,
            Self::Decompressed { format, .. } => Some(*format),
        }
    }
}

impl core::ops::Deref for DebugBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Self::Mapped(m) => m,
            Self::Decompressed { bytes, .. } => bytes,
        }
    }
}

impl AsRef<[u8]> for DebugBytes {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl ReadAhead for DebugBytes {
    fn will_need(&self, offset: usize, len: usize) {
        if let Self::Mapped(m) = self {
            m.will_need(offset, len);
        }
    }
}

/// Opens a debug file: [`map`]s it, and if it is xz, zstd or gzip data
/// (by magic, whatever its name) decompresses it into memory, at most
/// [`MAX_DECOMPRESSED`] bytes.
pub fn open(path: &Path) -> Result<DebugBytes, OpenError> {
    open_with_limit(path, MAX_DECOMPRESSED)
}

/// [`open`] with another cap on the decompressed size.
pub fn open_with_limit(path: &Path, limit: usize) -> Result<DebugBytes, OpenError> {
    let m = map(path).map_err(OpenError::Io)?;
    let Some(format) = Compression::detect(&m) else {
        return Ok(DebugBytes::Mapped(m));
    };
    let bytes = decompress(format, &m, limit)?;
    Ok(DebugBytes::Decompressed { format, bytes })
}

/// Decompresses `data` (one `format` stream; trailing bytes are ignored),
/// refusing to produce more than `limit` bytes.
pub fn decompress(format: Compression, data: &[u8], limit: usize) -> Result<Vec<u8>, OpenError> {
    let corrupt = |reason: String| OpenError::Corrupt { format, reason };
    // One more byte than allowed is read, to tell "exactly the limit" from
    // "over it" without decoding the rest.
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    let mut out = Vec::new();
    let read = |r: &mut dyn Read, out: &mut Vec<u8>| {
        r.take(cap)
            .read_to_end(out)
            .map(drop)
            .map_err(|e| corrupt(e.to_string()))
    };
    match format {
        Compression::Xz => {
            // lzma-rust2 rather than lzma-rs: it is a streaming `Read` with
            // a dictionary memory limit, so nothing here grows past the
            // caps; lzma-rs 0.3 decodes a block with a filter chain into an
            // unbounded buffer (its decode/xz.rs `tmpbuf`).
            let mut r = lzma_rust2::XzReader::new_mem_limit(data, true, XZ_MEM_LIMIT_KB);
            read(&mut r, &mut out)?;
        }
        Compression::Zstd => {
            let mut r = ruzstd::decoding::StreamingDecoder::new(data)
                .map_err(|e| corrupt(e.to_string()))?;
            read(&mut r, &mut out)?;
            let d = r.into_frame_decoder();
            if let (Some(want), Some(have)) =
                (d.get_checksum_from_data(), d.get_calculated_checksum())
            {
                if want != have && out.len() <= limit {
                    return Err(corrupt(format!(
                        "checksum {have:#010x}, the frame says {want:#010x}"
                    )));
                }
            }
        }
        Compression::Gzip => {
            // flate2 checks the CRC-32 and size trailer (RFC 1952).
            let mut r = flate2::read::MultiGzDecoder::new(data);
            read(&mut r, &mut out)?;
        }
    }
    if out.len() > limit {
        return Err(OpenError::TooLarge { format, limit });
    }
    Ok(out)
}

/// `NT_GNU_BUILD_ID`, the note type of a build id (elf.h).
const NT_GNU_BUILD_ID: u32 = 3;

/// The most bytes read from a sysfs notes file (one note is 36 bytes for a
/// SHA-1 build id; the kernel exports one section per file).
const MAX_NOTES_FILE: u64 = 4096;

/// The build id in the raw ELF notes `data` (the contents of a
/// `.note.gnu.build-id` section, as `/sys/module/<name>/notes/` exports
/// them): the `desc` of the first note named `GNU` of type
/// `NT_GNU_BUILD_ID`, as lowercase hex.
///
/// Each note is `namesz`, `descsz`, `type` (32-bit words in the machine's
/// byte order), then the name and the descriptor, each padded to 4 bytes
/// (ELF gABI, "Note Section"; Linux's `struct elf_note`). Both byte orders
/// are tried, since the file may come from another machine. Every length
/// is checked against the data; a malformed note gives `None`.
pub fn parse_build_id_note(data: &[u8]) -> Option<String> {
    note_build_id(data, u32::from_le_bytes).or_else(|| note_build_id(data, u32::from_be_bytes))
}

fn note_build_id(mut data: &[u8], word: fn([u8; 4]) -> u32) -> Option<String> {
    fn take<'a>(d: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        let (head, tail) = d.split_at_checked(n)?;
        *d = tail;
        Some(head)
    }
    fn pad4(n: u32) -> Option<usize> {
        usize::try_from(n).ok()?.checked_next_multiple_of(4)
    }
    while !data.is_empty() {
        let mut w = || -> Option<u32> { Some(word(take(&mut data, 4)?.try_into().ok()?)) };
        let (namesz, descsz, ty) = (w()?, w()?, w()?);
        let name = take(&mut data, pad4(namesz)?)?;
        let desc = take(&mut data, pad4(descsz)?)?;
        let name = name.get(..usize::try_from(namesz).ok()?)?;
        let desc = desc.get(..usize::try_from(descsz).ok()?)?;
        if ty == NT_GNU_BUILD_ID && name == b"GNU\0" && !desc.is_empty() {
            return Some(desc.iter().map(|b| format!("{b:02x}")).collect());
        }
    }
    None
}

/// The build id of module `name` as the kernel that loaded it exports it:
/// `<root>/sys/module/<name>/notes/.note.gnu.build-id` (sysfs names use
/// `_` for `-`). Useful on the crashed machine after a reboot into the
/// same kernel, or for a live oops; `None` when the file is missing or
/// holds no build id note.
pub fn sysfs_module_build_id(root: &Path, name: &str) -> Option<String> {
    let p = root
        .join("sys/module")
        .join(normalize_module(name))
        .join("notes/.note.gnu.build-id");
    let mut data = Vec::new();
    std::fs::File::open(p)
        .ok()?
        .take(MAX_NOTES_FILE)
        .read_to_end(&mut data)
        .ok()?;
    parse_build_id_note(&data)
}

/// The smallest page size of the platforms we run on; aligning to it is
/// enough for madvise on larger pages too (the kernel rounds).
const PAGE: usize = 4096;

/// `<root>/usr/lib/debug/.build-id/xx/yyyy.debug` for a hex build id.
pub fn build_id_path(root: &Path, build_id_hex: &str) -> Option<PathBuf> {
    let id = build_id_hex.to_ascii_lowercase();
    if id.len() < 4 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let (head, tail) = id.split_at(2);
    Some(
        root.join("usr/lib/debug/.build-id")
            .join(head)
            .join(format!("{tail}.debug")),
    )
}

/// Existing vmlinux candidates, best first.
pub fn vmlinux_candidates(
    root: &Path,
    release: Option<&str>,
    build_id_hex: Option<&str>,
) -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Some(p) = build_id_hex.and_then(|id| build_id_path(root, id)) {
        v.push(p);
    }
    if let Some(rel) = release {
        v.push(root.join(format!("usr/lib/debug/boot/vmlinux-{rel}")));
        v.push(root.join(format!("boot/vmlinux-{rel}")));
        v.push(root.join(format!("lib/modules/{rel}/build/vmlinux")));
        v.push(root.join(format!("usr/lib/debug/lib/modules/{rel}/vmlinux")));
    }
    v.retain(|p| p.is_file());
    v
}

/// The default module trees for `release` under `root`.
pub fn default_module_dirs(root: &Path, release: Option<&str>) -> Vec<PathBuf> {
    let Some(rel) = release else {
        return Vec::new();
    };
    vec![
        root.join(format!("usr/lib/debug/lib/modules/{rel}")),
        root.join(format!("lib/modules/{rel}")),
    ]
}

/// Module files found under some directories, by normalised module name.
#[derive(Debug, Default)]
pub struct ModuleIndex {
    by_name: HashMap<String, Vec<PathBuf>>,
    /// Entries skipped because a walk hit [`MAX_WALK_ENTRIES`].
    pub truncated: bool,
}

impl ModuleIndex {
    /// Walks `dirs` (missing ones are skipped); earlier directories win.
    pub fn build(dirs: &[PathBuf]) -> Self {
        let mut idx = ModuleIndex::default();
        let mut budget = MAX_WALK_ENTRIES;
        for d in dirs {
            if d.is_file() {
                idx.add_file(d);
            } else {
                idx.walk(d, 0, &mut budget);
            }
        }
        idx
    }

    fn add_file(&mut self, p: &Path) {
        let Some(name) = p.file_name().and_then(|n| n.to_str()) else {
            return;
        };
        // Compressed forms as `scripts/Makefile.modinst` names them
        // (`.ko.gz`, `.ko.xz`, `.ko.zst`); [`open`] decompresses them.
        let stem = [".ko.debug", ".ko", ".ko.xz", ".ko.zst", ".ko.gz"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix));
        if let Some(stem) = stem {
            self.by_name
                .entry(normalize_module(stem))
                .or_default()
                .push(p.to_path_buf());
        }
    }

    fn walk(&mut self, dir: &Path, depth: usize, budget: &mut usize) {
        if depth > MAX_WALK_DEPTH {
            return;
        }
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        let mut subdirs = Vec::new();
        for e in rd.flatten() {
            let Some(left) = budget.checked_sub(1) else {
                self.truncated = true;
                return;
            };
            *budget = left;
            let Ok(ft) = e.file_type() else { continue };
            let p = e.path();
            if ft.is_dir() {
                subdirs.push(p);
            } else if ft.is_file() || ft.is_symlink() {
                self.add_file(&p);
            }
        }
        subdirs.sort();
        for s in subdirs {
            // At most MAX_WALK_DEPTH + 1: cannot overflow.
            self.walk(&s, depth.saturating_add(1), budget);
        }
    }

    /// Candidate files for module `name`, in search order.
    pub fn get(&self, name: &str) -> &[PathBuf] {
        self.by_name
            .get(&normalize_module(name))
            .map_or(&[], Vec::as_slice)
    }
}
