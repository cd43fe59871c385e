//! The export options exportfs knows, and what an export's options become in the export table.
//!
//! One model, used both ways: the provider validates the config's options against the keyword
//! table and computes the option list `exportfs -v` shows for an export (to tell drift), and the
//! `exportfs` emulator applies the same function to the lines it reads from an exports file, so
//! the simulator cannot agree with a wrong provider. The semantics follow nfs-utils 2.6.2
//! (Debian 12): `support/nfs/exports.c` `parseopts` (defaults `ro`, `sync`, `wdelay`, `hide`,
//! `no_subtree_check`, `secure`, `root_squash`; a later option overrides an earlier one) and
//! `utils/exportfs/exportfs.c` `dump` (the order `exportfs -v` prints them in, checked against
//! `fixtures/host/exportfs-v.txt`).

/// The uid and gid exportfs maps squashed users to by default (and does not print).
const NOBODY: i64 = 65534;

/// How an option is written: a bare keyword, or `keyword=value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Flag,
    Value,
    /// `mountpoint` and `mp`: bare or with a path.
    OptionalValue,
}

/// Every option keyword exportfs 2.6.2 accepts, with its shape and the keyword it contradicts.
const KEYWORDS: &[(&str, Shape, Option<&str>)] = &[
    ("ro", Shape::Flag, Some("rw")),
    ("rw", Shape::Flag, Some("ro")),
    ("secure", Shape::Flag, Some("insecure")),
    ("insecure", Shape::Flag, Some("secure")),
    ("sync", Shape::Flag, Some("async")),
    ("async", Shape::Flag, Some("sync")),
    ("nordirplus", Shape::Flag, None),
    ("security_label", Shape::Flag, None),
    ("nohide", Shape::Flag, Some("hide")),
    ("hide", Shape::Flag, Some("nohide")),
    ("crossmnt", Shape::Flag, Some("nocrossmnt")),
    ("nocrossmnt", Shape::Flag, Some("crossmnt")),
    ("wdelay", Shape::Flag, Some("no_wdelay")),
    ("no_wdelay", Shape::Flag, Some("wdelay")),
    ("root_squash", Shape::Flag, Some("no_root_squash")),
    ("no_root_squash", Shape::Flag, Some("root_squash")),
    ("all_squash", Shape::Flag, Some("no_all_squash")),
    ("no_all_squash", Shape::Flag, Some("all_squash")),
    ("subtree_check", Shape::Flag, Some("no_subtree_check")),
    ("no_subtree_check", Shape::Flag, Some("subtree_check")),
    ("auth_nlm", Shape::Flag, Some("no_auth_nlm")),
    ("no_auth_nlm", Shape::Flag, Some("auth_nlm")),
    ("secure_locks", Shape::Flag, Some("insecure_locks")),
    ("insecure_locks", Shape::Flag, Some("secure_locks")),
    ("acl", Shape::Flag, Some("no_acl")),
    ("no_acl", Shape::Flag, Some("acl")),
    ("pnfs", Shape::Flag, Some("no_pnfs")),
    ("no_pnfs", Shape::Flag, Some("pnfs")),
    ("anonuid", Shape::Value, None),
    ("anongid", Shape::Value, None),
    ("fsid", Shape::Value, None),
    ("mountpoint", Shape::OptionalValue, Some("mp")),
    ("mp", Shape::OptionalValue, Some("mountpoint")),
    ("refer", Shape::Value, Some("replicas")),
    ("replicas", Shape::Value, Some("refer")),
    ("sec", Shape::Value, None),
];

/// Security flavors exportfs knows (`flav_map`).
const FLAVORS: &[&str] = &["krb5", "krb5i", "krb5p", "unix", "sys", "null", "none"];

/// What one export entry's options amount to, as exportfs keeps them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Flags {
    readonly: bool,
    insecure: bool,
    asynchronous: bool,
    no_readdirplus: bool,
    security_label: bool,
    nohide: bool,
    crossmnt: bool,
    wdelay: bool,
    root_squash: bool,
    all_squash: bool,
    no_subtree_check: bool,
    insecure_locks: bool,
    no_acl: bool,
    pnfs: bool,
    anonuid: i64,
    anongid: i64,
    fsid: Option<Fsid>,
    mountpoint: Option<String>,
    fsloc: Option<(&'static str, String)>,
    flavors: Vec<String>,
}

/// An `fsid=` value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Fsid {
    Number(u32),
    Uuid(String),
}

impl Default for Flags {
    fn default() -> Flags {
        Flags {
            readonly: true,
            insecure: false,
            asynchronous: false,
            no_readdirplus: false,
            security_label: false,
            nohide: false,
            crossmnt: false,
            wdelay: true,
            root_squash: true,
            all_squash: false,
            no_subtree_check: true,
            insecure_locks: false,
            no_acl: false,
            pnfs: false,
            anonuid: NOBODY,
            anongid: NOBODY,
            fsid: None,
            mountpoint: None,
            fsloc: None,
            flavors: Vec::new(),
        }
    }
}

/// An option exportfs refuses, with the message it prints (after `FILE:LINE: `).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadOption(pub(crate) String);

impl Flags {
    /// The flags of an option list, applied left to right as exportfs does; the first option
    /// it refuses is an error carrying exportfs's own message.
    pub(crate) fn from_options<'a>(
        options: impl IntoIterator<Item = &'a str>,
    ) -> Result<Flags, BadOption> {
        let mut flags = Flags::default();
        for option in options {
            flags.apply(option)?;
        }
        Ok(flags)
    }

    fn apply(&mut self, option: &str) -> Result<(), BadOption> {
        let (key, value) = match option.split_once('=') {
            Some((key, value)) => (key, Some(value)),
            None => (option, None),
        };
        match (key, value) {
            ("ro" | "rw", None) => self.readonly = key == "ro",
            ("secure" | "insecure", None) => self.insecure = key == "insecure",
            ("sync" | "async", None) => self.asynchronous = key == "async",
            ("nordirplus", None) => self.no_readdirplus = true,
            ("security_label", None) => self.security_label = true,
            ("nohide" | "hide", None) => self.nohide = key == "nohide",
            ("crossmnt" | "nocrossmnt", None) => self.crossmnt = key == "crossmnt",
            ("wdelay" | "no_wdelay", None) => self.wdelay = key == "wdelay",
            ("root_squash" | "no_root_squash", None) => self.root_squash = key == "root_squash",
            ("all_squash" | "no_all_squash", None) => self.all_squash = key == "all_squash",
            ("subtree_check" | "no_subtree_check", None) => {
                self.no_subtree_check = key == "no_subtree_check";
            }
            ("auth_nlm" | "secure_locks", None) => self.insecure_locks = false,
            ("no_auth_nlm" | "insecure_locks", None) => self.insecure_locks = true,
            ("acl" | "no_acl", None) => self.no_acl = key == "no_acl",
            ("pnfs" | "no_pnfs", None) => self.pnfs = key == "pnfs",
            ("anonuid" | "anongid", Some(value)) => {
                let id = value
                    .parse::<i32>()
                    .map_err(|_| BadOption(format!("bad {key} \"{option}\"")))?;
                if key == "anonuid" {
                    self.anonuid = i64::from(id);
                } else {
                    self.anongid = i64::from(id);
                }
            }
            ("fsid", Some(value)) => self.fsid = Some(parse_fsid(value, option)?),
            ("mountpoint" | "mp", value) => {
                self.mountpoint = Some(value.unwrap_or_default().to_owned());
            }
            ("refer", Some(value)) => self.fsloc = Some(("refer", value.to_owned())),
            ("replicas", Some(value)) => self.fsloc = Some(("replicas", value.to_owned())),
            ("sec", Some(value)) => {
                for flavor in value.split(':') {
                    if !FLAVORS.contains(&flavor) {
                        return Err(BadOption(format!("unknown flavor {flavor}")));
                    }
                    if !self.flavors.iter().any(|f| f == flavor) {
                        self.flavors.push(flavor.to_owned());
                    }
                }
            }
            _ => return Err(BadOption(format!("unknown keyword \"{option}\""))),
        }
        Ok(())
    }

    /// The options as `exportfs -v` prints them between the parentheses, in `dump`'s order.
    ///
    /// `secure` or `insecure` is among the per-flavor options only where the kernel's nfsd
    /// reports it supports that flag per flavor (`/proc/fs/nfsd/export_features`); every host
    /// that serves NFS does, so the emulator passes `show_port: true`.
    pub(crate) fn verbose(&self, show_port: bool) -> String {
        let mut out: Vec<String> = Vec::new();
        out.push(if self.asynchronous { "async" } else { "sync" }.into());
        out.push(if self.wdelay { "wdelay" } else { "no_wdelay" }.into());
        out.push(if self.nohide { "nohide" } else { "hide" }.into());
        let optional = [
            (self.crossmnt, "crossmnt"),
            (self.no_subtree_check, "no_subtree_check"),
            (self.insecure_locks, "insecure_locks"),
            (self.no_readdirplus, "nordirplus"),
            (self.security_label, "security_label"),
            (self.no_acl, "no_acl"),
            (self.pnfs, "pnfs"),
        ];
        out.extend(
            optional
                .iter()
                .filter(|(set, _)| *set)
                .map(|(_, name)| (*name).to_owned()),
        );
        match &self.fsid {
            Some(Fsid::Number(n)) => out.push(format!("fsid={n}")),
            Some(Fsid::Uuid(uuid)) => out.push(format!("fsid={uuid}")),
            None => {}
        }
        match self.mountpoint.as_deref() {
            Some("") => out.push("mountpoint".into()),
            Some(path) => out.push(format!("mountpoint={path}")),
            None => {}
        }
        if self.anonuid != NOBODY {
            out.push(format!("anonuid={}", self.anonuid));
        }
        if self.anongid != NOBODY {
            out.push(format!("anongid={}", self.anongid));
        }
        if let Some((method, data)) = &self.fsloc {
            out.push(format!("{method}={data}"));
        }
        let flavors = if self.flavors.is_empty() {
            "sys".to_owned()
        } else {
            self.flavors.join(":")
        };
        out.push(format!("sec={flavors}"));
        out.push(if self.readonly { "ro" } else { "rw" }.into());
        if show_port {
            out.push(if self.insecure { "insecure" } else { "secure" }.into());
        }
        out.push(
            if self.root_squash {
                "root_squash"
            } else {
                "no_root_squash"
            }
            .into(),
        );
        out.push(
            if self.all_squash {
                "all_squash"
            } else {
                "no_all_squash"
            }
            .into(),
        );
        out.join(",")
    }
}

/// `fsid=root`, a number (`strtoul` base 0: decimal, `0x` hex, `0` octal) or a UUID (32 hex
/// digits, separators ignored).
fn parse_fsid(value: &str, option: &str) -> Result<Fsid, BadOption> {
    if value == "root" {
        return Ok(Fsid::Number(0));
    }
    let number = if let Some(hex) = value
        .strip_prefix("0x")
        .or_else(|| value.strip_prefix("0X"))
    {
        u32::from_str_radix(hex, 16).ok()
    } else if value.len() > 1 && value.starts_with('0') {
        u32::from_str_radix(&value[1..], 8).ok()
    } else {
        value.parse::<u32>().ok()
    };
    match number {
        Some(n) => Ok(Fsid::Number(n)),
        None if value.chars().filter(char::is_ascii_hexdigit).count() == 32 => {
            Ok(Fsid::Uuid(value.to_owned()))
        }
        None => Err(BadOption(format!("bad fsid \"{option}\""))),
    }
}

/// Checks one option of the config: a keyword exportfs knows, in the shape it takes, with a
/// value Phoenix can write and read back unambiguously. The message completes "expected ...".
pub(crate) fn check_option(option: &str) -> Result<(), String> {
    let (key, value) = match option.split_once('=') {
        Some((key, value)) => (key, Some(value)),
        None => (option, None),
    };
    let Some((_, shape, _)) = KEYWORDS.iter().find(|(name, _, _)| *name == key) else {
        let names: Vec<&str> = KEYWORDS.iter().map(|(name, _, _)| *name).collect();
        let hint = phoenix_core::config::suggest(key, names.iter().copied())
            .map(|s| format!("; did you mean \"{s}\"?"))
            .unwrap_or_default();
        return Err(format!(
            "an export option exportfs knows (see exports(5)), found {}{hint}",
            phoenix_core::config::excerpt(option)
        ));
    };
    match (shape, value) {
        (Shape::Flag, Some(_)) => Err(format!("\"{key}\" without a value, found \"{option}\"")),
        (Shape::Value, None) => Err(format!("\"{key}=VALUE\", found \"{option}\"")),
        (_, Some(value)) => check_value(key, value, option),
        _ => Ok(()),
    }
}

/// The value of `key=value`.
fn check_value(key: &str, value: &str, option: &str) -> Result<(), String> {
    let plain = |v: &str| {
        !v.is_empty()
            && v.chars()
                .all(|c| c.is_ascii_graphic() && !matches!(c, ',' | '(' | ')' | '"' | '\\' | '#'))
    };
    let ok = match key {
        "anonuid" | "anongid" => value.parse::<u32>().is_ok_and(|n| i32::try_from(n).is_ok()),
        "fsid" => {
            value == "root"
                || (value.bytes().all(|b| b.is_ascii_digit())
                    && value.parse::<u32>().is_ok()
                    && (value == "0" || !value.starts_with('0')))
                || is_uuid(value)
        }
        "sec" => {
            let flavors: Vec<&str> = value.split(':').collect();
            flavors.iter().all(|f| FLAVORS.contains(f))
                && flavors
                    .iter()
                    .collect::<std::collections::BTreeSet<_>>()
                    .len()
                    == flavors.len()
        }
        "mountpoint" | "mp" => value.starts_with('/') && plain(value),
        _ => plain(value),
    };
    if ok {
        return Ok(());
    }
    Err(match key {
        "anonuid" | "anongid" => format!("{key}=N with N from 0 to 2147483647, found \"{option}\""),
        "fsid" => {
            format!("fsid=root, fsid=N (decimal, 0 to 4294967295) or fsid=UUID, found \"{option}\"")
        }
        "sec" => format!(
            "sec=FLAVOR[:FLAVOR...] with distinct flavors among {}, found \"{option}\"",
            FLAVORS.join(", ")
        ),
        "mountpoint" | "mp" => format!("{key} or {key}=/ABSOLUTE/PATH, found \"{option}\""),
        _ => {
            format!("{key}=VALUE without blanks, commas, parentheses or quotes, found \"{option}\"")
        }
    })
}

/// A UUID as `8-4-4-4-12` hex digits.
fn is_uuid(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(part, len)| part.len() == len && part.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The keyword an option contradicts, if the table names one (`rw` and `ro`).
pub(crate) fn contradiction(option: &str) -> Option<&'static str> {
    let key = option.split_once('=').map_or(option, |(key, _)| key);
    KEYWORDS
        .iter()
        .find(|(name, _, _)| *name == key)
        .and_then(|(_, _, opposite)| *opposite)
}

/// An option's keyword (`fsid` of `fsid=1`).
pub(crate) fn keyword(option: &str) -> &str {
    option.split_once('=').map_or(option, |(key, _)| key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_9_every_option_exportfs_knows_is_accepted_and_others_are_not() {
        let cases: &[(&str, Option<&str>)] = &[
            ("rw", None),
            ("ro", None),
            ("sync", None),
            ("async", None),
            ("no_subtree_check", None),
            ("subtree_check", None),
            ("no_root_squash", None),
            ("all_squash", None),
            ("insecure", None),
            ("crossmnt", None),
            ("nohide", None),
            ("no_wdelay", None),
            ("insecure_locks", None),
            ("no_auth_nlm", None),
            ("no_acl", None),
            ("nordirplus", None),
            ("security_label", None),
            ("pnfs", None),
            ("anonuid=1000", None),
            ("anongid=0", None),
            ("fsid=root", None),
            ("fsid=0", None),
            ("fsid=42", None),
            ("fsid=1a2b3c4d-0000-1111-2222-333344445555", None),
            ("mountpoint", None),
            ("mp=/quickOS", None),
            ("sec=sys", None),
            ("sec=krb5:krb5i:krb5p", None),
            ("refer=/x@nfs2", None),
            ("badopt", Some("found \"badopt\"")),
            ("rw=1", Some("\"rw\" without a value")),
            ("no_root_sqash", Some("did you mean \"no_root_squash\"?")),
            ("anonuid", Some("\"anonuid=VALUE\"")),
            ("anonuid=-1", Some("anonuid=N with N from 0")),
            ("anonuid=4294967295", Some("anonuid=N with N from 0")),
            ("fsid=x", Some("fsid=root, fsid=N")),
            ("fsid=017", Some("fsid=root, fsid=N")),
            ("sec=sys:sys", Some("distinct flavors")),
            ("sec=kerberos", Some("distinct flavors")),
            ("mp=relative", Some("mp or mp=/ABSOLUTE/PATH")),
            ("refer=a(b)", Some("without blanks")),
            ("squash_uids=0-10", Some("found \"squash_uids=0-10\"")),
        ];
        for (option, expected) in cases {
            let got = check_option(option).err();
            match expected {
                None => assert_eq!(got, None, "{option}"),
                Some(part) => assert!(
                    got.as_deref().is_some_and(|m| m.contains(part)),
                    "{option}: {got:?}"
                ),
            }
            // Whatever validation accepts, exportfs's own keyword table accepts too.
            if expected.is_none() {
                assert!(Flags::from_options([*option]).is_ok(), "{option}");
            }
        }
    }

    #[test]
    fn issue_9_options_print_as_exportfs_v_prints_them() {
        let cases: &[(&[&str], &str)] = &[
            (
                &["rw", "async", "no_subtree_check", "no_root_squash"],
                "async,wdelay,hide,no_subtree_check,sec=sys,rw,secure,no_root_squash,no_all_squash",
            ),
            (
                &["ro", "sync", "no_subtree_check"],
                "sync,wdelay,hide,no_subtree_check,sec=sys,ro,secure,root_squash,no_all_squash",
            ),
            (
                &[],
                "sync,wdelay,hide,no_subtree_check,sec=sys,ro,secure,root_squash,no_all_squash",
            ),
            (
                &["rw", "ro"],
                "sync,wdelay,hide,no_subtree_check,sec=sys,ro,secure,root_squash,no_all_squash",
            ),
            (
                &[
                    "sec=krb5:sys",
                    "rw",
                    "insecure",
                    "crossmnt",
                    "subtree_check",
                    "fsid=root",
                    "anonuid=1000",
                    "mp",
                    "no_wdelay",
                    "nohide",
                    "insecure_locks",
                    "all_squash",
                ],
                "sync,no_wdelay,nohide,crossmnt,insecure_locks,fsid=0,mountpoint,anonuid=1000,sec=krb5:sys,rw,insecure,root_squash,all_squash",
            ),
        ];
        for (options, expected) in cases {
            let flags = Flags::from_options(options.iter().copied()).expect("valid");
            assert_eq!(flags.verbose(true), *expected, "{options:?}");
        }
        assert_eq!(
            Flags::from_options(["rw", "badopt"]),
            Err(BadOption("unknown keyword \"badopt\"".into()))
        );
        assert_eq!(
            Flags::from_options(["fsid=x"]),
            Err(BadOption("bad fsid \"fsid=x\"".into()))
        );
    }
}
