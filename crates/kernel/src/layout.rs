//! Where the fields this crate reads are, from the dump's own BTF: the
//! layouts of `task_struct`, `rq`, `module` and friends differ between
//! releases and configurations, so no offset is compiled in.

use crashview_btf::{Btf, Kind, TypeId};
use crashview_unwind::OrcLayout;

/// A field that BTF did not describe as expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayoutError(pub String);

impl core::fmt::Display for LayoutError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "BTF: {}", self.0)
    }
}

type R<T> = Result<T, LayoutError>;

fn ty(btf: &Btf, name: &str) -> R<TypeId> {
    btf.find(Kind::Struct, name)
        .ok_or_else(|| LayoutError(format!("no struct {name}")))
}

/// Byte offset of `path` in struct `s`.
fn off(btf: &Btf, s: &str, path: &str) -> R<u64> {
    let id = ty(btf, s)?;
    let f = btf
        .member(id, path)
        .map_err(|e| LayoutError(format!("struct {s}: {e}")))?;
    f.byte_offset()
        .ok_or_else(|| LayoutError(format!("{s}.{path} is a bitfield")))
}

/// Offset and size of `path` in struct `s`.
fn field(btf: &Btf, s: &str, path: &str) -> R<(u64, u64)> {
    let id = ty(btf, s)?;
    let f = btf
        .member(id, path)
        .map_err(|e| LayoutError(format!("struct {s}: {e}")))?;
    let o = f
        .byte_offset()
        .ok_or_else(|| LayoutError(format!("{s}.{path} is a bitfield")))?;
    let size = btf
        .size_of(f.ty)
        .ok_or_else(|| LayoutError(format!("{s}.{path}: type has no size")))?;
    Ok((o, size))
}

/// `struct task_struct`.
#[derive(Debug, Clone)]
pub(crate) struct TaskLayout {
    pub tasks: u64,
    pub pid: u64,
    pub tgid: u64,
    pub comm: (u64, u64),
    /// `__state` (5.14+, `unsigned int`) or `state` (`long`).
    pub state: (u64, u64),
    pub exit_state: u64,
    pub real_parent: u64,
    pub stack: u64,
    pub thread_sp: u64,
    /// `thread_info.cpu` (x86 since 5.16) or `cpu`.
    pub cpu: u64,
    pub signal: u64,
    pub thread_node: u64,
}

/// How a module's memory is described.
#[derive(Debug, Clone)]
pub(crate) enum ModuleMem {
    /// `core_layout` / `init_layout` (`struct module_layout`, before 6.4).
    Layouts {
        core_base: u64,
        core_size: u64,
        init_base: u64,
        init_size: u64,
    },
    /// `mem[MOD_MEM_NUM_TYPES]` (`struct module_memory`, 6.4+).
    Mem {
        at: u64,
        stride: u64,
        count: u32,
        base: u64,
        size: u64,
    },
}

/// `struct module` and its symbol and ORC tables.
#[derive(Debug, Clone)]
pub(crate) struct ModuleLayout {
    pub list: u64,
    pub name: (u64, u64),
    pub state: u64,
    pub taints: u64,
    pub kallsyms: u64,
    pub symtab: u64,
    pub num_symtab: u64,
    pub strtab: u64,
    pub typetab: Option<u64>,
    pub num_orcs: Option<u64>,
    pub orc_ip: Option<u64>,
    pub orc: Option<u64>,
    pub mem: ModuleMem,
}

/// Everything read through BTF.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub task: TaskLayout,
    pub signal_thread_head: u64,
    pub rq_curr: u64,
    pub rq_idle: u64,
    pub frame_size: u64,
    pub frame_bp: u64,
    pub frame_ret: u64,
    pub module: Result<ModuleLayout, LayoutError>,
    pub orc: OrcLayout,
}

impl Layout {
    pub fn from_btf(btf: &Btf, release: Option<&str>) -> R<Layout> {
        let task = TaskLayout {
            tasks: off(btf, "task_struct", "tasks")?,
            pid: off(btf, "task_struct", "pid")?,
            tgid: off(btf, "task_struct", "tgid")?,
            comm: field(btf, "task_struct", "comm")?,
            state: field(btf, "task_struct", "__state")
                .or_else(|_| field(btf, "task_struct", "state"))?,
            exit_state: off(btf, "task_struct", "exit_state")?,
            real_parent: off(btf, "task_struct", "real_parent")?,
            stack: off(btf, "task_struct", "stack")?,
            thread_sp: off(btf, "task_struct", "thread.sp")?,
            cpu: off(btf, "task_struct", "thread_info.cpu")
                .or_else(|_| off(btf, "task_struct", "cpu"))?,
            signal: off(btf, "task_struct", "signal")?,
            thread_node: off(btf, "task_struct", "thread_node")?,
        };
        let (frame_size, frame_bp, frame_ret) = {
            let id = ty(btf, "inactive_task_frame")?;
            let size = btf
                .size_of(id)
                .ok_or_else(|| LayoutError("inactive_task_frame has no size".into()))?;
            (
                size,
                off(btf, "inactive_task_frame", "bp")?,
                off(btf, "inactive_task_frame", "ret_addr")?,
            )
        };
        Ok(Layout {
            task,
            signal_thread_head: off(btf, "signal_struct", "thread_head")?,
            rq_curr: off(btf, "rq", "curr")?,
            rq_idle: off(btf, "rq", "idle")?,
            frame_size,
            frame_bp,
            frame_ret,
            module: module_layout(btf),
            orc: orc_layout(btf, release),
        })
    }
}

fn module_layout(btf: &Btf) -> R<ModuleLayout> {
    let mem = if let Ok(core) = off(btf, "module", "core_layout") {
        let init = off(btf, "module", "init_layout")?;
        let sum = |a: u64, b: u64| {
            a.checked_add(b)
                .ok_or_else(|| LayoutError("module layout offset overflows".into()))
        };
        ModuleMem::Layouts {
            core_base: sum(core, off(btf, "module_layout", "base")?)?,
            core_size: sum(core, off(btf, "module_layout", "size")?)?,
            init_base: sum(init, off(btf, "module_layout", "base")?)?,
            init_size: sum(init, off(btf, "module_layout", "size")?)?,
        }
    } else {
        let id = ty(btf, "module")?;
        let m = btf
            .member(id, "mem")
            .map_err(|e| LayoutError(format!("struct module: neither core_layout nor mem: {e}")))?;
        let (elem, count) = btf
            .array(m.ty)
            .ok_or_else(|| LayoutError("module.mem is not an array".into()))?;
        let stride = btf
            .size_of(elem)
            .ok_or_else(|| LayoutError("module_memory has no size".into()))?;
        ModuleMem::Mem {
            at: m
                .byte_offset()
                .ok_or_else(|| LayoutError("module.mem is a bitfield".into()))?,
            stride,
            count,
            base: off(btf, "module_memory", "base")?,
            size: off(btf, "module_memory", "size")?,
        }
    };
    Ok(ModuleLayout {
        list: off(btf, "module", "list")?,
        name: field(btf, "module", "name")?,
        state: off(btf, "module", "state")?,
        taints: off(btf, "module", "taints")?,
        kallsyms: off(btf, "module", "kallsyms")?,
        symtab: off(btf, "mod_kallsyms", "symtab")?,
        num_symtab: off(btf, "mod_kallsyms", "num_symtab")?,
        strtab: off(btf, "mod_kallsyms", "strtab")?,
        typetab: off(btf, "mod_kallsyms", "typetab").ok(),
        num_orcs: off(btf, "module", "arch.num_orcs").ok(),
        orc_ip: off(btf, "module", "arch.orc_unwind_ip").ok(),
        orc: off(btf, "module", "arch.orc_unwind").ok(),
        mem,
    })
}

/// The `orc_entry` encoding, from the struct as BTF describes it
/// (arch/x86/include/asm/orc_types.h): `type:2; end:1` until 6.2, `type:2;
/// signal:1; end:1` in 6.3, `type:3; signal:1` (no `end`) from 6.4.
/// Without the struct in BTF, the release decides.
fn orc_layout(btf: &Btf, release: Option<&str>) -> OrcLayout {
    if let Some(id) = btf.find(Kind::Struct, "orc_entry") {
        let has = |m: &str| btf.member(id, m).is_ok();
        return match (has("signal"), has("end")) {
            (true, false) => OrcLayout::V2,
            (true, true) => OrcLayout::V1Signal,
            _ => OrcLayout::V1,
        };
    }
    let v: Vec<u32> = release
        .unwrap_or("")
        .split(|c: char| !c.is_ascii_digit())
        .take(2)
        .filter_map(|p| p.parse().ok())
        .collect();
    match v.as_slice() {
        [maj, min] if (*maj, *min) >= (6, 4) => OrcLayout::V2,
        [6, 3] => OrcLayout::V1Signal,
        _ => OrcLayout::V1,
    }
}

/// Magic and version of [`Layout::to_bytes`].
const LAYOUT_MAGIC: u64 = u64::from_le_bytes(*b"CVLAY1\0\0");

impl Layout {
    /// The offsets as words, for a cache (the same for every dump of one
    /// build: no address in them).
    pub fn to_bytes(&self) -> Vec<u8> {
        let t = &self.task;
        let mut w: Vec<u64> = vec![
            LAYOUT_MAGIC,
            t.tasks,
            t.pid,
            t.tgid,
            t.comm.0,
            t.comm.1,
            t.state.0,
            t.state.1,
            t.exit_state,
            t.real_parent,
            t.stack,
            t.thread_sp,
            t.cpu,
            t.signal,
            t.thread_node,
            self.signal_thread_head,
            self.rq_curr,
            self.rq_idle,
            self.frame_size,
            self.frame_bp,
            self.frame_ret,
            match self.orc {
                OrcLayout::V1 => 1,
                OrcLayout::V1Signal => 2,
                OrcLayout::V2 => 3,
            },
        ];
        let opt = |o: Option<u64>| [u64::from(o.is_some()), o.unwrap_or(0)];
        match &self.module {
            Err(e) => {
                w.push(0);
                let msg = e.0.as_bytes();
                w.push(msg.len() as u64);
                for c in msg.chunks(8) {
                    let mut b = [0u8; 8];
                    b.get_mut(..c.len()).unwrap_or_default().copy_from_slice(c);
                    w.push(u64::from_le_bytes(b));
                }
            }
            Ok(m) => {
                w.push(1);
                w.extend([
                    m.list,
                    m.name.0,
                    m.name.1,
                    m.state,
                    m.taints,
                    m.kallsyms,
                    m.symtab,
                    m.num_symtab,
                    m.strtab,
                ]);
                w.extend(opt(m.typetab));
                w.extend(opt(m.num_orcs));
                w.extend(opt(m.orc_ip));
                w.extend(opt(m.orc));
                match m.mem {
                    ModuleMem::Layouts {
                        core_base,
                        core_size,
                        init_base,
                        init_size,
                    } => w.extend([0, core_base, core_size, init_base, init_size, 0]),
                    ModuleMem::Mem {
                        at,
                        stride,
                        count,
                        base,
                        size,
                    } => w.extend([1, at, stride, u64::from(count), base, size]),
                }
            }
        }
        w.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    /// [`Layout::to_bytes`] read back; `None` if the bytes are not one.
    pub fn from_bytes(b: &[u8]) -> Option<Layout> {
        let mut words = b
            .chunks_exact(8)
            .map(|c| c.try_into().ok().map(u64::from_le_bytes));
        let mut next = || words.next().flatten();
        if next()? != LAYOUT_MAGIC {
            return None;
        }
        let task = TaskLayout {
            tasks: next()?,
            pid: next()?,
            tgid: next()?,
            comm: (next()?, next()?),
            state: (next()?, next()?),
            exit_state: next()?,
            real_parent: next()?,
            stack: next()?,
            thread_sp: next()?,
            cpu: next()?,
            signal: next()?,
            thread_node: next()?,
        };
        let signal_thread_head = next()?;
        let rq_curr = next()?;
        let rq_idle = next()?;
        let frame_size = next()?;
        let frame_bp = next()?;
        let frame_ret = next()?;
        let orc = match next()? {
            1 => OrcLayout::V1,
            2 => OrcLayout::V1Signal,
            3 => OrcLayout::V2,
            _ => return None,
        };
        let module = match next()? {
            0 => {
                let len = usize::try_from(next()?).ok().filter(|&l| l <= 4096)?;
                let mut msg = Vec::with_capacity(len);
                while msg.len() < len {
                    msg.extend_from_slice(&next()?.to_le_bytes());
                }
                msg.truncate(len);
                Err(LayoutError(String::from_utf8(msg).ok()?))
            }
            1 => {
                let (list, name0, name1, state, taints, kallsyms, symtab, num_symtab, strtab) = (
                    next()?,
                    next()?,
                    next()?,
                    next()?,
                    next()?,
                    next()?,
                    next()?,
                    next()?,
                    next()?,
                );
                let mut opt = || -> Option<Option<u64>> {
                    let has = next()?;
                    let v = next()?;
                    Some((has == 1).then_some(v))
                };
                let (typetab, num_orcs, orc_ip, orc_t) = (opt()?, opt()?, opt()?, opt()?);
                let mem = match next()? {
                    0 => {
                        let m = ModuleMem::Layouts {
                            core_base: next()?,
                            core_size: next()?,
                            init_base: next()?,
                            init_size: next()?,
                        };
                        next()?;
                        m
                    }
                    1 => ModuleMem::Mem {
                        at: next()?,
                        stride: next()?,
                        count: u32::try_from(next()?).ok()?,
                        base: next()?,
                        size: next()?,
                    },
                    _ => return None,
                };
                Ok(ModuleLayout {
                    list,
                    name: (name0, name1),
                    state,
                    taints,
                    kallsyms,
                    symtab,
                    num_symtab,
                    strtab,
                    typetab,
                    num_orcs,
                    orc_ip,
                    orc: orc_t,
                    mem,
                })
            }
            _ => return None,
        };
        if next().is_some() {
            return None;
        }
        Some(Layout {
            task,
            signal_thread_head,
            rq_curr,
            rq_idle,
            frame_size,
            frame_bp,
            frame_ret,
            module,
            orc,
        })
    }
}
