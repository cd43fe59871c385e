//! The output of core's scope probe (`phoenix_core::probe::PROBE_SCRIPT`): packages, units,
//! length-framed paths and length-framed queries.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = phoenix_core::probe::parse_probe(text);
});
