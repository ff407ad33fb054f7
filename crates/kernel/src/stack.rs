//! A task's kernel stack: where the unwind starts (the CPU's saved
//! registers for a task that was running, the switch frame for one that
//! was not), ORC from vmlinux and modules, and each frame named from
//! kallsyms or the module's symbols.

use crashview_unwind::{
    self as unwind, End, Fault, OrcEntry, OrcLookup, OrcSource, OrcTable, PtRegs, StackRange, Start,
};

use crashview_vmcore::x86_64::START_KERNEL_MAP;

use crate::anchors::Anchors;
use crate::layout::Layout;
use crate::mem::{at, Mem};
use crate::{Kernel, Note, Task};

/// x86_64 `THREAD_SIZE` without KASAN (`PAGE_SIZE << 2`,
/// arch/x86/include/asm/page_64_types.h).
const THREAD_SIZE: u64 = 16 << 10;
/// `LOOKUP_BLOCK_SIZE` (arch/x86/include/asm/orc_lookup.h, 1 << 8 in 6.1 and 6.12).
const LOOKUP_BLOCK_SIZE: u64 = 256;

/// Where an unwind started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StackSource {
    /// The registers the dump saved for this CPU (`NT_PRSTATUS`).
    CpuRegisters(u32),
    /// The task's switch frame (`thread.sp` → `inactive_task_frame`).
    SwitchFrame,
}

/// One frame, named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The address: a return address for caller frames, the exact
    /// instruction for the first frame and frames reached through pt_regs.
    pub pc: u64,
    /// Stack pointer at this frame.
    pub sp: u64,
    /// `pc` is exact (not a return address).
    pub exact: bool,
    /// The address looked up for the name: `pc`, or `pc - 1` for a return
    /// address (the call instruction).
    pub lookup: u64,
    /// Symbol containing `lookup`.
    pub function: Option<String>,
    /// `pc - symbol`.
    pub offset: u64,
    /// Symbol size.
    pub size: u64,
    /// Module, `None` for vmlinux.
    pub module: Option<String>,
    /// The registers saved at an interrupt or exception boundary.
    pub regs: Option<PtRegs>,
    /// The pt_regs was partial (an iret frame: ip, cs, flags, sp, ss only).
    pub partial_regs: bool,
}

/// A task's unwound stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backtrace {
    /// Where the unwind started.
    pub source: StackSource,
    /// Frames, innermost first.
    pub frames: Vec<Frame>,
    /// How the unwind ended: `None` at the natural end of the stack
    /// (user-mode registers, the end-of-stack entry), else why it stopped.
    pub stopped: Option<String>,
    /// How the unwind had to depart from the tables, if it did.
    pub note: Option<String>,
}

pub(crate) fn vmlinux_orc(
    m: Mem<'_>,
    syms: &Anchors,
    layout: &Layout,
    text: (u64, u64),
    notes: &mut Vec<Note>,
) -> Option<OrcTable> {
    let sym = |n: &str| syms.get(n);
    let (Some(ip), Some(ip_end), Some(entries)) = (
        sym("__start_orc_unwind_ip"),
        sym("__stop_orc_unwind_ip"),
        sym("__start_orc_unwind"),
    ) else {
        notes.push(Note {
            part: "ORC".into(),
            message: "kallsyms has no __start_orc_unwind_ip/__stop_orc_unwind_ip/__start_orc_unwind: no unwinding".into(),
        });
        return None;
    };
    let count = ip_end
        .checked_sub(ip)
        .map(|d| d / 4)
        .and_then(|c| u32::try_from(c).ok());
    let Some(count) = count.filter(|&c| c > 0) else {
        notes.push(Note {
            part: "ORC".into(),
            message: format!("__start_orc_unwind_ip {ip:#x} .. {ip_end:#x} is empty or reversed"),
        });
        return None;
    };
    // orc_lookup[] narrows each search to one 256-byte block of text;
    // lookup_num_blocks is set at boot (unwind_orc.c unwind_init).
    let lookup = (|| {
        let table = sym("orc_lookup")?;
        let num_blocks =
            sym("lookup_num_blocks").and_then(|a| m.u32("lookup_num_blocks", a).ok())?;
        let end = text.1;
        let max_blocks = end.checked_sub(text.0)?.div_ceil(LOOKUP_BLOCK_SIZE);
        (num_blocks > 0 && u64::from(num_blocks) <= max_blocks.saturating_add(1)).then_some(
            OrcLookup {
                table,
                num_blocks,
                start_ip: text.0,
                end_ip: end,
            },
        )
    })();
    Some(OrcTable {
        ip_table: ip,
        entries,
        count,
        lookup,
        layout: layout.orc,
    })
}

/// ORC entries from vmlinux or the module holding the address.
struct Orc<'k, 'm> {
    k: &'k Kernel<'m>,
}

impl Orc<'_, '_> {
    fn table(&self, ip: u64) -> Option<&OrcTable> {
        let k = self.k;
        match k.modules.iter().find(|m| m.contains(ip)) {
            Some(m) => m.orc.as_ref(),
            None => k.vmlinux_orc.as_ref(),
        }
    }
}

impl OrcSource for Orc<'_, '_> {
    fn orc_for(&self, ip: u64) -> Result<Option<OrcEntry>, Fault> {
        match self.table(ip) {
            Some(t) => t.find(&self.k.mem, ip),
            None => Ok(None),
        }
    }
}

/// Words of stack searched for the caller's return address.
const SCAN_WORDS: u64 = 512;

/// kdump saves the crashing CPU's registers in `__crash_kexec`
/// (`crash_setup_regs`), a function objtool is told to skip
/// (`STACK_FRAME_NON_STANDARD(__crash_kexec)`, kernel/kexec_core.c): it
/// has no ORC data at all. Its caller's return address is on the stack
/// above `sp`: the first word that is an address right after a `call`
/// (`e8 rel32`) whose target is the function holding `ip`. Unwinding
/// resumes there. Returns the new start and a note, or `None`.
fn scan_for_caller(
    k: &Kernel<'_>,
    orc: &Orc<'_, '_>,
    ip: u64,
    sp: u64,
    bp: u64,
) -> Option<(Start, String)> {
    let has_orc = orc
        .table(ip)
        .and_then(|t| t.find(&k.mem, ip).ok().flatten())
        .is_some_and(|e| e.kind != unwind::OrcKind::Undefined);
    if has_orc {
        return None;
    }
    let crate::Symbol {
        name, offset: off, ..
    } = k.symbolize(ip)?;
    let func = ip.checked_sub(off)?;
    for i in 0..SCAN_WORDS {
        let slot = sp.checked_add(i.checked_mul(8)?)?;
        let Ok(w) = k.mem.u64("stack", slot) else {
            break;
        };
        if w < START_KERNEL_MAP {
            continue;
        }
        let Some(call_at) = w.checked_sub(5) else {
            continue;
        };
        let mut insn = [0u8; 5];
        if k.mem.bytes("call instruction", call_at, &mut insn).is_err() || insn[0] != 0xe8 {
            continue;
        }
        let rel = i32::from_le_bytes([insn[1], insn[2], insn[3], insn[4]]);
        if w.wrapping_add_signed(i64::from(rel)) != func {
            continue;
        }
        let note = format!(
            "{name} has no ORC data (objtool skips it); its caller's return address is at sp+{:#x}, after a call to {name}",
            i.saturating_mul(8)
        );
        return Some((
            Start {
                ip: w,
                sp: slot.checked_add(8)?,
                bp,
                exact: false,
                regs: None,
            },
            note,
        ));
    }
    None
}

/// Registers from `NT_PRSTATUS` (`user_regs_struct` begins with the 21
/// words of `struct pt_regs`, in the same order).
fn regs_of(p: &crashview_vmcore::PrStatus) -> PtRegs {
    let mut words = [0u64; 21];
    for (w, (_, v)) in words.iter_mut().zip(p.regs.iter()) {
        *w = *v;
    }
    PtRegs { words }
}

fn start_of(k: &Kernel<'_>, task: &Task) -> Result<(StackSource, Start), String> {
    if task.on_cpu {
        if let Some(p) = k
            .cpus
            .iter()
            .find(|c| c.cpu == task.cpu)
            .and_then(|c| c.regs.as_ref())
        {
            let regs = regs_of(p);
            return Ok((
                StackSource::CpuRegisters(task.cpu),
                Start {
                    ip: regs.ip(),
                    sp: regs.sp(),
                    bp: regs.bp(),
                    exact: true,
                    regs: Some(regs),
                },
            ));
        }
    }
    // A task off CPU: __switch_to_asm pushed an inactive_task_frame and
    // saved its address in thread.sp (arch/x86/include/asm/switch_to.h).
    let l = &k.layout;
    let sp = at(task.addr, l.task.thread_sp, "thread.sp")
        .and_then(|a| k.mem.u64("task_struct.thread.sp", a))
        .map_err(|e| e.to_string())?;
    let bp = at(sp, l.frame_bp, "inactive_task_frame.bp")
        .and_then(|a| k.mem.u64("inactive_task_frame.bp", a))
        .map_err(|e| e.to_string())?;
    let ret = at(sp, l.frame_ret, "inactive_task_frame.ret_addr")
        .and_then(|a| k.mem.u64("inactive_task_frame.ret_addr", a))
        .map_err(|e| e.to_string())?;
    let after = sp
        .checked_add(l.frame_size)
        .ok_or_else(|| format!("thread.sp {sp:#x} is past 2^64"))?;
    Ok((
        StackSource::SwitchFrame,
        Start {
            ip: ret,
            sp: after,
            bp,
            exact: false,
            regs: None,
        },
    ))
}

pub(crate) fn backtrace(k: &Kernel<'_>, task: &Task) -> Backtrace {
    let (source, start) = match start_of(k, task) {
        Ok(s) => s,
        Err(e) => {
            let source = if task.on_cpu {
                StackSource::CpuRegisters(task.cpu)
            } else {
                StackSource::SwitchFrame
            };
            return Backtrace {
                source,
                frames: Vec::new(),
                stopped: Some(e),
                note: None,
            };
        }
    };
    let mut stacks = Vec::new();
    if let Ok(base) = at(task.addr, k.layout.task.stack, "task_struct.stack")
        .and_then(|a| k.mem.u64("task_struct.stack", a))
    {
        if let Some(end) = base.checked_add(THREAD_SIZE).filter(|_| base != 0) {
            stacks.push(StackRange {
                start: base,
                end,
                name: "task",
            });
        }
    }
    let orc = Orc { k };
    let mut fallback_note = None;
    let mut first = None;
    let mut start = start;
    if start.exact {
        if let Some((resume, note)) = scan_for_caller(k, &orc, start.ip, start.sp, start.bp) {
            first = Some(unwind::Frame {
                pc: start.ip,
                sp: start.sp,
                exact: true,
                regs: start.regs,
                regs_partial: false,
                kind: unwind::FrameKind::Start,
                stack: None,
            });
            fallback_note = Some(note);
            start = resume;
        }
    }
    let mut stack = unwind::unwind(&k.mem, &orc, start, &stacks, unwind::Limits::default());
    if let Some(f) = first {
        stack.frames.insert(0, f);
    }
    let frames = stack
        .frames
        .iter()
        .map(|f| {
            let lookup = if f.exact {
                f.pc
            } else {
                f.pc.saturating_sub(1)
            };
            let named = k.symbolize(lookup);
            let (function, offset, size, module) = match named {
                Some(s) => (Some(s.name), s.offset, s.size, s.module),
                None => (None, 0, 0, None),
            };
            // The offset printed is from pc, as the kernel prints it.
            let offset = if f.exact {
                offset
            } else {
                offset.saturating_add(1)
            };
            Frame {
                pc: f.pc,
                sp: f.sp,
                exact: f.exact,
                lookup,
                function,
                offset,
                size,
                module,
                // The start registers are the CPU's (shown by `info`);
                // frames reached through pt_regs carry theirs.
                regs: f.regs.filter(|_| f.kind == unwind::FrameKind::Interrupt),
                partial_regs: f.regs_partial,
            }
        })
        .collect();
    let stopped = match stack.end {
        End::UserMode | End::EndOfStack => None,
        End::Stopped(why) => Some(why),
    };
    Backtrace {
        source,
        frames,
        stopped,
        note: fallback_note,
    }
}
