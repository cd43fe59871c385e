//! The output of the host command that probes every running container (`PROBE_ALL_SCRIPT`):
//! whatever parses is written back by the emulator's formatter and reads back the same.

#![no_main]

use libfuzzer_sys::fuzz_target;
use phoenix_lxc::parse::{format_probe_all_output, parse_probe_all_output};

fuzz_target!(|text: &str| {
    if let Ok(blocks) = parse_probe_all_output(text) {
        let blocks: Vec<_> = blocks.into_iter().collect();
        let again = parse_probe_all_output(&format_probe_all_output(&blocks))
            .expect("the formatter's output parses");
        assert_eq!(again.into_iter().collect::<Vec<_>>(), blocks);
    }
});
