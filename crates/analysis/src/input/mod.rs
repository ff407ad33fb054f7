//! Reading an input and deciding what it is: the one detector every
//! subcommand uses. Besides [`crate::symbols`], the only module that
//! touches files; what it keeps is owned, so a [`crate::Report`] outlives
//! the bytes. It depends on no other module of this crate.
//!
//! What a path can be:
//! * a directory: a crash directory of kdump-tools or kexec-tools
//!   ([`crashdir`]: one crash, read from its dump, its dmesg file as the
//!   fallback), else a `/sys/fs/pstore` directory or systemd-pstore archive;
//! * a file, by content ([`bytes`]): zstd (decompressed first), a vmcore,
//!   text, the recorder's journal alone, else a ramoops region image (with
//!   the journal after the zones when the recorder wrote it).
//!
//! Each subcommand asks a [`Question`]; [`Input::refusal`] says in one
//! sentence why an input cannot answer it.

pub mod bytes;
pub mod crashdir;
pub mod pile;

use std::path::{Path, PathBuf};

use crashview_ramoops::pstore::{self, PstoreFile};
use crashview_ramoops::region::{Overrides, Region};
use serde::Serialize;

pub use bytes::from_bytes;
pub use crashdir::{CrashDir, CrashDirLayout};

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

    /// What it is, for a sentence: `a vmcore`, `a ramoops region image`.
    pub fn describe(self) -> &'static str {
        match self {
            InputKind::RamoopsRegion => "a ramoops region image",
            InputKind::RecorderRegion => "a ramoops region image with a panic journal",
            InputKind::PstoreDir => "a pstore directory",
            InputKind::Vmcore => "a vmcore",
            InputKind::Text => "kernel log text",
            InputKind::RecorderJournal => "a panic recorder journal",
        }
    }
}

/// One line of kernel log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogLine {
    /// printk timestamp in nanoseconds since boot, when the line has one.
    pub ts_ns: Option<u64>,
    /// Console log level (`<4>`), when known.
    pub level: Option<u8>,
    /// The message, without level and timestamp prefixes.
    pub text: String,
}

impl LogLine {
    /// `[    2.286633] text` as the console prints it.
    pub fn console(&self) -> String {
        match self.ts_ns {
            Some(t) => format!(
                "[{:5}.{:06}] {}",
                t / 1_000_000_000,
                t % 1_000_000_000 / 1000,
                self.text
            ),
            None => self.text.clone(),
        }
    }
}

/// Facts a vmcore carries beyond its log.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct VmcoreFacts {
    /// Container and codec, as `crashview info` prints them.
    pub format: String,
    /// `OSRELEASE` from VMCOREINFO.
    pub release: Option<String>,
    /// `CRASHTIME` (seconds since the epoch): present when kdump took the dump.
    pub crash_time: Option<i64>,
    /// `KERNELOFFSET` (KASLR).
    pub kernel_offset: Option<u64>,
    /// `BUILD-ID`: the vmlinux build id, which finds its debug file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_id: Option<String>,
    /// CPUs with a PRSTATUS note.
    pub cpus: usize,
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
    /// The printk ring was found and read (even if empty).
    pub log_read: bool,
    /// CPUs, their tasks' stacks and the modules, read from the dump's
    /// memory (kallsyms, BTF, ORC); `None` when they cannot be read (a
    /// diagnostic says why).
    pub dump: Option<crate::dump_state::DumpState>,
}

/// A loaded input, ready for [`crate::analyze`].
#[derive(Debug, Clone)]
pub struct Input {
    /// The name the caller gave (a path, usually).
    pub name: String,
    /// What it was detected as (for a crash directory: what was read from it).
    pub kind: InputKind,
    /// The file the input was read from, when it is one (a crash
    /// directory's dump or dmesg file; the path itself for a file).
    pub path: Option<PathBuf>,
    /// pstore files (regions and pstore directories).
    pub files: Vec<PstoreFile>,
    /// The parsed region (region images): layout and per-zone findings.
    pub region: Option<Box<Region>>,
    /// The text of a text input.
    pub text: Option<String>,
    /// The vmcore's log and facts.
    pub vmcore: Option<VmcoreData>,
    /// The recorder's journal, when the region has one.
    pub journal: Option<JournalZone>,
    /// The crash directory the input was read from.
    pub crash_dir: Option<CrashDir>,
    /// What went wrong while reading, each naming where.
    pub diagnostics: Vec<String>,
}

impl Input {
    /// An input of `kind` with nothing read yet.
    pub fn new(name: String, kind: InputKind) -> Input {
        Input {
            name,
            kind,
            path: None,
            files: Vec::new(),
            region: None,
            text: None,
            vmcore: None,
            journal: None,
            crash_dir: None,
            diagnostics: Vec::new(),
        }
    }
}

/// Why an input could not be read at all, or cannot answer a question.
#[derive(Debug)]
pub struct LoadError(pub String);

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LoadError {}

/// How to read an input where autodetection is not wanted.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadOptions {
    /// ramoops parameters that override the layout autodetection.
    pub ramoops: Overrides,
    /// Where the recorder's journal starts in a region image (default:
    /// found by its header).
    pub journal_offset: Option<u64>,
    /// Most bytes a zstd-compressed input may expand to (default
    /// [`MAX_DECOMPRESSED`]); more is refused by name.
    pub max_decompressed: Option<u64>,
    /// Do not open a vmcore's kernel state (its CPUs' stacks, modules):
    /// for subcommands that read only its log, records or journal.
    pub skip_kernel_state: bool,
}

/// Largest input file read into memory (vmcores are mapped instead).
pub const MAX_FILE: u64 = 1 << 30;
/// Largest zstd-decompressed input.
pub const MAX_DECOMPRESSED: u64 = 4 << 30;

/// The name a pstore directory's copy of the recorder's journal has (the
/// module's debugfs file, copied beside the records).
pub const JOURNAL_FILE: &str = "panic_recorder-journal";

/// Loads `path`, detecting what it is.
pub fn load(path: &Path) -> Result<Input, LoadError> {
    load_with(path, &LoadOptions::default())
}

/// Loads `path` with overrides for autodetection.
pub fn load_with(path: &Path, opts: &LoadOptions) -> Result<Input, LoadError> {
    let name = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| LoadError(format!("{name}: {e}")))?;
    if meta.is_dir() {
        if let Some(c) = crashdir::detect(path) {
            return load_crash_dir(name, c, opts);
        }
        return load_pstore_dir(name, path);
    }
    let mut input = load_file(name, path, meta.len(), opts)?;
    input.path = Some(path.to_path_buf());
    Ok(input)
}

fn load_file(name: String, path: &Path, len: u64, opts: &LoadOptions) -> Result<Input, LoadError> {
    if is_vmcore_file(path) {
        // Vmcores are large: map them rather than read them.
        let file = crashview_vmcore::loader::MappedFile::open(path)
            .map_err(|e| LoadError(format!("{name}: {e}")))?;
        return from_bytes(name, file.bytes(), opts);
    }
    if len > MAX_FILE {
        return Err(LoadError(format!(
            "{name}: {len} bytes is larger than any input crashview reads into memory ({MAX_FILE} at most)"
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| LoadError(format!("{name}: {e}")))?;
    from_bytes(name, &bytes, opts)
}

fn load_pstore_dir(name: String, path: &Path) -> Result<Input, LoadError> {
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
    Ok(input)
}

/// One crash: its dump when it reads as a vmcore with a kernel log, else
/// its dmesg file, saying why.
fn load_crash_dir(name: String, c: CrashDir, opts: &LoadOptions) -> Result<Input, LoadError> {
    let mut notes = Vec::new();
    if let Some(dump) = &c.dump {
        let dname = dump.display().to_string();
        if c.dump_incomplete {
            notes.push(format!(
                "{dname}: the dump is incomplete ({} did not finish writing it)",
                c.layout.name()
            ));
        }
        let len = std::fs::metadata(dump).map(|m| m.len()).unwrap_or(0);
        match load_file(dname.clone(), dump, len, opts) {
            Ok(mut input) if input.kind == InputKind::Vmcore => {
                let log_read = input.vmcore.as_ref().is_some_and(|v| v.log_read);
                if log_read || c.dmesg.is_none() {
                    input.name = name;
                    input.path = Some(dump.clone());
                    input.diagnostics.splice(0..0, notes);
                    input.crash_dir = Some(c);
                    return Ok(input);
                }
                notes.push(format!(
                    "{dname}: the dump holds no readable kernel log: read from the dmesg file instead"
                ));
                notes.extend(input.diagnostics);
            }
            Ok(input) => notes.push(format!(
                "{dname}: expected a vmcore, found {}: read from the dmesg file instead",
                input.kind.describe()
            )),
            Err(e) => notes.push(format!("{e}: read from the dmesg file instead")),
        }
    }
    let Some(dmesg) = c.dmesg.clone() else {
        return Err(LoadError(format!(
            "{name}: a {} crash directory with neither a readable dump nor a dmesg file{}",
            c.layout.name(),
            notes.first().map(|n| format!(" ({n})")).unwrap_or_default()
        )));
    };
    let len = std::fs::metadata(&dmesg).map(|m| m.len()).unwrap_or(0);
    let mut input = load_file(dmesg.display().to_string(), &dmesg, len, opts)?;
    input.name = name;
    input.path = Some(dmesg);
    input.diagnostics.splice(0..0, notes);
    input.crash_dir = Some(c);
    Ok(input)
}

/// The first bytes of a file (fewer when it is shorter or unreadable):
/// enough for every magic the detector knows.
fn file_head(path: &Path) -> Vec<u8> {
    use std::io::Read;
    let mut head = Vec::with_capacity(16);
    if let Ok(f) = std::fs::File::open(path) {
        let _ = f.take(16).read_to_end(&mut head);
    }
    head
}

fn is_vmcore_file(path: &Path) -> bool {
    bytes::is_vmcore(&file_head(path))
}

/// The file a vmcore subcommand reads for `path`: a crash directory's
/// dump, or the path itself.
fn dump_path(path: &Path) -> Option<PathBuf> {
    if path.is_dir() {
        crashdir::detect(path).and_then(|c| c.dump)
    } else {
        Some(path.to_path_buf())
    }
}

/// Builds an input from pstore files already read.
pub fn from_pstore_files(name: String, files: Vec<PstoreFile>) -> Input {
    let mut input = Input::new(name, InputKind::PstoreDir);
    input.files = files;
    input
}

/// What a subcommand asks of an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Question {
    /// `pstore list|extract`: the pstore records.
    Records,
    /// `journal`: the panic recorder's journal.
    Journal,
    /// `trace`: the call traces in the kernel log.
    Traces,
    /// `log`: the kernel log.
    KernelLog,
    /// `info`: what a vmcore says about itself.
    VmcoreFacts,
    /// `bt`, `ps`, `modules`: the dumped kernel's stacks, tasks, modules.
    KernelState,
    /// `report`, `tui`, `triage`: everything.
    Report,
}

impl Question {
    /// The subcommand that asks it.
    pub fn command(self) -> &'static str {
        match self {
            Question::Records => "pstore",
            Question::Journal => "journal",
            Question::Traces => "trace",
            Question::KernelLog => "log",
            Question::VmcoreFacts => "info",
            Question::KernelState => "bt/ps/modules",
            Question::Report => "report",
        }
    }
}

impl Input {
    /// Why this input cannot answer `q`, in one sentence naming what it
    /// is and which subcommand reads it; `None` when it can.
    pub fn refusal(&self, q: Question) -> Option<String> {
        let what = match &self.crash_dir {
            Some(c) => format!(
                "{} (a {} crash directory)",
                self.kind.describe(),
                c.layout.name()
            ),
            None => self.kind.describe().to_string(),
        };
        let has_log = !matches!(self.kind, InputKind::RecorderJournal);
        let (ok, instead) = match q {
            Question::Records => (
                matches!(
                    self.kind,
                    InputKind::RamoopsRegion | InputKind::RecorderRegion | InputKind::PstoreDir
                ),
                "holds no pstore records",
            ),
            Question::Journal => (
                self.journal.is_some(),
                match self.kind {
                    InputKind::Vmcore => "holds no panic journal (VMCOREINFO has no PANIC_JOURNAL=: its kernel does not run the recorder)",
                    InputKind::PstoreDir => "holds no panic journal (no panic_recorder-journal file)",
                    _ => "holds no panic journal (expected the \"CVJOURN1\" header after the ramoops zones)",
                },
            ),
            Question::Traces | Question::KernelLog => (has_log, "holds no kernel log"),
            Question::VmcoreFacts | Question::KernelState => (
                self.kind == InputKind::Vmcore,
                "is not a vmcore",
            ),
            Question::Report => (true, ""),
        };
        if ok {
            return None;
        }
        let try_cmd = match self.kind {
            InputKind::Vmcore => "`crashview report`, `log` or `info`",
            InputKind::RecorderJournal => "`crashview journal` or `report`",
            InputKind::RecorderRegion => "`crashview pstore list`, `journal` or `report`",
            InputKind::RamoopsRegion | InputKind::PstoreDir => {
                "`crashview pstore list` or `report`"
            }
            InputKind::Text => "`crashview trace` or `report`",
        };
        Some(format!(
            "{}: this is {what}: it {instead}, so `crashview {}` cannot read it; try {try_cmd}",
            self.name,
            q.command()
        ))
    }

    /// `Ok` when the input answers `q`, else the [refusal](Input::refusal).
    pub fn require(&self, q: Question) -> Result<(), LoadError> {
        match self.refusal(q) {
            Some(r) => Err(LoadError(r)),
            None => Ok(()),
        }
    }
}

/// A vmcore's bytes for the subcommands that read a dump's own structures
/// (`log`, `info`): mapped in place, or decompressed when the file is
/// zstd-compressed.
pub enum VmcoreBytes {
    /// The file, mapped.
    Mapped(crashview_vmcore::loader::MappedFile),
    /// A zstd-compressed file's contents.
    Decompressed(Vec<u8>),
}

impl VmcoreBytes {
    /// The dump.
    pub fn bytes(&self) -> &[u8] {
        match self {
            VmcoreBytes::Mapped(m) => m.bytes(),
            VmcoreBytes::Decompressed(v) => v,
        }
    }
}

/// Does `path` stand for a vmcore (the file, zstd-compressed or not, or a
/// crash directory's dump)? From the first bytes only.
pub fn is_vmcore_path(path: &Path) -> bool {
    let Some(f) = dump_path(path) else {
        return false;
    };
    let head = file_head(&f);
    if bytes::is_vmcore(&head) {
        return true;
    }
    if !bytes::is_zstd(&head) {
        return false;
    }
    // The first decompressed bytes tell.
    use std::io::Read;
    let Some(Ok(mut dec)) = std::fs::File::open(&f)
        .ok()
        .map(ruzstd::decoding::StreamingDecoder::new)
    else {
        return false;
    };
    let mut plain = [0u8; 16];
    let n = dec.read(&mut plain).unwrap_or(0);
    bytes::is_vmcore(plain.get(..n).unwrap_or(&[]))
}

/// The vmcore `path` stands for: the file itself (zstd-compressed or not),
/// or a crash directory's dump; its path and bytes. Anything else is
/// refused with the reason, in one sentence, as [`Input::refusal`] words it.
pub fn open_vmcore(path: &Path, q: Question) -> Result<(PathBuf, VmcoreBytes), LoadError> {
    if let Some(f) = dump_path(path) {
        let name = f.display().to_string();
        let head = file_head(&f);
        if bytes::is_vmcore(&head) {
            let m = crashview_vmcore::loader::MappedFile::open(&f)
                .map_err(|e| LoadError(format!("{name}: {e}")))?;
            return Ok((f, VmcoreBytes::Mapped(m)));
        }
        if bytes::is_zstd(&head) {
            let len = std::fs::metadata(&f).map(|m| m.len()).unwrap_or(0);
            if len <= MAX_FILE {
                let z = std::fs::read(&f).map_err(|e| LoadError(format!("{name}: {e}")))?;
                let plain = bytes::unzstd(&name, &z, MAX_DECOMPRESSED)?;
                if bytes::is_vmcore(&plain) {
                    return Ok((f, VmcoreBytes::Decompressed(plain)));
                }
            }
        }
    }
    let input = load(path)?;
    input.require(q)?;
    Err(LoadError(format!(
        "{}: {} is not a vmcore",
        input.name,
        input.kind.describe()
    )))
}
