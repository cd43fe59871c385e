//! The one probe per scope: a constant `sh` script that reports every package, unit and path the
//! scope's primitives observe, and runs every read-only query a provider registered, in one
//! command (through the guest transport in a guest).
//!
//! Its output is four sections: `@packages` (one `dpkg-query -W` for all packages), `@units`
//! (one `systemctl show` for all units), `@paths` (per path `@path P`, then `missing` or
//! `stat -c '%F|%a|%U:%G|%s'`, then for a regular file exactly `%s` bytes of content) and
//! `@queries` (per query `@query NAME STATUS BYTES`, then exactly `BYTES` bytes of the command's
//! standard output and error, then a newline), so no content or output can break the framing.
//! The simulated node emulates the script from the same constants (`sim::system`), running each
//! query through the emulator of its program.

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
use crate::scope::{Inventory, Scope};

/// The probe script. Each argument is one thing to observe, tagged: `p:PACKAGE`, `u:UNIT`,
/// `f:PATH`, or `q:NAME<TAB>ARG<TAB>ARG...` for a query (see [`probe_args`]); no argument holds
/// a newline, so a transport that carries arguments one per line (a batch over many guests) can
/// carry them unchanged.
pub const PROBE_SCRIPT: &str = r#"set -f
nl='
'
IFS=$nl
pk= un= pa= qu=
for a; do
  case $a in
    p:*) pk=$pk$nl${a#p:} ;;
    u:*) un=$un$nl${a#u:} ;;
    f:*) pa=$pa$nl${a#f:} ;;
    q:*) qu=$qu$nl${a#q:} ;;
  esac
done
echo @packages
[ -z "$pk" ] || dpkg-query -W -f='${Package}\t${db:Status-Abbrev}\t${Version}\n' -- $pk 2>/dev/null
echo @units
[ -z "$un" ] || systemctl show -p Id,LoadState,ActiveState,SubState,UnitFileState -- $un
echo @paths
for p in $pa; do
  printf '@path %s\n' "$p"
  if s=$(stat -c '%F|%a|%U:%G|%s' -- "$p" 2>/dev/null); then
    printf '%s\n' "$s"
    case $s in 'regular file|'*) cat -- "$p" ;; esac
  else
    echo missing
  fi
done
echo @queries
for q in $qu; do
  IFS='	'
  set -- $q
  IFS=$nl
  n=$1
  shift
  o=$(LC_ALL=C "$@" 2>&1; printf '@%s' "$?")
  r=${o##*@}
  o=${o%@*}
  printf '@query %s %s %s\n%s\n' "$n" "$r" "$(($(printf %s "$o" | wc -c)))" "$o"
done
"#;

/// The `$0` the probe script gets.
pub const PROBE_NAME: &str = "phoenix-scope-probe";

/// What the probe observes, as [`PROBE_SCRIPT`]'s tagged arguments, in a stable order. Names
/// holding a newline are left out (config validation refuses control characters before here).
pub fn probe_args(inventory: &Inventory) -> Vec<String> {
    let tagged = |tag: &str, items: &mut dyn Iterator<Item = String>| -> Vec<String> {
        items
            .filter(|item| !item.contains('\n'))
            .map(|item| format!("{tag}:{item}"))
            .collect()
    };
    let mut args = tagged("p", &mut inventory.packages.iter().cloned());
    args.extend(tagged("u", &mut inventory.units.iter().cloned()));
    args.extend(tagged("f", &mut inventory.paths.iter().cloned()));
    args.extend(tagged(
        "q",
        &mut inventory
            .queries
            .iter()
            .map(|(name, argv)| format!("{name}\t{}", argv.join("\t"))),
    ));
    args
}

/// The four newline-separated lists (packages, units, paths, queries) that tagged probe
/// arguments stand for, as the script gathers them; untagged arguments are ignored, as the
/// script does. For emulators.
pub fn split_probe_args(args: &[String]) -> [String; 4] {
    let mut lists: [String; 4] = Default::default();
    for arg in args {
        let (index, item) = match arg.split_once(':') {
            Some(("p", item)) => (0, item),
            Some(("u", item)) => (1, item),
            Some(("f", item)) => (2, item),
            Some(("q", item)) => (3, item),
            _ => continue,
        };
        lists[index].push_str(item);
        lists[index].push('\n');
    }
    lists
}

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
    /// What each registered query printed, by name.
    pub queries: BTreeMap<String, QueryFact>,
    /// Whether these are the empty facts of a guest this run makes or starts and that could not
    /// be probed yet ([`observe`]): everything in it is still to be made, and a query that did
    /// not run found nothing.
    #[serde(default)]
    pub to_be_made: bool,
}

impl ScopeFacts {
    /// The query `name` printed; `Ok(None)` when it did not run because the guest is still to be
    /// made ([`ScopeFacts::to_be_made`]), an error naming `what` when the probe left it out.
    pub fn query_or_absent(&self, name: &str, what: &str) -> Result<Option<&QueryFact>, String> {
        match self.queries.get(name) {
            Some(fact) => Ok(Some(fact)),
            None if self.to_be_made => Ok(None),
            None => Err(format!("the probe did not run `{what}`")),
        }
    }
}

/// What one query printed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryFact {
    /// Its exit status (127 when the program is missing).
    pub status: i32,
    /// Its standard output and standard error, together, as the command wrote them (run with
    /// `LC_ALL=C`).
    pub output: String,
}

impl QueryFact {
    /// Whether the command exited 0.
    pub fn success(&self) -> bool {
        self.status == 0
    }

    /// Whether the program was not found (status 127).
    pub fn is_missing_program(&self) -> bool {
        self.status == 127
    }
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
    let mut argv = vec![
        "-c".to_owned(),
        PROBE_SCRIPT.to_owned(),
        PROBE_NAME.to_owned(),
    ];
    argv.extend(probe_args(&scope.inventory()));
    scope.command(Cmd::read("sh", argv))
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

/// The probes of every guest of one class whose transport batches, from one node command
/// ([`crate::GuestTransport::batch`]): each guest's facts, or why its probe failed. Which guests are in
/// it is read when it is gathered (after decode, so every scoped resource has registered what it
/// observes); every scope of the class asks for the same fact and takes its own entry.
#[derive(Debug, Clone)]
pub struct GuestProbes {
    /// Any scope of the class: its class mates are read at gathering.
    scope: Scope,
}

impl GuestProbes {
    /// The batch probe of the scopes of `scope`'s class, when its transport batches.
    fn of(scope: &Scope) -> Option<GuestProbes> {
        scope
            .transport()
            .is_some_and(|transport| transport.batches())
            .then(|| GuestProbes {
                scope: scope.clone(),
            })
    }
}

/// Each scope's guest name with its probe arguments.
fn batch_args(scopes: &[Scope]) -> Vec<(String, Vec<String>)> {
    scopes
        .iter()
        .filter_map(|scope| Some((scope.guest()?.to_owned(), probe_args(&scope.inventory()))))
        .collect()
}

#[async_trait]
impl Fact for GuestProbes {
    type Value = BTreeMap<String, Result<ScopeFacts, String>>;

    fn key(&self) -> String {
        format!("scope.probe-batch:{}", self.scope.class().unwrap_or("node"))
    }

    async fn gather(&self, host: &dyn Host) -> Result<Self::Value, BoxError> {
        let Some(transport) = self.scope.transport() else {
            return Ok(BTreeMap::new());
        };
        let scopes = self.scope.class_mates();
        let cmd = transport
            .batch(PROBE_SCRIPT, PROBE_NAME, &batch_args(&scopes))
            .ok_or("the guest transport says it batches but gave no batch command")?;
        let output = run_checked(host, &cmd).await?;
        let outputs = transport.split_batch(&output)?;
        Ok(outputs
            .into_iter()
            .map(|(guest, stdout)| {
                let facts = stdout.and_then(|stdout| {
                    parse_probe(&stdout).map_err(|e| format!("read the probe of {guest}: {e}"))
                });
                (guest, facts)
            })
            .collect())
    }
}

/// The scope's facts: from the one batch command of its class when its transport batches,
/// otherwise from its own probe command. A guest that this run creates or starts and that cannot
/// be probed yet is observed as empty: everything in it is still to be made (but a batch command
/// that failed as a whole is an error).
pub async fn observe(cx: &Ctx<'_>, scope: &Scope) -> Result<Arc<ScopeFacts>, BoxError> {
    let observed: Result<Arc<ScopeFacts>, BoxError> = match GuestProbes::of(scope) {
        Some(batch) => match cx.fact(&batch).await {
            Ok(all) => match scope.guest().and_then(|guest| all.get(guest)) {
                Some(Ok(facts)) => Ok(Arc::new(facts.clone())),
                Some(Err(reason)) => Err(reason.clone().into()),
                None => Err(format!("the batch probe printed nothing for {scope}").into()),
            },
            // The node's batch command itself failed: no guest was observed, and a guest this
            // run starts is not "observed empty" on that ground.
            Err(err) => return Err(err.into()),
        },
        None => cx.fact(&Probe(scope.clone())).await.map_err(Into::into),
    };
    match observed {
        Ok(facts) => Ok(facts),
        Err(err) if scope.ready().is_some_and(|c| cx.is_provided(&c)) => {
            // Only a target that can reach such guests at all has one "still to be made": on a
            // node without the guest tool, its resources are not managed, like the guest's own.
            if let Some(transport) = scope.transport() {
                transport
                    .reachable(cx)
                    .await
                    .map_err(|unreachable| -> BoxError {
                        tracing::debug!(%scope, error = %err, "guest probe failed");
                        unreachable
                    })?;
            }
            cx.facts_cache().note_unreached(scope.name());
            Ok(Arc::new(ScopeFacts {
                to_be_made: true,
                ..ScopeFacts::default()
            }))
        }
        Err(err) => Err(err),
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
    let (paths, queries) = parse_paths(paths)?;
    facts.paths = paths;
    facts.queries = parse_queries(queries)?;
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

/// The `@path` records up to the `@queries` line (a regular file's content is read by its byte
/// count), and the text after that line.
fn parse_paths(mut text: &str) -> Result<(BTreeMap<String, PathFact>, &str), ParseError> {
    let mut paths = BTreeMap::new();
    let mut record = 0;
    loop {
        if let Some(queries) = text.strip_prefix("@queries\n") {
            return Ok((paths, queries));
        }
        if text.is_empty() {
            return Err(ParseError::new(record + 1, "expected @queries"));
        }
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
}

/// The `@query NAME STATUS BYTES` records, each followed by exactly `BYTES` bytes of output and a
/// newline.
fn parse_queries(mut text: &str) -> Result<BTreeMap<String, QueryFact>, ParseError> {
    let mut queries = BTreeMap::new();
    let mut record = 0;
    while !text.is_empty() {
        record += 1;
        let bad = |what: &str| ParseError::new(record, format!("query record {record}: {what}"));
        let (header, rest) = text.split_once('\n').ok_or_else(|| bad("no newline"))?;
        let fields: Vec<&str> = header
            .strip_prefix("@query ")
            .ok_or_else(|| bad("expected @query"))?
            .split(' ')
            .collect();
        let [name, status, size] = fields[..] else {
            return Err(bad("expected @query NAME STATUS BYTES"));
        };
        let status = status.parse().map_err(|_| bad("bad status"))?;
        let size: usize = size.parse().map_err(|_| bad("bad size"))?;
        let output = rest
            .get(..size)
            .ok_or_else(|| bad("output shorter than its size"))?;
        text = rest[size..]
            .strip_prefix('\n')
            .ok_or_else(|| bad("no newline after the output"))?;
        queries.insert(
            name.to_owned(),
            QueryFact {
                status,
                output: output.to_owned(),
            },
        );
    }
    Ok(queries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_probe_output_with_every_kind_of_record_parses() {
        let text = "@packages\nnginx\tii \t1.22.1-9+deb12u11\nsamba\trc \t\n@units\nId=nginx.service\nLoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\n\nId=nosuch.service\nLoadState=not-found\nActiveState=inactive\nSubState=dead\nUnitFileState=\n@paths\n@path /srv\ndirectory|755|root:root|4096\n@path /etc/x\nregular file|644|root:root|14\n@path /etc/y\n\n@path /etc/z\nmissing\n@path /etc/e\nregular empty file|600|root:root|0\n@queries\n@query exportfs 0 21\n/srv\t10.0.0.0/24(rw)\n\n@query nosuch 127 25\nsh: 1: nosuch: not found\n\n@query empty 3 0\n\n";
        let facts = parse_probe(text).expect("parses");
        assert_eq!(
            facts.queries["exportfs"],
            QueryFact {
                status: 0,
                output: "/srv\t10.0.0.0/24(rw)\n".to_owned()
            }
        );
        assert!(facts.queries["nosuch"].is_missing_program());
        assert_eq!(facts.queries["empty"].output, "");
        assert_eq!(facts.queries.len(), 3);
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
    fn issue_9_a_query_output_that_looks_like_a_record_is_still_output() {
        let text =
            "@packages\n@units\n@paths\n@queries\n@query a 0 26\n@query b 0 3\nxyz\n@queries\n\n";
        let facts = parse_probe(text).expect("parses");
        assert_eq!(facts.queries["a"].output, "@query b 0 3\nxyz\n@queries\n");
        assert_eq!(facts.queries.len(), 1);
        for bad in [
            "@packages\n@units\n@paths\n",
            "@packages\n@units\n@paths\n@queries\n@query a 0 9\nshort\n",
            "@packages\n@units\n@paths\n@queries\n@query a x 0\n\n",
            "@packages\n@units\n@paths\n@queries\n@query a 0 1\nxy",
        ] {
            assert!(parse_probe(bad).is_err(), "{bad:?}");
        }
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
