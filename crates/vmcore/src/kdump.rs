//! makedumpfile's kdump-compressed format (makedumpfile diskdump_mod.h).
//!
//! Block 0 is `struct disk_dump_header` ("KDUMP   "), then `sub_hdr_size`
//! blocks of `struct kdump_sub_header` (phys_base, dump level, where the ELF
//! notes and VMCOREINFO are), then `bitmap_blocks` blocks of bitmaps: the
//! first half marks page frames that exist, the second half the ones that
//! were dumped (bit `pfn % 8` of byte `pfn / 8`). Then one 24-byte
//! `page_desc` per dumped page, in pfn order (offset, size, flags,
//! page_flags), then page data. A page whose `size` is the block size and
//! whose flags name no codec is stored as is.

use std::borrow::Cow;
use std::sync::OnceLock;

use crate::bytes::{u32_le, u64_le};
use crate::compress::{self, Codec};
use crate::error::{Error, Result};
use crate::source::Source;
pub use crate::utsname::Utsname;

/// `disk_dump_header` size up to `nr_cpus` (x86_64).
pub const HEADER_SIZE: u64 = 464;
/// Size of `struct page_desc`.
pub const PAGE_DESC_SIZE: u64 = 24;
/// Largest block (page) size accepted.
pub const MAX_BLOCK_SIZE: u32 = 1 << 16;
/// Bytes of bitmap2 per rank entry.
const RANK_CHUNK_BYTES: usize = 64;
/// Where `utsname` is in `disk_dump_header` (after the signature and
/// `header_version`).
const UTSNAME_OFFSET: usize = 12;
/// Bytes of `kdump_sub_header` read: up to `max_mapnr_64` (version 6). The
/// sub-header is at least one block (512 bytes or more), so they are there.
const SUB_HEADER_READ: u64 = 104;

/// A kind of page makedumpfile's dump level (`-d`, a sum of these bits)
/// leaves out (makedumpfile.h `DL_EXCLUDE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PageType {
    /// Pages filled with zeros (`DL_EXCLUDE_ZERO`, 1).
    Zero,
    /// Page cache without private data (`DL_EXCLUDE_CACHE`, 2).
    Cache,
    /// Page cache with private data (`DL_EXCLUDE_CACHE_PRI`, 4).
    CachePrivate,
    /// User process data (`DL_EXCLUDE_USER_DATA`, 8).
    User,
    /// Free pages (`DL_EXCLUDE_FREE`, 16).
    Free,
}

impl PageType {
    /// Every type, in bit order.
    pub const ALL: [PageType; 5] = [
        PageType::Zero,
        PageType::Cache,
        PageType::CachePrivate,
        PageType::User,
        PageType::Free,
    ];

    /// The dump-level bit that excludes this type.
    pub fn bit(self) -> i32 {
        match self {
            PageType::Zero => 0x01,
            PageType::Cache => 0x02,
            PageType::CachePrivate => 0x04,
            PageType::User => 0x08,
            PageType::Free => 0x10,
        }
    }

    /// A short name: `"zero"`, `"cache"`, `"cache private"`, `"user"`, `"free"`.
    pub fn name(self) -> &'static str {
        match self {
            PageType::Zero => "zero",
            PageType::Cache => "cache",
            PageType::CachePrivate => "cache private",
            PageType::User => "user",
            PageType::Free => "free",
        }
    }

    /// The types `dump_level` excludes, in bit order (bits makedumpfile
    /// does not define are ignored).
    pub fn excluded_by(dump_level: i32) -> impl Iterator<Item = PageType> {
        PageType::ALL
            .into_iter()
            .filter(move |t| dump_level & t.bit() != 0)
    }
}

/// `struct disk_dump_header`.
#[derive(Debug, Clone, Default)]
pub struct Header {
    /// `header_version`.
    pub header_version: i32,
    /// `utsname` (QEMU leaves it empty).
    pub utsname: Utsname,
    /// `timestamp.tv_sec`.
    pub timestamp_sec: i64,
    /// `timestamp.tv_usec`.
    pub timestamp_usec: i64,
    /// `status`: codec and incomplete flags ([`compress::flags`]).
    pub status: u32,
    /// `block_size`: the page size.
    pub block_size: u32,
    /// `sub_hdr_size` in blocks.
    pub sub_hdr_size: u32,
    /// `bitmap_blocks`.
    pub bitmap_blocks: u32,
    /// `max_mapnr` (32-bit; the sub-header has the full value).
    pub max_mapnr: u32,
    /// `total_ram_blocks`.
    pub total_ram_blocks: u32,
    /// `current_cpu`.
    pub current_cpu: u32,
    /// `nr_cpus`.
    pub nr_cpus: i32,
}

/// `struct kdump_sub_header` (fields by header version).
#[derive(Debug, Clone, Default)]
pub struct SubHeader {
    /// `phys_base` (garbage in QEMU 7.2 dumps; prefer VMCOREINFO's).
    pub phys_base: u64,
    /// `dump_level` (`-d`).
    pub dump_level: i32,
    /// `split`.
    pub split: i32,
    /// `offset_vmcoreinfo`, `size_vmcoreinfo` (version ≥ 3).
    pub vmcoreinfo: Option<(u64, u64)>,
    /// `offset_note`, `size_note` (version ≥ 4).
    pub note: Option<(u64, u64)>,
    /// `offset_eraseinfo`, `size_eraseinfo` (version ≥ 5).
    pub eraseinfo: Option<(u64, u64)>,
    /// `max_mapnr_64` (version ≥ 6).
    pub max_mapnr_64: Option<u64>,
}

/// A kdump-compressed file, indexed.
#[derive(Debug)]
pub struct Kdump<'a> {
    /// The header.
    pub header: Header,
    /// The sub-header.
    pub sub: SubHeader,
    /// Page frames covered by the bitmaps.
    pub max_mapnr: u64,
    bitmap1: Cow<'a, [u8]>,
    bitmap2: Cow<'a, [u8]>,
    bitmap_offset: u64,
    desc_offset: u64,
    /// Set bits of bitmap 2 before each 512-bit chunk, and the total.
    rank: OnceLock<(Vec<u64>, u64)>,
}

/// True if `bytes` starts with the kdump signature.
pub fn is_kdump(bytes: &[u8]) -> bool {
    bytes.starts_with(b"KDUMP   ")
}

/// What one page descriptor says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageDesc {
    /// Where the descriptor is.
    pub desc_offset: u64,
    /// Data offset.
    pub offset: u64,
    /// Data size.
    pub size: u32,
    /// Flags (codec).
    pub flags: u32,
}

impl<'a> Kdump<'a> {
    /// Parse the headers and borrow the bitmaps.
    pub fn parse(src: &Source<'a>) -> Result<Kdump<'a>> {
        let h = src.read(0, HEADER_SIZE, "disk_dump_header")?;
        let header = Header {
            header_version: u32_le(&h, 8) as i32,
            utsname: Utsname::parse(h.get(UTSNAME_OFFSET..).unwrap_or_default()),
            timestamp_sec: u64_le(&h, 408) as i64,
            timestamp_usec: u64_le(&h, 416) as i64,
            status: u32_le(&h, 424),
            block_size: u32_le(&h, 428),
            sub_hdr_size: u32_le(&h, 432),
            bitmap_blocks: u32_le(&h, 436),
            max_mapnr: u32_le(&h, 440),
            total_ram_blocks: u32_le(&h, 444),
            current_cpu: u32_le(&h, 456),
            nr_cpus: u32_le(&h, 460) as i32,
        };
        let bad = |what, value: u64| Error::BadField {
            what,
            offset: 0,
            value,
        };
        let bs = header.block_size;
        if !(512..=MAX_BLOCK_SIZE).contains(&bs) || !bs.is_power_of_two() {
            return Err(bad("disk_dump_header.block_size", bs.into()));
        }
        let bs = u64::from(bs);
        if header.sub_hdr_size == 0 || header.sub_hdr_size > 1 << 16 {
            return Err(bad(
                "disk_dump_header.sub_hdr_size",
                header.sub_hdr_size.into(),
            ));
        }
        if header.bitmap_blocks == 0 || !header.bitmap_blocks.is_multiple_of(2) {
            return Err(bad(
                "disk_dump_header.bitmap_blocks",
                header.bitmap_blocks.into(),
            ));
        }
        let s = src.read(bs, SUB_HEADER_READ, "kdump_sub_header")?;
        let v = header.header_version;
        // An (offset, size) pair of u64s at `o`.
        let pair = |o: usize| {
            let p = s.get(o..).unwrap_or_default();
            (u64_le(p, 0), u64_le(p, 8))
        };
        let sub = SubHeader {
            phys_base: u64_le(&s, 0),
            dump_level: u32_le(&s, 8) as i32,
            split: u32_le(&s, 12) as i32,
            vmcoreinfo: (v >= 3).then(|| pair(32)),
            note: (v >= 4).then(|| pair(48)),
            eraseinfo: (v >= 5).then(|| pair(64)),
            max_mapnr_64: (v >= 6 && s.len() >= 104).then(|| u64_le(&s, 96)),
        };
        let max_mapnr = sub.max_mapnr_64.unwrap_or(header.max_mapnr.into());
        // 32-bit block counts of at most 64 KiB cannot reach 2^64, but the
        // layout is computed checked all the same.
        let too_big = bad(
            "disk_dump_header.bitmap_blocks (bitmaps end past 2^64)",
            header.bitmap_blocks.into(),
        );
        let blocks = |n: u32| u64::from(n).checked_mul(bs).ok_or(too_big);
        let bitmap_offset = blocks(header.sub_hdr_size)?
            .checked_add(bs)
            .ok_or(too_big)?;
        let half = blocks(header.bitmap_blocks / 2)?;
        let bitmap2_offset = bitmap_offset.checked_add(half).ok_or(too_big)?;
        let desc_offset = bitmap2_offset.checked_add(half).ok_or(too_big)?;
        if max_mapnr.div_ceil(8) > half {
            return Err(Error::BadField {
                what: "kdump max_mapnr (larger than the bitmap)",
                offset: bs,
                value: max_mapnr,
            });
        }
        let bitmap1 = src.read(bitmap_offset, half, "kdump bitmap 1 (valid pages)")?;
        let bitmap2 = src.read(bitmap2_offset, half, "kdump bitmap 2 (dumped pages)")?;
        Ok(Kdump {
            header,
            sub,
            max_mapnr,
            bitmap1,
            bitmap2,
            bitmap_offset,
            desc_offset,
            rank: OnceLock::new(),
        })
    }

    /// Block (page) size.
    pub fn page_size(&self) -> u64 {
        self.header.block_size.into()
    }

    /// Where the bitmaps start.
    pub fn bitmap_offset(&self) -> u64 {
        self.bitmap_offset
    }

    /// Where the page descriptors start.
    pub fn desc_offset(&self) -> u64 {
        self.desc_offset
    }

    fn bit(map: &[u8], pfn: u64) -> bool {
        map.get((pfn / 8) as usize)
            .is_some_and(|b| b & (1 << (pfn % 8)) != 0)
    }

    /// True if the page frame exists (bitmap 1).
    pub fn is_valid(&self, pfn: u64) -> bool {
        pfn < self.max_mapnr && Self::bit(&self.bitmap1, pfn)
    }

    /// True if the page frame was dumped (bitmap 2).
    pub fn is_dumped(&self, pfn: u64) -> bool {
        pfn < self.max_mapnr && Self::bit(&self.bitmap2, pfn)
    }

    /// Number of dumped pages (bits set in bitmap 2 below `max_mapnr`).
    pub fn dumped_pages(&self) -> u64 {
        self.rank_of(self.max_mapnr)
    }

    /// Set bits of bitmap 2 before `pfn`: the index of pfn's descriptor.
    fn rank_of(&self, pfn: u64) -> u64 {
        let ones = popcount;
        // Counts of bits in memory: far below 2^64, they never saturate.
        let (rank, total) = self.rank.get_or_init(|| {
            let mut acc = 0u64;
            let v = self
                .bitmap2
                .chunks(RANK_CHUNK_BYTES)
                .map(|c| {
                    let r = acc;
                    acc = acc.saturating_add(ones(c));
                    r
                })
                .collect();
            (v, acc)
        });
        let byte = (pfn / 8) as usize;
        let chunk = byte / RANK_CHUNK_BYTES;
        let Some(&base) = rank.get(chunk) else {
            return *total;
        };
        let chunk_start = byte & !(RANK_CHUNK_BYTES - 1);
        let whole = ones(self.bitmap2.get(chunk_start..byte).unwrap_or_default());
        // The bits below pfn's in its byte.
        let mask = !(u8::MAX << (pfn % 8));
        let part = self
            .bitmap2
            .get(byte)
            .map_or(0, |b| u64::from((b & mask).count_ones()));
        base.saturating_add(whole).saturating_add(part)
    }

    /// The descriptor of a dumped page.
    pub fn page_desc(&self, src: &Source<'a>, pfn: u64) -> Result<PageDesc> {
        if !self.is_dumped(pfn) {
            return Err(if self.is_valid(pfn) {
                Error::PageExcluded { pfn }
            } else {
                Error::PageNotPresent {
                    addr: pfn.saturating_mul(self.page_size()),
                }
            });
        }
        let rank = self.rank_of(pfn);
        let desc_offset = rank
            .checked_mul(PAGE_DESC_SIZE)
            .and_then(|o| self.desc_offset.checked_add(o))
            .ok_or(Error::BadField {
                what: "kdump page_desc offset (past 2^64)",
                offset: self.desc_offset,
                value: rank,
            })?;
        let d = src.read(desc_offset, PAGE_DESC_SIZE, "kdump page_desc")?;
        Ok(PageDesc {
            desc_offset,
            offset: u64_le(&d, 0),
            size: u32_le(&d, 8),
            flags: u32_le(&d, 12),
        })
    }

    /// Read (and decompress) page `pfn` into `out` (one page long).
    pub fn read_page(&self, src: &Source<'a>, pfn: u64, out: &mut [u8]) -> Result<()> {
        self.read_page_with(&mut compress::Decoders::default(), src, pfn, out)
    }

    /// [`Kdump::read_page`] reusing decoder state.
    pub fn read_page_with(
        &self,
        dec: &mut compress::Decoders,
        src: &Source<'a>,
        pfn: u64,
        out: &mut [u8],
    ) -> Result<()> {
        let d = self.page_desc(src, pfn)?;
        let bs = self.header.block_size;
        let bad = Error::BadPageDesc {
            pfn,
            desc_offset: d.desc_offset,
            data_offset: d.offset,
            size: d.size.into(),
        };
        if d.size == 0 || d.size > bs || out.len() != bs as usize {
            return Err(bad);
        }
        let data = src
            .read(d.offset, d.size.into(), "kdump page data")
            .map_err(|_| bad)?;
        match Codec::from_flags(d.flags) {
            Err(flags) => Err(Error::UnsupportedCompression { pfn, flags }),
            Ok(None) if d.size == bs => {
                out.copy_from_slice(&data);
                Ok(())
            }
            Ok(None) => Err(bad),
            Ok(Some(codec)) => {
                // makedumpfile stores a page raw (no codec flag) when
                // compressing does not make it smaller.
                if compress::decompress_with(dec, codec, &data, out) {
                    Ok(())
                } else {
                    Err(Error::Decompress {
                        pfn,
                        offset: d.offset,
                        codec,
                    })
                }
            }
        }
    }
}

/// Set bits in `bytes`, eight bytes at a time (the bitmap of a
/// terabyte machine is 32 MiB; a count per byte is eight times the work).
fn popcount(bytes: &[u8]) -> u64 {
    let words = bytes.chunks_exact(8);
    let tail = words.remainder();
    words
        .map(|w| {
            let mut a = [0u8; 8];
            a.copy_from_slice(w);
            a
        })
        .map(|a| u64::from(u64::from_le_bytes(a).count_ones()))
        .chain(tail.iter().map(|b| u64::from(b.count_ones())))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::PageType;

    #[test]
    fn dump_level_bits_are_makedumpfiles() {
        let names = |l| {
            PageType::excluded_by(l)
                .map(PageType::name)
                .collect::<Vec<_>>()
        };
        assert_eq!(names(0), Vec::<&str>::new());
        assert_eq!(names(1), ["zero"]);
        // 31, makedumpfile's most common level: everything.
        assert_eq!(
            names(31),
            ["zero", "cache", "cache private", "user", "free"]
        );
        assert_eq!(names(17), ["zero", "free"]);
        // Bits above MAX_DUMP_LEVEL (31) name nothing.
        assert_eq!(names(32 | 8), ["user"]);
        let bits: i32 = PageType::ALL.iter().map(|t| t.bit()).sum();
        assert_eq!(bits, 31);
    }

    #[test]
    fn popcount_counts_every_byte() {
        let bytes: Vec<u8> = (0..1003u32).map(|i| (i * 37 % 256) as u8).collect();
        for len in [0, 1, 7, 8, 9, 64, 1003] {
            let want: u64 = bytes[..len].iter().map(|b| u64::from(b.count_ones())).sum();
            assert_eq!(super::popcount(&bytes[..len]), want, "len {len}");
        }
    }
}
