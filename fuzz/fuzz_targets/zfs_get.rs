//! `zfs get -H -p -o name,property,value,source` and `zpool get` output.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = phoenix_zfs::parse::parse_zfs_get(text);
    let _ = phoenix_zfs::parse::parse_zpool_get(text);
});
