//! The panic recorder inside a Linux module: the [`Platform`] backed by the
//! C shim (`cvpr_shim.c`), and the C ABI the shim calls. The C shim is the
//! only code touching kernel APIs; everything here goes through it.
#![no_std]
#![deny(clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]

use core::ffi::c_void;

use panic_recorder::list::ListId;
use panic_recorder::plan::Config;
use panic_recorder::platform::Platform;
use panic_recorder::ramoops::layout::Params;
use panic_recorder::raw::{Callback, RawRegion};
use panic_recorder::recorder::{Claim, Recorder, Setup};

static RECORDER: Recorder = Recorder::new();

/// Compression working memory (pstore's `big_oops_buf` plus the match
/// table): enough for records up to 64 KiB.
#[repr(C, align(8))]
struct ScratchMem(core::cell::UnsafeCell<[u8; 160 * 1024]>);
// SAFETY: handed to the recorder once at attach; only the claiming CPU uses it.
unsafe impl Sync for ScratchMem {}
static SCRATCH: ScratchMem = ScratchMem(core::cell::UnsafeCell::new([0; 160 * 1024]));

extern "C" {
    fn cvpr_shim_now_ns() -> u64;
    fn cvpr_shim_wall_time(sec: *mut i64, nsec: *mut u64);
    fn cvpr_shim_cpu_id() -> u32;
    fn cvpr_shim_is_code(addr: usize) -> i32;
    fn cvpr_shim_print(s: *const u8, len: usize);
    fn cvpr_shim_kmsg_tail(buf: *mut u8, len: usize) -> usize;
    fn cvpr_shim_taint() -> u64;
    fn cvpr_shim_bug() -> !;
}

/// The stock kernel around us: `panic()` already stopped the other CPUs and
/// will flush consoles, delay and reboot after the notifier chain returns, so
/// those steps are journaled as left to it.
struct Kernel;

impl Platform for Kernel {
    fn now_ns(&self) -> u64 {
        // SAFETY: plain C call without arguments.
        unsafe { cvpr_shim_now_ns() }
    }
    fn wall_time(&self) -> (i64, u64) {
        let (mut s, mut ns) = (0i64, 0u64);
        // SAFETY: valid out-pointers to locals.
        unsafe { cvpr_shim_wall_time(&mut s, &mut ns) };
        (s, ns)
    }
    fn cpu_id(&self) -> u16 {
        // SAFETY: plain C call.
        (unsafe { cvpr_shim_cpu_id() }) as u16
    }
    fn stop_other_cpus(&self) -> bool {
        false
    }
    fn crash_kexec(&self) {}
    fn console_flush(&self) -> bool {
        false
    }
    fn delay_ms(&self, _ms: u64) -> bool {
        false
    }
    fn reboot(&self) -> bool {
        false
    }
    fn is_code(&self, addr: usize) -> bool {
        // SAFETY: plain C call on an integer.
        unsafe { cvpr_shim_is_code(addr) != 0 }
    }
    fn print(&self, line: &[u8]) {
        // SAFETY: pointer and length of a live slice.
        unsafe { cvpr_shim_print(line.as_ptr(), line.len()) }
    }
    fn kmsg_tail(&self, buf: &mut [u8]) -> usize {
        // SAFETY: pointer and length of a live, writable slice.
        unsafe { cvpr_shim_kmsg_tail(buf.as_mut_ptr(), buf.len()) }
    }
    fn kernel_facts(&self) -> (Option<u64>, u64) {
        // SAFETY: plain C call.
        (None, unsafe { cvpr_shim_taint() })
    }
}

/// Parameters from the module, C layout.
#[repr(C)]
pub struct CvprParams {
    pub region: *mut u8,
    pub region_size: usize,
    pub journal_size: usize,
    pub record_size: u64,
    pub console_size: u64,
    pub ftrace_size: u64,
    pub pmsg_size: u64,
    pub ecc: u32,
    pub ftrace_zones: u32,
    pub version_code: u32,
    pub prefer_crash_dump: i32,
    pub crash_kexec_post_notifiers: i32,
    /// -1 when unset.
    pub panic_notifiers_level: i32,
    pub panic_timeout: i32,
    /// Deflate dumps (pstore's default).
    pub compress: i32,
}

/// Attaches the recorder to the reserved region. Returns 0 or a negative
/// error code (-22 invalid parameters, -16 busy, -28 too small).
///
/// # Safety
/// `p` must point to valid parameters whose region stays mapped while the
/// module is loaded.
#[no_mangle]
pub unsafe extern "C" fn cvpr_attach(p: *const CvprParams) -> i32 {
    // SAFETY: the caller passes a valid pointer.
    let Some(p) = (unsafe { p.as_ref() }) else {
        return -22;
    };
    if p.region_size < p.journal_size {
        return -28;
    }
    let setup = Setup {
        plan: Config {
            prefer_crash_dump: p.prefer_crash_dump != 0,
            crash_kexec_post_notifiers: p.crash_kexec_post_notifiers != 0,
            panic_notifiers_level: u8::try_from(p.panic_notifiers_level).ok(),
            panic_timeout: p.panic_timeout,
        },
        ramoops: Params {
            mem_size: (p.region_size - p.journal_size) as u64,
            record_size: p.record_size,
            console_size: p.console_size,
            ftrace_size: p.ftrace_size,
            pmsg_size: p.pmsg_size,
            ecc: p.ecc,
            ftrace_zones: p.ftrace_zones.max(1),
        },
        journal_len: p.journal_size,
        version_code: p.version_code,
        compress: p.compress != 0,
    };
    // SAFETY: the caller guarantees the region's validity and lifetime.
    let region = unsafe { RawRegion::new(p.region, p.region_size) };
    // SAFETY: a static buffer owned by the recorder from now on.
    let scratch = unsafe { RawRegion::new(SCRATCH.0.get().cast::<u8>(), 160 * 1024) };
    match RECORDER.attach(region, setup, Some(scratch)) {
        Ok(_) => 0,
        Err(panic_recorder::recorder::AttachError::Busy) => -16,
        Err(panic_recorder::recorder::AttachError::RegionTooSmall)
        | Err(panic_recorder::recorder::AttachError::JournalTooSmall) => -28,
        Err(_) => -22,
    }
}

/// Registers `func(ctx)` on list `list` (0 pre-crash-dump, 1 hypervisor,
/// 2 info, 3 pre-reboot, 4 post-reboot). Returns the slot or a negative error.
///
/// # Safety
/// `func` must stay valid while registered; `name` must point to `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn cvpr_register(
    list: u32,
    func: Callback,
    ctx: *mut c_void,
    name: *const u8,
    len: usize,
) -> i32 {
    let Some(id) = u8::try_from(list).ok().and_then(ListId::from_u8) else {
        return -22;
    };
    // SAFETY: the caller passes `len` readable bytes.
    let name = unsafe { core::slice::from_raw_parts(name, len) };
    match RECORDER.list(id).register(func, ctx as usize, name) {
        Ok(slot) => slot as i32,
        Err(_) => -28,
    }
}

/// Unregisters a slot.
#[no_mangle]
pub extern "C" fn cvpr_unregister(list: u32, slot: u32) -> i32 {
    let Some(id) = u8::try_from(list).ok().and_then(ListId::from_u8) else {
        return -22;
    };
    match RECORDER.list(id).unregister(slot as usize) {
        Ok(()) => 0,
        Err(_) => -2,
    }
}

/// Runs the panic path. Returns 0 ran, 1 nested, 2 other CPU, 3 not attached.
///
/// # Safety
/// `msg` must point to `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn cvpr_panic(msg: *const u8, len: usize, crash_kernel_loaded: i32) -> i32 {
    // SAFETY: the caller passes `len` readable bytes.
    let msg = unsafe { core::slice::from_raw_parts(msg, len) };
    match RECORDER.panic(&Kernel, crash_kernel_loaded != 0, msg) {
        Claim::Ran => 0,
        Claim::Nested => 1,
        Claim::OtherCpu => 2,
        Claim::NotAttached => 3,
    }
}

/// Writes the current plan as text into `buf`; returns its length.
///
/// # Safety
/// `buf` must point to `len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn cvpr_plan_text(
    buf: *mut u8,
    len: usize,
    crash_kernel_loaded: i32,
) -> usize {
    struct W<'a> {
        buf: &'a mut [u8],
        n: usize,
    }
    impl core::fmt::Write for W<'_> {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            for &b in s.as_bytes() {
                if let Some(slot) = self.buf.get_mut(self.n) {
                    *slot = b;
                    self.n += 1;
                }
            }
            Ok(())
        }
    }
    // SAFETY: the caller passes `len` writable bytes.
    let buf = unsafe { core::slice::from_raw_parts_mut(buf, len) };
    let mut w = W { buf, n: 0 };
    if let Some(plan) = RECORDER.current_plan(crash_kernel_loaded != 0) {
        let _ = plan.write_text(&mut w);
    }
    w.n
}

/// Self-test only: flips a bit in a registered slot's stored function
/// pointer, so the panic path must skip it.
#[no_mangle]
pub extern "C" fn cvpr_selftest_corrupt(list: u32, slot: u32) -> i32 {
    let Some(id) = u8::try_from(list).ok().and_then(ListId::from_u8) else {
        return -22;
    };
    let Some(ptr) = RECORDER.list(id).slot_data_ptr(slot as usize) else {
        return -22;
    };
    // SAFETY: the slot data is plain bytes inside the static table; a
    // deliberate corruption is exactly what this self-test is for.
    unsafe { core::ptr::write_volatile(ptr, core::ptr::read_volatile(ptr) ^ 0x40) };
    0
}

#[panic_handler]
fn on_panic(_: &core::panic::PanicInfo<'_>) -> ! {
    // SAFETY: BUG() never returns.
    unsafe { cvpr_shim_bug() }
}
