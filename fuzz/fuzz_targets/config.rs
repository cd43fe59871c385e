//! The config loader end to end on arbitrary bytes: parse a JSON document, decode it with every
//! built-in provider, build the dependency graph. Bad input must give diagnostics, never a panic.

#![no_main]

use std::path::PathBuf;

use libfuzzer_sys::fuzz_target;
use phoenix_core::Engine;
use phoenix_core::config::{ConfigSet, Document};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(document) = Document::parse(PathBuf::from("fuzz.json"), text.to_owned()) else {
        return;
    };
    let desired = phoenix_cli::registry().decode(&ConfigSet::from_documents(vec![document]));
    if !desired.has_errors() {
        let _ = Engine::new(desired);
    }
});
