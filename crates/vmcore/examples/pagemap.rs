//! Where a kdump file's bytes go: compressed bytes per 8 MiB of physical
//! memory (used to size the fixtures).
fn main() {
    let path = std::env::args().nth(1).expect("usage: pagemap KDUMP");
    let f = crashview_vmcore::loader::MappedFile::open(path.as_ref()).expect("open");
    let core = crashview_vmcore::Vmcore::parse(f.bytes()).expect("parse");
    let k = core.kdump().expect("kdump file");
    let src = crashview_vmcore::source::Source::Plain(f.bytes());
    let mut per = std::collections::BTreeMap::new();
    let mut seen = std::collections::HashSet::new();
    for pfn in 0..k.max_mapnr {
        if let Ok(d) = k.page_desc(&src, pfn) {
            let e = per.entry(pfn >> 11).or_insert((0u64, 0u64));
            e.0 += 1;
            if seen.insert(d.offset) {
                e.1 += u64::from(d.size);
            }
        }
    }
    println!("dumped {} distinct data {}", k.dumped_pages(), seen.len());
    for (mb8, (n, b)) in per {
        println!("{:5} MiB: {n:6} pages {:8} KiB", mb8 * 8, b / 1024);
    }
}
