//! The recorder on a host platform: threads stand in for CPUs, a byte buffer
//! for the reserved region, and closures inject hangs, nested panics and
//! corrupted list entries. The journal and ramoops records are then read back
//! with the host readers (crashview-journal, crashview-ramoops).

use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crashview_journal::{self as journal, EntryKind, Outcome, StepKind, Tail};
use crashview_ramoops::layout::Params;
use crashview_ramoops::region::{Overrides, Region};
use panic_recorder::list::ListId;
use panic_recorder::plan::Config;
use panic_recorder::platform::Platform;
use panic_recorder::raw::RawRegion;
use panic_recorder::recorder::{Claim, Recorder, Setup};

const MEM: usize = 0x10000;
const JOURNAL: usize = 0x2000;

struct Host {
    clock: AtomicU64,
    log: Mutex<Vec<String>>,
    kexec_works: bool,
    stopped: AtomicBool,
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
        }
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
        addr != 0 && addr % 2 == 0 || addr % 2 == 1
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
    fn kmsg_tail(&self, buf: &mut [u8]) -> usize {
        let text: String = self
            .log
            .lock()
            .unwrap()
            .iter()
            .map(|l| format!("{l}\n"))
            .collect();
        let b = text.as_bytes();
        let n = b.len().min(buf.len());
        buf[..n].copy_from_slice(&b[b.len() - n..]);
        n
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
        compress: false,
    }
}

/// A leaked region and a recorder attached to it.
fn rig(plan: Config, ecc: u32) -> (&'static Recorder, &'static mut [u8]) {
    let mem: &'static mut [u8] = Box::leak(vec![0u8; MEM + JOURNAL].into_boxed_slice());
    let rec: &'static Recorder = Box::leak(Box::new(Recorder::new()));
    // SAFETY: leaked, so valid forever; the test only reads it after the
    // recorder is done writing (or reads a snapshot racily on purpose).
    let region = unsafe { RawRegion::new(mem.as_mut_ptr(), mem.len()) };
    rec.attach(region, setup(plan, ecc), None).unwrap();
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
    let host = Host::new(false);
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
        text.contains(" 5. kmsg dump"),
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
    rec.panic(&Host::new(false), false, b"x");
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
    let mem: &'static mut [u8] = Box::leak(vec![0u8; MEM + JOURNAL].into_boxed_slice());
    let scratch: &'static mut [u32] = Box::leak(vec![0u32; 64 * 1024].into_boxed_slice());
    let rec: &'static Recorder = Box::leak(Box::new(Recorder::new()));
    // SAFETY: leaked buffers, used only by this recorder.
    let region = unsafe { RawRegion::new(mem.as_mut_ptr(), mem.len()) };
    let scratch = unsafe { RawRegion::new(scratch.as_mut_ptr().cast(), scratch.len() * 4) };
    let s = Setup {
        compress: true,
        ..setup(
            Config {
                panic_timeout: -1,
                ..Config::default()
            },
            16,
        )
    };
    rec.attach(region, s, Some(scratch)).unwrap();
    let host = Host::new(false);
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
        .any(|e| e.kind == EntryKind::DumpWritten && e.name_bytes().ends_with(b"deflated")));
}
