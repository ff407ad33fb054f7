//! The debug files one run needs, found and mapped (feature `loader`).
//!
//! [`DebugFiles::load`] looks at what some logs refer to ([`Symbolizer::needs`]),
//! takes the files the caller named, fills the rest from the default places
//! ([`loader`]), then from debuginfod servers by build id ([`crate::fetch`]),
//! and keeps the maps alive; [`DebugFiles::symbolizer`] then borrows them.
//! `crashview trace`, `crashview report` and the TUI share this, so they
//! pick the same files and warn the same way.
//!
//! The order, for vmlinux and for each module:
//!
//! 1. the files the caller named (`vmlinux`, `modules`);
//! 2. the local Debian layout: `<root>/usr/lib/debug/.build-id/xx/….debug`
//!    when the build id is known, `<root>/usr/lib/debug/boot/vmlinux-<release>`,
//!    `<root>/usr/lib/debug/lib/modules/<release>/…`, `<root>/lib/modules/<release>/…`
//!    (compressed `.ko.xz`/`.ko.zst`/`.ko.gz` too);
//! 3. when no local file has DWARF and the right build id, and
//!    [`DebugOptions::debuginfod`] is on: the servers in `DEBUGINFOD_URLS`
//!    (or crashview's cache of them). A failure is one warning naming the
//!    build id and the servers; the frames stay symbol+offset.
//!
//! Build ids: vmlinux's from [`DebugOptions::vmlinux_build_id`] (a vmcore's
//! VMCOREINFO `BUILD-ID`) or the log; a module's from its
//! `[module <build id>]` frames, [`DebugOptions::module_build_ids`], or
//! `<root>/sys/module/<name>/notes/.note.gnu.build-id`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::elf::{DebugObject, SectionArena};
use crate::fetch::Fetcher;
pub use crate::fetch::{FetchProgress, Progress};
use crate::loader::{self, DebugBytes, ModuleIndex};
use crate::parse::Log;
use crate::resolve::{normalize_module, Symbolizer};

/// Where to look for debug files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebugOptions {
    /// The vmlinux to use; `None` searches the default places.
    pub vmlinux: Option<PathBuf>,
    /// Module `.ko` files or directories (searched recursively), before
    /// the default module trees.
    pub modules: Vec<PathBuf>,
    /// Root the default places are under (`/`, or a sysroot).
    pub debug_root: PathBuf,
    /// Kernel release for the default places; `None` takes it from the log.
    pub release: Option<String>,
    /// Which address of a frame is looked up (the symbolizer
    /// [`DebugFiles::symbolizer`] makes uses it).
    pub lookup: crate::resolve::Lookup,
    /// The crashed kernel's build id (hex), e.g. a vmcore's VMCOREINFO
    /// `BUILD-ID`; `None` takes the one the log prints, if any.
    pub vmlinux_build_id: Option<String>,
    /// (module name, build id hex) known from elsewhere (a dump's module
    /// notes); a `[module <build id>]` frame takes precedence.
    pub module_build_ids: Vec<(String, String)>,
    /// Fetch what is not found locally from the debuginfod servers in
    /// `DEBUGINFOD_URLS` (and use crashview's cache of earlier fetches).
    /// Off by default, so a library user (or a test) never reaches the
    /// network unasked; the CLI turns it on unless `--no-debuginfod`.
    pub debuginfod: bool,
    /// Told how debuginfod downloads go (the CLI draws a bar).
    pub progress: Progress,
}

impl Default for DebugOptions {
    fn default() -> Self {
        DebugOptions {
            vmlinux: None,
            modules: Vec::new(),
            debug_root: PathBuf::from("/"),
            release: None,
            lookup: crate::resolve::Lookup::default(),
            vmlinux_build_id: None,
            module_build_ids: Vec::new(),
            debuginfod: false,
            progress: Progress::none(),
        }
    }
}

/// A debug file the caller named that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    /// The file.
    pub path: PathBuf,
    /// Why.
    pub reason: String,
}

impl core::fmt::Display for LoadError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.reason)
    }
}

impl std::error::Error for LoadError {}

/// The mapped (or decompressed) debug files for one run, and what could
/// not be found.
#[derive(Debug, Default)]
pub struct DebugFiles {
    /// The vmlinux used, if any.
    pub vmlinux: Option<(PathBuf, DebugBytes)>,
    /// (module name, file, bytes) for every module found.
    pub modules: Vec<(String, PathBuf, DebugBytes)>,
    /// What is missing or suspicious (wrong build id, other release, a
    /// failed download), one sentence each.
    pub warnings: Vec<String>,
    /// Which address of a frame the [`symbolizer`](Self::symbolizer) looks
    /// up ([`DebugOptions::lookup`]).
    pub lookup: crate::resolve::Lookup,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A candidate that opened and parsed.
struct Found {
    path: PathBuf,
    bytes: DebugBytes,
    dwarf: bool,
    /// Its build id is the one wanted (`true` when none is wanted).
    matches: bool,
}

impl Found {
    /// Good enough not to ask debuginfod for better.
    fn good(&self) -> bool {
        self.dwarf && self.matches
    }
}

/// Opens `p` and parses it; `None` if it is not a usable ELF object.
/// A compressed file that does not decompress is worth a warning (someone
/// installed it as a module); other failures are not (a search finds
/// strays).
fn examine(p: &Path, want: Option<&str>, warnings: &mut Vec<String>) -> Option<Found> {
    let bytes = match loader::open(p) {
        Ok(b) => b,
        Err(e @ (loader::OpenError::Corrupt { .. } | loader::OpenError::TooLarge { .. })) => {
            warnings.push(format!("{}: {e}; skipped", p.display()));
            return None;
        }
        Err(_) => return None,
    };
    let arena = SectionArena::new();
    let Ok(obj) = DebugObject::parse(&bytes, &arena) else {
        if bytes.compression().is_some() {
            warnings.push(format!(
                "{}: decompressed, but not a readable ELF file; skipped",
                p.display()
            ));
        }
        return None;
    };
    let dwarf = obj.has_dwarf();
    let matches = match (want, obj.build_id()) {
        (Some(w), Some(have)) => hex(have).eq_ignore_ascii_case(w),
        _ => true,
    };
    drop(obj);
    Some(Found {
        path: p.to_path_buf(),
        bytes,
        dwarf,
        matches,
    })
}

/// The best candidate: with DWARF before without, the right build id
/// before another, earlier before later.
fn pick(cands: &[PathBuf], want: Option<&str>, warnings: &mut Vec<String>) -> Option<Found> {
    let mut best: Option<Found> = None;
    let mut seen = BTreeSet::new();
    for p in cands {
        if !seen.insert(p) {
            continue;
        }
        let Some(f) = examine(p, want, warnings) else {
            continue;
        };
        if f.good() {
            return Some(f);
        }
        let better = best
            .as_ref()
            .is_none_or(|b| (f.dwarf, f.matches) > (b.dwarf, b.matches));
        if better {
            best = Some(f);
        }
    }
    best
}

/// Maps a file the caller named; it must be a readable ELF object.
fn map_named(p: &Path) -> Result<DebugBytes, LoadError> {
    let err = |reason: String| LoadError {
        path: p.to_path_buf(),
        reason,
    };
    let m = loader::open(p).map_err(|e| err(e.to_string()))?;
    let arena = SectionArena::new();
    DebugObject::parse(&m, &arena).map_err(|e| err(e.to_string()))?;
    Ok(m)
}

/// The build id of the mapped object, as hex.
fn build_id_of(m: &[u8]) -> Option<String> {
    let arena = SectionArena::new();
    let o = DebugObject::parse(m, &arena).ok()?;
    o.build_id().map(hex)
}

/// The release a module was built for (`vermagic`'s first word).
fn vermagic_release(m: &[u8]) -> Option<String> {
    let arena = SectionArena::new();
    let o = DebugObject::parse(m, &arena).ok()?;
    let vm = o.modinfo("vermagic")?;
    vm.split_whitespace().next().map(str::to_string)
}

/// A build id as given (log, option, note): lowercase hex, else `None`.
fn clean_id(id: &str) -> Option<String> {
    let id = id.trim().to_ascii_lowercase();
    (!id.is_empty() && id.bytes().all(|b| b.is_ascii_hexdigit())).then_some(id)
}

/// Asks debuginfod for `id` when `found` is not good enough; returns
/// what to use and the fetch failure, if any.
fn with_fetched(
    found: Option<Found>,
    id: Option<&str>,
    what: &str,
    fetcher: &mut Fetcher<'_>,
    warnings: &mut Vec<String>,
) -> (Option<Found>, Option<String>) {
    if found.as_ref().is_some_and(Found::good) {
        return (found, None);
    }
    let Some(id) = id else {
        return (found, None);
    };
    match fetcher.fetch(id, what) {
        Ok(None) => (found, None),
        Ok(Some(p)) => match examine(&p, Some(id), warnings) {
            Some(f) => (Some(f), None),
            None => (
                found,
                Some(format!(
                    "{}: fetched for build-id {id} but not readable",
                    p.display()
                )),
            ),
        },
        Err(e) => (found, Some(e)),
    }
}

impl DebugFiles {
    /// Finds and maps what `logs` need. Files named in `opts` that cannot
    /// be read are an error; anything missing from the default places or
    /// the debuginfod servers is a warning (those frames stay
    /// symbol+offset).
    pub fn load(logs: &[Log<'_>], opts: &DebugOptions) -> Result<Self, LoadError> {
        let release = opts
            .release
            .clone()
            .or_else(|| logs.iter().find_map(|l| l.info.release).map(str::to_string));
        let build_id = opts
            .vmlinux_build_id
            .as_deref()
            .or_else(|| logs.iter().find_map(|l| l.info.build_id))
            .and_then(clean_id);
        let build_id = build_id.as_deref();
        let empty = Symbolizer::new();
        let mut need_vmlinux = false;
        let mut need_modules = BTreeSet::new();
        // Module build ids: the trace's own first, then the caller's.
        let mut module_ids: BTreeMap<String, String> = BTreeMap::new();
        for l in logs {
            let n = empty.needs(l);
            need_vmlinux |= n.vmlinux;
            need_modules.extend(n.modules);
            for f in l.traces.iter().flat_map(|t| t.frames()) {
                if let (Some(m), Some(id)) = (f.module, f.module_build_id.and_then(clean_id)) {
                    module_ids.entry(normalize_module(m)).or_insert(id);
                }
            }
        }
        for (m, id) in &opts.module_build_ids {
            if let Some(id) = clean_id(id) {
                module_ids.entry(normalize_module(m)).or_insert(id);
            }
        }
        let mut fetcher = Fetcher::new(opts.debuginfod, &opts.progress);
        let mut files = DebugFiles {
            lookup: opts.lookup,
            ..DebugFiles::default()
        };
        files.vmlinux = match &opts.vmlinux {
            Some(p) => Some((p.clone(), map_named(p)?)),
            None if need_vmlinux => {
                let c = loader::vmlinux_candidates(&opts.debug_root, release.as_deref(), build_id);
                let local = pick(&c, build_id, &mut files.warnings);
                let (v, failed) = with_fetched(
                    local,
                    build_id,
                    "vmlinux",
                    &mut fetcher,
                    &mut files.warnings,
                );
                match (&v, failed) {
                    (None, failed) => files.warnings.push(format!(
                        "no vmlinux with debug info found for {} (pass --vmlinux FILE){}",
                        release.as_deref().unwrap_or("an unknown release"),
                        failed.map_or(String::new(), |e| format!("; {e}"))
                    )),
                    (Some(f), Some(e)) => files
                        .warnings
                        .push(format!("{e}; using {}", f.path.display())),
                    (Some(_), None) => {}
                }
                v.map(|f| (f.path, f.bytes))
            }
            None => None,
        };
        if let (Some((p, m)), Some(want)) = (&files.vmlinux, build_id) {
            if let Some(have) = build_id_of(m) {
                if !have.eq_ignore_ascii_case(want) {
                    files.warnings.push(format!(
                        "{}: build id {have} but the log's kernel has {want}: results may be wrong",
                        p.display()
                    ));
                }
            }
        }
        for p in opts.modules.iter().filter(|p| p.is_file()) {
            map_named(p)?;
        }
        if need_modules.is_empty() {
            return Ok(files);
        }
        let named = ModuleIndex::build(&opts.modules);
        let defaults = ModuleIndex::build(&loader::default_module_dirs(
            &opts.debug_root,
            release.as_deref(),
        ));
        for name in need_modules {
            let id = module_ids
                .get(&name)
                .cloned()
                .or_else(|| loader::sysfs_module_build_id(&opts.debug_root, &name));
            let id = id.as_deref();
            let mut cands = named.get(&name).to_vec();
            if let Some(p) = id.and_then(|id| loader::build_id_path(&opts.debug_root, id)) {
                if p.is_file() {
                    cands.push(p);
                }
            }
            cands.extend_from_slice(defaults.get(&name));
            let local = pick(&cands, id, &mut files.warnings);
            let what = format!("module {name}");
            let (found, failed) = with_fetched(local, id, &what, &mut fetcher, &mut files.warnings);
            let Some(f) = found else {
                files.warnings.push(format!(
                    "no debug file for module {name} (pass --modules DIR){}; its frames stay symbol+offset",
                    failed.map_or(String::new(), |e| format!("; {e}"))
                ));
                continue;
            };
            if let Some(e) = failed {
                files
                    .warnings
                    .push(format!("{e}; using {}", f.path.display()));
            }
            if let (Some(want), Some(have)) = (id, build_id_of(&f.bytes)) {
                if have != want {
                    files.warnings.push(format!(
                        "{}: build id {have} but the crashed kernel's {name} has {want}: results may be wrong",
                        f.path.display()
                    ));
                }
            }
            if let (Some(rel), Some(built)) = (&release, vermagic_release(&f.bytes)) {
                if &built != rel {
                    files.warnings.push(format!(
                        "{}: built for {built} but the log's kernel is {rel}",
                        f.path.display()
                    ));
                }
            }
            files.modules.push((name, f.path, f.bytes));
        }
        Ok(files)
    }

    /// A symbolizer over the mapped files (each was parsed once already by
    /// [`load`](Self::load); one that no longer parses is left out).
    pub fn symbolizer<'a>(&'a self, arena: &'a SectionArena) -> Symbolizer<'a> {
        let mut s = Symbolizer::new();
        s.set_lookup(self.lookup);
        if let Some((p, m)) = &self.vmlinux {
            if let Ok(o) = DebugObject::parse(m, arena) {
                s.set_vmlinux(crate::index_store::attach(o.with_read_ahead(m), p, arena));
            }
        }
        for (name, p, m) in &self.modules {
            if let Ok(o) = DebugObject::parse(m, arena) {
                s.add_module(
                    name,
                    crate::index_store::attach(o.with_read_ahead(m), p, arena),
                );
            }
        }
        s
    }
}
