//! Costs on the panic path (host build): one journal entry, one pstore
//! write of a record into a ramoops zone (with and without ECC) and its
//! read back, and the stack depth at which list callbacks and the backend
//! write run. The in-kernel cost of a kmsg dump, against the stock ramoops,
//! is measured by kernel-side/linux-module/bench-dump.sh; `.text` size by
//! size.sh.

use std::ffi::c_void;
use std::sync::atomic::{AtomicUsize, Ordering};

use crashview_journal::{Entry, EntryKind, Header, JournalWriter};
use crashview_ramoops::dmesg::Reason;
use crashview_ramoops::layout::Params;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use panic_recorder::backend::DmesgRecord;
use panic_recorder::plan::Config;
use panic_recorder::platform::Platform;
use panic_recorder::raw::RawRegion;
use panic_recorder::recorder::{Recorder, Setup};

/// Deepest stack address seen per place: 0..5 the five lists' callbacks,
/// 5 the info lines (printk), 6 the backend write (journal barrier), 7 stop-CPUs.
static DEEPEST: [AtomicUsize; 8] = [const { AtomicUsize::new(usize::MAX) }; 8];
static TOP: AtomicUsize = AtomicUsize::new(0);
const PLACES: [&str; 8] = [
    "pre-crash-dump callback",
    "hypervisor callback",
    "info callback",
    "pre-reboot callback",
    "post-reboot callback",
    "info lines (printk)",
    "backend write (journal)",
    "stop CPUs",
];

#[inline(never)]
fn note_sp(place: usize) {
    let marker = 0u8;
    let sp = std::hint::black_box(&marker) as *const u8 as usize;
    DEEPEST[place].fetch_min(sp, Ordering::SeqCst);
}

struct Bench {
    log: Vec<u8>,
    rec: Option<&'static Recorder>,
}

fn record(data: &[u8]) -> DmesgRecord<'_> {
    DmesgRecord {
        reason: Reason::Panic,
        count: 1,
        part: 1,
        compressed: false,
        time: (1_795_919_204, 0),
        data,
    }
}

/// A leaked region and a recorder attached to it, as the module attaches.
fn rig(
    mem_size: u64,
    record_size: u64,
    ecc: u32,
    timeout: i32,
) -> (&'static Recorder, &'static [u8]) {
    let mem: &'static mut [u8] =
        Box::leak(vec![0u8; mem_size as usize + 0x2000].into_boxed_slice());
    let rec: &'static Recorder = Box::leak(Box::new(Recorder::new()));
    // SAFETY: leaked buffer, used only by this recorder.
    let region = unsafe { RawRegion::new(mem.as_mut_ptr(), mem.len()) };
    let setup = Setup {
        plan: Config {
            panic_timeout: timeout,
            ..Config::default()
        },
        stock_panic: false,
        ramoops: Params {
            mem_size,
            record_size,
            console_size: 0,
            ftrace_size: 0,
            pmsg_size: 0,
            ecc,
            ftrace_zones: 1,
        },
        journal_len: 0x2000,
        version_code: 0,
        kmsg_dumper: None,
    };
    rec.attach(region, setup).unwrap();
    (rec, mem)
}

impl Platform for Bench {
    fn now_ns(&self) -> u64 {
        0
    }
    fn wall_time(&self) -> (i64, u64) {
        (1_795_919_204, 0)
    }
    fn cpu_id(&self) -> u16 {
        0
    }
    fn stop_other_cpus(&self) -> bool {
        note_sp(7);
        true
    }
    fn crash_kexec(&self) {}
    fn console_flush(&self) -> bool {
        true
    }
    fn delay_ms(&self, _: u64) -> bool {
        true
    }
    fn reboot(&self) -> bool {
        true
    }
    fn is_code(&self, _: usize) -> bool {
        true
    }
    fn print(&self, _: &[u8]) {
        note_sp(5);
    }
    fn kmsg_dump(&self) -> bool {
        let Some(rec) = self.rec else { return false };
        rec.write_dmesg(self, &record(&self.log)).is_ok()
    }
    fn write_barrier(&self) {
        note_sp(6);
    }
    fn kernel_facts(&self) -> (Option<u64>, u64) {
        (None, 0)
    }
}

unsafe extern "C" fn callback(ctx: *mut c_void) {
    note_sp(ctx as usize);
}

fn log_text(len: usize) -> Vec<u8> {
    let line = b"<4>[    2.286983] RIP: 0010:crashmod_oops_target+0x1c/0x25 [crashmod]\n";
    line.iter().copied().cycle().take(len).collect()
}

fn bench(c: &mut Criterion) {
    // One journal entry: encode, CRC, volatile stores.
    let mut zone = vec![0u8; 0x2000];
    let header: Header = JournalWriter::arm(&mut zone, 1).unwrap().header();
    let e = Entry::new(EntryKind::CallBegin, 3, 0, 123_456)
        .with_arg(2)
        .with_name(b"hv_notify_host");
    c.bench_function("journal entry append", |b| {
        b.iter(|| {
            let mut w = JournalWriter::open_at(&mut zone, header, 5).unwrap();
            black_box(w.append(black_box(&e)).unwrap())
        })
    });

    // One pstore write into a 16 KiB-class zone (ramoops' usual
    // record_size), the record filling it, as pstore hands it over; then
    // reading it back as pstore's read does at the next boot.
    let p = Bench {
        log: log_text(1 << 20),
        rec: None,
    };
    for ecc in [0u32, 16] {
        let (rec, _) = rig(0x10000, 0x4000, ecc, 0);
        let cap = rec.dmesg_capacity();
        let data = log_text(cap);
        let mut g = c.benchmark_group("pstore write into a zone");
        g.throughput(Throughput::Bytes(cap as u64));
        g.bench_function(format!("{} KiB, ecc {ecc}", cap / 1024), |b| {
            b.iter(|| black_box(rec.write_dmesg(&p, &record(black_box(&data))).unwrap()))
        });
        g.finish();
        let mut g = c.benchmark_group("pstore read of a zone");
        g.throughput(Throughput::Bytes(cap as u64));
        let mut buf = vec![0u8; cap + 128];
        g.bench_function(format!("{} KiB, ecc {ecc}", cap / 1024), |b| {
            b.iter(|| {
                rec.read_rewind();
                let r = rec.read_next().unwrap();
                black_box(rec.read_copy(&r, &mut buf))
            })
        });
        g.finish();
    }

    // Stack depth: run one whole panic on a fresh recorder and report how far
    // below the caller's frame callbacks and the kmsg source ran.
    let (rec, mem) = rig(0x10000, 0x4000, 16, 1);
    let p = Bench {
        log: log_text(1 << 20),
        rec: Some(rec),
    };
    let lists = [
        &rec.pre_crash_dump,
        &rec.hypervisor,
        &rec.info,
        &rec.pre_reboot,
        &rec.post_reboot,
    ];
    for (i, list) in lists.into_iter().enumerate() {
        list.register(callback, i, b"bench").unwrap();
    }
    let top = 0u8;
    TOP.store(&top as *const u8 as usize, Ordering::SeqCst);
    rec.panic(&p, false, b"bench");
    let j = crashview_journal::read(&mem[0x10000..]).unwrap();
    let calls = j
        .entries()
        .filter(|e| e.kind == crashview_journal::EntryKind::CallEnd)
        .count();
    eprintln!(
        "journal: {} entries, {calls} list calls, finished {}",
        j.len(),
        j.progress().finished
    );
    eprintln!("stack used below Recorder::panic's caller (host build, release):");
    for (place, deepest) in PLACES.iter().zip(DEEPEST.iter()) {
        let d = deepest.load(Ordering::SeqCst);
        if d != usize::MAX {
            eprintln!("  {place:<24} {:>6} bytes", TOP.load(Ordering::SeqCst) - d);
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
