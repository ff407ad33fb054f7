//! The calls a step makes into other code: a phase list's callbacks and
//! the legacy notifier chain. Each call is journaled before and after, each
//! corrupt entry journaled and skipped, never called.

use crashview_journal::{Entry, EntryKind, Outcome};

use super::{Recorder, MAX_CHAIN};
use crate::list::{ListId, Visit};
use crate::platform::{ChainEntry, Platform};
use crate::raw;

impl Recorder {
    pub(super) fn run_list<P: Platform + ?Sized>(&self, p: &P, id: ListId, step: u8) -> Outcome {
        let list = self.list(id);
        let cpu = p.cpu_id();
        if !list.table_ok() {
            self.log(
                p,
                Entry::new(EntryKind::CorruptEntry, step, cpu, p.now_ns())
                    .with_arg(u64::MAX)
                    .with_name(b"list table"),
            );
            return Outcome::CorruptedEntry;
        }
        let is_code = |a: usize| p.is_code(a);
        // Whether any entry was called, any found corrupt.
        let (mut called, mut corrupt) = (false, false);
        for i in 0..crate::list::LIST_SLOTS {
            match list.visit(i, &is_code) {
                None => {}
                Some(Visit::Corrupt { slot }) => {
                    corrupt = true;
                    self.log(
                        p,
                        Entry::new(EntryKind::CorruptEntry, step, cpu, p.now_ns())
                            .with_arg(slot as u64),
                    );
                }
                Some(Visit::Call {
                    slot,
                    func,
                    ctx,
                    name,
                }) => {
                    called = true;
                    self.log(
                        p,
                        Entry::new(EntryKind::CallBegin, step, cpu, p.now_ns())
                            .with_arg(slot as u64)
                            .with_name(name),
                    );
                    // SAFETY: the slot's check value proves it holds what
                    // `register` stored, a `Callback`; `is_code` vouched for
                    // the address.
                    unsafe { raw::call(func, ctx) };
                    self.log(
                        p,
                        Entry::new(EntryKind::CallEnd, step, cpu, p.now_ns())
                            .with_arg(slot as u64)
                            .with_name(name),
                    );
                }
            }
        }
        outcome(called, corrupt)
    }

    /// Walks the legacy notifier chain entry by entry (at most
    /// [`MAX_CHAIN`] entries): each callable entry journaled before and
    /// after its call with its symbol, each corrupt one journaled and
    /// skipped, never called.
    pub(super) fn run_chain<P: Platform + ?Sized>(&self, p: &P, step: u8) -> Outcome {
        let cpu = p.cpu_id();
        let (mut called, mut corrupt) = (false, false);
        let mut cursor = 0usize;
        for i in 0..MAX_CHAIN {
            let Some((entry, next)) = p.notifier_next(cursor) else {
                break;
            };
            match entry {
                ChainEntry::Call { block, name } => {
                    called = true;
                    let e = Entry::new(EntryKind::CallBegin, step, cpu, p.now_ns())
                        .with_arg(i as u64)
                        .with_name(&name);
                    self.log(p, e);
                    p.notifier_call(block);
                    self.log(
                        p,
                        Entry::new(EntryKind::CallEnd, step, cpu, p.now_ns())
                            .with_arg(i as u64)
                            .with_name(&name),
                    );
                }
                ChainEntry::Corrupt { why, resumable } => {
                    corrupt = true;
                    self.log(
                        p,
                        Entry::new(EntryKind::CorruptEntry, step, cpu, p.now_ns())
                            .with_arg(i as u64)
                            .with_name(&why),
                    );
                    if !resumable {
                        break;
                    }
                }
            }
            if i == MAX_CHAIN - 1 {
                self.log(
                    p,
                    Entry::new(EntryKind::Note, step, cpu, p.now_ns())
                        .with_name(b"chain longer than 64: rest skipped"),
                );
            }
            cursor = next;
        }
        outcome(called, corrupt)
    }
}

/// A list's or the chain's outcome: any corrupt entry says so, else
/// whether anything was called.
fn outcome(called: bool, corrupt: bool) -> Outcome {
    match (called, corrupt) {
        (_, true) => Outcome::CorruptedEntry,
        (false, false) => Outcome::Skipped,
        (true, false) => Outcome::Done,
    }
}
