//! The pool properties `zpool get` prints, in OpenZFS's table order, with their values and
//! sources for a simulated pool.
//!
//! Order, defaults and the feature states of a new pool come from the captures
//! (`fixtures/zfs*/zpool-get-Hp-all.quickOS.txt`, and the 2.3 README's list of additions);
//! `feature@zstd_compress` and `feature@large_blocks` turn `active` when a dataset uses them, as
//! they do on a real pool.

use super::model::Model;
use super::state::{ZfsVersion, stable_hash};

/// The ordinary properties of OpenZFS 2.1, in `zpool get all` order.
const PROPS_2_1: &[&str] = &[
    "size",
    "capacity",
    "altroot",
    "health",
    "guid",
    "version",
    "bootfs",
    "delegation",
    "autoreplace",
    "cachefile",
    "failmode",
    "listsnapshots",
    "autoexpand",
    "dedupratio",
    "free",
    "allocated",
    "readonly",
    "ashift",
    "comment",
    "expandsize",
    "freeing",
    "fragmentation",
    "leaked",
    "multihost",
    "checkpoint",
    "load_guid",
    "autotrim",
    "compatibility",
];

/// Properties OpenZFS 2.3 adds after `compatibility`.
const PROPS_2_3: &[&str] = &[
    "bcloneused",
    "bclonesaved",
    "bcloneratio",
    "dedup_table_size",
    "dedup_table_quota",
    "last_scrubbed_txg",
];

/// Features of OpenZFS 2.1 in table order, with their state on a new pool.
const FEATURES_2_1: &[(&str, &str)] = &[
    ("async_destroy", "enabled"),
    ("empty_bpobj", "active"),
    ("lz4_compress", "active"),
    ("multi_vdev_crash_dump", "enabled"),
    ("spacemap_histogram", "active"),
    ("enabled_txg", "active"),
    ("hole_birth", "active"),
    ("extensible_dataset", "active"),
    ("embedded_data", "active"),
    ("bookmarks", "enabled"),
    ("filesystem_limits", "enabled"),
    ("large_blocks", "enabled"),
    ("large_dnode", "enabled"),
    ("sha512", "enabled"),
    ("skein", "enabled"),
    ("edonr", "enabled"),
    ("userobj_accounting", "active"),
    ("encryption", "enabled"),
    ("project_quota", "active"),
    ("device_removal", "enabled"),
    ("obsolete_counts", "enabled"),
    ("zpool_checkpoint", "enabled"),
    ("spacemap_v2", "active"),
    ("allocation_classes", "enabled"),
    ("resilver_defer", "enabled"),
    ("bookmark_v2", "enabled"),
    ("redaction_bookmarks", "enabled"),
    ("redacted_datasets", "enabled"),
    ("bookmark_written", "enabled"),
    ("log_spacemap", "active"),
    ("livelist", "enabled"),
    ("device_rebuild", "enabled"),
    ("zstd_compress", "enabled"),
    ("draid", "enabled"),
];

/// Features OpenZFS 2.3 appends, with their state on a new pool.
const FEATURES_2_3: &[(&str, &str)] = &[
    ("zilsaxattr", "active"),
    ("head_errlog", "active"),
    ("blake3", "enabled"),
    ("block_cloning", "enabled"),
    ("vdev_zaps_v2", "active"),
    ("redaction_list_spill", "enabled"),
    ("raidz_expansion", "enabled"),
    ("fast_dedup", "enabled"),
    ("longname", "enabled"),
    ("large_microzap", "enabled"),
];

/// What `zpool set` accepts, with the values it allows (`None`: any text).
pub(crate) const SETTABLE: &[(&str, Option<&[&str]>)] = &[
    ("autotrim", Some(&["on", "off"])),
    ("autoexpand", Some(&["on", "off"])),
    ("autoreplace", Some(&["on", "off"])),
    ("delegation", Some(&["on", "off"])),
    ("listsnapshots", Some(&["on", "off"])),
    ("multihost", Some(&["on", "off"])),
    ("failmode", Some(&["wait", "continue", "panic"])),
    ("comment", None),
    ("cachefile", None),
    ("bootfs", None),
    ("compatibility", None),
    (
        "ashift",
        Some(&["0", "9", "10", "11", "12", "13", "14", "15", "16"]),
    ),
];

/// Every property name `zpool get all` prints for this version, features included.
pub(crate) fn all(version: ZfsVersion) -> Vec<String> {
    let mut names: Vec<String> = PROPS_2_1.iter().map(|name| (*name).to_owned()).collect();
    if version == ZfsVersion::V2_3 {
        names.extend(PROPS_2_3.iter().map(|name| (*name).to_owned()));
    }
    names.extend(features(version).map(|(name, _)| format!("feature@{name}")));
    names
}

fn features(version: ZfsVersion) -> impl Iterator<Item = &'static (&'static str, &'static str)> {
    let extra: &[(&str, &str)] = if version == ZfsVersion::V2_3 {
        FEATURES_2_3
    } else {
        &[]
    };
    FEATURES_2_1.iter().chain(extra)
}

/// Whether `name` is a pool property of this version.
pub(crate) fn known(name: &str, version: ZfsVersion) -> bool {
    all(version).iter().any(|known| known == name)
}

/// The value and source of `prop` on `pool`, as `zpool get -p` prints them.
pub(crate) fn value(model: &Model<'_>, pool: &str, prop: &str) -> (String, String) {
    let Some(state) = model.pools.get(pool) else {
        return ("-".to_owned(), "-".to_owned());
    };
    let local = |name: &str| {
        state
            .properties
            .get(name)
            .map(|value| (value.clone(), "local".to_owned()))
    };
    let default = |value: &str| (value.to_owned(), "default".to_owned());
    let stat = |value: String| (value, "-".to_owned());
    let size = model.pool_size(pool);
    let allocated = model.pool_allocated(pool);
    if let Some(feature) = prop.strip_prefix("feature@") {
        let state = features(model.version)
            .find(|(name, _)| *name == feature)
            .map_or("-", |(_, state)| *state);
        let in_use = |test: &dyn Fn(&str) -> bool, prop: &str| {
            model.descendants(pool, None).iter().any(|name| {
                let (value, _) = super::dataset_props::lookup(prop, model.version)
                    .map(|known| model.property(name, known))
                    .unwrap_or_default();
                test(&value)
            })
        };
        let state = match feature {
            "zstd_compress" if in_use(&|value| value.starts_with("zstd"), "compression") => {
                "active"
            }
            "large_blocks"
                if in_use(
                    &|value| value.parse::<u64>().is_ok_and(|bytes| bytes > 131_072),
                    "recordsize",
                ) =>
            {
                "active"
            }
            _ => state,
        };
        return (state.to_owned(), "local".to_owned());
    }
    match prop {
        "size" => stat(size.to_string()),
        "capacity" => stat((allocated * 100).checked_div(size).unwrap_or(0).to_string()),
        "health" => stat(state.health.clone()),
        "guid" => stat(state.guid.to_string()),
        "load_guid" => stat(stable_hash(&[pool, "load_guid"]).to_string()),
        "dedupratio" | "bcloneratio" => stat("1.00".to_owned()),
        "free" => stat(size.saturating_sub(allocated).to_string()),
        "allocated" => stat(allocated.to_string()),
        "readonly" => stat("off".to_owned()),
        "expandsize" | "checkpoint" => stat("-".to_owned()),
        "freeing" | "leaked" | "bcloneused" | "bclonesaved" | "dedup_table_size"
        | "last_scrubbed_txg" => stat("0".to_owned()),
        "fragmentation" => stat(state.fragmentation.to_string()),
        "ashift" => local("ashift").unwrap_or_else(|| default("0")),
        "altroot" | "version" | "bootfs" | "cachefile" | "comment" => {
            local(prop).unwrap_or_else(|| default("-"))
        }
        "delegation" => local_or_default(local(prop), "on"),
        "autoreplace" | "listsnapshots" | "autoexpand" | "multihost" | "autotrim"
        | "compatibility" => local_or_default(local(prop), "off"),
        "failmode" => local_or_default(local(prop), "wait"),
        "dedup_table_quota" => local(prop).unwrap_or_else(|| default("auto")),
        _ => local(prop).unwrap_or_else(|| ("-".to_owned(), "-".to_owned())),
    }
}

/// A property with a default: a value set to the default shows source `default`, as
/// `zpool set autotrim=off` does (the readback matrix).
fn local_or_default(local: Option<(String, String)>, default: &str) -> (String, String) {
    match local {
        Some((value, source)) if value != default => (value, source),
        _ => (default.to_owned(), "default".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_match_the_captures() {
        assert_eq!(all(ZfsVersion::V2_1).len(), 62);
        assert_eq!(all(ZfsVersion::V2_3).len(), 78);
    }
}
