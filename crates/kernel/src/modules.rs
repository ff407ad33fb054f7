//! Loaded modules (the `modules` list): name, memory, taint, and each
//! module's own symbol table (`module->kallsyms`, an ELF `symtab` +
//! `strtab` kept in module memory) and ORC table (`module->arch`).

use std::collections::HashSet;

use crashview_unwind::OrcTable;

use crate::anchors::Anchors;
use crate::layout::{Layout, ModuleLayout, ModuleMem};
use crate::mem::{at, Mem, ReadError};
use crate::{Note, Symbol};

/// More modules than this is a list gone wrong.
const MAX_MODULES: usize = 1 << 14;
/// More symbols in one module than this is corrupt.
const MAX_MODULE_SYMBOLS: u32 = 1 << 20;
/// Size of `Elf64_Sym`.
const ELF64_SYM: u64 = 24;
/// Bytes of a module's `strtab` read at most.
const MAX_STRTAB: u64 = 16 << 20;

/// A memory range of a module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// Start.
    pub base: u64,
    /// Length.
    pub size: u64,
}

impl Range {
    fn contains(&self, a: u64) -> bool {
        a.checked_sub(self.base).is_some_and(|d| d < self.size)
    }
}

/// One symbol of a module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleSymbol {
    /// Name.
    pub name: String,
    /// Address.
    pub value: u64,
    /// `st_size` (0 when the object file gave none).
    pub size: u64,
    /// Type letter from `typetab` (`t`, `T`, `d`…), when the kernel keeps one.
    pub kind: char,
}

/// One loaded module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    /// Address of its `struct module`.
    pub addr: u64,
    /// Name.
    pub name: String,
    /// `state` (0 live, 1 coming, 2 going, 3 unformed).
    pub state: u32,
    /// `taints` as `/proc/modules` prints them (`OE`…), empty when none.
    pub taints: String,
    /// Start of its core memory (text): `core_layout.base` / `mem[MOD_TEXT].base`.
    pub base: u64,
    /// Its core size: `core_layout.size` / the sum of the core `mem[]` sizes.
    pub size: u64,
    /// Every memory range (core and init) symbols are looked up in.
    pub ranges: Vec<Range>,
    /// Its symbols, sorted by address (named, defined ones only).
    pub symbols: Vec<ModuleSymbol>,
    /// Its ORC table.
    pub(crate) orc: Option<OrcTable>,
}

impl Module {
    /// The address is in one of its memory ranges.
    pub fn contains(&self, addr: u64) -> bool {
        self.ranges.iter().any(|r| r.contains(addr))
    }

    /// The symbol containing `addr` (the nearest named symbol at or below it
    /// in the same memory range, as `find_kallsyms_symbol`, which also sizes
    /// it: to the next symbol or the end of the range).
    pub fn lookup(&self, addr: u64) -> Option<Symbol> {
        let range = self.ranges.iter().find(|r| r.contains(addr))?;
        let after = self.symbols.partition_point(|s| s.value <= addr);
        let s = self.symbols.get(after.checked_sub(1)?)?;
        if !range.contains(s.value) {
            return None;
        }
        let end = range.base.saturating_add(range.size);
        let next = self
            .symbols
            .get(after..)
            .and_then(|r| r.iter().find(|n| n.value > s.value))
            .map_or(end, |n| n.value.min(end));
        Some(Symbol {
            name: s.name.clone(),
            offset: addr.checked_sub(s.value)?,
            size: next.checked_sub(s.value)?,
            module: Some(self.name.clone()),
        })
    }
}

/// The letters of module taint bits (kernel/panic.c `taint_flags`, the
/// entries marked for modules; the same bits in 6.1 and 6.12).
fn taint_letters(bits: u64) -> String {
    const MODULE_TAINTS: [(u32, char); 9] = [
        (0, 'P'),
        (1, 'F'),
        (10, 'C'),
        (12, 'O'),
        (13, 'E'),
        (15, 'K'),
        (16, 'X'),
        (17, 'T'),
        (18, 'N'),
    ];
    MODULE_TAINTS
        .iter()
        .filter(|(b, _)| bits & (1u64 << b) != 0)
        .map(|&(_, c)| c)
        .collect()
}

pub(crate) fn read(
    m: Mem<'_>,
    syms: &Anchors,
    layout: &Layout,
    notes: &mut Vec<Note>,
) -> Vec<Module> {
    let ml = match &layout.module {
        Ok(ml) => ml,
        Err(e) => {
            notes.push(Note {
                part: "modules".into(),
                message: e.to_string(),
            });
            return Vec::new();
        }
    };
    let Some(head) = syms.get("modules") else {
        notes.push(Note {
            part: "modules".into(),
            message: "kallsyms has no `modules` list".into(),
        });
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut node = head;
    loop {
        let next = match m.u64("module list", node) {
            Ok(n) => n,
            Err(e) => {
                notes.push(Note {
                    part: "modules".into(),
                    message: format!("{e}; the list is cut here"),
                });
                break;
            }
        };
        if next == head {
            break;
        }
        if !seen.insert(next) || out.len() >= MAX_MODULES {
            notes.push(Note {
                part: "modules".into(),
                message: format!("the module list loops or is too long at {next:#x}; cut there"),
            });
            break;
        }
        node = next;
        let Some(addr) = next.checked_sub(ml.list) else {
            continue;
        };
        match module(m, ml, layout, addr, notes) {
            Ok(md) => out.push(md),
            Err(e) => notes.push(Note {
                part: format!("module at {addr:#x}"),
                message: e.to_string(),
            }),
        }
    }
    out
}

fn ranges(m: Mem<'_>, ml: &ModuleLayout, addr: u64) -> Result<(u64, u64, Vec<Range>), ReadError> {
    let f = |o: u64, w: &str| at(addr, o, w);
    match &ml.mem {
        ModuleMem::Layouts {
            core_base,
            core_size,
            init_base,
            init_size,
            ..
        } => {
            let base = m.u64("module.core_layout.base", f(*core_base, "core_layout")?)?;
            let size = u64::from(m.u32("module.core_layout.size", f(*core_size, "core_layout")?)?);
            let ibase = m.u64("module.init_layout.base", f(*init_base, "init_layout")?)?;
            let isize = u64::from(m.u32("module.init_layout.size", f(*init_size, "init_layout")?)?);
            let mut r = vec![Range { base, size }];
            if ibase != 0 && isize != 0 {
                r.push(Range {
                    base: ibase,
                    size: isize,
                });
            }
            Ok((base, size, r))
        }
        ModuleMem::Mem {
            at: mem_at,
            stride,
            count,
            base,
            size,
        } => {
            let mut r = Vec::new();
            let mut core_size = 0u64;
            let mut text = 0u64;
            // enum mod_mem_type: MOD_TEXT, MOD_DATA, MOD_RODATA,
            // MOD_RO_AFTER_INIT are core; MOD_INIT_* follow (module.h).
            for i in 0..(*count).min(16) {
                let e = at(
                    addr,
                    mem_at.saturating_add(stride.saturating_mul(u64::from(i))),
                    "module.mem",
                )?;
                let b = m.u64("module.mem[].base", at(e, *base, "module.mem[].base")?)?;
                let s = u64::from(m.u32("module.mem[].size", at(e, *size, "module.mem[].size")?)?);
                if i == 0 {
                    text = b;
                }
                if i < 4 {
                    core_size = core_size.saturating_add(s);
                }
                if b != 0 && s != 0 {
                    r.push(Range { base: b, size: s });
                }
            }
            Ok((text, core_size, r))
        }
    }
}

fn module(
    m: Mem<'_>,
    ml: &ModuleLayout,
    layout: &Layout,
    addr: u64,
    notes: &mut Vec<Note>,
) -> Result<Module, ReadError> {
    let f = |o: u64, w: &str| at(addr, o, w);
    let name = m.fixed_str(
        "module.name",
        f(ml.name.0, "module.name")?,
        ml.name.1 as usize,
    )?;
    let state = m.u32("module.state", f(ml.state, "module.state")?)?;
    let taints = taint_letters(m.u64("module.taints", f(ml.taints, "module.taints")?)?);
    let (base, size, ranges) = ranges(m, ml, addr)?;
    let symbols = match symbols(m, ml, addr) {
        Ok(s) => s,
        Err(e) => {
            notes.push(Note {
                part: format!("module {name} symbols"),
                message: e.to_string(),
            });
            Vec::new()
        }
    };
    let orc = match (ml.num_orcs, ml.orc_ip, ml.orc) {
        (Some(n), Some(ip), Some(o)) => (|| -> Result<Option<OrcTable>, ReadError> {
            let count = m.u32("module.arch.num_orcs", f(n, "arch")?)?;
            let ip_table = m.u64("module.arch.orc_unwind_ip", f(ip, "arch")?)?;
            let entries = m.u64("module.arch.orc_unwind", f(o, "arch")?)?;
            Ok(
                (count > 0 && ip_table != 0 && entries != 0).then_some(OrcTable {
                    ip_table,
                    entries,
                    count,
                    lookup: None,
                    layout: layout.orc,
                }),
            )
        })()
        .unwrap_or_else(|e| {
            notes.push(Note {
                part: format!("module {name} ORC"),
                message: e.to_string(),
            });
            None
        }),
        _ => None,
    };
    Ok(Module {
        addr,
        name,
        state,
        taints,
        base,
        size,
        ranges,
        symbols,
        orc,
    })
}

/// The module's `Elf64_Sym` table and names.
fn symbols(m: Mem<'_>, ml: &ModuleLayout, addr: u64) -> Result<Vec<ModuleSymbol>, ReadError> {
    let ks = m.u64("module.kallsyms", at(addr, ml.kallsyms, "module.kallsyms")?)?;
    let symtab = m.u64(
        "mod_kallsyms.symtab",
        at(ks, ml.symtab, "mod_kallsyms.symtab")?,
    )?;
    let num = m.u32(
        "mod_kallsyms.num_symtab",
        at(ks, ml.num_symtab, "mod_kallsyms.num_symtab")?,
    )?;
    let strtab = m.u64(
        "mod_kallsyms.strtab",
        at(ks, ml.strtab, "mod_kallsyms.strtab")?,
    )?;
    let typetab = match ml.typetab {
        Some(o) => Some(m.u64("mod_kallsyms.typetab", at(ks, o, "mod_kallsyms.typetab")?)?),
        None => None,
    };
    if num > MAX_MODULE_SYMBOLS {
        return Err(ReadError {
            what: "mod_kallsyms.num_symtab".into(),
            addr: ks,
            reason: format!("{num} symbols is more than any module has"),
        });
    }
    let mut raw = vec![0u8; (u64::from(num).saturating_mul(ELF64_SYM)) as usize];
    m.bytes("module symtab", symtab, &mut raw)?;
    let mut types = vec![0u8; num as usize];
    if let Some(t) = typetab.filter(|&t| t != 0) {
        m.bytes("module typetab", t, &mut types)?;
    }
    // The string table runs to the furthest name: read it once.
    let sym = |i: usize| raw.get(i.saturating_mul(24)..i.saturating_mul(24).saturating_add(24));
    let name_end = (0..num as usize)
        .filter_map(sym)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as u64)
        .max()
        .unwrap_or(0)
        .saturating_add(256)
        .min(MAX_STRTAB);
    let mut strs = vec![0u8; name_end as usize];
    if m.bytes("module strtab", strtab, &mut strs).is_err() {
        // The last name may end near unreadable memory: read to it exactly.
        strs.truncate(name_end.saturating_sub(256) as usize);
        m.bytes("module strtab", strtab, &mut strs)?;
    }
    let mut out = Vec::new();
    // ELF starts real symbols at 1.
    for i in 1..num as usize {
        let Some(s) = sym(i) else { break };
        let st_name = u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as usize;
        let shndx = u16::from_le_bytes([s[6], s[7]]);
        let value = u64::from_le_bytes([s[8], s[9], s[10], s[11], s[12], s[13], s[14], s[15]]);
        let size = u64::from_le_bytes([s[16], s[17], s[18], s[19], s[20], s[21], s[22], s[23]]);
        if shndx == 0 {
            continue; // SHN_UNDEF
        }
        let name_bytes = strs.get(st_name..).unwrap_or_default();
        let end = name_bytes
            .iter()
            .position(|&c| c == 0)
            .unwrap_or(name_bytes.len());
        let name = String::from_utf8_lossy(name_bytes.get(..end).unwrap_or_default());
        // Unnamed and mapping symbols say nothing (kernel/module/kallsyms.c).
        if name.is_empty()
            || name.starts_with('$')
            || name.starts_with(".L")
            || name.starts_with("L0")
        {
            continue;
        }
        out.push(ModuleSymbol {
            name: name.into_owned(),
            value,
            size,
            kind: types
                .get(i)
                .map(|&c| c as char)
                .filter(|c| c.is_ascii_alphabetic())
                .unwrap_or('?'),
        });
    }
    out.sort_by_key(|s| s.value);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taints_as_proc_modules() {
        assert_eq!(taint_letters((1 << 12) | (1 << 13)), "OE");
        assert_eq!(taint_letters(1), "P");
        assert_eq!(taint_letters(0), "");
    }

    #[test]
    fn module_lookup_stays_in_its_range() {
        let m = Module {
            addr: 0,
            name: "m".into(),
            state: 0,
            taints: String::new(),
            base: 0x1000,
            size: 0x100,
            ranges: vec![
                Range {
                    base: 0x1000,
                    size: 0x100,
                },
                Range {
                    base: 0x5000,
                    size: 0x10,
                },
            ],
            symbols: vec![
                ModuleSymbol {
                    name: "a".into(),
                    value: 0x1000,
                    size: 0x10,
                    kind: 't',
                },
                ModuleSymbol {
                    name: "b".into(),
                    value: 0x1040,
                    size: 0x10,
                    kind: 't',
                },
            ],
            orc: None,
        };
        let l = m.lookup(0x1044).unwrap();
        assert_eq!((l.name.as_str(), l.offset, l.size), ("b", 4, 0xc0));
        assert!(m.lookup(0x5004).is_none(), "no symbol in the init range");
        assert!(m.lookup(0x2000).is_none());
    }
}
