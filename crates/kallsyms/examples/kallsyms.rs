//! Print a dump's kallsyms as `/proc/kallsyms` does: `address type name`.
//!
//!     cargo run --release -p crashview-kallsyms --example kallsyms VMCORE
use crashview_kallsyms::Kallsyms;
use crashview_vmcore::{loader::MappedFile, Vmcore};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: kallsyms VMCORE")?;
    let file = MappedFile::open(path.as_ref())?;
    let core = Vmcore::parse(file.bytes())?;
    let t = std::time::Instant::now();
    let k = Kallsyms::read(&core)?;
    eprintln!("{} symbols in {:?}", k.len(), t.elapsed());
    for (a, kind, name) in k.iter() {
        println!("{a:016x} {kind} {name}");
    }
    Ok(())
}
