//! The task list, module list and every task's stack, read with no debug
//! file, against drgn's reading of the same real dumps with the `-dbg`
//! vmlinux and the modules' DWARF (fixtures/tasks/README.md says how the
//! oracle files were made). Each dump is the committed minimized copy
//! (`<dump>.min.zst`), or the full dump in fixtures/.cache when present.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crashview_kernel::Kernel;
use crashview_vmcore::Vmcore;
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// Every dump with a drgn oracle: (release dir, dump name, oracle file,
/// damaged). A `-d31` dump whose task walk drgn could not finish
/// (makedumpfile 1.7.2 takes 6.10+ slab pages for user pages and drops
/// them at dump level 31) is held to drgn's reading of the `-d1` dump the
/// same capture kernel wrote of the same crash, as a damaged dump: what we
/// read of it must be what drgn read of the complete one.
fn oracles() -> Vec<(PathBuf, String, PathBuf, bool)> {
    let mut out = Vec::new();
    for (dir, dump) in dumps_in_tasks() {
        let own = dir.join(format!("{dump}.drgn.json"));
        let walk_failed = std::fs::read(&own)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .is_some_and(|v| !v["task_walk_error"].is_null());
        let d1 = dump
            .strip_suffix("-d31")
            .map(|p| dir.join(format!("{p}-d1.drgn.json")));
        match d1 {
            Some(d1) if walk_failed && d1.exists() => out.push((dir, dump, d1, true)),
            _ if own.exists() && !walk_failed => out.push((dir, dump, own, false)),
            _ => {}
        }
    }
    out
}

/// Every dump named by an oracle file or a minimized copy.
fn dumps_in_tasks() -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let Ok(rels) = std::fs::read_dir(fixtures().join("tasks")) else {
        return out;
    };
    for rel in rels.flatten() {
        let dir = rel.path();
        let Ok(files) = std::fs::read_dir(&dir) else {
            continue;
        };
        for f in files.flatten() {
            let name = f.file_name().to_string_lossy().into_owned();
            let dump = name
                .strip_suffix(".drgn.json")
                .or_else(|| name.strip_suffix(".min.zst"))
                .or_else(|| name.strip_suffix(".crash-bt-a.txt"));
            if let Some(dump) = dump {
                out.push((dir.clone(), dump.to_string()));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The dump's bytes: the full file from fixtures/.cache/tasks/<rel>/ if
/// there, else the committed minimized copy, else `None`.
fn dump_bytes(dir: &Path, dump: &str) -> Option<Vec<u8>> {
    let rel = dir.file_name()?.to_string_lossy().into_owned();
    let full = fixtures().join(".cache/tasks").join(&rel).join(dump);
    if let Ok(b) = std::fs::read(&full) {
        return Some(b);
    }
    let min = std::fs::read(dir.join(format!("{dump}.min.zst"))).ok()?;
    let mut dec = ruzstd::decoding::StreamingDecoder::new(min.as_slice()).ok()?;
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut dec, &mut out).ok()?;
    Some(out)
}

fn hex(v: &Value) -> Option<u64> {
    u64::from_str_radix(v.as_str()?.trim_start_matches("0x"), 16).ok()
}

/// drgn's frames that are real frames (inline ones share a pc with the
/// frame they are inlined into), up to the first user-space one (drgn goes
/// on unwinding the user stack from the user registers, without user
/// pages or unwind tables: what follows is not a frame): (pc, symbol,
/// symbol start).
fn drgn_frames(t: &Value) -> Vec<(u64, Option<String>, Option<u64>)> {
    let kernel = |f: &&Value| hex(&f["pc"]).is_some_and(|pc| pc >= 0xffff_8000_0000_0000);
    t["frames"]
        .as_array()
        .map(|fs| {
            let end = fs
                .iter()
                .position(|f| !kernel(&f))
                .map_or(fs.len(), |i| i + 1);
            fs.iter()
                .take(end)
                .filter(|f| f["inline"] != Value::Bool(true))
                .map(|f| {
                    let pc = hex(&f["pc"]).unwrap_or(0);
                    let sym = f["symbol"].as_str().map(str::to_owned);
                    let start = hex(&f["symbol_offset"]).and_then(|o| pc.checked_sub(o));
                    (pc, sym, start)
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn stacks_tasks_and_modules_equal_drgn() {
    let all = oracles();
    if all.is_empty() {
        eprintln!("no fixtures/tasks/*/*.drgn.json: nothing to compare");
        return;
    }
    let mut checked = 0;
    let mut failures = Vec::new();
    for (dir, dump, oracle_file, damaged) in &all {
        let label = format!("{}/{dump}", dir.file_name().unwrap().to_string_lossy());
        let oracle: Value = serde_json::from_slice(&std::fs::read(oracle_file).unwrap()).unwrap();
        let Some(bytes) = dump_bytes(dir, dump) else {
            eprintln!("{label}: neither the full dump nor {dump}.min.zst: skipped");
            continue;
        };
        let core = Vmcore::parse(&bytes).unwrap();
        let k = Kernel::open(&core, core.cpus()).unwrap_or_else(|e| panic!("{label}: {e}"));
        let (tasks, notes) = k.tasks_with_notes();
        if *damaged {
            // Each note names the address it could not read.
            assert!(
                notes.iter().all(|n| n.message.contains(" at 0x")),
                "{label}: {notes:?}"
            );
            eprintln!("{label}: damaged: {} notes", notes.len());
        } else {
            assert!(notes.is_empty(), "{label}: {notes:?}");
        }
        // The same kernel opened from its cached metadata (kallsyms and
        // layouts, KASLR-independent) reads the same tasks and stacks.
        let meta = k.metadata();
        let (k2, used) =
            Kernel::open_cached(&core, core.cpus(), Some(Box::new(meta.clone()))).unwrap();
        assert!(used, "{label}: its own metadata was refused");
        let tasks2 = k2.tasks();
        assert_eq!(tasks, tasks2, "{label}: tasks through the cache");
        for t in &tasks {
            assert_eq!(
                k.backtrace(t),
                k2.backtrace(t),
                "{label}: pid {} through the cache",
                t.pid
            );
        }
        // Metadata of another build (here: cut short) is refused, not used.
        let (_, used) = Kernel::open_cached(
            &core,
            core.cpus(),
            Some(Box::new(meta[..meta.len() / 2].to_vec())),
        )
        .unwrap();
        assert!(!used, "{label}: truncated metadata was used");
        // One byte changed (an address in the symbol table) is refused too.
        let mut flipped = meta.clone();
        let at = flipped.len() - 1_000_000;
        flipped[at] ^= 0x10;
        let (_, used) = Kernel::open_cached(&core, core.cpus(), Some(Box::new(flipped))).unwrap();
        assert!(!used, "{label}: damaged metadata was used");

        // Task list: pid, tgid, ppid, comm, cpu, state.
        let ours: BTreeMap<(u32, String), (u32, u32, u32, char)> = tasks
            .iter()
            .map(|t| ((t.pid, t.comm.clone()), (t.tgid, t.ppid, t.cpu, t.state)))
            .collect();
        let theirs: BTreeMap<(u32, String), (u32, u32, u32, char)> = oracle["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    (
                        t["pid"].as_u64().unwrap() as u32,
                        t["comm"].as_str().unwrap().to_string(),
                    ),
                    (
                        t["tgid"].as_u64().unwrap() as u32,
                        t["ppid"].as_u64().unwrap() as u32,
                        t["cpu"].as_u64().unwrap() as u32,
                        t["state"].as_str().unwrap().chars().next().unwrap(),
                    ),
                )
            })
            .collect();
        if ours != theirs {
            failures.push(format!(
                "{label}: task lists differ:\n ours   {ours:?}\n drgn   {theirs:?}"
            ));
        }

        // Modules: name, base, size, taint letters.
        let ours: Vec<(String, u64, u64, String)> = k
            .modules()
            .iter()
            .map(|m| (m.name.clone(), m.base, m.size, m.taints.clone()))
            .collect();
        let mut theirs: Vec<(String, u64, u64, String)> = oracle["modules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["name"].as_str().unwrap().to_string(),
                    hex(&m["base"]).unwrap(),
                    m["size"].as_u64().unwrap(),
                    m["taints"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let mut sorted = ours.clone();
        sorted.sort();
        theirs.sort();
        if sorted != theirs {
            failures.push(format!(
                "{label}: modules differ:\n ours {sorted:?}\n drgn {theirs:?}"
            ));
        }

        // Every task's stack, frame by frame.
        for t in oracle["tasks"].as_array().unwrap() {
            let pid = t["pid"].as_u64().unwrap() as u32;
            let comm = t["comm"].as_str().unwrap();
            let Some(task) = tasks.iter().find(|x| x.pid == pid && x.comm == comm) else {
                continue;
            };
            let want = drgn_frames(t);
            let bt = k.backtrace(task);
            let got: Vec<(u64, Option<String>, u64)> = bt
                .frames
                .iter()
                .map(|f| (f.pc, f.function.clone(), f.pc.wrapping_sub(f.offset)))
                .collect();
            let same = want.len() == got.len()
                && want.iter().zip(&got).all(|((wpc, wsym, wstart), (gpc, gsym, gstart))| {
                    wpc == gpc
                        && (wsym == gsym
                            // kallsyms keeps local labels drgn's ELF symbols
                            // fold into their function (entry_SYSCALL_64_after_hwframe
                            // inside entry_SYSCALL_64): the same place if our
                            // symbol starts inside drgn's, before the pc.
                            || (gsym.is_some() && wstart.is_some_and(|ws| *gstart > ws && *gstart <= *gpc)))
                });
            if !same {
                failures.push(format!(
                    "{label}: pid {pid} {comm}: stacks differ\n ours {:?} (stopped: {:?})\n drgn {:?}",
                    got.iter().map(|(pc, s, _)| format!("{pc:#x} {}", s.as_deref().unwrap_or("?"))).collect::<Vec<_>>(),
                    bt.stopped,
                    want.iter().map(|(pc, s, _)| format!("{pc:#x} {}", s.as_deref().unwrap_or("?"))).collect::<Vec<_>>()
                ));
            }
            checked += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("{checked} stacks equal drgn's");
}

/// crash's `bt -a`: per task (pid, cpu), the functions of its frames.
fn crash_bt_a(text: &str) -> Vec<(u32, u32, Vec<String>)> {
    let mut out: Vec<(u32, u32, Vec<String>)> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("PID: ") {
            let pid = rest.split_whitespace().next().and_then(|p| p.parse().ok());
            let cpu = rest
                .split("CPU: ")
                .nth(1)
                .and_then(|c| c.split_whitespace().next())
                .and_then(|c| c.parse().ok());
            if let (Some(pid), Some(cpu)) = (pid, cpu) {
                out.push((pid, cpu, Vec::new()));
            }
        } else if let Some(last) = out.last_mut() {
            // ` #3 [ffffd2d4403d3d30] crashmod_write.cold at ffffffffc03f128c [crashmod]`
            let t = line.trim_start();
            if t.starts_with('#') {
                if let Some(func) = t.split("] ").nth(1).and_then(|r| r.split(" at ").next()) {
                    last.2.push(func.to_string());
                }
            }
        }
    }
    out
}

/// `needle` is `hay` with some entries left out, in order.
fn is_subsequence(needle: &[String], hay: &[String]) -> bool {
    let mut it = hay.iter();
    needle.iter().all(|n| it.any(|h| h == n))
}

/// The active task of every CPU, against crash's `bt -a` (a second,
/// independent unwinder). crash begins the crashed CPU's stack inside
/// machine_kexec (kdump) or at panic (QEMU), and an NMI-stopped CPU's with
/// the NMI handler, where our unwind starts from the registers the dump
/// saved; from the first function both show, crash's functions must
/// appear in our stack in order, ending with the same one (crash may skip
/// a frame: on 6.1 it leaves out crashmod_panic_target, whose call to
/// panic() ends the function).
#[test]
fn active_cpus_agree_with_crash() {
    let mut checked = 0;
    for (dir, dump) in dumps_in_tasks() {
        let Ok(text) = std::fs::read_to_string(dir.join(format!("{dump}.crash-bt-a.txt"))) else {
            continue;
        };
        let Some(bytes) = dump_bytes(&dir, &dump) else {
            continue;
        };
        let core = Vmcore::parse(&bytes).unwrap();
        let k = Kernel::open(&core, core.cpus()).unwrap();
        let tasks = k.tasks();
        for (pid, cpu, funcs) in crash_bt_a(&text) {
            let Some(t) = tasks
                .iter()
                .find(|t| t.pid == pid && t.cpu == cpu && t.on_cpu)
            else {
                panic!("{dump}: crash's active task {pid} on CPU {cpu} is not ours");
            };
            let ours: Vec<String> = k
                .backtrace(t)
                .frames
                .iter()
                .filter_map(|f| f.function.clone())
                .collect();
            // crash's own start (inside machine_kexec, the NMI handler, or
            // at panic in a QEMU dump) is above or below ours: compare from
            // the first function both have.
            let from = funcs
                .iter()
                .position(|f| ours.contains(f))
                .unwrap_or_else(|| {
                    panic!("{dump}: pid {pid}: crash {funcs:?} and ours {ours:?} share no function")
                });
            let tail = &funcs[from..];
            // kallsyms' label vs crash's: the syscall entry.
            let norm = |v: &[String]| -> Vec<String> {
                v.iter()
                    .map(|f| f.replace("entry_SYSCALL_64_after_hwframe", "entry_SYSCALL_64"))
                    .collect()
            };
            assert!(
                is_subsequence(&norm(tail), &norm(&ours))
                    && norm(tail).last() == norm(&ours).last(),
                "{dump}: pid {pid} on CPU {cpu}:\n crash {tail:?}\n ours  {ours:?}"
            );
            checked += 1;
        }
    }
    eprintln!("{checked} active-CPU stacks agree with crash");
}
