//! Any text: parse every trace, disassemble every Code: line, resolve every
//! frame against the crash module (as module and as vmlinux).
#![no_main]

use crashview_symbolize::{code, parse, DebugObject, SectionArena, Symbolizer};
use libfuzzer_sys::fuzz_target;

static KO: &[u8] = include_bytes!("../../../../fixtures/ramoops/crashmod.ko");

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let log = parse::parse_log(&text);
    let arena = SectionArena::new();
    let mut sym = Symbolizer::new();
    if let Ok(o) = DebugObject::parse(KO, &arena) {
        sym.add_module("crashmod", o);
    }
    if let Ok(o) = DebugObject::parse(KO, &arena) {
        sym.set_vmlinux(o);
    }
    sym.prefetch(&log);
    for t in &log.traces {
        for f in t.frames() {
            let _ = sym.resolve(f, &log.info);
        }
        if let Some(c) = t.regs.as_ref().and_then(|r| r.code.as_ref()) {
            let _ = code::disassemble(c, None);
        }
    }
});
