//! Frames to source locations.
//!
//! A [`Symbolizer`] holds the vmlinux and the module objects it was given
//! and resolves each [`Frame`] of a parsed log:
//!
//! * `name+0xoff/0xlen [module]`: the symbol's address in that module's
//!   object (section base + `st_value`) plus `off`;
//! * `name+0xoff/0xlen` (no module): the same in vmlinux;
//! * a bare address (`? 0xffffffff…`, `[<…>]` with no name, `RIP: 0010:0x…`):
//!   vmlinux only, minus the log's `Kernel Offset` (KASLR).
//!
//! Which address is looked up ([`Lookup`]): a `RIP:` line is the
//! interrupted or trapping instruction itself, looked up at its address.
//! Every other frame is a return address, the instruction after a call:
//! its source is the call's, so it is looked up at `pc - 1`, as gdb, drgn
//! and `llvm-symbolizer` do for caller frames (the instruction after the
//! call can be on another line, or outside the inlined block that made the
//! call). [`Lookup::ReturnAddress`] looks every frame up as printed, as
//! `decode_stacktrace.sh` and `addr2line` on the raw address do.
//!
//! An address is named only by the object whose text holds it: a bare
//! address in module space is not looked up in vmlinux, and vmlinux's
//! nearest symbol below an address names it only when the address is
//! inside that symbol.
//!
//! The symbolizer opens no files. [`Symbolizer::needs`] says which objects a
//! log refers to that it has not been given; the caller finds them (see the
//! `loader` feature) and adds them.

use std::collections::{BTreeMap, BTreeSet};

pub use crate::elf::SourceFrame;
use crate::elf::{DebugObject, SymDef};
use crate::error::Error;
use crate::parse::{Frame, Log, LogInfo};

/// The runtime base of the kernel text without KASLR (x86_64).
pub const KERNEL_TEXT_START: u64 = 0xffff_ffff_8100_0000;

/// Why a frame has no (or only partial) source information.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Note {
    /// No debug file for this object was given or found.
    NoDebugFile {
        /// `vmlinux` or the module name.
        object: String,
    },
    /// The object has no DWARF (a stripped module or vmlinux).
    NoDwarf {
        /// `vmlinux` or the module name.
        object: String,
    },
    /// The symbol is not in the object's symbol table (a different build?).
    SymbolNotFound {
        /// The symbol.
        name: String,
        /// `vmlinux` or the module name.
        object: String,
    },
    /// The DWARF does not cover the address.
    NoLineInfo,
    /// A user-space address (`RIP: 0033:…`).
    UserSpace,
    /// A bare address in a module: its load address is unknown.
    ModuleAddress,
    /// A bare address in the module area (x86_64 `MODULES_VADDR` to
    /// `MODULES_END`), not in vmlinux; which module holds it is unknown
    /// without the module list and load addresses.
    ModuleSpace {
        /// The address as printed.
        address: u64,
    },
    /// A bare address outside the kernel image.
    UnknownAddress,
    /// Reading the debug object failed.
    Error(Error),
}

impl core::fmt::Display for Note {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Note::NoDebugFile { object } => write!(f, "no debug file for {object}"),
            Note::NoDwarf { object } => write!(f, "{object} has no DWARF (stripped?)"),
            Note::SymbolNotFound { name, object } => {
                write!(
                    f,
                    "{name} is not in {object}'s symbol table (another build?)"
                )
            }
            Note::NoLineInfo => f.write_str("no line information for this address"),
            Note::UserSpace => f.write_str("user-space address"),
            Note::ModuleAddress => f.write_str("bare module address: load address unknown"),
            Note::ModuleSpace { address } => write!(
                f,
                "{address:#x} is in module space, not vmlinux: which module holds it is unknown (no module load addresses)"
            ),
            Note::UnknownAddress => f.write_str("address outside the kernel image"),
            Note::Error(e) => write!(f, "{e}"),
        }
    }
}

/// What is known about one frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// `vmlinux` or the module name (`None` for user-space frames).
    pub object: Option<String>,
    /// Address looked up, in the object's address space (link-time for
    /// vmlinux; our section layout for a module): `pc - 1` for a caller
    /// frame under [`Lookup::CallSite`], else the frame's address.
    pub address: Option<u64>,
    /// The frame's own address in the object's address space (the symbol's
    /// address plus the printed offset, or the bare address).
    pub pc: Option<u64>,
    /// `address` is `pc - 1`: the call site of a return address.
    pub call_site: bool,
    /// The section holding `address` and the offset in it (what
    /// `addr2line -j <section> <offset>` takes).
    pub section: Option<(String, u64)>,
    /// The symbol the address is in, the offset in it and its size (for
    /// bare-address frames this is found from the address).
    pub symbol: Option<(String, u64, u64)>,
    /// Source frames, innermost first; empty if unknown.
    pub frames: Vec<SourceFrame>,
    /// Why `frames` is empty or the result is partial.
    pub note: Option<Note>,
}

impl Resolution {
    fn note(object: Option<String>, note: Note) -> Self {
        Resolution {
            object,
            address: None,
            pc: None,
            call_site: false,
            section: None,
            symbol: None,
            frames: Vec::new(),
            note: Some(note),
        }
    }
}

/// Debug files a log needs that a [`Symbolizer`] does not have.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// vmlinux is needed (a frame without `[module]`).
    pub vmlinux: bool,
    /// Module names (normalised: `-` → `_`).
    pub modules: BTreeSet<String>,
}

/// Module names as the kernel prints them: `-` becomes `_`.
pub fn normalize_module(name: &str) -> String {
    name.replace('-', "_")
}

/// Which address of a frame is looked up in DWARF.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Lookup {
    /// `RIP:` lines at their address, every other frame at `pc - 1`.
    #[default]
    CallSite,
    /// Every frame at its address, as printed (`decode_stacktrace.sh`).
    ReturnAddress,
}

/// The x86_64 module area (Documentation/x86/x86_64/mm.rst: `MODULES_VADDR`
/// is `__START_KERNEL_map` + `KERNEL_IMAGE_SIZE` (1 GiB with KASLR) up to
/// `MODULES_END`, 0xffffffffff000000); the kernel image lies below it.
pub const MODULE_SPACE: core::ops::Range<u64> = 0xffff_ffff_c000_0000..0xffff_ffff_ff00_0000;

/// Resolves frames against a vmlinux and modules.
#[derive(Debug, Default)]
pub struct Symbolizer<'data> {
    vmlinux: Option<DebugObject<'data>>,
    modules: BTreeMap<String, DebugObject<'data>>,
    lookup: Lookup,
}

impl<'data> Symbolizer<'data> {
    /// A symbolizer with no objects yet.
    pub fn new() -> Self {
        Symbolizer {
            vmlinux: None,
            modules: BTreeMap::new(),
            lookup: Lookup::CallSite,
        }
    }

    /// Uses `obj` for frames without `[module]`.
    pub fn set_vmlinux(&mut self, obj: DebugObject<'data>) {
        self.vmlinux = Some(obj);
    }

    /// Uses `obj` for `[name]` frames.
    pub fn add_module(&mut self, name: &str, obj: DebugObject<'data>) {
        self.modules.insert(normalize_module(name), obj);
    }

    /// The vmlinux object, if set.
    pub fn vmlinux(&self) -> Option<&DebugObject<'data>> {
        self.vmlinux.as_ref()
    }

    /// Chooses which address of a frame is looked up (default
    /// [`Lookup::CallSite`]).
    pub fn set_lookup(&mut self, lookup: Lookup) {
        self.lookup = lookup;
    }

    /// Which address of a frame is looked up.
    pub fn lookup(&self) -> Lookup {
        self.lookup
    }

    /// The object for module `name`, if added.
    pub fn module(&self, name: &str) -> Option<&DebugObject<'data>> {
        self.modules.get(&normalize_module(name))
    }

    /// What `log` refers to that is not loaded.
    pub fn needs(&self, log: &Log<'_>) -> Needs {
        let mut n = Needs::default();
        for t in &log.traces {
            for f in t.frames() {
                if f.user {
                    continue;
                }
                match f.module {
                    Some(m) => {
                        let m = normalize_module(m);
                        if !self.modules.contains_key(&m) {
                            n.modules.insert(m);
                        }
                    }
                    None => n.vmlinux |= self.vmlinux.is_none(),
                }
            }
        }
        n
    }

    /// Reads the symbol tables once for every name in `log` (so that
    /// resolving N frames is one pass over `.symtab`, not N).
    pub fn prefetch(&self, log: &Log<'_>) {
        let mut per: BTreeMap<Option<String>, BTreeSet<&str>> = BTreeMap::new();
        for t in &log.traces {
            for f in t.frames() {
                if let Some(s) = f.symbol {
                    per.entry(f.module.map(normalize_module))
                        .or_default()
                        .insert(s.name);
                }
            }
        }
        for (m, names) in &per {
            let obj = match m {
                Some(m) => self.modules.get(m),
                None => self.vmlinux.as_ref(),
            };
            if let Some(o) = obj {
                o.prefetch_symbols(names.iter().copied());
            }
        }
        // With the symbols known, the frames' addresses are: hint what
        // resolving them reads (a cold page cache then fills in parallel).
        let mut addrs: BTreeMap<Option<String>, Vec<u64>> = BTreeMap::new();
        for t in &log.traces {
            for f in t.frames() {
                let Some(s) = f.symbol else { continue };
                let m = f.module.map(normalize_module);
                let obj = match &m {
                    Some(m) => self.modules.get(m),
                    None => self.vmlinux.as_ref(),
                };
                if let Some(d) = obj.and_then(|o| o.find_symbol(s.name, s.size)) {
                    addrs
                        .entry(m)
                        .or_default()
                        .push(d.address.wrapping_add(s.offset));
                }
            }
        }
        for (m, a) in addrs {
            let obj = match &m {
                Some(m) => self.modules.get(m),
                None => self.vmlinux.as_ref(),
            };
            if let Some(o) = obj {
                o.read_ahead_for(&a);
            }
        }
    }

    /// Resolves one frame.
    pub fn resolve(&self, frame: &Frame<'_>, info: &LogInfo<'_>) -> Resolution {
        if frame.user {
            return Resolution::note(None, Note::UserSpace);
        }
        let object = frame
            .module
            .map_or_else(|| "vmlinux".to_string(), normalize_module);
        let obj = match frame.module {
            Some(_) => self.modules.get(&object),
            None => self.vmlinux.as_ref(),
        };
        let Some(obj) = obj else {
            return Resolution::note(Some(object.clone()), Note::NoDebugFile { object });
        };
        let (address, symbol) = if let Some(s) = frame.symbol {
            match obj.find_symbol(s.name, s.size) {
                Some(d) => (
                    d.address.wrapping_add(s.offset),
                    Some((d.name.to_string(), s.offset, d.size)),
                ),
                None => {
                    return Resolution::note(
                        Some(object.clone()),
                        Note::SymbolNotFound {
                            name: s.name.to_string(),
                            object,
                        },
                    )
                }
            }
        } else if let Some(a) = frame.address {
            if frame.module.is_some() {
                return Resolution::note(Some(object), Note::ModuleAddress);
            }
            if MODULE_SPACE.contains(&a) {
                return Resolution::note(None, Note::ModuleSpace { address: a });
            }
            let link = a.wrapping_sub(info.kernel_offset.unwrap_or(0));
            // The nearest symbol below names the address only if the
            // address is inside it (a sized symbol), or at least inside an
            // allocated section (an unsized assembly label).
            let sym = obj
                .symbol_at(link)
                .filter(|(d, off)| match d.size {
                    0 => obj.section_of(link).is_some(),
                    size => *off < size,
                })
                .map(|(d, off): (SymDef<'_>, u64)| (d.name.to_string(), off, d.size));
            if sym.is_none() {
                return Resolution::note(Some(object), Note::UnknownAddress);
            }
            (link, sym)
        } else {
            return Resolution::note(Some(object), Note::UnknownAddress);
        };
        let pc = address;
        let call_site = self.lookup == Lookup::CallSite && !frame.is_rip;
        let address = if call_site {
            match pc.checked_sub(1) {
                Some(a) => a,
                None => return Resolution::note(Some(object), Note::UnknownAddress),
            }
        } else {
            pc
        };
        let section = obj.section_of(address).and_then(|(i, off)| {
            obj.section_name(i).map(|n| {
                (
                    n.to_string(),
                    if obj.is_relocatable() { off } else { address },
                )
            })
        });
        let mut r = Resolution {
            object: Some(object.clone()),
            address: Some(address),
            pc: Some(pc),
            call_site,
            section,
            symbol,
            frames: Vec::new(),
            note: None,
        };
        if !obj.has_dwarf() {
            r.note = Some(Note::NoDwarf { object });
            return r;
        }
        match obj.frames(address) {
            Ok(f) => r.frames = f,
            Err(e) => r.note = Some(Note::Error(e)),
        }
        // Where DWARF has no function (assembly, or an address past the
        // last line-table row of a noreturn call), name the function from
        // the symbol table, as binutils does.
        let needs_name = r.frames.last().is_none_or(|f| f.function.is_none());
        if needs_name && r.note.is_none() {
            // A printed symbol is kallsyms' nearest symbol below the
            // address, the same rule binutils applies; only bare addresses
            // need the sorted symbol table.
            let named = r.symbol.as_ref().map(|s| s.0.clone());
            let nearest = named.or_else(|| obj.symbol_at(address).map(|(d, _)| d.name.to_string()));
            if let Some(name) = nearest {
                match r.frames.last_mut() {
                    Some(f) => f.function = Some(name),
                    None => {
                        r.frames.push(SourceFrame {
                            function: Some(name),
                            file: None,
                            line: None,
                            column: None,
                        });
                        r.note = Some(Note::NoLineInfo);
                    }
                }
            } else if r.frames.is_empty() {
                r.note = Some(Note::NoLineInfo);
            }
        }
        r
    }
}
