//! The panic path: one CPU claims it, builds and journals the plan, then
//! runs each step between a journaled begin and end; nested panics resume
//! after the interrupted step, hooks in the kernel's `panic()` end the
//! steps the kernel does.

use core::sync::atomic::Ordering;

use crashview_journal::{step_arg, Entry, EntryKind, Outcome, Performer, StepKind};

use super::{Claim, Recorder, State, MAX_DELAY_S, MESSAGE_LEN, NONE, NO_CPU};
use crate::list::ListId;
use crate::plan::{self, Facts, Plan, Who};
use crate::platform::Platform;

impl Recorder {
    /// The plan the recorder would run now, given the platform's facts.
    pub fn current_plan(&self, crash_kernel_loaded: bool) -> Option<Plan> {
        build_plan(self.st_ref(), crash_kernel_loaded).ok()
    }

    /// Whether the plan for these facts can be built (`Err` names the rule
    /// an invalid combination breaks, for a clear message at boot).
    pub fn check_plan(&self, crash_kernel_loaded: bool) -> Result<(), plan::PlanError> {
        build_plan(self.st_ref(), crash_kernel_loaded).map(|_| ())
    }

    /// Enters the panic path on this CPU. `crash_kernel_loaded` is the fact
    /// the plan is built with; `msg` is the panic message.
    pub fn panic<P: Platform + ?Sized>(
        &self,
        p: &P,
        crash_kernel_loaded: bool,
        msg: &[u8],
    ) -> Claim {
        if !self.attached() {
            return Claim::NotAttached;
        }
        let cpu = u32::from(p.cpu_id());
        match self
            .claim
            .compare_exchange(NO_CPU, cpu, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => {
                self.begin(p, crash_kernel_loaded, msg);
                self.run_steps(p, None);
                Claim::Ran
            }
            Err(owner) if owner == cpu => {
                let step = self.running.load(Ordering::Acquire);
                let s = if step == NONE { 0 } else { step as u8 };
                self.log(
                    p,
                    Entry::new(EntryKind::NestedPanic, s, cpu as u16, p.now_ns()).with_name(msg),
                );
                if step != NONE {
                    self.end_step(p, step, Outcome::NestedPanic);
                }
                self.run_steps(p, None);
                Claim::Nested
            }
            Err(_) => {
                self.turned_away.fetch_add(1, Ordering::AcqRel);
                Claim::OtherCpu
            }
        }
    }

    /// Another CPU entered `panic()` while this one owns the panic path and
    /// was stopped by the kernel's own claim (`panic_cpu`) before it could
    /// reach the recorder: counted, journaled by the owner at its next step.
    pub fn note_other_cpu(&self) {
        self.turned_away.fetch_add(1, Ordering::AcqRel);
    }

    /// A hook in the kernel's panic path: the kernel is done with `step` (and
    /// everything planned before it). Ends the kernel step the recorder was
    /// waiting on (a crash dump that comes back ends as "returned"), then
    /// runs on until the next step the kernel does. Only the panicking CPU
    /// counts; steps already past are never repeated.
    pub fn resume_after<P: Platform + ?Sized>(&self, p: &P, step: StepKind) -> Claim {
        if !self.attached() {
            return Claim::NotAttached;
        }
        let owner = self.claim.load(Ordering::Acquire);
        if owner == NO_CPU {
            return Claim::NotPanicking;
        }
        if owner != u32::from(p.cpu_id()) {
            return Claim::OtherCpu;
        }
        let Some(plan) = self.st_ref().plan else {
            return Claim::Ran;
        };
        let Some(upto) = plan.position(step) else {
            return Claim::Ran;
        };
        let r = self.running.load(Ordering::Acquire);
        if r != NONE && r as usize <= upto && plan.who(r as usize).is_kernel() {
            let outcome = if plan.steps().get(r as usize) == Some(&StepKind::CrashDump) {
                Outcome::Returned
            } else {
                Outcome::Delegated
            };
            self.end_step(p, r, outcome);
        }
        self.run_steps(p, Some(upto));
        Claim::Ran
    }

    fn begin<P: Platform + ?Sized>(&self, p: &P, crash_kernel_loaded: bool, msg: &[u8]) {
        let mut st = self.st();
        let n = msg.len().min(MESSAGE_LEN);
        st.message_len = n;
        if let (Some(d), Some(m)) = (st.message.get_mut(..n), msg.get(..n)) {
            d.copy_from_slice(m);
        }
        // A valid configuration always builds; fall back to the defaults
        // rather than run no plan at all.
        let plan = build_plan(&st, crash_kernel_loaded)
            .or_else(|_| Plan::build(&plan::Config::default(), &facts(&st, crash_kernel_loaded)))
            .ok();
        st.plan = plan;
        self.set_st(st);
        let now = p.now_ns();
        let cpu = p.cpu_id();
        self.log(
            p,
            Entry::new(EntryKind::PanicStart, 0, cpu, now).with_name(msg),
        );
        if let Some(plan) = plan {
            for (i, s) in plan.steps().iter().enumerate() {
                self.log(
                    p,
                    Entry::new(EntryKind::PlanStep, i as u8, cpu, now)
                        .with_arg(step_arg(*s, performer(plan.who(i))))
                        .with_name(s.name().as_bytes()),
                );
            }
        }
    }

    fn run_steps<P: Platform + ?Sized>(&self, p: &P, upto: Option<usize>) {
        let Some(plan) = self.st_ref().plan else {
            return;
        };
        let steps = plan.steps();
        // Each pass consumes one step, so this runs at most `steps.len()`
        // times across all nested entries and hooks together.
        for _ in 0..steps.len() {
            // A kernel step still running: only a hook ends it.
            if self.running.load(Ordering::Acquire) != NONE {
                return;
            }
            let i = self.cursor.fetch_add(1, Ordering::AcqRel);
            let Some(&kind) = steps.get(i as usize) else {
                break;
            };
            let who = plan.who(i as usize);
            self.note_turned_away(p, i);
            self.running.store(i, Ordering::Release);
            self.log(
                p,
                Entry::new(EntryKind::StepBegin, i as u8, p.cpu_id(), p.now_ns())
                    .with_arg(step_arg(kind, performer(who)))
                    .with_name(kind.name().as_bytes()),
            );
            match who {
                Who::Recorder => {
                    let outcome = self.run_step(p, kind, i as u8, &plan);
                    self.end_step(p, i, outcome);
                }
                // Before the recorder got control, a crash dump that was
                // planned there came back: no capture kernel started.
                Who::KernelBefore if kind == StepKind::CrashDump => {
                    self.end_step(p, i, Outcome::Returned)
                }
                Who::KernelBefore | Who::KernelAfter => self.end_step(p, i, Outcome::Delegated),
                Who::KernelNext => {
                    if upto.is_some_and(|u| i as usize <= u) {
                        // A hook further on says the kernel is past it.
                        self.end_step(p, i, Outcome::Delegated);
                    } else {
                        // The kernel does it once we return; a hook ends it.
                        return;
                    }
                }
            }
        }
        let all_taken = self.cursor.load(Ordering::Acquire) as usize >= steps.len();
        if all_taken
            && self.running.load(Ordering::Acquire) == NONE
            && !self.ended.swap(true, Ordering::AcqRel)
        {
            self.log(
                p,
                Entry::new(EntryKind::PanicEnd, 0, p.cpu_id(), p.now_ns()),
            );
        }
    }

    fn end_step<P: Platform + ?Sized>(&self, p: &P, i: u32, outcome: Outcome) {
        // Only the first end of a step counts (a nested panic ends it early).
        if self
            .running
            .compare_exchange(i, NONE, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            self.log(
                p,
                Entry::new(EntryKind::StepEnd, i as u8, p.cpu_id(), p.now_ns())
                    .with_arg(outcome as u64),
            );
        }
    }

    fn note_turned_away<P: Platform + ?Sized>(&self, p: &P, step: u32) {
        let n = self.turned_away.load(Ordering::Acquire);
        let logged = self.turned_away_logged.swap(n, Ordering::AcqRel);
        if let Some(new) = n.checked_sub(logged).filter(|&d| d > 0) {
            self.log(
                p,
                Entry::new(EntryKind::OtherCpu, step as u8, p.cpu_id(), p.now_ns())
                    .with_arg(u64::from(new)),
            );
        }
    }

    fn run_step<P: Platform + ?Sized>(
        &self,
        p: &P,
        kind: StepKind,
        step: u8,
        plan: &Plan,
    ) -> Outcome {
        match kind {
            StepKind::StopCpus => done_if(p.stop_other_cpus()),
            StepKind::PreCrashDump => self.run_list(p, ListId::PreCrashDump, step),
            StepKind::Hypervisor => self.run_list(p, ListId::Hypervisor, step),
            StepKind::Info => {
                self.print_info(p, plan);
                match self.run_list(p, ListId::Info, step) {
                    Outcome::Skipped => Outcome::Done,
                    o => o,
                }
            }
            StepKind::NotifierChain => self.run_chain(p, step),
            StepKind::KmsgDump => done_if(p.kmsg_dump()),
            StepKind::CrashDump => {
                p.crash_kexec();
                Outcome::Returned
            }
            StepKind::ConsoleFlush => done_if(p.console_flush()),
            StepKind::PreReboot => self.run_list(p, ListId::PreReboot, step),
            StepKind::Delay => {
                let secs = u64::try_from(plan.config.panic_timeout)
                    .unwrap_or(0)
                    .min(MAX_DELAY_S);
                // At most MAX_DELAY_S * 1000: no saturation.
                done_if(p.delay_ms(secs.saturating_mul(1000)))
            }
            StepKind::PostReboot => self.run_list(p, ListId::PostReboot, step),
            StepKind::Reboot => {
                if p.reboot() {
                    Outcome::Returned
                } else {
                    Outcome::Delegated
                }
            }
        }
    }
}

fn build_plan(st: &State, crash_kernel_loaded: bool) -> Result<Plan, plan::PlanError> {
    let Some(setup) = st.setup else {
        return Err(plan::PlanError::Order("not attached"));
    };
    let f = facts(st, crash_kernel_loaded);
    if setup.stock_panic {
        Plan::stock_6_1(&setup.plan, &f)
    } else {
        Plan::build(&setup.plan, &f)
    }
}

/// What the plan is built from: the caller's crash-kernel fact, and the
/// kernel's kmsg dumper as the caller said, else our own (present when the
/// region has dmesg zones).
fn facts(st: &State, crash_kernel_loaded: bool) -> Facts {
    Facts {
        crash_kernel_loaded,
        kmsg_dumper_registered: st
            .setup
            .and_then(|s| s.kmsg_dumper)
            .unwrap_or(st.layout.dmesg.count > 0),
    }
}

fn performer(who: Who) -> Performer {
    if who.is_kernel() {
        Performer::Kernel
    } else {
        Performer::Recorder
    }
}

/// `true`: done here; `false`: the platform leaves it to the kernel's panic().
fn done_if(b: bool) -> Outcome {
    if b {
        Outcome::Done
    } else {
        Outcome::Delegated
    }
}
