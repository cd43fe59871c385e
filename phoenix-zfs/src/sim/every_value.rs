//! A hypervisor config that sets every value Phoenix accepts for a dataset property at once, for
//! the convergence tests on the simulated node and on the real testbed: apply, then plan, must
//! give nothing to do, whatever spelling real ZFS reads each value back as.
//!
//! The values are the readback matrix's (`props::rows`): each one real ZFS took, set the way
//! Phoenix sets it, that validation takes. Each property's values are dealt round-robin over as
//! many filesystems as the longest list, and the volume properties over as many volumes; sizes
//! that reserve space are kept small enough for the testbed's 4 GiB disk.

use serde_json::{Map, Value, json};

use crate::props::{self, Applies, Property, Scope, parse_size};

/// The largest reservation and the smallest quota the config uses (the testbed's disk is 4 GiB).
const MAX_RESERVATION: u64 = 16 << 20;
const MIN_QUOTA: u64 = 64 << 20;
const MAX_VOLSIZE: u64 = 128 << 20;

/// The config: one single-disk pool `pool` on `disk`, filesystems `every-NN` and volumes
/// `every-vol-NN`. With `shift`, every settable property takes its list's next value (so a
/// config with shift 1 after one with shift 0 changes every settable property of every dataset);
/// creation-only properties and mountpoints keep theirs.
pub fn every_value_config(pool: &str, disk: &str, shift: usize) -> Value {
    let mut datasets = Vec::new();
    let filesystems = values_of(|p| p.applies != Applies::Volume);
    for index in 0..longest(&filesystems) {
        let mut properties = deal(&filesystems, index, shift);
        fit_filesystem(&mut properties, index);
        datasets.push(dataset(&format!("every-{index:02}"), pool, properties));
    }
    let volumes = values_of(|p| p.applies == Applies::Volume);
    for index in 0..longest(&volumes) {
        let mut properties = deal(&volumes, index, shift);
        fit_volume(&mut properties, &volumes, index + shift);
        datasets.push(dataset(&format!("every-vol-{index:02}"), pool, properties));
    }
    json!({"zfs": {
        "pools": [{"name": pool, "raid_level": "single", "disks": [disk]}],
        "datasets": datasets,
    }})
}

/// Each managed property that `wanted` selects, with the values Phoenix accepts and real ZFS
/// took (in matrix order, without repeats).
fn values_of(wanted: impl Fn(&Property) -> bool) -> Vec<(&'static Property, Vec<&'static str>)> {
    let mut out = Vec::new();
    for property in props::managed().filter(|p| wanted(p)) {
        let mut values: Vec<&'static str> = Vec::new();
        for row in props::rows() {
            let context = !matches!(
                row.scope,
                Scope::EncCreate | Scope::Pool | Scope::PoolCreate | Scope::RootCreate
            );
            if context
                && row.property == property.name
                && row.accepted()
                && props::validate(property, row.value).is_ok()
                && fits(property, row.value)
                && !values.contains(&row.value)
            {
                values.push(row.value);
            }
        }
        if !values.is_empty() {
            out.push((property, values));
        }
    }
    out
}

/// Whether a value suits the testbed: reservations small, quotas not below what the other
/// properties reserve, no mount on `/`.
fn fits(property: &Property, value: &str) -> bool {
    let bytes = parse_size(value).unwrap_or(0);
    match property.name {
        "reservation" | "refreservation" => bytes <= MAX_RESERVATION,
        "quota" | "refquota" => value == "none" || bytes >= MIN_QUOTA,
        "volsize" => bytes <= MAX_VOLSIZE,
        "mountpoint" => value != "/",
        _ => true,
    }
}

fn longest(lists: &[(&Property, Vec<&str>)]) -> usize {
    lists
        .iter()
        .map(|(_, values)| values.len())
        .max()
        .unwrap_or(0)
}

/// The values of dataset `index`: settable properties shifted, the others not.
fn deal(lists: &[(&Property, Vec<&str>)], index: usize, shift: usize) -> Map<String, Value> {
    let mut properties = Map::new();
    for (property, values) in lists {
        let fixed = property.create_only() || property.name == "mountpoint";
        let at = if fixed { index } else { index + shift };
        properties.insert(
            property.name.to_owned(),
            Value::from(values[at % values.len()]),
        );
    }
    properties
}

/// A filesystem's own mountpoint (the matrix's path with or without its trailing `/`), and
/// `utf8only=on` wherever a normalization asks for it.
fn fit_filesystem(properties: &mut Map<String, Value>, index: usize) {
    if let Some(Value::String(path)) = properties.get("mountpoint")
        && path.starts_with('/')
    {
        let slash = if path.ends_with('/') { "/" } else { "" };
        let own = format!("/srv/phoenix-every-value/{index:02}{slash}");
        properties.insert("mountpoint".to_owned(), Value::from(own));
    }
    if properties
        .get("normalization")
        .is_some_and(|value| value != "none")
    {
        properties.insert("utf8only".to_owned(), Value::from("on"));
    }
}

/// A volume's size: the first of the list (from its turn on) that is a multiple of its block
/// size, as ZFS requires.
fn fit_volume(properties: &mut Map<String, Value>, lists: &[(&Property, Vec<&str>)], start: usize) {
    let block = properties
        .get("volblocksize")
        .and_then(Value::as_str)
        .and_then(parse_size)
        .unwrap_or(16 << 10);
    let Some((_, sizes)) = lists.iter().find(|(p, _)| p.name == "volsize") else {
        return;
    };
    let fitting = (0..sizes.len())
        .map(|offset| sizes[(start + offset) % sizes.len()])
        .find(|size| parse_size(size).is_some_and(|bytes| bytes % block == 0));
    if let Some(size) = fitting {
        properties.insert("volsize".to_owned(), Value::from(size));
    }
}

fn dataset(name: &str, pool: &str, properties: Map<String, Value>) -> Value {
    json!({"name": name, "pool": pool, "properties": properties})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::props::Shape;

    /// Every (property, value) the config sets.
    fn set(config: &Value) -> Vec<(String, String)> {
        let datasets = config["zfs"]["datasets"].as_array().expect("datasets");
        let mut pairs = Vec::new();
        for dataset in datasets {
            let properties = dataset["properties"].as_object().expect("properties");
            for (name, value) in properties {
                pairs.push((name.clone(), value.as_str().expect("text").to_owned()));
            }
        }
        pairs
    }

    #[test]
    fn issue_14_the_config_sets_every_word_validation_takes() {
        let pairs = set(&every_value_config("scratch", "/dev/disk/by-id/x", 0));
        let mut missing = Vec::new();
        for property in props::managed() {
            if let Shape::Word { words, .. } = property.shape {
                for word in words
                    .iter()
                    .filter(|w| props::validate(property, w).is_ok())
                {
                    if !pairs.iter().any(|(n, v)| n == property.name && v == word) {
                        missing.push(format!("{}={word}", property.name));
                    }
                }
            }
        }
        assert!(missing.is_empty(), "{}", missing.join("\n"));
    }

    #[test]
    fn a_shifted_config_changes_every_settable_value() {
        let first = every_value_config("scratch", "/dev/disk/by-id/x", 0);
        let second = every_value_config("scratch", "/dev/disk/by-id/x", 1);
        let (a, b) = (&first["zfs"]["datasets"][0], &second["zfs"]["datasets"][0]);
        assert_ne!(
            a["properties"]["compression"],
            b["properties"]["compression"]
        );
        assert_eq!(
            a["properties"]["casesensitivity"],
            b["properties"]["casesensitivity"]
        );
        assert_eq!(a["properties"]["mountpoint"], b["properties"]["mountpoint"]);
    }
}
