//! `apparmor_profile`: the AppArmor profile a container runs under, written as one
//! `lxc.apparmor.profile: <name>` line in the main section of its conf.
//!
//! One name, used everywhere (spec §6.4): upstream's setup script renamed its profiles to
//! underscores (`lxc_phoenix_v2`) while its lxc-manager kept the hyphenated file names, so an
//! underscored name is refused with the one spelling Phoenix uses. `unconfined` is accepted with
//! a warning; `unchanged` and `generated` (LXC's other special values) name no profile either. Any
//! other name must be loaded on the host or provided by this run (phoenix-security checks and
//! ships profiles; the container requires the `apparmor-profile:<name>` capability).

use phoenix_core::Severity;
use phoenix_core::config::{JsonPath, excerpt};

use super::Raw;
use super::entry::{Checked, Problem};

/// The LXC key the profile is written under.
pub(crate) const PROFILE_KEY: &str = "lxc.apparmor.profile";

/// The profile that means no confinement.
pub(crate) const UNCONFINED: &str = "unconfined";

/// The values of `lxc.apparmor.profile` that name no profile (lxc.container.conf(5)):
/// `unconfined`, `unchanged` (keep the caller's, when nesting) and `generated` (LXC writes one).
pub(crate) const LXC_SPECIAL: [&str; 3] = [UNCONFINED, "unchanged", "generated"];

/// A container's profile, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Profile {
    pub(crate) name: String,
}

impl Profile {
    /// The warning an unconfined container gets.
    pub(crate) fn warning(&self, at: &JsonPath) -> Option<Problem> {
        (self.name == UNCONFINED).then(|| Problem {
            severity: Severity::Warning,
            at: at.clone(),
            message: "apparmor_profile \"unconfined\" runs the container without AppArmor confinement; Phoenix ships lxc-phoenix-v2 for nested Docker".to_owned(),
        })
    }
}

/// `apparmor_profile`: absent, or a profile name.
pub(crate) fn decode_apparmor_profile(raw: &Raw, path: &JsonPath) -> Checked<Option<Profile>> {
    let at = path.key("apparmor_profile");
    let Some(value) = &raw.apparmor_profile else {
        return Ok(None);
    };
    let Some(name) = value.as_str() else {
        return Err(vec![Problem::error(
            at,
            format!(
                "expected an AppArmor profile name such as \"lxc-phoenix-v2\" or \"unconfined\", found {value}"
            ),
        )]);
    };
    check_name(name)
        .map(|()| {
            Some(Profile {
                name: name.to_owned(),
            })
        })
        .map_err(|message| vec![Problem::error(at, message)])
}

/// A profile name Phoenix writes into a conf: a word of letters, digits, `-`, `_`, `.` and `/`
/// (an executable's profile is named by its path), and not upstream's underscored spelling.
fn check_name(name: &str) -> Result<(), String> {
    let word = !name.is_empty()
        && name.len() <= 255
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
        && !name.starts_with(['-', '.']);
    if !word {
        return Err(format!(
            "expected an AppArmor profile name (letters, digits, -, _, . and /), found {}",
            excerpt(name)
        ));
    }
    if name.starts_with("lxc_") {
        let one_name = name.replace('_', "-");
        return Err(format!(
            "{} is upstream's underscored spelling of the profile {one_name:?} (its setup script renamed profiles to underscores, its lxc-manager did not); Phoenix uses one name for the file, the profile and the conf line: write {one_name:?}",
            excerpt(name)
        ));
    }
    Ok(())
}

/// The raw lines with the profile's: an `lxc_options` entry that sets the same profile is the
/// same line (upstream wrote both), one that sets another is a conflict (LXC would take one of
/// them; upstream's `pct start` then failed with "explicitly configured lxc.apparmor.profile").
pub(crate) fn with_profile_line(
    mut lxc: Vec<(String, String)>,
    profile: Option<&Profile>,
    path: &JsonPath,
) -> Checked<Vec<(String, String)>> {
    let Some(profile) = profile else {
        return Ok(lxc);
    };
    let mut problems = Vec::new();
    for (i, (key, value)) in lxc.iter().enumerate() {
        if key == PROFILE_KEY && *value != profile.name {
            // Every option decoded to one line, in order, so `i` is its index in lxc_options.
            problems.push(Problem::error(
                path.key("lxc_options").index(i),
                format!(
                    "{PROFILE_KEY}={} conflicts with apparmor_profile {}; set the profile once, in apparmor_profile",
                    excerpt(value),
                    excerpt(&profile.name)
                ),
            ));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    lxc.retain(|(key, _)| key != PROFILE_KEY);
    lxc.push((PROFILE_KEY.to_owned(), profile.name.clone()));
    Ok(lxc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn raw(fields: Value) -> Raw {
        let mut entry = json!({"name": "ct", "network_config": {"bridge": "vmbr0", "ip": "dhcp"}});
        if let (Some(entry), Some(fields)) = (entry.as_object_mut(), fields.as_object()) {
            entry.extend(fields.clone());
        }
        serde_json::from_value(entry).expect("a raw entry")
    }

    fn check(fields: Value) -> String {
        let path = JsonPath::root().key("lxc_configs").key("101");
        let raw = raw(fields);
        let lxc = super::super::entry::decode_lxc_options(&raw, &path).expect("options");
        let outcome = decode_apparmor_profile(&raw, &path).and_then(|profile| {
            let warning = profile
                .as_ref()
                .and_then(|p| p.warning(&path.key("apparmor_profile")));
            with_profile_line(lxc, profile.as_ref(), &path).map(|lxc| (lxc, warning))
        });
        match outcome {
            Ok((lxc, warning)) => format!(
                "{lxc:?}{}",
                warning
                    .map(|w| format!("\nwarning {}: {}", w.at, w.message))
                    .unwrap_or_default()
            ),
            Err(problems) => problems
                .iter()
                .map(|p| format!("{}: {}", p.at, p.message))
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    #[test]
    fn issue_9_apparmor_profile_becomes_one_conf_line() {
        let cases = [
            (json!({}), "[]"),
            (
                json!({"apparmor_profile": "lxc-phoenix-v2", "lxc_options": ["lxc.cap.drop="]}),
                r#"[("lxc.cap.drop", ""), ("lxc.apparmor.profile", "lxc-phoenix-v2")]"#,
            ),
            // Upstream's configs set unconfined twice: one line, and a warning.
            (
                json!({"apparmor_profile": "unconfined", "lxc_options": ["lxc.apparmor.profile=unconfined"]}),
                "[(\"lxc.apparmor.profile\", \"unconfined\")]\nwarning lxc_configs.\"101\".apparmor_profile: apparmor_profile \"unconfined\" runs the container without AppArmor confinement; Phoenix ships lxc-phoenix-v2 for nested Docker",
            ),
            (
                json!({"apparmor_profile": "lxc-phoenix-v2", "lxc_options": ["lxc.apparmor.profile=unconfined"]}),
                r#"lxc_configs."101".lxc_options[0]: lxc.apparmor.profile="unconfined" conflicts with apparmor_profile "lxc-phoenix-v2"; set the profile once, in apparmor_profile"#,
            ),
            (
                json!({"apparmor_profile": "lxc_phoenix_v2"}),
                r#"lxc_configs."101".apparmor_profile: "lxc_phoenix_v2" is upstream's underscored spelling of the profile "lxc-phoenix-v2" (its setup script renamed profiles to underscores, its lxc-manager did not); Phoenix uses one name for the file, the profile and the conf line: write "lxc-phoenix-v2""#,
            ),
            (
                json!({"apparmor_profile": "lxc phoenix"}),
                r#"lxc_configs."101".apparmor_profile: expected an AppArmor profile name (letters, digits, -, _, . and /), found "lxc phoenix""#,
            ),
            (
                json!({"apparmor_profile": true}),
                r#"lxc_configs."101".apparmor_profile: expected an AppArmor profile name such as "lxc-phoenix-v2" or "unconfined", found true"#,
            ),
            (
                json!({"apparmor_profile": "nvidia_modprobe"}),
                r#"[("lxc.apparmor.profile", "nvidia_modprobe")]"#,
            ),
            (
                json!({"apparmor_profile": "generated"}),
                r#"[("lxc.apparmor.profile", "generated")]"#,
            ),
        ];
        for (fields, expect) in cases {
            assert_eq!(check(fields.clone()), expect, "{fields}");
        }
    }
}
