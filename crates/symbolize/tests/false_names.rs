//! No false names: an address is named only by the object whose text holds
//! it. A bare address in the module area is never looked up in vmlinux,
//! and vmlinux's nearest symbol below an address names it only when the
//! address is inside that symbol.

use crashview_symbolize::resolve::Note;
use crashview_symbolize::{parse, DebugObject, SectionArena, Symbolizer, MODULE_SPACE};

fn resolve_bare(line: &str) -> crashview_symbolize::Resolution {
    let ko =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/ramoops/crashmod.ko");
    let bytes = std::fs::read(ko).unwrap();
    let arena = SectionArena::new();
    // Any object with symbols stands in for vmlinux: what matters is that
    // the address is outside every symbol of it.
    let obj = DebugObject::parse(&bytes, &arena).unwrap();
    let mut sym = Symbolizer::new();
    sym.set_vmlinux(obj);
    let text = format!("Call Trace:\n <TASK>\n {line}\n </TASK>\n");
    let log = parse::parse_log(&text);
    let f = log.traces[0].frames().next().expect("one frame");
    sym.resolve(f, &log.info)
}

#[test]
fn module_space_address_is_not_a_vmlinux_name() {
    // The unreliable frame of a real 6.1 oops: inside crashme_a's memory,
    // printed with no symbol. It used to come out as `mpls_gso_exit`.
    let r = resolve_bare("? 0xffffffffc034a000");
    assert!(MODULE_SPACE.contains(&0xffff_ffff_c034_a000));
    assert_eq!(r.symbol, None);
    assert!(r.frames.is_empty());
    assert_eq!(
        r.note,
        Some(Note::ModuleSpace {
            address: 0xffff_ffff_c034_a000
        })
    );
    assert!(r
        .note
        .unwrap()
        .to_string()
        .contains("module space, not vmlinux"));
}

#[test]
fn address_past_every_symbol_is_unnamed() {
    // The nearest symbol below exists (what used to name the frame)...
    let ko =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/ramoops/crashmod.ko");
    let bytes = std::fs::read(ko).unwrap();
    let arena = SectionArena::new();
    let obj = DebugObject::parse(&bytes, &arena).unwrap();
    let (nearest, off) = obj
        .symbol_at(0xffff_ffff_8100_0000)
        .expect("a symbol below");
    assert!(off >= nearest.size, "far past {}", nearest.name);
    // ...but the address is not inside it.
    let r = resolve_bare("? 0xffffffff81000000");
    assert_eq!(r.symbol, None, "{r:?}");
    assert!(r.frames.is_empty());
    assert_eq!(r.note, Some(Note::UnknownAddress));
}
