//! x86_64 `struct pt_regs`.
//!
//! Layout from `arch/x86/include/asm/ptrace.h`, the same 21 eight-byte
//! words in 6.1 and 6.12: r15 r14 r13 r12 bp bx r11 r10 r9 r8 ax cx dx si di
//! orig_ax ip cs flags sp ss. In 6.12 `cs` and `ss` became unions of a `u16`
//! selector with a `u64` (`csx`/`ssx`, FRED extensions in the upper bits);
//! the slot stays 8 bytes and `user_mode()` still tests `regs->cs & 3`.
//! `IRET_FRAME_OFFSET` is `offsetof(struct pt_regs, ip)` and
//! `IRET_FRAME_SIZE` is the rest (`arch/x86/include/asm/unwind.h`).

/// Bytes in a `struct pt_regs`.
pub const PT_REGS_SIZE: u64 = 21 * 8;
/// `IRET_FRAME_OFFSET`: where the hardware iret frame starts in pt_regs.
pub const IRET_FRAME_OFFSET: u64 = 16 * 8;
/// `IRET_FRAME_SIZE`: ip, cs, flags, sp, ss.
pub const IRET_FRAME_SIZE: u64 = 5 * 8;

/// The register names, in `struct pt_regs` order.
pub const PT_REGS_NAMES: [&str; 21] = [
    "r15", "r14", "r13", "r12", "bp", "bx", "r11", "r10", "r9", "r8", "ax", "cx", "dx", "si", "di",
    "orig_ax", "ip", "cs", "flags", "sp", "ss",
];

/// An x86_64 `struct pt_regs`, word by word in kernel order.
///
/// A partial set (from a REGS_PARTIAL frame, the iret frame only) has zeros
/// in the first 16 words; [`crate::Frame::regs_partial`] says which it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct PtRegs {
    /// The 21 words, `r15` first and `ss` last.
    pub words: [u64; 21],
}

macro_rules! accessors {
    ($($name:ident = $idx:expr),* $(,)?) => {
        impl PtRegs {
            $(
                #[doc = concat!("`", stringify!($name), "` (word ", stringify!($idx), ").")]
                pub fn $name(&self) -> u64 {
                    self.words[$idx]
                }
            )*
        }
    };
}

accessors! {
    r15 = 0, r14 = 1, r13 = 2, r12 = 3, bp = 4, bx = 5, r11 = 6, r10 = 7, r9 = 8, r8 = 9,
    ax = 10, cx = 11, dx = 12, si = 13, di = 14, orig_ax = 15, ip = 16, cs = 17, flags = 18,
    sp = 19, ss = 20,
}

impl PtRegs {
    /// Index of `ip` in [`words`](Self::words).
    pub const IP: usize = 16;
    /// Index of `cs`.
    pub const CS: usize = 17;
    /// Index of `flags`.
    pub const FLAGS: usize = 18;
    /// Index of `sp`.
    pub const SP: usize = 19;
    /// Index of `ss`.
    pub const SS: usize = 20;
    /// Index of `bp`.
    pub const BP: usize = 4;
    /// Index of `r13`.
    pub const R13: usize = 2;
    /// Index of `r10`.
    pub const R10: usize = 7;
    /// Index of `dx`.
    pub const DX: usize = 12;
    /// Index of `di`.
    pub const DI: usize = 14;
    /// Index of `orig_ax`.
    pub const ORIG_AX: usize = 15;

    /// Decodes `PT_REGS_SIZE` little-endian bytes.
    pub fn from_bytes(bytes: &[u8; PT_REGS_SIZE as usize]) -> PtRegs {
        let mut words = [0u64; 21];
        for (w, chunk) in words.iter_mut().zip(bytes.chunks_exact(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            *w = u64::from_le_bytes(b);
        }
        PtRegs { words }
    }

    /// Encodes as the kernel lays it out.
    pub fn to_bytes(&self) -> [u8; PT_REGS_SIZE as usize] {
        let mut out = [0u8; PT_REGS_SIZE as usize];
        for (chunk, w) in out.chunks_exact_mut(8).zip(self.words.iter()) {
            chunk.copy_from_slice(&w.to_le_bytes());
        }
        out
    }

    /// A partial set from an iret frame: `ip, cs, flags, sp, ss`.
    pub fn from_iret(frame: [u64; 5]) -> PtRegs {
        let mut words = [0u64; 21];
        for (w, v) in words.iter_mut().skip(Self::IP).zip(frame) {
            *w = v;
        }
        PtRegs { words }
    }

    /// The register called `name` (as in [`PT_REGS_NAMES`]).
    pub fn get(&self, name: &str) -> Option<u64> {
        PT_REGS_NAMES
            .iter()
            .position(|n| *n == name)
            .and_then(|i| self.words.get(i).copied())
    }

    /// `(name, value)` pairs in `struct pt_regs` order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        PT_REGS_NAMES
            .iter()
            .copied()
            .zip(self.words.iter().copied())
    }

    /// The kernel's x86_64 `user_mode()`: `!!(regs->cs & 3)`.
    pub fn is_user_mode(&self) -> bool {
        self.cs() & 3 != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        let mut r = PtRegs::default();
        for (i, w) in r.words.iter_mut().enumerate() {
            *w = i as u64;
        }
        assert_eq!(
            (r.r15(), r.bp(), r.r10(), r.r13(), r.dx(), r.di()),
            (0, 4, 7, 2, 12, 14)
        );
        assert_eq!(
            (r.orig_ax(), r.ip(), r.cs(), r.flags(), r.sp(), r.ss()),
            (15, 16, 17, 18, 19, 20)
        );
        assert_eq!(r.get("si"), Some(13));
        assert_eq!(r.get("rip"), None);
        assert_eq!(r.iter().nth(16), Some(("ip", 16)));
        assert_eq!(PtRegs::from_bytes(&r.to_bytes()), r);
        assert_eq!(IRET_FRAME_OFFSET + IRET_FRAME_SIZE, PT_REGS_SIZE);
        let p = PtRegs::from_iret([1, 0x33, 2, 3, 0x2b]);
        assert!(p.is_user_mode());
        assert_eq!((p.ip(), p.sp(), p.r15()), (1, 3, 0));
        assert!(!PtRegs::from_iret([1, 0x10, 2, 3, 0x18]).is_user_mode());
    }
}
