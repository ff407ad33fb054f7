//! The only door to the kernel. The Linux module implements it with real
//! kernel calls (kernel-side/linux-module); host tests implement it with
//! threads and a byte buffer.

/// Bytes of a chain entry's name (the callback's symbol).
pub const CHAIN_NAME_LEN: usize = 32;

/// One entry of the kernel's legacy `panic_notifier_list`, as the platform
/// found it: the recorder calls it, or journals it as corrupt and skips it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainEntry {
    /// A `notifier_block` that passed the platform's checks (its address
    /// sane, its callback in kernel or module text).
    Call {
        /// Address of the `notifier_block`, for [`Platform::notifier_call`].
        block: usize,
        /// The callback's symbol name, NUL padded.
        name: [u8; CHAIN_NAME_LEN],
    },
    /// A block that failed them: never called.
    Corrupt {
        /// What failed, NUL padded (`callback outside text`, `bad next`…).
        why: [u8; CHAIN_NAME_LEN],
        /// The chain can be followed past it (its `next` is sane).
        resumable: bool,
    },
}

/// What the panic path needs from the kernel. Every method must be callable
/// from the panicking CPU with interrupts off: no sleeping, no locks that a
/// stopped CPU could hold.
pub trait Platform: Sync {
    /// Monotonic nanoseconds (`local_clock()`).
    fn now_ns(&self) -> u64;
    /// Wall-clock time, seconds and nanoseconds (`ktime_get_real_ts64()`).
    fn wall_time(&self) -> (i64, u64);
    /// The current CPU (`raw_smp_processor_id()`).
    fn cpu_id(&self) -> u16;
    /// Stops the other CPUs (`crash_smp_send_stop()`); returns whether it was
    /// done here (a module leaves it to the stock `panic()`).
    fn stop_other_cpus(&self) -> bool;
    /// Jumps to the crash kernel; returns only when that was not possible.
    fn crash_kexec(&self);
    /// Unblanks and flushes consoles; returns whether it was done here.
    fn console_flush(&self) -> bool;
    /// Waits `ms` milliseconds (`mdelay` in small steps, touching watchdogs);
    /// returns whether it was done here.
    fn delay_ms(&self, ms: u64) -> bool;
    /// Restarts the machine. Returns `false` when that is left to the stock
    /// `panic()`, `true` when it was tried here and (surprisingly) returned.
    fn reboot(&self) -> bool;
    /// Whether `addr` is the start of kernel or module code we may call.
    fn is_code(&self, addr: usize) -> bool;
    /// Prints one log line (`printk`, no trailing newline needed).
    fn print(&self, line: &[u8]);
    /// Runs the kernel's kmsg dumpers for a panic (`kmsg_dump(KMSG_DUMP_PANIC)`:
    /// pstore then writes through its backend, e.g. this recorder's
    /// [`write_dmesg`](crate::recorder::Recorder::write_dmesg)); returns
    /// whether it was done here.
    fn kmsg_dump(&self) -> bool;
    /// Entry `cursor` of the legacy `panic_notifier_list` (cursor 0: its
    /// head) and the cursor of the next one, or `None` at its end. The
    /// chain is not locked: at panic time the other CPUs are stopped.
    fn notifier_next(&self, _cursor: usize) -> Option<(ChainEntry, usize)> {
        None
    }
    /// Calls a block [`notifier_next`](Self::notifier_next) returned as
    /// callable (`nb->notifier_call(nb, 0, msg)`).
    fn notifier_call(&self, _block: usize) {}
    /// Orders the stores before it ahead of those after it, as seen by the
    /// memory (`wmb()`): the region may be mapped write-combined, where the
    /// journal's write order would otherwise not survive.
    fn write_barrier(&self) {
        core::sync::atomic::fence(core::sync::atomic::Ordering::SeqCst);
    }
    /// `(KASLR offset if known, taint flags)` for the info list. A module
    /// cannot see `_text`, so it reports no offset (the stock x86 panic
    /// notifier prints "Kernel Offset:" anyway).
    fn kernel_facts(&self) -> (Option<u64>, u64);
}
