//! The one table of Samba parameters, shared by validation and the `testparm` emulator.
//!
//! It is read from two captures of the real Samba 4.17 (Debian 12): `testparm
//! --show-all-parameters` (every parameter with its section, type, enum values and synonyms) and
//! `testparm -s -v` of an empty share (every parameter's default as testparm prints it, in the
//! order testparm prints them). So the table is what Samba knows, not a list typed by hand.

use std::collections::BTreeMap;
use std::sync::OnceLock;

/// `testparm --show-all-parameters` on Debian 12's Samba 4.17.12.
const ALL_PARAMETERS: &str = include_str!("fixtures/testparm-show-all-parameters-4.17.txt");

/// `testparm -s -v` of a config with one share: every default, in testparm's order.
const DEFAULTS: &str = include_str!("fixtures/testparm-s-v.defaults-4.17.txt");

/// Where a parameter may appear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// In a share section (and in `[global]`, as the shares' default).
    Local,
    /// In `[global]` only.
    Global,
}

/// A parameter's value type, as Samba names it (`P_BOOL`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Type {
    /// `yes`/`no` and their spellings.
    Bool,
    /// An octal mode.
    Octal,
    /// A decimal integer.
    Integer,
    /// A size, with an optional unit.
    Bytes,
    /// One of the listed words (case-insensitive).
    Enum(Vec<String>),
    /// A list separated by blanks or commas.
    List,
    /// A single character.
    Char,
    /// Free text (`P_USTRING` is printed upper-case).
    Text {
        /// Whether testparm prints it upper-case.
        upper: bool,
    },
}

/// One canonical parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Param {
    /// The canonical name (`read only`).
    pub(crate) name: String,
    /// Where it may appear.
    pub(crate) class: Class,
    /// Its type.
    pub(crate) ty: Type,
    /// Its default as testparm prints it.
    pub(crate) default: String,
    /// Its place in testparm's output.
    pub(crate) order: usize,
    /// Whether Samba marks it deprecated.
    pub(crate) deprecated: bool,
}

/// A name as the config or a file spells it, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Resolved<'a> {
    /// The canonical parameter.
    pub(crate) param: &'a Param,
    /// Whether the name is an inverse synonym (`writable` of `read only`).
    pub(crate) inverse: bool,
}

/// Every parameter, by normalised name (synonyms included).
#[derive(Debug)]
pub(crate) struct Params {
    canonical: BTreeMap<String, Param>,
    /// Normalised name → (canonical name, inverse).
    names: BTreeMap<String, (String, bool)>,
}

/// The table, read once.
pub(crate) fn params() -> &'static Params {
    static PARAMS: OnceLock<Params> = OnceLock::new();
    PARAMS.get_or_init(|| Params::parse(ALL_PARAMETERS, DEFAULTS))
}

/// A name as Samba compares names: case-insensitive, blanks ignored (`Read Only` is
/// `readonly`).
pub(crate) fn normalize_name(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

impl Params {
    fn parse(all: &str, defaults: &str) -> Params {
        let order_and_default: BTreeMap<String, (usize, String)> = defaults
            .lines()
            .skip_while(|l| *l != "[global]")
            .skip(1)
            .take_while(|l| !l.starts_with('['))
            .filter_map(|l| l.strip_prefix('\t')?.split_once(" = "))
            .enumerate()
            .map(|(i, (name, value))| (name.to_owned(), (i, value.to_owned())))
            .collect();
        let mut canonical = BTreeMap::new();
        let mut names = BTreeMap::new();
        let mut class = Class::Local;
        for line in all.lines() {
            match line {
                "[local]" => class = Class::Local,
                "[global]" => class = Class::Global,
                _ => {}
            }
            let Some((name, rest)) = line.split_once('=') else {
                continue;
            };
            let (fields, note) = rest.split_once(" (").unwrap_or((rest, ""));
            let mut parts = fields.split(',');
            let kind = parts.next().unwrap_or_default();
            let ty = match kind {
                "P_BOOL" | "P_BOOLREV" => Type::Bool,
                "P_OCTAL" => Type::Octal,
                "P_INTEGER" => Type::Integer,
                "P_BYTES" => Type::Bytes,
                "P_ENUM" => Type::Enum(
                    parts
                        .next()
                        .unwrap_or_default()
                        .split('|')
                        .map(str::to_owned)
                        .collect(),
                ),
                "P_LIST" | "P_CMDLIST" => Type::List,
                "P_CHAR" => Type::Char,
                _ => Type::Text {
                    upper: kind == "P_USTRING",
                },
            };
            let flags: Vec<&str> = parts.collect();
            if let Some(of) = note.strip_prefix("inverse synonym of ") {
                names.insert(
                    normalize_name(name),
                    (of.trim_end_matches(')').to_owned(), true),
                );
            } else if let Some(of) = note.strip_prefix("synonym of ") {
                names.insert(
                    normalize_name(name),
                    (of.trim_end_matches(')').to_owned(), false),
                );
            } else {
                let (order, default) = order_and_default
                    .get(name)
                    .cloned()
                    .unwrap_or((usize::MAX, String::new()));
                names.insert(normalize_name(name), (name.to_owned(), false));
                canonical.insert(
                    name.to_owned(),
                    Param {
                        name: name.to_owned(),
                        class,
                        ty,
                        default,
                        order,
                        deprecated: flags.contains(&"FLAG_DEPRECATED"),
                    },
                );
            }
        }
        Params { canonical, names }
    }

    /// The parameter `name` stands for (any spelling, synonyms included).
    pub(crate) fn resolve(&self, name: &str) -> Option<Resolved<'_>> {
        let (canonical, inverse) = self.names.get(&normalize_name(name))?;
        Some(Resolved {
            param: self.canonical.get(canonical)?,
            inverse: *inverse,
        })
    }

    /// Canonical names of share parameters, for "did you mean" suggestions.
    pub(crate) fn local_names(&self) -> impl Iterator<Item = &str> {
        self.canonical
            .values()
            .filter(|p| p.class == Class::Local)
            .map(|p| p.name.as_str())
    }
}

/// Why Samba refuses a value; the message is the one testparm prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadValue {
    /// testparm's line (`set_variable_helper(maybe): value is not boolean!`).
    pub(crate) testparm: String,
    /// What Phoenix tells the operator.
    pub(crate) expected: &'static str,
}

/// An integer as C's `atoi` reads one: an optional sign and the leading digits, else 0.
pub(crate) fn atoi(value: &str) -> i64 {
    let (sign, digits) = match value.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, value.strip_prefix('+').unwrap_or(value)),
    };
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    sign * digits[..end].parse::<i64>().unwrap_or(0)
}

/// A boolean as Samba reads one (`lib/util/util.c` `set_boolean`).
pub(crate) fn parse_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "yes" | "true" | "on" | "1" => Some(true),
        "no" | "false" | "off" | "0" => Some(false),
        _ => None,
    }
}

impl Resolved<'_> {
    /// The value as testparm prints it, or why Samba refuses it.
    pub(crate) fn canonical_value(&self, value: &str) -> Result<String, BadValue> {
        let value = value.trim();
        match &self.param.ty {
            Type::Bool => match parse_bool(value) {
                Some(b) => Ok(if b != self.inverse { "Yes" } else { "No" }.to_owned()),
                None => Err(BadValue {
                    testparm: format!("set_variable_helper({value}): value is not boolean!"),
                    expected: "expected yes or no",
                }),
            },
            Type::Octal => match u32::from_str_radix(value, 8) {
                Ok(n) if !value.is_empty() => Ok(format!("{n:04o}")),
                _ => Err(BadValue {
                    testparm: format!("Invalid octal number {}", self.param.name),
                    expected: "expected an octal mode such as 0770",
                }),
            },
            // Samba reads an integer with atoi: `12abc` is 12 and `abc` is 0, without a word.
            Type::Integer => Ok(atoi(value).to_string()),
            Type::Bytes => {
                let digits = value.trim_end_matches(|c: char| "kKmMgGtTpP".contains(c));
                if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
                    Ok(value.to_owned())
                } else {
                    Err(BadValue {
                        testparm: format!(
                            "set_variable_helper({value}): value is not a valid size specifier!"
                        ),
                        expected: "expected a size such as 4096 or 64K",
                    })
                }
            }
            Type::Enum(words) => words
                .iter()
                .find(|w| w.eq_ignore_ascii_case(value))
                .cloned()
                .ok_or(BadValue {
                    testparm: format!(
                        "WARNING: Ignoring invalid value '{value}' for parameter '{}'",
                        self.param.name
                    ),
                    expected: "expected one of the parameter's words",
                }),
            Type::List => Ok(value
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
                .join(" ")),
            Type::Char => Ok(value.chars().next().map(String::from).unwrap_or_default()),
            Type::Text { upper: true } => Ok(value.to_uppercase()),
            Type::Text { upper: false } => Ok(value.to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, value: &str) -> String {
        match params().resolve(name) {
            None => "unknown".to_owned(),
            Some(r) => match r.canonical_value(value) {
                Ok(v) => format!("{} = {v} ({:?})", r.param.name, r.param.class),
                Err(bad) => format!("{}: {}", r.param.name, bad.testparm),
            },
        }
    }

    #[test]
    fn issue_9_names_values_and_synonyms_read_as_samba_reads_them() {
        let cases = [
            ("browseable", "yes", "browseable = Yes (Local)"),
            ("browsable", "no", "browseable = No (Local)"),
            ("writable", "yes", "read only = No (Local)"),
            ("Write OK", "false", "read only = Yes (Local)"),
            (
                "read only",
                "maybe",
                "read only: set_variable_helper(maybe): value is not boolean!",
            ),
            ("create mode", "660", "create mask = 0660 (Local)"),
            (
                "create mask",
                "99z",
                "create mask: Invalid octal number create mask",
            ),
            (
                "valid users",
                "heads, @admins  bob",
                "valid users = heads @admins bob (Local)",
            ),
            ("case sensitive", "auto", "case sensitive = Auto (Local)"),
            ("workgroup", "lab", "workgroup = LAB (Global)"),
            (
                "map to guest",
                "bad user",
                "map to guest = Bad User (Global)",
            ),
            ("bogus option", "1", "unknown"),
            ("guest ok", "yes", "guest ok = Yes (Local)"),
            ("max connections", "12abc", "max connections = 12 (Local)"),
            (
                "csc policy",
                "bogus",
                "csc policy: WARNING: Ignoring invalid value 'bogus' for parameter 'csc policy'",
            ),
            (
                "block size",
                "12x",
                "block size: set_variable_helper(12x): value is not a valid size specifier!",
            ),
        ];
        for (name, value, expect) in cases {
            assert_eq!(check(name, value), expect, "{name}={value}");
        }
    }

    #[test]
    fn issue_9_the_table_has_every_parameter_with_its_default_and_order() {
        let p = params();
        let read_only = p.resolve("read only").expect("known");
        assert_eq!(read_only.param.default, "Yes");
        assert!(read_only.param.order < p.resolve("valid users").expect("known").param.order);
        assert!(p.local_names().count() > 120, "{}", p.local_names().count());
        // Every canonical parameter has a default line in testparm -v (its order is known).
        let missing: Vec<&str> = p
            .canonical
            .values()
            .filter(|p| p.order == usize::MAX)
            .map(|p| p.name.as_str())
            .collect();
        assert!(missing.len() < 5, "{missing:?}");
    }
}
