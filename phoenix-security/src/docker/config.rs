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
    /// Whether its effective features list `nvidia` too (Docker then gets the GPUs).
    pub nvidia: bool,
    /// The image of its GPU smoke check (`gpu_check_image`, else the default).
    pub gpu_check_image: String,
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
        let image = match guest.entry.get("gpu_check_image") {
            None => super::gpu_check::DEFAULT_IMAGE.to_owned(),
            Some(value) => match check_image(value) {
                Ok(image) => image,
                Err(reason) => {
                    let path = guest.path_of("gpu_check_image");
                    let at = config
                        .sections()
                        .find(|section| section.key == "lxc_configs")
                        .map_or_else(|| guest.location.clone(), |s| s.location_of(&path));
                    cx.report(Diagnostic::error(format!("{path}: {reason}")).at(at));
                    continue;
                }
            },
        };
        out.push(DockerGuest {
            vmid: guest.vmid,
            nvidia: guest.has("nvidia"),
            gpu_check_image: image,
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

/// `gpu_check_image`: a Docker image reference (`ubuntu:24.04`, `nvcr.io/nvidia/cuda:12.8.1-base-ubuntu24.04`,
/// `name@sha256:...`), one word of the characters references use.
pub fn check_image(value: &Value) -> Result<String, String> {
    let Some(text) = value.as_str() else {
        return Err(format!(
            "expected a Docker image reference such as \"{}\", found {}",
            super::gpu_check::DEFAULT_IMAGE,
            phoenix_core::config::kind_of(value)
        ));
    };
    let ok = !text.is_empty()
        && text.len() <= 255
        && !text.starts_with(['-', ':', '@', '/'])
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/:@".contains(c));
    if ok {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "expected a Docker image reference such as \"{}\", found {}",
            super::gpu_check::DEFAULT_IMAGE,
            phoenix_core::config::excerpt(text)
        ))
    }
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

    #[test]
    fn issue_11_gpu_check_images() {
        let cases: [(Value, bool); 7] = [
            (json!("ubuntu:24.04"), true),
            (json!("nvcr.io/nvidia/cuda:12.8.1-base-ubuntu24.04"), true),
            (json!("ubuntu@sha256:abc123"), true),
            (json!(""), false),
            (json!("--privileged"), false),
            (json!("ubuntu; rm -rf /"), false),
            (json!(3), false),
        ];
        for (value, ok) in cases {
            assert_eq!(check_image(&value).is_ok(), ok, "{value}");
        }
    }
}
