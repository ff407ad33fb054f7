//! Prints how long `Btf::parse` takes on a real blob.
//!
//! `cargo run --release -p crashview-btf --example parse_time [PATH]`; PATH
//! defaults to /sys/kernel/btf/vmlinux. The file is read once; parse runs
//! 20 times; the first time (which pays the page faults of fresh memory, as
//! a one-shot tool does), the best and the median are printed, with a few
//! lookups.
use crashview_btf::{Btf, Kind};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/sys/kernel/btf/vmlinux".into());
    let bytes = std::fs::read(&path)?;
    let mut times = Vec::new();
    let mut btf = None;
    for _ in 0..20 {
        let t = Instant::now();
        let b = Btf::parse(&bytes)?;
        times.push(t.elapsed());
        btf = Some(b);
    }
    let first = *times.first().ok_or("no runs")?;
    times.sort();
    let btf = btf.ok_or("no parse")?;
    println!(
        "{path}: {} bytes, {} types; parse first {first:?} (fresh memory), best {:?}, \
         median {:?}",
        bytes.len(),
        btf.types(),
        times.first().ok_or("no runs")?,
        times.get(times.len() / 2).ok_or("no runs")?
    );
    // In a fresh process the copy parse() makes pays the page faults of new
    // memory; parse_vec() takes the Vec fs::read made and copies nothing.
    let owned = bytes.clone();
    let t = Instant::now();
    let from_vec = Btf::parse_vec(owned)?;
    println!(
        "parse_vec (no copy): {:?}, {} types",
        t.elapsed(),
        from_vec.types()
    );
    let t = Instant::now();
    let task = btf
        .find(Kind::Struct, "task_struct")
        .ok_or("no task_struct")?;
    let sp = btf.member(task, "thread.sp")?;
    let find_member = t.elapsed();
    let t = Instant::now();
    let pid = btf.enumerator("PIDTYPE_PID");
    let first_enum = t.elapsed();
    let t = Instant::now();
    let tgid = btf.enumerator("PIDTYPE_TGID");
    let second_enum = t.elapsed();
    println!(
        "find+member(thread.sp) {find_member:?} -> {:?}; enumerator index build+lookup \
         {first_enum:?} ({pid:?}), next lookup {second_enum:?} ({tgid:?})",
        sp.byte_offset()
    );
    Ok(())
}
