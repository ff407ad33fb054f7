//! The one allocation-free text writer of crashview's kernel side: the fixed
//! formats ramoops prints (record headers, the ECC notice), and every line
//! the panic recorder and its module format (`core::fmt::Write`), usable in
//! a panicking kernel.

/// Writes bytes into a fixed buffer, dropping what does not fit (like
/// `scnprintf`, which truncates).
#[derive(Debug)]
pub struct ByteWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> ByteWriter<'a> {
    /// A writer at the start of `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        ByteWriter { buf, len: 0 }
    }

    /// Appends `bytes`, as much as fits.
    pub fn put(&mut self, bytes: &[u8]) {
        let free = self.buf.get_mut(self.len..).unwrap_or_default();
        for (slot, &b) in free.iter_mut().zip(bytes) {
            *slot = b;
        }
        // What does not fit is dropped: the length saturates at the buffer.
        self.len = self.len.saturating_add(bytes.len()).min(self.buf.len());
    }

    /// Decimal, zero-padded to at least `width` digits.
    pub fn put_u64_width(&mut self, mut v: u64, width: usize) {
        // Digits fill the array from its end; `start` is the first one.
        let mut digits = [b'0'; 20];
        let mut start = digits.len();
        for (i, d) in digits.iter_mut().enumerate().rev() {
            *d = b"0123456789"
                .get((v % 10) as usize)
                .copied()
                .unwrap_or(b'0');
            v /= 10;
            start = i;
            if v == 0 {
                break;
            }
        }
        let number = digits.get(start..).unwrap_or_default();
        for _ in number.len()..width.min(20) {
            self.put(b"0");
        }
        self.put(number);
    }

    /// Decimal.
    pub fn put_u64(&mut self, v: u64) {
        self.put_u64_width(v, 1);
    }

    /// Signed decimal.
    pub fn put_i64(&mut self, v: i64) {
        if v < 0 {
            self.put(b"-");
        }
        self.put_u64(v.unsigned_abs());
    }

    /// Bytes written.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Nothing written yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// What was written.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }

    /// Forgets what was written (the buffer is reused).
    pub fn clear(&mut self) {
        self.len = 0;
    }
}

impl core::fmt::Write for ByteWriter<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.put(s.as_bytes());
        Ok(())
    }
}
