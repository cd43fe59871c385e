//! Decodes the config's `samba` key into a [`Spec`], validated at JSON paths, one pure function
//! per concern (user name, share name, options, valid users, path), each with a table test.
//!
//! A share's `path` is an absolute path or a dataset name (`quickOS/shared-prod-data`, as the
//! upstream config writes it). A dataset name resolves to the dataset's mountpoint from the
//! config's own `zfs.datasets` (read through `DecodeCx::config`, the read-only view of the whole
//! config), because the include file's content is fixed at decode and diffed purely, before any
//! host is read; the dataset's resource provides `path:<mountpoint>`, so the share is ordered
//! after it and a mountpoint this run creates is not "missing".

use std::collections::BTreeMap;

use phoenix_core::config::{ConfigSet, JsonPath, excerpt, normalize_path, suggest};
use serde::Deserialize;
use serde_json::Value;

use super::conf::ShareSection;
use super::params::{Class, params};

/// What the `samba` key asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Spec {
    /// The Samba user, which must exist as a Linux user.
    pub(crate) user: Option<String>,
    /// The root-only file holding the user's password.
    pub(crate) password_file: Option<String>,
    /// The shares, in config order.
    pub(crate) shares: Vec<Share>,
}

/// One share, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Share {
    /// Its section in the include file.
    pub(crate) section: ShareSection,
    /// Whether its path is the mountpoint of a dataset the config declares (which the dataset's
    /// resource provides); otherwise the directory must already exist.
    pub(crate) dataset_mount: bool,
    /// Where it is in the config.
    pub(crate) at: JsonPath,
}

/// A share's path, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SharePathSpec {
    /// The absolute path.
    pub(crate) path: String,
    /// Whether it is a declared dataset's mountpoint.
    pub(crate) dataset_mount: bool,
    /// A note for the operator (a relative path that names no declared dataset).
    pub(crate) note: Option<String>,
}

/// A problem at a JSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    /// Where.
    pub(crate) at: JsonPath,
    /// What.
    pub(crate) message: String,
    /// An error, or only a note.
    pub(crate) is_note: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSamba {
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    password_file: Option<String>,
    #[serde(default)]
    shares: Vec<RawShare>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawShare {
    name: String,
    path: String,
    #[serde(default)]
    options: Option<Value>,
    #[serde(default)]
    valid_users: Vec<String>,
}

/// Parameters Phoenix writes itself from other keys; `options` may not set them.
const FROM_OTHER_KEYS: &[(&str, &str)] = &[("path", "path"), ("valid users", "valid_users")];

/// Share names Samba gives a meaning of their own.
const RESERVED_SHARES: &[&str] = &["global", "homes", "printers"];

/// Decodes and validates the section at `at`; every problem is collected.
pub(crate) fn decode_spec(raw: RawSamba, at: &JsonPath, mounts: &Mounts) -> (Spec, Vec<Problem>) {
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    let mut problem = |at: JsonPath, message: String| {
        problems.push(Problem {
            at,
            message,
            is_note: false,
        });
    };
    let user = raw.user.filter(|user| match check_user_name(user) {
        Ok(()) => true,
        Err(message) => {
            problem(at.key("user"), message);
            false
        }
    });
    let password_file = raw
        .password_file
        .and_then(|path| match normalize_path(&path) {
            Ok(path) => Some(path),
            Err(message) => {
                problem(at.key("password_file"), message);
                None
            }
        });
    if password_file.is_some() && user.is_none() {
        problem(
            at.key("password_file"),
            "a password file needs samba.user, the user it is for".to_owned(),
        );
    }
    let mut shares: Vec<Share> = Vec::new();
    for (i, share) in raw.shares.into_iter().enumerate() {
        let share_at = at.key("shares").index(i);
        let mut ok = true;
        if let Err(message) = check_share_name(&share.name) {
            problem(share_at.key("name"), message);
            ok = false;
        } else if let Some(first) = shares
            .iter()
            .find(|s| s.section.name.eq_ignore_ascii_case(&share.name))
        {
            problem(
                share_at.key("name"),
                format!(
                    "share {} is declared twice (Samba compares share names without case); first at {}",
                    excerpt(&share.name),
                    first.at
                ),
            );
            ok = false;
        }
        let path = match mounts.resolve(&share.path) {
            Ok(resolved) => {
                if let Some(message) = &resolved.note {
                    notes.push(Problem {
                        at: share_at.key("path"),
                        message: message.clone(),
                        is_note: true,
                    });
                }
                Some(resolved)
            }
            Err(message) => {
                problem(share_at.key("path"), message);
                None
            }
        };
        for (j, name) in share.valid_users.iter().enumerate() {
            if let Err(message) = check_valid_user(name) {
                problem(share_at.key("valid_users").index(j), message);
                ok = false;
            }
        }
        let options = match share.options.as_ref().map(parse_options).transpose() {
            Ok(options) => options.unwrap_or_default(),
            Err(message) => {
                problem(share_at.key("options"), message);
                ok = false;
                Vec::new()
            }
        };
        let mut checked = Vec::new();
        for (key, value) in options {
            match check_option(&key, &value) {
                Ok(pair) => checked.push(pair),
                Err(message) => {
                    problem(share_at.key("options").key(key), message);
                    ok = false;
                }
            }
        }
        if let (true, Some(path)) = (ok, path) {
            shares.push(Share {
                section: ShareSection {
                    name: share.name,
                    path: path.path,
                    valid_users: share.valid_users,
                    options: checked,
                },
                dataset_mount: path.dataset_mount,
                at: share_at,
            });
        }
    }
    problems.extend(notes);
    (
        Spec {
            user,
            password_file,
            shares,
        },
        problems,
    )
}

/// A Linux user name as Debian's `adduser` takes it (and at most 32 bytes).
pub(crate) fn check_user_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let rest_ok = name
        .trim_end_matches('$')
        .chars()
        .skip(1)
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.'));
    if first_ok && rest_ok && name.len() <= 32 {
        Ok(())
    } else {
        Err(format!(
            "invalid user name {}: use a lower-case letter or _, then lower-case letters, digits, _ - . (at most 32)",
            excerpt(name)
        ))
    }
}

/// A `valid users` entry: a user, or a group as `@group`, `+group` or `&group`.
pub(crate) fn check_valid_user(name: &str) -> Result<(), String> {
    check_user_name(name.trim_start_matches(['@', '+', '&'])).map_err(|_| {
        format!(
            "invalid valid_users entry {}: expected a user name, or a group as @group",
            excerpt(name)
        )
    })
}

/// A share name: letters, digits, `-`, `_`, `.` and `$`, at most 80, not a name Samba reserves.
pub(crate) fn check_share_name(name: &str) -> Result<(), String> {
    if RESERVED_SHARES.iter().any(|r| r.eq_ignore_ascii_case(name)) {
        return Err(format!(
            "share name {} is reserved by Samba ([global], [homes] and [printers] are special sections)",
            excerpt(name)
        ));
    }
    let chars_ok = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '$'));
    if name.is_empty() || name.len() > 80 || !chars_ok {
        return Err(format!(
            "invalid share name {}: use letters, digits, - _ . $ (at most 80)",
            excerpt(name)
        ));
    }
    Ok(())
}

/// The options as `(key, value)` pairs: the upstream string `"browseable=yes writable=yes"`
/// (pairs separated by blanks, so a key with a blank such as `read only` needs the object form),
/// or an object of strings, booleans or numbers.
pub(crate) fn parse_options(value: &Value) -> Result<Vec<(String, String)>, String> {
    match value {
        Value::String(text) => text
            .split_whitespace()
            .map(|pair| match pair.split_once('=') {
                Some((key, value)) if !key.is_empty() && !value.is_empty() => {
                    Ok((key.to_owned(), value.to_owned()))
                }
                _ => Err(format!(
                    "expected blank-separated key=value pairs, found {}; a key with a blank (\"read only\") needs the object form {{\"read only\": \"no\"}}",
                    excerpt(pair)
                )),
            })
            .collect(),
        Value::Object(map) => map
            .iter()
            .map(|(key, value)| match value {
                Value::String(s) => Ok((key.clone(), s.clone())),
                Value::Bool(b) => Ok((key.clone(), if *b { "yes" } else { "no" }.to_owned())),
                Value::Number(n) => Ok((key.clone(), n.to_string())),
                other => Err(format!(
                    "option {}: expected a string, boolean or number, found {}",
                    excerpt(key),
                    phoenix_core::config::kind_of(other)
                )),
            })
            .collect(),
        other => Err(format!(
            "expected options as \"key=value key=value\" or an object, found {}",
            phoenix_core::config::kind_of(other)
        )),
    }
}

/// One option against Samba's table: a known share parameter (not one Phoenix sets from
/// another key, not a global one), with a value Samba takes; gives the canonical name and the
/// value as testparm prints it. A parametric option (`fruit:time machine`) is taken as given.
pub(crate) fn check_option(key: &str, value: &str) -> Result<(String, String), String> {
    if value.contains(['\n', '\r']) {
        return Err("an option value is one line".to_owned());
    }
    if key.contains(':') {
        return Ok((key.trim().to_owned(), value.trim().to_owned()));
    }
    let Some(resolved) = params().resolve(key) else {
        let mut message = format!("unknown Samba share parameter {}", excerpt(key));
        if let Some(meant) = suggest(key, params().local_names()) {
            message.push_str(&format!("; did you mean {}?", excerpt(meant)));
        }
        return Err(message);
    };
    let name = resolved.param.name.clone();
    if let Some((_, other)) = FROM_OTHER_KEYS.iter().find(|(p, _)| *p == name) {
        return Err(format!(
            "{} is set from the share's {other:?} key, not from options",
            excerpt(key)
        ));
    }
    if resolved.param.class == Class::Global {
        return Err(format!(
            "{} is a global parameter; it belongs in smb.conf's [global], which Phoenix leaves to the operator",
            excerpt(key)
        ));
    }
    if matches!(resolved.param.ty, super::params::Type::Integer)
        && value.trim().parse::<i64>().is_err()
    {
        return Err(format!(
            "{}: expected an integer, found {}",
            excerpt(key),
            excerpt(value)
        ));
    }
    let canonical = resolved.canonical_value(value).map_err(|bad| {
        format!(
            "{}: {}, found {}",
            excerpt(key),
            bad.expected,
            excerpt(value)
        )
    })?;
    Ok((name, canonical))
}

/// Dataset mountpoints as the config declares them: full name → mountpoint (`None` for
/// `none` and `legacy`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Mounts {
    datasets: BTreeMap<String, Option<String>>,
}

impl Mounts {
    /// Reads `zfs.datasets[]` (`name`, `pool`, a `mountpoint` in `properties`) of every document.
    /// Problems in that section are the ZFS provider's to report; an entry it would refuse is
    /// simply not a dataset here.
    pub(crate) fn from_config(config: &ConfigSet) -> Mounts {
        let mut declared: BTreeMap<String, Option<String>> = BTreeMap::new();
        for section in config.sections().filter(|s| s.key == "zfs") {
            let datasets = section.value.get("datasets").and_then(Value::as_array);
            for dataset in datasets.into_iter().flatten() {
                let (Some(name), Some(pool)) = (
                    dataset.get("name").and_then(Value::as_str),
                    dataset.get("pool").and_then(Value::as_str),
                ) else {
                    continue;
                };
                declared.insert(
                    format!("{pool}/{name}"),
                    mountpoint_property(dataset.get("properties")),
                );
            }
        }
        Mounts::from_declared(declared)
    }

    /// Resolves inheritance: a dataset without a `mountpoint` of its own is mounted under its
    /// declared parent's mountpoint, else at `/<full name>` (ZFS's default).
    pub(crate) fn from_declared(declared: BTreeMap<String, Option<String>>) -> Mounts {
        let datasets = declared
            .keys()
            .map(|name| (name.clone(), inherited(&declared, name)))
            .collect();
        Mounts { datasets }
    }

    /// A share's `path`: an absolute path as given (normalised), or a declared dataset's
    /// mountpoint; a relative path that names no declared dataset is taken as upstream took
    /// it, relative to `/`, with a note (and a suggestion when it looks like a typo).
    pub(crate) fn resolve(&self, path: &str) -> Result<SharePathSpec, String> {
        let is_mount = |p: &str| self.datasets.values().any(|m| m.as_deref() == Some(p));
        if path.starts_with('/') {
            let path = normalize_path(path)?;
            return Ok(SharePathSpec {
                dataset_mount: is_mount(&path),
                path,
                note: None,
            });
        }
        match self.datasets.get(path) {
            Some(Some(mountpoint)) => Ok(SharePathSpec {
                path: mountpoint.clone(),
                dataset_mount: true,
                note: None,
            }),
            Some(None) => Err(format!(
                "dataset {} has mountpoint none or legacy; a share needs a mounted path",
                excerpt(path)
            )),
            None => {
                let absolute = normalize_path(&format!("/{path}"))?;
                let mut note = format!(
                    "{} is not a dataset declared in zfs.datasets; it is taken as the directory {absolute}, relative to / as upstream took it, which must exist",
                    excerpt(path)
                );
                if let Some(meant) = suggest(path, self.datasets.keys().map(String::as_str)) {
                    note.push_str(&format!(" (did you mean the dataset {}?)", excerpt(meant)));
                }
                Ok(SharePathSpec {
                    dataset_mount: is_mount(&absolute),
                    path: absolute,
                    note: Some(note),
                })
            }
        }
    }
}

/// The `mountpoint` in a dataset's properties (`"k=v,k=v"` or an object): `Some(None)` for
/// `none`/`legacy`, `None` when not set.
fn mountpoint_property(properties: Option<&Value>) -> Option<String> {
    let value = match properties? {
        Value::String(text) => text
            .split(',')
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.trim() == "mountpoint")
            .map(|(_, v)| v.trim().to_owned()),
        Value::Object(map) => map
            .get("mountpoint")
            .and_then(Value::as_str)
            .map(str::to_owned),
        _ => None,
    }?;
    Some(value)
}

fn inherited(declared: &BTreeMap<String, Option<String>>, name: &str) -> Option<String> {
    match declared.get(name).cloned().flatten() {
        Some(value) if value == "none" || value == "legacy" => None,
        Some(value) => Some(value),
        None => match name.rsplit_once('/') {
            Some((parent, child)) if declared.contains_key(parent) => {
                inherited(declared, parent).map(|m| format!("{}/{child}", m.trim_end_matches('/')))
            }
            _ => Some(format!("/{name}")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn show<T: std::fmt::Debug>(result: Result<T, String>) -> String {
        match result {
            Ok(value) => format!("ok {value:?}"),
            Err(message) => format!("error: {message}"),
        }
    }

    #[test]
    fn issue_9_share_and_user_names() {
        let cases = [
            ("shared-prod-data", "ok ()"),
            ("backup$", "ok ()"),
            (
                "Homes",
                "error: share name \"Homes\" is reserved by Samba ([global], [homes] and [printers] are special sections)",
            ),
            (
                "a b",
                "error: invalid share name \"a b\": use letters, digits, - _ . $ (at most 80)",
            ),
            (
                "x]",
                "error: invalid share name \"x]\": use letters, digits, - _ . $ (at most 80)",
            ),
            (
                "",
                "error: invalid share name \"\": use letters, digits, - _ . $ (at most 80)",
            ),
        ];
        for (name, expect) in cases {
            assert_eq!(show(check_share_name(name)), expect, "{name:?}");
        }
        let users = [
            ("heads", "ok ()"),
            ("@admins", "ok ()"),
            (
                "Heads",
                "error: invalid valid_users entry \"Heads\": expected a user name, or a group as @group",
            ),
            (
                "a;rm",
                "error: invalid valid_users entry \"a;rm\": expected a user name, or a group as @group",
            ),
        ];
        for (name, expect) in users {
            assert_eq!(show(check_valid_user(name)), expect, "{name:?}");
        }
    }

    #[test]
    fn issue_9_options_are_checked_against_what_samba_knows() {
        let cases = [
            (
                json!("browseable=yes writable=yes"),
                "ok [(\"browseable\", \"Yes\"), (\"read only\", \"No\")]",
            ),
            (
                json!({"read only": "no", "create mask": "0660", "fruit:aapl": "yes"}),
                "ok [(\"create mask\", \"0660\"), (\"fruit:aapl\", \"yes\"), (\"read only\", \"No\")]",
            ),
            (
                json!({"guest ok": true, "max connections": 10}),
                "ok [(\"guest ok\", \"Yes\"), (\"max connections\", \"10\")]",
            ),
            (
                json!("browseable=maybe"),
                "error: \"browseable\": expected yes or no, found \"maybe\"",
            ),
            (
                json!("bogus=1"),
                "error: unknown Samba share parameter \"bogus\"",
            ),
            (
                json!("browsable=yes writeable=yes"),
                "ok [(\"browseable\", \"Yes\"), (\"read only\", \"No\")]",
            ),
            (
                json!("browseabel=yes"),
                "error: unknown Samba share parameter \"browseabel\"; did you mean \"browseable\"?",
            ),
            (
                json!("workgroup=LAB"),
                "error: \"workgroup\" is a global parameter; it belongs in smb.conf's [global], which Phoenix leaves to the operator",
            ),
            (
                json!("path=/etc"),
                "error: \"path\" is set from the share's \"path\" key, not from options",
            ),
            (
                json!({"valid users": "root"}),
                "error: \"valid users\" is set from the share's \"valid_users\" key, not from options",
            ),
            (
                json!("read only=no"),
                "error: expected blank-separated key=value pairs, found \"read\"; a key with a blank (\"read only\") needs the object form {\"read only\": \"no\"}",
            ),
            (
                json!({"create mask": "99z"}),
                "error: \"create mask\": expected an octal mode such as 0770, found \"99z\"",
            ),
            (
                json!({"max connections": "12abc"}),
                "error: \"max connections\": expected an integer, found \"12abc\"",
            ),
            (
                json!(["a"]),
                "error: expected options as \"key=value key=value\" or an object, found an array",
            ),
        ];
        for (value, expect) in cases {
            let checked = parse_options(&value).and_then(|pairs| {
                let mut out: Vec<(String, String)> = pairs
                    .iter()
                    .map(|(k, v)| check_option(k, v))
                    .collect::<Result<_, _>>()?;
                out.sort();
                Ok(out)
            });
            assert_eq!(show(checked), expect, "{value}");
        }
    }

    #[test]
    fn issue_9_a_dataset_name_resolves_to_its_mountpoint() {
        let mounts = Mounts::from_declared(
            [
                ("quickOS/shared-prod-data".to_owned(), None),
                ("fastData/media".to_owned(), Some("/srv/media".to_owned())),
                ("fastData/media/films".to_owned(), None),
                ("fastData/raw".to_owned(), Some("legacy".to_owned())),
            ]
            .into(),
        );
        let cases = [
            (
                "quickOS/shared-prod-data",
                "ok /quickOS/shared-prod-data dataset",
            ),
            ("fastData/media/films", "ok /srv/media/films dataset"),
            ("/srv/media", "ok /srv/media dataset"),
            ("/srv//share/", "ok /srv/share directory"),
            (
                "fastData/raw",
                "error: dataset \"fastData/raw\" has mountpoint none or legacy; a share needs a mounted path",
            ),
            (
                "quickOS/shared-prod-dat",
                "ok /quickOS/shared-prod-dat directory; note: \"quickOS/shared-prod-dat\" is not a dataset declared in zfs.datasets; it is taken as the directory /quickOS/shared-prod-dat, relative to / as upstream took it, which must exist (did you mean the dataset \"quickOS/shared-prod-data\"?)",
            ),
            (
                "/srv/../etc",
                "error: expected a path without \"..\" components, found \"/srv/../etc\"",
            ),
        ];
        for (path, expect) in cases {
            let shown = match mounts.resolve(path) {
                Ok(r) => format!(
                    "ok {} {}{}",
                    r.path,
                    if r.dataset_mount {
                        "dataset"
                    } else {
                        "directory"
                    },
                    r.note.map(|n| format!("; note: {n}")).unwrap_or_default()
                ),
                Err(message) => format!("error: {message}"),
            };
            assert_eq!(shown, expect, "{path}");
        }
    }

    #[test]
    fn issue_9_every_problem_of_a_samba_section_is_reported_at_its_path() {
        let raw: RawSamba = serde_json::from_value(json!({
            "user": "heads",
            "password_file": "relative/pw",
            "shares": [
                {"name": "ok", "path": "/srv/ok", "options": "browseable=yes", "valid_users": ["heads"]},
                {"name": "OK", "path": "/srv/ok2"},
                {"name": "bad", "path": "/srv/bad", "options": {"bogus option": "1"}}
            ]
        }))
        .expect("shape");
        let (spec, problems) = decode_spec(raw, &JsonPath::root().key("samba"), &Mounts::default());
        let shown: Vec<String> = problems
            .iter()
            .map(|p| format!("{}: {}", p.at, p.message))
            .collect();
        insta::assert_snapshot!(shown.join("\n"), @r#"
        samba.password_file: expected an absolute path, found "relative/pw"
        samba.shares[1].name: share "OK" is declared twice (Samba compares share names without case); first at samba.shares[0]
        samba.shares[2].options."bogus option": unknown Samba share parameter "bogus option"
        "#);
        assert_eq!(spec.shares.len(), 1);
        assert_eq!(spec.user.as_deref(), Some("heads"));
    }
}
