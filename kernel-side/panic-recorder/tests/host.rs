//! The recorder on a host platform: threads stand in for CPUs, a byte buffer
//! for the reserved region, and closures inject hangs, nested panics and
//! corrupted list entries. The journal and ramoops records are then read back
//! with the host readers (crashview-journal, crashview-ramoops).

use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use crashview_journal::{self as journal, EntryKind, Outcome, StepKind, Tail};
use crashview_ramoops::dmesg::Reason;
use crashview_ramoops::layout::Params;
use crashview_ramoops::region::{Overrides, Region};
use panic_recorder::backend::DmesgRecord;
use panic_recorder::list::ListId;
use panic_recorder::plan::Config;
use panic_recorder::platform::{ChainEntry, Platform};
use panic_recorder::raw::RawRegion;
use panic_recorder::recorder::{Claim, Recorder, Setup};

const MEM: usize = 0x10000;
const JOURNAL: usize = 0x2000;

struct Host {
    clock: AtomicU64,
    log: Mutex<Vec<String>>,
    kexec_works: bool,
    stopped: AtomicBool,
    /// The recorder pstore's frontend writes through (our backend), when
    /// the kmsg dump step should store a record.
    backend: OnceLock<&'static Recorder>,
    compress: bool,
    dumps: AtomicU32,
    /// The legacy notifier chain: `Ok(name)` a callable block, `Err((why,
    /// resumable))` one that fails the platform's checks.
    chain: Vec<Result<&'static str, (&'static str, bool)>>,
    chain_calls: Mutex<Vec<&'static str>>,
}

fn name32(s: &str) -> [u8; 32] {
    let mut n = [0u8; 32];
    n[..s.len().min(32)].copy_from_slice(&s.as_bytes()[..s.len().min(32)]);
    n
}

thread_local! {
    static CPU: std::cell::Cell<u16> = const { std::cell::Cell::new(0) };
}

impl Host {
    fn new(kexec_works: bool) -> Self {
        Host {
            clock: AtomicU64::new(1_000_000),
            log: Mutex::new(vec![
                "<6>[    0.000000] Linux version 6.1.0 (host test)".into()
            ]),
            kexec_works,
            stopped: AtomicBool::new(false),
            backend: OnceLock::new(),
            compress: false,
            dumps: AtomicU32::new(0),
            chain: Vec::new(),
            chain_calls: Mutex::new(Vec::new()),
        }
    }

    fn with_backend(self, rec: &'static Recorder) -> Self {
        let _ = self.backend.set(rec);
        self
    }
}

/// Unwinds out of "crash_kexec" to model a call that never returns.
struct KexecJumped;

impl Platform for Host {
    fn now_ns(&self) -> u64 {
        self.clock.fetch_add(1_500, Ordering::SeqCst)
    }
    fn wall_time(&self) -> (i64, u64) {
        (1_795_919_204, 293_221_000)
    }
    fn cpu_id(&self) -> u16 {
        CPU.with(|c| c.get())
    }
    fn stop_other_cpus(&self) -> bool {
        self.stopped.store(true, Ordering::SeqCst);
        true
    }
    fn crash_kexec(&self) {
        if self.kexec_works {
            std::panic::panic_any(KexecJumped);
        }
    }
    fn console_flush(&self) -> bool {
        true
    }
    fn delay_ms(&self, ms: u64) -> bool {
        self.clock.fetch_add(ms * 1_000_000, Ordering::SeqCst);
        true
    }
    fn reboot(&self) -> bool {
        true
    }
    fn is_code(&self, addr: usize) -> bool {
        // Any address but null counts as code on the host.
        addr != 0
    }
    fn print(&self, line: &[u8]) {
        let t = self.clock.load(Ordering::SeqCst);
        self.log.lock().unwrap().push(format!(
            "<4>[{:5}.{:06}] {}",
            t / 1_000_000_000,
            t % 1_000_000_000 / 1000,
            String::from_utf8_lossy(line)
        ));
    }
    fn notifier_next(&self, cursor: usize) -> Option<(ChainEntry, usize)> {
        let e = match *self.chain.get(cursor)? {
            Ok(name) => ChainEntry::Call {
                block: cursor,
                name: name32(name),
            },
            Err((why, resumable)) => ChainEntry::Corrupt {
                why: name32(why),
                resumable,
            },
        };
        Some((e, cursor + 1))
    }
    fn notifier_call(&self, block: usize) {
        if let Some(Ok(name)) = self.chain.get(block) {
            self.chain_calls.lock().unwrap().push(name);
        }
    }
    /// pstore's frontend: `<Reason>#<n> Part1` and the newest log that
    /// fits the backend's buffer, deflated when asked (as pstore's default),
    /// handed to the backend's write.
    fn kmsg_dump(&self) -> bool {
        let Some(rec) = self.backend.get() else {
            return false;
        };
        let n = self.dumps.fetch_add(1, Ordering::SeqCst) + 1;
        let text: String = self
            .log
            .lock()
            .unwrap()
            .iter()
            .map(|l| format!("{l}\n"))
            .collect();
        let mut body = format!("Panic#{n} Part1\n").into_bytes();
        let cap = if self.compress {
            crashview_ramoops::pstore::zbufsize_deflate(rec.dmesg_capacity())
        } else {
            rec.dmesg_capacity()
        };
        let room = cap.saturating_sub(body.len());
        body.extend_from_slice(&text.as_bytes()[text.len().saturating_sub(room)..]);
        let (data, compressed) = if self.compress {
            (miniz_oxide::deflate::compress_to_vec(&body, 6), true)
        } else {
            (body, false)
        };
        let (secs, nsecs) = self.wall_time();
        rec.write_dmesg(
            self,
            &DmesgRecord {
                reason: Reason::Panic,
                count: n,
                part: 1,
                compressed,
                time: (secs, nsecs),
                data: &data,
            },
        )
        .is_ok()
    }
    fn kernel_facts(&self) -> (Option<u64>, u64) {
        (Some(0x2f80_0000), 0x1)
    }
}

fn setup(plan: Config, ecc: u32) -> Setup {
    Setup {
        plan,
        ramoops: Params {
            mem_size: MEM as u64,
            record_size: 0x2000,
            console_size: 0,
            ftrace_size: 0,
            pmsg_size: 0,
            ecc,
            ftrace_zones: 1,
        },
        journal_len: JOURNAL,
        version_code: 0x0601c0,
        stock_panic: false,
        kmsg_dumper: None,
    }
}

/// A leaked region and a recorder attached to it.
fn rig(plan: Config, ecc: u32) -> (&'static Recorder, &'static mut [u8]) {
    let mem: &'static mut [u8] = Box::leak(vec![0u8; MEM + JOURNAL].into_boxed_slice());
    let rec: &'static Recorder = Box::leak(Box::new(Recorder::new()));
    // SAFETY: leaked, so valid forever; the test only reads it after the
    // recorder is done writing (or reads a snapshot racily on purpose).
    let region = unsafe { RawRegion::new(mem.as_mut_ptr(), mem.len()) };
    rec.attach(region, setup(plan, ecc)).unwrap();
    (rec, mem)
}

fn snapshot(mem: &[u8]) -> Vec<u8> {
    mem.iter()
        .map(|b| unsafe { std::ptr::read_volatile(b) })
        .collect()
}

fn steps_ran(j: &journal::Journal<'_>) -> Vec<(StepKind, Option<Outcome>)> {
    let plan: Vec<StepKind> = j
        .entries()
        .filter(|e| e.kind == EntryKind::PlanStep)
        .map(|e| e.step_kind().unwrap())
        .collect();
    let mut out = Vec::new();
    for e in j.entries() {
        match e.kind {
            EntryKind::StepBegin => out.push((plan[e.step as usize], None)),
            EntryKind::StepEnd => {
                let last = out
                    .iter_mut()
                    .rev()
                    .find(|(k, _)| *k == plan[e.step as usize])
                    .unwrap();
                last.1 = e.outcome();
            }
            _ => {}
        }
    }
    out
}

static CALLS: AtomicUsize = AtomicUsize::new(0);
unsafe extern "C" fn count_call(_: *mut c_void) {
    CALLS.fetch_add(1, Ordering::SeqCst);
}

#[test]
fn default_plan_runs_every_step_once_and_journals_it() {
    let (rec, mem) = rig(
        Config {
            panic_timeout: 5,
            ..Config::default()
        },
        16,
    );
    let host = Host::new(false).with_backend(rec);
    rec.hypervisor
        .register(count_call, 0, b"hv_notify")
        .unwrap();
    rec.info.register(count_call, 0, b"ftrace_dump").unwrap();
    assert_eq!(
        rec.panic(&host, false, b"sysrq triggered crash"),
        Claim::Ran
    );
    assert!(CALLS.load(Ordering::SeqCst) >= 2);
    let snap = snapshot(mem);
    let j = journal::read(&snap[MEM..]).unwrap();
    assert_eq!(j.tail, Tail::Clean);
    let ran = steps_ran(&j);
    let kinds: Vec<StepKind> = ran.iter().map(|r| r.0).collect();
    use StepKind::*;
    assert_eq!(
        kinds,
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
    assert!(
        ran.iter().all(|r| r.1.is_some()),
        "every step ended: {ran:?}"
    );
    assert_eq!(ran[2].1, Some(Outcome::Done));
    assert_eq!(ran[1].1, Some(Outcome::Skipped), "empty list");
    assert_eq!(j.entries().last().unwrap().kind, EntryKind::PanicEnd);
    // Timestamps are monotonic.
    let ts: Vec<u64> = j.entries().map(|e| e.time_ns).collect();
    assert!(ts.windows(2).all(|w| w[0] <= w[1]));

    // The kmsg dump is a ramoops record the host reader (and Linux) reads.
    let region = Region::scan(
        &snap[..MEM],
        &Overrides {
            ecc: Some(16),
            ..Overrides::default()
        },
    )
    .unwrap();
    let recs = region.records();
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].file_name(), "dmesg-ramoops-0");
    let text = String::from_utf8(recs[0].file_contents()).unwrap();
    assert!(
        text.starts_with("Panic#1 Part1\n<6>[    0.000000] Linux version 6.1.0"),
        "{text}"
    );
    assert!(
        text.contains("CPU 0 uptime"),
        "info line in the dump: {text}"
    );
    assert!(
        text.contains("panic: sysrq triggered crash"),
        "panic message in the dump: {text}"
    );
    assert!(
        text.contains(" 6. kmsg dump"),
        "plan text in the dump: {text}"
    );
    assert!(text.ends_with("\nECC: No errors detected\n"));
    assert_eq!(recs[0].header.unwrap().secs, 1_795_919_204);
}

#[test]
fn crash_dump_first_stops_there() {
    let (rec, mem) = rig(Config::default(), 0);
    let host = Host::new(true);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rec.panic(&host, true, b"Oops")
    }));
    assert!(r.is_err(), "crash_kexec did not return");
    let snap = snapshot(mem);
    let j = journal::read(&snap[MEM..]).unwrap();
    let ran = steps_ran(&j);
    assert_eq!(
        ran,
        [
            (StepKind::PreCrashDump, Some(Outcome::Skipped)),
            (StepKind::CrashDump, None)
        ],
        "began, never ended"
    );
    assert!(
        !host.stopped.load(Ordering::SeqCst),
        "level 0: nothing else ran"
    );
}

#[test]
fn crash_dump_that_returns_is_recorded_and_the_path_goes_on() {
    let (rec, mem) = rig(
        Config {
            prefer_crash_dump: false,
            ..Config::default()
        },
        0,
    );
    let host = Host::new(false);
    rec.panic(&host, true, b"Oops");
    let j = journal::read(&mem[MEM..]).unwrap();
    let ran = steps_ran(&j);
    assert!(ran.contains(&(StepKind::CrashDump, Some(Outcome::Returned))));
    let pos = |k| ran.iter().position(|r| r.0 == k).unwrap();
    assert!(
        pos(StepKind::KmsgDump) < pos(StepKind::CrashDump),
        "notifiers first when asked"
    );
}

static NESTED_REC: AtomicUsize = AtomicUsize::new(0);
static NESTED_HOST: AtomicUsize = AtomicUsize::new(0);
unsafe extern "C" fn panics_again(_: *mut c_void) {
    let rec = unsafe { &*(NESTED_REC.load(Ordering::SeqCst) as *const Recorder) };
    let host = unsafe { &*(NESTED_HOST.load(Ordering::SeqCst) as *const Host) };
    assert_eq!(
        rec.panic(host, false, b"nested: BUG in notifier"),
        Claim::Nested
    );
}

#[test]
fn nested_panic_resumes_after_the_step_and_never_reruns_one() {
    let (rec, mem) = rig(
        Config {
            panic_timeout: -1,
            ..Config::default()
        },
        0,
    );
    let host: &'static Host = Box::leak(Box::new(Host::new(false)));
    NESTED_REC.store(rec as *const _ as usize, Ordering::SeqCst);
    NESTED_HOST.store(host as *const _ as usize, Ordering::SeqCst);
    rec.hypervisor
        .register(panics_again, 0, b"buggy_hv")
        .unwrap();
    assert_eq!(rec.panic(host, false, b"first"), Claim::Ran);
    let j = journal::read(&mem[MEM..]).unwrap();
    let ran = steps_ran(&j);
    let kinds: Vec<StepKind> = ran.iter().map(|r| r.0).collect();
    for k in &kinds {
        assert_eq!(
            kinds.iter().filter(|x| *x == k).count(),
            1,
            "{k:?} ran twice: {kinds:?}"
        );
    }
    assert_eq!(
        ran.iter().find(|r| r.0 == StepKind::Hypervisor).unwrap().1,
        Some(Outcome::NestedPanic)
    );
    assert!(j
        .entries()
        .any(|e| e.kind == EntryKind::NestedPanic && e.name_bytes() == b"nested: BUG in notifier"));
    assert_eq!(kinds.last(), Some(&StepKind::Reboot));
    assert_eq!(
        j.entries()
            .filter(|e| e.kind == EntryKind::PanicEnd)
            .count(),
        1
    );
}

#[test]
fn other_cpus_are_turned_away_while_one_runs() {
    let (rec, mem) = rig(
        Config {
            panic_timeout: -1,
            ..Config::default()
        },
        0,
    );
    let host = Arc::new(Host::new(false));
    let gate = Arc::new(std::sync::Barrier::new(9));
    let mut handles = Vec::new();
    for cpu in 0..8u16 {
        let (h, g) = (host.clone(), gate.clone());
        let rec: &'static Recorder = rec;
        handles.push(std::thread::spawn(move || {
            CPU.with(|c| c.set(cpu));
            g.wait();
            rec.panic(&*h, false, b"storm")
        }));
    }
    gate.wait();
    let claims: Vec<Claim> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(claims.iter().filter(|c| **c == Claim::Ran).count(), 1);
    assert_eq!(claims.iter().filter(|c| **c == Claim::OtherCpu).count(), 7);
    let j = journal::read(&mem[MEM..]).unwrap();
    let kinds: Vec<StepKind> = steps_ran(&j).iter().map(|r| r.0).collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == StepKind::StopCpus).count(),
        1
    );
}

#[test]
fn corrupted_entries_are_skipped_never_called() {
    let (rec, mem) = rig(
        Config {
            panic_timeout: -1,
            ..Config::default()
        },
        0,
    );
    let host = Host::new(false);
    static HIT: AtomicUsize = AtomicUsize::new(0);
    unsafe extern "C" fn must_not_run(_: *mut c_void) {
        HIT.fetch_add(1, Ordering::SeqCst);
    }
    let a = rec
        .pre_reboot
        .register(must_not_run, 0, b"led_blink")
        .unwrap();
    rec.pre_reboot
        .register(count_call, 0, b"ipmi_notify")
        .unwrap();
    // A bit flip in the stored function pointer.
    unsafe { *rec.list(ListId::PreReboot).slot_data_ptr(a).unwrap() ^= 0x40 };
    rec.panic(&host, false, b"Oops");
    assert_eq!(HIT.load(Ordering::SeqCst), 0);
    let j = journal::read(&mem[MEM..]).unwrap();
    assert!(j
        .entries()
        .any(|e| e.kind == EntryKind::CorruptEntry && e.arg == a as u64));
    assert!(j
        .entries()
        .any(|e| e.kind == EntryKind::CallEnd && e.name_bytes() == b"ipmi_notify"));
    assert_eq!(
        steps_ran(&j)
            .iter()
            .find(|r| r.0 == StepKind::PreReboot)
            .unwrap()
            .1,
        Some(Outcome::CorruptedEntry)
    );
}

#[test]
fn a_hung_notifier_is_named_by_the_journal() {
    let (rec, mem) = rig(
        Config {
            panic_timeout: -1,
            ..Config::default()
        },
        0,
    );
    static RELEASE: AtomicBool = AtomicBool::new(false);
    static ENTERED: AtomicBool = AtomicBool::new(false);
    unsafe extern "C" fn hang(_: *mut c_void) {
        ENTERED.store(true, Ordering::SeqCst);
        while !RELEASE.load(Ordering::SeqCst) {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
    rec.pre_reboot
        .register(hang, 0, b"hung_led_notifier")
        .unwrap();
    let region_addr = mem.as_ptr() as usize;
    let t = std::thread::spawn(move || rec.panic(&Host::new(false), false, b"Oops"));
    while !ENTERED.load(Ordering::SeqCst) {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    // The machine "dies" now: read memory as the next boot would.
    let snap: Vec<u8> = (0..MEM + JOURNAL)
        .map(|i| unsafe { std::ptr::read_volatile((region_addr + i) as *const u8) })
        .collect();
    RELEASE.store(true, Ordering::SeqCst);
    t.join().unwrap();
    let j = journal::read(&snap[MEM..]).unwrap();
    let last = j.entries().last().unwrap();
    assert_eq!(last.kind, EntryKind::CallBegin);
    assert_eq!(last.name_bytes(), b"hung_led_notifier");
    let ran = steps_ran(&j);
    assert_eq!(ran.last().unwrap(), &(StepKind::PreReboot, None));
}

#[test]
fn dumps_rotate_through_the_zones_like_ramoops() {
    // Eight 0x2000 zones; one dump per panic; a fresh recorder per "boot"
    // starts at zone 0 again, as ramoops' dump_write_cnt does.
    let (rec, mem) = rig(
        Config {
            panic_timeout: -1,
            ..Config::default()
        },
        0,
    );
    rec.panic(&Host::new(false).with_backend(rec), false, b"x");
    let region = Region::scan(
        &mem[..MEM],
        &Overrides {
            record_size: Some(0x2000),
            console_size: Some(0),
            ftrace_size: Some(0),
            pmsg_size: Some(0),
            ..Overrides::default()
        },
    )
    .unwrap();
    assert_eq!(region.layout.dmesg.count, 8);
    assert_eq!(
        region.records().iter().map(|r| r.id).collect::<Vec<_>>(),
        [0]
    );
}

#[test]
fn compressed_dumps_inflate_like_pstore_expects() {
    let (rec, mem) = rig(
        Config {
            panic_timeout: -1,
            ..Config::default()
        },
        16,
    );
    let mut host = Host::new(false).with_backend(rec);
    host.compress = true;
    for i in 0..400 {
        host.print(
            format!(
                "ACPI: PCI Interrupt Link [LNK{}] enabled at IRQ {}",
                i % 4,
                i % 11
            )
            .as_bytes(),
        );
    }
    rec.panic(&host, false, b"compressed");
    let region = Region::scan(&mem[..MEM], &Overrides::default()).unwrap();
    let recs = region.records();
    assert!(recs[0].compressed(), "stored with -C");
    let f = recs[0].pstore_file();
    assert_eq!(
        f.name, "dmesg-ramoops-0",
        "inflates within pstore's limit, so no .enc.z"
    );
    let text = String::from_utf8(f.contents).unwrap();
    assert!(text.starts_with("Panic#1 Part1\n"));
    assert!(
        text.len() > recs[0].payload.len() * 2,
        "more log than an uncompressed record holds"
    );
    let j = journal::read(&mem[MEM..]).unwrap();
    assert!(j
        .entries()
        .any(|e| e.kind == EntryKind::DumpWritten && e.name_bytes() == b"Panic#1 Part1 deflated"));
}

/// A recorder attached as the module attaches it: the stock panic() owns
/// the path, the recorder observes it from its hooks.
fn stock_rig(post: bool, timeout: i32) -> (&'static Recorder, &'static mut [u8]) {
    let mem: &'static mut [u8] = Box::leak(vec![0u8; MEM + JOURNAL].into_boxed_slice());
    let rec: &'static Recorder = Box::leak(Box::new(Recorder::new()));
    // SAFETY: leaked, valid forever; read only after the recorder wrote.
    let region = unsafe { RawRegion::new(mem.as_mut_ptr(), mem.len()) };
    let mut s = setup(
        Config {
            crash_kexec_post_notifiers: post,
            panic_timeout: timeout,
            ..Config::default()
        },
        16,
    );
    s.stock_panic = true;
    rec.attach(region, s).unwrap();
    (rec, mem)
}

/// `(step, performer is the kernel, outcome)` in journal order.
fn stock_steps(j: &journal::Journal<'_>) -> Vec<(StepKind, bool, Option<Outcome>)> {
    let plan: Vec<StepKind> = j
        .entries()
        .filter(|e| e.kind == EntryKind::PlanStep)
        .map(|e| e.step_kind().unwrap())
        .collect();
    let mut out: Vec<(StepKind, bool, Option<Outcome>)> = Vec::new();
    for e in j.entries() {
        match e.kind {
            EntryKind::StepBegin => out.push((plan[e.step as usize], e.arg >> 8 == 1, None)),
            EntryKind::StepEnd => {
                let k = plan[e.step as usize];
                out.iter_mut().rev().find(|s| s.0 == k).unwrap().2 = e.outcome();
            }
            _ => {}
        }
    }
    out
}

fn oops(rec: &Recorder, host: &Host, n: u32) -> u32 {
    let body = format!("Oops#{n} Part1\n<4>[    1.000000] BUG: unable to handle page fault\n");
    rec.write_dmesg(
        host,
        &DmesgRecord {
            reason: Reason::Oops,
            count: n,
            part: 1,
            compressed: false,
            time: (1_795_919_000, 0),
            data: body.as_bytes(),
        },
    )
    .unwrap()
}

/// The stock path with no crash kernel, as the module sees it: oopses
/// before the panic journaled with their reason, the recorder's lists at
/// the head of the notifier chain, the kernel's steps between the hooks,
/// the reboot lists at panic_blink, the rest left to the kernel.
#[test]
fn the_stock_path_is_journaled_from_its_hooks() {
    use StepKind::*;
    let (rec, mem) = stock_rig(false, 1);
    let host = Host::new(false);
    rec.info.register(count_call, 0, b"client_info").unwrap();
    rec.pre_reboot
        .register(count_call, 0, b"client_led")
        .unwrap();
    assert_eq!(oops(rec, &host, 1), 0);
    assert_eq!(oops(rec, &host, 2), 1);
    // A hook before any panic does nothing.
    assert_eq!(rec.resume_after(&host, KmsgDump), Claim::NotPanicking);
    assert_eq!(
        rec.panic(&host, false, b"sysrq triggered crash"),
        Claim::Ran
    );
    // Returned to the kernel, which now walks its own notifiers.
    let j = journal::read(&mem[MEM..]).unwrap();
    assert_eq!(
        j.progress().open_step.map(|e| e.arg & 0xff),
        Some(NotifierChain as u64)
    );
    assert_eq!(rec.resume_after(&host, NotifierChain), Claim::Ran);
    // pstore's dump through our backend, then our second dumper.
    rec.write_dmesg(
        &host,
        &DmesgRecord {
            reason: Reason::Panic,
            count: 3,
            part: 1,
            compressed: false,
            time: (1_795_919_001, 0),
            data: b"Panic#3 Part1\n<0>[    2.000000] Kernel panic - not syncing: sysrq\n",
        },
    )
    .unwrap();
    rec.resume_after(&host, KmsgDump);
    let j = journal::read(&mem[MEM..]).unwrap();
    assert_eq!(
        j.progress().open_step.map(|e| e.arg & 0xff),
        Some(ConsoleFlush as u64)
    );
    // A hook of a step already past changes nothing.
    rec.resume_after(&host, NotifierChain);
    rec.resume_after(&host, ConsoleFlush);
    let j = journal::read(&mem[MEM..]).unwrap();
    assert_eq!(
        stock_steps(&j),
        [
            (StopCpus, true, Some(Outcome::Delegated)),
            (PreCrashDump, false, Some(Outcome::Skipped)),
            (Hypervisor, false, Some(Outcome::Skipped)),
            (Info, false, Some(Outcome::Done)),
            (NotifierChain, true, Some(Outcome::Delegated)),
            (KmsgDump, true, Some(Outcome::Delegated)),
            (ConsoleFlush, true, Some(Outcome::Delegated)),
            (PreReboot, false, Some(Outcome::Done)),
            (PostReboot, false, Some(Outcome::Skipped)),
            (Delay, true, Some(Outcome::Delegated)),
            (Reboot, true, Some(Outcome::Delegated)),
        ]
    );
    let dumps: Vec<(u64, Vec<u8>)> = j
        .entries()
        .filter(|e| e.kind == EntryKind::DumpWritten)
        .map(|e| (e.arg, e.name_bytes().to_vec()))
        .collect();
    assert_eq!(
        dumps,
        [
            (0, b"Oops#1 Part1".to_vec()),
            (1, b"Oops#2 Part1".to_vec()),
            (2, b"Panic#3 Part1".to_vec())
        ]
    );
    // The oopses come before the panic, the panic's dump inside its step.
    let kinds: Vec<EntryKind> = j.entries().map(|e| e.kind).collect();
    assert_eq!(
        &kinds[..3],
        [
            EntryKind::DumpWritten,
            EntryKind::DumpWritten,
            EntryKind::PanicStart
        ]
    );
    assert!(j.progress().finished);
    assert_eq!(j.entries().last().unwrap().kind, EntryKind::PanicEnd);
}

/// crash_kexec_post_notifiers=1 with a crash kernel: after the kmsg dump
/// the kernel kexecs; the journal then ends inside "crash dump", which is
/// where the machine left. A kexec that comes back ends it as "returned".
#[test]
fn with_post_notifiers_the_journal_ends_in_the_kernels_crash_dump() {
    use StepKind::*;
    let (rec, mem) = stock_rig(true, 0);
    let host = Host::new(false);
    rec.panic(&host, true, b"Oops");
    rec.resume_after(&host, NotifierChain);
    rec.resume_after(&host, KmsgDump);
    let j = journal::read(&mem[MEM..]).unwrap();
    let open = j.progress().open_step.unwrap();
    assert_eq!(open.arg & 0xff, CrashDump as u64);
    assert_eq!(open.arg >> 8, 1, "the kernel's step");
    let before: Vec<StepKind> = stock_steps(&j).iter().map(|s| s.0).collect();
    assert_eq!(
        before,
        [
            StopCpus,
            PreCrashDump,
            Hypervisor,
            Info,
            NotifierChain,
            KmsgDump,
            CrashDump
        ]
    );
    // panic_blink: the kexec failed, the path went on.
    rec.resume_after(&host, ConsoleFlush);
    let j = journal::read(&mem[MEM..]).unwrap();
    let s = stock_steps(&j);
    assert_eq!(s[6], (CrashDump, true, Some(Outcome::Returned)));
    assert_eq!(
        s.last().unwrap().0,
        PostReboot,
        "panic_timeout=0: halted after the lists"
    );
    assert!(j.progress().finished);
}

/// Without post notifiers and with a crash kernel, the kexec ran before
/// the chain: if the recorder runs at all, it came back.
#[test]
fn a_crash_dump_before_the_chain_that_returned_is_journaled_so() {
    let (rec, mem) = stock_rig(false, -1);
    let host = Host::new(false);
    rec.panic(&host, true, b"Oops");
    let j = journal::read(&mem[MEM..]).unwrap();
    let s = stock_steps(&j);
    assert_eq!(s[0], (StepKind::CrashDump, true, Some(Outcome::Returned)));
    let plan = rec.current_plan(true).unwrap();
    let mut text = String::new();
    plan.write_text(&mut text).unwrap();
    assert!(text.contains("crash_kexec_post_notifiers=0"), "{text}");
    assert!(
        text.contains("the recorder sees nothing of such a panic"),
        "{text}"
    );
    // panic_timeout < 0: no panic_blink, so the reboot lists run after the
    // kmsg dump and the console flush is the kernel's, unobserved.
    rec.resume_after(&host, StepKind::NotifierChain);
    rec.resume_after(&host, StepKind::KmsgDump);
    let j = journal::read(&mem[MEM..]).unwrap();
    let kinds: Vec<StepKind> = stock_steps(&j).iter().map(|s| s.0).collect();
    assert_eq!(
        &kinds[kinds.len() - 4..],
        [
            StepKind::PreReboot,
            StepKind::PostReboot,
            StepKind::ConsoleFlush,
            StepKind::Reboot
        ]
    );
    assert!(j.progress().finished);
}

/// Oopses before a panic may fill a quarter of the journal, no more: the
/// rest is the panic's.
#[test]
fn oops_storms_leave_room_for_the_panic() {
    let (rec, mem) = stock_rig(false, 1);
    let host = Host::new(false);
    for n in 1..=200 {
        oops(rec, &host, n);
    }
    assert!(rec.journal_dropped() > 0);
    rec.panic(&host, false, b"after the storm");
    rec.resume_after(&host, StepKind::ConsoleFlush);
    let j = journal::read(&mem[MEM..]).unwrap();
    let dumps = j
        .entries()
        .filter(|e| e.kind == EntryKind::DumpWritten)
        .count() as u32;
    assert_eq!(dumps, j.header.capacity / 4);
    assert!(
        j.progress().finished,
        "the whole panic path fits after the storm"
    );
}

/// The legacy panic_notifier_list, walked by the recorder entry by entry:
/// each callable block journaled with its symbol before and after the call,
/// a block that fails the platform's checks journaled and never called, a
/// chain that cannot be followed further ended there.
#[test]
fn the_legacy_chain_is_walked_entry_by_entry() {
    let (rec, mem) = rig(
        Config {
            panic_timeout: -1,
            ..Config::default()
        },
        0,
    );
    let mut host = Host::new(false);
    host.chain = vec![
        Ok("dump_kernel_offset"),
        Err(("callback outside text", true)),
        Ok("hung_task_panic"),
        Err(("bad next pointer", false)),
        Ok("never_reached"),
    ];
    rec.panic(&host, false, b"Oops");
    assert_eq!(
        *host.chain_calls.lock().unwrap(),
        ["dump_kernel_offset", "hung_task_panic"]
    );
    let j = journal::read(&mem[MEM..]).unwrap();
    let chain = steps_ran(&j)
        .into_iter()
        .find(|s| s.0 == StepKind::NotifierChain)
        .unwrap();
    assert_eq!(chain.1, Some(Outcome::CorruptedEntry));
    let seen: Vec<(EntryKind, Vec<u8>)> = j
        .entries()
        .filter(|e| {
            matches!(
                e.kind,
                EntryKind::CallBegin | EntryKind::CallEnd | EntryKind::CorruptEntry
            )
        })
        .map(|e| (e.kind, e.name_bytes().to_vec()))
        .collect();
    assert_eq!(
        seen,
        [
            (EntryKind::CallBegin, b"dump_kernel_offset".to_vec()),
            (EntryKind::CallEnd, b"dump_kernel_offset".to_vec()),
            (EntryKind::CorruptEntry, b"callback outside text".to_vec()),
            (EntryKind::CallBegin, b"hung_task_panic".to_vec()),
            (EntryKind::CallEnd, b"hung_task_panic".to_vec()),
            (EntryKind::CorruptEntry, b"bad next pointer".to_vec()),
        ]
    );
    assert!(j.progress().finished, "the path goes on after the chain");
}

/// A journal mirrored entry by entry: the copy reads exactly as the first
/// (ordinary memory for the vmcore, reserved memory for the next boot).
#[test]
fn the_mirror_holds_the_same_journal() {
    let mem: &'static mut [u8] = Box::leak(vec![0u8; JOURNAL].into_boxed_slice());
    let copy: &'static mut [u8] = Box::leak(vec![0xa5u8; JOURNAL].into_boxed_slice());
    let rec: &'static Recorder = Box::leak(Box::new(Recorder::new()));
    // SAFETY: leaked buffers, used only by this recorder.
    let (region, mirror) = unsafe {
        (
            RawRegion::new(mem.as_mut_ptr(), mem.len()),
            RawRegion::new(copy.as_mut_ptr(), copy.len()),
        )
    };
    let mut s = setup(
        Config {
            panic_timeout: -1,
            ..Config::default()
        },
        0,
    );
    s.ramoops.mem_size = 0;
    rec.attach_mirrored(region, s, Some(mirror)).unwrap();
    rec.panic(&Host::new(false), false, b"mirrored");
    let a = journal::read(&mem[..]).unwrap();
    let b = journal::read(&copy[..]).unwrap();
    assert!(a.progress().finished);
    assert_eq!(
        a.entries().collect::<Vec<_>>(),
        b.entries().collect::<Vec<_>>()
    );
    assert_eq!(b.tail, Tail::Clean);
}
