//! The property table against the readback matrix: every value real ZFS read back satisfies
//! the value that was set, validation takes exactly what real ZFS takes, and the matrix covers
//! every value validation takes.

use super::{
    Applies, Property, Row, Scope, Shape, check_together, lookup, parse_size, rows, satisfied,
    validate,
};
use crate::pool::{CREATE_DATASET_DEFAULTS, MANAGED};

/// Rows of managed dataset properties set the way Phoenix sets them (no encryption root: Phoenix
/// never makes one; a volume property on a volume, as Phoenix creates volumes with `-V`), with
/// their property.
fn phoenix_rows() -> impl Iterator<Item = (&'static Property, &'static Row)> {
    rows()
        .iter()
        .filter(|row| !row.scope.is_pool() && row.scope != Scope::EncCreate)
        .filter_map(|row| lookup(row.property).map(|property| (property, row)))
        .filter(|(property, row)| {
            let volume = matches!(row.scope, Scope::Vol | Scope::VolCreate);
            match property.applies {
                Applies::Filesystem => !volume,
                Applies::Volume => volume,
                Applies::Both => true,
            }
        })
}

/// Values real ZFS takes that validation refuses on purpose, with the reason.
const REFUSED_ON_PURPOSE: &[(&str, &str, &str)] = &[(
    "refreservation",
    "auto",
    "it reads back as a size the volume's own size decides, which no config value can match",
)];

/// Whether Phoenix's config check takes the value (alone on its dataset).
fn phoenix_takes(property: &Property, value: &str) -> bool {
    validate(property, value).is_ok()
        && check_together(&[(property.name.to_owned(), value.to_owned())]).is_empty()
}

#[test]
fn issue_14_every_recorded_readback_satisfies_the_value_that_was_set() {
    // Every accepted row whose value can reach the comparison: validation takes it, or it is a
    // word (the encryption root's `encryption=on` still teaches the emulator its spelling).
    let accepted: Vec<_> = rows()
        .iter()
        .filter(|row| row.accepted() && !row.scope.is_pool())
        .filter_map(|row| lookup(row.property).map(|property| (property, row)))
        .filter(|(property, row)| {
            validate(property, row.value).is_ok() || matches!(property.shape, Shape::Word { .. })
        })
        .collect();
    assert!(accepted.len() > 250, "{} accepted rows", accepted.len());
    let mut wrong = Vec::new();
    for (property, row) in &accepted {
        if !satisfied(property, row.readback, row.value) {
            wrong.push(format!(
                "{}={} reads back {:?} but does not satisfy itself",
                row.property, row.value, row.readback
            ));
        }
        // Values that read back differently are different: the comparison aliases nothing
        // that real ZFS keeps apart (`compression=on` is `lz4` by design).
        for (_, other) in accepted.iter().filter(|(p, _)| p.name == property.name) {
            let same = other.readback == row.readback
                || (property.name == "compression"
                    && [row.readback, other.readback]
                        .iter()
                        .all(|v| ["on", "lz4"].contains(v)));
            if satisfied(property, other.readback, row.value) != same {
                wrong.push(format!(
                    "{}={} against a host reading {:?}: satisfied should be {same}",
                    row.property, row.value, other.readback
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn issue_14_the_five_reported_values_converge() {
    for (name, set, read) in [
        ("xattr", "sa", "on"),
        ("compression", "gzip-6", "gzip"),
        ("compression", "zstd-fast-1", "zstd-fast"),
        ("acltype", "posixacl", "posix"),
        ("acltype", "noacl", "off"),
    ] {
        let property = lookup(name).expect("managed");
        assert!(satisfied(property, read, set), "{name}={set} vs {read}");
    }
}

#[test]
fn issue_14_validation_takes_exactly_what_real_zfs_takes() {
    let mut wrong = Vec::new();
    for (property, row) in phoenix_rows() {
        // A quota below what the dataset already uses depends on the dataset, not the value.
        let state_dependent = row
            .readback
            .ends_with("size is less than current used or reserved space");
        let takes = phoenix_takes(property, row.value);
        let on_purpose = REFUSED_ON_PURPOSE
            .iter()
            .any(|(name, value, _)| *name == row.property && *value == row.value);
        let explained = if takes { state_dependent } else { on_purpose };
        if takes != row.accepted() && !explained {
            wrong.push(format!(
                "{:?} {}={}: validation {}, real ZFS {} ({})",
                row.scope,
                row.property,
                row.value,
                if takes { "takes it" } else { "refuses it" },
                if row.accepted() {
                    "takes it"
                } else {
                    "refuses it"
                },
                row.readback
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn issue_14_the_pool_properties_phoenix_sets_read_back_as_set() {
    let read = |scope: Scope, name: &str, value: &str| {
        rows()
            .iter()
            .find(|row| row.scope == scope && row.property == name && row.value == value)
            .map(|row| (row.exit, row.readback))
    };
    for (name, value) in MANAGED.iter().chain(&[("ashift", "12")]) {
        assert_eq!(
            read(Scope::PoolCreate, name, value),
            Some((0, *value)),
            "{name}"
        );
    }
    for (name, value) in CREATE_DATASET_DEFAULTS {
        assert_eq!(
            read(Scope::RootCreate, name, value),
            Some((0, *value)),
            "{name}"
        );
    }
    assert_eq!(read(Scope::Pool, "autotrim", "on"), Some((0, "on")));
}

/// The two spelling classes of a size, which ZFS parses one after the other
/// (`zfs_nicestrtonum`: the number, then the suffix): the number's shape (`9`, `9.9`, `.9`) and
/// the suffix's (`L` for any unit letter, then `B` or `IB`), case-insensitively. `none` is its
/// own.
fn size_forms(value: &str) -> [String; 2] {
    if value == "none" {
        return ["none".to_owned(), "none".to_owned()];
    }
    let split = value
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(value.len());
    let (number, suffix) = value.split_at(split);
    let mut number_form = String::new();
    for c in number.chars() {
        let class = if c.is_ascii_digit() { '9' } else { c };
        if !(class == '9' && number_form.ends_with('9')) {
            number_form.push(class);
        }
    }
    let suffix_form = suffix
        .to_ascii_uppercase()
        .replace(['K', 'M', 'G', 'T', 'P', 'E'], "L");
    [number_form, format!("suffix {suffix_form:?}")]
}

/// Candidate spellings of sizes, one or more per form the grammar allows.
fn size_candidates() -> Vec<String> {
    let numbers = ["0", "1", "2", "512", "16", "128", "1.5", ".5", "2.5"];
    let suffixes = [
        "", "B", "b", "K", "k", "KB", "kb", "KiB", "kib", "M", "m", "MB", "MiB", "G", "g", "GB",
        "GiB", "T", "P", "E", "BB", "KBB", "X",
    ];
    let mut all = vec!["none".to_owned(), "NONE".to_owned()];
    for number in numbers {
        for suffix in suffixes {
            all.push(format!("{number}{suffix}"));
        }
    }
    all
}

#[test]
fn issue_14_the_matrix_covers_every_value_validation_takes() {
    let mut missing = Vec::new();
    for property in super::managed() {
        let recorded: Vec<&str> = phoenix_rows()
            .filter(|(p, _)| p.name == property.name)
            .map(|(_, row)| row.value)
            .collect();
        match property.shape {
            Shape::Word { words, .. } => {
                for word in words.iter().filter(|w| phoenix_takes(property, w)) {
                    if !recorded.contains(word) {
                        missing.push(format!("{}={word}", property.name));
                    }
                }
            }
            Shape::Size { .. } | Shape::PowerOfTwo { .. } => {
                // One grammar per shape (a form recorded for `quota` covers `refquota`), and the
                // number and the suffix are covered each on its own.
                let forms: Vec<String> = phoenix_rows()
                    .filter(|(p, _)| p.shape == property.shape)
                    .flat_map(|(_, row)| size_forms(row.value))
                    .collect();
                let mut reported = Vec::new();
                for candidate in size_candidates() {
                    if !phoenix_takes(property, &candidate) {
                        continue;
                    }
                    for form in size_forms(&candidate) {
                        if !forms.contains(&form) && !reported.contains(&form) {
                            missing.push(format!(
                                "{}={candidate} (no value of the form {form})",
                                property.name
                            ));
                            reported.push(form);
                        }
                    }
                }
                if let Shape::PowerOfTwo { min, max, .. } = property.shape {
                    let mut power = min;
                    while power <= max {
                        if !recorded.iter().any(|v| parse_size(v) == Some(power)) {
                            missing.push(format!("{}={power}", property.name));
                        }
                        power *= 2;
                    }
                }
            }
            Shape::Mountpoint => {
                for form in ["/srv/readback", "/srv/readback/", "none", "legacy", "/"] {
                    if !recorded.contains(&form) {
                        missing.push(format!("mountpoint={form}"));
                    }
                }
            }
            Shape::Text => missing.push(format!("{} (free text)", property.name)),
        }
    }
    assert!(
        missing.is_empty(),
        "validation takes values the readback matrix does not cover; add a row for each to \
         readback/zfs-2.3.tsv and re-capture (cargo xtask testbed readback):\n{}",
        missing.join("\n")
    );
}
