//! One test per committed vmcore fixture (libtest-mimic): the log crashview
//! reads must contain every kernel line of the boot's serial console, in
//! order, and equal `makedumpfile --dump-dmesg` line for line; the headers
//! must say what the scenario did (release, CPUs, KASLR offset, crash time).

mod common;

use std::path::Path;

use common::*;
use crashview_vmcore::Vmcore;
use libtest_mimic::{Arguments, Failed, Trial};

fn check(path: &Path) -> Result<(), Failed> {
    let bytes = load(path);
    let core = Vmcore::parse(&bytes).map_err(|e| format!("parse: {e}"))?;
    if !core.diagnostics().is_empty() {
        return Err(format!("diagnostics on a clean dump: {:?}", core.diagnostics()).into());
    }
    let vi = core.vmcoreinfo().ok_or("no VMCOREINFO")?;
    let rel = version("kernel_release");
    if vi.osrelease() != Some(rel.as_str()) {
        return Err(format!("OSRELEASE {:?}, expected {rel}", vi.osrelease()).into());
    }
    if core.cpus().is_empty() {
        return Err("no NT_PRSTATUS".into());
    }
    for c in core.cpus() {
        let rip = c.reg("rip").unwrap();
        if rip < 0xffff_ffff_8000_0000 {
            return Err(format!("cpu {} rip {rip:#x} is not kernel text", c.index).into());
        }
    }
    let log = crashview_printk::read_log(&core).map_err(|e| format!("read_log: {e}"))?;
    if !log.diagnostics.is_empty() || log.skipped != 0 {
        return Err(format!(
            "clean ring reported problems: skipped {} {:?}",
            log.skipped, log.diagnostics
        )
        .into());
    }
    let ours: Vec<String> = log.records.iter().flat_map(|r| r.console_lines()).collect();

    // 1. Every console line, in order.
    let scenario = path.parent().unwrap();
    let console = console_kernel_lines(&scenario.join("console.log"));
    if console.len() < 100 {
        return Err(format!("console oracle has only {} kernel lines", console.len()).into());
    }
    let mut it = ours.iter();
    for (i, line) in console.iter().enumerate() {
        if !it.any(|o| o == line) {
            return Err(
                format!("console line {i} not in crashview's log (in order): {line}").into(),
            );
        }
    }
    if !console
        .last()
        .unwrap()
        .contains("Kernel panic - not syncing")
        && !console
            .iter()
            .any(|l| l.contains("Kernel panic - not syncing"))
    {
        return Err("console oracle has no panic".into());
    }

    // 2. makedumpfile --dump-dmesg, line for line.
    let name = base_name(path);
    let oracle = scenario.join(format!("dmesg.{name}.txt"));
    let mk = std::fs::read(&oracle).map_err(|e| format!("{}: {e}", oracle.display()))?;
    let mk: Vec<String> = String::from_utf8_lossy(&mk)
        .lines()
        .map(str::to_owned)
        .collect();
    let ours_mk: Vec<String> = log.records.iter().map(|r| r.makedumpfile_line()).collect();
    if mk != ours_mk {
        let i = mk
            .iter()
            .zip(&ours_mk)
            .position(|(a, b)| a != b)
            .unwrap_or(mk.len().min(ours_mk.len()));
        return Err(format!(
            "differs from makedumpfile at line {i} ({} vs {} lines):\n  makedumpfile: {:?}\n  crashview:    {:?}",
            mk.len(),
            ours_mk.len(),
            mk.get(i),
            ours_mk.get(i)
        )
        .into());
    }

    // 3. Scenario facts.
    if scenario.ends_with("qemu") {
        // The guest printed its KASLR offset when it panicked.
        let off = console
            .iter()
            .find_map(|l| l.split("Kernel Offset: 0x").nth(1))
            .and_then(|r| u64::from_str_radix(r.split_whitespace().next()?, 16).ok())
            .ok_or("no Kernel Offset line on the console")?;
        if vi.kernel_offset() != Some(off) {
            return Err(format!(
                "KERNELOFFSET {:?} but console says {off:#x}",
                vi.kernel_offset()
            )
            .into());
        }
    } else if vi.crash_time().is_none() {
        return Err("kdump dump without CRASHTIME".into());
    }
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let dumps = dumps();
    assert!(
        dumps.len() >= 4,
        "fixtures/vmcore has only {} dumps",
        dumps.len()
    );
    let trials = dumps
        .into_iter()
        .map(|p| {
            let name = format!(
                "log/{}/{}",
                p.parent().unwrap().file_name().unwrap().to_string_lossy(),
                p.file_name().unwrap().to_string_lossy()
            );
            Trial::test(name, move || check(&p))
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
