//! Hand-built blobs: every kind, bitfield encodings, anonymous members, and
//! corrupt input (each corruption must be an `Err` naming where, never a
//! panic).

mod common;

use common::{blob, k, put_u32, Builder};
use crashview_btf::{Btf, Error, Field, Kind, SectionVar};

/// One record of every kind, in kind order, then a marker struct: if any
/// kind were skipped by the wrong size, the marker's id (and everything
/// else) would come out wrong.
struct AllKinds {
    bytes: Vec<u8>,
    int: u32,
    ptr: u32,
    arr: u32,
    s: u32,
    u: u32,
    e: u32,
    fwd: u32,
    td: u32,
    vol: u32,
    cnst: u32,
    restrict: u32,
    proto: u32,
    func: u32,
    var: u32,
    sec: u32,
    float: u32,
    decl: u32,
    ttag: u32,
    e64: u32,
    marker: u32,
}

fn all_kinds() -> AllKinds {
    let mut b = Builder::new();
    let int = b.int("int", 4, 32, true);
    let ptr = b.refer(k::PTR, "", int);
    let arr = b.array(int, int, 4);
    let s = b.strukt(
        "s",
        24,
        &[("a", int, 0, 0), ("b", int, 35, 3), ("c", arr, 64, 0)],
    );
    let u = b.composite(
        k::UNION,
        "u",
        8,
        false,
        &[("x", int, 0, 0), ("p", ptr, 0, 0)],
    );
    let e = b.enum32("e", true, &[("E_NEG", -1), ("E_POS", 5)]);
    let fwd = b.raw("fwd_s", k::FWD, false, 0, 0, &[]);
    let td = b.refer(k::TYPEDEF, "int_t", int);
    let vol = b.refer(k::VOLATILE, "", td);
    let cnst = b.refer(k::CONST, "", vol);
    let restrict = b.refer(k::RESTRICT, "", ptr);
    let a = b.s("a");
    let bb = b.s("b");
    let proto = b.raw("", k::FUNC_PROTO, false, 2, int, &[a, int, bb, ptr]);
    let func = b.raw("f", k::FUNC, false, 0, proto, &[]);
    let var = b.raw("v", k::VAR, false, 0, int, &[1]);
    let sec = b.raw(".data..percpu", k::DATASEC, false, 1, 8, &[var, 4, 4]);
    let float = b.raw("double", k::FLOAT, false, 0, 8, &[]);
    let decl = b.raw("tag", k::DECL_TAG, false, 0, s, &[u32::MAX]);
    let ttag = b.refer(k::TYPE_TAG, "user", int);
    let e64 = b.enum64("e64", false, &[("BIG", 0x1_0000_0001), ("HUGE", u64::MAX)]);
    let marker = b.strukt("marker", 8, &[("m", cnst, 0, 0), ("q", ttag, 32, 0)]);
    AllKinds {
        bytes: b.finish(),
        int,
        ptr,
        arr,
        s,
        u,
        e,
        fwd,
        td,
        vol,
        cnst,
        restrict,
        proto,
        func,
        var,
        sec,
        float,
        decl,
        ttag,
        e64,
        marker,
    }
}

#[test]
fn every_kind_is_decoded_and_skipped_by_its_size() {
    let t = all_kinds();
    let btf = Btf::parse(&t.bytes).unwrap();
    assert_eq!(btf.types(), 20);
    let kinds = [
        (t.int, Kind::Int),
        (t.ptr, Kind::Ptr),
        (t.arr, Kind::Array),
        (t.s, Kind::Struct),
        (t.u, Kind::Union),
        (t.e, Kind::Enum),
        (t.fwd, Kind::Fwd),
        (t.td, Kind::Typedef),
        (t.vol, Kind::Volatile),
        (t.cnst, Kind::Const),
        (t.restrict, Kind::Restrict),
        (t.proto, Kind::FuncProto),
        (t.func, Kind::Func),
        (t.var, Kind::Var),
        (t.sec, Kind::Datasec),
        (t.float, Kind::Float),
        (t.decl, Kind::DeclTag),
        (t.ttag, Kind::TypeTag),
        (t.e64, Kind::Enum64),
        (t.marker, Kind::Struct),
    ];
    for (id, kind) in kinds {
        assert_eq!(btf.kind(id), Some(kind), "type [{id}]");
    }
    assert_eq!(btf.kind(0), Some(Kind::Void));
    assert_eq!(btf.kind(21), None);
    assert_eq!(btf.find(Kind::Struct, "marker"), Some(t.marker));
    assert_eq!(btf.find(Kind::Func, "f"), Some(t.func));
    assert_eq!(btf.find(Kind::Var, "v"), Some(t.var));
    assert_eq!(btf.find(Kind::Float, "double"), Some(t.float));
    assert_eq!(btf.find(Kind::Fwd, "fwd_s"), Some(t.fwd));
    assert_eq!(btf.find(Kind::Union, "s"), None);
    assert_eq!(btf.find(Kind::Struct, "nope"), None);
    assert_eq!(btf.name(t.ptr), None);
    assert_eq!(btf.name(t.decl), Some("tag"));
    assert_eq!(btf.name(t.ttag), Some("user"));

    assert_eq!(btf.size_of(t.int), Some(4));
    assert_eq!(btf.size_of(t.ptr), Some(8));
    assert_eq!(btf.size_of(t.arr), Some(16));
    assert_eq!(btf.size_of(t.s), Some(24));
    assert_eq!(btf.size_of(t.u), Some(8));
    assert_eq!(btf.size_of(t.e), Some(4));
    assert_eq!(btf.size_of(t.cnst), Some(4), "const volatile int_t");
    assert_eq!(btf.size_of(t.restrict), Some(8));
    assert_eq!(btf.size_of(t.var), Some(4));
    assert_eq!(btf.size_of(t.sec), Some(8));
    assert_eq!(btf.size_of(t.float), Some(8));
    assert_eq!(btf.size_of(t.e64), Some(8));
    assert_eq!(btf.size_of(t.ttag), Some(4));
    for none in [0, t.fwd, t.func, t.proto, t.decl, 99] {
        assert_eq!(btf.size_of(none), None, "type [{none}]");
    }
    let btf32 = Btf::parse(&t.bytes).unwrap().with_pointer_size(4);
    assert_eq!(btf32.size_of(t.ptr), Some(4));

    assert_eq!(btf.resolve(t.cnst), Some(t.int));
    assert_eq!(btf.resolve(t.ttag), Some(t.int));
    assert_eq!(btf.resolve(0), Some(0));
    assert_eq!(btf.resolve(99), None);
    assert_eq!(btf.array(t.arr), Some((t.int, 4)));
    assert_eq!(btf.array(t.int), None);
    assert_eq!(btf.pointee(t.restrict), Some(t.int));
    assert_eq!(btf.pointee(t.int), None);
    assert_eq!(btf.referenced(t.func), Some(t.proto));
    assert_eq!(btf.referenced(t.proto), Some(t.int));
    assert_eq!(btf.referenced(t.decl), Some(t.s));

    assert_eq!(btf.enumerator("E_NEG"), Some(-1));
    assert_eq!(btf.enumerator("E_POS"), Some(5));
    assert_eq!(btf.enumerator("BIG"), Some(0x1_0000_0001));
    assert_eq!(btf.enumerator("HUGE").map(|v| v as u64), Some(u64::MAX));
    assert_eq!(btf.enumerator("NOPE"), None);
    let e: Vec<_> = btf.enumerators(t.e).unwrap().collect();
    assert_eq!(e, [(Some("E_NEG"), -1), (Some("E_POS"), 5)]);

    assert_eq!(
        btf.section_var("v"),
        Some(SectionVar {
            section: ".data..percpu",
            var: t.var,
            ty: t.int,
            offset: 4,
            size: 4
        })
    );
    assert_eq!(btf.record_offset(1), Some(24));
}

#[test]
fn kind_flag_bitfields() {
    let t = all_kinds();
    let btf = Btf::parse(&t.bytes).unwrap();
    let b = btf.member(t.s, "b").unwrap();
    assert_eq!(
        b,
        Field {
            bit_offset: 35,
            bit_size: Some(3),
            ty: t.int
        }
    );
    assert_eq!(b.byte_offset(), None);
    let c = btf.member(t.s, "c").unwrap();
    assert_eq!((c.byte_offset(), c.bit_size, c.ty), (Some(8), None, t.arr));
    let names: Vec<_> = btf.members(t.s).unwrap().map(|m| m.name).collect();
    assert_eq!(names, [Some("a"), Some("b"), Some("c")]);
    // Through const/volatile/typedef and a type tag, into the marker.
    assert_eq!(btf.member(t.marker, "q").unwrap().byte_offset(), Some(4));
}

#[test]
fn old_style_bitfields_come_from_the_int_type() {
    // Without kind_flag the bitfield is an INT with BTF_INT_BITS smaller
    // than its size, possibly with a BTF_INT_OFFSET (btf.rst 2.2.1).
    let mut b = Builder::new();
    let uint = b.int("unsigned int", 4, 32, false);
    let bits4 = b.int("unsigned int", 4, 4, false);
    let off2 = b.int_at("unsigned int", 4, 4, 2, false);
    let s = b.composite(
        k::STRUCT,
        "old",
        8,
        false,
        &[
            ("whole", uint, 0, 0),
            ("four", bits4, 32, 0),
            ("shifted", off2, 100, 0),
        ],
    );
    let btf = Btf::parse(&b.finish()).unwrap();
    assert_eq!(btf.member(s, "whole").unwrap().bit_size, None);
    let four = btf.member(s, "four").unwrap();
    assert_eq!((four.bit_offset, four.bit_size), (32, Some(4)));
    let shifted = btf.member(s, "shifted").unwrap();
    assert_eq!((shifted.bit_offset, shifted.bit_size), (102, Some(4)));
    // The first "unsigned int" wins the name index.
    assert_eq!(btf.find(Kind::Int, "unsigned int"), Some(uint));
}

/// struct outer {
///     long x;                                    // 0
///     union {                                    // 8
///         struct { int pad; int deep; };         //   8, 12
///         long y;                                //   8
///     };
///     struct inner named;                        // 16: { long z; }
///     inner_t *next;                             // 24
/// };
fn nested() -> (Vec<u8>, u32, u32) {
    let mut b = Builder::new();
    let long = b.int("long", 8, 64, true);
    let int = b.int("int", 4, 32, true);
    let anon_s = b.strukt("", 8, &[("pad", int, 0, 0), ("deep", int, 32, 0)]);
    let anon_u = b.composite(
        k::UNION,
        "",
        8,
        false,
        &[("", anon_s, 0, 0), ("y", long, 0, 0)],
    );
    let inner = b.strukt("inner", 8, &[("z", long, 0, 0)]);
    let inner_t = b.refer(k::TYPEDEF, "inner_t", inner);
    let ptr = b.refer(k::PTR, "", inner_t);
    let outer = b.strukt(
        "outer",
        32,
        &[
            ("x", long, 0, 0),
            ("", anon_u, 64, 0),
            ("named", inner_t, 128, 0),
            ("next", ptr, 192, 0),
        ],
    );
    let outer_t = b.refer(k::TYPEDEF, "outer_t", outer);
    (b.finish(), outer, outer_t)
}

#[test]
fn dotted_paths_through_anonymous_members() {
    let (bytes, outer, outer_t) = nested();
    let btf = Btf::parse(&bytes).unwrap();
    let at = |path: &str| btf.member(outer_t, path).map(|f| f.byte_offset());
    assert_eq!(at("x"), Ok(Some(0)));
    assert_eq!(at("deep"), Ok(Some(12)), "two anonymous levels");
    assert_eq!(at("y"), Ok(Some(8)));
    assert_eq!(at("named.z"), Ok(Some(16)), "typedef between steps");
    assert_eq!(at("next"), Ok(Some(24)));
    let next = btf.member(outer, "next").unwrap();
    let pointee = btf.pointee(next.ty).unwrap();
    assert_eq!(
        btf.member(pointee, "z").map(|f| f.byte_offset()),
        Ok(Some(0))
    );

    match btf.member(outer, "named.nope") {
        Err(Error::MemberNotFound {
            component,
            type_name,
            ..
        }) => {
            assert_eq!(&*component, "nope");
            assert_eq!(type_name.as_deref(), Some("inner"));
        }
        other => panic!("{other:?}"),
    }
    let e = btf.member(outer, "missing").unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("no member `missing` in type [{outer}] `outer`")
    );
    assert!(matches!(
        btf.member(outer, "next.z"),
        Err(Error::NotComposite {
            kind: Kind::Ptr,
            ..
        })
    ));
    assert!(matches!(
        btf.member(outer, "x.y"),
        Err(Error::NotComposite {
            kind: Kind::Int,
            ..
        })
    ));
    assert_eq!(
        btf.member(outer, "named..z"),
        Err(Error::EmptyPathComponent { position: 6 })
    );
    assert_eq!(
        btf.member(outer, ""),
        Err(Error::EmptyPathComponent { position: 0 })
    );
    assert!(btf.member(99, "x").is_err());
}

fn parse_err(bytes: &[u8]) -> Error {
    match Btf::parse(bytes) {
        Ok(_) => panic!("parsed"),
        Err(e) => e,
    }
}

#[test]
fn every_truncation_is_an_error() {
    let bytes = all_kinds().bytes;
    for n in 0..bytes.len() {
        let e = parse_err(&bytes[..n]);
        assert!(!e.to_string().is_empty());
    }
    assert_eq!(
        parse_err(&bytes[..5]),
        Error::Truncated {
            offset: 0,
            needed: 8,
            available: 5,
            what: "btf header"
        }
    );
    assert!(matches!(
        parse_err(&bytes[..30]),
        Error::SectionOutOfRange {
            section: "type",
            ..
        }
    ));
}

#[test]
fn header_errors_name_the_field() {
    let good = all_kinds().bytes;
    let mut b = good.clone();
    b[0] = 0;
    assert_eq!(parse_err(&b), Error::BadMagic { found: 0xeb00 });
    assert!(parse_err(&b).to_string().contains("byte 0"));

    let mut b = good.clone();
    b[0] = 0xeb;
    b[1] = 0x9f;
    assert_eq!(parse_err(&b), Error::BigEndian);

    let mut b = good.clone();
    b[2] = 2;
    assert_eq!(parse_err(&b), Error::UnsupportedVersion { version: 2 });

    let mut b = good.clone();
    put_u32(&mut b, 4, 8);
    assert_eq!(parse_err(&b), Error::HeaderTooShort { hdr_len: 8 });
    assert!(parse_err(&b).to_string().contains("byte 4"));

    let mut b = good.clone();
    put_u32(&mut b, 4, u32::MAX);
    assert!(
        matches!(parse_err(&b), Error::Truncated { needed, .. } if needed == u64::from(u32::MAX))
    );

    let mut b = good.clone();
    put_u32(&mut b, 8, 0x7fff_fff0);
    let e = parse_err(&b);
    assert!(
        matches!(
            e,
            Error::SectionOutOfRange {
                section: "type",
                field_offset: 8,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("byte 8"), "{e}");

    let mut b = good.clone();
    put_u32(&mut b, 20, u32::MAX);
    let e = parse_err(&b);
    assert!(
        matches!(
            e,
            Error::SectionOutOfRange {
                section: "string",
                field_offset: 16,
                ..
            }
        ),
        "{e}"
    );

    let mut b = good.clone();
    put_u32(&mut b, 8, 2);
    assert_eq!(parse_err(&b), Error::MisalignedTypeSection { type_off: 2 });

    // Empty, unterminated and not-nul-first string sections.
    let t = Builder::new();
    assert!(matches!(
        parse_err(&blob(&t.types, &[])),
        Error::BadStringSection {
            what: "is empty",
            ..
        }
    ));
    assert!(matches!(
        parse_err(&blob(&[], b"a\0")),
        Error::BadStringSection { offset: 24, .. }
    ));
    assert!(matches!(
        parse_err(&blob(&[], b"\0a")),
        Error::BadStringSection { .. }
    ));
    // A header-only blob with just the empty string is a valid, empty BTF.
    assert_eq!(Btf::parse(&blob(&[], b"\0")).unwrap().types(), 0);

    // A longer header (a future extension) is accepted.
    let inner = Builder::new();
    let mut b = blob(&inner.types, &inner.strs);
    put_u32(&mut b, 4, 32);
    b.splice(24..24, [0u8; 8]);
    assert_eq!(Btf::parse(&b).unwrap().types(), 0);
}

#[test]
fn record_errors_name_offset_and_id() {
    // A record running past the type section.
    let mut b = Builder::new();
    b.int("int", 4, 32, true);
    b.strukt("s", 4, &[("a", 1, 0, 0)]);
    let mut bytes = b.finish();
    let type_len = b.types.len() as u32;
    put_u32(&mut bytes, 12, type_len - 4);
    let e = parse_err(&bytes);
    assert_eq!(
        e,
        Error::RecordTruncated {
            offset: 24 + 16,
            id: 2,
            needed: 24,
            available: 20
        }
    );
    assert_eq!(
        e.to_string(),
        "type [2] at byte 40 needs 24 bytes, only 20 left in the type section"
    );

    // A huge vlen: 65535 members announced, none there.
    let mut b = Builder::new();
    b.int("int", 4, 32, true);
    b.raw("huge", k::STRUCT, false, 0xffff, 4, &[]);
    let e = parse_err(&b.finish());
    assert_eq!(
        e,
        Error::RecordTruncated {
            offset: 40,
            id: 2,
            needed: 12 + 12 * 0xffff,
            available: 12
        }
    );

    // Unused info bits, unknown kinds.
    let mut b = Builder::new();
    b.int("int", 4, 32, true);
    b.raw("", k::PTR, false, 1 << 16, 1, &[]);
    assert_eq!(
        parse_err(&b.finish()),
        Error::BadInfo {
            offset: 40,
            id: 2,
            info: (k::PTR << 24) | (1 << 16)
        }
    );
    for kind in [0, 20, 31] {
        let mut b = Builder::new();
        b.raw("", kind, false, 0, 0, &[]);
        assert_eq!(
            parse_err(&b.finish()),
            Error::UnknownKind {
                offset: 24,
                id: 1,
                kind: kind as u8
            }
        );
    }

    // A name outside the string section.
    let mut b = Builder::new();
    b.int("int", 4, 32, true);
    let mut bytes = b.finish();
    put_u32(&mut bytes, 24, 1000);
    assert_eq!(
        parse_err(&bytes),
        Error::BadNameOffset {
            offset: 24,
            id: 1,
            name_off: 1000
        }
    );
    // A partial record header.
    let mut b = Builder::new();
    b.int("int", 4, 32, true);
    b.types.extend_from_slice(&[0; 4]);
    assert!(matches!(
        parse_err(&b.finish()),
        Error::RecordTruncated {
            offset: 40,
            id: 2,
            needed: 12,
            available: 4
        }
    ));
}

#[test]
fn loops_and_blowups_are_bounded() {
    let mut b = Builder::new();
    // [1] typedef a -> [2], [2] typedef b -> [1]
    b.refer(k::TYPEDEF, "a", 2);
    b.refer(k::TYPEDEF, "b", 1);
    // [3] array of itself
    b.array(3, 3, 2);
    // [4] const -> [999] (no such type)
    b.refer(k::CONST, "", 999);
    let btf = Btf::parse(&b.finish()).unwrap();
    assert_eq!(btf.resolve(1), None);
    assert_eq!(btf.size_of(1), None);
    assert_eq!(btf.member(1, "x"), Err(Error::ModifierLoop { id: 1 }));
    assert_eq!(btf.size_of(3), None);
    assert_eq!(btf.resolve(4), None);
    assert_eq!(btf.member(4, "x"), Err(Error::NoSuchType { id: 999 }));

    // Anonymous members nested deeper than the limit.
    let mut b = Builder::new();
    let int = b.int("int", 4, 32, true);
    let mut cur = b.strukt("", 4, &[("leaf", int, 0, 0)]);
    for _ in 0..40 {
        cur = b.strukt("", 4, &[("", cur, 0, 0)]);
    }
    let btf = Btf::parse(&b.finish()).unwrap();
    assert_eq!(btf.member(cur, "leaf"), Err(Error::TooComplex { ty: 10 }));

    // Fan-out: each level has two anonymous members of the next, 2^40
    // paths to a name that is not there. Must stop at the work limit.
    let mut b = Builder::new();
    let int = b.int("int", 4, 32, true);
    let mut cur = b.strukt("", 4, &[("leaf", int, 0, 0)]);
    for _ in 0..30 {
        cur = b.strukt("", 4, &[("", cur, 0, 0), ("", cur, 0, 0)]);
    }
    let btf = Btf::parse(&b.finish()).unwrap();
    let t = std::time::Instant::now();
    assert!(matches!(
        btf.member(cur, "absent"),
        Err(Error::TooComplex { .. })
    ));
    assert!(t.elapsed().as_secs() < 10);
    assert_eq!(btf.member(cur, "leaf").unwrap().bit_offset, 0);

    // Offsets that add past 64 bits cannot happen with 24/32-bit member
    // offsets and 32 levels; a path through a self-referencing struct
    // simply adds up.
    let mut b = Builder::new();
    let s = b.strukt("selfish", 8, &[("me", 1, 32, 0)]);
    let btf = Btf::parse(&b.finish()).unwrap();
    let path = vec!["me"; 1000].join(".");
    assert_eq!(btf.member(s, &path).unwrap().bit_offset, 32_000);
}

#[test]
fn duplicates_resolve_to_the_first() {
    let mut b = Builder::new();
    let a = b.raw("dup", k::FWD, false, 0, 0, &[]);
    let s1 = b.strukt("dup", 4, &[]);
    let _s2 = b.strukt("dup", 8, &[]);
    let e1 = b.enum32("", false, &[("X", 1)]);
    let _e2 = b.enum32("", false, &[("X", 2)]);
    let btf = Btf::parse(&b.finish()).unwrap();
    assert_eq!(btf.find(Kind::Fwd, "dup"), Some(a));
    assert_eq!(btf.find(Kind::Struct, "dup"), Some(s1));
    assert_eq!(btf.enumerator("X"), Some(1));
    assert_eq!(btf.enumerators(e1).unwrap().count(), 1);
}

#[test]
fn more_types_than_the_kernel_allows() {
    // BTF_MAX_TYPE (0xfffff) records parse; one more is refused, with the
    // offset of the first record past the limit.
    let max = 0xf_ffffusize;
    let mut types = Vec::with_capacity((max + 1) * 12);
    for _ in 0..=max {
        for w in [0u32, k::PTR << 24, 0] {
            types.extend_from_slice(&w.to_le_bytes());
        }
    }
    let btf = Btf::parse(&blob(&types[..max * 12], b"\0")).unwrap();
    assert_eq!(btf.types(), max);
    assert_eq!(btf.size_of(max as u32), Some(8));
    assert_eq!(
        parse_err(&blob(&types, b"\0")),
        Error::TooManyTypes {
            offset: 24 + max as u64 * 12,
            limit: max as u32
        }
    );
}
