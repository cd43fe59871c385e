//! `/etc/pve/storage.cfg`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(sections) = phoenix_pve::parse_storage_cfg(text) {
        for section in &sections {
            let _ = section.content();
        }
    }
});
