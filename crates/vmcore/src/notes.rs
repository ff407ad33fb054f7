//! ELF notes of a vmcore: `NT_PRSTATUS` (one per CPU, registers at the
//! crash) and `VMCOREINFO`. The same note layout appears in ELF cores'
//! PT_NOTE segments and in the kdump sub-header's note area.

use crate::bytes::{u16_le, u32_le, u64_le};

/// Notes parsed from one area before it is judged corrupt.
pub const MAX_NOTES: usize = 65536;

/// One ELF note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note<'a> {
    /// Owner name without the trailing NUL (`"CORE"`, `"VMCOREINFO"`, `"QEMU"`).
    pub name: &'a [u8],
    /// Note type.
    pub n_type: u32,
    /// Payload.
    pub desc: &'a [u8],
    /// Offset of the note header within the area.
    pub offset: usize,
}

/// Parse an area of notes. Stops at the first note that does not fit (or a
/// zero-filled tail) and reports where in the second value.
pub fn parse_notes(area: &[u8]) -> (Vec<Note<'_>>, Option<usize>) {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while out.len() < MAX_NOTES {
        let Some(header) = area.get(pos..).and_then(|r| r.get(..NOTE_HEADER_LEN)) else {
            break;
        };
        let namesz = u32_le(header, 0) as usize;
        let descsz = u32_le(header, 4) as usize;
        let n_type = u32_le(header, 8);
        if namesz == 0 && descsz == 0 && n_type == 0 {
            // /proc/vmcore pads per-CPU note buffers with zeros.
            return (out, None);
        }
        let Some((name, desc, next)) = note_body(area, pos, namesz, descsz) else {
            return (out, Some(pos));
        };
        let name = name.strip_suffix(&[0]).unwrap_or(name);
        out.push(Note {
            name,
            n_type,
            desc,
            offset: pos,
        });
        pos = next;
    }
    (out, None)
}

/// `Elf64_Nhdr`: `n_namesz`, `n_descsz`, `n_type`.
const NOTE_HEADER_LEN: usize = 12;

/// The name and payload of the note whose header is at `pos`, and where the
/// next note starts (both padded to 4 bytes); `None` if they do not fit.
fn note_body(
    area: &[u8],
    pos: usize,
    namesz: usize,
    descsz: usize,
) -> Option<(&[u8], &[u8], usize)> {
    let align4 = |n: usize| n.checked_add(3).map(|v| v & !3);
    let name_at = pos.checked_add(NOTE_HEADER_LEN)?;
    let desc_at = name_at.checked_add(align4(namesz)?)?;
    let next = desc_at.checked_add(align4(descsz)?)?;
    let name = area.get(name_at..)?.get(..namesz)?;
    let desc = area.get(desc_at..)?.get(..descsz)?;
    Some((name, desc, next))
}

/// Registers of one CPU from `NT_PRSTATUS` (x86_64 `struct elf_prstatus`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PrStatus {
    /// Index in note order (the kernel writes one per online CPU in CPU order).
    pub index: usize,
    /// `pr_pid`: the task that was running on the CPU.
    pub pid: u32,
    /// `pr_cursig`.
    pub signal: u16,
    /// `(name, value)` in `user_regs_struct` order.
    pub regs: Vec<(&'static str, u64)>,
}

impl PrStatus {
    /// A register by name (`"rip"`, `"rsp"`, …).
    pub fn reg(&self, name: &str) -> Option<u64> {
        self.regs.iter().find(|(n, _)| *n == name).map(|&(_, v)| v)
    }
}

/// x86_64 `user_regs_struct` field order.
pub const X86_64_REGS: [&str; 27] = [
    "r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx", "rdx", "rsi",
    "rdi", "orig_rax", "rip", "cs", "eflags", "rsp", "ss", "fs_base", "gs_base", "ds", "es", "fs",
    "gs",
];
/// Offset of `pr_reg` in x86_64 `struct elf_prstatus`.
pub const PRSTATUS_REG_OFFSET: usize = 112;
/// Size of x86_64 `struct elf_prstatus`.
pub const PRSTATUS_SIZE: usize = 336;

/// End of `pr_reg` in x86_64 `struct elf_prstatus`.
const PRSTATUS_REG_END: usize = PRSTATUS_REG_OFFSET + 8 * X86_64_REGS.len();

/// Decode an x86_64 `NT_PRSTATUS` payload; `None` if too short.
pub fn parse_prstatus(index: usize, desc: &[u8]) -> Option<PrStatus> {
    let pr_reg = desc.get(PRSTATUS_REG_OFFSET..PRSTATUS_REG_END)?;
    let regs = X86_64_REGS
        .iter()
        .zip(pr_reg.chunks_exact(8))
        .map(|(&n, v)| (n, u64_le(v, 0)))
        .collect();
    Some(PrStatus {
        index,
        signal: u16_le(desc, 12),
        pid: u32_le(desc, 32),
        regs,
    })
}
