//! The cap on records read from a lockless ring: a descriptor count from
//! the dump (`count_bits`) sizes nothing beyond [`MAX_RECORDS`], and the
//! cut is reported with the value and the cap. Without the cap the reader
//! would walk (and preallocate for) all 2^21 descriptors silently.

use crashview_printk::{read_log, MAX_RECORDS};
use crashview_vmcore::{KernelMemory, VmcoreInfo};

/// Kernel memory with a few words set; every other byte reads as zero.
struct FakeMemory {
    words: Vec<(u64, u64)>,
    vmcoreinfo: VmcoreInfo,
}

impl KernelMemory for FakeMemory {
    fn read_virt(&self, addr: u64, buf: &mut [u8]) -> crashview_vmcore::Result<()> {
        buf.fill(0);
        for &(at, v) in &self.words {
            for (i, b) in v.to_le_bytes().iter().enumerate() {
                let a = at + i as u64;
                if a >= addr && a < addr + buf.len() as u64 {
                    buf[(a - addr) as usize] = *b;
                }
            }
        }
        Ok(())
    }

    fn vmcoreinfo(&self) -> Option<&VmcoreInfo> {
        Some(&self.vmcoreinfo)
    }
}

const PRB_PTR: u64 = 0x1000;
const PRB: u64 = 0x2000;
const TEXT_RING: u64 = PRB + 0x40;

/// A lockless ring of 2^`count_bits` blank descriptors, head `head` ids
/// ahead of tail 0, with VMCOREINFO entry `key` (if any) set to `value`.
fn ring(count_bits: u64, head: u64, key: &str, value: &str) -> FakeMemory {
    let mut vi = format!(
        "SYMBOL(prb)={PRB_PTR:x}\n\
         OFFSET(printk_ringbuffer.desc_ring)=0\n\
         OFFSET(printk_ringbuffer.text_data_ring)=64\n\
         OFFSET(prb_desc_ring.count_bits)=0\n\
         OFFSET(prb_desc_ring.descs)=8\n\
         OFFSET(prb_desc_ring.infos)=16\n\
         OFFSET(prb_desc_ring.head_id)=24\n\
         OFFSET(prb_desc_ring.tail_id)=32\n\
         OFFSET(atomic_long_t.counter)=0\n\
         OFFSET(prb_data_ring.size_bits)=0\n\
         OFFSET(prb_data_ring.data)=8\n\
         SIZE(prb_desc)=24\n\
         OFFSET(prb_desc.state_var)=0\n\
         OFFSET(prb_desc.text_blk_lpos)=8\n\
         OFFSET(prb_data_blk_lpos.begin)=0\n\
         OFFSET(prb_data_blk_lpos.next)=8\n\
         SIZE(printk_info)=88\n\
         OFFSET(printk_info.seq)=0\n\
         OFFSET(printk_info.ts_nsec)=8\n\
         OFFSET(printk_info.text_len)=16\n\
         OFFSET(printk_info.caller_id)=20\n\
         OFFSET(printk_info.dev_info)=24\n"
    );
    if !key.is_empty() {
        vi = vi
            .lines()
            .map(|l| match l.split_once('=') {
                Some((k, _)) if k == key => format!("{k}={value}\n"),
                _ => format!("{l}\n"),
            })
            .collect();
    }
    FakeMemory {
        words: vec![
            (PRB_PTR, PRB),
            (PRB, count_bits),
            (PRB + 8, 0x10_0000_0000),
            (PRB + 16, 0x20_0000_0000),
            (PRB + 24, head),
            (PRB + 32, 0),
            (TEXT_RING, 12),
            (TEXT_RING + 8, 0x30_0000_0000),
        ],
        vmcoreinfo: VmcoreInfo::parse(vi.as_bytes()),
    }
}

#[test]
fn descriptor_count_is_capped() {
    let count_bits = 21u64;
    // head 2^21 - 1 ids ahead of tail 0: the whole ring.
    let mem = ring(count_bits, (1 << count_bits) - 1, "", "");
    let log = read_log(&mem).unwrap();
    let cap = log
        .diagnostics
        .iter()
        .find(|d| d.message.contains("records read at most"))
        .expect("the cut is reported");
    assert!(
        cap.message
            .contains(&format!("{} descriptors", 1u64 << count_bits))
            && cap
                .message
                .contains(&format!("reading the newest {MAX_RECORDS}")),
        "{}",
        cap.message
    );
    // Every descriptor here is blank (its id does not match): all skipped,
    // and no more of them looked at than the cap.
    assert!(log.records.len() as u64 + log.skipped + log.reusable <= MAX_RECORDS);
    assert!(log.skipped > 0);
}

#[test]
fn huge_vmcoreinfo_offsets_are_errors_not_overflows() {
    // Offsets are added to one another; one near 2^64 used to overflow
    // (a panic in checked builds, a wrapped offset otherwise).
    for key in [
        "OFFSET(prb_data_blk_lpos.next)",
        "OFFSET(printk_info.text_len)",
        "OFFSET(printk_info.caller_id)",
    ] {
        let mem = ring(4, 3, key, &u64::MAX.to_string());
        let err = read_log(&mem).unwrap_err();
        assert!(
            matches!(err, crashview_printk::Error::BadRing { .. }),
            "{key}: {err}"
        );
    }
}
