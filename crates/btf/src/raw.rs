//! The on-disk format: header, record geometry, little-endian reads.
//!
//! Facts from the kernel, not code: `include/uapi/linux/btf.h` (struct
//! layouts, `BTF_INFO_*`, `BTF_MEMBER_*`, kind numbers, `BTF_MAX_TYPE`),
//! `kernel/bpf/btf.c` (`BTF_INFO_MASK 0x9f00ffff`, `btf_parse_hdr`: the
//! minimal header is magic/version/flags/hdr_len, sections are relative to
//! the end of `hdr_len` bytes, `type_off` must be 4-aligned;
//! `btf_parse_str_sec`: the string section starts and ends with a nul) and
//! `Documentation/bpf/btf.rst` (per-kind trailing data).

use crate::{Error, Kind, Result};

/// `BTF_MAGIC` in `include/uapi/linux/btf.h`.
pub(crate) const MAGIC: u16 = 0xeb9f;
/// `BTF_VERSION`.
pub(crate) const VERSION: u8 = 1;
/// `sizeof(struct btf_header)`: magic..str_len.
pub(crate) const HEADER_LEN: u32 = 24;
/// `sizeof(struct btf_type)`: name_off, info, size/type.
pub(crate) const TYPE_HEADER_LEN: usize = 12;
/// `BTF_MAX_TYPE`: the kernel refuses more type ids than this.
pub(crate) const MAX_TYPES: u32 = 0x000f_ffff;
/// `BTF_INFO_MASK` in `kernel/bpf/btf.c`: vlen (bits 0-15), kind (24-28),
/// kind_flag (31). Any other bit set means a format we do not know (a
/// proposed extension widens vlen to 24 bits; reading it with a 16-bit vlen
/// would skip records wrongly, so it must be refused, not guessed).
pub(crate) const INFO_MASK: u32 = 0x9f00_ffff;

/// Reads a little-endian u32 at `off`, `None` past the end.
#[inline]
pub(crate) fn u32_at(data: &[u8], off: usize) -> Option<u32> {
    let end = off.checked_add(4)?;
    let b: [u8; 4] = data.get(off..end)?.try_into().ok()?;
    Some(u32::from_le_bytes(b))
}

/// The parsed `struct btf_header`, with section bounds made absolute.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Header {
    /// Absolute start of the type section.
    pub types_start: usize,
    /// Length of the type section.
    pub types_len: usize,
    /// Absolute start of the string section.
    pub strs_start: usize,
    /// Length of the string section.
    pub strs_len: usize,
}

fn field(bytes: &[u8], off: usize) -> Result<u32> {
    u32_at(bytes, off).ok_or(Error::Truncated {
        offset: 0,
        needed: u64::from(HEADER_LEN),
        available: bytes.len() as u64,
        what: "btf header",
    })
}

/// Checks one section `[hdr_len + off, hdr_len + off + len)` against the input.
fn section(
    bytes: &[u8],
    name: &'static str,
    field_offset: u64,
    hdr_len: u32,
    off: u32,
    len: u32,
) -> Result<(usize, usize)> {
    let start = u64::from(hdr_len).saturating_add(u64::from(off));
    let end = start.saturating_add(u64::from(len));
    let input_len = bytes.len() as u64;
    if end > input_len {
        return Err(Error::SectionOutOfRange {
            section: name,
            field_offset,
            start,
            end,
            input_len,
        });
    }
    // Both fit in the input, hence in usize.
    let start = usize::try_from(start).map_err(|_| Error::SectionOutOfRange {
        section: name,
        field_offset,
        start,
        end,
        input_len,
    })?;
    Ok((start, len as usize))
}

/// Parses and checks the header (see `btf_parse_hdr` in `kernel/bpf/btf.c`).
pub(crate) fn header(bytes: &[u8]) -> Result<Header> {
    let min: [u8; 8] = bytes
        .get(..8)
        .and_then(|s| s.try_into().ok())
        .ok_or(Error::Truncated {
            offset: 0,
            needed: 8,
            available: bytes.len() as u64,
            what: "btf header",
        })?;
    let magic = u16::from_le_bytes([min[0], min[1]]);
    if magic != MAGIC {
        if magic.swap_bytes() == MAGIC {
            return Err(Error::BigEndian);
        }
        return Err(Error::BadMagic { found: magic });
    }
    if min[2] != VERSION {
        return Err(Error::UnsupportedVersion { version: min[2] });
    }
    // min[3] is `flags`. Kernels up to now write 0 and refuse anything else;
    // a reader loses nothing by ignoring it, so it is not checked.
    let hdr_len = u32::from_le_bytes([min[4], min[5], min[6], min[7]]);
    if hdr_len < HEADER_LEN {
        return Err(Error::HeaderTooShort { hdr_len });
    }
    if u64::from(hdr_len) > bytes.len() as u64 {
        return Err(Error::Truncated {
            offset: 0,
            needed: u64::from(hdr_len),
            available: bytes.len() as u64,
            what: "btf header",
        });
    }
    // A longer header (a future extension) only adds fields after str_len;
    // the type and string sections are still where these fields say.
    let type_off = field(bytes, 8)?;
    let type_len = field(bytes, 12)?;
    let str_off = field(bytes, 16)?;
    let str_len = field(bytes, 20)?;
    if type_off % 4 != 0 {
        return Err(Error::MisalignedTypeSection { type_off });
    }
    let (types_start, types_len) = section(bytes, "type", 8, hdr_len, type_off, type_len)?;
    let (strs_start, strs_len) = section(bytes, "string", 16, hdr_len, str_off, str_len)?;
    let strs = bytes
        .get(strs_start..)
        .and_then(|s| s.get(..strs_len))
        .unwrap_or_default();
    let what = match (strs.first(), strs.last()) {
        (None, _) => Some("is empty"),
        (Some(&f), _) if f != 0 => Some("does not start with a nul byte"),
        (_, Some(&l)) if l != 0 => Some("does not end with a nul byte"),
        _ => None,
    };
    if let Some(what) = what {
        return Err(Error::BadStringSection {
            offset: strs_start as u64,
            what,
        });
    }
    Ok(Header {
        types_start,
        types_len,
        strs_start,
        strs_len,
    })
}

impl Kind {
    /// The kind for a raw `BTF_KIND_*` number (`include/uapi/linux/btf.h`).
    pub(crate) fn from_raw(k: u32) -> Option<Kind> {
        Some(match k {
            1 => Kind::Int,
            2 => Kind::Ptr,
            3 => Kind::Array,
            4 => Kind::Struct,
            5 => Kind::Union,
            6 => Kind::Enum,
            7 => Kind::Fwd,
            8 => Kind::Typedef,
            9 => Kind::Volatile,
            10 => Kind::Const,
            11 => Kind::Restrict,
            12 => Kind::Func,
            13 => Kind::FuncProto,
            14 => Kind::Var,
            15 => Kind::Datasec,
            16 => Kind::Float,
            17 => Kind::DeclTag,
            18 => Kind::TypeTag,
            19 => Kind::Enum64,
            _ => return None,
        })
    }

    /// Bytes that follow the 12-byte `struct btf_type` for this kind.
    ///
    /// From `include/uapi/linux/btf.h` and `Documentation/bpf/btf.rst`:
    /// INT one u32 (encoding/offset/bits); ARRAY one `btf_array` (12);
    /// STRUCT/UNION `vlen` × `btf_member` (12); ENUM `vlen` × `btf_enum` (8);
    /// FUNC_PROTO `vlen` × `btf_param` (8); VAR one `btf_var` (4); DATASEC
    /// `vlen` × `btf_var_secinfo` (12); DECL_TAG one `btf_decl_tag` (4);
    /// ENUM64 `vlen` × `btf_enum64` (12); every other kind nothing.
    pub(crate) fn trailing_len(self, vlen: u16) -> usize {
        let n = usize::from(vlen);
        // n <= 0xffff, so n * 12 fits any usize >= 32 bits; saturate anyway.
        match self {
            Kind::Int | Kind::Var | Kind::DeclTag => 4,
            Kind::Array => 12,
            Kind::Struct | Kind::Union | Kind::Datasec | Kind::Enum64 => n.saturating_mul(12),
            Kind::Enum | Kind::FuncProto => n.saturating_mul(8),
            Kind::Ptr
            | Kind::Fwd
            | Kind::Typedef
            | Kind::Volatile
            | Kind::Const
            | Kind::Restrict
            | Kind::Func
            | Kind::Float
            | Kind::TypeTag
            | Kind::Void => 0,
        }
    }
}

/// One decoded `struct btf_type` plus its trailing bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Record<'a> {
    pub name_off: u32,
    pub kind: Kind,
    pub vlen: u16,
    pub kind_flag: bool,
    /// `size` or `type`, depending on the kind.
    pub size_or_type: u32,
    pub trailing: &'a [u8],
}

/// Decodes the record at `off` of the type section. Used on records already
/// checked by the parse pass, but returns `None` rather than trusting that.
#[inline]
pub(crate) fn record(types: &[u8], off: usize) -> Option<Record<'_>> {
    let name_off = u32_at(types, off)?;
    let info = u32_at(types, off.checked_add(4)?)?;
    let size_or_type = u32_at(types, off.checked_add(8)?)?;
    let kind = Kind::from_raw((info >> 24) & 0x1f)?;
    let vlen = (info & 0xffff) as u16;
    let start = off.checked_add(TYPE_HEADER_LEN)?;
    let end = start.checked_add(kind.trailing_len(vlen))?;
    Some(Record {
        name_off,
        kind,
        vlen,
        kind_flag: info >> 31 != 0,
        size_or_type,
        trailing: types.get(start..end)?,
    })
}
