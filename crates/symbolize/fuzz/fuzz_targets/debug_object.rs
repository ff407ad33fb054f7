//! Any bytes as a debug object (seed the corpus with crashmod.ko): parse,
//! look up the fixture trace's symbols, resolve them to lines.
#![no_main]

use crashview_symbolize::{parse, DebugObject, SectionArena, Symbolizer};
use libfuzzer_sys::fuzz_target;

static LOG: &str = include_str!("../../../../fixtures/ramoops/irq-oops/pstore/dmesg-ramoops-0");

fuzz_target!(|data: &[u8]| {
    let arena = SectionArena::new();
    let Ok(obj) = DebugObject::parse(data, &arena) else {
        return;
    };
    let _ = obj.build_id();
    let _ = obj.modinfo("vermagic");
    let _ = obj.symbol_at(0x40);
    let mut sym = Symbolizer::new();
    sym.add_module("crashmod", obj);
    if let Ok(o) = DebugObject::parse(data, &arena) {
        sym.set_vmlinux(o);
    }
    let log = parse::parse_log(LOG);
    sym.prefetch(&log);
    for t in &log.traces {
        for f in t.frames() {
            let _ = sym.resolve(f, &log.info);
        }
    }
});
