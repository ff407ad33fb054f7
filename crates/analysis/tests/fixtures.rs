//! Golden reports (text and JSON, `insta`) of every fixture, and the
//! timeline checks: inferred steps in the order the serial console shows
//! them; exact timelines equal to the journal as crashview-journal reads it.

use std::path::{Path, PathBuf};
use std::sync::Once;

use crashview_analysis::{analyze, input, text, DebugOptions, InputKind, Report, TimelineSource};

/// Tests run from the workspace root so report names are the relative
/// fixture paths (stable snapshots).
fn root() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        std::env::set_current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")).unwrap();
    });
}

fn dirs(of: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(of)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("region.bin").exists())
        .collect();
    v.sort();
    v
}

/// Every input: region, pstore dir and console text of each ramoops and
/// recorder fixture, and every vmcore.
fn inputs() -> Vec<PathBuf> {
    root();
    let mut v = Vec::new();
    for d in dirs("fixtures/ramoops")
        .into_iter()
        .chain(dirs("fixtures/recorder"))
    {
        for f in ["region.bin", "pstore", "console.log"] {
            if d.join(f).exists() {
                v.push(d.join(f));
            }
        }
    }
    for sc in ["fixtures/vmcore/qemu", "fixtures/vmcore/kdump"] {
        let mut dumps: Vec<PathBuf> = std::fs::read_dir(sc)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                let n = p.file_name().unwrap().to_string_lossy();
                !(n.ends_with(".txt") || n.ends_with(".log") || n == "cmdline")
            })
            .collect();
        dumps.sort();
        v.extend(dumps);
    }
    v
}

fn report(p: &Path) -> Report {
    let mut r = analyze(&input::load(p).unwrap());
    // File times of a pstore directory are checkout times: not golden.
    if r.kind == InputKind::PstoreDir {
        r.records.iter_mut().for_each(|x| x.time = None);
        r.dumps.iter_mut().for_each(|x| x.time = None);
    }
    r
}

fn snap_name(p: &Path) -> String {
    p.to_string_lossy()
        .trim_start_matches("fixtures/")
        .replace(['/', '.'], "_")
}

#[test]
fn golden_reports() {
    let mut n = 0;
    for p in inputs() {
        let r = report(&p);
        let mut t = Vec::new();
        text::write_report(&mut t, &r).unwrap();
        let name = snap_name(&p);
        insta::assert_snapshot!(format!("{name}.txt"), String::from_utf8(t).unwrap());
        // The log is the input's own text; the golden JSON keeps its size.
        let mut v = serde_json::to_value(&r).unwrap();
        v["log"]["lines"] = serde_json::json!(format!("{} lines", r.log.lines.len()));
        insta::assert_json_snapshot!(format!("{name}.json"), v);
        n += 1;
    }
    assert!(n >= 40, "only {n} fixture inputs found");
}

/// Console lines `[    2.313284] text` of a serial log.
fn console(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn inferred_steps_follow_the_console_order() {
    root();
    let mut checked = 0;
    let mut scenarios: Vec<PathBuf> = dirs("fixtures/ramoops");
    scenarios.push("fixtures/vmcore/kdump".into());
    scenarios.push("fixtures/vmcore/qemu".into());
    for d in scenarios {
        let con = d.join("console.log");
        if !con.exists() {
            continue;
        }
        let lines = console(&con);
        let mut ins: Vec<PathBuf> = vec![con.clone(), d.join("region.bin"), d.join("pstore")];
        ins.extend(inputs().into_iter().filter(|p| {
            p.starts_with(&d) && p.to_string_lossy().contains(".zst")
                || p.ends_with("kdump-zlib") && d.ends_with("kdump")
        }));
        for p in ins.into_iter().filter(|p| p.exists()) {
            let r = report(&p);
            assert_eq!(
                r.timeline.source,
                TimelineSource::Inferred,
                "{}",
                p.display()
            );
            // Index of the previous step's line in the console log.
            let mut last: Option<usize> = None;
            for s in &r.timeline.steps {
                assert!(s.inferred);
                let Some(i) = s.log_line else { continue };
                let want = r.log.lines[i].console();
                // A kmsg dump comes after its last line, which may be the
                // previous marker's line; other markers are later lines.
                let at = match last {
                    None => 0,
                    Some(l) if s.name == "kmsg dump" => l,
                    Some(l) => l + 1,
                };
                let found = lines
                    .iter()
                    .skip(at)
                    .position(|l| *l == want)
                    .map(|k| k + at)
                    .unwrap_or_else(|| {
                        panic!(
                            "{}: step {:?} line {want:?} not in {} after line {at}",
                            p.display(),
                            s.name,
                            con.display()
                        )
                    });
                last = Some(found);
                checked += 1;
            }
            assert!(
                r.timeline.steps.iter().any(|s| s.name == "panic")
                    || p.to_string_lossy().contains("ecc-uncorrectable"),
                "{}: no panic step",
                p.display()
            );
        }
    }
    assert!(checked > 40, "{checked}");
}

#[test]
fn inferred_step_names() {
    root();
    let names = |p: &str| -> Vec<String> {
        report(Path::new(p))
            .timeline
            .steps
            .iter()
            .map(|s| s.name.clone())
            .collect()
    };
    assert_eq!(
        names("fixtures/ramoops/oops-panic/region.bin"),
        ["oops", "kmsg dump", "panic", "info list", "kmsg dump"]
    );
    assert_eq!(
        names("fixtures/ramoops/oops-panic/console.log"),
        ["oops", "panic", "info list", "reboot"]
    );
    assert_eq!(
        names("fixtures/vmcore/kdump/kdump-zlib"),
        ["oops", "panic", "crash dump"]
    );
    assert_eq!(
        names("fixtures/vmcore/qemu/qemu.kdump-zlib.flat.min.zst"),
        ["oops", "panic", "info list", "end of panic"]
    );
}

#[test]
fn exact_timeline_equals_the_journal() {
    use crashview_journal::{self as journal, EntryKind, Outcome, Performer};
    root();
    let recs = dirs("fixtures/recorder");
    assert!(recs.len() >= 4);
    for d in recs {
        let p = d.join("region.bin");
        let bytes = std::fs::read(&p).unwrap();
        let off = crashview_journal::locate(&bytes).unwrap();
        let j = journal::read(&bytes[off..]).unwrap();
        let prog = j.progress();
        let r = report(&p);
        let tl = &r.timeline;
        assert_eq!(tl.source, TimelineSource::Journal, "{}", p.display());
        let plan_entries: Vec<journal::Entry> = j
            .entries()
            .filter(|e| e.kind == EntryKind::PlanStep)
            .collect();
        let plan: Vec<String> = plan_entries
            .iter()
            .map(|e| e.step_kind().unwrap().name().to_string())
            .collect();
        // The plan as listed: a step the kernel's own panic() performs says so.
        let listed: Vec<String> = plan_entries
            .iter()
            .zip(&plan)
            .map(|(e, n)| match e.performer() {
                Performer::Kernel => format!("{n} (the kernel's)"),
                Performer::Recorder => n.clone(),
            })
            .collect();
        assert_eq!(tl.plan, listed, "{}", p.display());
        let name = |e: &journal::Entry| String::from_utf8_lossy(e.name_bytes()).into_owned();
        // Steps: every begin, in order, with its end and outcome.
        let begins: Vec<_> = j
            .entries()
            .filter(|e| e.kind == EntryKind::StepBegin)
            .collect();
        assert_eq!(tl.steps.len(), begins.len(), "{}", p.display());
        for (s, b) in tl.steps.iter().zip(&begins) {
            assert_eq!(s.index, Some(b.step));
            assert_eq!(s.name, plan[b.step as usize]);
            assert_eq!(s.begin_ns, Some(b.time_ns));
            assert!(!s.inferred);
            let kernels = b.performer() == Performer::Kernel
                || plan_entries[b.step as usize].performer() == Performer::Kernel;
            assert_eq!(
                s.performer.as_deref(),
                kernels.then_some("kernel"),
                "{} step {}",
                p.display(),
                s.name
            );
            let end = j
                .entries()
                .find(|e| e.kind == EntryKind::StepEnd && e.step == b.step && e.seq > b.seq);
            assert_eq!(
                s.end_ns,
                end.map(|e| e.time_ns),
                "{} step {}",
                p.display(),
                s.name
            );
            assert_eq!(s.duration_ns, end.map(|e| e.time_ns - b.time_ns));
            match end {
                Some(e) => assert_eq!(s.outcome.as_deref(), Some(e.outcome().unwrap().name())),
                None => assert_eq!(s.outcome.as_deref(), Some("never ended")),
            }
            // Calls between this begin and its end.
            let upto = end.map_or(u32::MAX, |e| e.seq);
            let calls: Vec<(String, u64, u64)> = j
                .entries()
                .filter(|e| e.kind == EntryKind::CallBegin && e.seq > b.seq && e.seq < upto)
                .map(|e| (name(&e), e.arg, e.time_ns))
                .collect();
            let got: Vec<(String, u64, u64)> = s
                .calls
                .iter()
                .map(|c| (c.name.clone(), c.slot, c.begin_ns))
                .collect();
            assert_eq!(got, calls);
            // Dumps written between this begin and its end are its notes.
            let dumps: Vec<String> = j
                .entries()
                .filter(|e| e.kind == EntryKind::DumpWritten && e.seq > b.seq && e.seq < upto)
                .map(|e| format!("kmsg dump written to dmesg zone {}: {}", e.arg, name(&e)))
                .collect();
            let noted: Vec<String> = s
                .notes
                .iter()
                .filter(|n| n.starts_with("kmsg dump written"))
                .cloned()
                .collect();
            assert_eq!(noted, dumps, "{} step {}", p.display(), s.name);
        }
        // Dumps written outside every step (an oops's, before the panic; a
        // clean shutdown's) are events, with their times, none dropped.
        let inside = |e: &journal::Entry| {
            begins.iter().any(|b| {
                let end = j
                    .entries()
                    .find(|x| x.kind == EntryKind::StepEnd && x.step == b.step && x.seq > b.seq);
                e.seq > b.seq && end.is_none_or(|x| e.seq < x.seq)
            })
        };
        let outside: Vec<(u64, String)> = j
            .entries()
            .filter(|e| e.kind == EntryKind::DumpWritten && !inside(e))
            .map(|e| {
                (
                    e.time_ns,
                    format!("kmsg dump written to dmesg zone {}: {}", e.arg, name(&e)),
                )
            })
            .collect();
        let events: Vec<(u64, String)> = tl
            .events
            .iter()
            .filter(|e| e.kind == "kmsg dump")
            .map(|e| (e.time_ns, e.text.clone()))
            .collect();
        assert_eq!(events, outside, "{}", p.display());
        // A journal with no panic in it says so, and only then.
        assert_eq!(
            tl.no_panic().is_some(),
            prog.start.is_none() && prog.plan_len == 0 && begins.is_empty(),
            "{}",
            p.display()
        );
        assert_eq!(tl.finished, prog.finished);
        assert_eq!(tl.nested.len() as u32, prog.nested);
        assert_eq!(tl.skipped.len() as u32, prog.corrupt);
        assert_eq!(tl.other_cpus, prog.other_cpus);
        assert_eq!(
            tl.stopped.as_ref().map(|s| (s.index, s.call.clone())),
            prog.open_step
                .map(|s| (Some(s.step), prog.open_call.map(|c| name(&c))))
        );
        assert_eq!(
            tl.start.as_ref().and_then(|s| s.time_ns),
            prog.start.map(|s| s.time_ns)
        );
        let _ = Outcome::Done;
    }
}

/// The debug files CI has: the fixtures' crashmod.ko (with DWARF), nothing
/// under the default places.
fn crashmod_debug() -> DebugOptions {
    DebugOptions {
        modules: vec![PathBuf::from("fixtures/ramoops/crashmod.ko")],
        debug_root: PathBuf::from("/nonexistent"),
        ..DebugOptions::default()
    }
}

/// Each function defined in crashmod.c: name, first and last line (the
/// line of its name through its closing brace), read from the source.
fn crashmod_functions() -> Vec<(String, u32, u32)> {
    let src = std::fs::read_to_string("fixtures/crashmod/crashmod.c").unwrap();
    let mut v = Vec::new();
    let mut open: Option<(String, u32)> = None;
    for (i, l) in src.lines().enumerate() {
        let n = i as u32 + 1;
        if let Some((name, start)) = &open {
            if l == "}" {
                v.push((name.clone(), *start, n));
                open = None;
            }
        } else if l.starts_with("static ") && l.contains('(') && !l.ends_with(';') {
            let head = &l[..l.find('(').unwrap()];
            let name = head.rsplit([' ', '*']).next().unwrap();
            open = Some((name.to_string(), n));
        }
    }
    v
}

/// Every crashmod frame of every fixture resolves (the module's DWARF is
/// the committed crashmod.ko) to a line inside the function DWARF names,
/// as crashmod.c defines it; a reliable frame names the function its
/// symbol is in. The source file is the oracle, not our reader.
#[test]
fn module_frames_resolve_inside_their_functions() {
    let funcs = crashmod_functions();
    assert!(funcs.len() >= 10, "{funcs:?}");
    let (mut frames, mut lines) = (0, 0);
    for p in inputs() {
        let mut r = report(&p);
        r.symbolize(&crashmod_debug()).unwrap();
        let d = r.debug_files.as_ref().unwrap();
        for f in r.traces.iter().flat_map(|t| &t.frames) {
            if f.module.as_deref() != Some("crashmod") {
                assert!(f.source.is_empty() || f.user, "{p:?}: {f:?}");
                continue;
            }
            assert_eq!(d.modules.len(), 1, "{p:?}: {d:?}");
            assert!(!f.source.is_empty(), "{p:?}: {f:?}");
            frames += 1;
            for s in &f.source {
                let file = s.file.as_deref().unwrap();
                if !file.ends_with("/crashmod.c") {
                    continue; // inlined from a kernel header
                }
                let func = s.function.as_deref().unwrap();
                let line = s.line.unwrap();
                let (_, a, b) = funcs
                    .iter()
                    .find(|(n, _, _)| n == func)
                    .unwrap_or_else(|| panic!("{p:?}: {func} is not in crashmod.c"));
                assert!((*a..=*b).contains(&line), "{p:?}: {func} at line {line}");
                lines += 1;
            }
            let outer = f.source.last().unwrap().function.as_deref().unwrap();
            let sym = f.function.as_deref().unwrap();
            if f.reliable {
                assert_eq!(sym.trim_end_matches(".cold"), outer, "{p:?}: {f:?}");
            }
        }
    }
    assert!(
        frames >= 40 && lines >= frames,
        "{frames} frames, {lines} lines"
    );
}

/// Symbolized traces of one input of each kind, as the text report prints
/// them.
#[test]
fn golden_symbolized_traces() {
    root();
    for p in [
        "fixtures/ramoops/irq-oops/region.bin",
        "fixtures/ramoops/oops-panic/pstore",
        "fixtures/vmcore/kdump/kdump-zlib",
    ] {
        let p = Path::new(p);
        let mut r = report(p);
        r.symbolize(&crashmod_debug()).unwrap();
        let mut t = Vec::new();
        text::write_report(&mut t, &r).unwrap();
        let t = String::from_utf8(t).unwrap();
        let from = t.find("traces:").unwrap();
        let to = t.find("timeline:").unwrap();
        let name = snap_name(p);
        insta::assert_snapshot!(format!("{name}.symbolized.txt"), &t[from..to]);
    }
}

/// A debug file named on the command line that cannot be read is an error
/// naming it; one missing from the default places is only a warning.
#[test]
fn named_debug_files_must_exist() {
    root();
    let mut r = report(Path::new("fixtures/ramoops/irq-oops/region.bin"));
    let opts = DebugOptions {
        vmlinux: Some(PathBuf::from("fixtures/nonexistent-vmlinux")),
        ..crashmod_debug()
    };
    let e = r.symbolize(&opts).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("fixtures/nonexistent-vmlinux: cannot open"),
        "{e}"
    );
    let opts = DebugOptions {
        vmlinux: Some(PathBuf::from("fixtures/crashmod/crashmod.c")),
        ..crashmod_debug()
    };
    let e = r.symbolize(&opts).unwrap_err();
    assert!(e.to_string().contains("not a readable ELF"), "{e}");
    r.symbolize(&crashmod_debug()).unwrap();
    let w = &r.debug_files.as_ref().unwrap().warnings;
    assert!(
        w.iter()
            .any(|w| w.contains("no vmlinux with debug info found for 6.1.0-56-amd64")),
        "{w:?}"
    );
}
