//! The panic plan: the ordered steps the panic path will take, built from one
//! choice — prefer the crash dump or not — and from the legacy settings it
//! replaces, then validated and printed for an administrator to review.
//!
//! Mapping (the book's "The panic recorder module" has the table):
//! - `panic_notifiers_level` (0–4, as proposed in the 2022 thread) when set;
//! - else `crash_kexec_post_notifiers = true` acts as level 4;
//! - else `prefer_crash_dump` (default true) acts as level 0, and `false`
//!   runs hypervisor, info and kmsg dump before the crash dump (level 3).
//!
//! The kmsg dump travels with the info list, as Michael Kelley asked in the
//! thread: whatever moves the info list before the crash dump moves it too.

use crashview_journal::StepKind;

/// Most steps a plan holds (each step kind at most once).
pub const MAX_STEPS: usize = 16;

/// Who carries out a step, and when the recorder learns that it is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// The recorder runs it.
    Recorder,
    /// The kernel's own `panic()` did it before the recorder got control.
    KernelBefore,
    /// The kernel does it after the recorder returns; a later hook
    /// ([`Recorder::resume_after`](crate::recorder::Recorder::resume_after))
    /// tells the recorder it is over.
    KernelNext,
    /// The kernel does it after the recorder's last hook: never observed.
    KernelAfter,
}

impl Who {
    /// The step is the kernel's, not the recorder's.
    pub fn is_kernel(self) -> bool {
        self != Who::Recorder
    }
}

/// The administrator's choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Crash dump first (default), or notifiers and kmsg dump first.
    pub prefer_crash_dump: bool,
    /// Legacy `crash_kexec_post_notifiers`.
    pub crash_kexec_post_notifiers: bool,
    /// Legacy `panic_notifiers_level` (0–4), when given; overrides the rest.
    pub panic_notifiers_level: Option<u8>,
    /// `panic_timeout` in seconds: > 0 delay then reboot, 0 stay halted,
    /// < 0 reboot at once.
    pub panic_timeout: i32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            prefer_crash_dump: true,
            crash_kexec_post_notifiers: false,
            panic_notifiers_level: None,
            panic_timeout: 0,
        }
    }
}

/// What is true of the running kernel when the plan is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Facts {
    /// A crash kernel is loaded (`kexec_crash_loaded()`).
    pub crash_kernel_loaded: bool,
    /// A kmsg dumper is registered (pstore, ours…).
    pub kmsg_dumper_registered: bool,
}

/// Why a plan is invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanError {
    /// `panic_notifiers_level` above 4.
    BadLevel(u8),
    /// A step appears twice.
    Duplicate(StepKind),
    /// A rule about order is broken.
    Order(&'static str),
    /// More than [`MAX_STEPS`] steps.
    TooLong,
}

impl core::fmt::Display for PlanError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            PlanError::BadLevel(l) => write!(f, "panic_notifiers_level={l} is not in 0..=4"),
            PlanError::Duplicate(s) => write!(f, "step \"{}\" appears twice", s.name()),
            PlanError::Order(why) => write!(f, "invalid order: {why}"),
            PlanError::TooLong => write!(f, "too many steps"),
        }
    }
}

/// An ordered list of steps.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    steps: [StepKind; MAX_STEPS],
    who: [Who; MAX_STEPS],
    len: usize,
    /// The plan describes the stock `panic()` around a module (see
    /// [`Plan::stock_6_1`]), not an order the recorder chose.
    pub stock: bool,
    /// The level the configuration resolved to (0–4).
    pub level: u8,
    /// What the plan was built from.
    pub config: Config,
    /// The facts it was built with.
    pub facts: Facts,
}

impl core::fmt::Debug for Plan {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.steps()).finish()
    }
}

impl Plan {
    /// Builds and validates the plan for `config` and `facts`.
    pub fn build(config: &Config, facts: &Facts) -> Result<Plan, PlanError> {
        let level = match config.panic_notifiers_level {
            Some(l) if l > 4 => return Err(PlanError::BadLevel(l)),
            Some(l) => l,
            None if config.crash_kexec_post_notifiers => 4,
            None if config.prefer_crash_dump => 0,
            None => 3,
        };
        // Which groups go before the crash dump.
        let hyper_first = level >= 1;
        let info_first = level >= 3 || (level == 2 && facts.kmsg_dumper_registered);
        let reboot_list_first = level >= 4;

        let mut p = Plan {
            steps: [StepKind::Reboot; MAX_STEPS],
            who: [Who::Recorder; MAX_STEPS],
            len: 0,
            stock: false,
            level,
            config: *config,
            facts: *facts,
        };
        let dump = facts.crash_kernel_loaded;
        let kmsg = facts.kmsg_dumper_registered;
        // The pre-crash-dump set runs first whenever a crash dump is planned:
        // it exists for the steps that must precede it (Hyper-V disconnect).
        if dump {
            p.push(StepKind::PreCrashDump);
        }
        if dump && !hyper_first {
            // Level 0: the crash kernel is the first thing to run; it stops
            // the other CPUs itself (crash_smp_send_stop).
            p.push(StepKind::CrashDump);
        }
        p.push(StepKind::StopCpus);
        if !dump {
            p.push(StepKind::PreCrashDump);
        }
        p.push(StepKind::Hypervisor);
        if dump && hyper_first && !info_first {
            p.push(StepKind::CrashDump);
        }
        p.push(StepKind::Info);
        // The legacy panic_notifier_list, walked entry by entry, where the
        // stock panic() runs it: with the informational group, before the
        // kmsg dump whose record holds what its notifiers print.
        p.push(StepKind::NotifierChain);
        if kmsg {
            p.push(StepKind::KmsgDump);
        }
        if dump && info_first && !reboot_list_first {
            p.push(StepKind::CrashDump);
        }
        p.push(StepKind::ConsoleFlush);
        p.push(StepKind::PreReboot);
        if dump && reboot_list_first {
            p.push(StepKind::CrashDump);
        }
        if config.panic_timeout > 0 {
            p.push(StepKind::Delay);
        }
        p.push(StepKind::PostReboot);
        if config.panic_timeout != 0 {
            p.push(StepKind::Reboot);
        }
        p.validate()?;
        Ok(p)
    }

    /// The path the stock Linux 6.1 `panic()` takes (kernel/panic.c) when
    /// the recorder is a module hooked into it, with the kernel's real
    /// `crash_kexec_post_notifiers` and `panic_timeout`, and where the
    /// module's hooks let its own lists run:
    ///
    /// - without `crash_kexec_post_notifiers`, `__crash_kexec()` runs first,
    ///   then the other CPUs are stopped; with it, `crash_smp_send_stop()`
    ///   first and `__crash_kexec()` after the kmsg dump;
    /// - the recorder gets control at the head of `panic_notifier_list`
    ///   (its pre-crash-dump set, hypervisor and info lists run there), sees
    ///   the chain end from its tail, the kmsg dump through its dumpers, and
    ///   the console flush through `panic_blink`, where its pre- and
    ///   post-reboot lists run (right after the kmsg dump when
    ///   `panic_timeout < 0`: the kernel then restarts without calling
    ///   `panic_blink`);
    /// - the delay and the restart come after the last hook.
    ///
    /// The order is the kernel's, so the executor rules of
    /// [`validate`](Self::validate) do not apply; [`validate_stock`](Self::validate_stock) does.
    pub fn stock_6_1(config: &Config, facts: &Facts) -> Result<Plan, PlanError> {
        let mut p = Plan {
            steps: [StepKind::Reboot; MAX_STEPS],
            who: [Who::Recorder; MAX_STEPS],
            len: 0,
            stock: true,
            level: if config.crash_kexec_post_notifiers {
                4
            } else {
                0
            },
            config: *config,
            facts: *facts,
        };
        let post = config.crash_kexec_post_notifiers;
        let dump = facts.crash_kernel_loaded;
        let blink = config.panic_timeout >= 0;
        if dump && !post {
            p.push_who(StepKind::CrashDump, Who::KernelBefore);
        }
        p.push_who(StepKind::StopCpus, Who::KernelBefore);
        p.push(StepKind::PreCrashDump);
        p.push(StepKind::Hypervisor);
        p.push(StepKind::Info);
        p.push_who(StepKind::NotifierChain, Who::KernelNext);
        if facts.kmsg_dumper_registered {
            p.push_who(StepKind::KmsgDump, Who::KernelNext);
        }
        if !blink {
            p.push(StepKind::PreReboot);
            p.push(StepKind::PostReboot);
        }
        if dump && post {
            p.push_who(StepKind::CrashDump, Who::KernelNext);
        }
        p.push_who(
            StepKind::ConsoleFlush,
            if blink {
                Who::KernelNext
            } else {
                Who::KernelAfter
            },
        );
        if blink {
            p.push(StepKind::PreReboot);
            p.push(StepKind::PostReboot);
        }
        if config.panic_timeout > 0 {
            p.push_who(StepKind::Delay, Who::KernelAfter);
        }
        if config.panic_timeout != 0 {
            p.push_who(StepKind::Reboot, Who::KernelAfter);
        }
        p.validate_stock()?;
        Ok(p)
    }

    fn push(&mut self, s: StepKind) {
        self.push_who(s, Who::Recorder);
    }

    fn push_who(&mut self, s: StepKind, who: Who) {
        if let (Some(slot), Some(w)) = (self.steps.get_mut(self.len), self.who.get_mut(self.len)) {
            *slot = s;
            *w = who;
            // Below the arrays' length: the slots were there.
            self.len = self.len.saturating_add(1);
        }
    }

    /// The steps in order.
    pub fn steps(&self) -> &[StepKind] {
        self.steps.get(..self.len).unwrap_or(&[])
    }

    /// Who carries out step `i`.
    pub fn who(&self, i: usize) -> Who {
        self.who
            .get(..self.len)
            .and_then(|w| w.get(i))
            .copied()
            .unwrap_or(Who::Recorder)
    }

    fn each_step_once(&self) -> Result<(), PlanError> {
        let mut rest = self.steps();
        while let Some((a, later)) = rest.split_first() {
            rest = later;
            if later.contains(a) {
                return Err(PlanError::Duplicate(*a));
            }
        }
        Ok(())
    }

    /// The rules a stock plan keeps: each step at most once, the crash dump
    /// only with a crash kernel, other CPUs stopped before any list.
    pub fn validate_stock(&self) -> Result<(), PlanError> {
        self.each_step_once()?;
        if self.position(StepKind::CrashDump).is_some() && !self.facts.crash_kernel_loaded {
            return Err(PlanError::Order(
                "crash dump planned without a crash kernel",
            ));
        }
        match self.position(StepKind::StopCpus) {
            Some(stop)
                if [StepKind::Hypervisor, StepKind::Info, StepKind::KmsgDump]
                    .iter()
                    .filter_map(|k| self.position(*k))
                    .all(|p| p > stop) =>
            {
                Ok(())
            }
            Some(_) => Err(PlanError::Order(
                "a list or dump runs before other CPUs are stopped",
            )),
            None => Err(PlanError::Order("other CPUs are never stopped")),
        }
    }

    /// Position of a step, if planned.
    pub fn position(&self, s: StepKind) -> Option<usize> {
        self.steps().iter().position(|&x| x == s)
    }

    /// Checks the rules every plan must keep: each step at most once; the
    /// crash dump at most once and only with a crash kernel; other CPUs
    /// stopped before any notifier list or dump; the pre-crash-dump set
    /// before the crash dump; kmsg dump after the info list (it carries the
    /// info list's output); console flush before the pre-reboot list; delay,
    /// post-reboot list and reboot last, in that order.
    pub fn validate(&self) -> Result<(), PlanError> {
        self.each_step_once()?;
        let s = self.steps();
        let pos = |k| self.position(k);
        let before = |a, b| match (pos(a), pos(b)) {
            (Some(x), Some(y)) => x < y,
            _ => true,
        };
        if pos(StepKind::CrashDump).is_some() && !self.facts.crash_kernel_loaded {
            return Err(PlanError::Order(
                "crash dump planned without a crash kernel",
            ));
        }
        if pos(StepKind::StopCpus).is_none() {
            return Err(PlanError::Order("other CPUs are never stopped"));
        }
        for list in [
            StepKind::Hypervisor,
            StepKind::Info,
            StepKind::NotifierChain,
            StepKind::KmsgDump,
            StepKind::PreReboot,
            StepKind::PostReboot,
        ] {
            if !before(StepKind::StopCpus, list) {
                return Err(PlanError::Order(
                    "a list or dump runs before other CPUs are stopped",
                ));
            }
        }
        if !before(StepKind::PreCrashDump, StepKind::CrashDump) {
            return Err(PlanError::Order("crash dump before the pre-crash-dump set"));
        }
        if !before(StepKind::Info, StepKind::KmsgDump) {
            return Err(PlanError::Order("kmsg dump before the info list"));
        }
        if !before(StepKind::ConsoleFlush, StepKind::PreReboot) {
            return Err(PlanError::Order("pre-reboot list before the console flush"));
        }
        let tail: &[StepKind] = &[StepKind::Delay, StepKind::PostReboot, StepKind::Reboot];
        let mut last = 0usize;
        for t in tail {
            if let Some(p) = pos(*t) {
                if p < last {
                    return Err(PlanError::Order(
                        "delay, post-reboot list and reboot out of order",
                    ));
                }
                last = p;
            }
        }
        if let Some(r) = pos(StepKind::Reboot) {
            if s.get(r..).map_or(0, <[StepKind]>::len) != 1 {
                return Err(PlanError::Order("steps after reboot"));
            }
        }
        if s.len() > MAX_STEPS {
            return Err(PlanError::TooLong);
        }
        Ok(())
    }

    /// Writes the plan as text, one step a line, as an administrator reads
    /// it in dmesg or sysfs.
    pub fn write_text<W: core::fmt::Write>(&self, w: &mut W) -> core::fmt::Result {
        if self.stock {
            return self.write_stock_text(w);
        }
        let origin = match (
            self.config.panic_notifiers_level,
            self.config.crash_kexec_post_notifiers,
        ) {
            (Some(_), _) => "panic_notifiers_level",
            (None, true) => "crash_kexec_post_notifiers",
            (None, false) => {
                if self.config.prefer_crash_dump {
                    "prefer_crash_dump=1"
                } else {
                    "prefer_crash_dump=0"
                }
            }
        };
        writeln!(
            w,
            "panic plan (level {} from {}; {}):",
            self.level,
            origin,
            FactsText(&self.facts)
        )?;
        for (n, s) in (1..).zip(self.steps()) {
            writeln!(w, "{n:2}. {}{}", s.name(), note(*s, self))?;
        }
        Ok(())
    }
}

impl Plan {
    fn write_stock_text<W: core::fmt::Write>(&self, w: &mut W) -> core::fmt::Result {
        writeln!(
            w,
            "panic path of the stock panic() (crash_kexec_post_notifiers={}, panic_timeout={}; {}):",
            u8::from(self.config.crash_kexec_post_notifiers),
            self.config.panic_timeout,
            FactsText(&self.facts)
        )?;
        for (n, (i, s)) in (1..).zip(self.steps().iter().enumerate()) {
            let who = match self.who(i) {
                Who::Recorder => " [recorder]",
                Who::KernelBefore => " [kernel, before the recorder runs]",
                Who::KernelNext => " [kernel, observed]",
                Who::KernelAfter => " [kernel, after the recorder's last hook]",
            };
            writeln!(w, "{n:2}. {}{}{}", s.name(), note(*s, self), who)?;
        }
        if self.facts.crash_kernel_loaded && !self.config.crash_kexec_post_notifiers {
            writeln!(
                w,
                "    the crash kernel starts before any hook: the recorder sees nothing of such a panic"
            )?;
        }
        Ok(())
    }
}

/// `crash kernel loaded, kmsg dumper registered`: the facts a plan was
/// built with, as both plan texts print them.
struct FactsText<'a>(&'a Facts);

impl core::fmt::Display for FactsText<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "crash kernel {}, kmsg dumper {}",
            if self.0.crash_kernel_loaded {
                "loaded"
            } else {
                "not loaded"
            },
            if self.0.kmsg_dumper_registered {
                "registered"
            } else {
                "none"
            }
        )
    }
}

fn note(s: StepKind, p: &Plan) -> &'static str {
    match s {
        StepKind::CrashDump => ": does not return when the crash kernel starts",
        StepKind::Delay => ": panic_timeout seconds",
        StepKind::Reboot if p.config.panic_timeout < 0 => ": immediately",
        StepKind::PostReboot if p.config.panic_timeout == 0 => {
            ": then stay halted (panic_timeout=0)"
        }
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::String;
    use std::vec::Vec;
    use StepKind::*;

    fn plan(
        level: Option<u8>,
        post: bool,
        prefer: bool,
        dump: bool,
        kmsg: bool,
        timeout: i32,
    ) -> Plan {
        let c = Config {
            prefer_crash_dump: prefer,
            crash_kexec_post_notifiers: post,
            panic_notifiers_level: level,
            panic_timeout: timeout,
        };
        Plan::build(
            &c,
            &Facts {
                crash_kernel_loaded: dump,
                kmsg_dumper_registered: kmsg,
            },
        )
        .unwrap()
    }

    /// Steps before the crash dump, for each level, with a crash kernel and a kmsg dumper.
    #[test]
    fn levels_move_groups_before_the_crash_dump() {
        let before =
            |p: &Plan| -> Vec<StepKind> { p.steps()[..p.position(CrashDump).unwrap()].to_vec() };
        assert_eq!(
            before(&plan(Some(0), false, true, true, true, 10)),
            [PreCrashDump]
        );
        assert_eq!(
            before(&plan(Some(1), false, true, true, true, 10)),
            [PreCrashDump, StopCpus, Hypervisor]
        );
        assert_eq!(
            before(&plan(Some(2), false, true, true, true, 10)),
            [
                PreCrashDump,
                StopCpus,
                Hypervisor,
                Info,
                NotifierChain,
                KmsgDump
            ]
        );
        assert_eq!(
            before(&plan(Some(2), false, true, true, false, 10)),
            [PreCrashDump, StopCpus, Hypervisor]
        );
        assert_eq!(
            before(&plan(Some(3), false, true, true, false, 10)),
            [PreCrashDump, StopCpus, Hypervisor, Info, NotifierChain]
        );
        assert_eq!(
            before(&plan(Some(4), false, true, true, true, 10)),
            [
                PreCrashDump,
                StopCpus,
                Hypervisor,
                Info,
                NotifierChain,
                KmsgDump,
                ConsoleFlush,
                PreReboot
            ]
        );
    }

    #[test]
    fn legacy_settings_map_onto_levels() {
        assert_eq!(
            plan(None, false, true, true, true, 0).level,
            0,
            "default: crash dump first"
        );
        assert_eq!(
            plan(None, true, true, true, true, 0).level,
            4,
            "crash_kexec_post_notifiers"
        );
        assert_eq!(
            plan(None, false, false, true, true, 0).level,
            3,
            "notifiers first"
        );
        assert_eq!(
            plan(Some(1), true, false, true, true, 0).level,
            1,
            "explicit level wins"
        );
        let c = Config {
            panic_notifiers_level: Some(5),
            ..Config::default()
        };
        assert_eq!(
            Plan::build(&c, &Facts::default()),
            Err(PlanError::BadLevel(5))
        );
    }

    #[test]
    fn no_crash_kernel_means_no_crash_dump_step() {
        for level in 0..=4 {
            let p = plan(Some(level), false, true, false, true, 5);
            assert_eq!(p.position(CrashDump), None);
            assert_eq!(
                p.steps(),
                [
                    StopCpus,
                    PreCrashDump,
                    Hypervisor,
                    Info,
                    NotifierChain,
                    KmsgDump,
                    ConsoleFlush,
                    PreReboot,
                    Delay,
                    PostReboot,
                    Reboot
                ]
            );
        }
    }

    /// Every combination of every input builds a valid plan with the
    /// invariants spelled out, and prints one line per step.
    #[test]
    fn every_combination_is_valid() {
        let mut seen = 0;
        for level in [None, Some(0), Some(1), Some(2), Some(3), Some(4)] {
            for post in [false, true] {
                for prefer in [false, true] {
                    for dump in [false, true] {
                        for kmsg in [false, true] {
                            for timeout in [-1, 0, 30] {
                                let p = plan(level, post, prefer, dump, kmsg, timeout);
                                p.validate().unwrap();
                                let s = p.steps();
                                assert_eq!(
                                    s.iter().filter(|&&x| x == CrashDump).count(),
                                    usize::from(dump)
                                );
                                assert_eq!(s.contains(&KmsgDump), kmsg);
                                assert_eq!(s.contains(&Reboot), timeout != 0);
                                assert_eq!(s.contains(&Delay), timeout > 0);
                                assert_eq!(
                                    *s.last().unwrap(),
                                    if timeout != 0 { Reboot } else { PostReboot }
                                );
                                for list in [
                                    Hypervisor,
                                    Info,
                                    NotifierChain,
                                    PreReboot,
                                    PostReboot,
                                    ConsoleFlush,
                                    StopCpus,
                                    PreCrashDump,
                                ] {
                                    assert_eq!(
                                        s.iter().filter(|&&x| x == list).count(),
                                        1,
                                        "{list:?} once"
                                    );
                                }
                                let mut text = String::new();
                                p.write_text(&mut text).unwrap();
                                assert_eq!(text.lines().count(), s.len() + 1);
                                seen += 1;
                            }
                        }
                    }
                }
            }
        }
        assert_eq!(seen, 6 * 2 * 2 * 2 * 2 * 3);
    }

    #[test]
    fn plan_text_reads_well() {
        let mut text = String::new();
        plan(None, false, true, true, true, 10)
            .write_text(&mut text)
            .unwrap();
        assert_eq!(
            text,
            "panic plan (level 0 from prefer_crash_dump=1; crash kernel loaded, kmsg dumper registered):\n \
             1. pre-crash-dump set\n \
             2. crash dump: does not return when the crash kernel starts\n \
             3. stop other CPUs\n \
             4. hypervisor list\n \
             5. info list\n \
             6. panic notifier chain\n \
             7. kmsg dump\n \
             8. console flush\n \
             9. pre-reboot list\n\
             10. delay: panic_timeout seconds\n\
             11. post-reboot list\n\
             12. reboot\n"
        );
    }

    #[test]
    fn validation_catches_bad_orders() {
        let mut p = plan(None, false, true, true, true, 10);
        p.steps.swap(0, 1); // crash dump before the pre-crash-dump set
        assert!(p.validate().is_err());
        let mut p = plan(None, false, true, false, true, 10);
        let i = p.position(KmsgDump).unwrap();
        p.steps[i] = Info;
        assert_eq!(p.validate(), Err(PlanError::Duplicate(Info)));
    }
}
