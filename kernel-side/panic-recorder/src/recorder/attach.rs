//! Taking over the region: ramoops zones checked or formatted, the journal
//! zone placed after them; and later changes to the plan choices.

use core::sync::atomic::Ordering;

use crashview_ramoops::layout::Layout;
use crashview_ramoops::rs::Codec;
use crashview_ramoops::zone::ZoneGeometry;

use super::{
    AttachError, Recorder, Setup, State, ATTACHING, DETACHED, EMPTY_RUN, MESSAGE_LEN, NO_CPU, READY,
};
use crate::plan;
use crate::raw::RawRegion;

impl Recorder {
    /// Takes over `region`: its first `setup.ramoops.mem_size` bytes become
    /// ramoops zones, checked and ECC-corrected as ramoops does at probe
    /// (kept where they hold a valid zone, formatted where they do not; see
    /// [`zone_report`](Self::zone_report)), the next `journal_len` bytes the
    /// journal, armed at the first event of this boot. Call once, before
    /// any panic.
    pub fn attach(&self, region: RawRegion, setup: Setup) -> Result<Layout, AttachError> {
        self.attach_mirrored(region, setup, None)
    }

    /// [`attach`](Self::attach), the journal also copied, entry by entry,
    /// into `mirror` (at least `journal_len` bytes).
    pub fn attach_mirrored(
        &self,
        region: RawRegion,
        setup: Setup,
        mirror: Option<RawRegion>,
    ) -> Result<Layout, AttachError> {
        if mirror.is_some_and(|m| m.len() < setup.journal_len) {
            return Err(AttachError::JournalTooSmall);
        }
        if self
            .attach_state
            .compare_exchange(DETACHED, ATTACHING, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return Err(AttachError::Busy);
        }
        let r = self.attach_inner(region, setup, mirror);
        self.attach_state
            .store(if r.is_ok() { READY } else { DETACHED }, Ordering::Release);
        r
    }

    fn attach_inner(
        &self,
        region: RawRegion,
        setup: Setup,
        mirror: Option<RawRegion>,
    ) -> Result<Layout, AttachError> {
        let layout = if setup.ramoops.mem_size == 0 {
            Layout {
                dmesg: EMPTY_RUN,
                console: EMPTY_RUN,
                ftrace: EMPTY_RUN,
                pmsg: EMPTY_RUN,
                record_size: 0,
            }
        } else {
            Layout::compute(&setup.ramoops).map_err(AttachError::Layout)?
        };
        let mem =
            usize::try_from(setup.ramoops.mem_size).map_err(|_| AttachError::RegionTooSmall)?;
        if mem
            .checked_add(setup.journal_len)
            .is_none_or(|end| end > region.len())
        {
            return Err(AttachError::RegionTooSmall);
        }
        if crashview_journal::capacity_for(setup.journal_len) == 0 {
            return Err(AttachError::JournalTooSmall);
        }
        let nroots = setup.ramoops.ecc_size();
        let codec = if nroots > 0 {
            Some(
                Codec::new(nroots)
                    .map_err(|e| AttachError::Layout(crashview_ramoops::Error::Ecc(e)))?,
            )
        } else {
            None
        };
        let dmesg_geom = if layout.dmesg.count > 0 {
            Some(
                ZoneGeometry::new(layout.dmesg.zone_size as usize, nroots)
                    .map_err(AttachError::Layout)?,
            )
        } else {
            None
        };
        // In place: the table is too large for a kernel stack.
        // SAFETY: attaching: the table has no other user yet.
        let table = unsafe { &mut *self.zone_status.as_ptr() };
        crate::zones::init_zones(table, &region, &layout, codec.as_ref(), setup.version_code)?;
        self.set_st(State {
            region: Some(region),
            mirror,
            setup: Some(setup),
            layout,
            dmesg_geom,
            codec,
            plan: None,
            journal: None,
            message: [0; MESSAGE_LEN],
            message_len: 0,
        });
        Ok(layout)
    }

    /// Updates the plan choices from the kernel's settings (the module reads
    /// `crash_kexec_post_notifiers` and `panic_timeout` again whenever the
    /// plan is shown). Ignored while a panic is in progress.
    pub fn set_plan_config(&self, config: plan::Config, kmsg_dumper: Option<bool>) -> bool {
        if self
            .attach_state
            .compare_exchange(READY, ATTACHING, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return false;
        }
        let ok = self.claim.load(Ordering::Acquire) == NO_CPU;
        if ok {
            let mut st = self.st();
            if let Some(s) = st.setup.as_mut() {
                s.plan = config;
                if kmsg_dumper.is_some() {
                    s.kmsg_dumper = kmsg_dumper;
                }
            }
            self.set_st(st);
        }
        self.attach_state.store(READY, Ordering::Release);
        ok
    }
}
