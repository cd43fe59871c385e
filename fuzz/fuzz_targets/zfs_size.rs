//! ZFS sizes: whatever `parse_size` reads, `format_size` writes back to the same number of bytes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use phoenix_zfs::parse::{format_size, parse_size};

fuzz_target!(|text: &str| {
    if let Ok(bytes) = parse_size(text) {
        if bytes != 0 {
            assert_eq!(parse_size(&format_size(bytes)), Ok(bytes), "{text:?}");
        }
    }
});
