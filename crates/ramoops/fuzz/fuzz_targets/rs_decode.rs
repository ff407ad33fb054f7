//! The Reed–Solomon decoder against an encoded block hit by a fuzzer-chosen
//! error pattern in its data: never panics; within capacity it must restore
//! the block exactly; beyond it, whatever it "corrects" must decode again
//! without further change.
#![no_main]

use crashview_ramoops::rs::{Codec, Decoded};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else { return };
    let Ok(codec) = Codec::new(usize::from(n % 32) + 1) else { return };
    let nroots = codec.nroots();
    let len = rest.len().min(128);
    if len == 0 {
        return;
    }
    let (block, errors) = rest.split_at(len);
    let mut par = vec![0u8; nroots];
    codec.encode(block, &mut par).unwrap();
    let mut bad = block.to_vec();
    let mut distinct = std::collections::BTreeSet::new();
    for pair in errors.chunks_exact(2) {
        let at = usize::from(pair[0]) % len;
        if pair[1] != 0 {
            bad[at] ^= pair[1];
            distinct.insert(at);
        }
    }
    let errs = distinct.iter().filter(|&&i| bad[i] != block[i]).count();
    match codec.decode(&mut bad, &par).unwrap() {
        // Minimum distance is nroots + 1: up to nroots errors are always
        // detected; more may land on another codeword.
        Decoded::Clean => assert!(errs == 0 || errs > nroots, "{errs} errors missed"),
        Decoded::Corrected(_) => {
            // Corrections may fall in the parity (counted, not written back,
            // as in Linux), so check idempotence: decoding the result again
            // must not touch the data.
            let mut again = bad.clone();
            let r = codec.decode(&mut again, &par).unwrap();
            assert_ne!(r, Decoded::Uncorrectable);
            assert_eq!(again, bad, "second decode changed the data");
            if 2 * errs <= nroots {
                assert_eq!(&bad[..], block);
            }
        }
        Decoded::Uncorrectable => assert!(2 * errs > nroots, "{errs} errors within capacity not corrected"),
    }
});
