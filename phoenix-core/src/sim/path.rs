//! Path normalisation for the simulated node's in-memory filesystem.

/// Normalises a path lexically into the form used as a key of the in-memory filesystem (emulators
/// that key paths of their own, such as a container's, use it to agree with the node).
///
/// The simulated node has no working directory other than `/`, so a relative path is taken
/// from `/`. Repeated and trailing slashes and `.` are dropped and `..` goes up one level (never
/// above `/`), as the kernel would do for paths without symbolic links.
///
/// ```
/// # use phoenix_core::sim::normalize_path;
/// assert_eq!(normalize_path("etc//pve/./lxc/../storage.cfg"), "/etc/pve/storage.cfg");
/// ```
pub fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            _ => parts.push(part),
        }
    }
    let mut normalized = String::with_capacity(path.len() + 1);
    for part in &parts {
        normalized.push('/');
        normalized.push_str(part);
    }
    if normalized.is_empty() {
        normalized.push('/');
    }
    normalized
}

/// The prefix every path strictly under the directory `dir` starts with, such as `/etc/`.
pub(crate) fn dir_prefix(dir: &str) -> String {
    let dir = normalize(dir);
    if dir == "/" { dir } else { format!("{dir}/") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_lexically() {
        assert_eq!(normalize("/etc//pve/./lxc/"), "/etc/pve/lxc");
        assert_eq!(normalize("etc/hosts"), "/etc/hosts");
        assert_eq!(normalize("/../etc/../root/x"), "/root/x");
        assert_eq!(normalize(""), "/");
        assert_eq!(dir_prefix("/etc/"), "/etc/");
        assert_eq!(dir_prefix("/"), "/");
    }
}
