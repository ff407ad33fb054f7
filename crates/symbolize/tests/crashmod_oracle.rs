//! Live oracle: every `[crashmod]` frame of every real fixture trace
//! (fixtures/ramoops/<scenario>/pstore/* and console.log) must resolve to
//! exactly what binutils prints for the same place:
//!
//! ```sh
//! addr2line -i -f -e crashmod.ko -j <section of the symbol> <st_value + offset - 1>
//! ```
//!
//! `- 1` for caller frames (return addresses: the call is the instruction
//! before), not for `RIP:` lines; and with [`Lookup::ReturnAddress`] at
//! the printed address exactly, both checked.
//!
//! The symbol's section and value come from `readelf -sW` / `readelf -SW`,
//! not from our code, so the symbol lookup is checked too. (`-j` matters:
//! without it binutils looks the section-relative number up in `.text`, which
//! is wrong for `.text.unlikely` functions such as `crashmod_write.cold`.)
//!
//! One test per input file (libtest-mimic). binutils is required: the test
//! fails, not skips, when `addr2line`/`readelf` are missing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crashview_symbolize::{parse, DebugObject, Lookup, SectionArena, Symbolizer};
use libtest_mimic::{Arguments, Failed, Trial};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/ramoops")
}

fn ko() -> PathBuf {
    root().join("crashmod.ko")
}

fn inputs() -> Vec<PathBuf> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(root())
        .expect("fixtures/ramoops")
        .flatten()
    {
        let d = e.path();
        if !d.is_dir() {
            continue;
        }
        if d.join("console.log").is_file() {
            v.push(d.join("console.log"));
        }
        if let Ok(rd) = std::fs::read_dir(d.join("pstore")) {
            for f in rd.flatten() {
                let p = f.path();
                // Compressed records the stock reader could not inflate are not text.
                if !p.to_string_lossy().ends_with(".enc.z") {
                    v.push(p);
                }
            }
        }
    }
    v.sort();
    v
}

fn run(cmd: &mut Command) -> Result<String, Failed> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e} (binutils is required)"))?;
    if !out.status.success() {
        return Err(format!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// name -> (section index, st_value) of FUNC symbols, from readelf.
struct ReadelfView {
    funcs: HashMap<String, (usize, u64)>,
    sections: HashMap<usize, String>,
}

fn readelf(path: &Path) -> Result<ReadelfView, Failed> {
    let syms = run(Command::new("readelf").arg("-sW").arg(path))?;
    let mut funcs = HashMap::new();
    for l in syms.lines() {
        let w: Vec<&str> = l.split_whitespace().collect();
        // Num: Value Size Type Bind Vis Ndx Name
        if w.len() == 8 && w[3] == "FUNC" {
            if let (Ok(v), Ok(ndx)) = (u64::from_str_radix(w[1], 16), w[6].parse()) {
                funcs.insert(w[7].to_string(), (ndx, v));
            }
        }
    }
    let secs = run(Command::new("readelf").arg("-SW").arg(path))?;
    let mut sections = HashMap::new();
    for l in secs.lines() {
        let l = l.trim_start();
        if let Some(rest) = l.strip_prefix('[') {
            if let Some((n, tail)) = rest.split_once(']') {
                if let (Ok(n), Some(name)) = (n.trim().parse(), tail.split_whitespace().next()) {
                    sections.insert(n, name.to_string());
                }
            }
        }
    }
    Ok(ReadelfView { funcs, sections })
}

fn check(input: &Path, lookup: Lookup) -> Result<(), Failed> {
    let ko = ko();
    let view = readelf(&ko)?;
    let bytes = std::fs::read(&ko)?;
    let arena = SectionArena::new();
    let obj = DebugObject::parse(&bytes, &arena).map_err(|e| e.to_string())?;
    let mut sym = Symbolizer::new();
    sym.set_lookup(lookup);
    sym.add_module("crashmod", obj);

    let text = String::from_utf8_lossy(&std::fs::read(input)?).into_owned();
    let log = parse::parse_log(&text);
    sym.prefetch(&log);
    let mut checked = 0;
    for t in &log.traces {
        for f in t.frames() {
            if f.module != Some("crashmod") {
                continue;
            }
            let s = f
                .symbol
                .ok_or_else(|| format!("line {}: no symbol", f.line + 1))?;
            let &(ndx, value) = view
                .funcs
                .get(s.name)
                .ok_or_else(|| format!("{} not in readelf -s", s.name))?;
            let section = &view.sections[&ndx];
            let pc = value + s.offset;
            let addr = match lookup {
                Lookup::CallSite if !f.is_rip => pc - 1,
                _ => pc,
            };
            let oracle = run(Command::new("addr2line")
                .args(["-i", "-f", "-e"])
                .arg(&ko)
                .args(["-j", section])
                .arg(format!("{addr:#x}")))?;
            let oracle: Vec<String> = oracle
                .lines()
                .map(|l| match l.find(" (discriminator ") {
                    Some(i) => l[..i].to_string(),
                    None => l.to_string(),
                })
                .collect();

            let r = sym.resolve(f, &log.info);
            let mut ours = Vec::new();
            for sf in &r.frames {
                ours.push(sf.function.clone().unwrap_or_else(|| "??".into()));
                ours.push(format!(
                    "{}:{}",
                    sf.file.as_deref().unwrap_or("??"),
                    sf.line.map_or("?".to_string(), |l| l.to_string())
                ));
            }
            if ours.is_empty() {
                ours = vec!["??".into(), "??:0".into()];
            }
            if ours != oracle {
                return Err(format!(
                    "line {} `{}` ({section}+{addr:#x}):\n  ours:   {ours:?}\n  oracle: {oracle:?}\n  note: {:?}",
                    f.line + 1,
                    f.text,
                    r.note
                )
                .into());
            }
            if r.pc.is_none() || r.call_site != (addr != pc) {
                return Err(format!(
                    "line {}: pc {:?} call_site {} (readelf: pc {section}+{pc:#x})",
                    f.line + 1,
                    r.pc,
                    r.call_site
                )
                .into());
            }
            // Our section layout must name the same section and offset.
            match &r.section {
                Some((name, off)) if name == section && *off == addr => {}
                other => {
                    return Err(format!(
                        "line {}: section {other:?}, readelf says {section}+{addr:#x}",
                        f.line + 1
                    )
                    .into())
                }
            }
            checked += 1;
        }
    }
    // Every scenario's trace goes through crashmod except the sysrq ones.
    let name = input.to_string_lossy();
    if checked == 0 && !name.contains("sysrq") && text.contains("[crashmod]") {
        return Err("trace text mentions [crashmod] but no frame was checked".into());
    }
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let base = root();
    let mut trials = Vec::new();
    for p in inputs() {
        let label = p
            .strip_prefix(&base)
            .unwrap_or(&p)
            .to_string_lossy()
            .into_owned();
        for (mode, lookup) in [
            ("call-site", Lookup::CallSite),
            ("return-address", Lookup::ReturnAddress),
        ] {
            let p = p.clone();
            trials.push(Trial::test(format!("{label} {mode}"), move || {
                check(&p, lookup)
            }));
        }
    }
    libtest_mimic::run(&args, trials).exit();
}
