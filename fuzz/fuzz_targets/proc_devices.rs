//! `/proc/devices`: the reader takes anything, and a major it reports is one of the file's.

#![no_main]

use libfuzzer_sys::fuzz_target;
use phoenix_pve::gpu::parse_proc_devices;

fuzz_target!(|text: &str| {
    let Ok(devices) = parse_proc_devices(text) else {
        return;
    };
    for (major, name) in &devices.character {
        let found = devices.char_major(name).expect("a listed driver has a major");
        assert!(found == *major || devices.character.iter().any(|(m, n)| n == name && *m == found));
    }
});
