// Shared by the targets: parse, then ask everything about every type.
use crashview_btf::{Btf, Kind};

pub fn exercise(bytes: &[u8]) {
    let Ok(btf) = Btf::parse(bytes) else { return };
    let n = btf.types().min(4096) as u32;
    for id in 0..=n {
        let _ = btf.kind(id);
        let _ = btf.name(id);
        let _ = btf.resolve(id);
        let _ = btf.size_of(id);
        let _ = btf.array(id);
        let _ = btf.pointee(id);
        let _ = btf.referenced(id);
        if let Some(members) = btf.members(id) {
            for m in members.take(64) {
                let _ = m.field.byte_offset();
                if let Some(name) = m.name {
                    let _ = btf.member(id, name);
                }
            }
        }
        if let Some(e) = btf.enumerators(id) {
            e.take(64).for_each(drop);
        }
        let _ = btf.member(id, "a.b");
    }
    for kind in [
        Kind::Struct,
        Kind::Union,
        Kind::Typedef,
        Kind::Func,
        Kind::Var,
    ] {
        let _ = btf.find(kind, "a");
    }
    let _ = btf.enumerator("A");
    let _ = btf.section_var("a");
}
