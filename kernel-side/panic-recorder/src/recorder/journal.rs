//! The write-ahead journal: armed at the first event of a boot, appended
//! under a lock that is only ever tried, mirrored entry by entry.

use core::sync::atomic::Ordering;

use crashview_journal::{Entry, Header, JournalWriter};

use super::{Recorder, State, J_ARMED, J_ARMING, J_NONE, NO_CPU, PRE_PANIC_SHARE};
use crate::platform::Platform;

impl Recorder {
    // The region is raw reserved memory, not owned by `State`; the journal
    // lock (or the panic claim) is what makes this the only live reference.
    #[allow(clippy::mut_from_ref)]
    fn journal_zone<'a>(&self, st: &'a State) -> Option<&'a mut [u8]> {
        let region = st.region.as_ref()?;
        let setup = st.setup?;
        // SAFETY: called with the journal lock held.
        unsafe { region.slice_mut(setup.ramoops.mem_size as usize, setup.journal_len) }
    }

    /// Arms the journal with a new generation (first event of this boot).
    /// The previous boot's journal is overwritten here, not at attach: the
    /// module copies it out for reading before.
    fn arm<P: Platform + ?Sized>(&self, p: &P) -> bool {
        let mut st = self.st();
        let Some(zone) = self.journal_zone(&st) else {
            return false;
        };
        let prev = Header::parse(zone).map(|h| h.generation).unwrap_or(0);
        let (secs, _) = p.wall_time();
        let generation = prev.wrapping_add(1) ^ ((secs as u32) << 8);
        let Ok(w) = JournalWriter::arm_at(zone, generation, p.now_ns()) else {
            return false;
        };
        let header = w.header();
        // The mirror starts as the armed zone: its header, and no entry of
        // this generation.
        mirror_copy(&st, 0, zone.len());
        p.write_barrier();
        st.journal = Some(header);
        self.set_st(st);
        self.journal_next.store(0, Ordering::Release);
        true
    }

    /// Appends to the journal. Writers are serialised by a lock that is only
    /// ever tried, never waited for: a non-panicking CPU that finds it taken
    /// drops its entry (counted), and the panicking CPU takes it over (its
    /// holder has been stopped). Entries from before a panic may use a
    /// quarter of the journal; once full, entries are dropped.
    pub(crate) fn log<P: Platform + ?Sized>(&self, p: &P, e: Entry) {
        let cpu = u32::from(p.cpu_id());
        let owner = self.claim.load(Ordering::Acquire);
        if owner == cpu {
            self.journal_lock.store(cpu, Ordering::Release);
        } else if owner != NO_CPU
            || self
                .journal_lock
                .compare_exchange(NO_CPU, cpu, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
        {
            self.journal_dropped.fetch_add(1, Ordering::AcqRel);
            return;
        }
        self.log_locked(p, e, owner == cpu);
        // Only release what is still ours.
        let _ =
            self.journal_lock
                .compare_exchange(cpu, NO_CPU, Ordering::AcqRel, Ordering::Acquire);
    }

    fn log_locked<P: Platform + ?Sized>(&self, p: &P, e: Entry, panicking: bool) {
        let state = self.journal_state.load(Ordering::Acquire);
        if state != J_ARMED {
            // An arming cut short (its CPU stopped) is redone by the panic.
            if state == J_ARMING && !panicking {
                return;
            }
            self.journal_state.store(J_ARMING, Ordering::Release);
            if !self.arm(p) {
                self.journal_state.store(J_NONE, Ordering::Release);
                return;
            }
            self.journal_state.store(J_ARMED, Ordering::Release);
        }
        let st = self.st_ref();
        let (Some(header), Some(zone)) = (st.journal, self.journal_zone(st)) else {
            return;
        };
        let next = self.journal_next.load(Ordering::Acquire);
        if !panicking && next >= header.capacity / PRE_PANIC_SHARE {
            self.journal_dropped.fetch_add(1, Ordering::AcqRel);
            return;
        }
        if let Ok(mut w) = JournalWriter::open_at(zone, header, next) {
            if w.append_with(&e, || p.write_barrier()).is_ok() {
                // Slot `next` starts where a zone of `next` entries ends.
                let slot = crashview_journal::zone_len(next as usize);
                mirror_copy(st, slot, crashview_journal::SLOT_LEN);
                p.write_barrier();
                // `next` was below the capacity (the append succeeded).
                self.journal_next
                    .store(next.saturating_add(1), Ordering::Release);
            }
        }
    }

    /// Entries dropped because the journal was busy or full.
    pub fn journal_dropped(&self) -> u32 {
        self.journal_dropped.load(Ordering::Acquire)
    }
}

/// Copies `len` journal bytes at `at` from the journal zone to the mirror.
fn mirror_copy(st: &State, at: usize, len: usize) {
    let (Some(region), Some(mirror), Some(setup)) =
        (st.region.as_ref(), st.mirror.as_ref(), st.setup)
    else {
        return;
    };
    let base = setup.ramoops.mem_size as usize;
    // SAFETY: called with the journal lock held: the only writer of both.
    let (src, dst) = unsafe {
        (
            region.slice_mut(base.saturating_add(at), len),
            mirror.slice_mut(at, len),
        )
    };
    if let (Some(s), Some(d)) = (src, dst) {
        d.copy_from_slice(s);
    }
}
