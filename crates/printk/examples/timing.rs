//! `timing VMCORE [N]`: average in-process time of open + parse + read_log +
//! formatting (no process start-up), for the benchmark notes.
use std::time::Instant;

fn main() {
    let mut a = std::env::args().skip(1);
    let path = a.next().expect("usage: timing VMCORE [N]");
    let n: u32 = a.next().and_then(|s| s.parse().ok()).unwrap_or(200);
    let mut sink = std::io::sink();
    let t = Instant::now();
    let mut records = 0;
    for _ in 0..n {
        let f = crashview_vmcore::loader::MappedFile::open(path.as_ref()).expect("open");
        let core = crashview_vmcore::Vmcore::parse(f.bytes()).expect("parse");
        let log = crashview_printk::read_log(&core).expect("log");
        for r in &log.records {
            r.write_console(&mut sink).expect("write");
        }
        records = log.records.len();
    }
    println!(
        "{records} records, {:.3} ms per run",
        t.elapsed().as_secs_f64() * 1000.0 / f64::from(n)
    );
}
