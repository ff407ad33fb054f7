//! Phase lists: bounded static tables of callbacks, registered before a
//! panic and called during one. Each slot and each table carries a check
//! value, so memory corruption makes an entry (or a whole table) skipped and
//! journaled instead of called.
//!
//! Slot life cycle: `FREE -> BUSY` (compare-exchange: the registering context
//! owns the slot) `-> LIVE` (published with release ordering) and back.
//! The panicking CPU only reads `LIVE` slots, so no lock is ever taken.

use core::sync::atomic::{AtomicU64, AtomicU8, Ordering};

use crate::raw::{Callback, ClaimCell};

/// Slots per list.
pub const LIST_SLOTS: usize = 16;
/// Bytes of a slot's name.
pub const NAME_LEN: usize = 32;

const FREE: u8 = 0;
const BUSY: u8 = 1;
const LIVE: u8 = 2;
const TABLE_MAGIC: u64 = 0x5052_4c49_5354_3031; // "PRLIST01"
const MASK_KEY: u32 = 0x9e37_79b9;

/// Which list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ListId {
    /// The small fixed set that must precede a crash dump.
    PreCrashDump = 0,
    /// Hypervisor / firmware.
    Hypervisor = 1,
    /// Informational.
    Info = 2,
    /// Pre-reboot.
    PreReboot = 3,
    /// Post-reboot.
    PostReboot = 4,
}

impl ListId {
    /// From its number.
    pub fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            0 => ListId::PreCrashDump,
            1 => ListId::Hypervisor,
            2 => ListId::Info,
            3 => ListId::PreReboot,
            4 => ListId::PostReboot,
            _ => return None,
        })
    }
}

/// Why a registration failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListError {
    /// All slots taken.
    Full,
    /// No such registration.
    NotFound,
    /// The table itself failed its check.
    Corrupted,
}

#[derive(Clone, Copy)]
struct SlotData {
    func: usize,
    ctx: usize,
    name: [u8; NAME_LEN],
    check: u64,
}

const EMPTY: SlotData = SlotData {
    func: 0,
    ctx: 0,
    name: [0; NAME_LEN],
    check: 0,
};

struct Slot {
    state: AtomicU8,
    data: ClaimCell<SlotData>,
}

/// A phase list.
pub struct PhaseList {
    id: ListId,
    magic: AtomicU64,
    /// Live-slot bitmap (low 32 bits) and its check (high 32 bits).
    mask: AtomicU64,
    slots: [Slot; LIST_SLOTS],
}

impl core::fmt::Debug for PhaseList {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PhaseList")
            .field("id", &self.id)
            .field("live", &self.live_mask())
            .finish()
    }
}

const fn pack(mask: u32) -> u64 {
    mask as u64 | (((mask ^ MASK_KEY) as u64) << 32)
}

/// FNV-1a over the slot's identity and contents: catches flipped bits in
/// any field, and a slot copied to another index.
fn slot_check(list: ListId, index: usize, d: &SlotData) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    eat(&[list as u8, index as u8]);
    eat(&d.func.to_le_bytes());
    eat(&d.ctx.to_le_bytes());
    eat(&d.name);
    h
}

/// What a panic-time walk found in one slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visit<'a> {
    /// A valid entry: call it.
    Call {
        /// Slot index.
        slot: usize,
        /// Function address (a [`Callback`]).
        func: usize,
        /// Its context.
        ctx: usize,
        /// Its name.
        name: &'a [u8],
    },
    /// An entry failed its check or points outside code: skip it.
    Corrupt {
        /// Slot index.
        slot: usize,
    },
}

impl PhaseList {
    /// An empty list.
    pub const fn new(id: ListId) -> Self {
        PhaseList {
            id,
            magic: AtomicU64::new(TABLE_MAGIC ^ id as u64),
            mask: AtomicU64::new(pack(0)),
            slots: [const {
                Slot {
                    state: AtomicU8::new(FREE),
                    data: ClaimCell::new(EMPTY),
                }
            }; LIST_SLOTS],
        }
    }

    /// Which list this is.
    pub fn id(&self) -> ListId {
        self.id
    }

    fn live_mask(&self) -> Option<u32> {
        let m = self.mask.load(Ordering::Acquire);
        let mask = m as u32;
        ((m >> 32) as u32 == mask ^ MASK_KEY).then_some(mask)
    }

    /// The table header is intact.
    pub fn table_ok(&self) -> bool {
        self.magic.load(Ordering::Acquire) == TABLE_MAGIC ^ self.id as u64
            && self.live_mask().is_some()
    }

    fn update_mask(&self, set: Option<usize>, clear: Option<usize>) -> Result<(), ListError> {
        // Bounded retry: registrations race only with each other.
        for _ in 0..1024 {
            let cur = self.mask.load(Ordering::Acquire);
            let mask = cur as u32;
            if (cur >> 32) as u32 != mask ^ MASK_KEY {
                return Err(ListError::Corrupted);
            }
            let mut m = mask;
            if let Some(i) = set {
                m |= 1 << i;
            }
            if let Some(i) = clear {
                m &= !(1 << i);
            }
            if self
                .mask
                .compare_exchange(cur, pack(m), Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                return Ok(());
            }
        }
        Err(ListError::Corrupted)
    }

    /// Registers `func(ctx)` under `name`; returns the slot.
    pub fn register(&self, func: Callback, ctx: usize, name: &[u8]) -> Result<usize, ListError> {
        if !self.table_ok() {
            return Err(ListError::Corrupted);
        }
        for (i, slot) in self.slots.iter().enumerate() {
            if slot
                .state
                .compare_exchange(FREE, BUSY, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
            {
                continue;
            }
            let mut d = SlotData {
                func: func as usize,
                ctx,
                name: [0; NAME_LEN],
                check: 0,
            };
            let n = name.len().min(NAME_LEN);
            if let (Some(dst), Some(src)) = (d.name.get_mut(..n), name.get(..n)) {
                dst.copy_from_slice(src);
            }
            d.check = slot_check(self.id, i, &d);
            // SAFETY: the slot is BUSY and owned by this call.
            unsafe { slot.data.set(d) };
            slot.state.store(LIVE, Ordering::Release);
            if let Err(e) = self.update_mask(Some(i), None) {
                slot.state.store(FREE, Ordering::Release);
                return Err(e);
            }
            return Ok(i);
        }
        Err(ListError::Full)
    }

    /// Removes the registration in `slot`.
    pub fn unregister(&self, slot: usize) -> Result<(), ListError> {
        let s = self.slots.get(slot).ok_or(ListError::NotFound)?;
        if s.state
            .compare_exchange(LIVE, BUSY, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return Err(ListError::NotFound);
        }
        let r = self.update_mask(None, Some(slot));
        // SAFETY: BUSY: owned by this call.
        unsafe { s.data.set(EMPTY) };
        s.state.store(FREE, Ordering::Release);
        r
    }

    /// Number of live entries.
    pub fn len(&self) -> usize {
        self.live_mask().map_or(0, |m| m.count_ones() as usize)
    }

    /// No live entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Visits slot `index` at panic time: `None` when empty, otherwise the
    /// entry to call or the finding that it is corrupt. `is_code` is the
    /// platform's "may we jump there" test.
    pub fn visit(&self, index: usize, is_code: &dyn Fn(usize) -> bool) -> Option<Visit<'_>> {
        let slot = self.slots.get(index)?;
        let in_mask = self.live_mask().is_some_and(|m| m & (1 << index) != 0);
        let live = slot.state.load(Ordering::Acquire) == LIVE;
        if !live && !in_mask {
            return None;
        }
        if live != in_mask {
            return Some(Visit::Corrupt { slot: index });
        }
        // SAFETY: LIVE slots are not written until unregistered, and the
        // panic path runs after registration is over.
        let d = unsafe { &*slot.data.as_ptr() };
        if d.check != slot_check(self.id, index, d) || d.func == 0 || !is_code(d.func) {
            return Some(Visit::Corrupt { slot: index });
        }
        let end = d.name.iter().position(|&b| b == 0).unwrap_or(NAME_LEN);
        Some(Visit::Call {
            slot: index,
            func: d.func,
            ctx: d.ctx,
            name: d.name.get(..end).unwrap_or(&[]),
        })
    }

    /// For tests and the module's self-test: the raw bytes of a slot's data,
    /// to corrupt on purpose.
    #[doc(hidden)]
    pub fn slot_data_ptr(&self, index: usize) -> Option<*mut u8> {
        self.slots.get(index).map(|s| s.data.as_ptr().cast::<u8>())
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;

    unsafe extern "C" fn f(_: *mut core::ffi::c_void) {}
    unsafe extern "C" fn g(_: *mut core::ffi::c_void) {}
    fn any_code(_: usize) -> bool {
        true
    }

    fn calls(l: &PhaseList) -> std::vec::Vec<(usize, std::vec::Vec<u8>)> {
        (0..LIST_SLOTS)
            .filter_map(|i| match l.visit(i, &any_code) {
                Some(Visit::Call { slot, name, .. }) => Some((slot, name.to_vec())),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn register_fill_unregister() {
        let l = PhaseList::new(ListId::Info);
        for i in 0..LIST_SLOTS {
            assert_eq!(l.register(f, i, b"entry"), Ok(i));
        }
        assert_eq!(l.register(f, 0, b"one too many"), Err(ListError::Full));
        assert_eq!(l.len(), LIST_SLOTS);
        l.unregister(3).unwrap();
        assert_eq!(l.unregister(3), Err(ListError::NotFound));
        assert_eq!(l.register(g, 7, b"reused"), Ok(3));
        assert_eq!(calls(&l).len(), LIST_SLOTS);
        assert_eq!(calls(&l)[3].1, b"reused");
    }

    #[test]
    fn names_are_truncated_not_overflowed() {
        let l = PhaseList::new(ListId::Hypervisor);
        l.register(f, 0, &[b'x'; 100]).unwrap();
        assert_eq!(calls(&l)[0].1.len(), NAME_LEN);
    }

    #[test]
    fn a_function_outside_code_is_not_called() {
        let l = PhaseList::new(ListId::PreReboot);
        l.register(f, 0, b"a").unwrap();
        assert_eq!(l.visit(0, &|_| false), Some(Visit::Corrupt { slot: 0 }));
    }

    #[test]
    fn a_damaged_table_mask_refuses_registration_and_flags_slots() {
        let l = PhaseList::new(ListId::Info);
        l.register(f, 0, b"a").unwrap();
        l.mask.fetch_xor(1 << 5, Ordering::SeqCst); // claims slot 5 is live
        assert!(!l.table_ok());
        assert_eq!(l.register(f, 0, b"b"), Err(ListError::Corrupted));
        l.magic.store(0, Ordering::SeqCst);
        assert!(!l.table_ok());
    }

    /// Flip any bit of a live slot's stored data: the entry must never come
    /// back as callable with different contents.
    #[test]
    fn every_single_bit_flip_is_caught() {
        let size = core::mem::size_of::<SlotData>();
        for byte in 0..size {
            for bit in 0..8 {
                let l = PhaseList::new(ListId::PostReboot);
                l.register(f, 0x1234, b"victim").unwrap();
                let p = l.slot_data_ptr(0).unwrap();
                // SAFETY: inside the slot's data; deliberate corruption.
                unsafe { *p.add(byte) ^= 1 << bit };
                match l.visit(0, &any_code) {
                    Some(Visit::Corrupt { slot: 0 }) => {}
                    other => panic!("flip at byte {byte} bit {bit} not caught: {other:?}"),
                }
            }
        }
    }
}
