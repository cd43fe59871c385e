//! `smartctl -j -a` output (disk wear).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = phoenix_zfs::parse::parse_smartctl_json(text);
});
