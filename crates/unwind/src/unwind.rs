//! The unwinder: `unwind_next_frame()` of `arch/x86/kernel/unwind_orc.c`
//! over a memory image.
//!
//! One step, as in 6.1 and 6.12 (differences noted where they are):
//!
//! 1. A pt_regs from user mode ends the stack (`user_mode(state->regs)`).
//! 2. The entry is looked up at `ip` when the ip is exact (`state->signal`)
//!    and at `ip - 1` for a return address; ip 0 gets `null_orc_entry`.
//! 3. Undefined stops with an error, EndOfStack ends (6.1: sp_reg UNDEFINED
//!    and the `end` bit; 6.12: `ORC_TYPE_UNDEFINED` / `ORC_TYPE_END_OF_STACK`).
//!    6.12 then sets `state->signal = orc->signal`; 6.1 sets it per type
//!    (false for CALL, true for REGS and REGS_PARTIAL), which
//!    [`OrcEntry::decode`](crate::OrcEntry::decode) folds into `signal`.
//! 4. The previous frame's sp from sp_reg: `SP` / `BP` plus the offset,
//!    `SP_INDIRECT` reads the word at sp and adds the offset, `BP_INDIRECT`
//!    reads the word at bp + offset, `R10` / `R13` / `DI` / `DX` come from
//!    the last full pt_regs (`get_reg()`: the current regs if full, else
//!    the full regs seen before a partial frame).
//! 5. By type: CALL reads the return address at sp - 8 and forgets the
//!    regs; REGS reads a full pt_regs at sp; REGS_PARTIAL reads an iret
//!    frame at sp (the regs start `IRET_FRAME_OFFSET` below).
//! 6. bp: UNDEFINED keeps it, or restores it from the full regs; PREV_SP
//!    reads it at sp + bp_offset, BP at bp + bp_offset.
//! 7. On the same stack the new sp must be above the old one.
//!
//! Not done (they need the task, not just memory): ftrace graph and
//! kretprobe/rethook return-address recovery, and the frame-pointer guess
//! the kernel makes for code without ORC data (BPF): here that stops the
//! walk with "no ORC entry".

use std::collections::HashSet;
use std::fmt;

use crate::memory::{read_array, read_u64, Fault, Memory};
use crate::orc::{reg, OrcEntry, OrcKind};
use crate::regs::{PtRegs, IRET_FRAME_OFFSET, IRET_FRAME_SIZE, PT_REGS_SIZE};

/// Finds the ORC entry for an ip: vmlinux's table, a module's, whatever the
/// caller knows ([`OrcTables`] is one such source).
pub trait OrcSource {
    /// The entry covering `ip` (already adjusted: the unwinder passes
    /// `ip - 1` for return addresses), `Ok(None)` if no table covers it.
    fn orc_for(&self, ip: u64) -> Result<Option<OrcEntry>, Fault>;
}

/// A ready [`OrcSource`]: tables, each for the text range it covers.
pub struct OrcTables<'m> {
    mem: &'m dyn Memory,
    regions: Vec<OrcRegion>,
}

/// One table and the `[start, end)` text it covers (vmlinux's `_stext` to
/// `_einittext`, or a module's core and init text).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrcRegion {
    /// First ip covered.
    pub start: u64,
    /// One past the last ip covered.
    pub end: u64,
    /// The table.
    pub table: crate::OrcTable,
}

impl<'m> OrcTables<'m> {
    /// No tables yet.
    pub fn new(mem: &'m dyn Memory) -> Self {
        OrcTables {
            mem,
            regions: Vec::new(),
        }
    }

    /// Adds a table for `[start, end)`; the first region holding an ip wins.
    pub fn add(&mut self, start: u64, end: u64, table: crate::OrcTable) {
        self.regions.push(OrcRegion { start, end, table });
    }
}

impl OrcSource for OrcTables<'_> {
    fn orc_for(&self, ip: u64) -> Result<Option<OrcEntry>, Fault> {
        match self.regions.iter().find(|r| r.start <= ip && ip < r.end) {
            Some(r) => r.table.find(self.mem, ip),
            None => Ok(None),
        }
    }
}

/// Where the walk starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Start {
    /// The instruction pointer.
    pub ip: u64,
    /// The stack pointer.
    pub sp: u64,
    /// The frame pointer register (rbp), whatever it holds.
    pub bp: u64,
    /// `ip` is the exact instruction (from NT_PRSTATUS or a pt_regs); false
    /// for a return address, looked up at `ip - 1` as the kernel and drgn
    /// do (a call's return address may already be in the next function).
    pub exact: bool,
    /// The full registers at the start, if known (NT_PRSTATUS): they give
    /// R10/R13/DI/DX-based frames and bp their values, as the kernel's
    /// `__unwind_start` with regs does. Registers from user mode end the
    /// walk at once ([`End::UserMode`], the start frame alone).
    pub regs: Option<PtRegs>,
}

/// One stack's address range `[start, end)` (a task stack, an IRQ stack, an
/// exception stack, the entry stack).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StackRange {
    /// Lowest address.
    pub start: u64,
    /// One past the highest address.
    pub end: u64,
    /// A name for reports ("task", "IRQ", "NMI" ...).
    pub name: &'static str,
}

impl StackRange {
    /// The kernel's `on_stack()`: all of `[addr, addr + len)` is inside.
    fn holds(&self, addr: u64, len: u64) -> bool {
        addr >= self.start && addr.checked_add(len).is_some_and(|e| e <= self.end)
    }
}

/// Bounds on one walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most frames returned, the start frame included; taken as at least 1
    /// and at most [`MAX_FRAMES`](crate::MAX_FRAMES).
    pub max_frames: usize,
}

/// The hard cap on [`Limits::max_frames`]: a kernel stack of 16 KiB holds
/// at most 2048 return addresses, and a chain of stacks a few of those.
pub const MAX_FRAMES: usize = 1 << 16;

impl Default for Limits {
    fn default() -> Self {
        Limits { max_frames: 128 }
    }
}

/// How a frame was reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FrameKind {
    /// The starting state.
    Start,
    /// A return address (an ORC CALL frame).
    Call,
    /// Through a pt_regs or iret frame (an interrupt, exception or syscall
    /// entry, ORC REGS / REGS_PARTIAL).
    Interrupt,
}

/// One frame of the stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The frame's instruction pointer.
    pub pc: u64,
    /// The stack pointer in that frame.
    pub sp: u64,
    /// `pc` is the exact instruction (start, or after a signal frame), not
    /// a return address (symbolize those at `pc - 1`).
    pub exact: bool,
    /// The pt_regs this frame was reached through ([`FrameKind::Interrupt`]),
    /// or the start registers ([`FrameKind::Start`]).
    pub regs: Option<PtRegs>,
    /// `regs` came from an iret frame (REGS_PARTIAL): only ip, cs, flags,
    /// sp and ss are real, the other words are zero.
    pub regs_partial: bool,
    /// How the frame was reached.
    pub kind: FrameKind,
    /// The name of the [`StackRange`] holding `sp`, if ranges were given.
    pub stack: Option<&'static str>,
}

/// Why the walk ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum End {
    /// The last frame's pt_regs are from user mode (`cs & 3`): the kernel
    /// stack is complete.
    UserMode,
    /// The ORC data marks the end of the stack (V2 END_OF_STACK, V1 sp_reg
    /// UNDEFINED with the end bit).
    EndOfStack,
    /// The walk could not go on; the text names the address and what failed.
    Stopped(String),
}

impl fmt::Display for End {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            End::UserMode => f.write_str("reached user mode"),
            End::EndOfStack => f.write_str("end of stack"),
            End::Stopped(why) => write!(f, "stopped: {why}"),
        }
    }
}

/// A walked stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stack {
    /// The frames, innermost (the start) first; never empty.
    pub frames: Vec<Frame>,
    /// Why the walk ended.
    pub end: End,
}

/// The unwinder's registers between steps (`struct unwind_state`).
struct State {
    ip: u64,
    sp: u64,
    bp: u64,
    /// `state->signal`: look `ip` up as is.
    signal: bool,
    /// `state->regs`, and whether they are full (`state->full_regs`).
    regs: Option<PtRegs>,
    full_regs: bool,
    /// `state->prev_regs`: full regs seen just before a partial frame.
    prev_regs: Option<PtRegs>,
}

impl State {
    /// `get_reg()`: a word of the current full regs, else of the full regs
    /// before the current partial ones.
    fn reg(&self, index: usize) -> Option<u64> {
        let regs = match (&self.regs, self.full_regs) {
            (Some(r), true) => r,
            (Some(_), false) => self.prev_regs.as_ref()?,
            (None, _) => return None,
        };
        regs.words.get(index).copied()
    }
}

/// Walks the stack from `start`.
///
/// `stacks`, when given, are the stacks the walk may be on; as the kernel
/// does with `stack_info`, a step that stays on one stack must move sp up
/// and a step that enters a stack already left is a loop. Without them (or
/// for an sp outside all of them) a CALL step through `SP` or `BP` must
/// move sp up, and a frame repeating an earlier (pc, sp) is a loop; steps
/// through an indirect sp or pt_regs may switch stacks either way.
///
/// Never panics; each step does a bounded number of reads; at most
/// `limits.max_frames` frames.
pub fn unwind(
    mem: &dyn Memory,
    orc: &dyn OrcSource,
    start: Start,
    stacks: &[StackRange],
    limits: Limits,
) -> Stack {
    let max_frames = limits.max_frames.clamp(1, MAX_FRAMES);
    let stack_of = |sp: u64| stacks.iter().position(|s| s.holds(sp, 8));
    let name_of = |i: Option<usize>| i.and_then(|i| stacks.get(i)).map(|s| s.name);

    let mut visited = vec![false; stacks.len()];
    let mut cur_stack = stack_of(start.sp);
    if let Some(v) = cur_stack.and_then(|i| visited.get_mut(i)) {
        *v = true;
    }
    let mut seen: HashSet<(u64, u64)> = HashSet::new();
    seen.insert((start.ip, start.sp));

    let mut frames = vec![Frame {
        pc: start.ip,
        sp: start.sp,
        exact: start.exact,
        regs: start.regs,
        regs_partial: false,
        kind: FrameKind::Start,
        stack: name_of(cur_stack),
    }];
    let mut state = State {
        ip: start.ip,
        sp: start.sp,
        bp: start.bp,
        signal: start.exact,
        regs: start.regs,
        full_regs: start.regs.is_some(),
        prev_regs: None,
    };

    let end = loop {
        let step = match step(mem, orc, &mut state) {
            Ok(Some(step)) => step,
            Ok(None) => break End::EndOfStack,
            Err(StepEnd::UserMode) => break End::UserMode,
            Err(StepEnd::Stopped(why)) => break End::Stopped(why),
        };

        // Prevent a loop: the kernel's "stack going in the wrong direction"
        // on one stack, and get_stack_info()'s visit mask across stacks.
        let new_stack = stack_of(state.sp);
        let prev_sp = step.prev_sp;
        match (cur_stack, new_stack) {
            (Some(a), Some(b)) if a == b => {
                if state.sp <= prev_sp {
                    break stopped_wrong_way(&step, state.sp, name_of(Some(a)));
                }
            }
            (_, Some(b)) if visited.get(b).copied().unwrap_or(false) => {
                break End::Stopped(format!(
                    "loop: sp 0x{:x} re-enters the {} stack, already left (from ip 0x{:x})",
                    state.sp,
                    name_of(Some(b)).unwrap_or("?"),
                    step.orig_ip
                ));
            }
            (_, Some(b)) => {
                if let Some(v) = visited.get_mut(b) {
                    *v = true;
                }
            }
            (_, None) => {
                if step.plain && state.sp <= prev_sp {
                    break stopped_wrong_way(&step, state.sp, None);
                }
            }
        }
        cur_stack = new_stack;
        if !seen.insert((state.ip, state.sp)) {
            break End::Stopped(format!(
                "loop: frame pc 0x{:x} sp 0x{:x} repeats (from ip 0x{:x})",
                state.ip, state.sp, step.orig_ip
            ));
        }

        if frames.len() >= max_frames {
            break End::Stopped(format!(
                "frame limit {max_frames} reached: next frame pc 0x{:x} sp 0x{:x} not returned",
                state.ip, state.sp
            ));
        }
        frames.push(Frame {
            pc: state.ip,
            sp: state.sp,
            exact: state.signal,
            regs: if step.kind == FrameKind::Interrupt {
                state.regs
            } else {
                None
            },
            regs_partial: step.kind == FrameKind::Interrupt && !state.full_regs,
            kind: step.kind,
            stack: name_of(new_stack),
        });
    };
    Stack { frames, end }
}

fn stopped_wrong_way(step: &Step, sp: u64, stack: Option<&str>) -> End {
    let on = stack
        .map(|s| format!(" on the {s} stack"))
        .unwrap_or_default();
    End::Stopped(format!(
        "stack goes the wrong way at ip 0x{:x}: sp 0x{:x} -> 0x{:x}{on}",
        step.orig_ip, step.prev_sp, sp
    ))
}

/// What one successful step did.
struct Step {
    /// The ip the step started from.
    orig_ip: u64,
    /// The sp the step started from.
    prev_sp: u64,
    kind: FrameKind,
    /// sp came from SP or BP plus an offset in a CALL frame: it cannot
    /// switch stacks, so it must go up.
    plain: bool,
}

/// Why a step did not produce a frame (other than EndOfStack).
enum StepEnd {
    UserMode,
    Stopped(String),
}

fn stop(why: String) -> StepEnd {
    StepEnd::Stopped(why)
}

/// Reads a stack word, naming what it is for on failure.
fn deref(mem: &dyn Memory, addr: u64, what: &str, ip: u64) -> Result<u64, StepEnd> {
    read_u64(mem, addr).map_err(|f| stop(format!("{f} (8 bytes: {what}, ip 0x{ip:x})")))
}

fn add(base: u64, off: i16, what: &str, ip: u64) -> Result<u64, StepEnd> {
    base.checked_add_signed(i64::from(off))
        .ok_or_else(|| stop(format!("{what} 0x{base:x}{off:+} overflows (ip 0x{ip:x})")))
}

/// `unwind_next_frame()`: `Ok(None)` at the end of the stack.
fn step(mem: &dyn Memory, orc: &dyn OrcSource, state: &mut State) -> Result<Option<Step>, StepEnd> {
    let orig_ip = state.ip;
    let prev_sp = state.sp;

    // End-of-stack check for user tasks.
    if state.regs.is_some_and(|r| r.is_user_mode()) {
        return Err(StepEnd::UserMode);
    }

    let lookup = if state.signal {
        state.ip
    } else {
        state
            .ip
            .checked_sub(1)
            .ok_or_else(|| stop("no ORC entry for return address 0x0".to_string()))?
    };
    let entry = if lookup == 0 {
        OrcEntry::NULL_IP
    } else {
        match orc.orc_for(lookup) {
            Ok(Some(e)) => e,
            Ok(None) => return Err(stop(format!("no ORC entry for 0x{lookup:x}"))),
            Err(f) => return Err(stop(format!("{f} (ORC data for ip 0x{lookup:x})"))),
        }
    };

    match entry.kind {
        OrcKind::Undefined => {
            return Err(stop(format!(
                "ORC entry for 0x{lookup:x} is undefined (no unwind data there)"
            )))
        }
        OrcKind::EndOfStack => return Ok(None),
        OrcKind::Call | OrcKind::Regs | OrcKind::RegsPartial => {}
    }

    // Find the previous frame's stack.
    let regs_sp = |name: &str, index: usize| {
        state.reg(index).ok_or_else(|| {
            stop(format!(
                "sp_reg {name} at ip 0x{orig_ip:x} needs a full pt_regs, none seen"
            ))
        })
    };
    let mut plain = false;
    let sp = match entry.sp_reg {
        reg::SP => {
            plain = true;
            add(state.sp, entry.sp_offset, "sp", orig_ip)?
        }
        reg::BP => {
            plain = true;
            add(state.bp, entry.sp_offset, "bp", orig_ip)?
        }
        reg::SP_INDIRECT => {
            let v = deref(mem, state.sp, "indirect sp", orig_ip)?;
            add(v, entry.sp_offset, "indirect sp", orig_ip)?
        }
        reg::BP_INDIRECT => {
            let at = add(state.bp, entry.sp_offset, "bp", orig_ip)?;
            deref(mem, at, "indirect bp", orig_ip)?
        }
        reg::R10 => regs_sp("R10", PtRegs::R10)?,
        reg::R13 => regs_sp("R13", PtRegs::R13)?,
        reg::DI => regs_sp("DI", PtRegs::DI)?,
        reg::DX => regs_sp("DX", PtRegs::DX)?,
        other => {
            return Err(stop(format!(
                "bad sp_reg {other} ({}) in the ORC entry for 0x{lookup:x}",
                reg::name(other)
            )))
        }
    };

    // Find ip, sp and possibly regs.
    let kind = match entry.kind {
        OrcKind::Call => {
            let ip_p = sp
                .checked_sub(8)
                .ok_or_else(|| stop(format!("sp 0x{sp:x} has no return address slot")))?;
            state.ip = deref(mem, ip_p, "return address", orig_ip)?;
            state.sp = sp;
            state.regs = None;
            state.prev_regs = None;
            FrameKind::Call
        }
        OrcKind::Regs => {
            let raw = read_array::<{ PT_REGS_SIZE as usize }>(mem, sp).map_err(|f| {
                stop(format!(
                    "{f} ({PT_REGS_SIZE} bytes: pt_regs at 0x{sp:x}, ip 0x{orig_ip:x})"
                ))
            })?;
            let regs = PtRegs::from_bytes(&raw);
            state.ip = regs.ip();
            state.sp = regs.sp();
            state.regs = Some(regs);
            state.prev_regs = None;
            state.full_regs = true;
            FrameKind::Interrupt
        }
        OrcKind::RegsPartial => {
            let raw = read_array::<{ IRET_FRAME_SIZE as usize }>(mem, sp).map_err(|f| {
                stop(format!(
                    "{f} ({IRET_FRAME_SIZE} bytes: iret frame at 0x{sp:x}, ip 0x{orig_ip:x})"
                ))
            })?;
            let mut words = [0u64; 5];
            for (w, chunk) in words.iter_mut().zip(raw.chunks_exact(8)) {
                let mut b = [0u8; 8];
                b.copy_from_slice(chunk);
                *w = u64::from_le_bytes(b);
            }
            let regs = PtRegs::from_iret(words);
            // The regs start IRET_FRAME_OFFSET below: sp must leave room.
            if sp.checked_sub(IRET_FRAME_OFFSET).is_none() {
                return Err(stop(format!(
                    "iret frame at 0x{sp:x} has no pt_regs below it"
                )));
            }
            state.ip = regs.ip();
            state.sp = regs.sp();
            if state.full_regs {
                state.prev_regs = state.regs;
            }
            state.regs = Some(regs);
            state.full_regs = false;
            FrameKind::Interrupt
        }
        OrcKind::Undefined | OrcKind::EndOfStack => return Ok(None),
    };

    // Find bp.
    match entry.bp_reg {
        reg::UNDEFINED => {
            if let Some(bp) = state.reg(PtRegs::BP) {
                state.bp = bp;
            }
        }
        reg::PREV_SP => {
            let at = add(sp, entry.bp_offset, "prev sp", orig_ip)?;
            state.bp = deref(mem, at, "saved bp", orig_ip)?;
        }
        reg::BP => {
            let at = add(state.bp, entry.bp_offset, "bp", orig_ip)?;
            state.bp = deref(mem, at, "saved bp", orig_ip)?;
        }
        other => {
            return Err(stop(format!(
                "bad bp_reg {other} ({}) in the ORC entry for 0x{lookup:x}",
                reg::name(other)
            )))
        }
    }

    state.signal = entry.signal;
    Ok(Some(Step {
        orig_ip,
        prev_sp,
        kind,
        plain: plain && kind == FrameKind::Call,
    }))
}
