//! Read-ahead hints: what `read_ahead_for` asks for covers what resolving
//! reads (the unit's `.debug_info`, its abbreviations and line program,
//! the symbol table), stays inside the file, and changes no result. The
//! object is a real executable with DWARF from the system's gcc (CI
//! installs it); a vmlinux is too big for CI but has the same shape.

use std::cell::RefCell;
use std::path::PathBuf;
use std::process::Command;

use crashview_symbolize::{DebugObject, ReadAhead, SectionArena};
use object::{Object, ObjectSection};

#[derive(Default)]
struct Recorded(RefCell<Vec<(usize, usize)>>);

impl ReadAhead for Recorded {
    fn will_need(&self, offset: usize, len: usize) {
        self.0.borrow_mut().push((offset, len));
    }
}

/// Two compilation units, each with a non-inlined function.
/// `tag` keeps tests running in parallel out of each other's directory.
fn build(tag: &str) -> Vec<u8> {
    let dir = std::env::temp_dir().join(format!("cv-read-ahead-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let a = dir.join("a.c");
    let b = dir.join("b.c");
    std::fs::write(
        &a,
        "__attribute__((noinline)) int fa(int x) { return x * 3 + 1; }\n",
    )
    .unwrap();
    std::fs::write(
        &b,
        "int fa(int);\n__attribute__((noinline)) int fb(int x) { return fa(x) + 2; }\n\
         int main(int c, char **v) { (void)v; return fb(c); }\n",
    )
    .unwrap();
    let out: PathBuf = dir.join("prog");
    let st = Command::new("gcc")
        .args(["-g", "-O1", "-o"])
        .arg(&out)
        .arg(&a)
        .arg(&b)
        .status()
        .expect("gcc runs (apt-get install gcc)");
    assert!(st.success());
    let data = std::fs::read(&out).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    data
}

fn file_range(data: &[u8], name: &str) -> (usize, usize) {
    let f = object::File::parse(data).unwrap();
    let (off, len) = f.section_by_name(name).unwrap().file_range().unwrap();
    (off as usize, (off + len) as usize)
}

#[test]
fn hints_cover_the_unit_and_change_nothing() {
    let data = build("cover");
    let arena = SectionArena::new();
    let rec = Recorded::default();
    let plain = DebugObject::parse(&data, &arena).unwrap();
    let hinted = DebugObject::parse(&data, &arena)
        .unwrap()
        .with_read_ahead(&rec);
    let fb = hinted.find_symbol("fb", None).unwrap().address;
    let fa = hinted.find_symbol("fa", None).unwrap().address;
    // find_symbol scanned the symbol table: it asked for it first.
    let symtab = file_range(&data, ".symtab");
    assert!(
        rec.0
            .borrow()
            .iter()
            .any(|&(o, l)| o == symtab.0 && o + l == symtab.1),
        "{:?} {symtab:?}",
        rec.0.borrow()
    );
    rec.0.borrow_mut().clear();
    hinted.read_ahead_for(&[fb + 4, fa]);
    let hints = rec.0.borrow().clone();
    for &(o, l) in &hints {
        assert!(l > 0 && o + l <= data.len(), "{o:#x}+{l:#x}");
    }
    let inside = |sec: &str| {
        let (a, b) = file_range(&data, sec);
        hints.iter().filter(|&&(o, l)| o >= a && o + l <= b).count()
    };
    // Both units: their first pages, then the whole unit each.
    assert!(inside(".debug_info") >= 4, "{hints:?}");
    assert!(inside(".debug_abbrev") >= 2, "{hints:?}");
    assert!(inside(".debug_line") >= 2, "{hints:?}");
    assert_eq!(inside(".debug_aranges"), 1, "{hints:?}");
    // The whole of .debug_info is covered by the unit hints (two units
    // make up the section here).
    let (a, b) = file_range(&data, ".debug_info");
    let mut covered = vec![false; b - a];
    for &(o, l) in hints.iter().filter(|&&(o, l)| o >= a && o + l <= b) {
        covered[o - a..o - a + l].iter_mut().for_each(|c| *c = true);
    }
    assert!(covered.iter().all(|&c| c));
    // Hints change no result.
    for addr in [fb, fb + 4, fa] {
        let h = hinted.frames(addr).unwrap();
        assert_eq!(h, plain.frames(addr).unwrap());
        assert!(!h.is_empty());
    }
    assert_eq!(
        hinted
            .frames(fb)
            .unwrap()
            .last()
            .unwrap()
            .function
            .as_deref(),
        Some("fb")
    );
}

#[test]
fn no_hints_without_a_read_ahead() {
    let data = build("none");
    let arena = SectionArena::new();
    let o = DebugObject::parse(&data, &arena).unwrap();
    let fb = o.find_symbol("fb", None).unwrap().address;
    o.read_ahead_for(&[fb]); // nothing to tell: must not fail
    assert!(!o.frames(fb).unwrap().is_empty());
}
