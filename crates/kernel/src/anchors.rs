//! The few kernel symbols this crate reads through, found once by name
//! (one pass over kallsyms) and kept with the cached metadata, so opening
//! a cached kernel builds no name index.

use crashview_kallsyms::Kallsyms;

/// The symbols, by name.
pub(crate) const NAMES: [&str; 16] = [
    "_stext",
    "_etext",
    "__start_BTF",
    "__stop_BTF",
    "panic_cpu",
    "nr_cpu_ids",
    "__cpu_present_mask",
    "__per_cpu_offset",
    "runqueues",
    "init_task",
    "modules",
    "__start_orc_unwind_ip",
    "__stop_orc_unwind_ip",
    "__start_orc_unwind",
    "orc_lookup",
    "lookup_num_blocks",
];

/// Addresses that move with KASLR are at or above this.
const KASLR_MOVES: u64 = crashview_vmcore::x86_64::START_KERNEL_MAP;

/// Their addresses in this dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Anchors([Option<u64>; NAMES.len()]);

impl Anchors {
    pub fn resolve(syms: &Kallsyms) -> Anchors {
        let mut a = [None; NAMES.len()];
        for (slot, v) in a.iter_mut().zip(syms.find_all(&NAMES)) {
            *slot = v;
        }
        Anchors(a)
    }

    /// The address of `name` (one of [`NAMES`]).
    pub fn get(&self, name: &str) -> Option<u64> {
        let i = NAMES.iter().position(|n| *n == name)?;
        self.0.get(i).copied().flatten()
    }

    /// 16 bytes each: present flag, address (less `kaslr` if it moves).
    pub fn to_bytes(&self, kaslr: u64) -> Vec<u8> {
        let mut b = Vec::with_capacity(NAMES.len().saturating_mul(16));
        for v in &self.0 {
            let (flag, a) = match v {
                Some(a) if *a >= KASLR_MOVES => (2u64, a.wrapping_sub(kaslr)),
                Some(a) => (1, *a),
                None => (0, 0),
            };
            b.extend_from_slice(&flag.to_le_bytes());
            b.extend_from_slice(&a.to_le_bytes());
        }
        b
    }

    pub fn from_bytes(b: &[u8], kaslr: u64) -> Option<Anchors> {
        if b.len() != NAMES.len().checked_mul(16)? {
            return None;
        }
        let mut a = [None; NAMES.len()];
        for (slot, c) in a.iter_mut().zip(b.chunks_exact(16)) {
            let flag = u64::from_le_bytes(c.get(..8)?.try_into().ok()?);
            let v = u64::from_le_bytes(c.get(8..16)?.try_into().ok()?);
            *slot = match flag {
                0 => None,
                1 => Some(v),
                2 => Some(v.wrapping_add(kaslr)),
                _ => return None,
            };
        }
        Some(Anchors(a))
    }
}
