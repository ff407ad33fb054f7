//! The CPUs: each one's per-CPU area, run queue, current and idle task,
//! and the registers the dump saved for it.

use crashview_vmcore::PrStatus;

use crate::anchors::Anchors;
use crate::layout::Layout;
use crate::mem::{at, Mem};
use crate::Note;

/// More CPUs than this is a corrupt `nr_cpu_ids` (x86_64's NR_CPUS max).
const MAX_CPUS: u32 = 8192;

/// One CPU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cpu {
    /// CPU number.
    pub cpu: u32,
    /// `rq->curr`: the task running at the crash (address).
    pub curr: Option<u64>,
    /// `rq->idle`.
    pub idle: Option<u64>,
    /// The registers the dump saved for this CPU (`NT_PRSTATUS`).
    pub regs: Option<PrStatus>,
}

/// CPUs present (`__cpu_present_mask`, bounded by `nr_cpu_ids`). After a
/// panic, stopped CPUs mark themselves offline, so the online mask would
/// lose them.
fn present(m: Mem<'_>, syms: &Anchors, notes: &mut Vec<Note>) -> Vec<u32> {
    let nr = syms
        .get("nr_cpu_ids")
        .and_then(|a| m.u32("nr_cpu_ids", a).ok())
        .filter(|&n| n > 0 && n <= MAX_CPUS)
        .unwrap_or(1);
    let Some(mask_at) = syms.get("__cpu_present_mask") else {
        return (0..nr).collect();
    };
    let words = nr.div_ceil(64);
    let mut cpus = Vec::new();
    for w in 0..words {
        let Some(addr) = mask_at.checked_add(u64::from(w).saturating_mul(8)) else {
            break;
        };
        match m.u64("__cpu_present_mask", addr) {
            Ok(bits) => {
                for b in 0..64u32 {
                    let cpu = w.saturating_mul(64).saturating_add(b);
                    if cpu < nr && bits & (1u64 << b) != 0 {
                        cpus.push(cpu);
                    }
                }
            }
            Err(e) => {
                notes.push(Note {
                    part: "CPUs".into(),
                    message: format!("{e}; assuming CPUs 0..{nr}"),
                });
                return (0..nr).collect();
            }
        }
    }
    cpus
}

pub(crate) fn read(
    m: Mem<'_>,
    syms: &Anchors,
    layout: &Layout,
    prstatus: &[PrStatus],
    notes: &mut Vec<Note>,
) -> Vec<Cpu> {
    let ids = present(m, syms, notes);
    let offsets = syms.get("__per_cpu_offset");
    let runqueues = syms.get("runqueues");
    let mut cpus: Vec<Cpu> = ids
        .iter()
        .map(|&cpu| {
            let rq = (|| {
                let table = offsets?;
                let slot = at(table, u64::from(cpu).checked_mul(8)?, "__per_cpu_offset").ok()?;
                let base = m.u64("__per_cpu_offset", slot).ok()?;
                Some(runqueues?.wrapping_add(base))
            })();
            let mut ptr = |off: u64, what: &str| {
                let rq = rq?;
                match m.u64(what, at(rq, off, what).ok()?) {
                    Ok(v) if v != 0 => Some(v),
                    Ok(_) => None,
                    Err(e) => {
                        notes.push(Note {
                            part: format!("CPU {cpu}"),
                            message: e.to_string(),
                        });
                        None
                    }
                }
            };
            let curr = ptr(layout.rq_curr, "rq.curr");
            let idle = ptr(layout.rq_idle, "rq.idle");
            Cpu {
                cpu,
                curr,
                idle,
                regs: None,
            }
        })
        .collect();
    assign_registers(m, &mut cpus, prstatus, layout);
    cpus
}

/// Which `NT_PRSTATUS` is which CPU's. kdump writes one per CPU that saved
/// its registers, in CPU order, with `pr_pid` = the running task's pid;
/// QEMU writes one per vCPU with `pr_pid` = vCPU index + 1. With one note
/// per CPU the order decides; otherwise a note goes to the CPU whose
/// current task has its `pr_pid` (when that pid is unique).
fn assign_registers(m: Mem<'_>, cpus: &mut [Cpu], prstatus: &[PrStatus], layout: &Layout) {
    if prstatus.len() == cpus.len() {
        for (c, p) in cpus.iter_mut().zip(prstatus) {
            c.regs = Some(p.clone());
        }
        return;
    }
    let pid_of = |task: u64| {
        at(task, layout.task.pid, "task_struct.pid")
            .and_then(|a| m.u32("task_struct.pid", a))
            .ok()
    };
    let pids: Vec<Option<u32>> = cpus.iter().map(|c| c.curr.and_then(pid_of)).collect();
    for p in prstatus {
        let matching: Vec<usize> = pids
            .iter()
            .enumerate()
            .filter(|(_, q)| **q == Some(p.pid))
            .map(|(i, _)| i)
            .collect();
        let slot = match matching.as_slice() {
            [i] if p.pid != 0 => Some(*i),
            _ => cpus.get(p.index).map(|_| p.index),
        };
        if let Some(c) = slot.and_then(|i| cpus.get_mut(i)) {
            if c.regs.is_none() {
                c.regs = Some(p.clone());
            }
        }
    }
}
