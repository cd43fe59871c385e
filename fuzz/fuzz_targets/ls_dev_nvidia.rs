//! `ls -l /dev/nvidia*`: the reader takes anything, and every node it reports has a path.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(nodes) = phoenix_gpu::parse::parse_ls_l(text) {
        for node in &nodes {
            assert!(!node.path.is_empty(), "{text:?}");
        }
    }
});
