//! `aa-status --json` (the loaded AppArmor profiles); what the writer prints reads back the same.

#![no_main]

use libfuzzer_sys::fuzz_target;
use phoenix_security::apparmor::status::{format_status, parse_status};

fuzz_target!(|text: &str| {
    if let Ok(parsed) = parse_status(0, text) {
        let written = format_status(&parsed);
        let again = parse_status(0, &written).expect("what format_status writes reads back");
        assert_eq!(again, parsed);
    }
});
