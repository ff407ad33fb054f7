/*!
Kernel call traces: find them in any log text and turn every
`function+0xoff/0xlen [module]` frame into source locations.

This is the job of the kernel's `scripts/decode_stacktrace.sh` (which runs
binutils `addr2line` once per frame), done in one process over
memory-mapped, lazily parsed DWARF.

The crate has three layers:

* [`parse`]: a line-oriented [nom] parser for call traces in pstore records,
  vmcore logs and pasted console output (with or without `<4>` levels and
  `[    2.1]` timestamps; `<IRQ>`/`<NMI>`/`<TASK>` sections; `?` unreliable
  frames; `RIP:` and `Code:` lines; the older `[<ffffffff…>] func+0x…` form).
  It also picks up what the log says about the kernel: the release, the
  `Kernel Offset:` (KASLR) and the vmlinux build id.
* [`elf`]: one ELF file (vmlinux or a module `.ko`) as a
  [`DebugObject`]: symbols, build id, and DWARF through [addr2line]. A `.ko`
  is relocatable (`ET_REL`): every section starts at address 0, so its
  allocated sections are laid out one after another (as binutils' BFD does)
  and the DWARF relocations are applied against that layout.
* [`resolve`]: a [`Symbolizer`] over a vmlinux and any number of modules
  that resolves [`Frame`]s to [`Resolution`]s, and says what it still
  [`needs`](Symbolizer::needs) rather than opening files itself.

With the `loader` feature, [`loader`] finds the debug files (build id,
`/usr/lib/debug/boot/vmlinux-<release>`, module trees) and maps them, and
[`debug_files`] picks the files one run needs; with
`disasm`, [`code`] disassembles `Code:` lines. [`index`] keeps what one run
computed about an object (symbols, unit ranges, resolved addresses) in a
file per build id, so the next run over the same vmlinux starts from it.

```no_run
use crashview_symbolize::{parse, DebugObject, SectionArena, Symbolizer};

let text = std::fs::read_to_string("dmesg.txt").unwrap();
let log = parse::parse_log(&text);
let ko = std::fs::read("crashmod.ko").unwrap();
let arena = SectionArena::new();
let mut sym = Symbolizer::new();
sym.add_module("crashmod", DebugObject::parse(&ko, &arena).unwrap());
for trace in &log.traces {
    for frame in trace.frames() {
        println!("{} -> {:?}", frame.text, sym.resolve(frame, &log.info));
    }
}
```

Features: `loader` (default: file discovery and mmap), `disasm` (default:
`Code:` disassembly with iced-x86).
*/
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)
)]
// Sizes, counts and offsets come from the data being read: every overflow
// is either checked (an error naming the field), wrapping on purpose, or
// saturating where a bound is all that matters. Tests compute freely.
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

#[cfg(feature = "disasm")]
pub mod code;
#[cfg(feature = "loader")]
pub mod debug_files;
pub mod elf;
mod error;
pub mod fetch;
pub mod frame;
pub mod index;
#[cfg(feature = "loader")]
pub mod index_store;
#[cfg(feature = "loader")]
pub mod loader;
pub mod parse;
pub mod resolve;

pub use crate::elf::{DebugObject, ReadAhead, SectionArena, SourceFrame};
pub use crate::error::{Error, Result};
pub use crate::parse::{Frame, Log, LogInfo, Trace};
pub use crate::resolve::{Lookup, Resolution, Symbolizer, MODULE_SPACE};
