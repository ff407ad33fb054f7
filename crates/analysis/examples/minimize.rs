//! `minimize IN OUT`: a copy of a vmcore in which the data of every page
//! that reading the log, `crashview info`, `report`, `bt --all`, `ps` and
//! `modules` do not touch is zeroed.
//! Headers, bitmaps, page descriptors, notes and the pages read stay
//! byte-identical, so the copy compresses to a fraction of the original and
//! still exercises the real format (fixtures/vmcore/README.md).
use std::collections::BTreeSet;

use crashview_vmcore::{loader::MappedFile, source::Source, Vmcore};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (inp, outp) = match args.as_slice() {
        [_, i, o] => (i, o),
        _ => {
            eprintln!("usage: minimize IN OUT");
            std::process::exit(2);
        }
    };
    let f = MappedFile::open(inp.as_ref()).expect("open input");
    let bytes = f.bytes();
    let core = Vmcore::parse(bytes).expect("parse");
    core.enable_page_trace();
    let log = crashview_printk::read_log(&core).expect("read log");
    let vi = core.vmcoreinfo().expect("vmcoreinfo");
    if let Some(uts) = vi.symbol("init_uts_ns") {
        let mut b = [0u8; 390];
        let _ = core.read_virt(
            uts + vi.offset("uts_namespace", "name").unwrap_or(0),
            &mut b,
        );
    }
    // The dumped kernel's state: kallsyms, BTF, every task and its stack,
    // the modules (what bt/ps/modules and the report read).
    let state = crashview_analysis::dump_state::read(
        &core,
        &crashview_analysis::dump_state::Selection::All,
    );
    let _ = crashview_analysis::dump_state::rip_names(&core);
    match &state {
        Ok(s) => eprintln!(
            "{} tasks, {} stacks, {} modules, {} notes",
            s.tasks.len(),
            s.threads.len(),
            s.modules.len(),
            s.notes.len()
        ),
        Err(e) => eprintln!("no kernel state: {e}"),
    }
    let keep: BTreeSet<u64> = core.page_trace().into_iter().collect();
    let ps = core.format().page_size;
    let mut out = bytes.to_vec();
    let zero_logical = |off: u64, len: u64, out: &mut Vec<u8>| {
        let pieces = match core.flat() {
            Some(fl) => fl.file_ranges(off, len),
            None => vec![(off, len)],
        };
        for (o, l) in pieces {
            if let Some(s) = out.get_mut(o as usize..(o + l) as usize) {
                s.fill(0);
            }
        }
    };
    let mut zeroed = 0u64;
    if let Some(e) = core.elf() {
        for s in &e.segments {
            let mut a = 0;
            while a < s.filesz {
                let pfn = (s.paddr + a) / ps;
                let n = (ps - (s.paddr + a) % ps).min(s.filesz - a);
                if !keep.contains(&pfn) {
                    zero_logical(s.offset + a, n, &mut out);
                    zeroed += 1;
                }
                a += n;
            }
        }
    } else if let Some(k) = core.kdump() {
        let src = match core.flat() {
            Some(_) => Source::Flat(crashview_vmcore::flat::FlatIndex::parse(bytes).expect("flat")),
            None => Source::Plain(bytes),
        };
        let kept: BTreeSet<u64> = keep
            .iter()
            .filter_map(|&p| k.page_desc(&src, p).ok().map(|d| d.offset))
            .collect();
        for pfn in 0..k.max_mapnr {
            if let Ok(d) = k.page_desc(&src, pfn) {
                if !kept.contains(&d.offset) {
                    zero_logical(d.offset, d.size.into(), &mut out);
                    zeroed += 1;
                }
            }
        }
    }
    std::fs::write(outp, &out).expect("write");
    eprintln!(
        "{} records; kept {} pages, zeroed {zeroed}",
        log.records.len(),
        keep.len()
    );
}
