//! A small BTF writer for tests: builds blobs type by type, so each test
//! states exactly which records it contains.
#![allow(dead_code)]

/// Raw kind numbers (`include/uapi/linux/btf.h`).
pub mod k {
    pub const INT: u32 = 1;
    pub const PTR: u32 = 2;
    pub const ARRAY: u32 = 3;
    pub const STRUCT: u32 = 4;
    pub const UNION: u32 = 5;
    pub const ENUM: u32 = 6;
    pub const FWD: u32 = 7;
    pub const TYPEDEF: u32 = 8;
    pub const VOLATILE: u32 = 9;
    pub const CONST: u32 = 10;
    pub const RESTRICT: u32 = 11;
    pub const FUNC: u32 = 12;
    pub const FUNC_PROTO: u32 = 13;
    pub const VAR: u32 = 14;
    pub const DATASEC: u32 = 15;
    pub const FLOAT: u32 = 16;
    pub const DECL_TAG: u32 = 17;
    pub const TYPE_TAG: u32 = 18;
    pub const ENUM64: u32 = 19;
}

#[derive(Default, Clone)]
pub struct Builder {
    pub types: Vec<u8>,
    pub strs: Vec<u8>,
    pub count: u32,
}

impl Builder {
    pub fn new() -> Builder {
        Builder {
            types: Vec::new(),
            strs: vec![0],
            count: 0,
        }
    }

    /// Adds a string, returning its offset (0 for "").
    pub fn s(&mut self, name: &str) -> u32 {
        if name.is_empty() {
            return 0;
        }
        let off = self.strs.len() as u32;
        self.strs.extend_from_slice(name.as_bytes());
        self.strs.push(0);
        off
    }

    /// Appends one record: `struct btf_type` then the trailing u32 words.
    pub fn raw(
        &mut self,
        name: &str,
        kind: u32,
        kflag: bool,
        vlen: u32,
        size_or_type: u32,
        trailing: &[u32],
    ) -> u32 {
        let name_off = self.s(name);
        let info = (u32::from(kflag) << 31) | (kind << 24) | vlen;
        self.words(&[name_off, info, size_or_type]);
        self.words(trailing);
        self.count += 1;
        self.count
    }

    pub fn words(&mut self, w: &[u32]) {
        for x in w {
            self.types.extend_from_slice(&x.to_le_bytes());
        }
    }

    pub fn int(&mut self, name: &str, size: u32, bits: u32, signed: bool) -> u32 {
        self.int_at(name, size, bits, 0, signed)
    }

    /// An INT with a BTF_INT_OFFSET (old-style bitfields).
    pub fn int_at(&mut self, name: &str, size: u32, bits: u32, offset: u32, signed: bool) -> u32 {
        let enc = (u32::from(signed) << 24) | (offset << 16) | bits;
        self.raw(name, k::INT, false, 0, size, &[enc])
    }

    pub fn refer(&mut self, kind: u32, name: &str, ty: u32) -> u32 {
        self.raw(name, kind, false, 0, ty, &[])
    }

    pub fn array(&mut self, elem: u32, index: u32, n: u32) -> u32 {
        self.raw("", k::ARRAY, false, 0, 0, &[elem, index, n])
    }

    /// A struct or union; members are (name, type, bit offset, bitfield size).
    /// With `kflag` the size is packed into the offset word.
    pub fn composite(
        &mut self,
        kind: u32,
        name: &str,
        size: u32,
        kflag: bool,
        members: &[(&str, u32, u32, u32)],
    ) -> u32 {
        let mut w = Vec::new();
        for &(n, ty, off, bits) in members {
            let off = if kflag { (bits << 24) | off } else { off };
            w.extend_from_slice(&[self.s(n), ty, off]);
        }
        self.raw(name, kind, kflag, members.len() as u32, size, &w)
    }

    pub fn strukt(&mut self, name: &str, size: u32, members: &[(&str, u32, u32, u32)]) -> u32 {
        self.composite(k::STRUCT, name, size, true, members)
    }

    pub fn enum32(&mut self, name: &str, signed: bool, values: &[(&str, i32)]) -> u32 {
        let mut w = Vec::new();
        for &(n, v) in values {
            w.extend_from_slice(&[self.s(n), v as u32]);
        }
        self.raw(name, k::ENUM, signed, values.len() as u32, 4, &w)
    }

    pub fn enum64(&mut self, name: &str, signed: bool, values: &[(&str, u64)]) -> u32 {
        let mut w = Vec::new();
        for &(n, v) in values {
            w.extend_from_slice(&[self.s(n), v as u32, (v >> 32) as u32]);
        }
        self.raw(name, k::ENUM64, signed, values.len() as u32, 8, &w)
    }

    /// The blob: a 24-byte header, the type section, the string section.
    pub fn finish(&self) -> Vec<u8> {
        blob(&self.types, &self.strs)
    }
}

/// A blob with a standard header around the given sections.
pub fn blob(types: &[u8], strs: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&0xeb9fu16.to_le_bytes());
    b.push(1); // version
    b.push(0); // flags
    for w in [
        24u32,
        0,
        types.len() as u32,
        types.len() as u32,
        strs.len() as u32,
    ] {
        b.extend_from_slice(&w.to_le_bytes());
    }
    b.extend_from_slice(types);
    b.extend_from_slice(strs);
    b
}

/// Overwrites the u32 at `off`.
pub fn put_u32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

/// The machine's own kernel BTF, if it has one.
pub fn sys_vmlinux() -> Option<Vec<u8>> {
    match std::fs::read("/sys/kernel/btf/vmlinux") {
        Ok(b) => Some(b),
        Err(e) => {
            eprintln!("skipped: cannot read /sys/kernel/btf/vmlinux: {e}");
            None
        }
    }
}
