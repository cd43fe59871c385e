//! Which containers get Docker, and the `pct_options` Docker in an unprivileged container needs:
//! `nesting=1` (its own mount and proc namespaces) and `keyctl=1` (the kernel keyring runc
//! uses). phoenix-lxc owns `lxc_configs`; this reads it read-only through
//! [`DecodeCx::config`].

use phoenix_core::{DecodeCx, Diagnostic, Location};
use serde_json::Value;

/// The `pct_options` Docker needs.
pub const NEEDED: [&str; 2] = ["nesting=1", "keyctl=1"];

/// A container with the feature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerGuest {
    /// The container.
    pub vmid: u32,
    /// Its effective features (inherited first).
    pub features: Vec<String>,
    /// Its `apparmor_profile`.
    pub apparmor_profile: Option<String>,
    /// Its entry.
    pub location: Location,
}

/// The containers whose effective features list `docker`, each checked for [`NEEDED`]; one
/// that lacks them is reported (at its `pct_options`, or its entry when it has none) and left
/// out.
pub fn guests(cx: &mut DecodeCx<'_>) -> Vec<DockerGuest> {
    let config = cx.config();
    let all = phoenix_services::guests(config);
    let mut out = Vec::new();
    for guest in all.values().filter(|guest| guest.has(super::FEATURE)) {
        let missing = missing_options(guest.entry.get("pct_options"));
        if !missing.is_empty() {
            let path = guest.path_of("pct_options");
            let at = config
                .sections()
                .find(|section| section.key == "lxc_configs")
                .map(|section| {
                    if guest.entry.get("pct_options").is_some() {
                        section.location_of(&path)
                    } else {
                        guest.location.clone()
                    }
                })
                .unwrap_or_else(|| guest.location.clone());
            cx.report(
                Diagnostic::error(format!(
                    "container {}: the docker feature needs {} in pct_options (missing: {}); Docker cannot run in an unprivileged container without them",
                    guest.vmid,
                    NEEDED.join(" and "),
                    missing.join(", ")
                ))
                .at(at),
            );
            continue;
        }
        out.push(DockerGuest {
            vmid: guest.vmid,
            features: guest.features.clone(),
            apparmor_profile: guest
                .entry
                .get("apparmor_profile")
                .and_then(Value::as_str)
                .map(str::to_owned),
            location: guest.location.clone(),
        });
    }
    out
}

/// The options of [`NEEDED`] that `pct_options` lacks.
pub fn missing_options(options: Option<&Value>) -> Vec<&'static str> {
    let given: Vec<String> = options
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .map(|option| option.replace(' ', ""))
                .collect()
        })
        .unwrap_or_default();
    NEEDED
        .iter()
        .copied()
        .filter(|needed| !given.iter().any(|option| option == needed))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn issue_11_nesting_and_keyctl_are_needed() {
        let cases: &[(Value, &[&str])] = &[
            (json!(["nesting=1", "keyctl=1"]), &[]),
            (json!(["keyctl=1", "nesting=1", "mknod=1"]), &[]),
            (json!(["nesting=1"]), &["keyctl=1"]),
            (json!(["nesting=0", "keyctl=1"]), &["nesting=1"]),
            (json!([]), &["nesting=1", "keyctl=1"]),
        ];
        for (options, missing) in cases {
            assert_eq!(missing_options(Some(options)), *missing, "{options}");
        }
        assert_eq!(missing_options(None), NEEDED);
    }
}
