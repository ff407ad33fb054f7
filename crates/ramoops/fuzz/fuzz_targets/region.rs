//! Any bytes as a region image, with and without a few override choices
//! taken from the first input byte: scanning and rendering every record must
//! never panic, hang or allocate without bound.
#![no_main]

use crashview_ramoops::region::{Overrides, Region};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, img)) = data.split_first() else { return };
    let ov = match sel % 4 {
        0 => Overrides::default(),
        1 => Overrides { ecc: Some(16), ..Overrides::default() },
        2 => Overrides { record_size: Some(0x200), console_size: Some(0), ftrace_size: Some(0), pmsg_size: Some(0), ..Overrides::default() },
        _ => Overrides { record_size: Some(0x400), console_size: Some(0x100), ftrace_size: Some(0x100), pmsg_size: Some(0x100), ecc: Some(u32::from(sel >> 2)), ftrace_zones: Some(2), ..Overrides::default() },
    };
    if let Ok(region) = Region::scan(img, &ov) {
        for r in region.records() {
            let _ = r.file_contents();
            let _ = r.part_line();
        }
        let _ = region.all_diagnostics();
    }
});
