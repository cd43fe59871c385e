//! Test helpers: reading a sample from `shared/fixtures`.

use std::path::Path;

/// The text of a fixture file. The Proxmox samples have no header, so the file is returned whole;
/// the host captures (`$ command`, `# exit=N`, then the output) lose their two header lines.
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

/// The path of a sample in `shared/fixtures/proxmox`.
pub(crate) fn proxmox_sample(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/proxmox")
        .join(name);
    fixture_body(&path)
}
