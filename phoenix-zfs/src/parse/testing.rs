//! Test helpers: reading a captured fixture without its header.

use std::path::Path;

use phoenix_core::sim::capture_output;

/// The output part of a fixture file: the `$ command` and `# exit=N` header lines of the captures
/// in `shared/fixtures/zfs*` are dropped; files without that header (the Proxmox samples) are
/// returned whole.
pub(crate) fn fixture_body(path: &Path) -> String {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|err| panic!("read fixture {}: {err}", path.display()));
    capture_output(&text).map_or_else(|| text.clone(), str::to_owned)
}
