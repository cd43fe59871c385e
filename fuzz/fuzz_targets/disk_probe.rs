//! `wipefs --no-act --json`, `wipefs --no-act` and `blkid -p` output.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = phoenix_zfs::parse::parse_wipefs_json(text);
    let _ = phoenix_zfs::parse::parse_wipefs_table(text);
    let _ = phoenix_zfs::parse::parse_blkid_p(text);
});
