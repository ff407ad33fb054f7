//! Damaged dumps: a real 6.1 kdump seen through a memory that loses pages
//! or holds overwritten bytes where crashes put them (a missing page, a
//! corrupt BTF or kallsyms table, a task list or stack that loops). Each
//! case must end in bounded work, a note or error naming what failed and
//! where, and every other task still read as in the undamaged dump.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use crashview_kernel::Kernel;
use crashview_vmcore::{vmcoreinfo::VmcoreInfo, Error, KernelMemory, Vmcore};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// The 6.1 kdump (full from the cache, else the committed minimized copy).
fn dump() -> Option<Vec<u8>> {
    if let Ok(b) = std::fs::read(fixtures().join(".cache/tasks/6.1/kdump-zlib-d31")) {
        return Some(b);
    }
    let min = std::fs::read(fixtures().join("tasks/6.1/kdump-zlib-d31.min.zst")).ok()?;
    let mut d = ruzstd::decoding::StreamingDecoder::new(min.as_slice()).ok()?;
    let mut out = Vec::new();
    d.read_to_end(&mut out).ok()?;
    Some(out)
}

/// A dump's memory with pages taken away and bytes overwritten.
struct Damaged<'a> {
    core: &'a Vmcore<'a>,
    /// 4 KiB pages (virtual, page-aligned) that read as missing.
    lost: Vec<u64>,
    /// Bytes that read as given instead of the dump's.
    patched: HashMap<u64, u8>,
}

impl<'a> Damaged<'a> {
    fn new(core: &'a Vmcore<'a>) -> Self {
        Damaged {
            core,
            lost: Vec::new(),
            patched: HashMap::new(),
        }
    }
    fn lose(&mut self, addr: u64) {
        self.lost.push(addr & !0xfff);
    }
    fn patch_u64(&mut self, addr: u64, v: u64) {
        for (i, b) in v.to_le_bytes().into_iter().enumerate() {
            self.patched.insert(addr + i as u64, b);
        }
    }
}

impl KernelMemory for Damaged<'_> {
    fn read_virt(&self, addr: u64, buf: &mut [u8]) -> crashview_vmcore::Result<()> {
        let end = addr.saturating_add(buf.len() as u64);
        if let Some(&p) = self.lost.iter().find(|&&p| p < end && addr < p + 4096) {
            return Err(Error::PageNotPresent { addr: p.max(addr) });
        }
        self.core.read_virt(addr, buf)?;
        for (i, b) in buf.iter_mut().enumerate() {
            if let Some(&v) = self.patched.get(&(addr + i as u64)) {
                *b = v;
            }
        }
        Ok(())
    }
    fn vmcoreinfo(&self) -> Option<&VmcoreInfo> {
        self.core.vmcoreinfo()
    }
}

/// Offset of `task_struct.tasks`, found from the dump itself:
/// `init_task.tasks.next` points at the first process's `tasks`.
fn tasks_offset(core: &Vmcore<'_>, k: &Kernel<'_>, all: &[crashview_kernel::Task]) -> u64 {
    let init = k.kallsyms().address_of("init_task").unwrap();
    let first = all.iter().find(|t| t.pid == 1).unwrap();
    (0..0x2000u64)
        .step_by(8)
        .find(|o| {
            let mut b = [0u8; 8];
            core.read_virt(init + o, &mut b).is_ok() && u64::from_le_bytes(b) == first.addr + o
        })
        .expect("init_task.tasks")
}

macro_rules! open_dump {
    ($bytes:ident, $core:ident) => {
        let Some($bytes) = dump() else {
            eprintln!("no 6.1 task fixture: skipped");
            return;
        };
        let $core = Vmcore::parse(&$bytes).unwrap();
    };
}

#[test]
fn unreadable_or_corrupt_btf_is_an_error_naming_it() {
    open_dump!(bytes, core);
    let k = Kernel::open(&core, core.cpus()).unwrap();
    let start = k.kallsyms().address_of("__start_BTF").unwrap();

    let mut m = Damaged::new(&core);
    m.lose(start + 0x10_0000);
    let e = Kernel::open(&m, core.cpus())
        .err()
        .expect("BTF with a lost page")
        .to_string();
    assert!(
        e.contains("BTF") && e.contains(&format!("{start:#x}")),
        "{e}"
    );

    let mut m = Damaged::new(&core);
    m.patch_u64(start, 0x1234_5678_9abc_def0); // magic and header
    let e = Kernel::open(&m, core.cpus())
        .err()
        .expect("BTF with a bad magic")
        .to_string();
    assert!(
        e.starts_with("BTF:") && e.contains(&format!("{start:#x}")),
        "{e}"
    );
}

#[test]
fn corrupt_kallsyms_is_an_error_naming_the_table() {
    open_dump!(bytes, core);
    let vi = core.vmcoreinfo().unwrap();
    let names = vi.symbol("kallsyms_names").unwrap();
    let mut m = Damaged::new(&core);
    m.lose(names + 0x8000);
    let e = Kernel::open(&m, core.cpus())
        .err()
        .expect("names with a lost page")
        .to_string();
    assert!(e.contains("kallsyms_names"), "{e}");

    let count = vi.symbol("kallsyms_num_syms").unwrap();
    let mut m = Damaged::new(&core);
    m.patch_u64(count, 0xffff_ffff);
    let e = Kernel::open(&m, core.cpus())
        .err()
        .expect("absurd symbol count")
        .to_string();
    assert!(
        e.contains("kallsyms_num_syms") && e.contains("4294967295"),
        "{e}"
    );
}

#[test]
fn a_lost_task_page_cuts_the_list_with_a_note_and_keeps_the_rest() {
    open_dump!(bytes, core);
    let k = Kernel::open(&core, core.cpus()).unwrap();
    let all = k.tasks();
    // A task in the middle of the list: lose the page of its list node.
    let victim = all.iter().find(|t| t.comm == "cvpark_sleep").unwrap();
    let mut m = Damaged::new(&core);
    let tasks_off = tasks_offset(&core, &k, &all);
    m.lose(victim.addr + tasks_off);
    let k2 = Kernel::open(&m, core.cpus()).unwrap();
    let (got, notes) = k2.tasks_with_notes();
    assert!(
        notes.iter().any(|n| n
            .message
            .contains(&format!("{:#x}", (victim.addr + tasks_off) & !0xfff))
            || n.message
                .contains(&format!("{:#x}", victim.addr + tasks_off))),
        "no note names the lost page: {notes:?}"
    );
    // Every task read is one of the undamaged dump's, with the same fields.
    for t in &got {
        assert!(
            all.contains(t) || t.addr == victim.addr,
            "{t:?} is not the dump's"
        );
    }
    assert!(got.len() < all.len());
    assert!(
        got.iter().any(|t| t.pid == 1),
        "the tasks before the damage are kept"
    );
}

#[test]
fn a_task_list_that_loops_stops_with_a_note() {
    open_dump!(bytes, core);
    let k = Kernel::open(&core, core.cpus()).unwrap();
    let all = k.tasks();
    let first = all.iter().find(|t| t.pid == 1).unwrap();
    let tasks_off = tasks_offset(&core, &k, &all);
    // kthreadd's tasks.next points back at init's node: a ring without the head.
    let kthreadd = all.iter().find(|t| t.pid == 2).unwrap();
    let mut m = Damaged::new(&core);
    m.patch_u64(kthreadd.addr + tasks_off, first.addr + tasks_off);
    let k2 = Kernel::open(&m, core.cpus()).unwrap();
    let (got, notes) = k2.tasks_with_notes();
    assert!(
        notes.iter().any(|n| n.message.contains("loops")),
        "{notes:?}"
    );
    assert!(got.iter().any(|t| t.pid == 1) && got.iter().any(|t| t.pid == 2));
}

#[test]
fn a_lost_stack_page_or_a_looping_stack_stops_that_stack_only() {
    open_dump!(bytes, core);
    let k = Kernel::open(&core, core.cpus()).unwrap();
    let all = k.tasks();
    let sleeper = all.iter().find(|t| t.comm == "cvpark_sleep").unwrap();
    let good = k.backtrace(sleeper);
    assert!(good.stopped.is_none() && good.frames.len() > 4, "{good:?}");

    // The page holding the third frame's return address is lost.
    let mut m = Damaged::new(&core);
    let sp = good.frames[2].sp;
    m.lose(sp);
    let k2 = Kernel::open(&m, core.cpus()).unwrap();
    let bt = k2.backtrace(sleeper);
    let why = bt.stopped.clone().expect("a stopped unwind");
    assert!(
        why.contains(&format!("{:#x}", sp & !0xfff)) || why.contains("cannot read"),
        "{why}"
    );
    assert!(bt.frames.len() < good.frames.len());
    // Every other task's stack is as before.
    for t in all.iter().filter(|t| t.addr != sleeper.addr) {
        let a = k.backtrace(t);
        let b = k2.backtrace(t);
        if a.frames.iter().all(|f| f.sp & !0xfff != sp & !0xfff) {
            assert_eq!(a, b, "pid {}", t.pid);
        }
    }

    // The second frame's return address is made to point back into the
    // first frame's function, whose frame then repeats at a lower sp: the
    // unwinder must stop (sp going the wrong way, or a loop), not spin.
    let mut m = Damaged::new(&core);
    let ret_slot = good.frames[1].sp - 8;
    m.patch_u64(ret_slot, good.frames[0].pc);
    let k3 = Kernel::open(&m, core.cpus()).unwrap();
    let bt = k3.backtrace(sleeper);
    eprintln!(
        "looping stack: {} frames, stopped: {:?}",
        bt.frames.len(),
        bt.stopped
    );
    assert!(bt.frames.len() <= 128, "{} frames", bt.frames.len());
    assert_ne!(bt, good);
    assert!(
        bt.stopped.is_some(),
        "a looping stack must say why it stopped"
    );
}
