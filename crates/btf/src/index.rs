//! A name index that allocates nothing per entry.
//!
//! Keys are 32-bit hashes of `(tag, name bytes)`; values are small `Copy`
//! handles into the BTF (a type id, an enumerator position). The map never
//! stores a string: a lookup hashes the query, takes the handle and confirms
//! the match against the string section. Different names with the same key
//! are not lost: the later one goes to an overflow list that lookups scan in
//! insertion order, so the first-inserted (lowest id) match always wins.
//!
//! The hash is a folded 64×64→128-bit multiply over 8-byte words with seeds
//! drawn from std's `RandomState`, so a crafted blob cannot aim collisions at
//! the overflow list. It reads names straight out of the string section a
//! word at a time, finding the terminating nul with the usual has-zero-byte
//! bit trick, which makes hashing cheaper than a byte-wise `strlen` alone.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};

/// Spreads a 32-bit key over the u64 hashbrown wants (it filters on the top
/// 7 bits and picks buckets with the low ones).
#[derive(Default)]
pub(crate) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u32` is used for u32 keys; this keeps the trait total.
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

#[inline]
fn fold(a: u64, b: u64) -> u64 {
    let p = u128::from(a).wrapping_mul(u128::from(b));
    (p as u64) ^ ((p >> 64) as u64)
}

/// Hashing seeds (random per index).
#[derive(Debug, Clone, Copy)]
struct Seeds([u64; 3]);

impl Seeds {
    fn new() -> Seeds {
        let s = RandomState::new();
        let mut out = [0u64; 3];
        for (i, o) in (0u64..).zip(out.iter_mut()) {
            // Odd multipliers keep `fold` from collapsing.
            *o = s.hash_one(i) | 1;
        }
        Seeds(out)
    }

    #[inline]
    fn start(self, tag: u8) -> u64 {
        self.0[0] ^ u64::from(tag)
    }

    #[inline]
    fn word(self, h: u64, w: u64) -> u64 {
        fold(h ^ w, self.0[1])
    }

    #[inline]
    fn finish(self, h: u64, len: usize) -> u32 {
        (fold(h ^ len as u64, self.0[2]) >> 32) as u32
    }

    /// Hash of `name`, in 8-byte little-endian words, the last zero-padded.
    fn bytes(self, tag: u8, name: &[u8]) -> u32 {
        let mut h = self.start(tag);
        let mut words = name.chunks_exact(8);
        for c in &mut words {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            h = self.word(h, u64::from_le_bytes(w));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            for (d, s) in w.iter_mut().zip(rest) {
                *d = *s;
            }
            h = self.word(h, u64::from_le_bytes(w));
        }
        self.finish(h, name.len())
    }

    /// Same hash as [`Seeds::bytes`] of the nul-terminated string at `off`
    /// in `strings`, and its length; `None` if there is no nul after `off`.
    fn cstr(self, tag: u8, strings: &[u8], off: usize) -> Option<(u32, usize)> {
        let mut h = self.start(tag);
        let mut at = off;
        let mut len = 0usize;
        loop {
            let end = at.checked_add(8)?;
            let Some(chunk) = strings.get(at..end) else {
                // Fewer than 8 bytes left: finish byte by byte.
                let tail = strings.get(at..)?;
                let n = tail.iter().position(|&b| b == 0)?;
                let mut w = [0u8; 8];
                for (d, s) in w.iter_mut().zip(tail.iter().take(n)) {
                    *d = *s;
                }
                if n > 0 {
                    h = self.word(h, u64::from_le_bytes(w));
                }
                return Some((self.finish(h, len.checked_add(n)?), len.checked_add(n)?));
            };
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            let w = u64::from_le_bytes(b);
            let zeros = w.wrapping_sub(LO) & !w & HI;
            if zeros != 0 {
                // Bytes before the first nul, as a count.
                let n = (zeros.trailing_zeros() / 8) as usize;
                if n > 0 {
                    let keep = u64::MAX >> (64u32.saturating_sub(8u32.saturating_mul(n as u32)));
                    h = self.word(h, w & keep);
                }
                let total = len.checked_add(n)?;
                return Some((self.finish(h, total), total));
            }
            h = self.word(h, w);
            len = len.checked_add(8)?;
            at = end;
        }
    }
}

/// See the module documentation.
pub(crate) struct Index<V> {
    seeds: Seeds,
    map: HashMap<u32, V, BuildHasherDefault<KeyHasher>>,
    overflow: Vec<V>,
}

impl<V: Copy> Index<V> {
    pub(crate) fn with_capacity(n: usize) -> Self {
        Index {
            seeds: Seeds::new(),
            map: HashMap::with_capacity_and_hasher(n, BuildHasherDefault::default()),
            overflow: Vec::new(),
        }
    }

    /// The key of `(tag, name)`.
    #[inline]
    pub(crate) fn key(&self, tag: u8, name: &[u8]) -> u32 {
        self.seeds.bytes(tag, name)
    }

    /// The key of `(tag, the nul-terminated string at off)`, and the
    /// string's length.
    #[inline]
    pub(crate) fn key_cstr(&self, tag: u8, strings: &[u8], off: usize) -> Option<(u32, usize)> {
        self.seeds.cstr(tag, strings, off)
    }

    /// Adds `v` under `key` unless the entry already there answers the same
    /// name (`same(existing)`): the first one inserted wins. A different name
    /// under the same key goes to the overflow list.
    pub(crate) fn insert(&mut self, key: u32, v: V, same: impl Fn(V) -> bool) {
        match self.map.entry(key) {
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(v);
            }
            std::collections::hash_map::Entry::Occupied(e) => {
                // Overflow entries keep insertion order, so `get` finds the
                // first of any duplicates there; no need to deduplicate.
                if !same(*e.get()) {
                    self.overflow.push(v);
                }
            }
        }
    }

    /// The first entry under `key` for which `is(v)` holds.
    pub(crate) fn get(&self, key: u32, is: impl Fn(V) -> bool) -> Option<V> {
        let v = *self.map.get(&key)?;
        if is(v) {
            return Some(v);
        }
        self.overflow.iter().copied().find(|&o| is(o))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cstr_hash_matches_bytes_hash() {
        let seeds = Seeds::new();
        let names: [&[u8]; 7] = [
            b"",
            b"a",
            b"task_struct",
            b"01234567",
            b"0123456789abcdef",
            b"0123456789abcdefg",
            b"inactive_task_frame",
        ];
        for name in names {
            // At every alignment, and with the nul in the last 8 bytes of
            // the section (the byte-wise tail path).
            for pad in 0..9 {
                let mut strings = vec![b'x'; pad];
                strings.extend_from_slice(name);
                strings.push(0);
                let got = seeds.cstr(3, &strings, pad);
                assert_eq!(got, Some((seeds.bytes(3, name), name.len())), "{name:?}");
                strings.extend_from_slice(b"trailing\0");
                let got = seeds.cstr(3, &strings, pad);
                assert_eq!(got, Some((seeds.bytes(3, name), name.len())), "{name:?}");
            }
        }
        assert_eq!(seeds.cstr(0, b"abc", 0), None);
        assert_ne!(seeds.bytes(1, b"rq"), seeds.bytes(2, b"rq"));
    }

    #[test]
    fn colliding_keys_keep_first_of_each_name() {
        let mut idx: Index<u32> = Index::with_capacity(4);
        let names = ["a", "b", "a", "b", "c"];
        let same = |v: u32, n: &str| names.get(v as usize) == Some(&n);
        for (i, n) in names.iter().enumerate() {
            // Force every name under one key.
            idx.insert(7, i as u32, |v| same(v, n));
        }
        assert_eq!(idx.get(7, |v| same(v, "a")), Some(0));
        assert_eq!(idx.get(7, |v| same(v, "b")), Some(1));
        assert_eq!(idx.get(7, |v| same(v, "c")), Some(4));
        assert_eq!(idx.get(7, |v| same(v, "d")), None);
        assert_eq!(idx.get(8, |v| same(v, "a")), None);
    }
}
