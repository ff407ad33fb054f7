//! The flattened format (`makedumpfile -F`, QEMU's kdump output), read in
//! place.
//!
//! A flattened file is a 4096-byte header starting with `"makedumpfile"`
//! (then big-endian `type` = 1 and `version` = 1), followed by records: a
//! big-endian `(offset: i64, size: i64)` pair and `size` bytes that belong at
//! `offset` of the real dump file; `(-1, -1)` ends the stream
//! (makedumpfile.h, `struct makedumpfile_data_header`). `makedumpfile -R`
//! replays the records into a file; [`FlatIndex`] instead indexes them once
//! and serves reads of the logical file from the original bytes. A later
//! record overrides an earlier one where they overlap, as replaying would.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::bytes::i64_be;
use crate::error::{Error, Result};

/// Size of the flattened header.
pub const FLAT_HEADER_SIZE: u64 = 4096;
/// Records a file may hold before it is judged corrupt.
pub const MAX_RECORDS: u64 = 1 << 26;

/// True if `bytes` starts like a flattened file.
pub fn is_flattened(bytes: &[u8]) -> bool {
    bytes.starts_with(b"makedumpfile\0")
}

/// One run of logical bytes stored contiguously in the flattened file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    /// Logical end (exclusive).
    end: u64,
    /// Where the run's first byte is in the flattened file.
    file_offset: u64,
}

impl Run {
    /// Where logical byte `x` of this run (which starts at logical `start`;
    /// `start <= x <= end`) is in the flattened file. A run lies inside the
    /// input, so neither step saturates for such an `x`.
    fn file_pos(&self, start: u64, x: u64) -> u64 {
        self.file_offset.saturating_add(x.saturating_sub(start))
    }
}

/// The index of a flattened file: logical ranges to positions in the input.
#[derive(Debug)]
pub struct FlatIndex<'a> {
    bytes: &'a [u8],
    /// Logical start -> run; runs never overlap.
    runs: BTreeMap<u64, Run>,
    logical_len: u64,
    records: u64,
    ended: bool,
    /// Problem found while indexing (the index stops there).
    pub error: Option<Error>,
}

impl<'a> FlatIndex<'a> {
    /// Index a flattened file. A bad record header stops indexing; what was
    /// indexed before it stays usable and the error is kept in `error`.
    pub fn parse(bytes: &'a [u8]) -> Result<FlatIndex<'a>> {
        let len = bytes.len() as u64;
        if len < FLAT_HEADER_SIZE {
            return Err(Error::Truncated {
                what: "makedumpfile flattened header",
                offset: 0,
                needed: FLAT_HEADER_SIZE,
                file_size: len,
            });
        }
        let ty = i64_be(bytes, 16);
        if ty != 1 {
            return Err(Error::BadField {
                what: "makedumpfile_header.type",
                offset: 0,
                value: ty as u64,
            });
        }
        let mut idx = FlatIndex {
            bytes,
            runs: BTreeMap::new(),
            logical_len: 0,
            records: 0,
            ended: false,
            error: None,
        };
        let mut pos = FLAT_HEADER_SIZE;
        while pos < len {
            if idx.records >= MAX_RECORDS {
                idx.error = Some(Error::TooMany {
                    what: "flattened records",
                    limit: MAX_RECORDS,
                });
                break;
            }
            let header = pos
                .checked_add(16)
                .and_then(|data| Some((bytes.get(pos as usize..data as usize)?, data)));
            let Some((h, data)) = header else {
                idx.error = Some(Error::Truncated {
                    what: "flattened record header",
                    offset: pos,
                    needed: 16,
                    file_size: len,
                });
                break;
            };
            let (off, size) = (i64_be(h, 0), i64_be(h, 8));
            if off == -1 && size == -1 {
                idx.ended = true;
                break;
            }
            if off < 0 || size < 0 || (off as u64).checked_add(size as u64).is_none() {
                idx.error = Some(Error::BadFlatRecord {
                    offset: pos,
                    data_offset: off,
                    size,
                });
                break;
            }
            let data_end = data.checked_add(size as u64).filter(|&e| e <= len);
            let Some(data_end) = data_end else {
                // Keep the part that is there: a cut stream still has its
                // early records (headers, bitmaps) intact. (The header was
                // read, so `data <= len`.)
                let have = len.saturating_sub(data);
                idx.insert(off as u64, have, data);
                idx.error = Some(Error::Truncated {
                    what: "flattened record data",
                    offset: data,
                    needed: size as u64,
                    file_size: len,
                });
                break;
            };
            idx.insert(off as u64, size as u64, data);
            // Below MAX_RECORDS (checked above).
            idx.records = idx.records.saturating_add(1);
            pos = data_end;
        }
        if !idx.ended && idx.error.is_none() {
            idx.error = Some(Error::Truncated {
                what: "flattened end marker",
                offset: pos,
                needed: 16,
                file_size: len,
            });
        }
        Ok(idx)
    }

    /// Number of data records.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// True if the stream ended with its end marker.
    pub fn complete(&self) -> bool {
        self.ended
    }

    /// Number of contiguous runs after merging overlaps.
    pub fn runs(&self) -> usize {
        self.runs.len()
    }

    /// Size of the logical file (end of the last written byte).
    pub fn logical_len(&self) -> u64 {
        self.logical_len
    }

    fn insert(&mut self, start: u64, size: u64, file_offset: u64) {
        if size == 0 {
            return;
        }
        // Callers checked that the record's end fits in 64 bits.
        let Some(end) = start.checked_add(size) else {
            return;
        };
        self.logical_len = self.logical_len.max(end);
        // Fast path: records arrive mostly in increasing order, no overlap.
        let prev = self.runs.range(..end).next_back().map(|(&s, &r)| (s, r));
        match prev {
            Some((_, r)) if r.end <= start => {}
            None => {}
            Some(_) => self.cut(start, end),
        }
        // Extend the previous run when this record continues it in both
        // spaces (makedumpfile writes big buffers as several records).
        if let Some((&ps, pr)) = self.runs.range_mut(..start).next_back() {
            if pr.end == start && pr.file_pos(ps, start) == file_offset {
                pr.end = end;
                return;
            }
        }
        self.runs.insert(start, Run { end, file_offset });
    }

    /// Remove `[start, end)` from the existing runs (a later record wins).
    fn cut(&mut self, start: u64, end: u64) {
        let overlapping: Vec<(u64, Run)> = self
            .runs
            .range(..end)
            .rev()
            .take_while(|(_, r)| r.end > start)
            .map(|(&s, &r)| (s, r))
            .collect();
        for (s, r) in overlapping {
            if r.end <= start {
                continue;
            }
            self.runs.remove(&s);
            if s < start {
                self.runs.insert(
                    s,
                    Run {
                        end: start,
                        file_offset: r.file_offset,
                    },
                );
            }
            if r.end > end {
                self.runs.insert(
                    end,
                    Run {
                        end: r.end,
                        file_offset: r.file_pos(s, end),
                    },
                );
            }
        }
    }

    /// Where the logical bytes `[offset, offset + len)` are stored in the
    /// flattened file, as `(file offset, length)` pieces (holes omitted).
    pub fn file_ranges(&self, offset: u64, len: u64) -> Vec<(u64, u64)> {
        let end = offset.saturating_add(len);
        let first = self
            .runs
            .range(..=offset)
            .next_back()
            .map(|(&s, _)| s)
            .unwrap_or(offset);
        self.runs
            .range(first..end)
            .filter_map(|(&s, r)| {
                let (a, b) = (s.max(offset), r.end.min(end));
                let n = b.checked_sub(a).filter(|&n| n > 0)?;
                Some((r.file_pos(s, a), n))
            })
            .collect()
    }

    /// `len` logical bytes at `offset`, borrowed if one run holds them.
    /// Bytes no record wrote read as zero, like the holes of a file that
    /// `makedumpfile -R` wrote. `None` past the logical end.
    pub fn read(&self, offset: u64, len: u64) -> Option<Cow<'a, [u8]>> {
        let end = offset.checked_add(len)?;
        if end > self.logical_len {
            return None;
        }
        if let Some((&s, r)) = self.runs.range(..=offset).next_back() {
            if r.end >= end {
                let fs = usize::try_from(r.file_pos(s, offset)).ok()?;
                let n = usize::try_from(len).ok()?;
                return self.bytes.get(fs..)?.get(..n).map(Cow::Borrowed);
            }
        }
        let mut out = vec![0u8; usize::try_from(len).ok()?];
        // Runs that start before `offset` and reach into it, then the rest.
        let first = self
            .runs
            .range(..=offset)
            .next_back()
            .map(|(&s, _)| s)
            .unwrap_or(offset);
        for (&s, r) in self.runs.range(first..end) {
            let (a, b) = (s.max(offset), r.end.min(end));
            let Some(n) = b.checked_sub(a).filter(|&n| n > 0) else {
                continue;
            };
            // `offset <= a < b <= end`: all three fit in `out`'s usize length.
            let (src, n, dst) = (
                r.file_pos(s, a) as usize,
                n as usize,
                a.saturating_sub(offset) as usize,
            );
            let d = out.get_mut(dst..).and_then(|d| d.get_mut(..n));
            let sv = self.bytes.get(src..).and_then(|v| v.get(..n));
            if let (Some(d), Some(sv)) = (d, sv) {
                d.copy_from_slice(sv);
            }
        }
        Some(Cow::Owned(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(recs: &[(i64, &[u8])], end: bool) -> Vec<u8> {
        let mut v = b"makedumpfile\0\0\0\0".to_vec();
        v.extend_from_slice(&1i64.to_be_bytes());
        v.extend_from_slice(&1i64.to_be_bytes());
        v.resize(4096, 0);
        for (o, d) in recs {
            v.extend_from_slice(&o.to_be_bytes());
            v.extend_from_slice(&(d.len() as i64).to_be_bytes());
            v.extend_from_slice(d);
        }
        if end {
            v.extend_from_slice(&(-1i64).to_be_bytes());
            v.extend_from_slice(&(-1i64).to_be_bytes());
        }
        v
    }

    #[test]
    fn later_records_win_and_holes_are_zero() {
        let s = stream(
            &[(0, b"aaaaaaaa"), (4, b"bb"), (12, b"cc"), (8, b"dd")],
            true,
        );
        let f = FlatIndex::parse(&s).unwrap();
        assert!(f.complete());
        assert_eq!(f.logical_len(), 14);
        assert_eq!(&*f.read(0, 14).unwrap(), b"aaaabbaadd\0\0cc");
        assert_eq!(&*f.read(5, 1).unwrap(), b"b");
        assert!(f.read(10, 5).is_none());
    }

    #[test]
    fn contiguous_records_merge() {
        let s = stream(&[(0, b"ab"), (2, b"cd")], true);
        let f = FlatIndex::parse(&s).unwrap();
        // The second record's data is not adjacent in the file (a 16-byte
        // header sits between), so two runs remain.
        assert_eq!(f.runs(), 2);
        assert_eq!(&*f.read(1, 2).unwrap(), b"bc");
    }

    #[test]
    fn cut_stream_keeps_its_head() {
        let mut s = stream(&[(0, b"abcd"), (4, b"efgh")], false);
        s.truncate(s.len() - 2);
        let f = FlatIndex::parse(&s).unwrap();
        assert!(matches!(f.error, Some(Error::Truncated { .. })));
        assert_eq!(&*f.read(0, 6).unwrap(), b"abcdef");
    }
}
