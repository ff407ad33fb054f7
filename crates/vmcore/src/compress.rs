//! Page decompression for kdump-compressed files.

/// A page codec named by a kdump page descriptor's flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// zlib (`compress2`), flag `DUMP_DH_COMPRESSED_ZLIB` (0x1).
    Zlib,
    /// LZO1X, flag `DUMP_DH_COMPRESSED_LZO` (0x2).
    Lzo,
    /// Snappy raw format, flag `DUMP_DH_COMPRESSED_SNAPPY` (0x4).
    Snappy,
    /// Zstandard frame, flag `DUMP_DH_COMPRESSED_ZSTD` (0x20).
    Zstd,
}

impl core::fmt::Display for Codec {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Codec::Zlib => "zlib",
            Codec::Lzo => "lzo",
            Codec::Snappy => "snappy",
            Codec::Zstd => "zstd",
        })
    }
}

/// Page descriptor and header status flag bits (makedumpfile diskdump_mod.h).
pub mod flags {
    /// zlib-compressed page.
    pub const ZLIB: u32 = 0x1;
    /// LZO-compressed page.
    pub const LZO: u32 = 0x2;
    /// Snappy-compressed page.
    pub const SNAPPY: u32 = 0x4;
    /// Header status: the dump was not finished.
    pub const INCOMPLETE: u32 = 0x8;
    /// Header status: unused vmemmap pages were excluded.
    pub const EXCLUDED_VMEMMAP: u32 = 0x10;
    /// zstd-compressed page.
    pub const ZSTD: u32 = 0x20;
}

impl Codec {
    /// The codec a descriptor's flags name, `Ok(None)` for a stored page,
    /// `Err(flags)` for a combination no writer produces.
    pub fn from_flags(flags: u32) -> Result<Option<Codec>, u32> {
        match flags & (flags::ZLIB | flags::LZO | flags::SNAPPY | flags::ZSTD) {
            0 => Ok(None),
            flags::ZLIB => Ok(Some(Codec::Zlib)),
            flags::LZO => Ok(Some(Codec::Lzo)),
            flags::SNAPPY => Ok(Some(Codec::Snappy)),
            flags::ZSTD => Ok(Some(Codec::Zstd)),
            _ => Err(flags),
        }
    }

    /// The descriptor flag for this codec.
    pub fn flag(self) -> u32 {
        match self {
            Codec::Zlib => flags::ZLIB,
            Codec::Lzo => flags::LZO,
            Codec::Snappy => flags::SNAPPY,
            Codec::Zstd => flags::ZSTD,
        }
    }
}

/// Decoder state reused from page to page (a zlib inflater owns a ~10 KiB
/// state; allocating or zeroing it per 4 KiB page costs as much as
/// inflating, so it is only re-armed: miniz_oxide's `init` resets the state
/// machine and the tables are rebuilt from each stream's own header).
#[derive(Default)]
pub struct Decoders {
    zlib: Option<Box<miniz_oxide::inflate::core::DecompressorOxide>>,
}

impl core::fmt::Debug for Decoders {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Decoders")
    }
}

/// Decompress `input` into `out`, which must come out exactly full.
/// Returns false when the data is corrupt or has another length.
pub fn decompress(codec: Codec, input: &[u8], out: &mut [u8]) -> bool {
    decompress_with(&mut Decoders::default(), codec, input, out)
}

/// [`decompress`] reusing decoder state.
pub fn decompress_with(dec: &mut Decoders, codec: Codec, input: &[u8], out: &mut [u8]) -> bool {
    match codec {
        Codec::Zlib => {
            // miniz_oxide (pure Rust; zlib-rs inflates a little faster but
            // probes the CPU with cpuid at start-up, which costs as much as
            // it saves on a log's two dozen pages under a hypervisor). The
            // stream must end, Adler-32 checked, exactly at one page.
            use miniz_oxide::inflate::core::{decompress, inflate_flags as f, DecompressorOxide};
            use miniz_oxide::inflate::TINFLStatus;
            let d = dec
                .zlib
                .get_or_insert_with(|| Box::new(DecompressorOxide::new()));
            d.init();
            let flags = f::TINFL_FLAG_PARSE_ZLIB_HEADER
                | f::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF
                | f::TINFL_FLAG_COMPUTE_ADLER32;
            let (status, _, written) = decompress(d, input, out, 0, flags);
            status == TINFLStatus::Done && written == out.len()
        }
        Codec::Lzo => crate::lzo::decompress(input, out) == Some(out.len()),
        Codec::Snappy => {
            match snap::raw::decompress_len(input) {
                Ok(n) if n == out.len() => {}
                _ => return false,
            }
            matches!(snap::raw::Decoder::new().decompress(input, out), Ok(n) if n == out.len())
        }
        Codec::Zstd => {
            let mut dec = ruzstd::decoding::FrameDecoder::new();
            match dec.decode_all(input, out) {
                Ok(n) => n == out.len(),
                Err(_) => false,
            }
        }
    }
}
