//! Garbage, truncated and adversarial trace text and debug objects never
//! panic, and missing debug files degrade to symbol+offset with a note.

use crashview_symbolize::code::disassemble;
use crashview_symbolize::parse::{self, Code};
use crashview_symbolize::resolve::Note;
use crashview_symbolize::{DebugObject, SectionArena, Symbolizer};
use proptest::prelude::*;

const KO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../fixtures/ramoops/crashmod.ko"
);
const LOG: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../fixtures/ramoops/irq-oops/pstore/dmesg-ramoops-0"
);

fn log_text() -> String {
    String::from_utf8_lossy(&std::fs::read(LOG).unwrap()).into_owned()
}

/// Parses `ko`, then resolves every frame of the irq-oops log against it
/// (as crashmod and as vmlinux). Only checks that nothing panics.
fn exercise(ko: &[u8], text: &str) {
    let arena = SectionArena::new();
    let log = parse::parse_log(text);
    let mut sym = Symbolizer::new();
    if let Ok(o) = DebugObject::parse(ko, &arena) {
        sym.add_module("crashmod", o);
    }
    if let Ok(o) = DebugObject::parse(ko, &arena) {
        sym.set_vmlinux(o);
    }
    sym.prefetch(&log);
    for t in &log.traces {
        for f in t.frames() {
            let _ = sym.resolve(f, &log.info);
        }
        if let Some(c) = t.regs.as_ref().and_then(|r| r.code.as_ref()) {
            let _ = disassemble(c, None);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_text_parses(s in "\\PC{0,400}") {
        let log = parse::parse_log(&s);
        prop_assert!(log.traces.len() <= parse::MAX_TRACES);
    }

    #[test]
    fn trace_like_text_parses(lines in proptest::collection::vec(
        prop_oneof![
            Just("Call Trace:".to_string()),
            Just(" <IRQ>".to_string()),
            Just(" </TASK>".to_string()),
            "[ ?]{0,2}[a-z_.]{1,12}\\+0x[0-9a-f]{0,18}(/0x[0-9a-f]{0,18})?( \\[[a-z_-]{0,8}( [0-9a-f]{0,40})?\\]?)?",
            "RIP: [0-9a-f]{0,4}:?[a-z_]{0,8}\\+?0x[0-9a-f]{0,17}",
            "Code: ([<(]?[0-9a-f]{1,3}[>)]? ){0,70}",
            "Kernel Offset: 0x[0-9a-f]{0,20} from",
            "\\[<[0-9a-f]{0,17}>\\] .{0,30}",
            "<[0-9]{1,4}>\\[ *[0-9.]{0,12}\\]\\[ *[TC][0-9]{0,5}\\] .{0,40}",
            "CPU: [0-9] PID: 1 Comm: x .{0,40} #[0-9] [0-9a-f]{0,64}",
        ],
        0..60,
    )) {
        let text = lines.join("\n");
        let log = parse::parse_log(&text);
        for t in &log.traces {
            prop_assert!(t.entries.len() <= parse::MAX_ENTRIES);
            if let Some(c) = t.regs.as_ref().and_then(|r| r.code.as_ref()) {
                let _ = disassemble(c, None);
            }
        }
        exercise(&std::fs::read(KO).unwrap(), &text);
    }

    #[test]
    fn mutated_fixture_text(cuts in proptest::collection::vec((0usize..20_000, any::<u8>()), 0..40)) {
        let mut b = log_text().into_bytes();
        for (at, v) in cuts {
            if b.is_empty() { break; }
            let i = at % b.len();
            b[i] = v;
        }
        exercise(&std::fs::read(KO).unwrap(), &String::from_utf8_lossy(&b));
    }

    #[test]
    fn any_code_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..128), fault in proptest::option::of(0usize..140)) {
        let code = Code { line: 0, bytes: bytes.clone(), fault: fault.filter(|f| *f < bytes.len()) };
        let insns = disassemble(&code, Some(0xffff_ffff_8100_0000));
        prop_assert!(insns.iter().filter(|i| i.fault).count() <= 1);
    }
}

proptest! {
    // Each case copies and relocates the module's DWARF: keep the count modest.
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn mutated_module(muts in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..4), 1..24), trunc in proptest::option::of(any::<prop::sample::Index>())) {
        let mut ko = std::fs::read(KO).unwrap();
        let len = ko.len();
        // Aim at the places that steer parsing: the ELF header, the section
        // header table (at the end), and anywhere.
        let shoff = u64::from_le_bytes(ko[0x28..0x30].try_into().unwrap()) as usize;
        for (idx, v, region) in muts {
            let i = match region {
                0 => idx.index(64),
                1 => shoff.saturating_add(idx.index(len.saturating_sub(shoff).max(1))),
                _ => idx.index(len),
            };
            if let Some(b) = ko.get_mut(i) { *b = v; }
        }
        if let Some(t) = trunc { ko.truncate(t.index(len)); }
        exercise(&ko, &log_text());
    }
}

#[test]
fn missing_debug_files_degrade_to_symbol_offset() {
    let text = log_text();
    let log = parse::parse_log(&text);
    let sym = Symbolizer::new();
    let needs = sym.needs(&log);
    assert!(needs.vmlinux);
    assert!(needs.modules.contains("crashmod"));
    let t = &log.traces[0];
    let rip = &t.regs.as_ref().unwrap().rip;
    let r = sym.resolve(rip, &log.info);
    assert!(r.frames.is_empty());
    assert_eq!(
        r.note,
        Some(Note::NoDebugFile {
            object: "crashmod".into()
        })
    );
    let vm = t.frames().find(|f| f.module.is_none()).unwrap();
    assert_eq!(
        sym.resolve(vm, &log.info).note,
        Some(Note::NoDebugFile {
            object: "vmlinux".into()
        })
    );
    // The frame text is still there to print as symbol+offset.
    assert_eq!(rip.text, "RIP: 0010:crashmod_timer_fn+0x18/0x28 [crashmod]");
}

#[test]
fn stripped_module_says_so() {
    // A copy of crashmod.ko without its DWARF (objcopy --strip-debug).
    let dir = std::env::temp_dir().join(format!("cv-sym-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("crashmod.ko");
    let ok = std::process::Command::new("objcopy")
        .args(["--strip-debug", KO])
        .arg(&out)
        .status()
        .expect("objcopy (binutils) is required");
    assert!(ok.success());
    let bytes = std::fs::read(&out).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let arena = SectionArena::new();
    let obj = DebugObject::parse(&bytes, &arena).unwrap();
    assert!(!obj.has_dwarf());
    let mut sym = Symbolizer::new();
    sym.add_module("crashmod", obj);
    let text = log_text();
    let log = parse::parse_log(&text);
    let rip = &log.traces[0].regs.as_ref().unwrap().rip;
    let r = sym.resolve(rip, &log.info);
    assert_eq!(
        r.note,
        Some(Note::NoDwarf {
            object: "crashmod".into()
        })
    );
    // The symbol is still found: section and offset are known.
    assert_eq!(
        r.section.as_ref().map(|s| s.0.as_str()),
        Some(".text.unlikely")
    );
}

#[test]
fn kaslr_bare_addresses() {
    // A bare vmlinux address resolves through the log's Kernel Offset:
    // use the module as a stand-in object (ET_REL layout) to check the
    // arithmetic path without a vmlinux: no symbol → UnknownAddress note.
    let text =
        "Call Trace:\n ? 0xffffffffc0123456\nKernel Offset: 0x1000 from 0xffffffff81000000\n";
    let log = parse::parse_log(text);
    assert_eq!(log.info.kernel_offset, Some(0x1000));
    let f = log.traces[0].frames().next().unwrap();
    assert_eq!(f.address, Some(0xffffffffc0123456));
    assert!(!f.reliable);
}
