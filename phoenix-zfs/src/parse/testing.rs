//! Test helpers: reading a captured fixture without its header.

use std::path::Path;

/// The output part of a fixture file: the `$ command` and `# exit=N` header lines of the captures
/// in `shared/fixtures/zfs*` are dropped; files without that header (the Proxmox samples) are
/// returned whole.
pub(crate) fn fixture_body(path: &Path) -> String {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|err| panic!("read fixture {}: {err}", path.display()));
    match text.strip_prefix("$ ") {
        Some(rest) => rest
            .split_once('\n')
            .and_then(|(_, rest)| rest.strip_prefix("# exit="))
            .and_then(|rest| rest.split_once('\n'))
            .map(|(_, body)| body.to_owned())
            .unwrap_or_default(),
        None => text,
    }
}
