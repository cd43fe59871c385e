//! `pct status [--verbose]` output.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = phoenix_lxc::parse::parse_pct_status(text);
});
