//! The task list: `init_task.tasks` (every process), each process's
//! threads (`signal->thread_head` through `thread_node`), and each CPU's
//! idle task (idle tasks are on no list).

use std::collections::HashSet;

use crate::mem::{at, ReadError};
use crate::{Kernel, Note};

/// More tasks than this is a list gone wrong.
pub const MAX_TASKS: usize = 1 << 20;

/// One task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// Address of its `task_struct`.
    pub addr: u64,
    /// `pid` (the thread id).
    pub pid: u32,
    /// `tgid` (the process id).
    pub tgid: u32,
    /// `real_parent->pid`.
    pub ppid: u32,
    /// `comm`.
    pub comm: String,
    /// `ps`'s state letter (`R`, `S`, `D`, `I`…).
    pub state: char,
    /// The CPU it last ran on (`task_cpu`).
    pub cpu: u32,
    /// It was `rq->curr` of its CPU at the crash.
    pub on_cpu: bool,
    /// It is a CPU's idle task.
    pub idle: bool,
}

/// The kernel's `task_state_index` and `task_index_to_char` (include/linux/
/// sched.h, identical in 6.1 and 6.12): `RSDTtXZPI`.
pub fn state_char(state: u64, exit_state: u64) -> char {
    const TASK_REPORT: u64 = 0x7f;
    const TASK_UNINTERRUPTIBLE: u64 = 0x2;
    const TASK_IDLE: u64 = 0x2 | 0x400; // | TASK_NOLOAD
    const TASK_RTLOCK_WAIT: u64 = 0x1000;
    const TASK_FROZEN: u64 = 0x8000;
    const TASK_REPORT_IDLE: u64 = TASK_REPORT + 1;
    let mut s = (state | exit_state) & TASK_REPORT;
    if state & TASK_IDLE == TASK_IDLE {
        s = TASK_REPORT_IDLE;
    }
    if state & (TASK_RTLOCK_WAIT | TASK_FROZEN) != 0 {
        s = TASK_UNINTERRUPTIBLE;
    }
    // fls(s): 0 for 0, else the index of the highest set bit + 1.
    let index = 64u32.saturating_sub(s.leading_zeros()) as usize;
    b"RSDTtXZPI".get(index).map(|&c| c as char).unwrap_or('?')
}

pub(crate) fn read_task(k: &Kernel<'_>, addr: u64) -> Result<Task, ReadError> {
    let t = &k.layout.task;
    let m = k.mem;
    let f = |off: u64, what: &str| at(addr, off, what);
    let pid = m.u32("task_struct.pid", f(t.pid, "task_struct.pid")?)?;
    let tgid = m.u32("task_struct.tgid", f(t.tgid, "task_struct.tgid")?)?;
    let comm = m.fixed_str("task_struct.comm", f(t.comm.0, "comm")?, t.comm.1 as usize)?;
    let state = m.uint("task_struct.__state", f(t.state.0, "state")?, t.state.1)?;
    let exit_state = u64::from(m.u32("task_struct.exit_state", f(t.exit_state, "exit_state")?)?);
    let cpu = m.u32("task_struct.cpu", f(t.cpu, "cpu")?)?;
    let parent = m.u64("task_struct.real_parent", f(t.real_parent, "real_parent")?)?;
    let ppid = if parent == 0 || parent == addr {
        0
    } else {
        at(parent, t.pid, "real_parent->pid")
            .and_then(|a| m.u32("real_parent->pid", a))
            .unwrap_or(0)
    };
    let on_cpu = k.cpus.iter().any(|c| c.cpu == cpu && c.curr == Some(addr));
    let idle = k.cpus.iter().any(|c| c.idle == Some(addr));
    Ok(Task {
        addr,
        pid,
        tgid,
        ppid,
        comm,
        state: state_char(state, exit_state),
        cpu,
        on_cpu,
        idle,
    })
}

/// Follow a `list_head` ring from `head`, yielding the address of each
/// entry's `list_head` (not the container), until back at `head`.
fn ring(
    k: &Kernel<'_>,
    head: u64,
    what: &str,
    out: &mut Vec<u64>,
    seen: &mut HashSet<u64>,
    notes: &mut Vec<Note>,
) {
    let mut node = head;
    loop {
        let next = match k.mem.u64(what, node) {
            Ok(n) => n,
            Err(e) => {
                notes.push(Note {
                    part: what.to_owned(),
                    message: format!("{e}; the list is cut here"),
                });
                return;
            }
        };
        if next == head {
            return;
        }
        if !seen.insert(next) {
            notes.push(Note {
                part: what.to_owned(),
                message: format!("entry {next:#x} comes twice: the list loops; cut there"),
            });
            return;
        }
        if out.len() >= MAX_TASKS {
            notes.push(Note {
                part: what.to_owned(),
                message: format!("more than {MAX_TASKS} entries; cut there"),
            });
            return;
        }
        out.push(next);
        node = next;
    }
}

pub(crate) fn walk(k: &Kernel<'_>) -> (Vec<Task>, Vec<Note>) {
    let t = &k.layout.task;
    let mut notes = Vec::new();
    let mut tasks = Vec::new();
    let mut have = HashSet::new();
    let mut push = |addr: u64, tasks: &mut Vec<Task>, notes: &mut Vec<Note>| {
        if !have.insert(addr) {
            return;
        }
        match read_task(k, addr) {
            Ok(task) => tasks.push(task),
            Err(e) => notes.push(Note {
                part: format!("task {addr:#x}"),
                message: e.to_string(),
            }),
        }
    };
    for c in &k.cpus {
        if let Some(idle) = c.idle {
            push(idle, &mut tasks, &mut notes);
        }
    }
    let Some(init) = k.anchors.get("init_task") else {
        notes.push(Note {
            part: "task list".into(),
            message: "kallsyms has no init_task".into(),
        });
        return (tasks, notes);
    };
    push(init, &mut tasks, &mut notes);
    let mut procs = Vec::new();
    let mut seen = HashSet::new();
    if let Ok(head) = at(init, t.tasks, "init_task.tasks") {
        ring(
            k,
            head,
            "task list (init_task.tasks)",
            &mut procs,
            &mut seen,
            &mut notes,
        );
    }
    for node in procs {
        let Some(p) = node.checked_sub(t.tasks) else {
            continue;
        };
        push(p, &mut tasks, &mut notes);
        // Threads: signal->thread_head lists every thread by thread_node.
        let signal =
            at(p, t.signal, "task_struct.signal").and_then(|a| k.mem.u64("task_struct.signal", a));
        let head =
            signal.and_then(|s| at(s, k.layout.signal_thread_head, "signal_struct.thread_head"));
        let Ok(head) = head else {
            notes.push(Note {
                part: format!("threads of task {p:#x}"),
                message: "cannot read its signal_struct".into(),
            });
            continue;
        };
        let mut threads = Vec::new();
        let mut tseen = HashSet::new();
        ring(
            k,
            head,
            "thread list (signal->thread_head)",
            &mut threads,
            &mut tseen,
            &mut notes,
        );
        for tn in threads {
            if let Some(th) = tn.checked_sub(t.thread_node) {
                push(th, &mut tasks, &mut notes);
            }
        }
        if tasks.len() >= MAX_TASKS {
            break;
        }
    }
    (tasks, notes)
}

#[cfg(test)]
mod tests {
    use super::state_char;

    #[test]
    fn states_as_ps_prints_them() {
        assert_eq!(state_char(0, 0), 'R');
        assert_eq!(state_char(1, 0), 'S');
        assert_eq!(state_char(2, 0), 'D');
        assert_eq!(state_char(0x402, 0), 'I');
        assert_eq!(state_char(0x40, 0), 'P');
        assert_eq!(state_char(0, 0x20), 'Z');
        assert_eq!(state_char(0, 0x10), 'X');
        assert_eq!(state_char(0x8001, 0), 'D');
    }
}
