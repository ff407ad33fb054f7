//! The panic recorder inside Linux: the [`Platform`] backed by a C shim,
//! and the C ABI the shim calls. One object serves both ways in: the module
//! (`cvpr_shim.c`: the recorder observes the stock `panic()`, and the shim's
//! step functions are never asked to act) and the patched kernel
//! (`kernel/panic_recorder.c`: `panic()` hands its path over and every step
//! is run through the shim for real). The C shim is the only code touching
//! kernel APIs; everything here goes through it.
#![no_std]
#![deny(clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]

use core::ffi::c_void;

use panic_recorder::backend::{DmesgRecord, StoredRecord, WriteError, ZoneInit};
use panic_recorder::journal::StepKind;
use panic_recorder::list::ListId;
use panic_recorder::plan::Config;
use panic_recorder::platform::{ChainEntry, Platform};
use panic_recorder::ramoops::dmesg::Reason;
use panic_recorder::ramoops::fmt::ByteWriter;
use panic_recorder::ramoops::layout::{Params, ZoneKind};
use panic_recorder::raw::{Callback, RawRegion};
use panic_recorder::recorder::{AttachError, Claim, Recorder, Setup};

static RECORDER: Recorder = Recorder::new();

extern "C" {
    fn cvpr_shim_now_ns() -> u64;
    fn cvpr_shim_wall_time(sec: *mut i64, nsec: *mut u64);
    fn cvpr_shim_cpu_id() -> u32;
    fn cvpr_shim_is_code(addr: usize) -> i32;
    fn cvpr_shim_print(s: *const u8, len: usize);
    fn cvpr_shim_taint() -> u64;
    fn cvpr_shim_wmb();
    fn cvpr_shim_stop_cpus() -> i32;
    fn cvpr_shim_crash_kexec();
    fn cvpr_shim_console_flush() -> i32;
    fn cvpr_shim_delay(ms: u64) -> i32;
    fn cvpr_shim_reboot() -> i32;
    fn cvpr_shim_kmsg_dump() -> i32;
    fn cvpr_shim_kaslr_offset() -> u64;
    fn cvpr_shim_notifier_next(cursor: usize, out: *mut CvprChainEntry) -> i32;
    fn cvpr_shim_notifier_call(block: usize);
    /// BUG(): never returns. Declared returning so that code follows the
    /// call, which objtool (that cannot know it is noreturn) requires.
    fn cvpr_shim_bug();
}

/// The kernel around us. In the module, the stock `panic()` stops the
/// other CPUs, walks its notifier chain, runs the kmsg dumpers, kexecs,
/// flushes consoles, delays and reboots; the plan ([`Setup::stock_panic`])
/// marks those steps as the kernel's, so the step methods are never asked
/// (the module's shim answers "not done here" all the same). In the patched
/// kernel they do each step.
struct Kernel;

/// One `panic_notifier_list` entry as the shim found it, C layout of
/// `struct cvpr_chain_entry`: `kind` 1 callable, 2 corrupt but the chain
/// goes on, 3 corrupt and the chain ends; `name` the callback's symbol or
/// what failed.
#[repr(C)]
pub struct CvprChainEntry {
    kind: u32,
    next: usize,
    block: usize,
    name: [u8; 32],
}

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
        // SAFETY: plain C call.
        unsafe { cvpr_shim_stop_cpus() != 0 }
    }
    fn crash_kexec(&self) {
        // SAFETY: plain C call; returns only when no capture kernel started.
        unsafe { cvpr_shim_crash_kexec() }
    }
    fn console_flush(&self) -> bool {
        // SAFETY: plain C call.
        unsafe { cvpr_shim_console_flush() != 0 }
    }
    fn delay_ms(&self, ms: u64) -> bool {
        // SAFETY: plain C call on an integer.
        unsafe { cvpr_shim_delay(ms) != 0 }
    }
    fn reboot(&self) -> bool {
        // SAFETY: plain C call.
        unsafe { cvpr_shim_reboot() != 0 }
    }
    fn notifier_next(&self, cursor: usize) -> Option<(ChainEntry, usize)> {
        let mut e = CvprChainEntry {
            kind: 0,
            next: 0,
            block: 0,
            name: [0; 32],
        };
        // SAFETY: a valid out-pointer to a local.
        if unsafe { cvpr_shim_notifier_next(cursor, &mut e) } == 0 {
            return None;
        }
        let entry = match e.kind {
            1 => ChainEntry::Call {
                block: e.block,
                name: e.name,
            },
            k => ChainEntry::Corrupt {
                why: e.name,
                resumable: k == 2,
            },
        };
        Some((entry, e.next))
    }
    fn notifier_call(&self, block: usize) {
        // SAFETY: `block` is what cvpr_shim_notifier_next returned as callable.
        unsafe { cvpr_shim_notifier_call(block) }
    }
    fn is_code(&self, addr: usize) -> bool {
        // SAFETY: plain C call on an integer.
        unsafe { cvpr_shim_is_code(addr) != 0 }
    }
    fn print(&self, line: &[u8]) {
        // SAFETY: pointer and length of a live slice.
        unsafe { cvpr_shim_print(line.as_ptr(), line.len()) }
    }
    fn kmsg_dump(&self) -> bool {
        // SAFETY: plain C call.
        unsafe { cvpr_shim_kmsg_dump() != 0 }
    }
    fn write_barrier(&self) {
        // SAFETY: plain C call (wmb()).
        unsafe { cvpr_shim_wmb() }
    }
    fn kernel_facts(&self) -> (Option<u64>, u64) {
        // SAFETY: plain C calls.
        let (off, taint) = unsafe { (cvpr_shim_kaslr_offset(), cvpr_shim_taint()) };
        ((off != 0).then_some(off), taint)
    }
}

/// Parameters from the module, C layout of `struct cvpr_params`.
#[repr(C)]
pub struct CvprParams {
    /// Mapped region.
    pub region: *mut u8,
    /// Its bytes (ramoops zones + journal).
    pub region_size: usize,
    /// Journal bytes at its end.
    pub journal_size: usize,
    /// ramoops `record_size`.
    pub record_size: u64,
    /// ramoops `console_size`.
    pub console_size: u64,
    /// ramoops `ftrace_size`.
    pub ftrace_size: u64,
    /// ramoops `pmsg_size`.
    pub pmsg_size: u64,
    /// Parity bytes per block, 0 off.
    pub ecc: u32,
    /// Per-CPU ftrace zones.
    pub ftrace_zones: u32,
    /// `LINUX_VERSION_CODE`.
    pub version_code: u32,
    /// The kernel's `crash_kexec_post_notifiers`.
    pub crash_kexec_post_notifiers: i32,
    /// The kernel's `panic_timeout`.
    pub panic_timeout: i32,
    /// 1: a module inside the stock `panic()`; 0: `panic()` hands its path
    /// to the recorder.
    pub stock_panic: i32,
    /// `panic_prefer_crash_dump` (the patched kernel's boot parameter).
    pub prefer_crash_dump: i32,
    /// `panic_notifiers_level` 0–4, or -1 when not given.
    pub panic_notifiers_level: i32,
    /// A second copy of the journal (reserved memory), or null.
    pub mirror: *mut u8,
    /// Its bytes.
    pub mirror_size: usize,
}

/// A stored record, C layout of `struct cvpr_stored`.
#[repr(C)]
pub struct CvprStored {
    id: u32,
    sec: i64,
    nsec: u64,
    compressed: u32,
    header_len: usize,
    size: usize,
    notice_len: usize,
}

/// One zone's attach findings, C layout of `struct cvpr_zone`.
#[repr(C)]
pub struct CvprZone {
    kind: u32,
    index: u32,
    offset: u64,
    init: u32,
    corrected: u32,
    bad_blocks: u32,
    header_bad: u32,
}

fn config(prefer: i32, post: i32, level: i32, timeout: i32) -> Config {
    Config {
        prefer_crash_dump: prefer != 0,
        crash_kexec_post_notifiers: post != 0,
        // An out-of-range level stays out of range, so the plan refuses it.
        panic_notifiers_level: (level >= 0).then(|| u8::try_from(level).unwrap_or(u8::MAX)),
        panic_timeout: timeout,
    }
}

/// Attaches the recorder to the mapped region. Returns 0 or a negative
/// errno (-22 invalid parameters, -16 busy, -28 too small).
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
        plan: config(
            p.prefer_crash_dump,
            p.crash_kexec_post_notifiers,
            p.panic_notifiers_level,
            p.panic_timeout,
        ),
        stock_panic: p.stock_panic != 0,
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
        kmsg_dumper: None,
    };
    // SAFETY: the caller guarantees the region's validity and lifetime.
    let region = unsafe { RawRegion::new(p.region, p.region_size) };
    // SAFETY: as the region, when given.
    let mirror = (!p.mirror.is_null()).then(|| unsafe { RawRegion::new(p.mirror, p.mirror_size) });
    match RECORDER.attach_mirrored(region, setup, mirror) {
        Ok(_) => 0,
        Err(AttachError::Busy) => -16,
        Err(AttachError::RegionTooSmall) | Err(AttachError::JournalTooSmall) => -28,
        Err(_) => -22,
    }
}

/// The kernel's settings, read again (the plan is shown and run from
/// them); `kmsg_dumper` 1/0 whether a kmsg dumper is registered, -1 when
/// the recorder's own backend is the dumper.
#[no_mangle]
pub extern "C" fn cvpr_set_settings(
    prefer_crash_dump: i32,
    crash_kexec_post_notifiers: i32,
    panic_notifiers_level: i32,
    panic_timeout: i32,
    kmsg_dumper: i32,
) {
    RECORDER.set_plan_config(
        config(
            prefer_crash_dump,
            crash_kexec_post_notifiers,
            panic_notifiers_level,
            panic_timeout,
        ),
        (kmsg_dumper >= 0).then_some(kmsg_dumper != 0),
    );
}

/// Another CPU panicked while this one owns the panic path (the kernel's
/// `panic_cpu` claim stops it next): counted and journaled.
#[no_mangle]
pub extern "C" fn cvpr_other_cpu() {
    RECORDER.note_other_cpu();
}

/// pstore's `bufsize`: one dmesg zone's data capacity (ramoops' `buffer_size`).
#[no_mangle]
pub extern "C" fn cvpr_dmesg_bufsize() -> usize {
    RECORDER.dmesg_capacity()
}

/// Registers `func(ctx)` on list `list` (0 pre-crash-dump, 1 hypervisor,
/// 2 info, 3 pre-reboot, 4 post-reboot). Returns the slot or a negative error.
///
/// # Safety
/// `func` must stay valid while registered; `name` must point to `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn cvpr_register_slot(
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

/// Unregisters a slot: 0, or -2 when there is no such registration.
#[no_mangle]
pub extern "C" fn cvpr_unregister_slot(list: u32, slot: u32) -> i32 {
    let Some(id) = u8::try_from(list).ok().and_then(ListId::from_u8) else {
        return -22;
    };
    match RECORDER.list(id).unregister(slot as usize) {
        Ok(()) => 0,
        Err(_) => -2,
    }
}

fn claim_code(c: Claim) -> i32 {
    match c {
        Claim::Ran => 0,
        Claim::Nested => 1,
        Claim::OtherCpu => 2,
        Claim::NotAttached => 3,
        Claim::NotPanicking => 4,
    }
}

/// The head of the panic notifier chain: the recorder takes the panic path
/// from here. Returns 0 ran, 1 nested, 2 other CPU, 3 not attached.
///
/// # Safety
/// `msg` must point to `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn cvpr_panic(msg: *const u8, len: usize, crash_kernel_loaded: i32) -> i32 {
    // SAFETY: the caller passes `len` readable bytes.
    let msg = unsafe { core::slice::from_raw_parts(msg, len) };
    claim_code(RECORDER.panic(&Kernel, crash_kernel_loaded != 0, msg))
}

/// A later hook: the kernel is past step `step` (a journal step code).
#[no_mangle]
pub extern "C" fn cvpr_resume_after(step: u32) -> i32 {
    match u8::try_from(step).ok().and_then(StepKind::from_u8) {
        Some(s) => claim_code(RECORDER.resume_after(&Kernel, s)),
        None => -22,
    }
}

/// pstore's write of a kmsg dump. Returns 0, -28 (not part 1 / no zones,
/// as ramoops) or -22.
///
/// # Safety
/// `buf` must point to `len` readable bytes.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn cvpr_write_dmesg(
    reason: u32,
    count: u32,
    part: u32,
    compressed: u32,
    sec: i64,
    nsec: u64,
    buf: *const u8,
    len: usize,
) -> i32 {
    // kmsg_dump_reason (include/linux/kmsg_dump.h, 6.1).
    let reason = match reason {
        1 => Reason::Panic,
        2 => Reason::Oops,
        3 => Reason::Emergency,
        4 => Reason::Shutdown,
        _ => Reason::Unknown,
    };
    // SAFETY: the caller passes `len` readable bytes.
    let data = unsafe { core::slice::from_raw_parts(buf, len) };
    let r = DmesgRecord {
        reason,
        count,
        part,
        compressed: compressed != 0,
        time: (sec, nsec),
        data,
    };
    match RECORDER.write_dmesg(&Kernel, &r) {
        Ok(_) => 0,
        Err(WriteError::NoSpace) => -28,
        Err(_) => -22,
    }
}

/// pstore's open: reading starts over.
#[no_mangle]
pub extern "C" fn cvpr_read_rewind() {
    RECORDER.read_rewind();
}

/// The next stored record into `out`: 1, or 0 when there is none.
///
/// # Safety
/// `out` must be valid for a write.
#[no_mangle]
pub unsafe extern "C" fn cvpr_read_next(out: *mut CvprStored) -> i32 {
    let Some(r) = RECORDER.read_next() else {
        return 0;
    };
    // SAFETY: the caller passes a writable pointer.
    let Some(o) = (unsafe { out.as_mut() }) else {
        return 0;
    };
    *o = CvprStored {
        id: r.id,
        sec: r.time.0,
        nsec: r.time.1,
        compressed: u32::from(r.compressed),
        header_len: r.header_len,
        size: r.size,
        notice_len: r.notice_len,
    };
    1
}

/// Copies a record found by [`cvpr_read_next`] into `buf`: the record, the
/// ECC notice, a NUL. Returns the bytes written.
///
/// # Safety
/// `r` must be valid for a read, `buf` for `len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn cvpr_read_copy(r: *const CvprStored, buf: *mut u8, len: usize) -> usize {
    // SAFETY: the caller passes a readable pointer.
    let Some(r) = (unsafe { r.as_ref() }) else {
        return 0;
    };
    let rec = StoredRecord {
        id: r.id,
        time: (r.sec, r.nsec),
        compressed: r.compressed != 0,
        header_len: r.header_len,
        size: r.size,
        notice_len: r.notice_len,
    };
    // SAFETY: the caller passes `len` writable bytes.
    let out = unsafe { core::slice::from_raw_parts_mut(buf, len) };
    RECORDER.read_copy(&rec, out)
}

/// pstore's erase of dmesg record `id`: 1 done, 0 no such record.
#[no_mangle]
pub extern "C" fn cvpr_erase(id: u32) -> i32 {
    i32::from(RECORDER.erase(id))
}

/// Zone `i` as attach found it: 1 and `out` filled, 0 past the last zone.
///
/// # Safety
/// `out` must be valid for a write.
#[no_mangle]
pub unsafe extern "C" fn cvpr_zone_report(i: u32, out: *mut CvprZone) -> i32 {
    let Some(z) = RECORDER.zone_report(i as usize) else {
        return 0;
    };
    // SAFETY: the caller passes a writable pointer.
    let Some(o) = (unsafe { out.as_mut() }) else {
        return 0;
    };
    *o = CvprZone {
        kind: match z.kind {
            ZoneKind::Dmesg => 0,
            ZoneKind::Console => 1,
            ZoneKind::Ftrace => 2,
            ZoneKind::Pmsg => 3,
        },
        index: z.index,
        offset: z.offset,
        init: match z.status.init {
            ZoneInit::Unused => 0,
            ZoneInit::Empty => 1,
            ZoneInit::Kept => 2,
            ZoneInit::Invalid => 3,
            ZoneInit::NoSignature => 4,
        },
        corrected: z.status.ecc.corrected_bytes,
        bad_blocks: z.status.ecc.bad_blocks,
        header_bad: u32::from(z.status.ecc.header_bad),
    };
    1
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
    // SAFETY: the caller passes `len` writable bytes.
    let buf = unsafe { core::slice::from_raw_parts_mut(buf, len) };
    let mut w = ByteWriter::new(buf);
    if let Some(plan) = RECORDER.current_plan(crash_kernel_loaded != 0) {
        let _ = plan.write_text(&mut w);
    }
    w.len()
}

/// Why the plan for these facts is invalid, as text into `buf` (its
/// length), or 0 when it is valid.
///
/// # Safety
/// `buf` must point to `len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn cvpr_check_plan(
    buf: *mut u8,
    len: usize,
    crash_kernel_loaded: i32,
) -> usize {
    use core::fmt::Write;
    // SAFETY: the caller passes `len` writable bytes.
    let buf = unsafe { core::slice::from_raw_parts_mut(buf, len) };
    let mut w = ByteWriter::new(buf);
    if let Err(e) = RECORDER.check_plan(crash_kernel_loaded != 0) {
        let _ = write!(w, "{e}");
    }
    w.len()
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
    unsafe { cvpr_shim_bug() };
    // Not reached: BUG() traps.
    loop {
        core::hint::spin_loop();
    }
}
