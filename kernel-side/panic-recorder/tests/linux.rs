//! The recorder as it ran inside a real Debian 12 kernel (fixtures/recorder,
//! made by fixtures/recorder/generate.sh): for each real panic,
//! - the stock ramoops driver found our dmesg records (`pstore/` is what it
//!   showed), and our reader agrees byte for byte;
//! - every line of our record is a line the kernel printed on its console;
//! - the journal tells the steps in order, and names where the path stopped.
//!
//! `CRASHVIEW_RECORDER_FIXTURES=DIR` adds freshly generated ones (CI).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crashview_journal::{self as journal, EntryKind, Outcome, StepKind, Tail};
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

fn manifest(d: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(d.join("manifest.json")).unwrap()).unwrap()
}

#[test]
fn stock_ramoops_reads_our_records_and_so_do_we() {
    for d in dirs() {
        let m = manifest(&d);
        let mem = m["ramoops"]["mem_size"].as_u64().unwrap() as usize;
        let img = std::fs::read(d.join("region.bin")).unwrap();
        let region = Region::scan(&img[..mem], &Overrides::default()).unwrap();
        // Stored deflated (-C) by our compressor, inflated by Linux's zlib.
        assert!(
            region.records().iter().all(|r| r.compressed()),
            "{}",
            d.display()
        );
        let ours: BTreeMap<String, Vec<u8>> = region
            .records()
            .iter()
            .map(|r| (r.file_name(), r.file_contents()))
            .collect();
        let mut linux = BTreeMap::new();
        for e in std::fs::read_dir(d.join("pstore")).unwrap().flatten() {
            linux.insert(
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            );
        }
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
            let text = String::from_utf8_lossy(v);
            assert!(text.starts_with("Panic#1 Part1\n"), "{}: {k}", d.display());
            assert!(
                text.ends_with("\nECC: No errors detected\n"),
                "{}: {k}: ECC parity must satisfy Linux",
                d.display()
            );
        }
    }
}

#[test]
fn our_record_holds_what_the_kernel_printed() {
    for d in dirs() {
        let console = std::fs::read_to_string(d.join("console.log")).unwrap();
        let rec = std::fs::read_to_string(d.join("pstore/dmesg-ramoops-0")).unwrap();
        let body = rec
            .strip_prefix("Panic#1 Part1\n")
            .unwrap()
            .strip_suffix("\nECC: No errors detected\n")
            .unwrap();
        let mut checked = 0;
        for line in body.lines() {
            // "<level>[ time] text": debug-level lines (7) never reach the console.
            let Some(rest) = line.strip_prefix('<') else {
                panic!("{}: not a syslog line: {line:?}", d.display())
            };
            let (level, msg) = rest.split_once('>').unwrap();
            if level == "7" {
                continue;
            }
            assert!(
                console.contains(msg),
                "{}: record line not on the console: {msg:?}",
                d.display()
            );
            checked += 1;
        }
        assert!(checked > 50, "{}: only {checked} lines", d.display());
        assert!(
            body.contains("Kernel panic - not syncing"),
            "{}",
            d.display()
        );
        // The info list's own lines: CPU/uptime/taint, the panic message, the plan.
        assert!(body.contains("panic_recorder: panic: "), "{}", d.display());
        assert!(
            body.contains("panic_recorder:  5. kmsg dump"),
            "{}",
            d.display()
        );
    }
}

#[test]
fn the_journal_tells_the_steps_in_order_and_where_it_stopped() {
    for d in dirs() {
        let m = manifest(&d);
        let mem = m["ramoops"]["mem_size"].as_u64().unwrap() as usize;
        let img = std::fs::read(d.join("region.bin")).unwrap();
        let j = journal::read(&img[mem..]).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
        let plan: Vec<StepKind> = j
            .entries()
            .filter(|e| e.kind == EntryKind::PlanStep)
            .map(|e| e.step_kind().unwrap())
            .collect();
        assert_eq!(
            plan.first(),
            Some(&StepKind::StopCpus),
            "no crash kernel: CPUs first"
        );
        // Steps begin in plan order, each at most once, times never go back.
        let begun: Vec<u8> = j
            .entries()
            .filter(|e| e.kind == EntryKind::StepBegin)
            .map(|e| e.step)
            .collect();
        assert!(
            begun.windows(2).all(|w| w[0] < w[1]),
            "{}: {begun:?}",
            d.display()
        );
        let ts: Vec<u64> = j.entries().map(|e| e.time_ns).collect();
        assert!(ts.windows(2).all(|w| w[0] <= w[1]), "{}", d.display());
        let p = j.progress();
        let name = d.file_name().unwrap().to_string_lossy().into_owned();
        let ended = |k: StepKind| {
            let i = plan.iter().position(|s| *s == k).unwrap() as u8;
            j.entries()
                .find(|e| e.kind == EntryKind::StepEnd && e.step == i)
                .and_then(|e| e.outcome())
        };
        assert_eq!(ended(StepKind::KmsgDump), Some(Outcome::Done), "{name}");
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
                    ended(StepKind::StopCpus),
                    Some(Outcome::Delegated),
                    "stock panic() stops CPUs"
                );
                assert_eq!(ended(StepKind::Hypervisor), Some(Outcome::Done));
            }
        }
        assert_eq!(j.tail, Tail::Clean, "{name}");
    }
}
