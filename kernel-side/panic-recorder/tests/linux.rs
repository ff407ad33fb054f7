//! The recorder module as it ran inside a real Debian 12 kernel
//! (fixtures/recorder, made by fixtures/recorder/generate.sh): for each
//! scenario of real oopses, panics and reboots,
//! - the stock ramoops of the next boot found our records (`pstore/` is
//!   what it showed) and our host reader agrees byte for byte;
//! - our module, as the next boot's pstore backend, showed the same record
//!   bodies (`ours/pstore/`) and the previous boot's journal (`ours/journal.bin`);
//! - where the stock ramoops ran the same scenario itself (`stock/`), it
//!   kept the same records (ids, reasons, counts, parts);
//! - every line of our records is a line the kernel printed on its console,
//!   and every panic record holds `Kernel Offset:`;
//! - the journal tells the steps in order and names where the path stopped.
//!
//! `CRASHVIEW_RECORDER_FIXTURES=DIR` adds freshly generated ones (CI).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crashview_journal::{self as journal, EntryKind, Outcome, StepKind, Tail};
use crashview_ramoops::dmesg::parse_part_line;
use crashview_ramoops::region::{Overrides, Region};

fn dirs() -> Vec<PathBuf> {
    let mut roots = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/recorder")];
    if let Some(extra) = std::env::var_os("CRASHVIEW_RECORDER_FIXTURES").filter(|v| !v.is_empty()) {
        roots.push(PathBuf::from(extra));
    }
    let mut out = Vec::new();
    for r in roots {
        let before = out.len();
        for e in std::fs::read_dir(&r)
            .unwrap_or_else(|e| panic!("{}: {e}", r.display()))
            .flatten()
        {
            if e.path().join("region.bin").is_file() {
                out.push(e.path());
            }
        }
        assert!(
            out.len() > before,
            "no recorder fixtures in {}",
            r.display()
        );
    }
    out.sort();
    out
}

fn name(d: &Path) -> String {
    d.file_name().unwrap().to_string_lossy().into_owned()
}

fn manifest(d: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(d.join("manifest.json")).unwrap()).unwrap()
}

/// The files of a pstore directory, by record id.
fn files(dir: &Path) -> BTreeMap<u64, (String, Vec<u8>)> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
    {
        let n = e.file_name().to_string_lossy().into_owned();
        let id: u64 = n
            .trim_end_matches(".enc.z")
            .rsplit('-')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        out.insert(id, (n, std::fs::read(e.path()).unwrap()));
    }
    out
}

/// Made from another fixture's region by damaging it (no crash boot).
fn crafted(d: &Path) -> bool {
    manifest(d)["crafted"].as_bool() == Some(true)
}

fn mem_size(d: &Path) -> usize {
    manifest(d)["ramoops"]["mem_size"].as_u64().unwrap() as usize
}

#[test]
fn stock_ramoops_reads_our_records_and_so_do_we() {
    for d in dirs() {
        let img = std::fs::read(d.join("region.bin")).unwrap();
        let region = Region::scan(&img[..mem_size(&d)], &Overrides::default()).unwrap();
        let ours: BTreeMap<String, Vec<u8>> = region
            .records()
            .iter()
            .map(|r| (r.file_name(), r.file_contents()))
            .collect();
        let linux: BTreeMap<String, Vec<u8>> = files(&d.join("pstore")).into_values().collect();
        assert!(
            !linux.is_empty(),
            "{}: the stock kernel showed no record",
            d.display()
        );
        assert_eq!(
            ours.keys().collect::<Vec<_>>(),
            linux.keys().collect::<Vec<_>>(),
            "{}",
            d.display()
        );
        for (k, v) in &linux {
            assert!(ours[k] == *v, "{}: {k} differs", d.display());
        }
    }
}

#[test]
fn our_backend_shows_what_the_stock_ramoops_shows() {
    for d in dirs() {
        let linux = files(&d.join("pstore"));
        let ours = files(&d.join("ours/pstore"));
        assert_eq!(
            ours.keys().collect::<Vec<_>>(),
            linux.keys().collect::<Vec<_>>(),
            "{}: same records",
            d.display()
        );
        for (id, (n, body)) in &ours {
            assert_eq!(
                n,
                &linux[id].0.replace("-ramoops-", "-panic_recorder-"),
                "{}",
                d.display()
            );
            assert!(
                *body == linux[id].1,
                "{}: {n} differs from the stock reader's {}",
                d.display(),
                linux[id].0
            );
        }
        // The previous boot's journal, as the module's debugfs file gave it.
        let img = std::fs::read(d.join("region.bin")).unwrap();
        let jf = std::fs::read(d.join("ours/journal.bin")).unwrap();
        assert!(
            jf[..] == img[mem_size(&d)..],
            "{}: the journal file is the region's journal zone",
            d.display()
        );
    }
}

/// `(reason, count, part)` of each record, by id.
fn parts(dir: &Path) -> BTreeMap<u64, (String, u32, u32)> {
    files(dir)
        .into_iter()
        .map(|(id, (n, body))| {
            let p = parse_part_line(&body).unwrap_or_else(|| panic!("{n}: no part line"));
            (id, (p.reason.as_str().to_string(), p.count, p.part))
        })
        .collect()
}

#[test]
fn the_stock_ramoops_keeps_the_same_records_of_the_same_scenario() {
    let mut twins = 0;
    for d in dirs() {
        if !d.join("stock/pstore").is_dir() {
            continue;
        }
        twins += 1;
        let ours = parts(&d.join("pstore"));
        let stock = parts(&d.join("stock/pstore"));
        assert_eq!(
            ours,
            stock,
            "{}: records of our region vs ramoops' own",
            d.display()
        );
        let names = |dir: &str| {
            files(&d.join(dir))
                .into_values()
                .map(|f| f.0)
                .collect::<Vec<_>>()
        };
        assert_eq!(names("pstore"), names("stock/pstore"), "{}", d.display());
    }
    assert!(twins >= 5, "twin scenarios missing ({twins})");
}

#[test]
fn our_records_hold_what_the_kernel_printed() {
    for d in dirs().into_iter().filter(|d| !crafted(d)) {
        let console = std::fs::read_to_string(d.join("console.log")).unwrap();
        for (_, (n, rec)) in files(&d.join("pstore")) {
            let rec = String::from_utf8(rec).unwrap();
            let (first, body) = rec.split_once('\n').unwrap();
            let body = body
                .strip_suffix("\nECC: No errors detected\n")
                .unwrap_or(body);
            let mut checked = 0;
            for line in body.lines() {
                // "<level>[ time] text": debug-level lines (7) never reach the console.
                let Some(rest) = line.strip_prefix('<') else {
                    panic!("{}: {n}: not a syslog line: {line:?}", d.display())
                };
                let (level, msg) = rest.split_once('>').unwrap();
                if level == "7" {
                    continue;
                }
                assert!(
                    console.contains(msg),
                    "{}: {n}: record line not on the console: {msg:?}",
                    d.display()
                );
                checked += 1;
            }
            assert!(checked > 30, "{}: {n}: only {checked} lines", d.display());
            if first.starts_with("Panic#") {
                // x86's notifier runs before the kmsg dump: KASLR'd frames
                // can be symbolized from the record alone.
                assert!(body.contains("Kernel Offset: 0x"), "{}: {n}", d.display());
                assert!(
                    body.contains("Kernel panic - not syncing"),
                    "{}: {n}",
                    d.display()
                );
                assert!(
                    body.contains("panic_recorder: panic: "),
                    "{}: {n}",
                    d.display()
                );
                assert!(
                    body.contains("panic_recorder:  5. panic notifier chain [kernel, observed]"),
                    "{}: {n}: the plan, from the info list",
                    d.display()
                );
            }
        }
    }
}

#[test]
fn the_journal_tells_the_steps_in_order_and_where_it_stopped() {
    for d in dirs().into_iter().filter(|d| !crafted(d)) {
        let img = std::fs::read(d.join("region.bin")).unwrap();
        let j =
            journal::read(&img[mem_size(&d)..]).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
        let name = name(&d);
        assert_eq!(j.tail, Tail::Clean, "{name}");
        // Every record of this boot has its dump entry, with its reason.
        let dumps: Vec<(u64, String)> = j
            .entries()
            .filter(|e| e.kind == EntryKind::DumpWritten)
            .map(|e| (e.arg, String::from_utf8_lossy(e.name_bytes()).into_owned()))
            .collect();
        let records = parts(&d.join("pstore"));
        for (id, (reason, count, part)) in &records {
            let want = format!("{reason}#{count} Part{part}");
            assert!(
                dumps.iter().any(|(z, n)| z == id && n.starts_with(&want)),
                "{name}: no dump entry {want} in zone {id}: {dumps:?}"
            );
        }
        if name == "shutdown" {
            assert!(j.progress().start.is_none(), "no panic");
            assert!(
                dumps.iter().any(|d| d.1.starts_with("Shutdown#1")),
                "{dumps:?}"
            );
            continue;
        }
        let plan: Vec<StepKind> = j
            .entries()
            .filter(|e| e.kind == EntryKind::PlanStep)
            .map(|e| e.step_kind().unwrap())
            .collect();
        assert_eq!(
            plan.first(),
            Some(&StepKind::StopCpus),
            "no crash kernel: the kernel stops CPUs first"
        );
        // Steps begin in plan order, each at most once, times never go back.
        let begun: Vec<u8> = j
            .entries()
            .filter(|e| e.kind == EntryKind::StepBegin)
            .map(|e| e.step)
            .collect();
        assert!(begun.windows(2).all(|w| w[0] < w[1]), "{name}: {begun:?}");
        let ts: Vec<u64> = j.entries().map(|e| e.time_ns).collect();
        assert!(ts.windows(2).all(|w| w[0] <= w[1]), "{name}");
        let p = j.progress();
        let ended = |k: StepKind| {
            let i = plan.iter().position(|s| *s == k).unwrap() as u8;
            j.entries()
                .find(|e| e.kind == EntryKind::StepEnd && e.step == i)
                .and_then(|e| e.outcome())
        };
        let called = |n: &[u8]| {
            j.entries()
                .any(|e| e.kind == EntryKind::CallEnd && e.name_bytes() == n)
        };
        assert_eq!(
            ended(StepKind::StopCpus),
            Some(Outcome::Delegated),
            "{name}"
        );
        assert_eq!(
            ended(StepKind::NotifierChain),
            Some(Outcome::Delegated),
            "{name}"
        );
        assert_eq!(
            ended(StepKind::KmsgDump),
            Some(Outcome::Delegated),
            "{name}"
        );
        match name.as_str() {
            "hang" => {
                assert!(!p.finished);
                assert_eq!(
                    plan[usize::from(p.open_step.unwrap().step)],
                    StepKind::PreReboot
                );
                assert_eq!(p.open_call.unwrap().name_bytes(), b"hung_notifier");
            }
            "nested" => {
                assert!(p.finished);
                assert_eq!(p.nested, 1);
                assert_eq!(ended(StepKind::Hypervisor), Some(Outcome::NestedPanic));
                assert_eq!(ended(StepKind::Info), Some(Outcome::CorruptedEntry));
                assert!(j.entries().any(|e| e.kind == EntryKind::CorruptEntry));
                assert!(
                    !j.entries()
                        .any(|e| e.kind == EntryKind::CallBegin
                            && e.name_bytes() == b"corrupted_entry"),
                    "never called"
                );
            }
            _ => {
                assert!(p.finished, "{name}");
                assert_eq!(
                    ended(StepKind::ConsoleFlush),
                    Some(Outcome::Delegated),
                    "{name}"
                );
                assert_eq!(ended(StepKind::Reboot), Some(Outcome::Delegated), "{name}");
                if name == "sysrq" {
                    assert!(called(b"cvpr_client_info"), "the client's info entry ran");
                    assert!(
                        called(b"cvpr_client_led"),
                        "the client's pre-reboot entry ran"
                    );
                    assert_eq!(ended(StepKind::PreReboot), Some(Outcome::Done));
                }
            }
        }
    }
}

/// A region with a zone header destroyed beyond its parity and a data
/// block beyond its ECC: our module loads it with a warning naming the
/// zone, never an oops, and shows the undamaged records exactly as the
/// stock ramoops does (checked for every fixture above).
#[test]
fn a_damaged_region_loads_with_warnings_and_keeps_the_rest() {
    let mut seen = 0;
    for d in dirs().into_iter().filter(|d| crafted(d)) {
        seen += 1;
        let log = std::fs::read_to_string(d.join("ours/readback.log")).unwrap();
        assert!(
            log.contains(
                "panic_recorder: dmesg zone 1 (offset 0x40c6): uncorrectable error in header"
            ),
            "{}",
            d.display()
        );
        assert!(
            log.contains("panic_recorder: dmesg zone 2 (offset 0x818c): ECC: 0 Corrected bytes, 1 unrecoverable blocks"),
            "{}",
            d.display()
        );
        for bad in ["Oops", "BUG:", "Call Trace"] {
            assert!(!log.contains(bad), "{}: {bad} in the readback", d.display());
        }
        let ours = files(&d.join("ours/pstore"));
        assert_eq!(
            ours.keys().copied().collect::<Vec<_>>(),
            [0, 2],
            "zone 1 is gone"
        );
        assert!(String::from_utf8_lossy(&ours[&2].1)
            .ends_with("\nECC: 0 Corrected bytes, 1 unrecoverable blocks\n"));
    }
    assert!(seen > 0, "no crafted recorder fixture");
}

/// systemd-pstore (systemd 252, the real one) archives what our backend
/// shows just as it archives the stock ramoops' files: run on a copy
/// bind-mounted on /sys/fs/pstore in a private mount namespace, it moves
/// our records into /var/lib/systemd/pstore and rebuilds the same
/// dmesg.txt from them as from the stock reader's files.
#[test]
fn systemd_pstore_archives_our_records() {
    let tool = Path::new("/lib/systemd/systemd-pstore");
    assert!(
        tool.exists(),
        "systemd-pstore missing (apt-get install systemd)"
    );
    let archive = |src: &Path| -> BTreeMap<String, Vec<u8>> {
        let t = std::env::temp_dir().join(format!(
            "cv-systemd-pstore-{}-{}",
            std::process::id(),
            src.display().to_string().len()
        ));
        let _ = std::fs::remove_dir_all(&t);
        std::fs::create_dir_all(t.join("p")).unwrap();
        std::fs::create_dir_all(t.join("var")).unwrap();
        for (_, (n, body)) in files(src) {
            std::fs::write(t.join("p").join(n), body).unwrap();
        }
        let st = std::process::Command::new("unshare")
            .args(["-m", "sh", "-c"])
            .arg(format!(
                "mount --bind {0}/p /sys/fs/pstore && mount --bind {0}/var /var/lib/systemd && {1}",
                t.display(),
                tool.display()
            ))
            .status()
            .unwrap();
        assert!(st.success(), "systemd-pstore in a mount namespace failed");
        let mut out = BTreeMap::new();
        for e in std::fs::read_dir(t.join("var/pstore")).unwrap().flatten() {
            out.insert(
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            );
        }
        assert!(
            std::fs::read_dir(t.join("p")).unwrap().next().is_none(),
            "systemd-pstore moves every record out of /sys/fs/pstore"
        );
        let _ = std::fs::remove_dir_all(&t);
        out
    };
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/recorder/oops2-sysrq");
    let ours = archive(&d.join("ours/pstore"));
    let stock = archive(&d.join("pstore"));
    for (id, (n, body)) in files(&d.join("ours/pstore")) {
        assert_eq!(ours.get(&n), Some(&body), "{n} archived as it was");
        assert!(stock.contains_key(&format!("dmesg-ramoops-{id}")));
    }
    // dmesg.txt names each record's file; otherwise it is the same log.
    let ours_txt =
        String::from_utf8_lossy(&ours["dmesg.txt"]).replace("-panic_recorder-", "-ramoops-");
    assert!(ours_txt.len() > 1000);
    assert!(
        ours_txt.as_bytes() == &stock["dmesg.txt"][..],
        "the same log rebuilt from our files as from the stock reader's"
    );
}
