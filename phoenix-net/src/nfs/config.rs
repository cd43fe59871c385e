//! Decodes the `nfs` section (`exports[]`: `path`, `clients[]`, `options[]`) into validated
//! exports, reporting every problem at its JSON path. Each concern (path, client, options,
//! duplicates) is a pure function with its table test.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, Ipv6Addr};

use phoenix_core::config::{Section, excerpt, normalize_path};
use phoenix_core::{DecodeCx, Diagnostic, Location};
use serde::Deserialize;
use serde_json::Value;

use super::options::{check_option, contradiction, keyword};

/// One export as the config wants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Export {
    /// The exported directory: absolute and normalised.
    pub(crate) path: String,
    /// Who may mount it, in config order, each with the export's options.
    pub(crate) clients: Vec<Client>,
    /// The options, in config order.
    pub(crate) options: Vec<String>,
    /// Where the export's `path` is in the config, for messages about it.
    pub(crate) at: Location,
}

/// A client specification as exports(5) reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Client {
    /// As written in the config (and the exports file).
    pub(crate) spec: String,
    /// What kind of client it is.
    pub(crate) kind: ClientKind,
}

/// The kinds of client exportfs tells apart (its `MCL_*` types), finer where Phoenix compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum ClientKind {
    /// A host name (`nas.lan`); exportfs resolves it.
    Host,
    /// One IPv4 or IPv6 address.
    Address,
    /// An IPv4 or IPv6 network (`10.0.0.0/24`).
    Network,
    /// A host name pattern with `*` or `?` (`*.lan`).
    Wildcard,
    /// An NIS netgroup (`@trusted`).
    Netgroup,
    /// Everybody (`*`).
    World,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NfsSection {
    #[serde(default)]
    exports: Vec<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportEntry {
    path: String,
    clients: Vec<String>,
    #[serde(default)]
    options: Vec<String>,
}

/// Decodes every `nfs` section; `None` when there is an error (reported to `cx`).
pub(crate) fn decode(sections: &[Section<'_>], cx: &mut DecodeCx<'_>) -> Option<Vec<Export>> {
    let mut exports = Vec::new();
    let mut ok = true;
    for section in sections.iter().filter(|s| s.key == "nfs") {
        let Some(nfs) = cx.decode::<NfsSection>(section, &section.path(), section.value) else {
            ok = false;
            continue;
        };
        for (i, value) in nfs.exports.iter().enumerate() {
            let at = section.path().key("exports").index(i);
            let Some(entry) = cx.decode::<ExportEntry>(section, &at, value) else {
                ok = false;
                continue;
            };
            match check_export(&entry) {
                Ok(export) => exports.push(Export {
                    at: section.location_of(&at.clone().key("path")),
                    ..export
                }),
                Err(problems) => {
                    ok = false;
                    for (relative, message) in problems {
                        let path = relative.iter().fold(at.clone(), |path, part| match part {
                            Part::Key(key) => path.key(*key),
                            Part::Index(index) => path.index(*index),
                        });
                        cx.report(Diagnostic::error(message).at(section.location_of(&path)));
                    }
                }
            }
        }
    }
    for (message, location) in duplicates(&exports) {
        ok = false;
        cx.report(Diagnostic::error(message).at(location));
    }
    ok.then_some(exports)
}

/// A step of a JSON path relative to one export entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Key(&'static str),
    Index(usize),
}

/// Everything wrong with one entry, each at its path relative to the entry.
type Problems = Vec<(Vec<Part>, String)>;

/// Checks one entry: its path, each client, the options.
fn check_export(entry: &ExportEntry) -> Result<Export, Problems> {
    let mut problems: Problems = Vec::new();
    let path = check_path(&entry.path)
        .map_err(|message| problems.push((vec![Part::Key("path")], message)))
        .ok();
    if entry.clients.is_empty() {
        problems.push((
            vec![Part::Key("clients")],
            "expected at least one client (a host, an address, a network such as \
             10.0.0.0/24, a wildcard such as *.lan, or * for everybody)"
                .to_owned(),
        ));
    }
    let mut clients = Vec::new();
    let mut seen = BTreeSet::new();
    for (j, spec) in entry.clients.iter().enumerate() {
        let at = vec![Part::Key("clients"), Part::Index(j)];
        match check_client(spec) {
            Ok(_) if !seen.insert(spec.to_ascii_lowercase()) => {
                problems.push((at, format!("client {} is listed twice", excerpt(spec))));
            }
            Ok(kind) => clients.push(Client {
                spec: spec.clone(),
                kind,
            }),
            Err(message) => problems.push((at, message)),
        }
    }
    if let Err((j, message)) = check_options(&entry.options) {
        problems.push((vec![Part::Key("options"), Part::Index(j)], message));
    }
    match path {
        Some(path) if problems.is_empty() => Ok(Export {
            path,
            clients,
            options: entry.options.clone(),
            at: Location::new("", ""),
        }),
        _ => Err(problems),
    }
}

/// An exported directory: absolute, normalised, not `/`, and only characters an exports file
/// holds without quoting.
pub(crate) fn check_path(path: &str) -> Result<String, String> {
    let normalized = normalize_path(path)?;
    if normalized == "/" {
        return Err(
            "expected a directory below / (exporting the root file system is refused)".to_owned(),
        );
    }
    let bad = normalized.chars().find(|c| {
        !(c.is_ascii_alphanumeric()
            || matches!(c, '/' | '.' | '_' | '-' | '+' | '@' | ':' | '~' | ',' | '='))
    });
    match bad {
        Some(c) => Err(format!(
            "expected an absolute path of letters, digits and / . _ - + @ : ~ , = (an exports file would need quoting for {c:?}), found {}",
            excerpt(path)
        )),
        None => Ok(normalized),
    }
}

/// A client specification exports(5) reads: `*`, an IPv4 or IPv6 address, a network
/// (`ADDRESS/PREFIX` or `IPv4/NETMASK`), a host name, a wildcard (`*` or `?` in a host name) or
/// a netgroup (`@name`).
pub(crate) fn check_client(spec: &str) -> Result<ClientKind, String> {
    let expected = || {
        format!(
            "expected a client such as 10.0.0.5, 10.0.0.0/24, 2001:db8::/32, nas.lan, *.lan, @netgroup or *, found {}",
            excerpt(spec)
        )
    };
    if spec == "*" {
        return Ok(ClientKind::World);
    }
    if let Some(group) = spec.strip_prefix('@') {
        return if is_hostname(group, false) {
            Ok(ClientKind::Netgroup)
        } else {
            Err(expected())
        };
    }
    if let Some((address, prefix)) = spec.split_once('/') {
        return check_network(address, prefix).map_err(|reason| format!("{}{reason}", expected()));
    }
    if spec.parse::<Ipv4Addr>().is_ok() || spec.parse::<Ipv6Addr>().is_ok() {
        return Ok(ClientKind::Address);
    }
    if spec.contains(['*', '?']) {
        return if is_hostname(spec, true) {
            Ok(ClientKind::Wildcard)
        } else {
            Err(expected())
        };
    }
    // A dotted quad that did not parse is a typo of an address, not a host name.
    let dotted_numbers = spec
        .split('.')
        .all(|p| p.bytes().all(|b| b.is_ascii_digit()));
    if is_hostname(spec, false) && !dotted_numbers {
        return Ok(ClientKind::Host);
    }
    Err(expected())
}

/// `ADDRESS/PREFIX` (IPv4 0..32, IPv6 0..128) or `IPv4/NETMASK` with contiguous bits.
fn check_network(address: &str, prefix: &str) -> Result<ClientKind, String> {
    let max = if address.parse::<Ipv4Addr>().is_ok() {
        32
    } else if address.parse::<Ipv6Addr>().is_ok() {
        128
    } else {
        return Err(" (not an address before the /)".to_owned());
    };
    if let Ok(bits) = prefix.parse::<u8>()
        && prefix.bytes().all(|b| b.is_ascii_digit())
    {
        return if bits <= max {
            Ok(ClientKind::Network)
        } else {
            Err(format!(" (the prefix is at most {max})"))
        };
    }
    match prefix.parse::<Ipv4Addr>() {
        Ok(mask)
            if max == 32 && {
                let bits = u32::from(mask);
                bits.leading_ones() + bits.trailing_zeros() == 32
            } =>
        {
            Ok(ClientKind::Network)
        }
        _ => Err(" (the part after / is a prefix length or an IPv4 netmask)".to_owned()),
    }
}

/// Labels of letters, digits and `-` (not at either end), separated by dots; with `wildcards`,
/// `*` and `?` are letters too.
fn is_hostname(name: &str, wildcards: bool) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| {
                    c.is_ascii_alphanumeric()
                        || c == '-'
                        || c == '_'
                        || (wildcards && matches!(c, '*' | '?'))
                })
        })
}

/// The options: each a keyword exportfs knows, none twice, none contradicting another; the
/// first problem with its index.
pub(crate) fn check_options(options: &[String]) -> Result<(), (usize, String)> {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (j, option) in options.iter().enumerate() {
        check_option(option).map_err(|message| (j, format!("expected {message}")))?;
        let key = keyword(option);
        if let Some(first) = seen.get(key) {
            return Err((
                j,
                format!("option \"{key}\" given twice (also at options[{first}]); give it once"),
            ));
        }
        if let Some(opposite) = contradiction(option)
            && let Some(other) = seen.get(opposite)
        {
            return Err((
                j,
                format!(
                    "option \"{option}\" contradicts \"{}\" at options[{other}]; keep one",
                    options[*other]
                ),
            ));
        }
        seen.insert(key, j);
    }
    Ok(())
}

/// Two exports of one path: the second is an error naming the first.
fn duplicates(exports: &[Export]) -> Vec<(String, Location)> {
    let mut first: BTreeMap<&str, &Location> = BTreeMap::new();
    let mut found = Vec::new();
    for export in exports {
        if let Some(earlier) = first.get(export.path.as_str()) {
            found.push((
                format!(
                    "{} is exported twice (first at {}); list all its clients in one export",
                    export.path, earlier.path
                ),
                export.at.clone(),
            ));
        } else {
            first.insert(&export.path, &export.at);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_9_export_paths_are_absolute_normalised_and_plain() {
        let cases: &[(&str, Result<&str, &str>)] = &[
            ("/quickOS/shared-prod-data", Ok("/quickOS/shared-prod-data")),
            (
                "/fastData//shared-bulk-data/",
                Ok("/fastData/shared-bulk-data"),
            ),
            ("/srv/./nfs", Ok("/srv/nfs")),
            ("quickOS/shared", Err("expected an absolute path")),
            ("/srv/../etc", Err("without \"..\" components")),
            ("/", Err("exporting the root file system is refused")),
            ("/srv/my share", Err("would need quoting for ' '")),
            ("/srv/a(b)", Err("would need quoting for '('")),
            ("/srv/\"x\"", Err("would need quoting for '\"'")),
            ("/srv/x#y", Err("would need quoting for '#'")),
        ];
        for (path, expected) in cases {
            let got = check_path(path);
            match expected {
                Ok(normalized) => assert_eq!(got.as_deref(), Ok(*normalized), "{path}"),
                Err(part) => assert!(
                    got.as_ref().is_err_and(|m| m.contains(part)),
                    "{path}: {got:?}"
                ),
            }
        }
    }

    #[test]
    fn issue_9_clients_are_hosts_addresses_networks_wildcards_netgroups_or_everybody() {
        use ClientKind::*;
        let cases: &[(&str, Result<ClientKind, &str>)] = &[
            ("10.0.0.0/24", Ok(Network)),
            ("10.0.0.0/255.255.255.0", Ok(Network)),
            ("0.0.0.0/0", Ok(Network)),
            ("2001:db8::/32", Ok(Network)),
            ("10.0.0.13", Ok(Address)),
            ("::1", Ok(Address)),
            ("nas", Ok(Host)),
            ("nas.lab.example", Ok(Host)),
            ("pve-01.lan", Ok(Host)),
            ("*.lan", Ok(Wildcard)),
            ("host?.lan", Ok(Wildcard)),
            ("@trusted", Ok(Netgroup)),
            ("*", Ok(World)),
            ("10.0.0.0/33", Err("the prefix is at most 32")),
            ("2001:db8::/129", Err("the prefix is at most 128")),
            (
                "10.0.0.0/255.0.255.0",
                Err("prefix length or an IPv4 netmask"),
            ),
            ("10.0.0/24", Err("not an address before the /")),
            ("10.0.0.256", Err("found \"10.0.0.256\"")),
            ("nas lan", Err("found \"nas lan\"")),
            ("-nas", Err("found \"-nas\"")),
            ("nas(rw)", Err("found \"nas(rw)\"")),
            ("", Err("found \"\"")),
            ("@", Err("found \"@\"")),
        ];
        for (spec, expected) in cases {
            let got = check_client(spec);
            match expected {
                Ok(kind) => assert_eq!(got, Ok(*kind), "{spec}"),
                Err(part) => assert!(
                    got.as_ref().is_err_and(|m| m.contains(part)),
                    "{spec}: {got:?}"
                ),
            }
        }
    }

    #[test]
    fn issue_9_options_are_known_given_once_and_consistent() {
        let strings = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        type Case<'a> = (&'a [&'a str], Result<(), (usize, &'a str)>);
        let cases: &[Case<'_>] = &[
            (
                &["rw", "sync", "no_subtree_check", "no_root_squash"],
                Ok(()),
            ),
            (&[], Ok(())),
            (
                &["rw", "ro"],
                Err((1, "\"ro\" contradicts \"rw\" at options[0]")),
            ),
            (&["sync", "rw", "async"], Err((2, "contradicts \"sync\""))),
            (&["mp", "mountpoint=/x"], Err((1, "contradicts \"mp\""))),
            (&["rw", "rw"], Err((1, "option \"rw\" given twice"))),
            (
                &["fsid=1", "fsid=2"],
                Err((1, "option \"fsid\" given twice")),
            ),
            (
                &["rw", "nosuch"],
                Err((1, "an export option exportfs knows")),
            ),
        ];
        for (options, expected) in cases {
            let got = check_options(&strings(options));
            match expected {
                Ok(()) => assert_eq!(got, Ok(()), "{options:?}"),
                Err((index, part)) => assert!(
                    got.as_ref()
                        .is_err_and(|(i, m)| i == index && m.contains(part)),
                    "{options:?}: {got:?}"
                ),
            }
        }
    }

    #[test]
    fn issue_9_an_entry_reports_every_problem_at_its_own_path() {
        let entry = ExportEntry {
            path: "relative".into(),
            clients: vec![
                "10.0.0.0/24".into(),
                "bad client".into(),
                "10.0.0.0/24".into(),
            ],
            options: vec!["rw".into(), "bogus".into()],
        };
        let problems = check_export(&entry).expect_err("three problems");
        let rendered: Vec<String> = problems
            .iter()
            .map(|(at, message)| format!("{at:?}: {message}"))
            .collect();
        insta::assert_snapshot!(rendered.join("\n"), @r#"
        [Key("path")]: expected an absolute path, found "relative"
        [Key("clients"), Index(1)]: expected a client such as 10.0.0.5, 10.0.0.0/24, 2001:db8::/32, nas.lan, *.lan, @netgroup or *, found "bad client"
        [Key("clients"), Index(2)]: client "10.0.0.0/24" is listed twice
        [Key("options"), Index(1)]: expected an export option exportfs knows (see exports(5)), found "bogus"
        "#);
    }
}
