//! `zpool list -v -H -P -p` output (pool layouts).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = phoenix_zfs::parse::parse_zpool_list_v(text);
});
