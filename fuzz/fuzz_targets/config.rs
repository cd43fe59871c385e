//! The config loader end to end on arbitrary bytes: the bytes become a config file, which
//! `ConfigSet::load` reads (UTF-8, size and JSON checks, duplicate keys, control characters),
//! every built-in provider decodes, and the engine turns into a graph. Bad input must give
//! diagnostics, never a panic.

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use phoenix_core::config::ConfigSet;
use phoenix_core::{Engine, Registry};

/// The file each input is written to: one per fuzzing process, in the temporary directory.
fn config_file() -> &'static PathBuf {
    static FILE: OnceLock<PathBuf> = OnceLock::new();
    FILE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("phoenix-fuzz-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        dir.join("phoenix_lxc_configs.json")
    })
}

/// The CLI's registry of every built-in provider, built once.
fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(phoenix_cli::registry)
}

fuzz_target!(|data: &[u8]| {
    let file = config_file();
    std::fs::write(file, data).expect("the temporary file is writable");
    let Ok(config) = ConfigSet::load(file) else {
        return;
    };
    let desired = registry().decode(&config);
    if !desired.has_errors() {
        let _ = Engine::new(desired);
    }
});
