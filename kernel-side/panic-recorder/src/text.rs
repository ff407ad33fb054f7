//! Text on the panic path: lines formatted into fixed buffers with
//! [`ByteWriter`] (the one allocation-free writer, shared with the ramoops
//! format) and handed out one at a time.

use crashview_ramoops::fmt::ByteWriter;

/// Bytes of one printed line.
pub const LINE_LEN: usize = 160;

/// Splits what is written into lines and hands each (without its newline)
/// to `sink`; a line longer than the buffer is cut.
pub struct Lines<'a, F: FnMut(&[u8])> {
    line: ByteWriter<'a>,
    sink: F,
}

impl<'a, F: FnMut(&[u8])> Lines<'a, F> {
    /// Lines assembled in `buf`.
    pub fn new(buf: &'a mut [u8], sink: F) -> Self {
        Lines {
            line: ByteWriter::new(buf),
            sink,
        }
    }
}

impl<F: FnMut(&[u8])> core::fmt::Write for Lines<'_, F> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for &b in s.as_bytes() {
            if b == b'\n' {
                (self.sink)(self.line.as_bytes());
                self.line.clear();
            } else {
                self.line.put(&[b]);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use core::fmt::Write;

    #[test]
    fn lines_are_split_and_cut() {
        let mut got = std::vec::Vec::new();
        let mut buf = [0u8; 4];
        {
            let mut l = super::Lines::new(&mut buf, |b: &[u8]| got.push(b.to_vec()));
            write!(l, "ab\ncdefgh\n\nx").unwrap();
        }
        assert_eq!(got, [b"ab".to_vec(), b"cdef".to_vec(), b"".to_vec()]);
    }
}
