//! Page decompressors (zlib, lzo, snappy, zstd) on arbitrary input: the
//! first byte picks the codec.
#![no_main]
use crashview_vmcore::compress::{decompress, Codec};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&k, rest)) = data.split_first() else { return };
    let codec = [Codec::Zlib, Codec::Lzo, Codec::Snappy, Codec::Zstd][usize::from(k % 4)];
    let mut out = vec![0u8; 4096];
    let _ = decompress(codec, rest, &mut out);
});
