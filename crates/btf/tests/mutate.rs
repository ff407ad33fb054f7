//! Mutated blobs never panic: parse, then every lookup on what parsed.

mod common;

use common::{k, Builder};
use crashview_btf::{Btf, Kind};
use proptest::prelude::*;
use std::sync::OnceLock;

/// A small blob with every kind and nested anonymous members.
fn small() -> &'static [u8] {
    static B: OnceLock<Vec<u8>> = OnceLock::new();
    B.get_or_init(|| {
        let mut b = Builder::new();
        let int = b.int("int", 4, 32, true);
        let ptr = b.refer(k::PTR, "", int);
        let arr = b.array(int, int, 4);
        let anon = b.strukt("", 8, &[("deep", int, 0, 0), ("bits", int, 35, 3)]);
        let s = b.strukt(
            "s",
            24,
            &[("a", int, 0, 0), ("", anon, 32, 0), ("c", arr, 96, 0)],
        );
        b.composite(
            k::UNION,
            "u",
            8,
            false,
            &[("x", int, 0, 0), ("p", ptr, 0, 0)],
        );
        b.enum32("e", true, &[("E_NEG", -1), ("E_POS", 5)]);
        b.raw("fwd", k::FWD, false, 0, 0, &[]);
        let td = b.refer(k::TYPEDEF, "s_t", s);
        let c = b.refer(k::CONST, "", td);
        b.refer(k::VOLATILE, "", c);
        b.refer(k::RESTRICT, "", ptr);
        let proto = b.raw("", k::FUNC_PROTO, false, 1, int, &[0, int]);
        b.raw("f", k::FUNC, false, 0, proto, &[]);
        let var = b.raw("v", k::VAR, false, 0, int, &[1]);
        b.raw(".data..percpu", k::DATASEC, false, 1, 8, &[var, 4, 4]);
        b.raw("double", k::FLOAT, false, 0, 8, &[]);
        b.raw("tag", k::DECL_TAG, false, 0, s, &[u32::MAX]);
        b.refer(k::TYPE_TAG, "user", int);
        b.enum64("e64", false, &[("BIG", 1 << 40)]);
        b.finish()
    })
}

/// Calls everything on every type (at most `limit` ids, spread out).
fn exercise(btf: &Btf, limit: usize) {
    let n = btf.types();
    let step = (n / limit.max(1)).max(1);
    for id in (0..=n as u32).step_by(step) {
        let _ = btf.kind(id);
        let _ = btf.name(id);
        let _ = btf.resolve(id);
        let _ = btf.size_of(id);
        let _ = btf.array(id);
        let _ = btf.pointee(id);
        let _ = btf.referenced(id);
        let _ = btf.record_offset(id);
        if let Some(m) = btf.members(id) {
            for m in m {
                let _ = m.field.byte_offset();
                if let Some(name) = m.name {
                    let _ = btf.member(id, name);
                    let _ = btf.member(id, &format!("{name}.x"));
                }
            }
        }
        if let Some(e) = btf.enumerators(id) {
            e.for_each(drop);
        }
        let _ = btf.member(id, "deep");
        let _ = btf.member(id, "thread.sp");
    }
    for name in ["s", "u", "e", "fwd", "s_t", "f", "v", "task_struct"] {
        for kind in [
            Kind::Struct,
            Kind::Union,
            Kind::Typedef,
            Kind::Func,
            Kind::Var,
        ] {
            let _ = btf.find(kind, name);
        }
    }
    let _ = btf.enumerator("E_NEG");
    let _ = btf.enumerator("PIDTYPE_PID");
    let _ = btf.section_var("v");
}

#[test]
fn unmutated_small_blob_parses() {
    let btf = Btf::parse(small()).unwrap();
    assert_eq!(btf.types(), 20);
    let s = btf.find(Kind::Struct, "s").unwrap();
    assert_eq!(btf.member(s, "bits").unwrap().bit_offset, 67);
    exercise(&btf, usize::MAX);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn mutated_small_blob(edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
                          cut in any::<prop::sample::Index>(), do_cut in any::<bool>()) {
        let mut b = small().to_vec();
        for (i, v) in edits {
            let i = i.index(b.len());
            b[i] = v;
        }
        if do_cut {
            b.truncate(cut.index(b.len() + 1));
        }
        if let Ok(btf) = Btf::parse(&b) {
            exercise(&btf, usize::MAX);
        }
    }
}

/// A replacement word: mostly small values (plausible type ids, offsets and
/// counts, so that many mutated blobs still parse and reach the lookups),
/// sometimes anything.
fn word() -> impl Strategy<Value = u32> {
    prop_oneof![3 => 0u32..0x2_0000, 1 => any::<u32>()]
}

proptest! {
    // Each case parses the machine's ~5 MB BTF: fewer cases.
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn mutated_real_blob(header_edits in prop::collection::vec((0usize..64, any::<u8>()), 0..3),
                         edits in prop::collection::vec((any::<prop::sample::Index>(), word()), 1..16)) {
        static REAL: OnceLock<Option<Vec<u8>>> = OnceLock::new();
        let Some(real) = REAL.get_or_init(common::sys_vmlinux) else {
            return Ok(());
        };
        let mut b = real.clone();
        for (i, v) in header_edits {
            b[i] = v;
        }
        // Whole u32 words, 4-aligned: hits info words, counts and type ids,
        // not just string bytes.
        for (i, v) in edits {
            let i = i.index(b.len() / 4) * 4;
            b[i..i + 4].copy_from_slice(&v.to_le_bytes());
        }
        if let Ok(btf) = Btf::parse(&b) {
            exercise(&btf, 2000);
        }
    }
}
