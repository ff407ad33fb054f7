//! Any bytes as kallsyms tables (split by a 4-byte header of lengths), and
//! as the cache format: decoding ends in a table or an error, and lookups
//! on the result never fail.
#![no_main]
use crashview_kallsyms::{Kallsyms, Tables};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(k) = Kallsyms::from_bytes(data, 0x1000) {
        let _ = k.lookup(0xffff_ffff_8100_0000);
        let _ = k.address_of("init_task");
    }
    let Some((head, rest)) = data.split_first_chunk::<4>() else { return };
    // Lengths of names and token table (in 256-byte units), count of symbols.
    let names_len = usize::from(head[0]) * 64;
    let table_len = usize::from(head[1]) * 16;
    let num_syms = u32::from(u16::from_le_bytes([head[2], head[3]]));
    let (names, rest) = rest.split_at(names_len.min(rest.len()));
    let (token_table, rest) = rest.split_at(table_len.min(rest.len()));
    let (token_index, offsets) = rest.split_at(512.min(rest.len()));
    let t = Tables { names, token_table, token_index, offsets, relative_base: 0xffff_ffff_8100_0000, num_syms };
    if let Ok(k) = Kallsyms::from_tables(t) {
        for (a, _, _) in k.iter().take(64) {
            let _ = k.lookup(a);
        }
        let _ = k.address_of("x");
        let _ = Kallsyms::from_bytes(&k.to_bytes(), 0x4000);
    }
});
