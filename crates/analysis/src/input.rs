//! Reading an input and deciding what it is. The only module that touches
//! files; what it keeps is owned, so a [`crate::Report`] outlives the bytes.

use std::path::Path;

use crashview_ramoops::pstore::{self, PstoreFile};
use crashview_ramoops::region::{Overrides, Region};
use serde::Serialize;

use crate::log::LogLine;
use crate::VmcoreFacts;

/// What an input was detected as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InputKind {
    /// A raw ramoops region image.
    RamoopsRegion,
    /// A raw ramoops region image followed by the panic recorder's journal.
    RecorderRegion,
    /// A `/sys/fs/pstore` directory or a systemd-pstore archive.
    PstoreDir,
    /// A vmcore (ELF, kdump-compressed or flattened).
    Vmcore,
    /// dmesg, journalctl -k or serial-console text.
    Text,
    /// The panic recorder's journal alone, as the module shows it after the
    /// reboot (`/sys/kernel/debug/panic_recorder/journal`).
    RecorderJournal,
}

impl InputKind {
    /// The name used in JSON and text output.
    pub fn name(self) -> &'static str {
        match self {
            InputKind::RamoopsRegion => "ramoops-region",
            InputKind::RecorderRegion => "recorder-region",
            InputKind::PstoreDir => "pstore-dir",
            InputKind::Vmcore => "vmcore",
            InputKind::Text => "text",
            InputKind::RecorderJournal => "recorder-journal",
        }
    }
}

/// The panic recorder's journal zone, copied out of a region image or a
/// vmcore.
#[derive(Debug, Clone)]
pub struct JournalZone {
    /// Offset of the zone in the region image; in a vmcore, the kernel
    /// virtual address VMCOREINFO's `PANIC_JOURNAL=` gives.
    pub offset: usize,
    /// The zone's bytes (to the end of the image).
    pub bytes: Vec<u8>,
}

/// What was read from a vmcore: its log and its facts.
#[derive(Debug, Clone)]
pub struct VmcoreData {
    /// Facts for the report.
    pub facts: VmcoreFacts,
    /// The printk log, one entry per line.
    pub log: Vec<LogLine>,
}

/// A loaded input, ready for [`crate::analyze`].
#[derive(Debug, Clone)]
pub struct Input {
    /// The name the caller gave (a path, usually).
    pub name: String,
    /// What it was detected as.
    pub kind: InputKind,
    /// pstore files (regions and pstore directories).
    pub files: Vec<PstoreFile>,
    /// The text of a text input.
    pub text: Option<String>,
    /// The vmcore's log and facts.
    pub vmcore: Option<VmcoreData>,
    /// The recorder's journal, when the region has one.
    pub journal: Option<JournalZone>,
    /// What went wrong while reading, each naming where.
    pub diagnostics: Vec<String>,
}

/// Why an input could not be read at all.
#[derive(Debug)]
pub struct LoadError(pub String);

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LoadError {}

/// Largest input file read into memory (vmcores are mapped instead).
pub const MAX_FILE: u64 = 1 << 30;
/// Largest zstd-decompressed input.
pub const MAX_DECOMPRESSED: u64 = 4 << 30;

const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// The name a pstore directory's copy of the recorder's journal has (the
/// module's debugfs file, copied beside the records).
pub const JOURNAL_FILE: &str = "panic_recorder-journal";

/// Loads `path`: a directory is a pstore directory; a file is detected by
/// its content (vmcore magic, text, else a ramoops region). zstd-compressed
/// files are decompressed first.
pub fn load(path: &Path) -> Result<Input, LoadError> {
    let name = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| LoadError(format!("{name}: {e}")))?;
    if meta.is_dir() {
        let files = pstore::read_dir(path)
            .map_err(|e| LoadError(format!("{name}: reading pstore directory: {e}")))?;
        let mut input = from_pstore_files(name, files);
        // An archive the admin completed with the module's journal file
        // (systemd-pstore does not copy it; the book says how to).
        let jpath = path.join(JOURNAL_FILE);
        if let Ok(bytes) = std::fs::read(&jpath) {
            match crashview_journal::locate(&bytes) {
                Some(0) => {
                    input.journal = Some(JournalZone { offset: 0, bytes });
                }
                _ => input.diagnostics.push(format!(
                    "{}: no panic journal header at offset 0x0 (expected \"CVJOURN1\")",
                    jpath.display()
                )),
            }
        }
        return Ok(input);
    }
    if is_vmcore_file(path) {
        // Vmcores are large: map them rather than read them.
        let file = crashview_vmcore::loader::MappedFile::open(path)
            .map_err(|e| LoadError(format!("{name}: {e}")))?;
        return from_bytes(name, file.bytes());
    }
    if meta.len() > MAX_FILE {
        return Err(LoadError(format!(
            "{name}: {} bytes is larger than any input crashview reads into memory",
            meta.len()
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| LoadError(format!("{name}: {e}")))?;
    from_bytes(name, &bytes)
}

fn is_vmcore_file(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 16];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    is_vmcore(head.get(..n).unwrap_or(&[]))
}

fn is_vmcore(b: &[u8]) -> bool {
    b.starts_with(b"\x7fELF") || b.starts_with(b"KDUMP   ") || b.starts_with(b"makedumpfile")
}

fn looks_like_text(b: &[u8]) -> bool {
    let head = b.get(..b.len().min(64 << 10)).unwrap_or(b);
    !head.is_empty() && !head.contains(&0)
}

/// Builds an input from pstore files already read.
pub fn from_pstore_files(name: String, files: Vec<PstoreFile>) -> Input {
    Input {
        name,
        kind: InputKind::PstoreDir,
        files,
        text: None,
        vmcore: None,
        journal: None,
        diagnostics: Vec::new(),
    }
}

/// Detects and reads an input held in memory.
pub fn from_bytes(name: String, bytes: &[u8]) -> Result<Input, LoadError> {
    if bytes.starts_with(&ZSTD_MAGIC) {
        let mut out = Vec::new();
        let dec = ruzstd::decoding::StreamingDecoder::new(bytes)
            .map_err(|e| LoadError(format!("{name}: zstd: {e}")))?;
        std::io::Read::read_to_end(&mut std::io::Read::take(dec, MAX_DECOMPRESSED), &mut out)
            .map_err(|e| LoadError(format!("{name}: zstd: {e}")))?;
        return from_bytes(name, &out);
    }
    if is_vmcore(bytes) {
        return vmcore(name, bytes);
    }
    if looks_like_text(bytes) {
        return Ok(Input {
            name,
            kind: InputKind::Text,
            files: Vec::new(),
            text: Some(String::from_utf8_lossy(bytes).into_owned()),
            vmcore: None,
            journal: None,
            diagnostics: Vec::new(),
        });
    }
    region(name, bytes)
}

fn region(name: String, bytes: &[u8]) -> Result<Input, LoadError> {
    let journal_at = crashview_journal::locate(bytes);
    if journal_at == Some(0) {
        return Ok(Input {
            name,
            kind: InputKind::RecorderJournal,
            files: Vec::new(),
            text: None,
            vmcore: None,
            journal: Some(JournalZone {
                offset: 0,
                bytes: bytes.to_vec(),
            }),
            diagnostics: Vec::new(),
        });
    }
    let ov = Overrides {
        mem_size: journal_at.map(|o| o as u64),
        ..Overrides::default()
    };
    let region = Region::scan(bytes, &ov).map_err(|e| {
        LoadError(format!(
            "{name}: neither a vmcore, text, nor a readable ramoops region: {e}"
        ))
    })?;
    let diagnostics = region
        .all_diagnostics()
        .iter()
        .map(|d| {
            let zone = d
                .zone
                .map(|(k, i)| format!(" {}({})", k.name(), i))
                .unwrap_or_default();
            format!("{name}: offset {:#x}{zone}: {}", d.offset, d.message)
        })
        .collect();
    let files = region.records().iter().map(|r| r.pstore_file()).collect();
    let journal = journal_at.and_then(|o| {
        bytes.get(o..).map(|z| JournalZone {
            offset: o,
            bytes: z.to_vec(),
        })
    });
    Ok(Input {
        name,
        kind: if journal.is_some() {
            InputKind::RecorderRegion
        } else {
            InputKind::RamoopsRegion
        },
        files,
        text: None,
        vmcore: None,
        journal,
        diagnostics,
    })
}

fn vmcore(name: String, bytes: &[u8]) -> Result<Input, LoadError> {
    let core = crashview_vmcore::Vmcore::parse(bytes)
        .map_err(|e| LoadError(format!("{name}: not a readable vmcore: {e}")))?;
    let mut diagnostics: Vec<String> = core
        .diagnostics()
        .iter()
        .map(|d| format!("{name}: {d}"))
        .collect();
    let vi = core.vmcoreinfo();
    let facts = VmcoreFacts {
        format: core.format().to_string(),
        release: vi.and_then(|v| v.osrelease()).map(str::to_owned),
        crash_time: vi.and_then(|v| v.crash_time()),
        kernel_offset: vi.and_then(|v| v.kernel_offset()),
        cpus: core.cpus().len(),
    };
    let journal = vi.and_then(|v| vmcore_journal(&core, v, &name, &mut diagnostics));
    let mut log = Vec::new();
    match crashview_printk::read_log(&core) {
        Ok(l) => {
            for d in &l.diagnostics {
                diagnostics.push(format!("{name}: printk: {d}"));
            }
            for r in &l.records {
                for line in r.text.split(|&b| b == b'\n') {
                    log.push(LogLine {
                        ts_ns: Some(r.ts_nsec),
                        level: Some(r.level),
                        text: String::from_utf8_lossy(line).into_owned(),
                    });
                }
            }
        }
        Err(e) => diagnostics.push(format!("{name}: cannot read the kernel log: {e}")),
    }
    Ok(Input {
        name,
        kind: InputKind::Vmcore,
        files: Vec::new(),
        text: None,
        vmcore: Some(VmcoreData { facts, log }),
        journal,
        diagnostics,
    })
}

/// Largest journal read out of a vmcore (the recorder's is 8 KiB).
const MAX_VMCORE_JOURNAL: usize = 1 << 20;

/// The journal of a kernel whose `panic()` runs the recorder (the patch
/// series): VMCOREINFO says where (`PANIC_JOURNAL=<vaddr>`,
/// `PANIC_JOURNAL_SIZE=<bytes>`), the dump's memory holds it.
fn vmcore_journal(
    core: &crashview_vmcore::Vmcore<'_>,
    vi: &crashview_vmcore::vmcoreinfo::VmcoreInfo,
    name: &str,
    diagnostics: &mut Vec<String>,
) -> Option<JournalZone> {
    let addr = vi.get("PANIC_JOURNAL")?;
    let (Ok(addr), Some(size)) = (
        u64::from_str_radix(addr, 16),
        vi.get("PANIC_JOURNAL_SIZE")
            .and_then(|s| s.parse::<usize>().ok()),
    ) else {
        diagnostics.push(format!(
            "{name}: VMCOREINFO PANIC_JOURNAL={addr}: expected a hex address and a PANIC_JOURNAL_SIZE"
        ));
        return None;
    };
    if size > MAX_VMCORE_JOURNAL {
        diagnostics.push(format!(
            "{name}: VMCOREINFO PANIC_JOURNAL_SIZE={size} is larger than any journal ({MAX_VMCORE_JOURNAL} bytes at most)"
        ));
        return None;
    }
    let mut bytes = vec![0u8; size];
    match core.read_virt(addr, &mut bytes) {
        Ok(()) => Some(JournalZone {
            offset: usize::try_from(addr).unwrap_or(usize::MAX),
            bytes,
        }),
        Err(e) => {
            diagnostics.push(format!(
                "{name}: panic journal at {addr:#x} ({size} bytes, from VMCOREINFO) unreadable: {e}"
            ));
            None
        }
    }
}
