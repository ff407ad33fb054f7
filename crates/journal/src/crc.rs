//! CRC-32 (IEEE 802.3, reflected, as zlib's `crc32`), table built at compile
//! time so the kernel side needs neither allocation nor initialisation.

#[allow(clippy::indexing_slicing)] // i < 256 by the loop condition
const fn table() -> [u32; 256] {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
}

static TABLE: [u32; 256] = table();

/// CRC-32 of `data` (the zlib/PNG polynomial).
#[allow(clippy::indexing_slicing)] // the index is masked to 0..=255
pub fn crc32(data: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in data {
        c = TABLE[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}
