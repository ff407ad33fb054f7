//! `crashview bt`, `ps`, `modules` and `info` on the committed task
//! fixtures (minimized real dumps, fixtures/tasks/README.md), against
//! drgn's reading of the same dumps and, for file:line, binutils addr2line
//! on the modules' own DWARF.

mod common;
use common::{crashview, fixture};
use serde_json::Value;

/// (fixture dump, drgn oracle) pairs whose dumps are committed.
const DUMPS: &[(&str, &str)] = &[
    (
        "tasks/6.1/kdump-zlib-d31.min.zst",
        "tasks/6.1/kdump-zlib-d31.drgn.json",
    ),
    ("tasks/6.1/qemu.elf.min.zst", "tasks/6.1/qemu.elf.drgn.json"),
    (
        "tasks/6.12/kdump-zlib-d1.min.zst",
        "tasks/6.12/kdump-zlib-d1.drgn.json",
    ),
    (
        "tasks/6.12/qemu.elf.min.zst",
        "tasks/6.12/qemu.elf.drgn.json",
    ),
];

fn json(args: &[&str]) -> Value {
    let (code, out, err) = crashview(args);
    assert_eq!(code, 0, "{args:?}: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
}

fn oracle(rel: &str) -> Value {
    serde_json::from_slice(&std::fs::read(fixture(rel)).unwrap()).unwrap()
}

/// drgn's first real frame symbol of the task with this pid.
fn drgn_first(o: &Value, pid: u64) -> Option<String> {
    let t = o["tasks"].as_array()?.iter().find(|t| t["pid"] == pid)?;
    t["frames"]
        .as_array()?
        .iter()
        .find(|f| f["inline"] != Value::Bool(true))?["symbol"]
        .as_str()
        .map(str::to_owned)
}

#[test]
fn bt_json_is_the_crashed_task_with_the_schema_fields() {
    for (dump, orc) in DUMPS {
        let o = oracle(orc);
        let p = fixture(dump);
        let v = json(&["bt", "--json", "--no-symbols", p.to_str().unwrap()]);
        assert_eq!(v["schema"], "crashview.bt/1");
        let threads = v["threads"].as_array().unwrap();
        assert_eq!(threads.len(), 1, "{dump}");
        let t = &threads[0];
        assert_eq!(t["pid"], o["crashed_thread"]["tid"], "{dump}");
        assert_eq!(t["comm"], o["crashed_thread"]["comm"], "{dump}");
        assert_eq!(t["cpu"], o["crashed_cpu"], "{dump}");
        assert_eq!(t["crashed"], true);
        for k in ["pid", "comm", "cpu", "state", "frames"] {
            assert!(!t[k].is_null(), "{dump}: thread field {k}");
        }
        for f in t["frames"].as_array().unwrap() {
            let pc = f["pc"].as_str().expect("pc is a hex string");
            assert!(pc.starts_with("0x") && u64::from_str_radix(&pc[2..], 16).is_ok());
            assert!(f.get("function").is_some() && f.get("module").is_some());
        }
        // vmlinux frames have a null module, crashmod's are named.
        let frames = t["frames"].as_array().unwrap();
        assert!(
            frames
                .iter()
                .any(|f| f["function"] == "panic" && f["module"].is_null()),
            "{dump}"
        );
        assert!(frames.iter().any(|f| f["module"] == "crashmod"), "{dump}");
        assert_eq!(v["panic_cpu"], o["panic_cpu"], "{dump}");
    }
}

#[test]
fn bt_cpus_shows_every_cpus_task_and_pid_picks_tasks() {
    for (dump, orc) in DUMPS {
        let o = oracle(orc);
        let p = fixture(dump);
        let p = p.to_str().unwrap();
        let v = json(&["bt", "--cpus", "--json", "--no-symbols", p]);
        let mut ours: Vec<(u64, u64)> = v["threads"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["cpu"].as_u64().unwrap(), t["pid"].as_u64().unwrap()))
            .collect();
        let mut theirs: Vec<(u64, u64)> = o["cpus"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["cpu"].as_u64().unwrap(), c["curr_pid"].as_u64().unwrap()))
            .collect();
        ours.sort();
        theirs.sort();
        assert_eq!(ours, theirs, "{dump}");

        // Each parked kthread, by pid, sits where cvpark.c put it.
        for (comm, func) in [
            ("cvpark_sleep", "cvpark_sleep_wait"),
            ("cvpark_msleep", "cvpark_msleep_loop"),
            ("cvpark_dwait", "cvpark_dwait_wait"),
            ("cvpark_spin", "cvpark_spin_loop"),
        ] {
            let t = o["tasks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["comm"] == comm)
                .unwrap();
            let pid = t["pid"].as_u64().unwrap().to_string();
            let v = json(&["bt", "--pid", &pid, "--json", "--no-symbols", p]);
            let frames = v["threads"][0]["frames"].as_array().unwrap();
            assert!(
                frames
                    .iter()
                    .any(|f| f["function"] == func && f["module"] == "cvpark"),
                "{dump}: {comm} not in {func}: {frames:?}"
            );
            assert_eq!(
                frames[0]["function"].as_str().map(str::to_owned),
                drgn_first(&o, t["pid"].as_u64().unwrap()),
                "{dump}: {comm}'s first frame"
            );
        }
        let (code, _, err) = crashview(&["bt", "--pid", "999999", "--no-symbols", p]);
        assert_eq!(code, 0);
        assert!(err.contains("pid 999999: no such task"), "{err}");
    }
}

#[test]
fn ps_and_modules_equal_drgn() {
    for (dump, orc) in DUMPS {
        let o = oracle(orc);
        let p = fixture(dump);
        let p = p.to_str().unwrap();
        let v = json(&["ps", "--json", p]);
        assert_eq!(v["schema"], "crashview.ps/1");
        let row = |t: &Value| {
            (
                t["pid"].as_u64().unwrap(),
                t["ppid"].as_u64().unwrap(),
                t["cpu"].as_u64().unwrap(),
                t["state"].as_str().unwrap().to_string(),
                t["comm"].as_str().unwrap().to_string(),
            )
        };
        let mut ours: Vec<_> = v["tasks"].as_array().unwrap().iter().map(row).collect();
        let mut theirs: Vec<_> = o["tasks"].as_array().unwrap().iter().map(row).collect();
        ours.sort();
        theirs.sort();
        assert_eq!(ours, theirs, "{dump}");

        let v = json(&["modules", "--json", p]);
        assert_eq!(v["schema"], "crashview.modules/1");
        let m = |m: &Value| {
            (
                m["name"].as_str().unwrap().to_string(),
                m["base"].as_str().unwrap().to_string(),
                m["size"].as_u64().unwrap(),
                m["taints"].as_str().unwrap().to_string(),
            )
        };
        let mut ours: Vec<_> = v["modules"].as_array().unwrap().iter().map(m).collect();
        let mut theirs: Vec<_> = o["modules"].as_array().unwrap().iter().map(m).collect();
        ours.sort();
        theirs.sort();
        assert_eq!(ours, theirs, "{dump}");
    }
}

#[test]
fn info_names_the_function_at_every_cpus_rip() {
    for (dump, orc) in DUMPS {
        let o = oracle(orc);
        let p = fixture(dump);
        let v = json(&["info", "--json", p.to_str().unwrap()]);
        let cpus = v["cpus"].as_array().unwrap();
        assert_eq!(cpus.len(), o["cpus"].as_array().unwrap().len(), "{dump}");
        for (i, c) in cpus.iter().enumerate() {
            let f = c["rip_function"]
                .as_str()
                .unwrap_or_else(|| panic!("{dump}: cpu {i} unnamed"));
            // The function drgn starts that CPU's task's stack in.
            let pid = o["cpus"][i]["curr_pid"].as_u64().unwrap();
            let want = drgn_first(&o, pid).unwrap();
            assert!(
                f.starts_with(&format!("{want}+")),
                "{dump}: cpu {i}: {f} vs drgn {want}"
            );
        }
    }
}

/// `nm` address of a symbol in a relocatable module.
fn nm_addr(ko: &std::path::Path, sym: &str) -> u64 {
    let out = std::process::Command::new("nm")
        .arg(ko)
        .output()
        .expect("nm (binutils)");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.ends_with(&format!(" {sym}")))
        .unwrap_or_else(|| panic!("{sym} not in {}", ko.display()));
    u64::from_str_radix(line.split_whitespace().next().unwrap(), 16).unwrap()
}

#[test]
fn module_frames_get_file_and_line_equal_to_addr2line() {
    for (dump, orc) in DUMPS {
        let o = oracle(orc);
        let rel = dump.split('/').nth(1).unwrap();
        let dir = fixture(&format!("tasks/{rel}"));
        let p = fixture(dump);
        let sleeper = o["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["comm"] == "cvpark_sleep")
            .unwrap();
        let pid = sleeper["pid"].as_u64().unwrap().to_string();
        let v = json(&[
            "bt",
            "--pid",
            &pid,
            "--json",
            "--no-debuginfod",
            "--debug-root",
            "/nonexistent",
            "--modules",
            dir.to_str().unwrap(),
            p.to_str().unwrap(),
        ]);
        let ko = dir.join("cvpark.ko");
        let mut checked = 0;
        for f in v["threads"][0]["frames"].as_array().unwrap() {
            if f["module"] != "cvpark" {
                continue;
            }
            let func = f["function"].as_str().unwrap();
            let off = f["offset"].as_u64().unwrap();
            // A caller frame: the call is at the return address - 1.
            let at = nm_addr(&ko, func) + off - 1;
            let out = std::process::Command::new("addr2line")
                .args(["-f", "-i", "-e"])
                .arg(&ko)
                .arg(format!("{at:#x}"))
                .output()
                .expect("addr2line (binutils)");
            let want: Vec<String> = String::from_utf8_lossy(&out.stdout)
                .lines()
                .collect::<Vec<_>>()
                .chunks(2)
                .map(|c| {
                    let file_line = c[1].split(" (discriminator").next().unwrap();
                    let (file, line) = file_line.rsplit_once(':').unwrap();
                    format!("{} {}:{}", c[0], file.rsplit('/').next().unwrap(), line)
                })
                .collect();
            let got: Vec<String> = f["source"]
                .as_array()
                .unwrap_or_else(|| panic!("{dump}: {func} has no source: {f}"))
                .iter()
                .map(|s| {
                    format!(
                        "{} {}:{}",
                        s["function"].as_str().unwrap(),
                        s["file"].as_str().unwrap().rsplit('/').next().unwrap(),
                        s["line"]
                    )
                })
                .collect();
            assert_eq!(got, want, "{dump}: {func}+{off:#x}");
            checked += 1;
        }
        assert!(checked >= 2, "{dump}: {checked} cvpark frames checked");
    }
}

#[test]
fn report_shows_the_dump_stacks_labelled_and_the_6_12_task_line() {
    let p = fixture("tasks/6.12/kdump-zlib-d1.min.zst");
    let v = json(&["report", "--json", "--no-symbols", p.to_str().unwrap()]);
    let traces = v["traces"].as_array().unwrap();
    let dump: Vec<&Value> = traces.iter().filter(|t| t["source"] == "dump").collect();
    assert_eq!(dump.len(), 2, "one per CPU");
    assert!(dump[0]["title"].as_str().unwrap().contains("crashed"));
    assert!(traces.iter().any(|t| t["source"] == "log"));
    // 6.12's `CPU: 0 UID: 0 PID: …` line.
    assert!(
        v["summary"]["cpu"].is_number() && v["summary"]["pid"].is_number(),
        "{}",
        v["summary"]
    );
    assert_eq!(v["dump"]["cpus"].as_array().unwrap().len(), 2);
    let (code, out, _) = crashview(&["report", "--plain", "--no-symbols", p.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(out.contains("unwound from the dump"), "{out}");
    assert!(!out.contains("CPU ?"), "{out}");
}

#[test]
fn vmlinux_frames_get_file_and_line_equal_to_addr2line() {
    let Some(vmlinux) = std::env::var_os("CRASHVIEW_DBG_VMLINUX").filter(|v| !v.is_empty()) else {
        eprintln!("CRASHVIEW_DBG_VMLINUX is not set: the vmlinux file:line comparison needs the 6.1 -dbg vmlinux");
        return;
    };
    let vmlinux = std::path::PathBuf::from(vmlinux);
    let dump = fixture("tasks/6.1/kdump-zlib-d31.min.zst");
    let dump = dump.to_str().unwrap();
    let o = oracle("tasks/6.1/kdump-zlib-d31.drgn.json");
    let info = json(&["info", "--json", dump]);
    let kaslr = info["kernel_offset"].as_u64().unwrap();
    let pids: Vec<String> = ["cvpark_msleep", "cvpark_dwait", "sh"]
        .iter()
        .map(|c| {
            o["tasks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["comm"] == *c)
                .unwrap()["pid"]
                .to_string()
        })
        .collect();
    let mut args = vec![
        "bt",
        "--json",
        "--no-debuginfod",
        "--vmlinux",
        vmlinux.to_str().unwrap(),
    ];
    for p in &pids {
        args.extend(["--pid", p.as_str()]);
    }
    args.push(dump);
    let v = json(&args);
    // Every named vmlinux frame: its source lines, and where addr2line
    // looks (the link address of the call, or of the exact pc).
    let mut frames = Vec::new();
    for t in v["threads"].as_array().unwrap() {
        for f in t["frames"].as_array().unwrap() {
            if !f["module"].is_null() || f["function"].is_null() {
                continue;
            }
            let pc = u64::from_str_radix(f["pc"].as_str().unwrap().trim_start_matches("0x"), 16)
                .unwrap();
            let at = pc - kaslr - u64::from(f["pc_kind"] == "return-address");
            frames.push((at, f.clone()));
        }
    }
    assert!(frames.len() >= 15, "{} vmlinux frames", frames.len());
    let out = std::process::Command::new("addr2line")
        .args(["-f", "-i", "-a", "-e"])
        .arg(&vmlinux)
        .args(frames.iter().map(|(a, _)| format!("{a:#x}")))
        .output()
        .expect("addr2line (binutils)");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut groups: Vec<Vec<String>> = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(l) = lines.next() {
        if l.starts_with("0x") {
            groups.push(Vec::new());
            continue;
        }
        let file_line = lines.next().unwrap_or("");
        let file_line = file_line.split(" (discriminator").next().unwrap();
        let (file, line) = file_line.rsplit_once(':').unwrap_or((file_line, "?"));
        groups
            .last_mut()
            .unwrap()
            .push(format!("{l} {}:{line}", file.rsplit('/').next().unwrap()));
    }
    assert_eq!(groups.len(), frames.len());
    for ((at, f), want) in frames.iter().zip(&groups) {
        let got: Vec<String> = f["source"]
            .as_array()
            .unwrap_or_else(|| panic!("{at:#x} {}: no source", f["function"]))
            .iter()
            .map(|s| {
                format!(
                    "{} {}:{}",
                    s["function"].as_str().unwrap_or("??"),
                    s["file"]
                        .as_str()
                        .unwrap_or("??")
                        .rsplit('/')
                        .next()
                        .unwrap(),
                    s["line"]
                        .as_u64()
                        .map_or("?".to_string(), |l| l.to_string())
                )
            })
            .collect();
        assert_eq!(&got, want, "{} at {at:#x}", f["function"]);
    }
}

/// The per-build metadata cache: written on the first run, used by the
/// next, and a damaged file is refused (then rewritten), with the same
/// output every time.
#[test]
fn the_metadata_cache_changes_nothing_and_survives_damage() {
    let cache = tempfile::tempdir().unwrap();
    let p = fixture("tasks/6.12/kdump-zlib-d1.min.zst");
    let run = || {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_crashview"))
            .args(["bt", "--all", "--no-symbols", "--json", p.to_str().unwrap()])
            .env("XDG_CACHE_HOME", cache.path())
            .output()
            .unwrap();
        assert!(o.status.success());
        String::from_utf8(o.stdout).unwrap()
    };
    let first = run();
    let file = walk(cache.path())
        .into_iter()
        .find(|f| f.ends_with("kernelmeta-v1"))
        .expect("the metadata file");
    let second = run();
    assert_eq!(first, second);
    let mut b = std::fs::read(&file).unwrap();
    let mid = b.len() / 2;
    b[mid] ^= 0x40;
    std::fs::write(&file, &b).unwrap();
    assert_eq!(run(), first, "a damaged cache file changed the output");
    assert_ne!(
        std::fs::read(&file).unwrap(),
        b,
        "the damaged file was not rewritten"
    );
    let off = std::process::Command::new(env!("CARGO_BIN_EXE_crashview"))
        .args(["bt", "--all", "--no-symbols", "--json", p.to_str().unwrap()])
        .env("XDG_CACHE_HOME", cache.path())
        .env("CRASHVIEW_NO_INDEX", "1")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(off.stdout).unwrap(), first);
}

fn walk(d: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// A dump whose BTF is corrupt: `bt` fails naming BTF, and `info` still
/// names each CPU's vmlinux function from kallsyms, saying what it lacks.
#[test]
fn without_btf_info_still_names_vmlinux_functions() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("qemu.elf");
    let out = std::process::Command::new("zstd")
        .args(["-dqf", "-o"])
        .arg(&raw)
        .arg(fixture("tasks/6.1/qemu.elf.min.zst"))
        .output()
        .expect("zstd (apt zstd)");
    assert!(out.status.success());
    let mut b = std::fs::read(&raw).unwrap();
    // The vmlinux BTF header: magic 0xeb9f, version 1, hdr_len 24.
    let hdr = [0x9f, 0xeb, 0x01, 0x00, 0x18, 0x00, 0x00, 0x00];
    let at = b.windows(8).position(|w| w == hdr).expect("the BTF header");
    b[at] = 0;
    std::fs::write(&raw, &b).unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_crashview"))
            .args(args)
            .arg(&raw)
            .env("CRASHVIEW_NO_INDEX", "1")
            .output()
            .unwrap()
    };
    let bt = run(&["bt", "--no-symbols"]);
    assert_eq!(bt.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bt.stderr).contains("BTF"),
        "{}",
        String::from_utf8_lossy(&bt.stderr)
    );
    let info = run(&["info", "--json"]);
    assert!(info.status.success());
    let v: Value = serde_json::from_slice(&info.stdout).unwrap();
    let o = oracle("tasks/6.1/qemu.elf.drgn.json");
    for (i, c) in v["cpus"].as_array().unwrap().iter().enumerate() {
        let pid = o["cpus"][i]["curr_pid"].as_u64().unwrap();
        let want = drgn_first(&o, pid).unwrap();
        let f = c["rip_function"]
            .as_str()
            .unwrap_or_else(|| panic!("cpu {i} unnamed: {c}"));
        assert!(f.starts_with(&format!("{want}+")), "cpu {i}: {f} vs {want}");
    }
    let missing = v["missing"].to_string();
    assert!(
        missing.contains("BTF") && missing.contains("module addresses are not named"),
        "{missing}"
    );
}
