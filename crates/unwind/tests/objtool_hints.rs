//! Entry decoding against objtool itself, for both layouts.
//!
//! An assembler file with a C-like function and entry code annotated with
//! `.discard.unwind_hints` records (the kernel's `UNWIND_HINT` macro,
//! `struct unwind_hint`: `u32 ip; s16 sp_offset; u8 sp_reg; u8 type;`
//! then `u8 end` in 6.1's include/linux/objtool.h or `u8 signal` in 6.12's
//! include/linux/objtool_types.h) goes through each installed kernel's
//! objtool (`--orc`, then `--dump=orc`); the `.orc_unwind` bytes objtool
//! wrote, decoded by us, must print as objtool prints them. Covers every
//! type (the V2 UNDEFINED and END_OF_STACK too, and REGS with and without
//! the signal bit) and the SP, BP, SP_INDIRECT, R10, R13, DI, DX base
//! registers.
//!
//! objtool comes from Debian's linux-kbuild-X packages
//! (`/usr/lib/linux-kbuild-*/tools/objtool/objtool`, layout by version:
//! 6.4 and later are V2) or `CRASHVIEW_OBJTOOL` (a 6.1 one); `as` from
//! binutils. Skipped with a message when missing.

use std::path::{Path, PathBuf};
use std::process::Command;

use crashview_unwind::orc::reg;
use crashview_unwind::{OrcEntry, OrcKind, OrcLayout};
use object::{Object, ObjectSection};

#[derive(Clone, Copy)]
enum Hint {
    Call,
    Regs { signal: bool },
    Partial,
    End,
    Undefined,
}

/// (sp_reg, sp_offset, type) hints, in code order.
const HINTS: &[(u8, i16, Hint)] = &[
    (reg::SP, 0, Hint::Partial),
    (reg::SP, 8, Hint::Partial),
    (reg::SP, 0, Hint::Regs { signal: true }),
    (reg::SP_INDIRECT, 8, Hint::Call),
    (reg::R10, 0, Hint::Call),
    (reg::DI, 16, Hint::Regs { signal: false }),
    (reg::DX, -8, Hint::Call),
    (reg::R13, 0, Hint::Partial),
    (reg::UNDEFINED, 0, Hint::End),
];

/// The `(type, last byte)` of a hint: 6.1 `UNWIND_HINT_TYPE_*` and `end`,
/// 6.12 `UNWIND_HINT_TYPE_*` and `signal`.
fn hint_bytes(h: Hint, layout: OrcLayout) -> (u8, u8) {
    match (layout, h) {
        (OrcLayout::V1, Hint::Call) => (0, 0),
        (OrcLayout::V1, Hint::Regs { .. }) => (1, 0),
        (OrcLayout::V1, Hint::Partial) => (2, 0),
        (OrcLayout::V1, Hint::End) => (0, 1), // UNWIND_HINT_EMPTY
        (OrcLayout::V1, Hint::Undefined) => (0, 0),
        (OrcLayout::V2, Hint::Undefined) => (0, 0),
        (OrcLayout::V2, Hint::End) => (1, 0),
        (OrcLayout::V2, Hint::Call) => (2, 0),
        (OrcLayout::V2, Hint::Regs { signal }) => (3, signal as u8),
        (OrcLayout::V2, Hint::Partial) => (4, 1),
        // 6.3's hint had both a signal and an end byte; Debian packages no
        // 6.3 objtool, so objtools() never yields V1Signal.
        (OrcLayout::V1Signal, _) => unimplemented!("6.3 hints"),
    }
}

fn source(layout: OrcLayout) -> String {
    let mut s = String::from(
        ".macro HINT sp_reg:req, sp_offset:req, type:req, last:req
.Lh\\@:
\t.pushsection .discard.unwind_hints
\t.long .Lh\\@ - .
\t.short \\sp_offset
\t.byte \\sp_reg
\t.byte \\type
\t.byte \\last
\t.balign 4
\t.popsection
.endm
\t.text
\t.globl f_call
\t.type f_call, @function
f_call:
\tpush %rbp
\tmov %rsp, %rbp
\tpush %rbx
\tcall g
\tpop %rbx
\tpop %rbp
\tret
\t.size f_call, .-f_call
\t.globl entry_x
entry_x:
",
    );
    for (r, off, h) in HINTS {
        let (t, last) = hint_bytes(*h, layout);
        s.push_str(&format!("\tHINT {r}, {off}, {t}, {last}\n"));
        s.push_str(if matches!(h, Hint::End) {
            "\tud2\n"
        } else {
            "\tnop\n"
        });
    }
    let (t, last) = hint_bytes(Hint::Undefined, layout);
    s.push_str(&format!(
        "\t.globl entry_y\nentry_y:\n\tHINT 0, 0, {t}, {last}\n\tud2\n"
    ));
    s
}

fn print_reg(r: u8, off: i16) -> String {
    match r {
        reg::BP_INDIRECT => format!("(bp{off:+})"),
        reg::SP_INDIRECT => format!("(sp){off:+}"),
        reg::UNDEFINED => "(und)".to_string(),
        _ => format!("{}{off:+}", reg::name(r)),
    }
}

/// Our entry in the dump format of objtool for `layout`. V1's type and end
/// bits under an UNDEFINED sp_reg are not kept by decoding, but for the
/// entries objtool writes they are known: type CALL (0), end as the kind.
fn dump_line(e: &OrcEntry, layout: OrcLayout) -> String {
    let sp = print_reg(e.sp_reg, e.sp_offset);
    let bp = print_reg(e.bp_reg, e.bp_offset);
    match layout {
        OrcLayout::V1 | OrcLayout::V1Signal => {
            let ty = match e.kind {
                OrcKind::Regs => "regs",
                OrcKind::RegsPartial => "regs (partial)",
                _ => "call",
            };
            let end = (e.kind == OrcKind::EndOfStack) as u8;
            if layout == OrcLayout::V1 {
                format!("sp:{sp} bp:{bp} type:{ty} end:{end}")
            } else {
                // 6.3's orc_dump.c: " type:%s signal:%d end:%d".
                let signal = e.signal as u8;
                format!("sp:{sp} bp:{bp} type:{ty} signal:{signal} end:{end}")
            }
        }
        OrcLayout::V2 => {
            let ty = match e.kind {
                OrcKind::Undefined => "(und)",
                OrcKind::EndOfStack => "end",
                OrcKind::Call => "call",
                OrcKind::Regs => "regs",
                OrcKind::RegsPartial => "regs (partial)",
            };
            format!("type:{ty} sp:{sp} bp:{bp} signal:{}", e.signal as u8)
        }
    }
}

/// Installed objtools and their layouts.
fn objtools() -> Vec<(PathBuf, OrcLayout, String)> {
    let mut v = Vec::new();
    if let Some(p) = std::env::var_os("CRASHVIEW_OBJTOOL").filter(|p| !p.is_empty()) {
        v.push((
            PathBuf::from(p),
            OrcLayout::V1,
            "CRASHVIEW_OBJTOOL".to_string(),
        ));
    }
    let Ok(dir) = std::fs::read_dir("/usr/lib") else {
        return v;
    };
    for d in dir.flatten() {
        let name = d.file_name().to_string_lossy().into_owned();
        let Some(ver) = name.strip_prefix("linux-kbuild-") else {
            continue;
        };
        let mut nums = ver
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|n| n.parse::<u32>().ok());
        let (Some(major), Some(minor)) = (nums.next(), nums.next()) else {
            continue;
        };
        let tool = d.path().join("tools/objtool/objtool");
        if tool.is_file() {
            let layout = if (major, minor) >= (6, 4) {
                OrcLayout::V2
            } else {
                OrcLayout::V1
            };
            v.push((tool, layout, name));
        }
    }
    v
}

fn run(tool: &Path, args: &[&str], obj: &Path) -> Result<String, String> {
    // Debian's objtool is a wrapper picking objtool.real-$SRCARCH.
    let out = Command::new(tool)
        .env("SRCARCH", "x86")
        .args(args)
        .arg(obj)
        .output()
        .map_err(|e| e.to_string())?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() || stderr.contains("warning") {
        return Err(format!("{} {args:?}: {stderr}", tool.display()));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn objtool_dumps_match_our_decoding() {
    let tools = objtools();
    if tools.is_empty() {
        eprintln!("skipped: no objtool (install linux-kbuild-6.1 or set CRASHVIEW_OBJTOOL)");
        return;
    }
    let dir = std::env::temp_dir().join(format!("crashview-unwind-hints-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut checked = Vec::new();
    for (i, (tool, layout, name)) in tools.iter().enumerate() {
        let asm = dir.join(format!("t{i}.S"));
        let obj = dir.join(format!("t{i}.o"));
        std::fs::write(&asm, source(*layout)).unwrap();
        match Command::new("as").arg(&asm).arg("-o").arg(&obj).status() {
            Ok(s) if s.success() => {}
            other => {
                eprintln!("skipped: `as` failed or is missing ({other:?})");
                let _ = std::fs::remove_dir_all(&dir);
                return;
            }
        }
        run(tool, &["--orc"], &obj).unwrap();
        let dump = run(tool, &["--dump=orc"], &obj).unwrap();
        let data = std::fs::read(&obj).unwrap();
        let elf = object::File::parse(&*data).unwrap();
        let raw = elf
            .section_by_name(".orc_unwind")
            .expect(".orc_unwind")
            .data()
            .unwrap()
            .to_vec();
        let lines: Vec<&str> = dump.lines().collect();
        assert_eq!(
            raw.len(),
            6 * lines.len(),
            "{name}: entries vs dump lines\n{dump}"
        );
        assert!(lines.len() >= HINTS.len() + 4, "{name}: {dump}");
        for (chunk, line) in raw.chunks_exact(6).zip(&lines) {
            let bytes: [u8; 6] = chunk.try_into().unwrap();
            let e = OrcEntry::decode(bytes, *layout)
                .unwrap_or_else(|| panic!("{name}: {bytes:?} undecodable"));
            // "<.text+off>: <fields>" (6.1) or "<.text+off>:<fields>" (6.12).
            let fields = line.split_once(':').unwrap().1.trim_start();
            assert_eq!(dump_line(&e, *layout), fields, "{name}: {bytes:02x?}");
        }
        checked.push(format!("{name} ({layout:?}, {} entries)", lines.len()));
    }
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!("decoding matches objtool --dump=orc of {checked:?}");
}
