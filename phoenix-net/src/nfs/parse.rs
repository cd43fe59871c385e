//! The one parser of `exportfs -v` (the live export table), used by the provider's inspection
//! and checked against the emulator's output and the real samples in `fixtures/host`.
//!
//! nfs-utils 2.6.2 prints each export as `PATH` padded to 14 columns, a tab and
//! `CLIENT(OPTIONS)`; a path longer than 14 characters is followed by a newline and two tabs
//! instead (`exportfs-v.txt`). Everybody (`*`) is printed as `<world>`. No export prints nothing.

pub use phoenix_core::parse::ParseError;
use serde::{Deserialize, Serialize};

/// One line of the live export table.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LiveExport {
    /// The exported path.
    pub path: String,
    /// The client as exportfs keeps it (`*` for `<world>`).
    pub client: String,
    /// The options in exportfs's order.
    pub options: Vec<String>,
}

/// Parses `exportfs -v`.
pub fn parse_exportfs_v(text: &str) -> Result<Vec<LiveExport>, ParseError> {
    let mut exports = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((i, line)) = lines.next() {
        if line.is_empty() {
            continue;
        }
        let (path, rest, at) = match line.split_once('\t') {
            Some((path, rest)) => (path.trim_end().to_owned(), rest.to_owned(), i),
            None => {
                let (j, next) = lines.next().ok_or_else(|| {
                    ParseError::new(i + 1, format!("expected a client line after {line:?}"))
                })?;
                let client = next.strip_prefix("\t\t").ok_or_else(|| {
                    ParseError::new(j + 1, format!("expected two tabs and a client: {next:?}"))
                })?;
                (line.to_owned(), client.to_owned(), j)
            }
        };
        let (client, options) = rest
            .strip_suffix(')')
            .and_then(|r| r.split_once('('))
            .ok_or_else(|| {
                ParseError::new(at + 1, format!("expected CLIENT(OPTIONS): {rest:?}"))
            })?;
        if path.is_empty() || client.is_empty() {
            return Err(ParseError::new(
                at + 1,
                format!("expected a path and a client: {line:?}"),
            ));
        }
        exports.push(LiveExport {
            path,
            client: if client == "<world>" { "*" } else { client }.to_owned(),
            options: options.split(',').map(str::to_owned).collect(),
        });
    }
    Ok(exports)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/fixtures/host")
            .join(name);
        phoenix_core::sim::read_fixture(&path).expect("the sample exists")
    }

    #[test]
    fn issue_9_exportfs_v_samples_parse() {
        insta::assert_debug_snapshot!(parse_exportfs_v(&fixture("exportfs-v.txt")), @r#"
        Ok(
            [
                LiveExport {
                    path: "/quickOS/shared-prod-data",
                    client: "127.0.0.1",
                    options: [
                        "async",
                        "wdelay",
                        "hide",
                        "no_subtree_check",
                        "sec=sys",
                        "rw",
                        "secure",
                        "no_root_squash",
                        "no_all_squash",
                    ],
                },
                LiveExport {
                    path: "/quickOS/shared-prod-data",
                    client: "10.0.0.0/24",
                    options: [
                        "sync",
                        "wdelay",
                        "hide",
                        "no_subtree_check",
                        "sec=sys",
                        "ro",
                        "secure",
                        "root_squash",
                        "no_all_squash",
                    ],
                },
            ],
        )
        "#);
        assert_eq!(
            parse_exportfs_v(&fixture("exportfs-v.empty.txt")),
            Ok(Vec::new())
        );
    }

    #[test]
    fn issue_9_short_paths_world_and_broken_output() {
        let text = "/srv/a        \t<world>(sync,wdelay,hide,no_subtree_check,sec=sys,ro,secure,root_squash,no_all_squash)\n";
        let parsed = parse_exportfs_v(text).expect("parses");
        assert_eq!(
            (parsed[0].path.as_str(), parsed[0].client.as_str()),
            ("/srv/a", "*")
        );
        assert!(parse_exportfs_v("/quickOS/shared-prod-data\n").is_err());
        assert!(parse_exportfs_v("/srv/a\t10.0.0.1\n").is_err());
        assert!(parse_exportfs_v("/quickOS/shared-prod-data\n10.0.0.1(rw)\n").is_err());
    }
}
