//! BTF type information as the kernel carries it in memory: a small parser for member offsets and sizes
//!
//! A kernel built with `CONFIG_DEBUG_INFO_BTF` carries a `.BTF` section: the
//! types of the whole kernel, deduplicated, a few megabytes. It is loaded, so
//! a crashed kernel's memory holds it between `__start_BTF` and `__stop_BTF`,
//! and a live one shows it as `/sys/kernel/btf/vmlinux`. With it a crash tool
//! can find `task_struct`'s member offsets or the size of `struct rq` with no
//! debug file at all.
//!
//! [`Btf::parse`] takes the blob's bytes, checks the header and walks the type
//! section once, recording where each type record starts and indexing named
//! types by `(kind, name)`. Names are not decoded until asked for; nothing is
//! allocated per type. Lookups then answer what a crash tool needs:
//! [`Btf::find`], [`Btf::member`] (dotted paths, through anonymous
//! structs/unions), [`Btf::size_of`], [`Btf::enumerator`], ...
//!
//! ```no_run
//! use crashview_btf::{Btf, Kind};
//! let bytes = std::fs::read("/sys/kernel/btf/vmlinux")?;
//! let btf = Btf::parse(&bytes)?;
//! let task = btf.find(Kind::Struct, "task_struct").expect("task_struct");
//! let sp = btf.member(task, "thread.sp")?;
//! println!("task_struct.thread.sp at byte {:?}", sp.byte_offset());
//! println!("sizeof(struct task_struct) = {:?}", btf.size_of(task));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Format
//!
//! The format facts are from the kernel's `include/uapi/linux/btf.h`,
//! `kernel/bpf/btf.c` (`btf_parse_hdr`, `btf_check_meta`, `BTF_INFO_MASK`)
//! and `Documentation/bpf/btf.rst`; `src/raw.rs` says which fact comes from
//! where. All nineteen kinds (INT .. ENUM64) are decoded or at least skipped
//! by their exact size; an unknown kind or an `info` word with unused bits set
//! is an error, because its size cannot be known and every later type id
//! would be wrong. Only little-endian BTF is read: big-endian is refused with
//! [`Error::BigEndian`].
//!
//! # Untrusted input
//!
//! The blob comes from a crashed machine. Parsing never panics and never
//! indexes unchecked; the offset table is sized by what the type section can
//! hold (12 bytes per record at least), not by a count in the input. Errors
//! name the byte offset and what was expected there. Lookups are bounded:
//! typedef/qualifier chains by [`MAX_HOPS`], nested anonymous members by a
//! depth and work limit.
//!
//! # Why not a crate from crates.io
//!
//! `btf-rs` is the well-kept Rust BTF reader, but it is LGPL-2.1-or-later
//! (crashview is MIT OR Apache-2.0), and it builds a `HashMap<String, _>` of
//! all strings at load time, which is the per-string allocation this crate
//! avoids. The subset needed here (offsets, sizes, names, enumerators) is
//! small enough to own.
#![deny(missing_docs)]
#![deny(clippy::arithmetic_side_effects)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::panic))]
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

mod error;
mod index;
mod raw;

pub use error::{Error, Result};

use index::Index;
use raw::{record, u32_at, Record};
use std::ops::Range;
use std::sync::OnceLock;

/// A BTF type id. 0 is `void`; real types are `1..=Btf::types()`.
pub type TypeId = u32;

/// Longest typedef/qualifier chain [`Btf::resolve`] follows, and the deepest
/// array-of-array nesting [`Btf::size_of`] follows. Real kernels need a
/// handful; past this the chain is taken to loop.
pub const MAX_HOPS: usize = 64;

/// Deepest nesting of anonymous struct/union members a member lookup
/// descends through (task_struct has 2 or 3 levels).
const MAX_ANON_DEPTH: u32 = 32;

/// Members visited by one member-path component lookup before giving up.
/// Crafted BTF can make anonymous members fan out exponentially; real
/// structs have at most a few hundred members in all.
const MAX_MEMBER_VISITS: u32 = 1 << 20;

/// The kind of a type (`BTF_KIND_*`), plus `Void` for type id 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `BTF_KIND_INT`: an integer, char or bool.
    Int,
    /// `BTF_KIND_PTR`.
    Ptr,
    /// `BTF_KIND_ARRAY`.
    Array,
    /// `BTF_KIND_STRUCT`.
    Struct,
    /// `BTF_KIND_UNION`.
    Union,
    /// `BTF_KIND_ENUM`: 32-bit enumerators.
    Enum,
    /// `BTF_KIND_FWD`: a forward declaration of a struct or union.
    Fwd,
    /// `BTF_KIND_TYPEDEF`.
    Typedef,
    /// `BTF_KIND_VOLATILE`.
    Volatile,
    /// `BTF_KIND_CONST`.
    Const,
    /// `BTF_KIND_RESTRICT`.
    Restrict,
    /// `BTF_KIND_FUNC`: a function (not a type; points at its prototype).
    Func,
    /// `BTF_KIND_FUNC_PROTO`.
    FuncProto,
    /// `BTF_KIND_VAR`: a global or per-CPU variable.
    Var,
    /// `BTF_KIND_DATASEC`: a data section and the variables in it.
    Datasec,
    /// `BTF_KIND_FLOAT`.
    Float,
    /// `BTF_KIND_DECL_TAG`: an attribute on a declaration.
    DeclTag,
    /// `BTF_KIND_TYPE_TAG`: an attribute on a pointee type (`__user`, ...).
    TypeTag,
    /// `BTF_KIND_ENUM64`: 64-bit enumerators.
    Enum64,
    /// Type id 0.
    Void,
}

impl Kind {
    fn tag(self) -> u8 {
        self as u8
    }
}

/// Where a struct/union member lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// Offset in bits from the start of the outermost type looked up.
    pub bit_offset: u64,
    /// Width in bits, for bitfields only.
    pub bit_size: Option<u32>,
    /// The member's type, as recorded (typedefs and qualifiers not stripped).
    pub ty: TypeId,
}

impl Field {
    /// The offset in bytes, `None` for a bitfield or a member that does not
    /// start on a byte boundary.
    pub fn byte_offset(&self) -> Option<u64> {
        if self.bit_size.is_none() && self.bit_offset & 7 == 0 {
            Some(self.bit_offset >> 3)
        } else {
            None
        }
    }
}

/// One member of a struct or union, as [`Btf::members`] yields it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member<'a> {
    /// The member's name, `None` for an anonymous member.
    pub name: Option<&'a str>,
    /// Its offset (from the start of this struct/union), width and type.
    pub field: Field,
}

/// A variable in a `DATASEC` (e.g. a per-CPU variable in `.data..percpu`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SectionVar<'a> {
    /// The section's name (".data..percpu", ...).
    pub section: &'a str,
    /// The `VAR` type id.
    pub var: TypeId,
    /// The variable's type.
    pub ty: TypeId,
    /// Offset of the variable within the section.
    pub offset: u32,
    /// Size of the variable in bytes.
    pub size: u32,
}

/// Handle into the enumerator index: the enum type and the enumerator's
/// position in it.
type EnumRef = (TypeId, u16);

/// A parsed BTF blob. Owns its bytes (a copy, or the `Vec` it was given).
pub struct Btf {
    /// The whole blob as given.
    data: Vec<u8>,
    /// Where the type section is in `data`.
    types: Range<usize>,
    /// Where the string section is in `data`.
    strings: Range<usize>,
    /// Where the type section started in the input, for messages.
    types_at: u64,
    /// `offsets[i]` is where the record of type `i + 1` starts in `types`.
    offsets: Vec<u32>,
    /// Named types of every kind but FUNC, built by `parse`.
    names: Index<TypeId>,
    /// FUNC names (half of a kernel's named types, rarely asked for), built
    /// on the first `find(Kind::Func, ..)`.
    funcs: OnceLock<Index<TypeId>>,
    enumerators: OnceLock<Index<EnumRef>>,
    pointer_size: u32,
}

impl std::fmt::Debug for Btf {
    /// A summary: the blob is megabytes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Btf")
            .field("bytes", &self.data.len())
            .field("types", &self.offsets.len())
            .field("type_section", &self.types)
            .field("string_section", &self.strings)
            .field("pointer_size", &self.pointer_size)
            .finish_non_exhaustive()
    }
}

impl Btf {
    /// Parses a little-endian BTF blob (the `.BTF` section), with 8-byte
    /// pointers (x86_64, arm64, ...).
    pub fn parse(bytes: &[u8]) -> Result<Btf> {
        Btf::parse_vec(bytes.to_vec())
    }

    /// Like [`Btf::parse`], taking ownership of the bytes instead of copying
    /// them. On a fresh process the copy is most of `parse`'s time (the page
    /// faults of 5 MB of new memory), so a caller that has just read the blob
    /// into a `Vec` should hand it over.
    pub fn parse_vec(bytes: Vec<u8>) -> Result<Btf> {
        let hdr = raw::header(&bytes)?;
        let types = hdr.types_start..hdr.types_start.saturating_add(hdr.types_len);
        let strings = hdr.strs_start..hdr.strs_start.saturating_add(hdr.strs_len);
        let (offsets, names) = {
            let t = bytes.get(types.clone()).unwrap_or_default();
            let s = bytes.get(strings.clone()).unwrap_or_default();
            walk(t, s, hdr.types_start as u64)?
        };
        Ok(Btf {
            data: bytes,
            types,
            strings,
            types_at: hdr.types_start as u64,
            offsets,
            names,
            funcs: OnceLock::new(),
            enumerators: OnceLock::new(),
            pointer_size: 8,
        })
    }

    /// Sets the pointer size [`Btf::size_of`] uses (8 unless set; BTF does
    /// not record it).
    pub fn with_pointer_size(mut self, bytes: u32) -> Btf {
        self.pointer_size = bytes;
        self
    }

    /// The type section.
    fn ty_bytes(&self) -> &[u8] {
        self.data.get(self.types.clone()).unwrap_or_default()
    }

    /// The string section.
    fn str_bytes(&self) -> &[u8] {
        self.data.get(self.strings.clone()).unwrap_or_default()
    }

    /// Number of type records: valid ids are `0` (void) and `1..=types()`.
    pub fn types(&self) -> usize {
        self.offsets.len()
    }

    /// The record of type `id` (not void).
    fn rec(&self, id: TypeId) -> Option<Record<'_>> {
        let i = usize::try_from(id.checked_sub(1)?).ok()?;
        record(self.ty_bytes(), *self.offsets.get(i)? as usize)
    }

    /// Where type `id`'s record starts in the input blob (for messages).
    pub fn record_offset(&self, id: TypeId) -> Option<u64> {
        let i = usize::try_from(id.checked_sub(1)?).ok()?;
        self.types_at.checked_add(u64::from(*self.offsets.get(i)?))
    }

    /// The kind of type `id`; `Some(Kind::Void)` for 0, `None` if no such id.
    pub fn kind(&self, id: TypeId) -> Option<Kind> {
        if id == 0 {
            return Some(Kind::Void);
        }
        Some(self.rec(id)?.kind)
    }

    /// The name of type `id`, `None` if anonymous (or not valid UTF-8).
    pub fn name(&self, id: TypeId) -> Option<&str> {
        self.str_at(self.rec(id)?.name_off)
    }

    /// The string at `off` in the string section; `None` for the empty
    /// string, an offset outside the section or bytes that are not UTF-8.
    fn str_at(&self, off: u32) -> Option<&str> {
        let b = cstr(self.str_bytes(), off)?;
        if b.is_empty() {
            return None;
        }
        std::str::from_utf8(b).ok()
    }

    /// The first type (lowest id) of `kind` called `name`. Uses the index
    /// built by [`Btf::parse`]: one hash and one string comparison. FUNC
    /// names have their own index, built on the first FUNC lookup (about
    /// half a kernel's named types are FUNCs, and crash tools get functions
    /// from kallsyms).
    pub fn find(&self, kind: Kind, name: &str) -> Option<TypeId> {
        let index = if kind == Kind::Func {
            self.funcs.get_or_init(|| {
                build_name_index(self.ty_bytes(), self.str_bytes(), &self.offsets, 0, |k| {
                    k == Kind::Func
                })
            })
        } else {
            &self.names
        };
        let key = index.key(kind.tag(), name.as_bytes());
        index.get(key, |id| {
            same_name(
                self.ty_bytes(),
                self.str_bytes(),
                &self.offsets,
                id,
                kind,
                name.as_bytes(),
            )
        })
    }

    /// Follows typedefs, `const`, `volatile`, `restrict` and type tags to the
    /// underlying type. `None` for an unknown id or a chain longer than
    /// [`MAX_HOPS`] (a loop).
    pub fn resolve(&self, id: TypeId) -> Option<TypeId> {
        self.resolve_checked(id).ok()
    }

    fn resolve_checked(&self, id: TypeId) -> Result<TypeId> {
        let mut cur = id;
        for _ in 0..MAX_HOPS {
            if cur == 0 {
                return Ok(0);
            }
            let r = self.rec(cur).ok_or(Error::NoSuchType { id: cur })?;
            match r.kind {
                Kind::Typedef | Kind::Const | Kind::Volatile | Kind::Restrict | Kind::TypeTag => {
                    cur = r.size_or_type;
                }
                _ => return Ok(cur),
            }
        }
        Err(Error::ModifierLoop { id })
    }

    /// Size in bytes of type `id`, through typedefs and qualifiers: ints,
    /// floats, structs, unions, enums, datasecs by their recorded size,
    /// pointers by the pointer size, arrays as element size × count, a
    /// variable by its type. `None` for void, functions, forward
    /// declarations, unknown ids, loops or overflow.
    pub fn size_of(&self, id: TypeId) -> Option<u64> {
        let mut count: u64 = 1;
        let mut cur = id;
        for _ in 0..MAX_HOPS {
            let r = self.rec(self.resolve(cur)?)?;
            match r.kind {
                Kind::Int
                | Kind::Struct
                | Kind::Union
                | Kind::Enum
                | Kind::Enum64
                | Kind::Float
                | Kind::Datasec => return count.checked_mul(u64::from(r.size_or_type)),
                Kind::Ptr => return count.checked_mul(u64::from(self.pointer_size)),
                Kind::Array => {
                    let (elem, n) = array_of(&r)?;
                    count = count.checked_mul(u64::from(n))?;
                    cur = elem;
                }
                Kind::Var => cur = r.size_or_type,
                _ => return None,
            }
        }
        None
    }

    /// The members of struct/union `id` (after resolving typedefs and
    /// qualifiers), in order, with offsets relative to that struct/union.
    /// `None` if `id` is not a struct or union.
    pub fn members(&self, id: TypeId) -> Option<Members<'_>> {
        let r = self.rec(self.resolve(id)?)?;
        if !matches!(r.kind, Kind::Struct | Kind::Union) {
            return None;
        }
        Some(Members {
            btf: self,
            rest: r.trailing,
            kind_flag: r.kind_flag,
        })
    }

    /// Decodes one `struct btf_member` (12 bytes) of a struct/union.
    ///
    /// With the struct's `kind_flag` set, `offset` packs the bitfield size in
    /// its top 8 bits and the bit offset in the low 24
    /// (`BTF_MEMBER_BITFIELD_SIZE`/`BTF_MEMBER_BIT_OFFSET`); size 0 means not
    /// a bitfield. Without it, `offset` is the bit offset and a bitfield is
    /// told by its int type: `BTF_INT_BITS` narrower than the int, starting
    /// `BTF_INT_OFFSET` bits further on (`Documentation/bpf/btf.rst` 2.2.1).
    fn decode_member(&self, m: &[u8], kind_flag: bool) -> Option<(Option<&str>, Field)> {
        let name_off = u32_at(m, 0)?;
        let ty = u32_at(m, 4)?;
        let offset = u32_at(m, 8)?;
        let field = if kind_flag {
            let size = offset >> 24;
            Field {
                bit_offset: u64::from(offset & 0x00ff_ffff),
                bit_size: (size != 0).then_some(size),
                ty,
            }
        } else {
            let mut f = Field {
                bit_offset: u64::from(offset),
                bit_size: None,
                ty,
            };
            if let Some((bits, shift)) = self.int_bitfield(ty) {
                f.bit_offset = f.bit_offset.saturating_add(u64::from(shift));
                f.bit_size = Some(bits);
            }
            f
        };
        Some((self.str_at(name_off), field))
    }

    /// For an int type narrower than its storage (or offset within it): its
    /// `(BTF_INT_BITS, BTF_INT_OFFSET)`.
    fn int_bitfield(&self, ty: TypeId) -> Option<(u32, u32)> {
        let r = self.rec(self.resolve(ty)?)?;
        if r.kind != Kind::Int {
            return None;
        }
        let enc = u32_at(r.trailing, 0)?;
        let bits = enc & 0xff;
        let shift = (enc >> 16) & 0xff;
        let full = u64::from(r.size_or_type).saturating_mul(8);
        (shift != 0 || u64::from(bits) != full).then_some((bits, shift))
    }

    /// The member at a dotted `path` ("thread.sp", "se.exec_start") of
    /// struct/union `id`. Each step resolves typedefs and qualifiers and
    /// looks through anonymous struct/union members as C does; offsets add
    /// up from `id`'s start. The error names the component that was not
    /// found and the type it was looked for in.
    pub fn member(&self, id: TypeId, path: &str) -> Result<Field> {
        let mut cur = id;
        let mut base: u64 = 0;
        let mut found: Option<Field> = None;
        let mut pos = 0usize;
        for comp in path.split('.') {
            if comp.is_empty() {
                return Err(Error::EmptyPathComponent { position: pos });
            }
            pos = pos.saturating_add(comp.len()).saturating_add(1);
            let ty = self.resolve_checked(cur)?;
            let kind = self.kind(ty).ok_or(Error::NoSuchType { id: ty })?;
            if !matches!(kind, Kind::Struct | Kind::Union) {
                return Err(Error::NotComposite {
                    component: comp.into(),
                    ty,
                    kind,
                });
            }
            let mut budget = MAX_MEMBER_VISITS;
            let f = self.find_member(ty, comp, 0, &mut budget)?.ok_or_else(|| {
                Error::MemberNotFound {
                    component: comp.into(),
                    ty,
                    type_name: self.name(ty).map(Into::into),
                }
            })?;
            let bit_offset = base
                .checked_add(f.bit_offset)
                .ok_or(Error::Overflow { ty })?;
            found = Some(Field { bit_offset, ..f });
            base = bit_offset;
            cur = f.ty;
        }
        found.ok_or(Error::EmptyPathComponent { position: 0 })
    }

    /// Searches struct/union `ty` for a member `name`, descending into
    /// anonymous struct/union members in order. Offsets are relative to `ty`.
    fn find_member(
        &self,
        ty: TypeId,
        name: &str,
        depth: u32,
        budget: &mut u32,
    ) -> Result<Option<Field>> {
        let members = self.members(ty).ok_or(Error::NoSuchType { id: ty })?;
        for m in members {
            *budget = budget.checked_sub(1).ok_or(Error::TooComplex { ty })?;
            match m.name {
                Some(n) if n == name => return Ok(Some(m.field)),
                Some(_) => {}
                None => {
                    let inner = self.resolve_checked(m.field.ty)?;
                    if !matches!(self.kind(inner), Some(Kind::Struct | Kind::Union)) {
                        continue;
                    }
                    if depth >= MAX_ANON_DEPTH {
                        return Err(Error::TooComplex { ty });
                    }
                    let sub = depth.saturating_add(1);
                    if let Some(f) = self.find_member(inner, name, sub, budget)? {
                        let bit_offset = m
                            .field
                            .bit_offset
                            .checked_add(f.bit_offset)
                            .ok_or(Error::Overflow { ty })?;
                        return Ok(Some(Field { bit_offset, ..f }));
                    }
                }
            }
        }
        Ok(None)
    }

    /// `(element type, element count)` of array type `id` (after resolving
    /// typedefs and qualifiers).
    pub fn array(&self, id: TypeId) -> Option<(TypeId, u32)> {
        let r = self.rec(self.resolve(id)?)?;
        if r.kind != Kind::Array {
            return None;
        }
        array_of(&r)
    }

    /// The pointee of pointer type `id` (after resolving typedefs and
    /// qualifiers); 0 for `void *`.
    pub fn pointee(&self, id: TypeId) -> Option<TypeId> {
        let r = self.rec(self.resolve(id)?)?;
        (r.kind == Kind::Ptr).then_some(r.size_or_type)
    }

    /// The type a `TYPEDEF`, qualifier, `PTR`, `FUNC`, `VAR`, `DECL_TAG` or
    /// `TYPE_TAG` refers to, or a `FUNC_PROTO`'s return type; no resolving.
    pub fn referenced(&self, id: TypeId) -> Option<TypeId> {
        let r = self.rec(id)?;
        matches!(
            r.kind,
            Kind::Typedef
                | Kind::Const
                | Kind::Volatile
                | Kind::Restrict
                | Kind::Ptr
                | Kind::Func
                | Kind::FuncProto
                | Kind::Var
                | Kind::DeclTag
                | Kind::TypeTag
        )
        .then_some(r.size_or_type)
    }

    /// The enumerators of `ENUM`/`ENUM64` type `id` (after resolving), as
    /// `(name, value)`. See [`Btf::enumerator`] for how values are widened.
    pub fn enumerators(&self, id: TypeId) -> Option<Enumerators<'_>> {
        let r = self.rec(self.resolve(id)?)?;
        let step = match r.kind {
            Kind::Enum => 8,
            Kind::Enum64 => 12,
            _ => return None,
        };
        Some(Enumerators {
            btf: self,
            rest: r.trailing,
            step,
            signed: r.kind_flag,
        })
    }

    /// The value of enumerator `name`, searched in every `ENUM` and `ENUM64`
    /// type, the lowest type id first ("PIDTYPE_PID", "MOD_TEXT").
    ///
    /// An `ENUM` with `kind_flag` set is signed (`btf.rst`, ENUM since 6.0),
    /// otherwise its 32-bit value is zero-extended; an `ENUM64` value is the
    /// 64 bits as they are, so an unsigned one above `i64::MAX` comes out
    /// negative (cast it to `u64`). The first call builds an index of all
    /// enumerators; later calls are one hash lookup.
    pub fn enumerator(&self, name: &str) -> Option<i64> {
        let index = self.enumerators.get_or_init(|| self.build_enum_index());
        let key = index.key(0, name.as_bytes());
        let (id, i) = index.get(key, |(id, i)| {
            self.enumerator_at(id, i)
                .is_some_and(|(n, _)| n == name.as_bytes())
        })?;
        self.enumerator_at(id, i).map(|(_, v)| v)
    }

    /// Enumerator `i` of enum type `id`: its raw name and value.
    fn enumerator_at(&self, id: TypeId, i: u16) -> Option<(&[u8], i64)> {
        let r = self.rec(id)?;
        let (step, wide) = match r.kind {
            Kind::Enum => (8usize, false),
            Kind::Enum64 => (12usize, true),
            _ => return None,
        };
        let at = usize::from(i).checked_mul(step)?;
        let e = r.trailing.get(at..at.checked_add(step)?)?;
        let name = cstr(self.str_bytes(), u32_at(e, 0)?)?;
        Some((name, enum_value(e, wide, r.kind_flag)?))
    }

    fn build_enum_index(&self) -> Index<EnumRef> {
        let mut index = Index::with_capacity(0);
        for (i, &off) in self.offsets.iter().enumerate() {
            let Some(r) = record(self.ty_bytes(), off as usize) else {
                continue;
            };
            if !matches!(r.kind, Kind::Enum | Kind::Enum64) {
                continue;
            }
            let Ok(id) = TypeId::try_from(i.saturating_add(1)) else {
                continue;
            };
            for j in 0..r.vlen {
                let Some((name, _)) = self.enumerator_at(id, j) else {
                    continue;
                };
                if name.is_empty() {
                    continue;
                }
                let key = index.key(0, name);
                index.insert(key, (id, j), |(oid, oj)| {
                    self.enumerator_at(oid, oj).is_some_and(|(n, _)| n == name)
                });
            }
        }
        index
    }

    /// The variable called `name` in any `DATASEC` (the first found), with
    /// its section, type, offset and size. Per-CPU variables such as
    /// `runqueues` are in `.data..percpu`, at their offset from the per-CPU
    /// base.
    pub fn section_var(&self, name: &str) -> Option<SectionVar<'_>> {
        let var = self.find(Kind::Var, name)?;
        let ty = self.rec(var)?.size_or_type;
        // Kernel BTF has one DATASEC (".data..percpu"); scanning all records
        // for DATASECs is cheap next to the one-time cost of asking.
        for (i, &off) in self.offsets.iter().enumerate() {
            let Some(r) = record(self.ty_bytes(), off as usize) else {
                continue;
            };
            if r.kind != Kind::Datasec {
                continue;
            }
            for v in r.trailing.chunks_exact(12) {
                if u32_at(v, 0) == Some(var) {
                    let id = TypeId::try_from(i.saturating_add(1)).ok()?;
                    return Some(SectionVar {
                        section: self.name(id).unwrap_or(""),
                        var,
                        ty,
                        offset: u32_at(v, 4)?,
                        size: u32_at(v, 8)?,
                    });
                }
            }
        }
        None
    }
}

/// The one pass over the type section: checks every record's info word,
/// kind and length, records where it starts, then indexes the names.
fn walk(types: &[u8], strings: &[u8], types_at: u64) -> Result<(Vec<u32>, Index<TypeId>)> {
    // Every record is at least 12 bytes: this bounds the table by the
    // input, whatever the input claims.
    let cap = (types.len() / raw::TYPE_HEADER_LEN).min(raw::MAX_TYPES as usize);
    let mut offsets: Vec<u32> = Vec::with_capacity(cap);
    let mut named = 0usize;
    let mut off = 0usize;
    while off < types.len() {
        let at = types_at.saturating_add(off as u64);
        let id = u32::try_from(offsets.len())
            .ok()
            .and_then(|n| n.checked_add(1))
            .filter(|&id| id <= raw::MAX_TYPES)
            .ok_or(Error::TooManyTypes {
                offset: at,
                limit: raw::MAX_TYPES,
            })?;
        let left = types.len().saturating_sub(off);
        let truncated = |needed: usize| Error::RecordTruncated {
            offset: at,
            id,
            needed: needed as u64,
            available: left as u64,
        };
        let (Some(name_off), Some(info)) = (
            u32_at(types, off),
            off.checked_add(4).and_then(|o| u32_at(types, o)),
        ) else {
            return Err(truncated(raw::TYPE_HEADER_LEN));
        };
        if info & !raw::INFO_MASK != 0 {
            return Err(Error::BadInfo {
                offset: at,
                id,
                info,
            });
        }
        let raw_kind = (info >> 24) & 0x1f;
        let kind = Kind::from_raw(raw_kind).ok_or(Error::UnknownKind {
            offset: at,
            id,
            kind: raw_kind as u8,
        })?;
        let len = kind
            .trailing_len((info & 0xffff) as u16)
            .saturating_add(raw::TYPE_HEADER_LEN);
        if len > left {
            return Err(truncated(len));
        }
        // The string section ends with a nul (checked by header()), so
        // any offset inside it starts a terminated string.
        if name_off as usize >= strings.len() {
            return Err(Error::BadNameOffset {
                offset: at,
                id,
                name_off,
            });
        }
        if name_off != 0 && kind != Kind::Func {
            named = named.saturating_add(1);
        }
        // off < types.len() <= u32::MAX (type_len is a u32).
        offsets.push(off as u32);
        off = off.saturating_add(len);
    }
    let names = build_name_index(types, strings, &offsets, named, |k| k != Kind::Func);
    Ok((offsets, names))
}

/// Indexes the named types whose kind passes `want`, `capacity` of them.
fn build_name_index(
    types: &[u8],
    strings: &[u8],
    offsets: &[u32],
    capacity: usize,
    want: impl Fn(Kind) -> bool,
) -> Index<TypeId> {
    let mut names: Index<TypeId> = Index::with_capacity(capacity);
    for (id, &off) in (1u32..).zip(offsets) {
        let Some(r) = record(types, off as usize) else {
            continue;
        };
        if r.name_off == 0 || !want(r.kind) {
            continue;
        }
        let Some((key, len)) = names.key_cstr(r.kind.tag(), strings, r.name_off as usize) else {
            continue;
        };
        let Some(name) = strings
            .get(r.name_off as usize..)
            .and_then(|s| s.get(..len))
        else {
            continue;
        };
        names.insert(key, id, |other| {
            same_name(types, strings, offsets, other, r.kind, name)
        });
    }
    names
}

/// `(type, nelems)` from a `struct btf_array` (type, index_type, nelems).
fn array_of(r: &Record<'_>) -> Option<(TypeId, u32)> {
    Some((u32_at(r.trailing, 0)?, u32_at(r.trailing, 8)?))
}

/// Value of a `btf_enum` (name_off, s32/u32 val) or `btf_enum64` (name_off,
/// val_lo32, val_hi32).
fn enum_value(e: &[u8], wide: bool, signed: bool) -> Option<i64> {
    let lo = u32_at(e, 4)?;
    Some(if wide {
        let hi = u32_at(e, 8)?;
        ((u64::from(hi) << 32) | u64::from(lo)) as i64
    } else if signed {
        i64::from(lo as i32)
    } else {
        i64::from(lo)
    })
}

/// The nul-terminated bytes at `off` in a string section (without the nul).
fn cstr(strings: &[u8], off: u32) -> Option<&[u8]> {
    let s = strings.get(usize::try_from(off).ok()?..)?;
    let end = s.iter().position(|&b| b == 0)?;
    s.get(..end)
}

/// Whether type `id` is of `kind` and called `name` (raw bytes).
fn same_name(
    types: &[u8],
    strings: &[u8],
    offsets: &[u32],
    id: TypeId,
    kind: Kind,
    name: &[u8],
) -> bool {
    let Some(i) = id.checked_sub(1).and_then(|i| usize::try_from(i).ok()) else {
        return false;
    };
    let Some(r) = offsets.get(i).and_then(|&o| record(types, o as usize)) else {
        return false;
    };
    r.kind == kind && cstr(strings, r.name_off) == Some(name)
}

/// Iterator over a struct's or union's members; see [`Btf::members`].
#[derive(Debug, Clone)]
pub struct Members<'a> {
    btf: &'a Btf,
    rest: &'a [u8],
    kind_flag: bool,
}

impl<'a> Iterator for Members<'a> {
    type Item = Member<'a>;
    fn next(&mut self) -> Option<Member<'a>> {
        let (m, rest) = self.rest.split_at_checked(12)?;
        self.rest = rest;
        let (name, field) = self.btf.decode_member(m, self.kind_flag)?;
        Some(Member { name, field })
    }
}

/// Iterator over an enum's `(name, value)` pairs; see [`Btf::enumerators`].
/// A name that is not UTF-8 comes out as `None`.
#[derive(Debug, Clone)]
pub struct Enumerators<'a> {
    btf: &'a Btf,
    rest: &'a [u8],
    step: usize,
    signed: bool,
}

impl<'a> Iterator for Enumerators<'a> {
    type Item = (Option<&'a str>, i64);
    fn next(&mut self) -> Option<Self::Item> {
        let (e, rest) = self.rest.split_at_checked(self.step)?;
        self.rest = rest;
        let name = self.btf.str_at(u32_at(e, 0)?);
        Some((name, enum_value(e, self.step == 12, self.signed)?))
    }
}
