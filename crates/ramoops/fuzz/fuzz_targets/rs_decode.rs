//! The Reed–Solomon decoder against an encoded block hit by a fuzzer-chosen
//! error pattern in its data: never panics; within capacity it must restore
//! the block exactly; beyond it, anything it calls "corrected" must be a
//! codeword with the stored parity.
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
        Decoded::Clean => assert_eq!(errs, 0, "errors missed"),
        Decoded::Corrected(_) => {
            let mut fresh = vec![0u8; nroots];
            codec.encode(&bad, &mut fresh).unwrap();
            assert_eq!(fresh, par, "corrected block is not a codeword");
            if 2 * errs <= nroots {
                assert_eq!(&bad[..], block);
            }
        }
        Decoded::Uncorrectable => assert!(2 * errs > nroots, "{errs} errors within capacity not corrected"),
    }
});
