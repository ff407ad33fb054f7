//! ORC tables of a real kernel: Debian's 6.1 -dbg vmlinux (the layout V1
//! kernel the fixtures boot), read through a [`Memory`] over its ELF
//! sections at their link addresses.
//!
//! * Every entry decoded by us equals objtool's own `--dump=orc` of the same
//!   file (objtool 6.1 from linux-kbuild-6.1, the independent decoder: C
//!   bitfields as gcc lays them out), when objtool and objcopy are present.
//! * `find` for function starts from the ELF symbol table gives CALL sp+8
//!   (the return address on top of the stack) and equals the rightmost
//!   objtool entry at or below the ip.
//! * With the lookup blocks (filled as `unwind_init()` fills `.orc_lookup`,
//!   which is NOBITS in the file) and without them the answers are the
//!   same for many ips, and the number of reads per lookup is logarithmic.
//!
//! The file: `CRASHVIEW_DBG_VMLINUX` (scripts/test.sh sets it), else the
//! usual cache paths; skipped with a message when absent. objtool:
//! `CRASHVIEW_OBJTOOL`, else linux-kbuild-6.1's.

use std::cell::Cell;
use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

use crashview_unwind::orc::reg;
use crashview_unwind::*;
use object::read::ReadCache;
use object::{Object, ObjectSection, ObjectSymbol, SymbolKind};

fn vmlinux() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CRASHVIEW_DBG_VMLINUX").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    [
        root.join("fixtures/.cache/dbg/vmlinux-6.1.0-57-amd64"),
        PathBuf::from("/work/dbg/usr/lib/debug/boot/vmlinux-6.1.0-57-amd64"),
    ]
    .into_iter()
    .find(|p| p.is_file())
}

fn objtool() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CRASHVIEW_OBJTOOL").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(p));
    }
    Some(PathBuf::from(
        "/usr/lib/linux-kbuild-6.1/tools/objtool/objtool",
    ))
    .filter(|p| p.is_file())
}

/// Section contents at their addresses, plus the lookup table we fill.
struct SectionMem {
    regions: Vec<(u64, Vec<u8>)>,
    reads: Cell<usize>,
}

impl Memory for SectionMem {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), Fault> {
        self.reads.set(self.reads.get() + 1);
        for (base, data) in &self.regions {
            if addr >= *base && addr - base + buf.len() as u64 <= data.len() as u64 {
                let off = (addr - base) as usize;
                buf.copy_from_slice(&data[off..off + buf.len()]);
                return Ok(());
            }
        }
        Err(Fault { addr })
    }
}

struct Kernel {
    mem: SectionMem,
    table: OrcTable,
    syms: HashMap<String, u64>,
    /// (address, name) of sized functions.
    funcs: Vec<(u64, String)>,
    path: PathBuf,
}

fn load(path: &Path) -> Kernel {
    let file = File::open(path).unwrap();
    let cache = ReadCache::new(file);
    let elf = object::File::parse(&cache).unwrap();
    let mut mem = SectionMem {
        regions: Vec::new(),
        reads: Cell::new(0),
    };
    for name in [".orc_unwind_ip", ".orc_unwind"] {
        let s = elf
            .section_by_name(name)
            .unwrap_or_else(|| panic!("{name} missing"));
        mem.regions.push((s.address(), s.data().unwrap().to_vec()));
    }
    let mut syms = HashMap::new();
    let mut funcs = Vec::new();
    for s in elf.symbols() {
        let Ok(name) = s.name() else { continue };
        if s.kind() == SymbolKind::Text && s.size() > 0 {
            funcs.push((s.address(), name.to_string()));
        }
        syms.insert(name.to_string(), s.address());
    }
    let sym = |n: &str| *syms.get(n).unwrap_or_else(|| panic!("symbol {n} missing"));
    let ip_bytes = sym("__stop_orc_unwind_ip") - sym("__start_orc_unwind_ip");
    let orc_bytes = sym("__stop_orc_unwind") - sym("__start_orc_unwind");
    assert_eq!(ip_bytes % 4, 0);
    assert_eq!(orc_bytes % ORC_ENTRY_SIZE, 0);
    assert_eq!(
        ip_bytes / 4,
        orc_bytes / ORC_ENTRY_SIZE,
        "ip and entry counts differ"
    );
    let table = OrcTable {
        ip_table: sym("__start_orc_unwind_ip"),
        entries: sym("__start_orc_unwind"),
        count: (ip_bytes / 4) as u32,
        lookup: None,
        layout: OrcLayout::V1,
    };
    funcs.sort();
    funcs.dedup_by_key(|f| f.0);
    Kernel {
        mem,
        table,
        syms,
        funcs,
        path: path.to_path_buf(),
    }
}

impl Kernel {
    fn sym(&self, n: &str) -> u64 {
        self.syms[n]
    }

    /// Fills orc_lookup[] as unwind_init() does at boot (6.1 and 6.12):
    /// block i holds the entry found for `_stext + i * LOOKUP_BLOCK_SIZE`
    /// by the whole-table search, the last slot that of `_etext`.
    fn with_lookup(&mut self) -> OrcTable {
        let (start, stop) = (self.sym("_stext"), self.sym("_etext"));
        let at = self.sym("orc_lookup");
        let num_blocks = ((self.sym("orc_lookup_end") - at) / 4) as u32;
        let mut bytes = Vec::new();
        for i in 0..num_blocks - 1 {
            let idx = self
                .table
                .find_index(&self.mem, start + LOOKUP_BLOCK_SIZE * i as u64)
                .unwrap()
                .unwrap();
            bytes.extend_from_slice(&idx.to_le_bytes());
        }
        let idx = self.table.find_index(&self.mem, stop).unwrap().unwrap();
        bytes.extend_from_slice(&idx.to_le_bytes());
        self.mem.regions.push((at, bytes));
        OrcTable {
            lookup: Some(OrcLookup {
                table: at,
                num_blocks,
                start_ip: start,
                end_ip: stop,
            }),
            ..self.table
        }
    }
}

/// objtool's print_reg() for an entry of ours.
fn objtool_reg(r: u8, off: i16) -> String {
    match r {
        reg::BP_INDIRECT => format!("(bp{off:+})"),
        reg::SP_INDIRECT => format!("(sp){off:+}"),
        reg::UNDEFINED => "(und)".to_string(),
        _ => format!("{}{off:+}", reg::name(r)),
    }
}

/// One objtool 6.1 `--dump=orc` line, reduced to what the kernel acts on:
/// an UNDEFINED sp_reg makes the type and offsets irrelevant.
fn normalize_objtool(line: &str) -> (u64, String) {
    let (addr, rest) = line
        .split_once(": ")
        .unwrap_or_else(|| panic!("odd objtool line {line}"));
    let addr = u64::from_str_radix(addr, 16).unwrap();
    let text = if rest.starts_with("sp:(und)") {
        if rest.ends_with("end:1") {
            "end-of-stack".to_string()
        } else {
            "undefined".to_string()
        }
    } else {
        // "sp:X bp:Y type:T end:E": the end bit only matters with sp undefined.
        rest.rsplit_once(" end:").unwrap().0.to_string()
    };
    (addr, text)
}

fn ours(e: &OrcEntry) -> String {
    match e.kind {
        OrcKind::EndOfStack => "end-of-stack".to_string(),
        OrcKind::Undefined => "undefined".to_string(),
        k => {
            let ty = match k {
                OrcKind::Call => "call",
                OrcKind::Regs => "regs",
                _ => "regs (partial)",
            };
            format!(
                "sp:{} bp:{} type:{ty}",
                objtool_reg(e.sp_reg, e.sp_offset),
                objtool_reg(e.bp_reg, e.bp_offset)
            )
        }
    }
}

/// Runs objtool --dump=orc on a copy of vmlinux without relocation and
/// debug sections: with `.rela.orc_unwind_ip` present objtool would name
/// ips through the relocations, which describe the table before
/// scripts/sorttable sorted it, not the table in the file.
fn objtool_dump(k: &Kernel) -> Option<Vec<(u64, String)>> {
    let Some(objtool) = objtool() else {
        eprintln!("objtool comparison skipped: no objtool (set CRASHVIEW_OBJTOOL or install linux-kbuild-6.1)");
        return None;
    };
    let dir = std::env::temp_dir().join(format!("crashview-unwind-orc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let stripped = dir.join("vmlinux.orc");
    let ok = Command::new("objcopy")
        .args(["-R", ".rela*", "-R", ".debug*"])
        .arg(&k.path)
        .arg(&stripped)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("objtool comparison skipped: objcopy failed or is missing");
        let _ = std::fs::remove_dir_all(&dir);
        return None;
    }
    // Debian's objtool may be a wrapper choosing objtool.real-$SRCARCH.
    let out = Command::new(&objtool)
        .env("SRCARCH", "x86")
        .arg("--dump=orc")
        .arg(&stripped)
        .output();
    let _ = std::fs::remove_dir_all(&dir);
    let out = out.unwrap();
    assert!(
        out.status.success(),
        "objtool failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    Some(text.lines().map(normalize_objtool).collect())
}

/// The rightmost oracle entry at or below `ip`.
fn oracle_find(dump: &[(u64, String)], ip: u64) -> Option<&str> {
    let n = dump.partition_point(|(a, _)| *a <= ip);
    n.checked_sub(1).map(|i| dump[i].1.as_str())
}

#[test]
fn debian_6_1_vmlinux_orc() {
    let Some(path) = vmlinux() else {
        eprintln!("skipped: no Debian 6.1 -dbg vmlinux (set CRASHVIEW_DBG_VMLINUX)");
        return;
    };
    let mut k = load(&path);
    let n = k.table.count;
    eprintln!("{}: {n} ORC entries", path.display());
    assert!(n > 100_000, "{n}");

    // The table is sorted in the file (scripts/sorttable at build time),
    // which find() relies on as the kernel does.
    let ips: Vec<u64> = (0..n)
        .map(|i| k.table.entry_ip(&k.mem, i).unwrap())
        .collect();
    assert!(
        ips.windows(2).all(|w| w[0] <= w[1]),
        "vmlinux ORC table not sorted"
    );
    assert_eq!(ips[0], k.sym("_stext"));

    // Every entry against objtool's decoding of the same bytes.
    let dump = objtool_dump(&k);
    if let Some(dump) = &dump {
        assert_eq!(
            dump.len(),
            n as usize,
            "objtool lists another number of entries"
        );
        for i in 0..n {
            let raw = k.table.read_entry(&k.mem, i).unwrap();
            let e = OrcEntry::decode(raw, OrcLayout::V1)
                .unwrap_or_else(|| panic!("entry {i} {raw:?} undecodable"));
            let (addr, text) = &dump[i as usize];
            assert_eq!(
                (ips[i as usize], ours(&e).as_str()),
                (*addr, text.as_str()),
                "entry {i}"
            );
        }
        eprintln!("all {n} entries equal objtool --dump=orc");
    }

    // Function starts: the return address is at the top of the stack.
    let (stext, etext) = (k.sym("_stext"), k.sym("_etext"));
    let (sinit, einit) = (k.sym("_sinittext"), k.sym("_einittext"));
    let starts: Vec<(u64, String)> = k
        .funcs
        .iter()
        .filter(|(a, _)| (stext..etext).contains(a) || (sinit..einit).contains(a))
        .cloned()
        .collect();
    assert!(starts.len() > 20_000, "{}", starts.len());
    // GCC's split-off `.cold` parts are FUNC symbols too, but are entered
    // by a jump from the middle of their function: they start with that
    // function's frame, not with a fresh return address.
    let (mut plain, mut cold) = (0usize, 0usize);
    let (mut undefined, mut others) = (Vec::new(), Vec::new());
    for (addr, name) in &starts {
        let e = k.table.find(&k.mem, *addr).unwrap().unwrap();
        if let Some(dump) = &dump {
            assert_eq!(
                Some(ours(&e).as_str()),
                oracle_find(dump, *addr),
                "{name} at 0x{addr:x}"
            );
        }
        if name.contains(".cold") {
            cold += 1;
        } else if e.kind == OrcKind::Call
            && e.sp_reg == reg::SP
            && e.sp_offset == 8
            && e.bp_reg == reg::UNDEFINED
        {
            plain += 1;
        } else if e.kind == OrcKind::Undefined {
            undefined.push(name.as_str());
        } else {
            others.push(format!("{name}: {}", ours(&e)));
        }
    }
    eprintln!(
        "{} function starts: {plain} CALL sp+8, {cold} .cold parts, {} undefined (objects objtool skips: {undefined:?})",
        starts.len(),
        undefined.len()
    );
    // Every function that objtool annotated starts with the return address
    // on top of the stack; the blind spots are a handful of files built
    // OBJECT_FILES_NON_STANDARD (kexec_core.o: __crash_kexec, where the
    // panicking CPU's registers are saved, is one).
    assert!(others.is_empty(), "{others:?}");
    assert!(
        plain > 40_000 && undefined.len() * 1000 < plain,
        "{plain} {}",
        undefined.len()
    );
    assert!(undefined.contains(&"__crash_kexec"), "{undefined:?}");
    for name in [
        "schedule",
        "panic",
        "crash_kexec",
        "do_syscall_64",
        "vfs_read",
        "kthread",
    ] {
        let a = k.sym(name);
        let e = k.table.find(&k.mem, a).unwrap().unwrap();
        assert_eq!(
            (e.kind, e.sp_reg, e.sp_offset),
            (OrcKind::Call, reg::SP, 8),
            "{name}"
        );
    }
    // Entry code: objtool's hints as entry_64.S writes them (6.1): at
    // entry_SYSCALL_64 no frame yet (UNWIND_HINT_ENTRY: sp_reg undefined
    // and end set, the end of the stack), after the pt_regs pushes and
    // `call do_syscall_64` a REGS frame.
    let sys = k.sym("entry_SYSCALL_64");
    assert_eq!(
        k.table.find(&k.mem, sys).unwrap().unwrap().kind,
        OrcKind::EndOfStack
    );
    let after = k.sym("entry_SYSCALL_64_after_hwframe");
    let regs = (after..after + 0x100)
        .filter_map(|ip| k.table.find(&k.mem, ip).unwrap())
        .find(|e| e.kind == OrcKind::Regs)
        .expect("a REGS entry in entry_SYSCALL_64");
    assert!(regs.signal && regs.sp_reg == reg::SP, "{regs:?}");

    // With and without the lookup blocks: the same answers, fewer reads.
    let fast = k.with_lookup();
    let slow = k.table;
    let mut probes: Vec<u64> = starts.iter().map(|(a, _)| *a).collect();
    probes.extend((stext..etext + 0x1000).step_by(997));
    probes.extend((sinit..einit).step_by(4093));
    let (mut reads_fast, mut reads_slow, mut max_fast, mut max_slow) =
        (0usize, 0usize, 0usize, 0usize);
    for &ip in &probes {
        let r0 = k.mem.reads.get();
        let a = fast.find(&k.mem, ip).unwrap();
        let r1 = k.mem.reads.get();
        let b = slow.find(&k.mem, ip).unwrap();
        let r2 = k.mem.reads.get();
        assert_eq!(a, b, "ip 0x{ip:x}");
        if let Some(dump) = &dump {
            assert_eq!(
                a.as_ref().map(ours).as_deref(),
                oracle_find(dump, ip),
                "ip 0x{ip:x}"
            );
        }
        reads_fast += r1 - r0;
        reads_slow += r2 - r1;
        max_fast = max_fast.max(r1 - r0);
        max_slow = max_slow.max(r2 - r1);
    }
    let log2n = (u32::BITS - n.leading_zeros()) as usize;
    eprintln!(
        "{} lookups: {:.1} reads each with orc_lookup (max {max_fast}), {:.1} without (max {max_slow}); log2(n) = {log2n}",
        probes.len(),
        reads_fast as f64 / probes.len() as f64,
        reads_slow as f64 / probes.len() as f64,
    );
    assert!(max_slow <= log2n + 1, "{max_slow}");
    assert!(max_fast <= log2n + 3, "{max_fast}");
    assert!(reads_fast < reads_slow);
}
