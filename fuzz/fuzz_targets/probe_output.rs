//! The output of Phoenix's in-container probe (`pct exec ... sh -c PROBE_SCRIPT`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = phoenix_lxc::parse::parse_probe_output(text);
});
