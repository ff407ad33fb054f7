//! Real kernel BTF checked against an independent reader: bpftool's raw dump
//! (`bpftool btf dump file F format raw`, libbpf's parser).
//!
//! Two blobs: this machine's `/sys/kernel/btf/vmlinux`, and the `.BTF`
//! section of Debian 6.1's -dbg vmlinux named by `CRASHVIEW_DBG_VMLINUX`
//! (scripts/test.sh sets it; extracted with `objcopy --only-section=.BTF`).
//! Each is skipped, with the reason printed, when absent; a set
//! `CRASHVIEW_DBG_VMLINUX` that cannot be read fails. Without bpftool the
//! comparisons are skipped too, unless `CRASHVIEW_REQUIRE_BPFTOOL=1`.
//!
//! For every type id: kind, name, size, referenced type, array element and
//! count, every struct/union member (name, type, bit offset, bitfield size),
//! every enumerator; the number of types; `find` for every named type;
//! `enumerator` for every enumerator name; dotted member paths.

mod common;

use crashview_btf::{Btf, Kind, TypeId};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One type as bpftool prints it.
#[derive(Debug, Default)]
struct OType {
    kind: String,
    name: Option<String>,
    attrs: HashMap<String, String>,
    /// Members, enumerators, params, secinfos: (name, attrs).
    sub: Vec<(Option<String>, HashMap<String, String>)>,
}

/// `key=value` tokens (bpftool writes `type_id=1,` for VAR).
fn attrs(s: &str) -> HashMap<String, String> {
    s.split_whitespace()
        .filter_map(|t| t.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_end_matches(',').to_string()))
        .collect()
}

/// `'name' rest` → (name, rest); `(anon)` is no name.
fn quoted(s: &str) -> (Option<String>, &str) {
    let Some(s) = s.strip_prefix('\'') else {
        return (None, s);
    };
    let end = s.find('\'').expect("closing quote");
    let name = &s[..end];
    let name = (name != "(anon)").then(|| name.to_string());
    (name, &s[end + 1..])
}

fn parse_dump(text: &str) -> Vec<OType> {
    // Index 0 stands for void.
    let mut types = vec![OType::default()];
    for line in text.lines() {
        if let Some(sub) = line.strip_prefix('\t') {
            let (name, rest) = quoted(sub);
            types.last_mut().unwrap().sub.push((name, attrs(rest)));
            continue;
        }
        let (id, rest) = line
            .strip_prefix('[')
            .and_then(|l| l.split_once("] "))
            .unwrap_or_else(|| panic!("unexpected bpftool line {line:?}"));
        let id: usize = id.parse().unwrap();
        assert_eq!(id, types.len(), "bpftool ids are dense");
        let (kind, rest) = rest.split_once(' ').unwrap();
        let (name, rest) = quoted(rest);
        types.push(OType {
            kind: kind.to_string(),
            name,
            attrs: attrs(rest),
            sub: Vec::new(),
        });
    }
    types
}

fn kind_of(s: &str) -> Kind {
    match s {
        "INT" => Kind::Int,
        "PTR" => Kind::Ptr,
        "ARRAY" => Kind::Array,
        "STRUCT" => Kind::Struct,
        "UNION" => Kind::Union,
        "ENUM" => Kind::Enum,
        "FWD" => Kind::Fwd,
        "TYPEDEF" => Kind::Typedef,
        "VOLATILE" => Kind::Volatile,
        "CONST" => Kind::Const,
        "RESTRICT" => Kind::Restrict,
        "FUNC" => Kind::Func,
        "FUNC_PROTO" => Kind::FuncProto,
        "VAR" => Kind::Var,
        "DATASEC" => Kind::Datasec,
        "FLOAT" => Kind::Float,
        "DECL_TAG" => Kind::DeclTag,
        "TYPE_TAG" => Kind::TypeTag,
        "ENUM64" => Kind::Enum64,
        other => panic!("bpftool kind {other}"),
    }
}

fn num<T: std::str::FromStr>(a: &HashMap<String, String>, k: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    a.get(k)
        .unwrap_or_else(|| panic!("no {k} in {a:?}"))
        .parse()
        .unwrap()
}

/// An enumerator value as bpftool prints it: `5`, `-1`, `4ULL`, `-1LL`.
fn enum_val(v: &str) -> i64 {
    if let Some(u) = v.strip_suffix("ULL") {
        u.parse::<u64>().unwrap() as i64
    } else if let Some(s) = v.strip_suffix("LL") {
        s.parse::<i64>().unwrap()
    } else {
        v.parse::<i64>().unwrap()
    }
}

/// The bpftool dump of `path`, or `None` (with the reason printed) when
/// bpftool is not installed and not required.
fn bpftool(path: &Path) -> Option<Vec<OType>> {
    let out = Command::new("bpftool")
        .args(["btf", "dump", "file"])
        .arg(path)
        .args(["format", "raw"])
        .output();
    let out = match out {
        Ok(o) => o,
        Err(e) => {
            if std::env::var("CRASHVIEW_REQUIRE_BPFTOOL").as_deref() == Ok("1") {
                panic!("bpftool required but not runnable: {e}");
            }
            eprintln!("skipped: bpftool not runnable ({e}); apt-get install bpftool");
            return None;
        }
    };
    assert!(
        out.status.success(),
        "bpftool failed on {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(parse_dump(&String::from_utf8(out.stdout).unwrap()))
}

/// The member at `path` by walking the oracle's own tables: bit offset and
/// bitfield size, descending through anonymous members first-match.
fn oracle_member(o: &[OType], mut ty: usize, path: &str) -> Option<(u64, Option<u32>)> {
    fn strip(o: &[OType], mut ty: usize) -> usize {
        while matches!(
            o[ty].kind.as_str(),
            "TYPEDEF" | "CONST" | "VOLATILE" | "RESTRICT" | "TYPE_TAG"
        ) {
            ty = num(&o[ty].attrs, "type_id");
        }
        ty
    }
    fn find(o: &[OType], ty: usize, name: &str) -> Option<(u64, Option<u32>, usize)> {
        for (n, a) in &o[ty].sub {
            let off: u64 = num(a, "bits_offset");
            let t: usize = num(a, "type_id");
            let bits = a.get("bitfield_size").map(|b| b.parse::<u32>().unwrap());
            match n {
                Some(n) if n == name => return Some((off, bits, t)),
                Some(_) => {}
                None => {
                    let inner = strip(o, t);
                    if matches!(o[inner].kind.as_str(), "STRUCT" | "UNION") {
                        if let Some((io, ib, it)) = find(o, inner, name) {
                            return Some((off + io, ib, it));
                        }
                    }
                }
            }
        }
        None
    }
    let mut base = 0;
    let mut last = None;
    for comp in path.split('.') {
        ty = strip(o, ty);
        if !matches!(o[ty].kind.as_str(), "STRUCT" | "UNION") {
            return None;
        }
        let (off, bits, t) = find(o, ty, comp)?;
        base += off;
        last = Some((base, bits));
        ty = t;
    }
    last
}

/// Compares everything `btf` says about every type with the oracle.
fn compare_all(btf: &Btf, o: &[OType], what: &str) {
    assert_eq!(btf.types(), o.len() - 1, "{what}: number of types");
    let mut first: HashMap<(Kind, &str), TypeId> = HashMap::new();
    let mut first_enum: HashMap<&str, i64> = HashMap::new();
    let mut members = 0usize;
    for (i, t) in o.iter().enumerate().skip(1) {
        let id = i as TypeId;
        let kind = kind_of(&t.kind);
        let ctx = || format!("{what}: type [{id}] {} {:?}", t.kind, t.name);
        assert_eq!(btf.kind(id), Some(kind), "{}", ctx());
        assert_eq!(btf.name(id), t.name.as_deref(), "{}", ctx());
        if let Some(n) = &t.name {
            first.entry((kind, n.as_str())).or_insert(id);
        }
        match kind {
            Kind::Int
            | Kind::Struct
            | Kind::Union
            | Kind::Enum
            | Kind::Enum64
            | Kind::Float
            | Kind::Datasec => {
                assert_eq!(btf.size_of(id), Some(num(&t.attrs, "size")), "{}", ctx());
            }
            Kind::Ptr => assert_eq!(btf.size_of(id), Some(8), "{}", ctx()),
            _ => {}
        }
        match kind {
            Kind::Ptr
            | Kind::Typedef
            | Kind::Volatile
            | Kind::Const
            | Kind::Restrict
            | Kind::Func
            | Kind::Var
            | Kind::DeclTag
            | Kind::TypeTag => {
                assert_eq!(
                    btf.referenced(id),
                    Some(num(&t.attrs, "type_id")),
                    "{}",
                    ctx()
                );
            }
            Kind::FuncProto => {
                assert_eq!(
                    btf.referenced(id),
                    Some(num(&t.attrs, "ret_type_id")),
                    "{}",
                    ctx()
                );
            }
            Kind::Array => {
                let want = (num(&t.attrs, "type_id"), num(&t.attrs, "nr_elems"));
                assert_eq!(btf.array(id), Some(want), "{}", ctx());
            }
            _ => {}
        }
        if let Kind::Ptr = kind {
            assert_eq!(btf.pointee(id), Some(num(&t.attrs, "type_id")), "{}", ctx());
        }
        if matches!(kind, Kind::Struct | Kind::Union) {
            let got: Vec<_> = btf.members(id).unwrap().collect();
            assert_eq!(got.len(), t.sub.len(), "{}", ctx());
            for (m, (name, a)) in got.iter().zip(&t.sub) {
                assert_eq!(m.name, name.as_deref(), "{}", ctx());
                assert_eq!(m.field.ty, num::<u32>(a, "type_id"), "{} {name:?}", ctx());
                assert_eq!(
                    m.field.bit_offset,
                    num::<u64>(a, "bits_offset"),
                    "{} {name:?}",
                    ctx()
                );
                let bits = a
                    .get("bitfield_size")
                    .map(|b| b.parse::<u32>().unwrap())
                    .filter(|&b| b != 0);
                assert_eq!(m.field.bit_size, bits, "{} {name:?}", ctx());
                members += 1;
            }
        }
        if matches!(kind, Kind::Enum | Kind::Enum64) {
            let got: Vec<_> = btf.enumerators(id).unwrap().collect();
            assert_eq!(got.len(), t.sub.len(), "{}", ctx());
            for ((gn, gv), (name, a)) in got.iter().zip(&t.sub) {
                assert_eq!(*gn, name.as_deref(), "{}", ctx());
                let v = enum_val(&a["val"]);
                assert_eq!(*gv, v, "{} {name:?}", ctx());
                if let Some(n) = name {
                    first_enum.entry(n.as_str()).or_insert(v);
                }
            }
        }
    }
    for (&(kind, name), &id) in &first {
        assert_eq!(
            btf.find(kind, name),
            Some(id),
            "{what}: find({kind:?}, {name:?})"
        );
    }
    for (&name, &v) in &first_enum {
        assert_eq!(btf.enumerator(name), Some(v), "{what}: enumerator {name}");
    }
    eprintln!(
        "{what}: {} types, {} members, {} named (kind, name) pairs, {} enumerator names match bpftool",
        btf.types(),
        members,
        first.len(),
        first_enum.len()
    );
}

/// The structs crashview reads, and paths into them (some through
/// anonymous members: most of mm_struct sits in an anonymous struct).
fn compare_crash_structs(btf: &Btf, o: &[OType], what: &str) {
    let structs = [
        "task_struct",
        "mm_struct",
        "module",
        "rq",
        "list_head",
        "pt_regs",
        "inactive_task_frame",
        "thread_struct",
        "pid",
        "signal_struct",
        "orc_entry",
    ];
    for name in structs {
        let want = o
            .iter()
            .position(|t| t.kind == "STRUCT" && t.name.as_deref() == Some(name));
        let got = btf.find(Kind::Struct, name);
        assert_eq!(got.map(|g| g as usize), want, "{what}: struct {name}");
        match got {
            Some(id) => assert_eq!(
                btf.size_of(id),
                Some(num(&o[id as usize].attrs, "size")),
                "{what}: sizeof {name}"
            ),
            None => eprintln!("{what}: no struct {name} (not in this kernel)"),
        }
    }
    let paths = [
        ("task_struct", "__state"),
        ("task_struct", "thread.sp"),
        ("task_struct", "thread_info.flags"),
        ("task_struct", "se.exec_start"),
        ("task_struct", "pid"),
        ("task_struct", "tasks.next"),
        ("task_struct", "comm"),
        ("task_struct", "rcu_users"),
        ("task_struct", "sched_reset_on_fork"),
        ("mm_struct", "pgd"),
        ("mm_struct", "mmap_base"),
        ("mm_struct", "mm_count"),
        ("module", "name"),
        ("module", "list.prev"),
        ("module", "mem"),
        ("module", "core_layout.base"),
        ("rq", "curr"),
        ("rq", "clock"),
        ("pt_regs", "ip"),
        ("inactive_task_frame", "ret_addr"),
        ("signal_struct", "pids"),
    ];
    for (s, path) in paths {
        let id = btf.find(Kind::Struct, s).unwrap();
        let want = oracle_member(o, id as usize, path);
        let got = btf.member(id, path);
        match (want, got) {
            (Some((bits, size)), Ok(f)) => {
                assert_eq!(
                    (f.bit_offset, f.bit_size),
                    (bits, size),
                    "{what}: {s}.{path}"
                );
            }
            (None, Err(e)) => {
                eprintln!("{what}: {s}.{path} absent in this kernel ({e})");
            }
            (w, g) => panic!("{what}: {s}.{path}: bpftool {w:?}, ours {g:?}"),
        }
    }
    for name in [
        "PIDTYPE_PID",
        "PIDTYPE_TGID",
        "PIDTYPE_MAX",
        "MOD_TEXT",
        "TASK_COMM_LEN",
    ] {
        let want = o
            .iter()
            .filter(|t| t.kind == "ENUM" || t.kind == "ENUM64")
            .flat_map(|t| &t.sub)
            .find(|(n, _)| n.as_deref() == Some(name))
            .map(|(_, a)| enum_val(&a["val"]));
        assert_eq!(btf.enumerator(name), want, "{what}: enumerator {name}");
    }
}

fn check(path: &Path, bytes: &[u8], what: &str) {
    let btf = Btf::parse(bytes).unwrap_or_else(|e| panic!("{what}: {e}"));
    // Facts every x86_64 kernel of the last years has, oracle or not.
    let task = btf.find(Kind::Struct, "task_struct").expect("task_struct");
    assert_eq!(
        btf.member(task, "thread_info.flags").unwrap().byte_offset(),
        Some(0)
    );
    assert_eq!(btf.enumerator("PIDTYPE_PID"), Some(0));
    assert_eq!(btf.enumerator("PIDTYPE_TGID"), Some(1));
    let lh = btf.find(Kind::Struct, "list_head").unwrap();
    assert_eq!(btf.size_of(lh), Some(16));
    assert_eq!(btf.member(lh, "prev").unwrap().byte_offset(), Some(8));
    let Some(o) = bpftool(path) else {
        return;
    };
    compare_all(&btf, &o, what);
    compare_crash_structs(&btf, &o, what);
}

#[test]
fn sys_kernel_btf_matches_bpftool() {
    let Some(bytes) = common::sys_vmlinux() else {
        return;
    };
    check(
        Path::new("/sys/kernel/btf/vmlinux"),
        &bytes,
        "/sys/kernel/btf/vmlinux",
    );
}

#[test]
fn debian_6_1_btf_matches_bpftool() {
    let Some(vmlinux) = std::env::var_os("CRASHVIEW_DBG_VMLINUX").filter(|v| !v.is_empty()) else {
        eprintln!("skipped: CRASHVIEW_DBG_VMLINUX is not set (scripts/test.sh sets it)");
        return;
    };
    let vmlinux = PathBuf::from(vmlinux);
    let out = std::env::temp_dir().join(format!("crashview-btf-{}.btf", std::process::id()));
    let st = Command::new("objcopy")
        .args(["-O", "binary", "--only-section=.BTF"])
        .arg(&vmlinux)
        .arg(&out)
        .status()
        .expect("objcopy (binutils) runs");
    assert!(st.success(), "objcopy failed on {}", vmlinux.display());
    let bytes = std::fs::read(&out).unwrap();
    assert!(
        !bytes.is_empty(),
        "{} has no .BTF section",
        vmlinux.display()
    );
    check(&out, &bytes, "6.1 -dbg vmlinux .BTF");
    let _ = std::fs::remove_file(&out);
}
