//! The bit-flip experiment: 300 copies of the hang fixture's region (as
//! committed in version 1: zeros, then its journal zone) with 1–8
//! random bit flips in the journal zone, read as a whole image (`locate`,
//! then `read`), for the committed version 1 journal and for the same
//! entries rewritten as version 2. Counts the copies that give the right
//! answer (every entry as written, stopped in the pre-reboot list inside
//! "hung_notifier", not torn).
//!
//! `cargo run --release -p crashview-journal --example bitflip [--used]`
//! (`--used`: flip only in the used part: header, entries, first blank slot).

use crashview_journal::{locate, read, zone_len, Entry, JournalWriter, Tail};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

#[derive(Default, Debug)]
struct Tally {
    right: u32,
    torn: u32,
    wrong_step: u32,
    missing_entries: u32,
    wrong_entry: u32,
    unreadable: u32,
}

fn main() {
    let used_only = std::env::args().any(|a| a == "--used");
    // The hang fixture's region as committed with a version 1 journal at 0xfe000.
    let off = 0xfe000;
    let mut v1 = vec![0u8; off];
    v1.extend_from_slice(include_bytes!("../testdata/hang-v1.journal"));
    let (generation, list, want) = {
        let j = read(&v1[off..]).unwrap();
        let p = j.progress();
        (
            j.header.generation,
            j.entries().collect::<Vec<Entry>>(),
            (p.open_step, p.open_call),
        )
    };
    let mut v2 = v1.clone();
    v2[off..].fill(0);
    {
        let mut w = JournalWriter::arm(&mut v2[off..], generation).unwrap();
        for e in &list {
            w.append(e).unwrap();
        }
    }
    for (name, img, used) in [
        ("v1", &v1, 64 + (list.len() + 1) * 64),
        ("v2", &v2, zone_len(list.len() + 1)),
    ] {
        let span = if used_only { used } else { img.len() - off };
        let mut rng = Rng(0x1234_5678_9abc_def1);
        let mut t = Tally::default();
        for _ in 0..300 {
            let mut z = img.clone();
            let flips = 1 + rng.next() % 8;
            for _ in 0..flips {
                let at = off + (rng.next() % span as u64) as usize;
                z[at] ^= 1 << (rng.next() % 8);
            }
            let Some(o) = locate(&z) else {
                t.unreadable += 1;
                continue;
            };
            let Ok(j) = read(&z[o..]) else {
                t.unreadable += 1;
                continue;
            };
            let got: Vec<Entry> = j.entries().collect();
            let p = j.progress();
            let right_step = (p.open_step, p.open_call) == want
                && p.open_call
                    .is_some_and(|c| c.name_bytes() == b"hung_notifier");
            let faithful = got.iter().all(|e| list.get(e.seq as usize) == Some(e));
            if !faithful {
                t.wrong_entry += 1;
            }
            if matches!(j.tail, Tail::Torn { .. }) {
                t.torn += 1;
            }
            if !right_step {
                t.wrong_step += 1;
            }
            if got.len() < list.len() {
                t.missing_entries += 1;
            }
            if faithful
                && right_step
                && got.len() == list.len()
                && !matches!(j.tail, Tail::Torn { .. })
            {
                t.right += 1;
            }
        }
        println!(
            "{name} ({}): {}/300 right; torn {}, wrong or no open step/call {}, entries lost {}, \
             an entry differing from the original {}, journal not found/unreadable {}",
            if used_only {
                "flips in the used part"
            } else {
                "flips anywhere in the zone"
            },
            t.right,
            t.torn,
            t.wrong_step,
            t.missing_entries,
            t.wrong_entry,
            t.unreadable
        );
    }
}
