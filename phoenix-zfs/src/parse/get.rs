//! `zfs get` and `zpool get` in scripted form (`-H -p -o name,property,value,source`): every
//! property with its value and where the value comes from.

use std::collections::BTreeMap;
use std::fmt;

use super::ParseError;

/// Where a property's value comes from: the `source` column.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[non_exhaustive]
pub enum Source {
    /// Set on this dataset or pool (`local`).
    Local,
    /// The built-in default (`default`).
    Default,
    /// Inherited from the named ancestor (`inherited from <dataset>`).
    Inherited(String),
    /// Received with `zfs receive` (`received`).
    Received,
    /// Set for this mount only (`temporary`).
    Temporary,
    /// Read-only or statistics: no source (`-`).
    None,
}

impl Source {
    /// Parses the `source` column as OpenZFS prints it.
    pub fn parse(text: &str) -> Option<Source> {
        match text {
            "local" => Some(Source::Local),
            "default" => Some(Source::Default),
            "received" => Some(Source::Received),
            "temporary" => Some(Source::Temporary),
            "-" => Some(Source::None),
            _ => text
                .strip_prefix("inherited from ")
                .filter(|from| !from.is_empty())
                .map(|from| Source::Inherited(from.to_owned())),
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Local => f.write_str("local"),
            Source::Default => f.write_str("default"),
            Source::Inherited(from) => write!(f, "inherited from {from}"),
            Source::Received => f.write_str("received"),
            Source::Temporary => f.write_str("temporary"),
            Source::None => f.write_str("-"),
        }
    }
}

/// One property's value and source.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Prop {
    /// The value as printed; with `-p`, sizes are plain byte counts and `-` means not applicable.
    pub value: String,
    /// Where the value comes from.
    pub source: Source,
}

impl Prop {
    /// A property value with its source.
    pub fn new(value: impl Into<String>, source: Source) -> Prop {
        Prop {
            value: value.into(),
            source,
        }
    }
}

/// Properties by object (pool or dataset name), then by property name.
pub type PropertyTable = BTreeMap<String, BTreeMap<String, Prop>>;

/// Parses `zfs get -H -p -o name,property,value,source ...` (any property list, `all` included,
/// with or without dataset arguments).
pub fn parse_zfs_get(text: &str) -> Result<PropertyTable, ParseError> {
    parse_get(text)
}

/// Parses `zpool get -H -p -o name,property,value,source ...` (any property list, `all`
/// included, with or without pool arguments).
pub fn parse_zpool_get(text: &str) -> Result<PropertyTable, ParseError> {
    parse_get(text)
}

/// Both tools print the same four TAB-separated columns, one property per line.
fn parse_get(text: &str) -> Result<PropertyTable, ParseError> {
    let mut table = PropertyTable::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let [name, property, value, source] = fields[..] else {
            return Err(ParseError::new(
                number,
                format!(
                    "expected 4 TAB-separated fields (name, property, value, source), found {}",
                    fields.len()
                ),
            ));
        };
        if name.is_empty() || property.is_empty() {
            return Err(ParseError::new(number, "empty name or property"));
        }
        let source = Source::parse(source)
            .ok_or_else(|| ParseError::new(number, format!("unknown source `{source}`")))?;
        let previous = table
            .entry(name.to_owned())
            .or_default()
            .insert(property.to_owned(), Prop::new(value, source));
        if previous.is_some() {
            return Err(ParseError::new(
                number,
                format!("property `{property}` of `{name}` is listed twice"),
            ));
        }
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::testing::fixture_body;

    #[test]
    fn sources_round_trip() {
        for text in [
            "local",
            "default",
            "-",
            "received",
            "temporary",
            "inherited from a/b",
        ] {
            let source = Source::parse(text).expect("known source");
            assert_eq!(source.to_string(), text);
        }
        assert_eq!(Source::parse("inherited from "), None);
        assert_eq!(Source::parse("bogus"), None);
    }

    #[test]
    fn inherited_and_not_applicable_values() {
        let table = parse_zfs_get("a/b\tcompression\tlz4\tinherited from a\na/b\tvolsize\t-\t-\n")
            .expect("valid");
        assert_eq!(
            table["a/b"]["compression"],
            Prop::new("lz4", Source::Inherited("a".to_owned()))
        );
        assert_eq!(table["a/b"]["volsize"], Prop::new("-", Source::None));
    }

    #[test]
    fn errors_name_the_line() {
        let err = parse_zfs_get("a\tx\t1\tlocal\na b c\n").expect_err("spaces, not tabs");
        assert_eq!(err.line, 2);
        let err = parse_zpool_get("p\tx\t1\tsomewhere\n").expect_err("bad source");
        assert_eq!(err.to_string(), "parse line 1: unknown source `somewhere`");
        let err = parse_zpool_get("p\tx\t1\tlocal\np\tx\t2\tlocal\n").expect_err("twice");
        assert_eq!(err.line, 2);
    }

    #[test]
    fn zfs_get_fixtures() {
        insta::glob!(
            "../../../../shared/fixtures",
            "{zfs,zfs-2.3}/zfs-get-Hp*.txt",
            |path| {
                insta::assert_debug_snapshot!(parse_zfs_get(&fixture_body(path)));
            }
        );
        insta::glob!(
            "../../../../shared/fixtures",
            "{zfs,zfs-2.3}/zfs-inherit.txt",
            |path| {
                insta::assert_debug_snapshot!(parse_zfs_get(&fixture_body(path)));
            }
        );
        insta::glob!(
            "../../../../shared/fixtures",
            "proxmox/zfs-get-H*.txt",
            |path| {
                insta::assert_debug_snapshot!(parse_zfs_get(&fixture_body(path)));
            }
        );
    }

    #[test]
    fn zpool_get_fixtures() {
        insta::glob!(
            "../../../../shared/fixtures",
            "{zfs,zfs-2.3}/zpool-get-Hp*.txt",
            |path| {
                let body = fixture_body(path);
                // zpool-get-Hp-o.selected.txt is an error message (exit 1), not a listing.
                if !body.starts_with("cannot") && !body.starts_with("Cannot") {
                    insta::assert_debug_snapshot!(parse_zpool_get(&body));
                }
            }
        );
        insta::glob!(
            "../../../../shared/fixtures",
            "proxmox/zpool-get-Hp-all*.txt",
            |path| {
                insta::assert_debug_snapshot!(parse_zpool_get(&fixture_body(path)));
            }
        );
    }
}
