//! What the config asks of AppArmor: the profiles containers name in `apparmor_profile`
//! (`lxc_configs`), each a shipped profile to install and load, or a profile that must already
//! be loaded.
//!
//! phoenix-lxc owns `lxc_configs` and reports a malformed `apparmor_profile` (with its JSON path);
//! this module only reads the names, read-only, through [`DecodeCx::config`], so that the
//! profiles exist before the containers that use them (a capability edge, not a crate
//! dependency).

use std::collections::BTreeMap;
use std::path::Path;

use phoenix_core::config::ConfigSet;
use phoenix_core::file::File;
use phoenix_core::package::Package;
use phoenix_core::{DecodeCx, Diagnostic, Location};

use super::policy::{self, LXC_SPECIAL};
use super::profile::{PACKAGE, Profile};

/// The command that checks a staged profile or tunable: parse everything (includes too), load
/// nothing, neither read nor write the cache (`-K` implies `-T`). What the testbed ran for
/// `../shared/fixtures/host/apparmor-parser.bad.txt`.
pub const VALIDATE: [&str; 4] = ["apparmor_parser", "-Q", "-K", "%s"];

/// A profile containers use: their ids and where the first names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Use {
    /// The containers, in id order.
    pub containers: Vec<u32>,
    /// The first container's `apparmor_profile`.
    pub at: Location,
}

/// The profiles named by the present containers of `lxc_configs`, other than LXC's special values
/// (`unconfined`, `unchanged`, `generated`).
/// Entries phoenix-lxc will refuse (a name that is not a single word) are left to it.
pub fn profiles_in_use(config: &ConfigSet) -> BTreeMap<String, Use> {
    let mut uses: BTreeMap<String, Use> = BTreeMap::new();
    for section in config.sections().filter(|s| s.key == "lxc_configs") {
        let Some(entries) = section.value.as_object() else {
            continue;
        };
        for (key, entry) in entries {
            let Ok(id) = key.parse::<u32>() else {
                continue;
            };
            if entry.get("ensure").and_then(|e| e.as_str()) == Some("absent") {
                continue;
            }
            let Some(name) = entry.get("apparmor_profile").and_then(|v| v.as_str()) else {
                continue;
            };
            if LXC_SPECIAL.contains(&name) || !is_word(name) {
                continue;
            }
            let at = section.location_of(&section.path().key(key).key("apparmor_profile"));
            let slot = uses.entry(name.to_owned()).or_insert(Use {
                containers: Vec::new(),
                at,
            });
            slot.containers.push(id);
        }
    }
    uses
}

/// A profile name Phoenix can pass on: letters, digits, `-`, `_`, `.`, `/`.
fn is_word(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
}

/// Adds the resources of every profile in use: for a shipped one the package, the tunable, the
/// profile file (each validated by `apparmor_parser` before it goes live) and the loaded
/// profile; for another one a check that it is loaded.
pub fn decode(cx: &mut DecodeCx<'_>) {
    let uses = profiles_in_use(cx.config());
    if uses.is_empty() {
        return;
    }
    let node = match cx.scope("node") {
        Ok(node) => node,
        Err(err) => {
            cx.report(Diagnostic::error(err.to_string()));
            return;
        }
    };
    let package = Package::new(&node, PACKAGE);
    let package_id = Package::id_for(&node, PACKAGE);
    let tunable_id = File::id_in(&node, Path::new(policy::TUNABLE_PATH));
    let mut tunable_added = false;
    for (name, used) in uses {
        if !policy::is_shipped(&name) {
            cx.add_at(Profile::external(&node, &name, used.containers), used.at);
            continue;
        }
        if !tunable_added {
            cx.add(
                File::new(policy::TUNABLE_PATH, policy::tunable_text())
                    .in_scope(&node)
                    .validate(VALIDATE)
                    .depends_on(package_id.clone()),
            );
            tunable_added = true;
        }
        let path = policy::profile_path(&name);
        let text = policy::profile_text(&name).expect("invariant: a shipped profile has a text");
        let profile_id = File::id_in(&node, Path::new(&path));
        // The profile includes the tunable, so its check needs the tunable in place.
        cx.add(
            File::new(&path, text)
                .in_scope(&node)
                .validate(VALIDATE)
                .depends_on(package_id.clone())
                .depends_on(tunable_id.clone()),
        );
        cx.add_at(
            Profile::shipped(
                &node,
                &name,
                &path,
                vec![tunable_id.clone(), profile_id],
                vec![package_id.clone()],
            ),
            used.at,
        );
    }
    cx.add(package);
}

#[cfg(test)]
mod tests {
    use super::*;
    use phoenix_core::config::Document;

    fn uses(json: &str) -> String {
        let document = Document::parse("lxc.json".into(), json.to_owned()).expect("json");
        let config = ConfigSet::from_documents(vec![document]);
        profiles_in_use(&config)
            .into_iter()
            .map(|(name, used)| format!("{name} {:?} at {}", used.containers, used.at.path))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn issue_9_the_profiles_of_present_containers_other_than_unconfined() {
        let cases = [
            (r#"{"lxc_configs": {}}"#, ""),
            (
                r#"{"lxc_configs": {"101": {"apparmor_profile": "unconfined"}, "102": {"apparmor_profile": "lxc-phoenix-v2"}, "103": {"apparmor_profile": "lxc-phoenix-v2"}}}"#,
                r#"lxc-phoenix-v2 [102, 103] at lxc_configs."102".apparmor_profile"#,
            ),
            (
                r#"{"lxc_configs": {"101": {"apparmor_profile": "lxc-nosuch", "ensure": "absent"}, "102": {"apparmor_profile": "a b"}, "x": {"apparmor_profile": "y"}, "104": {"apparmor_profile": 5}, "105": {"apparmor_profile": "generated"}, "106": {"apparmor_profile": "unchanged"}}}"#,
                "",
            ),
            (
                r#"{"lxc_configs": {"101": {"apparmor_profile": "lxc-container-default-with-nesting"}}, "other": 1}"#,
                r#"lxc-container-default-with-nesting [101] at lxc_configs."101".apparmor_profile"#,
            ),
        ];
        for (json, expect) in cases {
            assert_eq!(uses(json), expect, "{json}");
        }
    }
}
