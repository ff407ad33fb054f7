//! The debug files one run needs, found and mapped (feature `loader`).
//!
//! [`DebugFiles::load`] looks at what some logs refer to ([`Symbolizer::needs`]),
//! takes the files the caller named, fills the rest from the default places
//! ([`loader`]), and keeps the maps alive; [`DebugFiles::symbolizer`] then
//! borrows them. `crashview trace`, `crashview report` and the TUI share
//! this, so they pick the same files and warn the same way.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::elf::{DebugObject, SectionArena};
use crate::loader::{self, Mmap, ModuleIndex};
use crate::parse::Log;
use crate::resolve::Symbolizer;

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
    /// Which address of a frame is looked up (callers set it on the
    /// [`Symbolizer`] they make).
    pub lookup: crate::resolve::Lookup,
}

impl Default for DebugOptions {
    fn default() -> Self {
        DebugOptions {
            vmlinux: None,
            modules: Vec::new(),
            debug_root: PathBuf::from("/"),
            release: None,
            lookup: crate::resolve::Lookup::default(),
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

/// The mapped debug files for one run, and what could not be found.
#[derive(Debug, Default)]
pub struct DebugFiles {
    /// The vmlinux used, if any.
    pub vmlinux: Option<(PathBuf, Mmap)>,
    /// (module name, file, map) for every module found.
    pub modules: Vec<(String, PathBuf, Mmap)>,
    /// What is missing or suspicious (wrong build id, other release), one
    /// sentence each.
    pub warnings: Vec<String>,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The first candidate with DWARF, else the first that parses.
fn pick(cands: &[PathBuf]) -> Option<(PathBuf, Mmap)> {
    let mut fallback = None;
    for p in cands {
        let Ok(m) = loader::map(p) else { continue };
        let arena = SectionArena::new();
        let Ok(obj) = DebugObject::parse(&m, &arena) else {
            continue;
        };
        if obj.has_dwarf() {
            return Some((p.clone(), m));
        }
        if fallback.is_none() {
            fallback = Some((p.clone(), m));
        }
    }
    fallback
}

/// Maps a file the caller named; it must be a readable ELF object.
fn map_named(p: &Path) -> Result<Mmap, LoadError> {
    let err = |reason: String| LoadError {
        path: p.to_path_buf(),
        reason,
    };
    let m = loader::map(p).map_err(|e| err(format!("cannot open: {e}")))?;
    let arena = SectionArena::new();
    DebugObject::parse(&m, &arena).map_err(|e| err(e.to_string()))?;
    Ok(m)
}

/// The build id of the mapped object, as hex.
fn build_id_of(m: &Mmap) -> Option<String> {
    let arena = SectionArena::new();
    let o = DebugObject::parse(m, &arena).ok()?;
    o.build_id().map(hex)
}

/// The release a module was built for (`vermagic`'s first word).
fn vermagic_release(m: &Mmap) -> Option<String> {
    let arena = SectionArena::new();
    let o = DebugObject::parse(m, &arena).ok()?;
    let vm = o.modinfo("vermagic")?;
    vm.split_whitespace().next().map(str::to_string)
}

impl DebugFiles {
    /// Finds and maps what `logs` need. Files named in `opts` that cannot
    /// be read are an error; anything missing from the default places is a
    /// warning (those frames stay symbol+offset).
    pub fn load(logs: &[Log<'_>], opts: &DebugOptions) -> Result<Self, LoadError> {
        let release = opts
            .release
            .clone()
            .or_else(|| logs.iter().find_map(|l| l.info.release).map(str::to_string));
        let build_id = logs.iter().find_map(|l| l.info.build_id);
        let empty = Symbolizer::new();
        let mut need_vmlinux = false;
        let mut need_modules = BTreeSet::new();
        for l in logs {
            let n = empty.needs(l);
            need_vmlinux |= n.vmlinux;
            need_modules.extend(n.modules);
        }
        let mut files = DebugFiles::default();
        files.vmlinux = match &opts.vmlinux {
            Some(p) => Some((p.clone(), map_named(p)?)),
            None if need_vmlinux => {
                let c = loader::vmlinux_candidates(&opts.debug_root, release.as_deref(), build_id);
                let v = pick(&c);
                if v.is_none() {
                    files.warnings.push(format!(
                        "no vmlinux with debug info found for {} (pass --vmlinux FILE)",
                        release.as_deref().unwrap_or("an unknown release")
                    ));
                }
                v
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
        let mut dirs = opts.modules.clone();
        dirs.extend(loader::default_module_dirs(
            &opts.debug_root,
            release.as_deref(),
        ));
        let index = ModuleIndex::build(&dirs);
        for name in need_modules {
            let Some((p, m)) = pick(index.get(&name)) else {
                files.warnings.push(format!(
                    "no debug file for module {name} (pass --modules DIR); its frames stay symbol+offset"
                ));
                continue;
            };
            if let (Some(rel), Some(built)) = (&release, vermagic_release(&m)) {
                if &built != rel {
                    files.warnings.push(format!(
                        "{}: built for {built} but the log's kernel is {rel}",
                        p.display()
                    ));
                }
            }
            files.modules.push((name, p, m));
        }
        Ok(files)
    }

    /// A symbolizer over the mapped files (each was parsed once already by
    /// [`load`](Self::load); one that no longer parses is left out).
    pub fn symbolizer<'a>(&'a self, arena: &'a SectionArena) -> Symbolizer<'a> {
        let mut s = Symbolizer::new();
        if let Some((_, m)) = &self.vmlinux {
            if let Ok(o) = DebugObject::parse(m, arena) {
                s.set_vmlinux(o.with_read_ahead(m));
            }
        }
        for (name, _, m) in &self.modules {
            if let Ok(o) = DebugObject::parse(m, arena) {
                s.add_module(name, o.with_read_ahead(m));
            }
        }
        s
    }
}
