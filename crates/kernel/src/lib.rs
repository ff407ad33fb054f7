//! A crashed kernel's state from its dump alone: tasks, CPUs, modules and
//! their stacks, through kallsyms (names and addresses), BTF (struct
//! layouts) and ORC (unwinding), all read from the dump's memory. No
//! vmlinux, no debug file.
//!
//! ```no_run
//! use crashview_vmcore::{loader::MappedFile, Vmcore};
//! let file = MappedFile::open("vmcore".as_ref()).unwrap();
//! let core = Vmcore::parse(file.bytes()).unwrap();
//! let kernel = crashview_kernel::Kernel::open(&core, core.cpus()).unwrap();
//! for t in kernel.tasks() {
//!     let stack = kernel.backtrace(&t);
//!     println!("{} {} {:?}", t.pid, t.comm, stack.frames.first().map(|f| &f.function));
//! }
//! ```
//!
//! What is read from where, and the limits, are in the book's "Reading a
//! vmcore without debug files".
#![deny(missing_docs)]
#![deny(clippy::arithmetic_side_effects)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::panic))]

mod anchors;
mod cpus;
mod layout;
mod mem;
mod modules;
mod stack;
mod tasks;

use crashview_btf::Btf;
use crashview_kallsyms::{Kallsyms, Storage};
use crashview_vmcore::x86_64::KERNEL_HALF;
use crashview_vmcore::{KernelMemory, PrStatus};

pub use cpus::Cpu;
pub use layout::LayoutError;
pub use mem::ReadError;
pub use modules::{Module, ModuleSymbol};
pub use stack::{Backtrace, Frame, StackSource};
pub use tasks::{state_char, Task};

use anchors::Anchors;
use layout::Layout;
use mem::Mem;

/// Largest BTF blob read (Debian's vmlinux BTF is about 5 MB).
pub const MAX_BTF: u64 = 64 << 20;

/// Why the kernel's state cannot be read at all.
#[derive(Debug)]
pub enum Error {
    /// kallsyms could not be read (needed for every address).
    Kallsyms(crashview_kallsyms::Error),
    /// A symbol the reader needs is absent.
    NoSymbol(&'static str),
    /// Memory the reader needs is unreadable.
    Read(ReadError),
    /// BTF could not be parsed.
    Btf(String),
    /// BTF lacks a field this reader needs.
    Layout(LayoutError),
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::Kallsyms(e) => write!(f, "kallsyms: {e}"),
            Error::NoSymbol(s) => write!(f, "kallsyms has no symbol {s}"),
            Error::Read(e) => e.fmt(f),
            Error::Btf(e) => write!(f, "BTF: {e}"),
            Error::Layout(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {}

impl From<ReadError> for Error {
    fn from(e: ReadError) -> Self {
        Error::Read(e)
    }
}

/// The symbol an address is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    /// Its name.
    pub name: String,
    /// The address less the symbol's start.
    pub offset: u64,
    /// The symbol's size.
    pub size: u64,
    /// The module it belongs to, `None` for vmlinux.
    pub module: Option<String>,
}

/// `name+0xoff/0xsize [module]`, as the kernel prints a frame.
pub fn symbol_text(name: &str, offset: u64, size: u64, module: Option<&str>) -> String {
    match module {
        Some(m) => format!("{name}+{offset:#x}/{size:#x} [{m}]"),
        None => format!("{name}+{offset:#x}/{size:#x}"),
    }
}

impl core::fmt::Display for Symbol {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&symbol_text(
            &self.name,
            self.offset,
            self.size,
            self.module.as_deref(),
        ))
    }
}

/// A problem that cost part of the picture: what, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The part affected (`"task list"`, `"module crashmod"`…).
    pub part: String,
    /// What failed.
    pub message: String,
}

impl core::fmt::Display for Note {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}: {}", self.part, self.message)
    }
}

/// The dumped kernel, opened.
pub struct Kernel<'m> {
    mem: Mem<'m>,
    syms: Kallsyms,
    anchors: Anchors,
    layout: Layout,
    cpus: Vec<Cpu>,
    modules: Vec<Module>,
    vmlinux_orc: Option<crashview_unwind::OrcTable>,
    text: (u64, u64),
    panic_cpu: Option<u32>,
    kaslr: u64,
    notes: Vec<Note>,
}

/// Magic and version of [`Kernel::metadata`].
const META_MAGIC: &[u8; 8] = b"CVKMETA2";

/// A cheap check of the metadata's bytes (a word-wise rotate-and-add: a
/// cache file damaged on disk must not name frames wrongly, and FNV over
/// megabytes would cost more than the rest of opening a cached kernel).
fn meta_checksum(b: &[u8]) -> u64 {
    let mut h: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut words = b.chunks_exact(8);
    for w in &mut words {
        h = h.rotate_left(5) ^ u64::from_le_bytes(w.try_into().unwrap_or_default());
    }
    for &x in words.remainder() {
        h = h.rotate_left(5) ^ u64::from(x);
    }
    h
}

/// kallsyms and the BTF-derived layout, read from the dump (the slow
/// part of opening: megabytes of tables).
fn read_metadata(mem: &dyn KernelMemory) -> Result<(Kallsyms, Anchors, Layout), Error> {
    let syms = Kallsyms::read(mem).map_err(Error::Kallsyms)?;
    let anchors = Anchors::resolve(&syms);
    let m = Mem(mem);
    let need = |name: &'static str| anchors.get(name).ok_or(Error::NoSymbol(name));
    let start = need("__start_BTF")?;
    let stop = need("__stop_BTF")?;
    let len = stop
        .checked_sub(start)
        .filter(|&l| l > 0 && l <= MAX_BTF)
        .ok_or_else(|| {
            Error::Btf(format!(
                "__start_BTF {start:#x} .. __stop_BTF {stop:#x} is not a plausible size"
            ))
        })?;
    let mut blob = vec![0u8; len as usize];
    m.bytes("BTF (__start_BTF)", start, &mut blob)?;
    let btf = Btf::parse_vec(blob).map_err(|e| Error::Btf(format!("at {start:#x}: {e}")))?;
    let release = mem
        .vmcoreinfo()
        .and_then(|v| v.osrelease())
        .map(str::to_owned);
    let layout = Layout::from_btf(&btf, release.as_deref()).map_err(Error::Layout)?;
    Ok((syms, anchors, layout))
}

/// Metadata from [`Kernel::metadata`], if it is for this dump: the same
/// number of kallsyms symbols, and `_stext` where VMCOREINFO says.
fn cached_metadata(
    mem: &dyn KernelMemory,
    storage: Storage,
) -> Option<(Kallsyms, Anchors, Layout)> {
    let vi = mem.vmcoreinfo()?;
    let kaslr = vi.kernel_offset().unwrap_or(0);
    let whole = (*storage).as_ref();
    let (bytes, sum) = whole.split_at_checked(whole.len().checked_sub(8)?)?;
    if meta_checksum(bytes) != u64::from_le_bytes(sum.try_into().ok()?) {
        return None;
    }
    let rest = bytes.strip_prefix(META_MAGIC)?;
    let part = |at: usize| -> Option<(&[u8], usize)> {
        let n = u32::from_le_bytes(rest.get(at..at.checked_add(4)?)?.try_into().ok()?) as usize;
        let start = at.checked_add(4)?;
        Some((
            rest.get(start..start.checked_add(n)?)?,
            start.checked_add(n)?,
        ))
    };
    let (layout, next) = part(0)?;
    let (anchors, next) = part(next)?;
    let layout = Layout::from_bytes(layout)?;
    let anchors = Anchors::from_bytes(anchors, kaslr)?;
    let table_at = META_MAGIC.len().checked_add(next)?;
    let syms = Kallsyms::from_storage(storage, table_at, kaslr)?;
    let count_at = vi.symbol("kallsyms_num_syms")?;
    let count = Mem(mem).u32("kallsyms_num_syms", count_at).ok()?;
    let same = count as usize == syms.len()
        && vi
            .symbol("_stext")
            .is_some_and(|t| anchors.get("_stext") == Some(t));
    same.then_some((syms, anchors, layout))
}

impl<'m> Kernel<'m> {
    /// Read kallsyms, BTF, the CPUs and the module list. `prstatus` are the
    /// dump's `NT_PRSTATUS` notes (the registers of each CPU).
    pub fn open(mem: &'m dyn KernelMemory, prstatus: &[PrStatus]) -> Result<Kernel<'m>, Error> {
        Self::open_cached(mem, prstatus, None).map(|(k, _)| k)
    }

    /// [`Kernel::open`], taking kallsyms and the struct layouts from
    /// `cached` (what [`Kernel::metadata`] gave for a dump of the same
    /// build) when they fit this dump, instead of reading and parsing
    /// megabytes of tables. The flag says whether they were used.
    pub fn open_cached(
        mem: &'m dyn KernelMemory,
        prstatus: &[PrStatus],
        cached: Option<Storage>,
    ) -> Result<(Kernel<'m>, bool), Error> {
        let hit = cached.and_then(|b| cached_metadata(mem, b));
        let used = hit.is_some();
        let (syms, anchors, layout) = match hit {
            Some(h) => h,
            None => read_metadata(mem)?,
        };
        let m = Mem(mem);
        let need = |name: &'static str| anchors.get(name).ok_or(Error::NoSymbol(name));
        let text = (need("_stext")?, need("_etext")?);
        let mut notes = Vec::new();
        let panic_cpu = anchors
            .get("panic_cpu")
            .and_then(|a| m.u32("panic_cpu", a).ok())
            .and_then(|v| i32::try_from(v).ok())
            .and_then(|v| u32::try_from(v).ok());
        let cpus = cpus::read(m, &anchors, &layout, prstatus, &mut notes);
        let vmlinux_orc = stack::vmlinux_orc(m, &anchors, &layout, text, &mut notes);
        let modules = modules::read(m, &anchors, &layout, &mut notes);
        let kaslr = mem
            .vmcoreinfo()
            .and_then(|v| v.kernel_offset())
            .unwrap_or(0);
        Ok((
            Kernel {
                mem: m,
                syms,
                anchors,
                layout,
                cpus,
                modules,
                vmlinux_orc,
                text,
                panic_cpu,
                kaslr,
                notes,
            },
            used,
        ))
    }

    /// kallsyms and the struct layouts, for [`Kernel::open_cached`] on
    /// other dumps of this build (addresses kept KASLR-independent).
    pub fn metadata(&self) -> Vec<u8> {
        let mut b = META_MAGIC.to_vec();
        for part in [self.layout.to_bytes(), self.anchors.to_bytes(self.kaslr)] {
            b.extend_from_slice(&(part.len() as u32).to_le_bytes());
            b.extend_from_slice(&part);
        }
        b.extend_from_slice(&self.syms.to_bytes());
        let sum = meta_checksum(&b);
        b.extend_from_slice(&sum.to_le_bytes());
        b
    }

    /// The vmlinux symbol table.
    pub fn kallsyms(&self) -> &Kallsyms {
        &self.syms
    }

    /// The CPUs, with the task each was running.
    pub fn cpus(&self) -> &[Cpu] {
        &self.cpus
    }

    /// The CPU that called `panic()` (`panic_cpu`), if one did.
    pub fn panic_cpu(&self) -> Option<u32> {
        self.panic_cpu
    }

    /// Loaded modules, in list order.
    pub fn modules(&self) -> &[Module] {
        &self.modules
    }

    /// Problems met while opening (and walking, for [`Kernel::tasks_with_notes`]).
    pub fn notes(&self) -> &[Note] {
        &self.notes
    }

    /// Every task: each CPU's idle task, then the task list with all
    /// threads. A damaged list ends the walk with a note.
    pub fn tasks(&self) -> Vec<Task> {
        self.tasks_with_notes().0
    }

    /// [`Kernel::tasks`] and what stopped the walk early.
    pub fn tasks_with_notes(&self) -> (Vec<Task>, Vec<Note>) {
        tasks::walk(self)
    }

    /// The task that crashed: the one running on `panic_cpu`, else on the
    /// CPU whose registers the dump names first.
    pub fn crashed_task(&self) -> Option<Task> {
        let cpu = self
            .panic_cpu
            .and_then(|c| self.cpus.iter().find(|x| x.cpu == c))
            .or_else(|| self.cpus.iter().find(|c| c.regs.is_some()))?;
        tasks::read_task(self, cpu.curr?).ok()
    }

    /// The symbol holding an address: vmlinux's kallsyms, else the module
    /// whose memory holds it.
    pub fn symbolize(&self, addr: u64) -> Option<Symbol> {
        // kallsyms also holds absolute per-CPU offsets: small numbers that
        // would "name" user addresses.
        if addr < KERNEL_HALF {
            return None;
        }
        if let Some(l) = self.syms.lookup(addr) {
            if addr < self.text.1 || !self.in_module(addr) {
                return Some(Symbol {
                    name: l.name.to_owned(),
                    offset: l.offset,
                    size: l.size,
                    module: None,
                });
            }
        }
        self.modules.iter().find_map(|m| m.lookup(addr))
    }

    fn in_module(&self, addr: u64) -> bool {
        self.modules.iter().any(|m| m.contains(addr))
    }

    /// Unwind a task's kernel stack.
    pub fn backtrace(&self, task: &Task) -> Backtrace {
        stack::backtrace(self, task)
    }
}
