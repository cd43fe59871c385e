//! The one probe per scope: a constant `sh` script that reports every package, unit and path the
//! scope's primitives observe, in one command (through the guest transport in a guest).
//!
//! Its output is three sections: `@packages` (one `dpkg-query -W` for all packages), `@units`
//! (one `systemctl show` for all units) and `@paths` (per path `@path P`, then `missing` or
//! `stat -c '%F|%a|%U:%G|%s'`, then for a regular file exactly `%s` bytes of content, so no
//! content can break the framing). The simulated node emulates the script from the same
//! constants (`sim::system`).

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::cmd::Cmd;
use crate::error::BoxError;
use crate::facts::Fact;
use crate::host::{Host, run_checked};
use crate::parse::ParseError;
use crate::resource::Ctx;
use crate::scope::Scope;

/// The probe script; its arguments are three newline-separated lists: packages, units, paths.
pub const PROBE_SCRIPT: &str = r#"set -f
IFS='
'
echo @packages
[ -z "$1" ] || dpkg-query -W -f='${Package}\t${db:Status-Abbrev}\t${Version}\n' -- $1 2>/dev/null
echo @units
[ -z "$2" ] || systemctl show -p Id,LoadState,ActiveState,SubState,UnitFileState -- $2
echo @paths
for p in $3; do
  printf '@path %s\n' "$p"
  if s=$(stat -c '%F|%a|%U:%G|%s' -- "$p" 2>/dev/null); then
    printf '%s\n' "$s"
    case $s in 'regular file|'*) cat -- "$p" ;; esac
  else
    echo missing
  fi
done
"#;

/// The `dpkg-query` format the probe uses.
pub const DPKG_FORMAT: &str = r"${Package}\t${db:Status-Abbrev}\t${Version}\n";

/// The unit properties the probe asks `systemctl show` for.
pub const UNIT_PROPERTIES: &str = "Id,LoadState,ActiveState,SubState,UnitFileState";

/// What one probe observed in a scope.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeFacts {
    /// Packages dpkg knows, by name.
    pub packages: BTreeMap<String, PackageFact>,
    /// Units by name (`nginx.service`).
    pub units: BTreeMap<String, UnitFact>,
    /// Existing paths (missing ones are absent).
    pub paths: BTreeMap<String, PathFact>,
}

/// A package as dpkg knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageFact {
    /// `db:Status-Abbrev` without its trailing blank: `ii` is installed, `rc` removed with its
    /// configuration kept, `un` unknown.
    pub status: String,
    /// The version, empty when not installed.
    pub version: String,
}

impl PackageFact {
    /// Whether the package is installed and configured.
    pub fn is_installed(&self) -> bool {
        self.status == "ii"
    }
}

/// A systemd unit's states.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitFact {
    /// `loaded`, `not-found`, ...
    pub load_state: String,
    /// `active`, `inactive`, `failed`, ...
    pub active_state: String,
    /// `running`, `dead`, `exited`, ...
    pub sub_state: String,
    /// `enabled`, `disabled`, `static`, or empty for a unit without a file.
    pub unit_file_state: String,
}

/// A path as `stat` saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathFact {
    /// `stat`'s `%F`: `directory`, `regular file`, `regular empty file`, `symbolic link`, ...
    pub file_type: String,
    /// The permission bits.
    pub mode: u32,
    /// `user:group`.
    pub owner: String,
    /// A regular file's content.
    pub content: Option<String>,
}

impl PathFact {
    /// Whether it is a directory.
    pub fn is_dir(&self) -> bool {
        self.file_type == "directory"
    }

    /// Whether it is a regular file (empty or not).
    pub fn is_file(&self) -> bool {
        self.file_type.starts_with("regular ")
    }
}

/// The probe command of `scope` (as the node runs it).
pub fn probe_command(scope: &Scope) -> Cmd {
    let inventory = scope.inventory();
    let join = |items: &std::collections::BTreeSet<String>| {
        items.iter().cloned().collect::<Vec<_>>().join("\n")
    };
    scope.command(Cmd::read(
        "sh",
        [
            "-c".to_owned(),
            PROBE_SCRIPT.to_owned(),
            "sh".to_owned(),
            join(&inventory.packages),
            join(&inventory.units),
            join(&inventory.paths),
        ],
    ))
}

/// The probe of one scope, as a fact: gathered once per run, shared by every primitive in it.
#[derive(Debug, Clone)]
pub struct Probe(pub Scope);

#[async_trait]
impl Fact for Probe {
    type Value = ScopeFacts;

    fn key(&self) -> String {
        format!("scope.probe:{}", self.0)
    }

    async fn gather(&self, host: &dyn Host) -> Result<ScopeFacts, BoxError> {
        let output = run_checked(host, &probe_command(&self.0)).await?;
        Ok(parse_probe(&output.stdout)?)
    }
}

/// The scope's facts. A guest that this run creates or starts and that cannot be probed yet is
/// observed as empty: everything in it is still to be made.
pub async fn observe(cx: &Ctx<'_>, scope: &Scope) -> Result<Arc<ScopeFacts>, BoxError> {
    match cx.fact(&Probe(scope.clone())).await {
        Ok(facts) => Ok(facts),
        Err(_) if scope.ready().is_some_and(|c| cx.is_provided(&c)) => {
            Ok(Arc::new(ScopeFacts::default()))
        }
        Err(err) => Err(err.into()),
    }
}

/// Parses the probe's output.
pub fn parse_probe(text: &str) -> Result<ScopeFacts, ParseError> {
    let mut facts = ScopeFacts::default();
    let rest = text
        .strip_prefix("@packages\n")
        .ok_or_else(|| ParseError::new(1, "expected @packages"))?;
    let (packages, rest) = rest
        .split_once("@units\n")
        .ok_or_else(|| ParseError::new(1, "expected @units"))?;
    for (i, line) in packages.lines().enumerate() {
        let mut fields = line.split('\t');
        let (Some(name), Some(status), Some(version)) =
            (fields.next(), fields.next(), fields.next())
        else {
            return Err(ParseError::new(
                i + 2,
                format!("expected 3 tab-separated fields: {line:?}"),
            ));
        };
        facts.packages.insert(
            name.to_owned(),
            PackageFact {
                status: status.trim_end().to_owned(),
                version: version.to_owned(),
            },
        );
    }
    let (units, paths) = rest
        .split_once("@paths\n")
        .ok_or_else(|| ParseError::new(1, "expected @paths"))?;
    facts.units = parse_units(units);
    facts.paths = parse_paths(paths)?;
    Ok(facts)
}

/// `systemctl show` blocks, separated by blank lines, keyed by `Id`.
fn parse_units(text: &str) -> BTreeMap<String, UnitFact> {
    let mut units = BTreeMap::new();
    for block in text.split("\n\n") {
        let mut id = None;
        let mut unit = UnitFact::default();
        for line in block.lines() {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let value = value.to_owned();
            match key {
                "Id" => id = Some(value),
                "LoadState" => unit.load_state = value,
                "ActiveState" => unit.active_state = value,
                "SubState" => unit.sub_state = value,
                "UnitFileState" => unit.unit_file_state = value,
                _ => {}
            }
        }
        if let Some(id) = id {
            units.insert(id, unit);
        }
    }
    units
}

/// The `@path` records; a regular file's content is read by its byte count.
fn parse_paths(mut text: &str) -> Result<BTreeMap<String, PathFact>, ParseError> {
    let mut paths = BTreeMap::new();
    let mut record = 0;
    while !text.is_empty() {
        record += 1;
        let bad = |what: &str| ParseError::new(record, format!("path record {record}: {what}"));
        let (header, rest) = text.split_once('\n').ok_or_else(|| bad("no newline"))?;
        let path = header
            .strip_prefix("@path ")
            .ok_or_else(|| bad("expected @path"))?;
        let (stat, rest) = rest.split_once('\n').ok_or_else(|| bad("no stat line"))?;
        text = rest;
        if stat == "missing" {
            continue;
        }
        let fields: Vec<&str> = stat.splitn(4, '|').collect();
        let [file_type, mode, owner, size] = fields[..] else {
            return Err(bad("expected %F|%a|%U:%G|%s"));
        };
        let mode = u32::from_str_radix(mode, 8).map_err(|_| bad("bad mode"))?;
        let content = if file_type == "regular file" {
            let size: usize = size.parse().map_err(|_| bad("bad size"))?;
            let content = text
                .get(..size)
                .ok_or_else(|| bad("content shorter than its size"))?;
            text = &text[size..];
            Some(content.to_owned())
        } else if file_type == "regular empty file" {
            Some(String::new())
        } else {
            None
        };
        paths.insert(
            path.to_owned(),
            PathFact {
                file_type: file_type.to_owned(),
                mode,
                owner: owner.to_owned(),
                content,
            },
        );
    }
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_probe_output_with_every_kind_of_record_parses() {
        let text = "@packages\nnginx\tii \t1.22.1-9+deb12u11\nsamba\trc \t\n@units\nId=nginx.service\nLoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\n\nId=nosuch.service\nLoadState=not-found\nActiveState=inactive\nSubState=dead\nUnitFileState=\n@paths\n@path /srv\ndirectory|755|root:root|4096\n@path /etc/x\nregular file|644|root:root|14\n@path /etc/y\n\n@path /etc/z\nmissing\n@path /etc/e\nregular empty file|600|root:root|0\n";
        let facts = parse_probe(text).expect("parses");
        assert!(facts.packages["nginx"].is_installed());
        assert!(!facts.packages["samba"].is_installed());
        assert_eq!(facts.units["nginx.service"].unit_file_state, "enabled");
        assert_eq!(facts.units["nosuch.service"].load_state, "not-found");
        assert!(facts.paths["/srv"].is_dir());
        // A file whose content looks like a record is still content.
        assert_eq!(
            facts.paths["/etc/x"].content.as_deref(),
            Some("@path /etc/y\n\n")
        );
        assert!(!facts.paths.contains_key("/etc/z"));
        assert_eq!(facts.paths["/etc/e"].content.as_deref(), Some(""));
        assert_eq!(facts.paths.len(), 3);
    }

    #[test]
    fn a_truncated_probe_is_an_error() {
        let err = parse_probe(
            "@packages\n@units\n@paths\n@path /etc/x\nregular file|644|root:root|99\nshort",
        )
        .expect_err("truncated");
        assert!(
            err.to_string().contains("content shorter than its size"),
            "{err}"
        );
    }
}
