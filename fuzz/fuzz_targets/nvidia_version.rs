//! `/proc/driver/nvidia/version`: whatever version the reader reads, the emulator's writer
//! writes a file that reads back as that version.

#![no_main]

use libfuzzer_sys::fuzz_target;
use phoenix_gpu::parse::{format_driver_version, parse_driver_version};

fuzz_target!(|text: &str| {
    let Ok(read) = parse_driver_version(text) else {
        return;
    };
    let written = format_driver_version(&read.version);
    let again = parse_driver_version(&written).unwrap_or_else(|err| panic!("{written:?}: {err}"));
    assert_eq!(again.version, read.version);
    assert!(again.open);
});
