//! Test helpers: reading a sample from `shared/fixtures`.

use std::path::Path;

use phoenix_core::sim::read_fixture;

/// The text of a fixture file. The Proxmox samples have no header, so the file is returned whole;
/// the host captures (`$ command`, `# exit=N`, then the output) lose their two header lines.
pub(crate) fn fixture_body(path: &Path) -> String {
    read_fixture(path).unwrap_or_else(|err| panic!("read fixture {}: {err}", path.display()))
}

/// The text of a sample in `shared/fixtures/proxmox`.
pub(crate) fn proxmox_sample(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/proxmox")
        .join(name);
    fixture_body(&path)
}
