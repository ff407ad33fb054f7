//! Crafted damage to the real kdump fixture: each case must give an error or
//! diagnostic naming the structure and offset, and still print what is
//! recoverable; random mutations must never panic.

mod common;

use common::*;
use crashview_vmcore::{Codec, Error, Vmcore};
use proptest::prelude::*;

type Loaded = std::collections::HashMap<&'static str, std::sync::Arc<Vec<u8>>>;

/// A fixture loaded (and decompressed) once per test binary.
fn cached(name: &'static str) -> Vec<u8> {
    use std::sync::{Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<Loaded>> = OnceLock::new();
    let m = CACHE.get_or_init(Default::default);
    let arc = m
        .lock()
        .unwrap()
        .entry(name)
        .or_insert_with(|| std::sync::Arc::new(load(&vmcore_dir().join(name))))
        .clone();
    arc.to_vec()
}

fn kdump_zlib() -> Vec<u8> {
    cached("kdump/kdump-zlib")
}

/// Physical page frames of the text data ring, and its descriptor offsets.
fn data_ring_pages(bytes: &[u8]) -> Vec<(u64, u64, u64, u32)> {
    let core = Vmcore::parse(bytes).unwrap();
    let vi = core.vmcoreinfo().unwrap();
    let mut b = [0u8; 8];
    core.read_virt(vi.symbol("prb").unwrap(), &mut b).unwrap();
    let prb = u64::from_le_bytes(b);
    let tr = prb + vi.offset("printk_ringbuffer", "text_data_ring").unwrap();
    core.read_virt(tr + vi.offset("prb_data_ring", "data").unwrap(), &mut b)
        .unwrap();
    let data = u64::from_le_bytes(b);
    let k = core.kdump().unwrap();
    let src = crashview_vmcore::source::Source::Plain(bytes);
    // The first 8 pages of the ring hold the boot's first messages.
    (0..8)
        .map(|i| {
            let pfn = core.virt_to_phys(data + i * 4096).unwrap() / 4096;
            let d = k.page_desc(&src, pfn).unwrap();
            (pfn, d.desc_offset, d.offset, d.size)
        })
        .collect()
}

#[test]
fn cut_header_names_the_structure() {
    let b = kdump_zlib();
    let e = Vmcore::parse(&b[..300]).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Truncated {
                what: "disk_dump_header",
                offset: 0,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        e.to_string().contains("disk_dump_header at offset 0x0"),
        "{e}"
    );
    let e = Vmcore::parse(&b[..4096 + 20]).unwrap_err();
    assert!(e.to_string().contains("kdump_sub_header"), "{e}");
    let e = Vmcore::parse(&b[..3 * 4096]).unwrap_err();
    assert!(e.to_string().contains("bitmap"), "{e}");
}

#[test]
fn cleared_bitmap_is_reported_as_excluded() {
    let mut b = kdump_zlib();
    let core = Vmcore::parse(&b).unwrap();
    let k = core.kdump().unwrap();
    let (start, half) = (
        k.bitmap_offset() as usize,
        (k.desc_offset() - k.bitmap_offset()) as usize / 2,
    );
    drop(core);
    b[start + half..start + 2 * half].fill(0);
    let core = Vmcore::parse(&b).unwrap();
    let e = crashview_printk::read_log(&core).unwrap_err();
    let s = e.to_string();
    assert!(
        s.contains("excluded from the dump") && s.contains("prb"),
        "{s}"
    );
}

#[test]
fn bad_page_offset_costs_only_that_page() {
    let clean = kdump_zlib();
    let full = crashview_printk::read_log(&Vmcore::parse(&clean).unwrap()).unwrap();
    let pages = data_ring_pages(&clean);
    let (pfn, desc, _, _) = pages[3];
    let mut b = clean.clone();
    b[desc as usize..desc as usize + 8].copy_from_slice(&0xdead_beef_0000u64.to_le_bytes());
    let core = Vmcore::parse(&b).unwrap();
    let log = crashview_printk::read_log(&core).unwrap();
    let all: String = log.diagnostics.iter().map(|d| format!("{d}\n")).collect();
    assert!(
        all.contains(&format!(
            "page descriptor at offset {desc:#x} (pfn {pfn:#x})"
        )),
        "{all}"
    );
    assert!(all.contains("text data ring"), "{all}");
    assert!(
        log.records.len() > full.records.len() / 2,
        "{} of {}",
        log.records.len(),
        full.records.len()
    );
    assert!(log.records.len() < full.records.len());
    assert!(log.skipped > 0);
    // The records that survive are exactly the clean ones.
    for r in &log.records {
        assert!(full.records.contains(r));
    }
}

#[test]
fn page_that_does_not_inflate() {
    let clean = kdump_zlib();
    let pages = data_ring_pages(&clean);
    let (pfn, _, off, size) = pages[2];
    let mut b = clean.clone();
    for x in &mut b[off as usize + 2..(off + u64::from(size)) as usize] {
        *x ^= 0x5a;
    }
    let core = Vmcore::parse(&b).unwrap();
    let log = crashview_printk::read_log(&core).unwrap();
    let all: String = log.diagnostics.iter().map(|d| format!("{d}\n")).collect();
    assert!(
        all.contains(&format!(
            "zlib page data at offset {off:#x} (pfn {pfn:#x}) does not decompress"
        )),
        "{all}"
    );
    assert!(log.records.len() > 100);
    let mut page = vec![0u8; 4096];
    let src = crashview_vmcore::source::Source::Plain(&b);
    let e = core
        .kdump()
        .unwrap()
        .read_page(&src, pfn, &mut page)
        .unwrap_err();
    assert_eq!(
        e,
        Error::Decompress {
            pfn,
            offset: off,
            codec: Codec::Zlib
        }
    );
}

#[test]
fn truncated_file_keeps_the_pages_before_the_cut() {
    let clean = kdump_zlib();
    let pages = data_ring_pages(&clean);
    let cut = pages.iter().map(|p| p.2).max().unwrap() as usize;
    let core = Vmcore::parse(&clean[..cut]).unwrap();
    match crashview_printk::read_log(&core) {
        Ok(log) => {
            let all: String = log.diagnostics.iter().map(|d| format!("{d}\n")).collect();
            assert!(all.contains("outside the file"), "{all}");
            assert!(!log.records.is_empty());
        }
        // Page tables or the ring header may live past the cut too.
        Err(e) => assert!(e.to_string().contains("outside the file"), "{e}"),
    }
}

#[test]
fn cut_flattened_stream_is_diagnosed() {
    let flat = load(&vmcore_dir().join("qemu/qemu.kdump-zlib.flat.min.zst"));
    let core = Vmcore::parse(&flat[..flat.len() / 2]).unwrap();
    let d: String = core
        .diagnostics()
        .iter()
        .map(|d| format!("{d}\n"))
        .collect();
    assert!(
        d.contains("flattened stream at offset 0x0")
            && d.contains("flattened record data at offset 0x"),
        "{d}"
    );
    let _ = crashview_printk::read_log(&core);
}

/// Re-encode every page the log needs with `codec` (others stored raw):
/// the log must not change. Covers snappy and zstd, which neither Debian's
/// makedumpfile nor its QEMU can write, and stored pages.
fn recode(bytes: &[u8], codec: Option<Codec>) -> Vec<u8> {
    let core = Vmcore::parse(bytes).unwrap();
    core.enable_page_trace();
    crashview_printk::read_log(&core).unwrap();
    let needed: std::collections::BTreeSet<u64> = core.page_trace().into_iter().collect();
    let k = core.kdump().unwrap();
    let src = crashview_vmcore::source::Source::Plain(bytes);
    let n = k.dumped_pages();
    let mut out = bytes[..k.desc_offset() as usize].to_vec();
    let mut data = Vec::new();
    let data_start = k.desc_offset() + n * 24;
    let mut page = vec![0u8; 4096];
    for pfn in 0..k.max_mapnr {
        if !k.is_dumped(pfn) {
            continue;
        }
        let (body, flags) = if needed.contains(&pfn) {
            k.read_page(&src, pfn, &mut page).unwrap();
            match codec {
                Some(Codec::Snappy) => (
                    snap::raw::Encoder::new().compress_vec(&page).unwrap(),
                    Codec::Snappy.flag(),
                ),
                Some(Codec::Zstd) => (
                    ruzstd::encoding::compress_to_vec(
                        &page[..],
                        ruzstd::encoding::CompressionLevel::Fastest,
                    ),
                    Codec::Zstd.flag(),
                ),
                _ => (page.clone(), 0),
            }
        } else {
            (vec![0u8; 4096], 0)
        };
        out.extend_from_slice(&(data_start + data.len() as u64).to_le_bytes());
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(&flags.to_le_bytes());
        out.extend_from_slice(&0u64.to_le_bytes());
        data.extend_from_slice(&body);
    }
    out.extend_from_slice(&data);
    let status = codec.map_or(0, Codec::flag);
    out[424..428].copy_from_slice(&status.to_le_bytes());
    out
}

#[test]
fn snappy_zstd_and_stored_pages_read_the_same_log() {
    let clean = kdump_zlib();
    let want = crashview_printk::read_log(&Vmcore::parse(&clean).unwrap())
        .unwrap()
        .records;
    for codec in [Some(Codec::Snappy), Some(Codec::Zstd), None] {
        let b = recode(&clean, codec);
        let core = Vmcore::parse(&b).unwrap();
        assert_eq!(core.format().codec, codec);
        let log = crashview_printk::read_log(&core).unwrap();
        assert!(
            log.diagnostics.is_empty(),
            "{codec:?}: {:?}",
            log.diagnostics
        );
        assert_eq!(log.records, want, "{codec:?}");
    }
}

#[test]
fn same_crash_same_log_in_every_format() {
    let logs: Vec<_> = [
        "kdump/kdump-zlib",
        "kdump/kdump-lzo.flat.min.zst",
        "kdump/kdump-elf.min.zst",
    ]
    .iter()
    .map(|f| {
        let b = load(&vmcore_dir().join(f));
        let core = Vmcore::parse(&b).unwrap();
        crashview_printk::read_log(&core).unwrap().records
    })
    .collect();
    assert_eq!(logs[0], logs[1]);
    assert_eq!(logs[0], logs[2]);
}

fn no_panic(bytes: &[u8]) {
    if let Ok(core) = Vmcore::parse(bytes) {
        if let Ok(log) = crashview_printk::read_log(&core) {
            for r in &log.records {
                let _ = r.makedumpfile_line();
            }
        }
        for c in core.cpus() {
            let _ = c.reg("rip");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Flip bytes in the headers, bitmaps, descriptors and pages.
    #[test]
    fn mutated_kdump_never_panics(flips in prop::collection::vec((0usize..1 << 24, any::<u8>()), 1..24), cut in prop::option::of(0usize..1 << 24)) {
        let mut b = kdump_zlib();
        let len = b.len();
        // Half the flips land in the first 64 KiB, where the structure is.
        for (i, (pos, x)) in flips.into_iter().enumerate() {
            let p = if i % 2 == 0 { pos % 65536 } else { pos % len };
            b[p] ^= x | 1;
        }
        if let Some(c) = cut {
            b.truncate(c % len);
        }
        no_panic(&b);
    }

    #[test]
    fn mutated_flattened_lzo_never_panics(flips in prop::collection::vec((0usize..1 << 25, any::<u8>()), 1..24), cut in prop::option::of(0usize..1 << 25)) {
        let mut b = cached("kdump/kdump-lzo.flat.min.zst");
        let len = b.len();
        for (i, (pos, x)) in flips.into_iter().enumerate() {
            let p = if i % 2 == 0 { pos % 65536 } else { pos % len };
            b[p] ^= x | 1;
        }
        if let Some(c) = cut {
            b.truncate(c % len);
        }
        no_panic(&b);
    }

}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn mutated_qemu_elf_headers_never_panic(flips in prop::collection::vec((0usize..8192, any::<u8>()), 1..16)) {
        let mut b = cached("qemu/qemu.elf.min.zst");
        for (pos, x) in flips {
            b[pos] ^= x | 1;
        }
        no_panic(&b);
    }
}
