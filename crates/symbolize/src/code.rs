//! Disassembly of `Code:` lines (x86-64), like the kernel's
//! `scripts/decodecode`.
//!
//! The kernel prints 42 bytes before the faulting instruction and the rest
//! after it, marking the faulting instruction's first byte as `<xx>`. The
//! first printed byte is rarely an instruction boundary, so we decode from
//! the earliest start offset whose instruction stream lands exactly on the
//! marked byte, and mark that instruction.

use iced_x86::{Decoder, DecoderOptions, Formatter, GasFormatter, Instruction};

use crate::parse::Code;

/// One decoded instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Insn {
    /// Offset of the first byte in the `Code:` bytes.
    pub offset: usize,
    /// The instruction bytes.
    pub bytes: Vec<u8>,
    /// AT&T syntax, as objdump prints it.
    pub text: String,
    /// This is the faulting instruction (the `<xx>` byte starts it).
    pub fault: bool,
}

fn decode_from(bytes: &[u8], start: usize, ip: u64) -> Vec<(usize, Instruction)> {
    let Some(slice) = bytes.get(start..) else {
        return Vec::new();
    };
    let mut d = Decoder::with_ip(
        64,
        slice,
        ip.wrapping_add(start as u64),
        DecoderOptions::NONE,
    );
    let mut out = Vec::new();
    let mut pos = start;
    // Each instruction consumes at least one byte, so this ends; the bound
    // is belt and braces.
    while d.can_decode() && out.len() <= bytes.len() {
        let ins = d.decode();
        out.push((pos, ins));
        pos = pos.saturating_add(ins.len());
    }
    out
}

/// Disassembles `code`. `ip` is the address of the first byte, when known
/// (it only changes how branch targets print).
pub fn disassemble(code: &Code, ip: Option<u64>) -> Vec<Insn> {
    let bytes = &code.bytes;
    let ip = ip.unwrap_or(0);
    let stream = match code.fault {
        Some(f) => (0..=f)
            .map(|start| decode_from(bytes, start, ip))
            .find(|s| {
                s.iter().any(|(p, _)| *p == f)
                    && s.iter()
                        .take_while(|(p, _)| *p < f)
                        .all(|(_, i)| !i.is_invalid())
            })
            .unwrap_or_else(|| decode_from(bytes, f, ip)),
        None => decode_from(bytes, 0, ip),
    };
    let mut fmt = GasFormatter::new();
    // objdump's style: lower-case 0x-prefixed hex everywhere.
    let o = fmt.options_mut();
    o.set_hex_prefix("0x");
    o.set_hex_suffix("");
    o.set_uppercase_hex(false);
    o.set_small_hex_numbers_in_decimal(false);
    o.set_branch_leading_zeros(false);
    let mut out = Vec::with_capacity(stream.len());
    for (pos, ins) in stream {
        let mut text = String::new();
        if ins.is_invalid() {
            text.push_str("(bad)");
        } else {
            fmt.format(&ins, &mut text);
        }
        let end = pos.saturating_add(ins.len()).min(bytes.len());
        out.push(Insn {
            offset: pos,
            bytes: bytes.get(pos..end).unwrap_or_default().to_vec(),
            text,
            fault: code.fault == Some(pos),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_the_faulting_instruction() {
        // From the irq-oops fixture: `movl $0x1,0x8` faults.
        let text = "Code: 70 31 60 c0 e8 4c 5c 80 e4 8b 43 08 5b c3 cc cc cc cc 0f 1f 44 00 00 48 c7 c6 80 32 60 c0 48 c7 c7 98 31 60 c0 e8 2b 5c 80 e4 <c7> 04 25 08 00 00 00 01 00 00 00 c3 cc cc cc cc 0f 1f 44 00 00 48";
        let crate::parse::Line::Code(code) = crate::parse::classify(text, 0) else {
            panic!()
        };
        let insns = disassemble(&code, None);
        let f: Vec<_> = insns.iter().filter(|i| i.fault).collect();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].offset, 42);
        assert_eq!(f[0].text, "movl $0x1,0x8");
        // What precedes it decodes to a call (the pr_info).
        assert!(insns.iter().any(|i| i.text.starts_with("call")));
    }
}
