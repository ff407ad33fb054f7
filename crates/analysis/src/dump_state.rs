//! What a vmcore says about the machine beyond its log, with no debug
//! file: every CPU's task and `rip`, task stacks unwound with ORC, the
//! task and module lists (`crashview-kernel`). With DWARF found or given,
//! frames also get file:line through the same symbolizer as log traces.

use std::collections::BTreeMap;

use serde::Serialize;

use crashview_debuginfod::{BuildId, Cache};
use crashview_kernel::{symbol_text, Backtrace, Kernel, StackSource, Task};
use crashview_symbolize::debug_files::{DebugFiles, DebugOptions, LoadError};
use crashview_symbolize::parse;
use crashview_symbolize::SectionArena;
use crashview_vmcore::x86_64::KERNEL_HALF;
use crashview_vmcore::{loader::MappedFile, vmcoreinfo::VmcoreInfo, Vmcore};

use crate::source::{note_text, source_lines, DebugFilesUsed, SourceLine};

/// JSON schema of `crashview bt --json`.
pub const BT_SCHEMA: &str = "crashview.bt/1";
/// JSON schema of `crashview ps --json`.
pub const PS_SCHEMA: &str = "crashview.ps/1";
/// JSON schema of `crashview modules --json`.
pub const MODULES_SCHEMA: &str = "crashview.modules/1";

/// Which tasks to unwind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// The task that crashed.
    Crashed,
    /// Every CPU's active task (`crash bt -a`).
    Cpus,
    /// Every task.
    All,
    /// These pids.
    Pids(Vec<u32>),
}

/// A task, as `ps` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskRow {
    /// Thread id.
    pub pid: u32,
    /// Process id.
    pub tgid: u32,
    /// Parent's pid.
    pub ppid: u32,
    /// CPU it last ran on.
    pub cpu: u32,
    /// State letter (`R`, `S`, `D`, `I`, …).
    pub state: String,
    /// Command name.
    pub comm: String,
    /// Running on its CPU at the crash.
    pub on_cpu: bool,
    /// A CPU's idle task.
    pub idle: bool,
    /// `task_struct` address (hex).
    pub task: String,
}

impl From<&Task> for TaskRow {
    fn from(t: &Task) -> Self {
        TaskRow {
            pid: t.pid,
            tgid: t.tgid,
            ppid: t.ppid,
            cpu: t.cpu,
            state: t.state.to_string(),
            comm: t.comm.clone(),
            on_cpu: t.on_cpu,
            idle: t.idle,
            task: hex(t.addr),
        }
    }
}

/// One frame of an unwound stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StackFrame {
    /// Address (hex): the exact instruction for the first frame and after
    /// an interrupt, else the return address.
    pub pc: String,
    /// Stack pointer (hex).
    pub sp: String,
    /// `exact` or `return-address`: how `pc` is to be read.
    pub pc_kind: &'static str,
    /// Symbol (kallsyms or the module's own table), or null.
    pub function: Option<String>,
    /// `pc - function`.
    pub offset: u64,
    /// Symbol size.
    pub size: u64,
    /// Module name, null for vmlinux.
    pub module: Option<String>,
    /// A user-space address (the registers a syscall or interrupt saved on
    /// entry from user mode: the end of the kernel stack).
    pub user: bool,
    /// Registers saved at an interrupt/exception boundary (name → hex).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regs: Option<BTreeMap<&'static str, String>>,
    /// File:line with inlined frames, when DWARF was found.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub source: Vec<SourceLine>,
    /// Why there is no source line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_note: Option<String>,
}

impl StackFrame {
    /// `function+0xoff/0xsize [module]`, as the kernel prints a frame;
    /// `?` for a kernel address no symbol holds, `user space` for a user one.
    pub fn symbolic(&self) -> String {
        match &self.function {
            Some(f) => symbol_text(f, self.offset, self.size, self.module.as_deref()),
            None if self.user => "user space".to_string(),
            None => "?".to_string(),
        }
    }
}

/// One task's stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Thread {
    /// Thread id.
    pub pid: u32,
    /// Process id.
    pub tgid: u32,
    /// Command name.
    pub comm: String,
    /// CPU.
    pub cpu: u32,
    /// State letter.
    pub state: String,
    /// Running on its CPU at the crash.
    pub on_cpu: bool,
    /// The crashed task.
    pub crashed: bool,
    /// `cpu-registers` (the dump's NT_PRSTATUS for its CPU) or
    /// `switch-frame` (its saved `inactive_task_frame`).
    pub unwound_from: &'static str,
    /// Frames, innermost first.
    pub frames: Vec<StackFrame>,
    /// Why the unwind stopped before the stack's natural end.
    pub stopped: Option<String>,
    /// Where the unwind departed from the ORC tables, and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unwind_note: Option<String>,
}

/// One module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModuleRow {
    /// Name.
    pub name: String,
    /// Core memory start (hex).
    pub base: String,
    /// Core size in bytes.
    pub size: u64,
    /// Taint letters (`OE`), empty when none.
    pub taints: String,
    /// `live`, `coming`, `going`, `unformed`.
    pub state: &'static str,
    /// Symbols in its own table.
    pub symbols: usize,
    /// `struct module` address (hex).
    pub module: String,
}

/// One CPU at the crash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CpuRow {
    /// CPU number.
    pub cpu: u32,
    /// Pid of its current task.
    pub pid: Option<u32>,
    /// Its current task's comm.
    pub comm: Option<String>,
    /// Saved `rip` (hex), when the dump has its registers.
    pub rip: Option<String>,
    /// `function+0xoff/0xsize [module]` at `rip`.
    pub rip_symbol: Option<String>,
    /// It called `panic()`.
    pub panicked: bool,
}

/// Everything read from the dump's memory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DumpState {
    /// The CPU that called `panic()`.
    pub panic_cpu: Option<u32>,
    /// Per CPU.
    pub cpus: Vec<CpuRow>,
    /// The stacks asked for.
    pub threads: Vec<Thread>,
    /// Every task (filled for `ps`, `bt --all` and reports).
    pub tasks: Vec<TaskRow>,
    /// Modules.
    pub modules: Vec<ModuleRow>,
    /// What could not be read, and where.
    pub notes: Vec<String>,
    /// Debug files used for source lines, when symbolized.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub debug_files: Option<DebugFilesUsed>,
}

fn hex(v: u64) -> String {
    format!("{v:#x}")
}

fn frames_of(bt: &Backtrace) -> Vec<StackFrame> {
    bt.frames
        .iter()
        .map(|f| StackFrame {
            pc: hex(f.pc),
            sp: hex(f.sp),
            pc_kind: if f.exact { "exact" } else { "return-address" },
            function: f.function.clone(),
            offset: f.offset,
            size: f.size,
            module: f.module.clone(),
            user: f.pc < KERNEL_HALF,
            regs: f
                .regs
                .as_ref()
                .map(|r| r.iter().map(|(n, v)| (n, hex(v))).collect()),
            source: Vec::new(),
            source_note: None,
        })
        .collect()
}

fn module_state(s: u32) -> &'static str {
    match s {
        0 => "live",
        1 => "coming",
        2 => "going",
        3 => "unformed",
        _ => "?",
    }
}

/// A mapped cache file as table storage.
struct Mapped(MappedFile);

impl AsRef<[u8]> for Mapped {
    fn as_ref(&self) -> &[u8] {
        self.0.bytes()
    }
}

/// File name of a build's kallsyms and struct layouts in crashview's
/// build-id cache (`$XDG_CACHE_HOME/crashview/debuginfod/<build-id>/`).
pub const METADATA_FILE: &str = "kernelmeta-v1";

/// Open the dumped kernel. kallsyms and the BTF-derived layouts (megabytes
/// of the dump to inflate and parse) are kept per build id (VMCOREINFO
/// `BUILD-ID`) in crashview's cache and reused for later dumps of the same
/// build, checked against each dump; `CRASHVIEW_NO_INDEX=1` turns this off.
pub fn open_kernel<'m>(core: &'m Vmcore<'_>) -> Result<Kernel<'m>, String> {
    let id = core
        .vmcoreinfo()
        .and_then(|v| v.build_id())
        .and_then(|h| BuildId::from_hex(&h).ok());
    let on = crashview_symbolize::index_store::enabled(std::env::var_os(
        crashview_symbolize::index::DISABLE_VAR,
    ));
    let cache = id
        .as_ref()
        .filter(|_| on)
        .and_then(|_| Cache::from_env().ok());
    // Mapped, not read: a cached table is used where it lies.
    let cached = match (&cache, &id) {
        (Some(c), Some(id)) => c
            .lookup(METADATA_FILE, id)
            .and_then(|p| MappedFile::open(&p).ok())
            .map(|m| Box::new(Mapped(m)) as crashview_kallsyms::Storage),
        _ => None,
    };
    let (k, used) = Kernel::open_cached(core, core.cpus(), cached).map_err(|e| e.to_string())?;
    if let (false, Some(c), Some(id)) = (used, cache, id) {
        // A cache that cannot be written costs only the next run's time.
        if let Ok(mut p) = c.begin(METADATA_FILE, &id) {
            if p.write_all(&k.metadata()).is_ok() {
                if let Ok(path) = p.commit_unsynced() {
                    c.evict(Some(&path));
                }
            }
        }
    }
    Ok(k)
}

/// Open the dumped kernel and read what `sel` asks for (the CPUs, tasks
/// and modules always). Errors only when kallsyms or BTF cannot be read at
/// all; anything else missing is a note.
pub fn read(core: &Vmcore<'_>, sel: &Selection) -> Result<DumpState, String> {
    let k = open_kernel(core)?;
    Ok(read_kernel(&k, sel))
}

/// [`read`] for a kernel already open.
pub fn read_kernel(k: &Kernel<'_>, sel: &Selection) -> DumpState {
    let mut notes: Vec<String> = k.notes().iter().map(|n| n.to_string()).collect();
    let (tasks, walk_notes) = k.tasks_with_notes();
    notes.extend(walk_notes.iter().map(|n| n.to_string()));
    let crashed = k.crashed_task();
    let cpus = k
        .cpus()
        .iter()
        .map(|c| {
            let cur = c.curr.and_then(|a| tasks.iter().find(|t| t.addr == a));
            let rip = c.regs.as_ref().and_then(|r| r.reg("rip"));
            CpuRow {
                cpu: c.cpu,
                pid: cur.map(|t| t.pid),
                comm: cur.map(|t| t.comm.clone()),
                rip: rip.map(hex),
                rip_symbol: rip.and_then(|r| k.symbolize(r)).map(|s| s.to_string()),
                panicked: k.panic_cpu() == Some(c.cpu),
            }
        })
        .collect();
    let chosen: Vec<&Task> = match sel {
        Selection::Crashed => crashed
            .as_ref()
            .and_then(|c| tasks.iter().find(|t| t.addr == c.addr))
            .into_iter()
            .collect(),
        Selection::Cpus => k
            .cpus()
            .iter()
            .filter_map(|c| c.curr.and_then(|a| tasks.iter().find(|t| t.addr == a)))
            .collect(),
        Selection::All => tasks.iter().collect(),
        Selection::Pids(p) => tasks.iter().filter(|t| p.contains(&t.pid)).collect(),
    };
    if let Selection::Pids(p) = sel {
        for pid in p.iter().filter(|pid| !tasks.iter().any(|t| t.pid == **pid)) {
            notes.push(format!("pid {pid}: no such task in the dump"));
        }
    }
    let threads = chosen
        .into_iter()
        .map(|t| {
            let bt = k.backtrace(t);
            Thread {
                pid: t.pid,
                tgid: t.tgid,
                comm: t.comm.clone(),
                cpu: t.cpu,
                state: t.state.to_string(),
                on_cpu: t.on_cpu,
                crashed: crashed.as_ref().is_some_and(|c| c.addr == t.addr),
                unwound_from: match bt.source {
                    StackSource::CpuRegisters(_) => "cpu-registers",
                    StackSource::SwitchFrame => "switch-frame",
                },
                frames: frames_of(&bt),
                stopped: bt.stopped.clone(),
                unwind_note: bt.note.clone(),
            }
        })
        .collect();
    let modules = k
        .modules()
        .iter()
        .map(|m| ModuleRow {
            name: m.name.clone(),
            base: hex(m.base),
            size: m.size,
            taints: m.taints.clone(),
            state: module_state(m.state),
            symbols: m.symbols.len(),
            module: hex(m.addr),
        })
        .collect();
    DumpState {
        panic_cpu: k.panic_cpu(),
        cpus,
        threads,
        tasks: tasks.iter().map(TaskRow::from).collect(),
        modules,
        notes,
        debug_files: None,
    }
}

/// A frame as a kernel trace prints it: an exact pc as a `RIP:` line (so
/// the symbolizer looks it up at its address), a return address as a frame
/// (looked up at the call).
pub fn trace_line(f: &StackFrame) -> String {
    if f.pc_kind == "exact" {
        format!("RIP: 0010:{}", f.symbolic())
    } else {
        f.symbolic()
    }
}

/// Appends a `Call Trace:` block of [`trace_line`]s as the symbolizer
/// parses them (`RIP:` lines as they are, frames indented).
pub fn push_call_trace<'a>(text: &mut String, lines: impl IntoIterator<Item = &'a str>) {
    text.push_str("Call Trace:\n");
    for l in lines {
        if !l.starts_with("RIP:") {
            text.push(' ');
        }
        text.push_str(l);
        text.push('\n');
    }
}

/// The threads' named frames as kernel-style call traces, one block per
/// thread: the text every other crashview trace goes through.
pub fn trace_text(threads: &[Thread]) -> String {
    let mut s = String::new();
    for t in threads {
        s.push_str(&format!("CPU: {} PID: {} Comm: {}\n", t.cpu, t.pid, t.comm));
        // Frames with no symbol have nothing to look up by: left out.
        let lines: Vec<String> = t
            .frames
            .iter()
            .filter(|f| f.function.is_some())
            .map(trace_line)
            .collect();
        push_call_trace(&mut s, lines.iter().map(String::as_str));
    }
    s
}

/// Add file:line to every frame that DWARF covers: the vmlinux and module
/// debug files `opts` finds (by path, or by the dump's build id and
/// release from its VMCOREINFO `vi` where `opts` names none), looked up by
/// symbol+offset so KASLR and module placement need no arithmetic here.
pub fn symbolize(
    state: &mut DumpState,
    opts: &DebugOptions,
    vi: Option<&VmcoreInfo>,
) -> Result<(), LoadError> {
    let text = trace_text(&state.threads);
    let mut log = parse::parse_log(&text);
    if log.info.kernel_offset.is_none() {
        log.info.kernel_offset = vi.and_then(|v| v.kernel_offset());
    }
    let mut opts = opts.clone();
    if opts.release.is_none() {
        opts.release = vi.and_then(|v| v.osrelease()).map(str::to_owned);
    }
    if opts.vmlinux_build_id.is_none() {
        opts.vmlinux_build_id = vi.and_then(|v| v.build_id());
    }
    let files = DebugFiles::load(std::slice::from_ref(&log), &opts)?;
    let arena = SectionArena::new();
    let sym = files.symbolizer(&arena);
    sym.prefetch(&log);
    // One parsed trace per thread, its named frames in the same order.
    for (t, trace) in state.threads.iter_mut().zip(log.traces.iter()) {
        let named = t.frames.iter_mut().filter(|f| f.function.is_some());
        for (f, pf) in named.zip(trace.frames()) {
            let r = sym.resolve(pf, &log.info);
            f.source = source_lines(&r);
            f.source_note = r
                .note
                .as_ref()
                .filter(|_| f.source.is_empty())
                .map(note_text);
        }
    }
    state.debug_files = Some(DebugFilesUsed::from(&files));
    Ok(())
}

/// The function at each `NT_PRSTATUS` note's `rip`, in note order
/// (`function+0xoff/0xsize [module]`), named from the dump's kallsyms and
/// module symbol tables; and why names are missing, if they are.
pub fn rip_names(core: &Vmcore<'_>) -> (Vec<Option<String>>, Option<String>) {
    let rips = core.cpus().iter().map(|c| c.reg("rip"));
    match open_kernel(core) {
        Ok(k) => (
            rips.map(|r| r.and_then(|r| k.symbolize(r)).map(|s| s.to_string()))
                .collect(),
            None,
        ),
        // Without BTF (no module list) kallsyms still names vmlinux text.
        Err(e) => match crashview_kallsyms::Kallsyms::read(core) {
            Ok(ks) => (
                rips.map(|r| {
                    r.filter(|&r| r >= KERNEL_HALF)
                        .and_then(|r| ks.lookup(r))
                        .map(|l| symbol_text(l.name, l.offset, l.size, None))
                })
                .collect(),
                Some(format!("{e}; module addresses are not named")),
            ),
            Err(e2) => (rips.map(|_| None).collect(), Some(e2.to_string())),
        },
    }
}
