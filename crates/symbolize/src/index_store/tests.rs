//! The index gives the answers the DWARF gives: on the crashmod fixture
//! traces, cold (no index file), warm (from the file), from the symbol and
//! unit tables alone, and after corruption (rejected and rebuilt). Every
//! cache here is a temporary directory, never the user's.

use std::path::{Path, PathBuf};

use crashview_debuginfod::{BuildId, Cache};

use super::*;
use crate::index::*;
use crate::loader;
use crate::{parse, DebugObject, SectionArena, Symbolizer};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/ramoops")
}

/// Every fixture log (console.log and the readable pstore records).
fn inputs() -> Vec<String> {
    let mut paths = Vec::new();
    for e in std::fs::read_dir(fixtures()).unwrap().flatten() {
        let d = e.path();
        if d.join("console.log").is_file() {
            paths.push(d.join("console.log"));
        }
        if let Ok(rd) = std::fs::read_dir(d.join("pstore")) {
            for f in rd.flatten() {
                if !f.path().to_string_lossy().ends_with(".enc.z") {
                    paths.push(f.path());
                }
            }
        }
    }
    paths.sort();
    assert!(paths.len() > 5, "fixture logs missing");
    paths
        .iter()
        .map(|p| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned())
        .collect()
}

/// Resolves every frame of `logs` against `ko` (with the index in `cache`
/// when given): the resolutions as text, and whether the index was used.
fn resolve_all(ko: &Path, cache: Option<&Cache>, logs: &[String]) -> (Vec<String>, bool) {
    let map = loader::map(ko).unwrap();
    let arena = SectionArena::new();
    let mut obj = DebugObject::parse(&map, &arena)
        .unwrap()
        .with_read_ahead(&map);
    if let Some(c) = cache {
        obj = attach_in(obj, ko, c.clone(), &arena);
    }
    let used = obj.uses_index();
    let mut sym = Symbolizer::new();
    sym.add_module("crashmod", obj);
    let mut out = Vec::new();
    for text in logs {
        let log = parse::parse_log(text);
        sym.prefetch(&log);
        for t in &log.traces {
            for f in t.frames() {
                out.push(format!("{} -> {:?}", f.text, sym.resolve(f, &log.info)));
            }
        }
    }
    (out, used)
}

fn ko_build_id(ko: &Path) -> BuildId {
    let map = loader::map(ko).unwrap();
    let arena = SectionArena::new();
    let obj = DebugObject::parse(&map, &arena).unwrap();
    BuildId::from_bytes(obj.build_id().expect("crashmod.ko has a build id")).unwrap()
}

struct Setup {
    _dir: tempfile::TempDir,
    cache: Cache,
    ko: PathBuf,
    index: PathBuf,
}

/// A temporary cache, and a copy of crashmod.ko of our own (its mtime is
/// part of the index key; tests change it).
fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let ko = dir.path().join("crashmod.ko");
    std::fs::copy(fixtures().join("crashmod.ko"), &ko).unwrap();
    let cache = Cache::new(dir.path().join("cache"));
    let index = cache.path_for(FILE_NAME, &ko_build_id(&ko)).unwrap();
    Setup {
        _dir: dir,
        cache,
        ko,
        index,
    }
}

#[test]
fn cold_and_warm_index_resolve_like_the_dwarf() {
    let s = setup();
    let logs = inputs();
    let (plain, _) = resolve_all(&s.ko, None, &logs);
    assert!(plain.iter().any(|r| r.contains("crashmod.c")), "{plain:?}");
    assert!(!s.index.exists());
    let (cold, used) = resolve_all(&s.ko, Some(&s.cache), &logs);
    assert!(!used);
    assert_eq!(cold, plain);
    let written = std::fs::read(&s.index).expect("the cold run writes the index");
    let (warm, used) = resolve_all(&s.ko, Some(&s.cache), &logs);
    assert!(used);
    assert_eq!(warm, plain);
    // Nothing new was resolved, so the file was not rewritten.
    assert_eq!(std::fs::read(&s.index).unwrap(), written);
}

#[test]
fn tables_alone_resolve_like_the_dwarf() {
    // The index is built from one log; the others' addresses are not in
    // it, so they go through the DWARF with the index's symbols and units.
    let s = setup();
    let logs = inputs();
    let (plain, _) = resolve_all(&s.ko, None, &logs);
    let (first, _) = resolve_all(&s.ko, Some(&s.cache), &logs[..1]);
    assert_eq!(first[..], plain[..first.len()]);
    let before = std::fs::read(&s.index).unwrap().len();
    let (all, used) = resolve_all(&s.ko, Some(&s.cache), &logs);
    assert!(used);
    assert_eq!(all, plain);
    // The new addresses were merged in.
    assert!(std::fs::read(&s.index).unwrap().len() > before);
    let (again, used) = resolve_all(&s.ko, Some(&s.cache), &logs);
    assert!(used);
    assert_eq!(again, plain);
}

#[test]
fn symbol_lookups_match_the_symtab() {
    let s = setup();
    resolve_all(&s.ko, Some(&s.cache), &inputs());
    let map = loader::map(&s.ko).unwrap();
    let (a1, a2) = (SectionArena::new(), SectionArena::new());
    let plain = DebugObject::parse(&map, &a1).unwrap();
    let indexed = attach_in(
        DebugObject::parse(&map, &a2).unwrap(),
        &s.ko,
        s.cache.clone(),
        &a2,
    );
    assert!(indexed.uses_index());
    let mut names = vec!["no_such_symbol".to_string(), String::new()];
    let mut hits = 0;
    // Every address of the module's layout, one by one.
    for a in 0..0x8000u64 {
        let p = plain.symbol_at(a);
        assert_eq!(p, indexed.symbol_at(a), "symbol_at({a:#x})");
        if let Some((d, _)) = p {
            hits += 1;
            names.push(d.name.to_string());
        }
    }
    assert!(hits > 1000);
    names.sort();
    names.dedup();
    for n in &names {
        for size in [None, Some(0x10), Some(0x1000)] {
            assert_eq!(
                plain.find_symbol(n, size),
                indexed.find_symbol(n, size),
                "{n}"
            );
        }
    }
}

#[test]
fn corrupt_or_truncated_index_is_rejected_and_rebuilt() {
    let s = setup();
    let logs = inputs();
    let (plain, _) = resolve_all(&s.ko, None, &logs);
    resolve_all(&s.ko, Some(&s.cache), &logs);
    let good = std::fs::read(&s.index).unwrap();
    let mut damaged = Vec::new();
    for at in [0, 9, 20, 110, 130, good.len() / 2, good.len() - 1] {
        let mut b = good.clone();
        b[at] ^= 0x40;
        damaged.push(b);
    }
    for len in [0, 100, HEADER_LEN, good.len() / 3, good.len() - 1] {
        damaged.push(good[..len].to_vec());
    }
    let mut longer = good.clone();
    longer.extend_from_slice(&[0; 8]);
    damaged.push(longer);
    for (i, bad) in damaged.iter().enumerate() {
        std::fs::write(&s.index, bad).unwrap();
        let (out, used) = resolve_all(&s.ko, Some(&s.cache), &logs);
        assert!(!used, "damaged index {i} was used");
        assert_eq!(out, plain, "damaged index {i}");
        let (out, used) = resolve_all(&s.ko, Some(&s.cache), &logs);
        assert!(used, "index {i} was not rebuilt");
        assert_eq!(out, plain);
    }
}

#[test]
fn index_of_a_changed_file_is_rebuilt() {
    let s = setup();
    let logs = inputs();
    resolve_all(&s.ko, Some(&s.cache), &logs);
    assert!(resolve_all(&s.ko, Some(&s.cache), &logs).1);
    let f = std::fs::File::options().write(true).open(&s.ko).unwrap();
    f.set_modified(std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1))
        .unwrap();
    drop(f);
    assert!(
        !resolve_all(&s.ko, Some(&s.cache), &logs).1,
        "stale index used"
    );
    assert!(resolve_all(&s.ko, Some(&s.cache), &logs).1);
}

#[test]
fn header_checks() {
    let src = Source {
        build_id: vec![1, 2, 3, 4],
        size: 1000,
        mtime_secs: 5,
        mtime_nanos: 6,
    };
    let mut c = Contents::default();
    c.add_frames([(
        0x10,
        encode_frames(&[SourceFrame {
            function: Some("f".into()),
            file: None,
            line: Some(3),
            column: None,
        }])
        .unwrap(),
    )]);
    let bytes = c.encode(&src).unwrap();
    let v = View::parse(&bytes, &src).unwrap();
    assert_eq!(v.frames(0x10).unwrap()[0].line, Some(3));
    assert!(v.frames(0x11).is_none());
    for other in [
        Source {
            size: 1001,
            ..src.clone()
        },
        Source {
            mtime_nanos: 7,
            ..src.clone()
        },
        Source {
            build_id: vec![1, 2, 3, 5],
            ..src.clone()
        },
    ] {
        assert_eq!(View::parse(&bytes, &other).err(), Some(Reject::OtherSource));
    }
    for len in 0..bytes.len() {
        assert!(View::parse(&bytes[..len], &src).is_err(), "{len}");
    }
}

#[test]
fn frames_round_trip() {
    let frames = vec![
        SourceFrame {
            function: Some("inner".into()),
            file: Some("a/b.h".into()),
            line: Some(12),
            column: Some(3),
        },
        SourceFrame {
            function: None,
            file: None,
            line: None,
            column: Some(9),
        },
    ];
    let b = encode_frames(&frames).unwrap();
    assert_eq!(decode_frames(&b).unwrap(), frames);
    for len in 0..b.len() {
        assert!(decode_frames(&b[..len]).is_none());
    }
    assert_eq!(decode_frames(&encode_frames(&[]).unwrap()).unwrap(), vec![]);
}

#[test]
fn disable_variable() {
    use std::ffi::OsString;
    assert!(enabled(None));
    assert!(enabled(Some(OsString::from(""))));
    assert!(enabled(Some(OsString::from("0"))));
    assert!(!enabled(Some(OsString::from("1"))));
}
