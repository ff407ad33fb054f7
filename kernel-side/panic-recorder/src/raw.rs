//! Every `unsafe` of the crate lives here: the region pointer handed over by
//! the kernel, the list slots shared between registration and the panicking
//! CPU, and calling a registered callback.

use core::cell::UnsafeCell;
use core::ffi::c_void;

/// A callback in a phase list: C ABI, one context pointer.
pub type Callback = unsafe extern "C" fn(ctx: *mut c_void);

/// Memory the kernel reserved for us (ioremapped/memremapped), as a pointer
/// and a length.
#[derive(Debug, Clone, Copy)]
pub struct RawRegion {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the region is plain memory; the recorder's single-CPU claim is what
// serialises writers, and readers before a panic only read.
unsafe impl Send for RawRegion {}
// SAFETY: as above.
unsafe impl Sync for RawRegion {}

impl RawRegion {
    /// Wraps `len` bytes at `ptr`.
    ///
    /// # Safety
    /// `ptr` must be valid for reads and writes of `len` bytes for as long as
    /// the recorder uses it, and nothing else may write it meanwhile except
    /// through this recorder.
    pub const unsafe fn new(ptr: *mut u8, len: usize) -> Self {
        RawRegion { ptr, len }
    }

    /// Its length.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Zero length.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes `[at, at + len)`, or `None` when out of range.
    ///
    /// # Safety
    /// The caller must hold the recorder's claim (or be initialising it), so
    /// that no other reference to these bytes is live.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn slice_mut(&self, at: usize, len: usize) -> Option<&mut [u8]> {
        if self.ptr.is_null() || at.checked_add(len)? > self.len {
            return None;
        }
        // SAFETY: in range of the region the constructor's contract covers;
        // exclusivity is the caller's contract.
        Some(unsafe { core::slice::from_raw_parts_mut(self.ptr.add(at), len) })
    }
}

impl RawRegion {
    /// `len` `u32`s at byte offset `at`, or `None` when out of range or
    /// misaligned.
    ///
    /// # Safety
    /// As [`slice_mut`](Self::slice_mut).
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn words_mut(&self, at: usize, len: usize) -> Option<&mut [u32]> {
        let bytes = len.checked_mul(4)?;
        if self.ptr.is_null() || at.checked_add(bytes)? > self.len {
            return None;
        }
        // SAFETY: in range per the constructor's contract.
        let p = unsafe { self.ptr.add(at) };
        if p.align_offset(core::mem::align_of::<u32>()) != 0 {
            return None;
        }
        // SAFETY: in range, aligned, exclusive per the caller's contract;
        // any bit pattern is a valid u32.
        Some(unsafe { core::slice::from_raw_parts_mut(p.cast::<u32>(), len) })
    }
}

/// Interior-mutable storage written only while its owner holds a claim
/// (a list slot being registered, or recorder state during init).
pub struct ClaimCell<T>(UnsafeCell<T>);

// SAFETY: access is serialised by the atomic state machines around each cell
// (slot state, recorder claim); see their users.
unsafe impl<T: Send> Sync for ClaimCell<T> {}

impl<T: Copy> ClaimCell<T> {
    /// A cell holding `v`.
    pub const fn new(v: T) -> Self {
        ClaimCell(UnsafeCell::new(v))
    }

    /// Reads the value.
    ///
    /// # Safety
    /// No write may be in progress (the owner's state says "published").
    pub unsafe fn get(&self) -> T {
        // SAFETY: no concurrent writer per the contract.
        unsafe { core::ptr::read_volatile(self.0.get()) }
    }

    /// Writes the value.
    ///
    /// # Safety
    /// The caller must hold the claim that makes it the only accessor.
    pub unsafe fn set(&self, v: T) {
        // SAFETY: exclusive per the contract.
        unsafe { core::ptr::write_volatile(self.0.get(), v) }
    }

    /// A raw pointer to the value (for tests that corrupt memory on purpose).
    pub fn as_ptr(&self) -> *mut T {
        self.0.get()
    }
}

/// Calls a callback whose address passed the slot's check value and the
/// platform's "is this code" test.
///
/// # Safety
/// `addr` must be the address of a function of type [`Callback`].
pub unsafe fn call(addr: usize, ctx: usize) {
    // SAFETY: the caller vouches that `addr` is a `Callback`.
    let f: Callback = unsafe { core::mem::transmute::<usize, Callback>(addr) };
    // SAFETY: calling the registered function with its registered context.
    unsafe { f(ctx as *mut c_void) }
}
