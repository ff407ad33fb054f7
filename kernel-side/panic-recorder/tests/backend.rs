//! The pstore backend against Linux itself: every region the stock ramoops
//! of a real Debian 6.1 kernel wrote (fixtures/ramoops, real crashes in
//! QEMU, and the crafted ECC cases), attached by our recorder with the same
//! parameters and read back as pstore would through our `read` callback,
//! must give exactly the files that kernel showed in /sys/fs/pstore
//! (`pstore/`): same names, same bytes, ECC notices and `.enc.z` included.
//! Then what our backend writes must read back the same way.

use std::path::{Path, PathBuf};

use crashview_ramoops::dmesg::{DmesgHeader, Reason};
use crashview_ramoops::layout::{Params, ZoneKind};
use crashview_ramoops::pstore::PstoreFile;
use crashview_ramoops::region::{Overrides, Record, Region};
use crashview_ramoops::zone::EccStatus;
use panic_recorder::backend::{DmesgRecord, ZoneInit};
use panic_recorder::plan::Config;
use panic_recorder::platform::Platform;
use panic_recorder::raw::RawRegion;
use panic_recorder::recorder::{Recorder, Setup};

struct Quiet;

impl Platform for Quiet {
    fn now_ns(&self) -> u64 {
        7
    }
    fn wall_time(&self) -> (i64, u64) {
        (1_795_919_204, 120_000_000)
    }
    fn cpu_id(&self) -> u16 {
        0
    }
    fn stop_other_cpus(&self) -> bool {
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
    fn print(&self, _: &[u8]) {}
    fn kmsg_dump(&self) -> bool {
        false
    }
    fn kernel_facts(&self) -> (Option<u64>, u64) {
        (None, 0)
    }
}

const JOURNAL: usize = 0x2000;

fn fixture_dirs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/ramoops");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("region.bin").is_file() && p.join("pstore").is_dir())
        .collect();
    v.sort();
    assert!(
        v.len() >= 9,
        "ramoops fixtures missing in {}",
        root.display()
    );
    v
}

fn params(m: &serde_json::Value) -> Params {
    let r = &m["ramoops"];
    let n = |k: &str| r[k].as_u64().unwrap();
    Params {
        mem_size: n("mem_size"),
        record_size: n("record_size"),
        console_size: n("console_size"),
        ftrace_size: n("ftrace_size"),
        pmsg_size: n("pmsg_size"),
        ecc: n("ecc") as u32,
        ftrace_zones: 1,
    }
}

/// A leaked copy of `img` with a journal zone after it, and a recorder
/// attached as the module attaches (ramoops' parameters).
fn attach(img: &[u8], p: Params) -> (&'static Recorder, &'static mut [u8]) {
    let mut v = img.to_vec();
    v.resize(img.len() + JOURNAL, 0);
    let mem: &'static mut [u8] = Box::leak(v.into_boxed_slice());
    let rec: &'static Recorder = Box::leak(Box::new(Recorder::new()));
    // SAFETY: leaked, valid for the test's life; only this recorder writes it.
    let region = unsafe { RawRegion::new(mem.as_mut_ptr(), mem.len()) };
    rec.attach(
        region,
        Setup {
            plan: Config::default(),
            stock_panic: true,
            ramoops: p,
            journal_len: JOURNAL,
            version_code: 0x0601c0,
            kmsg_dumper: None,
        },
    )
    .unwrap();
    (rec, mem)
}

/// What pstore makes of our backend's records: read() until it returns
/// none, then pstore's own decompression and naming (modelled by the host
/// crate's `PstoreFile`, itself checked against Linux in crates/ramoops).
fn pstore_view(rec: &Recorder, capacity: usize) -> Vec<PstoreFile> {
    rec.read_rewind();
    let mut out = Vec::new();
    for _ in 0..1000 {
        let Some(r) = rec.read_next() else { break };
        let mut buf = vec![0u8; r.buf_len()];
        let n = rec.read_copy(&r, &mut buf);
        assert_eq!(n, r.buf_len(), "record, notice and NUL");
        assert_eq!(buf[n - 1], 0);
        let payload = buf[..r.size].to_vec();
        let notice = &buf[r.size..n - 1];
        let ecc = (!notice.is_empty()).then(|| {
            let z = rec.zone_report(r.id as usize).unwrap();
            let mut tmp = [0u8; 64];
            assert_eq!(z.status.ecc.notice(&mut tmp), notice);
            z.status.ecc
        });
        let record = Record {
            kind: ZoneKind::Dmesg,
            id: r.id,
            offset: 0,
            header: Some(DmesgHeader {
                secs: r.time.0,
                usecs: r.time.1 / 1000,
                compressed: r.compressed,
                len: r.header_len,
            }),
            payload,
            ecc: ecc.or(None::<EccStatus>),
            decompress_limit: crashview_ramoops::pstore::zbufsize_deflate(capacity),
        };
        out.push(PstoreFile::from_record(&record, "ramoops"));
    }
    out
}

fn linux_files(d: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(d.join("pstore"))
        .unwrap()
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn reads_what_the_stock_ramoops_wrote_exactly_as_linux_shows_it() {
    for d in fixture_dirs() {
        let m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(d.join("manifest.json")).unwrap()).unwrap();
        let p = params(&m);
        let img = std::fs::read(d.join("region.bin")).unwrap();
        let (rec, _) = attach(&img, p);
        let mut ours: Vec<(String, Vec<u8>)> = pstore_view(rec, rec.dmesg_capacity())
            .into_iter()
            .map(|f| (f.name, f.contents))
            .collect();
        ours.sort();
        let linux = linux_files(&d);
        let names = |v: &[(String, Vec<u8>)]| v.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
        assert_eq!(names(&ours), names(&linux), "{}", d.display());
        for ((n, a), (_, b)) in ours.iter().zip(&linux) {
            assert!(a == b, "{}: {n} differs from Linux's", d.display());
        }
    }
}

#[test]
fn attach_reports_ecc_findings_as_ramoops_counts_them() {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/ramoops/ecc-correctable");
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("manifest.json")).unwrap()).unwrap();
    let img = std::fs::read(d.join("region.bin")).unwrap();
    let (rec, _) = attach(&img, params(&m));
    let z = rec.zone_report(0).unwrap();
    assert_eq!(z.status.init, ZoneInit::Kept);
    assert_eq!(
        z.status.ecc.corrected_bytes, 5,
        "Linux: ECC: 5 Corrected bytes"
    );
    assert_eq!(z.status.ecc.bad_blocks, 0);
}

#[test]
fn damaged_zone_headers_load_with_a_finding_and_other_records_survive() {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/ramoops/wrap");
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("manifest.json")).unwrap()).unwrap();
    let p = params(&m);
    let mut img = std::fs::read(d.join("region.bin")).unwrap();
    // Zone 2's signature destroyed, zone 5's size beyond its buffer.
    let zs = 0x2000;
    img[2 * zs] ^= 0xff;
    img[5 * zs + 8..5 * zs + 12].copy_from_slice(&0x7fff_0000u32.to_le_bytes());
    let (rec, _) = attach(&img, p);
    assert_eq!(
        rec.zone_report(2).unwrap().status.init,
        ZoneInit::NoSignature
    );
    assert_eq!(rec.zone_report(5).unwrap().status.init, ZoneInit::Invalid);
    let ours: Vec<String> = pstore_view(rec, rec.dmesg_capacity())
        .into_iter()
        .map(|f| f.name)
        .collect();
    let want: Vec<String> = linux_files(&d)
        .into_iter()
        .map(|f| f.0)
        .filter(|n| n != "dmesg-ramoops-2" && n != "dmesg-ramoops-5")
        .collect();
    assert_eq!(ours, want);
}

#[test]
fn writes_rotate_like_ramoops_and_the_stock_reader_agrees() {
    // Eight dmesg zones of 0x2000, no ECC; then the same with ECC 16.
    for ecc in [0u32, 16] {
        let p = Params {
            mem_size: 0x10000,
            record_size: 0x2000,
            console_size: 0,
            ftrace_size: 0,
            pmsg_size: 0,
            ecc,
            ftrace_zones: 1,
        };
        let (rec, mem) = attach(&vec![0u8; 0x10000], p);
        let cap = rec.dmesg_capacity();
        for i in 1..=11u32 {
            let body =
                format!("Oops#{i} Part1\n<4>[   12.{i:06}] BUG: kernel NULL pointer dereference\n");
            let z = rec
                .write_dmesg(
                    &Quiet,
                    &DmesgRecord {
                        reason: Reason::Oops,
                        count: i,
                        part: 1,
                        compressed: false,
                        time: (1_795_919_000 + i64::from(i), 5_000),
                        data: body.as_bytes(),
                    },
                )
                .unwrap();
            assert_eq!(z, (i - 1) % 8);
        }
        // Part 2 is refused, as ramoops refuses it.
        assert!(rec
            .write_dmesg(
                &Quiet,
                &DmesgRecord {
                    reason: Reason::Panic,
                    count: 12,
                    part: 2,
                    compressed: false,
                    time: (0, 0),
                    data: b"x",
                },
            )
            .is_err());
        // The host reader (checked against Linux) sees what pstore sees.
        let region = Region::scan(
            &mem[..0x10000],
            &Overrides {
                record_size: Some(0x2000),
                console_size: Some(0),
                ftrace_size: Some(0),
                pmsg_size: Some(0),
                ecc: Some(ecc),
                ..Overrides::default()
            },
        )
        .unwrap();
        let host: Vec<(String, Vec<u8>)> = region
            .records()
            .iter()
            .map(|r| (r.file_name(), r.file_contents()))
            .collect();
        let ours: Vec<(String, Vec<u8>)> = pstore_view(rec, cap)
            .into_iter()
            .map(|f| (f.name, f.contents))
            .collect();
        assert_eq!(ours, host);
        assert_eq!(ours.len(), 8);
        assert!(String::from_utf8_lossy(&ours[0].1).starts_with("Oops#9 Part1\n"));
        assert!(String::from_utf8_lossy(&ours[3].1).starts_with("Oops#4 Part1\n"));
        // Erase, as rm in /sys/fs/pstore does.
        assert!(rec.erase(3));
        assert_eq!(pstore_view(rec, cap).len(), 7);
        assert!(!rec.erase(8));
    }
}

#[test]
fn a_record_larger_than_the_zone_keeps_its_head_like_ramoops() {
    let p = Params {
        mem_size: 0x4000,
        record_size: 0x1000,
        console_size: 0,
        ftrace_size: 0,
        pmsg_size: 0,
        ecc: 0,
        ftrace_zones: 1,
    };
    let (rec, _) = attach(&vec![0u8; 0x4000], p);
    let cap = rec.dmesg_capacity();
    let mut body = b"Panic#1 Part1\n".to_vec();
    body.extend((0..10_000).map(|i| b'a' + (i % 26) as u8));
    rec.write_dmesg(
        &Quiet,
        &DmesgRecord {
            reason: Reason::Panic,
            count: 1,
            part: 1,
            compressed: false,
            time: (1, 0),
            data: &body,
        },
    )
    .unwrap();
    let f = &pstore_view(rec, cap)[0];
    let hlen = "====1.000000-D\n".len();
    assert_eq!(f.contents.len(), cap - hlen);
    assert_eq!(f.contents[..], body[..cap - hlen]);
}
