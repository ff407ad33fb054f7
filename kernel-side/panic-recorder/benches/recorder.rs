//! Costs on the panic path (host build): one journal entry, a 64 KiB kmsg
//! dump into a ramoops zone (with and without ECC), and the stack depth at
//! which list callbacks and the kmsg source run. `.text` size of the kernel
//! build is reported by kernel-side/linux-module/size.sh.

use std::ffi::c_void;
use std::sync::atomic::{AtomicUsize, Ordering};

use crashview_journal::{Entry, EntryKind, Header, JournalWriter};
use crashview_ramoops::layout::Params;
use crashview_ramoops::rs::Codec;
use crashview_ramoops::zone::ZoneGeometry;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use panic_recorder::plan::Config;
use panic_recorder::platform::Platform;
use panic_recorder::raw::RawRegion;
use panic_recorder::recorder::{Recorder, Setup};

/// Deepest stack address seen per place: 0..5 the five lists' callbacks,
/// 5 the info lines (printk), 6 the kmsg source, 7 stop-CPUs.
static DEEPEST: [AtomicUsize; 8] = [const { AtomicUsize::new(usize::MAX) }; 8];
static TOP: AtomicUsize = AtomicUsize::new(0);
const PLACES: [&str; 8] = [
    "pre-crash-dump callback",
    "hypervisor callback",
    "info callback",
    "pre-reboot callback",
    "post-reboot callback",
    "info lines (printk)",
    "kmsg dump (log source)",
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
    fn kmsg_tail(&self, buf: &mut [u8]) -> usize {
        note_sp(6);
        let n = buf.len().min(self.log.len());
        buf[..n].copy_from_slice(&self.log[self.log.len() - n..]);
        n
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

    // A 64 KiB dump into one zone, as the kmsg dump step writes it.
    let p = Bench {
        log: log_text(1 << 20),
    };
    for ecc in [0usize, 16] {
        let zone_size = 64 * 1024 + 12 + if ecc > 0 { 10 * 1024 } else { 0 };
        let geom = ZoneGeometry::new(zone_size, ecc).unwrap();
        let codec = (ecc > 0).then(|| Codec::new(ecc).unwrap());
        let mut z = vec![0u8; zone_size];
        let mut g = c.benchmark_group("kmsg dump into a zone");
        g.throughput(Throughput::Bytes(geom.data_size as u64));
        g.bench_function(format!("{} KiB, ecc {ecc}", geom.data_size / 1024), |b| {
            b.iter(|| {
                black_box(panic_recorder::dump::write_dump(
                    &p,
                    &mut z,
                    geom,
                    codec.as_ref(),
                    "Panic",
                    1,
                    None,
                ))
            })
        });
        g.finish();
    }
    // The same with deflate, as pstore's default: 24 KiB of log into a
    // 16 KiB-class zone.
    let geom = ZoneGeometry::new(0x4040, 0).unwrap();
    let mut z = vec![0u8; 0x4040];
    let mut table = vec![0u32; crashview_ramoops::deflate::HASH_SLOTS];
    let mut input = vec![0u8; 128 * 1024];
    let mut g = c.benchmark_group("kmsg dump into a zone");
    g.throughput(Throughput::Bytes(
        crashview_ramoops::dmesg::zbufsize_deflate(geom.data_size) as u64,
    ));
    g.bench_function("deflate, 16 KiB zone", |b| {
        b.iter(|| {
            let s = panic_recorder::dump::Scratch {
                table: &mut table,
                input: &mut input,
            };
            black_box(panic_recorder::dump::write_dump(
                &p,
                &mut z,
                geom,
                None,
                "Panic",
                1,
                Some(s),
            ))
        })
    });
    g.finish();

    // Stack depth: run one whole panic on a fresh recorder and report how far
    // below the caller's frame callbacks and the kmsg source ran.
    let mem: &'static mut [u8] = Box::leak(vec![0u8; 0x12000].into_boxed_slice());
    let rec: &'static Recorder = Box::leak(Box::new(Recorder::new()));
    // SAFETY: leaked buffer, used only by this recorder.
    let region = unsafe { RawRegion::new(mem.as_mut_ptr(), mem.len()) };
    let setup = Setup {
        plan: Config {
            panic_timeout: 1,
            ..Config::default()
        },
        ramoops: Params {
            mem_size: 0x10000,
            record_size: 0x4000,
            console_size: 0,
            ftrace_size: 0,
            pmsg_size: 0,
            ecc: 16,
            ftrace_zones: 1,
        },
        journal_len: 0x2000,
        version_code: 0,
        compress: false,
    };
    rec.attach(region, setup, None).unwrap();
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
