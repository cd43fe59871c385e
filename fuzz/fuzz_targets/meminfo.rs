//! `/proc/meminfo` (the ARC maximum's bound).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = phoenix_zfs::parse::parse_meminfo_total_kib(text);
});
