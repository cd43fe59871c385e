//! Captures: the recorded runs of real tools that parsers and emulators are tested against.

/// The output of a captured run: a capture is a `$ command` line, a `# exit=N` line (N is the
/// status, or `signal`), then stdout and stderr as the command printed them. `None` when `text`
/// does not start with that header (such as a config file sampled as it is).
///
/// ```
/// # use phoenix_core::sim::capture_output;
/// assert_eq!(capture_output("$ hostname\n# exit=0\npve1\n"), Some("pve1\n"));
/// assert_eq!(capture_output("pve1\n"), None);
/// ```
pub fn capture_output(text: &str) -> Option<&str> {
    let (_command, rest) = text.strip_prefix("$ ")?.split_once('\n')?;
    let (_exit, output) = rest.strip_prefix("# exit=")?.split_once('\n')?;
    Some(output)
}

/// The text of a fixture file: a recorded run (`$ command`, `# exit=N`, then the output) loses its
/// two header lines; any other sample (a Proxmox file, say) is returned whole.
pub fn read_fixture(path: &std::path::Path) -> std::io::Result<String> {
    let text = std::fs::read_to_string(path)?;
    Ok(capture_output(&text).map_or_else(|| text.clone(), str::to_owned))
}
