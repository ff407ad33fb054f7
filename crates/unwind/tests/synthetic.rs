//! The unwinder on synthetic memory images that mimic real kernel stacks:
//! ORC tables laid out as the kernel keeps them (relative ip ints, 6-byte
//! entries, optionally the boot-time lookup blocks), in both entry layouts,
//! and stacks written word by word the way the code described by those
//! entries would have left them.

mod common;

use common::{build_lookup, write_table, SparseMem};
use crashview_unwind::orc::reg;
use crashview_unwind::*;

const TEXT: u64 = 0xffff_ffff_8100_0000;
const TEXT_END: u64 = TEXT + 0x20_000;
const TABLES: u64 = 0xffff_ffff_8280_0000;
const LOOKUP: u64 = 0xffff_ffff_8300_0000;

const TASK: StackRange = StackRange {
    start: 0xffff_c900_0001_0000,
    end: 0xffff_c900_0001_4000,
    name: "task",
};
const IRQ: StackRange = StackRange {
    start: 0xffff_8880_7fa0_0000,
    end: 0xffff_8880_7fa0_4000,
    name: "IRQ",
};
const NMI: StackRange = StackRange {
    start: 0xffff_fe00_0001_0000,
    end: 0xffff_fe00_0001_1000,
    name: "NMI",
};

/// Function n's first instruction.
const fn f(n: u64) -> u64 {
    TEXT + n * 0x1000
}

fn e(kind: OrcKind, sp_reg: u8, sp_offset: i16, bp_reg: u8, bp_offset: i16) -> OrcEntry {
    let signal = matches!(kind, OrcKind::Regs | OrcKind::RegsPartial);
    OrcEntry {
        sp_offset,
        bp_offset,
        sp_reg,
        bp_reg,
        kind,
        signal,
    }
}
fn call(sp: i16) -> OrcEntry {
    e(OrcKind::Call, reg::SP, sp, reg::UNDEFINED, 0)
}
fn call_bp(sp: i16, bp: i16) -> OrcEntry {
    e(OrcKind::Call, reg::SP, sp, reg::PREV_SP, bp)
}
fn end() -> OrcEntry {
    e(OrcKind::EndOfStack, reg::UNDEFINED, 0, reg::UNDEFINED, 0)
}
fn undefined() -> OrcEntry {
    e(OrcKind::Undefined, reg::UNDEFINED, 0, reg::UNDEFINED, 0)
}
fn regs_at(sp: i16) -> OrcEntry {
    e(OrcKind::Regs, reg::SP, sp, reg::UNDEFINED, 0)
}
fn iret_at(sp: i16) -> OrcEntry {
    e(OrcKind::RegsPartial, reg::SP, sp, reg::UNDEFINED, 0)
}

/// The kernel text of all scenarios: what objtool would emit for each
/// function, sorted by ip, with a terminator after the last one.
fn text() -> Vec<(u64, OrcEntry)> {
    let mut v = vec![
        // f0 ret_from_fork: UNWIND_HINT_END_OF_STACK (6.1: UNWIND_HINT_EMPTY).
        (f(0), end()),
        // f1 kthread: push %rbp at +0, frame grows at +0x20 (still bp at cfa-16).
        (f(1), call(8)),
        (f(1) + 1, call_bp(16, -16)),
        (f(1) + 0x20, call_bp(16, -16)),
        // f2 worker_thread.
        (f(2), call(8)),
        (f(2) + 1, call_bp(16, -16)),
        (f(2) + 4, call_bp(40, -16)),
        // f3 the crashing function: two pushes.
        (f(3), call(8)),
        (f(3) + 2, call(16)),
        (f(3) + 4, call(24)),
        // f4 handle_irq_event, runs on the IRQ stack.
        (f(4), call(8)),
        (f(4) + 1, call_bp(16, -16)),
        // f5 sysvec_apic_timer_interrupt: call_on_irqstack() stores rsp at
        // the IRQ stack's top and calls on it: objtool's SP_INDIRECT.
        (f(5), call(8)),
        (f(5) + 1, call_bp(16, -16)),
        (
            f(5) + 0x10,
            e(OrcKind::Call, reg::SP_INDIRECT, 16, reg::PREV_SP, -16),
        ),
        (f(5) + 0x20, call_bp(16, -16)),
        // f6 asm_sysvec_apic_timer_interrupt: iret frame at entry, then
        // pt_regs at sp around `call sysvec_*`.
        (f(6), iret_at(0)),
        (f(6) + 8, regs_at(0)),
        // f7 interrupted task code; at +0x40 it uses a frame pointer.
        (f(7), call(8)),
        (f(7) + 1, call_bp(16, -16)),
        (
            f(7) + 0x40,
            e(OrcKind::Call, reg::BP, 16, reg::PREV_SP, -16),
        ),
        // f8 default_do_nmi.
        (f(8), call(8)),
        (f(8) + 4, call(16)),
        // f9 asm_exc_nmi: pt_regs at sp around `call exc_nmi`.
        (f(9), iret_at(0)),
        (f(9) + 0x40, regs_at(0)),
        // f10 asm_common_interrupt: the vector is pushed before the iret frame.
        (f(10), iret_at(8)),
        (f(10) + 0x40, regs_at(0)),
        // f11 do_sys_openat2, f12 do_syscall_64, f13 entry_SYSCALL_64.
        (f(11), call(8)),
        (f(11) + 4, call(32)),
        (f(12), call(8)),
        (f(12) + 4, call(24)),
        (f(13), undefined()),
        (f(13) + 0x50, regs_at(0)),
        // f14 bogus data: a CALL frame that does not move sp.
        (f(14), call(0)),
        // f15 a recursive function.
        (f(15), call(16)),
        // f16 entry code addressing the previous frame through r10.
        (f(16), e(OrcKind::Call, reg::R10, 0, reg::UNDEFINED, 0)),
        // f17 corrupt entries.
        (f(17), e(OrcKind::Call, 12, 8, reg::UNDEFINED, 0)),
        (f(17) + 0x10, e(OrcKind::Call, reg::SP, 8, 11, 0)),
        (f(17) + 0x20, undefined()),
    ];
    // objtool's section terminator.
    v.push((f(18), undefined()));
    v
}

struct World {
    mem: SparseMem,
}

impl World {
    fn new() -> Self {
        let mut mem = SparseMem::default();
        for s in [TASK, IRQ, NMI] {
            mem.map(s.start, s.end);
        }
        World { mem }
    }
    fn put(&mut self, addr: u64, v: u64) {
        self.mem.write_u64(addr, v);
    }
    fn put_regs(&mut self, addr: u64, r: &PtRegs) {
        self.mem.write(addr, &r.to_bytes());
    }
    /// Lays the text's ORC table out and returns a source over it.
    fn table(&mut self, layout: OrcLayout, lookup: bool) -> OrcTable {
        let mut t = write_table(&mut self.mem, TABLES, &text(), layout);
        if lookup {
            t.lookup = Some(build_lookup(&mut self.mem, &t, LOOKUP, TEXT, TEXT_END));
        }
        t
    }
}

/// Runs `start` over `world` in every layout, with and without the lookup
/// table and with and without the stack ranges, checks that all agree, and
/// returns the stack.
fn walk(mut world: World, start: Start, stacks: &[StackRange], limits: Limits) -> Stack {
    let mut results = Vec::new();
    for layout in [OrcLayout::V1, OrcLayout::V1Signal, OrcLayout::V2] {
        for lookup in [false, true] {
            let table = world.table(layout, lookup);
            let mut src = OrcTables::new(&world.mem);
            src.add(TEXT, TEXT_END, table);
            for ranges in [stacks, &[][..]] {
                let s = unwind(&world.mem, &src, start.clone(), ranges, limits);
                results.push((layout, lookup, ranges.len(), s));
            }
        }
    }
    let (_, _, _, first) = &results[0];
    for (layout, lookup, n, s) in &results {
        let strip = |s: &Stack| {
            s.frames
                .iter()
                .map(|f| (f.pc, f.sp, f.kind, f.exact))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            strip(s),
            strip(first),
            "{layout:?} lookup {lookup} ranges {n}"
        );
        assert_eq!(
            std::mem::discriminant(&s.end),
            std::mem::discriminant(&first.end),
            "{layout:?} lookup {lookup} ranges {n}: {} vs {}",
            s.end,
            first.end
        );
    }
    results.swap_remove(0).3
}

fn pcs(s: &Stack) -> Vec<(u64, u64)> {
    s.frames.iter().map(|f| (f.pc, f.sp)).collect()
}

fn stopped(s: &Stack) -> &str {
    match &s.end {
        End::Stopped(why) => why,
        other => panic!("expected Stopped, got {other:?}"),
    }
}

#[test]
fn call_chain_to_end_of_stack() {
    let mut w = World::new();
    let s = TASK.start + 0x3e00;
    w.put(s + 16, f(2) + 0x45);
    w.put(s + 48, 0xb1); // worker_thread's saved bp (prev sp - 16)
    w.put(s + 56, f(1) + 0x25);
    w.put(s + 64, 0xb2);
    w.put(s + 72, f(0) + 0x10);
    let start = Start {
        ip: f(3) + 0x30,
        sp: s,
        bp: 0x1111,
        exact: true,
        regs: None,
    };
    let st = walk(w, start, &[TASK], Limits::default());
    assert_eq!(
        pcs(&st),
        vec![
            (f(3) + 0x30, s),
            (f(2) + 0x45, s + 24),
            (f(1) + 0x25, s + 64),
            (f(0) + 0x10, s + 80)
        ]
    );
    assert_eq!(st.end, End::EndOfStack);
    assert_eq!(st.frames[0].kind, FrameKind::Start);
    assert!(st.frames[1..]
        .iter()
        .all(|f| f.kind == FrameKind::Call && !f.exact && f.regs.is_none()));
    assert!(st.frames.iter().all(|f| f.stack == Some("task")));
}

/// An interrupt on the IRQ stack: handle_irq_event (crashed) <- the
/// call_on_irqstack() in sysvec_apic_timer_interrupt (SP_INDIRECT back to
/// the task stack) <- asm_sysvec_apic_timer_interrupt's pt_regs <- the
/// interrupted task code <- kthread <- ret_from_fork.
#[test]
fn irq_stack_switch_through_sp_indirect_and_pt_regs() {
    let mut w = World::new();
    let tos = IRQ.end - 8; // hardirq_stack_ptr: the old rsp is stored here
    let r = TASK.start + 0x3000; // sysvec's frame: saved rbp, return address
    let p = r + 16; // pt_regs pushed by the entry code
    let q = TASK.start + 0x3200; // the interrupted rsp
    w.put(tos, r);
    w.put(tos - 8, f(5) + 0x15);
    w.put(tos - 16, 0xdead); // handle_irq_event's saved bp
    w.put(r, 0xbeef);
    w.put(r + 8, f(6) + 0x20);
    let mut regs = PtRegs::default();
    regs.words[PtRegs::IP] = f(7) + 0x33;
    regs.words[PtRegs::CS] = 0x10;
    regs.words[PtRegs::FLAGS] = 0x246;
    regs.words[PtRegs::SP] = q;
    regs.words[PtRegs::SS] = 0x18;
    regs.words[PtRegs::BP] = 0xb7;
    w.put_regs(p, &regs);
    w.put(q, 0xb8);
    w.put(q + 8, f(1) + 0x25);
    w.put(q + 16, 0xb9);
    w.put(q + 24, f(0) + 0x10);
    let start = Start {
        ip: f(4) + 0x50,
        sp: tos - 16,
        bp: tos - 16,
        exact: true,
        regs: None,
    };
    let st = walk(w, start, &[TASK, IRQ], Limits::default());
    assert_eq!(
        pcs(&st),
        vec![
            (f(4) + 0x50, tos - 16),
            (f(5) + 0x15, tos),
            (f(6) + 0x20, p),
            (f(7) + 0x33, q),
            (f(1) + 0x25, q + 16),
            (f(0) + 0x10, q + 32),
        ]
    );
    assert_eq!(st.end, End::EndOfStack);
    let stacks: Vec<_> = st.frames.iter().map(|f| f.stack).collect();
    assert_eq!(
        stacks,
        [
            Some("IRQ"),
            Some("IRQ"),
            Some("task"),
            Some("task"),
            Some("task"),
            Some("task")
        ]
    );
    let irq = &st.frames[3];
    assert_eq!(
        (irq.kind, irq.exact, irq.regs_partial),
        (FrameKind::Interrupt, true, false)
    );
    assert_eq!(irq.regs, Some(regs));
    assert!(
        !st.frames[4].exact,
        "after a CALL frame the ip is a return address again"
    );
}

/// An NMI hits the first instruction of asm_common_interrupt: the NMI's
/// full pt_regs on the NMI stack, then the interrupt's iret frame (partial:
/// bp comes from the NMI's regs, `prev_regs` in the kernel), then task code
/// that needs that bp.
#[test]
fn nmi_over_entry_code_reg_partial_uses_previous_full_regs() {
    let mut w = World::new();
    let n0 = NMI.start + 0x800;
    let p1 = n0 + 16;
    let t2 = TASK.start + 0x2000; // rsp at the interrupt's entry: vector, then iret frame
    let b = TASK.start + 0x2400; // the task's frame pointer
    w.put(n0 + 8, f(9) + 0x41);
    let mut nmi = PtRegs::default();
    nmi.words[PtRegs::IP] = f(10) + 2;
    nmi.words[PtRegs::CS] = 0x10;
    nmi.words[PtRegs::SP] = t2;
    nmi.words[PtRegs::BP] = b;
    w.put_regs(p1, &nmi);
    let t3 = TASK.start + 0x2300;
    for (i, v) in [f(7) + 0x40, 0x10, 0x246, t3, 0x18].into_iter().enumerate() {
        w.put(t2 + 8 + 8 * i as u64, v);
    }
    w.put(b + 8, f(0) + 0x10);
    let start = Start {
        ip: f(8) + 0x10,
        sp: n0,
        bp: 0x5555,
        exact: true,
        regs: None,
    };
    let st = walk(w, start, &[TASK, NMI], Limits::default());
    assert_eq!(
        pcs(&st),
        vec![
            (f(8) + 0x10, n0),
            (f(9) + 0x41, n0 + 16),
            (f(10) + 2, t2),
            (f(7) + 0x40, t3),
            (f(0) + 0x10, b + 16)
        ]
    );
    assert_eq!(st.end, End::EndOfStack);
    assert_eq!(st.frames[2].regs, Some(nmi));
    assert!(!st.frames[2].regs_partial);
    let iret = &st.frames[3];
    assert!(iret.regs_partial && iret.exact && iret.kind == FrameKind::Interrupt);
    assert_eq!(
        iret.regs.map(|r| (r.ip(), r.cs(), r.sp(), r.r15())),
        Some((f(7) + 0x40, 0x10, t3, 0))
    );
    assert_eq!(st.frames[3].stack, Some("task"));
}

#[test]
fn syscall_ends_at_user_mode_pt_regs() {
    let mut w = World::new();
    let u0 = TASK.start + 0x3d00;
    w.put(u0 + 24, f(12) + 0x31);
    w.put(u0 + 48, f(13) + 0x55);
    let mut user = PtRegs::default();
    user.words[PtRegs::IP] = 0x7f00_1234_5678;
    user.words[PtRegs::CS] = 0x33;
    user.words[PtRegs::SP] = 0x7ffd_0000_1000;
    user.words[PtRegs::SS] = 0x2b;
    user.words[PtRegs::ORIG_AX] = 257; // openat
    w.put_regs(u0 + 56, &user);
    let start = Start {
        ip: f(11) + 0x20,
        sp: u0,
        bp: 0,
        exact: true,
        regs: None,
    };
    let st = walk(w, start, &[TASK], Limits::default());
    assert_eq!(
        pcs(&st),
        vec![
            (f(11) + 0x20, u0),
            (f(12) + 0x31, u0 + 32),
            (f(13) + 0x55, u0 + 56),
            (0x7f00_1234_5678, 0x7ffd_0000_1000)
        ]
    );
    assert_eq!(st.end, End::UserMode);
    let last = st.frames.last().unwrap();
    assert_eq!(last.kind, FrameKind::Interrupt);
    assert_eq!(last.stack, None);
    assert!(last
        .regs
        .is_some_and(|r| r.is_user_mode() && r.orig_ax() == 257));
}

#[test]
fn user_mode_start_regs_end_at_once() {
    let w = World::new();
    let mut user = PtRegs::default();
    user.words[PtRegs::CS] = 0x33;
    let start = Start {
        ip: 0x40_1000,
        sp: 0x7ffd_0000_1000,
        bp: 0,
        exact: true,
        regs: Some(user),
    };
    let st = walk(w, start, &[TASK], Limits::default());
    assert_eq!(pcs(&st), vec![(0x40_1000, 0x7ffd_0000_1000)]);
    assert_eq!(st.end, End::UserMode);
}

#[test]
fn loop_sp_not_increasing_is_refused() {
    let mut w = World::new();
    let s = TASK.start + 0x1000;
    w.put(s - 8, f(14) + 0x10);
    let start = Start {
        ip: f(14) + 0x10,
        sp: s,
        bp: 0,
        exact: true,
        regs: None,
    };
    let st = walk(w, start, &[TASK], Limits::default());
    assert_eq!(pcs(&st), vec![(f(14) + 0x10, s)]);
    let why = stopped(&st);
    assert!(
        why.contains("wrong way") && why.contains(&format!("0x{:x}", f(14) + 0x10)),
        "{why}"
    );
}

/// Bad data that leads from the task stack back onto the IRQ stack the walk
/// started on: the kernel's visit mask refuses it; without ranges the
/// repeated frame is caught.
#[test]
fn loop_re_entering_a_stack_is_refused() {
    let mut w = World::new();
    let tos = IRQ.end - 8;
    let r = TASK.start + 0x3000;
    w.put(tos, r);
    w.put(tos - 8, f(5) + 0x15);
    w.put(r + 8, f(5) + 0x15); // sysvec "returns" into itself
    w.put(r + 16, tos - 16); // ... whose stored rsp leads back to the IRQ stack
    let start = Start {
        ip: f(4) + 0x50,
        sp: tos - 16,
        bp: 0,
        exact: true,
        regs: None,
    };
    let table = w.table(OrcLayout::V2, false);
    let mut src = OrcTables::new(&w.mem);
    src.add(TEXT, TEXT_END, table);
    let with = unwind(&w.mem, &src, start.clone(), &[TASK, IRQ], Limits::default());
    assert_eq!(
        pcs(&with),
        vec![
            (f(4) + 0x50, tos - 16),
            (f(5) + 0x15, tos),
            (f(5) + 0x15, r + 16)
        ]
    );
    let why = stopped(&with);
    assert!(why.contains("re-enters the IRQ stack"), "{why}");
    let without = unwind(&w.mem, &src, start, &[], Limits::default());
    assert_eq!(pcs(&without), pcs(&with));
    let why = stopped(&without);
    assert!(why.contains("repeats"), "{why}");
}

#[test]
fn missing_page_mid_stack() {
    let mut w = World::new();
    let s = TASK.start + 0x2fe0;
    w.put(s + 16, f(2) + 0x45);
    w.put(s + 48, 0xb1);
    w.put(s + 56, f(1) + 0x25);
    w.mem.unmap_page(s + 56);
    let start = Start {
        ip: f(3) + 0x30,
        sp: s,
        bp: 0,
        exact: true,
        regs: None,
    };
    let st = walk(w, start, &[TASK], Limits::default());
    assert_eq!(pcs(&st), vec![(f(3) + 0x30, s), (f(2) + 0x45, s + 24)]);
    let why = stopped(&st);
    assert_eq!(
        why,
        format!(
            "cannot read 0x{:x} (8 bytes: return address, ip 0x{:x})",
            s + 56,
            f(2) + 0x45
        )
    );
}

#[test]
fn frame_limit() {
    let mut w = World::new();
    let s = TASK.start + 0x100;
    for i in 0..300u64 {
        w.put(s + 16 * i + 8, f(15) + 0x21);
    }
    let start = Start {
        ip: f(15) + 0x21,
        sp: s,
        bp: 0,
        exact: false,
        regs: None,
    };
    let st = walk(w, start, &[TASK], Limits { max_frames: 50 });
    assert_eq!(st.frames.len(), 50);
    assert_eq!(st.frames[49].sp, s + 16 * 49);
    assert!(stopped(&st).contains("frame limit 50"), "{}", stopped(&st));
}

#[test]
fn unknown_ip() {
    let mut w = World::new();
    let s = TASK.start + 0x3000;
    w.put(s + 16, 0xffff_ffff_c000_1234); // a return address into an unknown module
    let start = Start {
        ip: f(3) + 0x30,
        sp: s,
        bp: 0,
        exact: true,
        regs: None,
    };
    let st = walk(w, start, &[TASK], Limits::default());
    assert_eq!(
        pcs(&st),
        vec![(f(3) + 0x30, s), (0xffff_ffff_c000_1234, s + 24)]
    );
    assert_eq!(stopped(&st), "no ORC entry for 0xffffffffc0001233");

    let w = World::new();
    let start = Start {
        ip: 0xffff_ffff_c000_1234,
        sp: s,
        bp: 0,
        exact: true,
        regs: None,
    };
    let st = walk(w, start, &[], Limits::default());
    assert_eq!(st.frames.len(), 1);
    assert_eq!(stopped(&st), "no ORC entry for 0xffffffffc0001234");
}

/// A return address is looked up at ip - 1: at f3 + 4 the entry changes
/// from sp+16 to sp+24, and a return address f3 + 4 belongs to the call
/// before it.
#[test]
fn return_address_is_looked_up_at_ip_minus_one() {
    let mut w = World::new();
    let s = TASK.start + 0x3000;
    w.put(s + 8, f(0) + 0x10);
    w.put(s + 16, f(0) + 0x20);
    let start = Start {
        ip: f(3) + 4,
        sp: s,
        bp: 0,
        exact: false,
        regs: None,
    };
    let st = walk(w, start.clone(), &[TASK], Limits::default());
    assert_eq!(pcs(&st), vec![(f(3) + 4, s), (f(0) + 0x10, s + 16)]);
    let mut w = World::new();
    w.put(s + 8, f(0) + 0x10);
    w.put(s + 16, f(0) + 0x20);
    let st = walk(
        w,
        Start {
            exact: true,
            ..start
        },
        &[TASK],
        Limits::default(),
    );
    assert_eq!(pcs(&st), vec![(f(3) + 4, s), (f(0) + 0x20, s + 24)]);
}

/// ip 0 (a call through a NULL pointer) gets the kernel's null_orc_entry.
#[test]
fn null_ip() {
    let mut w = World::new();
    let s = TASK.start + 0x3000;
    w.put(s, f(0) + 0x10);
    let st = walk(
        w,
        Start {
            ip: 0,
            sp: s,
            bp: 0,
            exact: true,
            regs: None,
        },
        &[TASK],
        Limits::default(),
    );
    assert_eq!(pcs(&st), vec![(0, s), (f(0) + 0x10, s + 8)]);
    assert_eq!(st.end, End::EndOfStack);
}

#[test]
fn register_based_sp_needs_full_regs() {
    let s = TASK.start + 0x3000;
    let mut w = World::new();
    w.put(s - 8, f(0) + 0x10);
    let start = Start {
        ip: f(16) + 8,
        sp: TASK.start + 0x100,
        bp: 0,
        exact: true,
        regs: None,
    };
    let st = walk(w, start.clone(), &[TASK], Limits::default());
    assert!(
        stopped(&st).contains("sp_reg R10") && stopped(&st).contains("needs a full pt_regs"),
        "{}",
        stopped(&st)
    );

    let mut w = World::new();
    w.put(s - 8, f(0) + 0x10);
    let mut regs = PtRegs::default();
    regs.words[PtRegs::R10] = s;
    regs.words[PtRegs::CS] = 0x10;
    let st = walk(
        w,
        Start {
            regs: Some(regs),
            ..start
        },
        &[TASK],
        Limits::default(),
    );
    assert_eq!(
        pcs(&st),
        vec![(f(16) + 8, TASK.start + 0x100), (f(0) + 0x10, s)]
    );
    assert_eq!(st.end, End::EndOfStack);
}

#[test]
fn corrupt_entries_stop_with_a_reason() {
    let s = TASK.start + 0x3000;
    for (ip, want) in [
        (f(17) + 1, "bad sp_reg 12"),
        (f(17) + 0x11, "bad bp_reg 11"),
        (f(17) + 0x21, "is undefined"),
        (f(13) + 1, "is undefined"),
    ] {
        let mut w = World::new();
        w.put(s, f(0) + 0x10);
        let st = walk(
            w,
            Start {
                ip,
                sp: s,
                bp: 0,
                exact: true,
                regs: None,
            },
            &[TASK],
            Limits::default(),
        );
        assert_eq!(st.frames.len(), 1);
        assert!(stopped(&st).contains(want), "{ip:x}: {}", stopped(&st));
    }
}

/// find() agrees with and without the lookup blocks for every ip of the
/// text, and reads O(log n) slots.
#[test]
fn lookup_blocks_agree_with_full_search() {
    for layout in [OrcLayout::V1, OrcLayout::V1Signal, OrcLayout::V2] {
        let mut w = World::new();
        let with = w.table(layout, true);
        let without = OrcTable {
            lookup: None,
            ..with
        };
        let n = text().len();
        let mut worst = 0;
        for ip in (TEXT - 0x10..TEXT_END + 0x100).step_by(3) {
            let before = w.mem.reads.get();
            let a = with.find(&w.mem, ip).unwrap();
            worst = worst.max(w.mem.reads.get() - before);
            assert_eq!(a, without.find(&w.mem, ip).unwrap(), "ip 0x{ip:x}");
        }
        // A block search reads its two lookup slots, log2 of the block's
        // entries and the entry; the full search log2(n) + 1.
        assert!(
            worst <= 2 + (usize::BITS - n.leading_zeros()) as usize + 1,
            "{worst}"
        );
        assert_eq!(without.find(&w.mem, TEXT - 1).unwrap(), None);
    }
}

/// A corrupt lookup table (indices past the table, start past stop) falls
/// back to the whole-table search, which still gives the right answer.
#[test]
fn corrupt_lookup_falls_back() {
    let mut w = World::new();
    let good = w.table(OrcLayout::V2, true);
    let lookup = good.lookup.unwrap();
    for i in 0..lookup.num_blocks as u64 {
        w.mem.write_u32(
            lookup.table + 4 * i,
            if i % 2 == 0 { 0xffff_fff0 } else { 3 },
        );
    }
    let plain = OrcTable {
        lookup: None,
        ..good
    };
    for ip in (TEXT..TEXT_END).step_by(0x101) {
        assert_eq!(
            good.find(&w.mem, ip).unwrap(),
            plain.find(&w.mem, ip).unwrap(),
            "ip 0x{ip:x}"
        );
    }
    // Unreadable table memory is an error naming the address.
    let gone = OrcTable {
        ip_table: 0x1000,
        entries: 0x2000,
        count: 10,
        lookup: None,
        layout: OrcLayout::V2,
    };
    assert!(gone.find(&w.mem, TEXT).is_err());
}
