//! The legacy `log_buf` reader (Linux 3.5–5.9) over a synthetic memory image
//! laid out as the kernel does, and the lockless reader's handling of a
//! wrapped data ring, over synthetic memory with VMCOREINFO as 6.1 exports it.

use std::collections::HashMap;

use crashview_printk::{read_log, RecordState, RingKind};
use crashview_vmcore::{KernelMemory, VmcoreInfo};

struct Mem {
    bytes: HashMap<u64, u8>,
    vi: VmcoreInfo,
}

impl Mem {
    fn put(&mut self, addr: u64, b: &[u8]) {
        for (i, &x) in b.iter().enumerate() {
            self.bytes.insert(addr + i as u64, x);
        }
    }
}

impl KernelMemory for Mem {
    fn read_virt(&self, addr: u64, buf: &mut [u8]) -> crashview_vmcore::Result<()> {
        for (i, b) in buf.iter_mut().enumerate() {
            *b = *self.bytes.get(&(addr + i as u64)).unwrap_or(&0);
        }
        Ok(())
    }
    fn vmcoreinfo(&self) -> Option<&VmcoreInfo> {
        Some(&self.vi)
    }
}

/// struct printk_log as in 5.4 (with caller_id): 24 bytes.
fn legacy_record(ts: u64, level: u8, text: &str) -> Vec<u8> {
    let len = (24 + text.len()).next_multiple_of(8);
    let mut r = vec![0u8; len];
    r[0..8].copy_from_slice(&ts.to_le_bytes());
    r[8..10].copy_from_slice(&(len as u16).to_le_bytes());
    r[10..12].copy_from_slice(&(text.len() as u16).to_le_bytes());
    r[14] = 0; // facility
    r[15] = (level << 5) | 2; // LOG_NEWLINE
    r[16..20].copy_from_slice(&7u32.to_le_bytes());
    r[24..24 + text.len()].copy_from_slice(text.as_bytes());
    r
}

#[test]
fn legacy_log_buf_with_wrap() {
    let buf = 0xffff_8880_0100_0000u64;
    let buf_len = 256u32;
    let vi = VmcoreInfo::parse(
        b"OSRELEASE=5.4.0\nSYMBOL(log_buf)=ffffffff82000000\nSYMBOL(log_buf_len)=ffffffff82000008\nSYMBOL(log_first_idx)=ffffffff82000010\nSYMBOL(log_next_idx)=ffffffff82000018\nSYMBOL(log_first_seq)=ffffffff82000020\nSIZE(printk_log)=24\nOFFSET(printk_log.ts_nsec)=0\nOFFSET(printk_log.len)=8\nOFFSET(printk_log.text_len)=10\nOFFSET(printk_log.caller_id)=16\n",
    );
    let mut m = Mem {
        bytes: HashMap::new(),
        vi,
    };
    m.put(0xffff_ffff_8200_0000, &buf.to_le_bytes());
    m.put(0xffff_ffff_8200_0008, &buf_len.to_le_bytes());
    // Oldest record at 160, then a wrap marker (len 0) at 200, newer ones from 0.
    let a = legacy_record(1_500_000_000, 6, "first message");
    let b = legacy_record(2_000_001_000, 4, "second");
    let c = legacy_record(3_000_000_000, 0, "third, after the wrap");
    m.put(buf + 160, &a);
    m.put(buf + 160 + a.len() as u64, &[0u8; 16]);
    m.put(buf, &b);
    m.put(buf + b.len() as u64, &c);
    m.put(0xffff_ffff_8200_0010, &160u32.to_le_bytes());
    m.put(
        0xffff_ffff_8200_0018,
        &((b.len() + c.len()) as u32).to_le_bytes(),
    );
    m.put(0xffff_ffff_8200_0020, &41u64.to_le_bytes());
    let log = read_log(&m).unwrap();
    assert_eq!(log.kind, RingKind::Legacy);
    assert!(log.diagnostics.is_empty(), "{:?}", log.diagnostics);
    let lines: Vec<String> = log
        .records
        .iter()
        .map(|r| r.console_lines().join("|"))
        .collect();
    assert_eq!(
        lines,
        [
            "[    1.500000] first message",
            "[    2.000001] second",
            "[    3.000000] third, after the wrap"
        ]
    );
    assert_eq!(log.records[0].seq, 41);
    assert_eq!(log.records[1].level, 4);
    assert_eq!(log.records[2].caller().as_deref(), Some("T7"));
    assert_eq!(log.records[0].state, RecordState::Legacy);
}

#[test]
fn legacy_bad_length_stops_with_a_diagnostic() {
    let vi = VmcoreInfo::parse(
        b"SYMBOL(log_buf)=ffffffff82000000\nSYMBOL(log_buf_len)=ffffffff82000008\nSYMBOL(log_first_idx)=ffffffff82000010\nSYMBOL(log_next_idx)=ffffffff82000018\nSIZE(printk_log)=16\nOFFSET(printk_log.ts_nsec)=0\nOFFSET(printk_log.len)=8\nOFFSET(printk_log.text_len)=10\n",
    );
    let mut m = Mem {
        bytes: HashMap::new(),
        vi,
    };
    let buf = 0xffff_8880_0100_0000u64;
    m.put(0xffff_ffff_8200_0000, &buf.to_le_bytes());
    m.put(0xffff_ffff_8200_0008, &128u32.to_le_bytes());
    m.put(0xffff_ffff_8200_0018, &64u32.to_le_bytes());
    let mut r = vec![0u8; 16];
    r[8..10].copy_from_slice(&500u16.to_le_bytes());
    m.put(buf, &r);
    let log = read_log(&m).unwrap();
    assert!(log.records.is_empty());
    assert!(
        log.diagnostics[0].to_string().contains("record length 500"),
        "{:?}",
        log.diagnostics
    );
}

/// 6.1's VMCOREINFO for the ring (x86_64 offsets).
const PRB_VI: &str = "SYMBOL(prb)=ffffffff82000000\nOFFSET(printk_ringbuffer.desc_ring)=0\nOFFSET(printk_ringbuffer.text_data_ring)=48\nOFFSET(prb_desc_ring.count_bits)=0\nOFFSET(prb_desc_ring.descs)=8\nOFFSET(prb_desc_ring.infos)=16\nOFFSET(prb_desc_ring.head_id)=24\nOFFSET(prb_desc_ring.tail_id)=32\nSIZE(prb_desc)=24\nOFFSET(prb_desc.state_var)=0\nOFFSET(prb_desc.text_blk_lpos)=8\nOFFSET(prb_data_blk_lpos.begin)=0\nOFFSET(prb_data_blk_lpos.next)=8\nSIZE(printk_info)=88\nOFFSET(printk_info.seq)=0\nOFFSET(printk_info.ts_nsec)=8\nOFFSET(printk_info.text_len)=16\nOFFSET(printk_info.caller_id)=20\nOFFSET(printk_info.dev_info)=24\nOFFSET(dev_printk_info.subsystem)=0\nLENGTH(printk_info_subsystem)=16\nOFFSET(dev_printk_info.device)=16\nLENGTH(printk_info_device)=48\nOFFSET(prb_data_ring.size_bits)=0\nOFFSET(prb_data_ring.data)=8\nOFFSET(prb_data_ring.head_lpos)=16\nOFFSET(prb_data_ring.tail_lpos)=24\nOFFSET(atomic_long_t.counter)=0\n";

#[test]
fn lockless_wrapped_ring_with_torn_and_overwritten_records() {
    let (rb, descs, infos, data) = (
        0xffff_ffff_8300_0000u64,
        0xffff_ffff_8400_0000u64,
        0xffff_ffff_8500_0000u64,
        0xffff_ffff_8600_0000u64,
    );
    let mut m = Mem {
        bytes: HashMap::new(),
        vi: VmcoreInfo::parse(PRB_VI.as_bytes()),
    };
    m.put(0xffff_ffff_8200_0000, &rb.to_le_bytes());
    let count_bits = 2u32; // 4 descriptors
    let size_bits = 7u32; // 128-byte data ring
    m.put(rb, &count_bits.to_le_bytes());
    m.put(rb + 8, &descs.to_le_bytes());
    m.put(rb + 16, &infos.to_le_bytes());
    m.put(rb + 48, &size_bits.to_le_bytes());
    m.put(rb + 56, &data.to_le_bytes());
    // ids 9..=12 (slots 1,2,3,0); seq = id - 4 keeps seq % 4 == id % 4.
    let finalized = 2u64 << 62;
    let mut put_rec = |id: u64, state: u64, begin: u64, next: u64, seq: u64, text: &str| {
        let slot = id & 3;
        let d = descs + slot * 24;
        m.put(d, &(state | id).to_le_bytes());
        m.put(d + 8, &begin.to_le_bytes());
        m.put(d + 16, &next.to_le_bytes());
        let i = infos + slot * 88;
        m.put(i, &seq.to_le_bytes());
        m.put(i + 8, &(seq * 1_000_000).to_le_bytes());
        m.put(i + 16, &(text.len() as u16).to_le_bytes());
        m.put(i + 19, &[(6 << 5) | 2]);
        m.put(i + 20, &(0x8000_0001u32).to_le_bytes());
        m.put(i + 24, b"pci\0");
        m.put(i + 40, b"+pci:0000:00:01.0\0");
        // Data block: id then text, at begin (or at 0 when it wraps).
        let at = if (begin >> size_bits) == (next >> size_bits) {
            begin & 127
        } else {
            0
        };
        let mut blk = id.to_le_bytes().to_vec();
        blk.extend_from_slice(text.as_bytes());
        m.put(data + at, &blk);
    };
    // lpos: the ring is in its 3rd wrap (256..384).
    put_rec(9, finalized, 320, 336, 5, "nine");
    put_rec(10, finalized, 336, 352, 6, "ten");
    put_rec(11, 1u64 << 62, 352, 368, 7, "eleven"); // committed
                                                    // 368 + 24 would cross 384: the block is stored at offset 0, next = 384 + 24.
    put_rec(12, finalized, 368, 408, 8, "twelve, wraps");
    // A newer block (id 13) has overwritten record 9's data.
    m.put(data + 64, &13u64.to_le_bytes());
    m.put(rb + 24, &12u64.to_le_bytes()); // head_id
    m.put(rb + 32, &9u64.to_le_bytes()); // tail_id
    let log = read_log(&m).unwrap();
    let texts: Vec<String> = log
        .records
        .iter()
        .map(|r| String::from_utf8_lossy(&r.text).into_owned())
        .collect();
    assert_eq!(texts, ["ten", "eleven", "twelve, wraps"]);
    assert_eq!(log.skipped, 1);
    assert!(
        log.diagnostics.iter().any(|d| d
            .to_string()
            .contains("block belongs to id 0xd (overwritten)")),
        "{:?}",
        log.diagnostics
    );
    let r = &log.records[1];
    assert_eq!((r.seq, r.level, r.state), (7, 6, RecordState::Committed));
    assert_eq!(r.caller().as_deref(), Some("C1"));
    assert_eq!(
        (r.subsystem.as_str(), r.device.as_str()),
        ("pci", "+pci:0000:00:01.0")
    );
    // A descriptor reused for a newer id is skipped (the kernel's desc_miss).
    m.put(descs + 24 * 2, &(finalized | 14).to_le_bytes());
    let log = read_log(&m).unwrap();
    assert_eq!(log.records.len(), 2);
    assert!(
        log.diagnostics
            .iter()
            .any(|d| d.to_string().contains("expected id 0xa, found 0xe")),
        "{:?}",
        log.diagnostics
    );
}
