//! `lxc.environment` values are secrets (API tokens such as `HF_TOKEN=...`): the plan, its JSON,
//! diffs and logs show the variable's name and only `(sensitive, N bytes)` for its value, through
//! phoenix-core's `Content` and `describe`, like a `0600` managed file.

use phoenix_core::Content;
use phoenix_core::sensitive::describe;

/// Whether a raw LXC key holds an environment value (`lxc.environment`,
/// `lxc.environment.runtime`, `lxc.environment.hooks`).
pub(crate) fn is_sensitive_key(key: &str) -> bool {
    key == "lxc.environment" || key.starts_with("lxc.environment.")
}

/// The value of `key` as the plan shows it: `NAME=(sensitive, N bytes)` for an environment
/// value, the value itself otherwise.
pub(crate) fn shown_value(key: &str, value: &str) -> String {
    if !is_sensitive_key(key) {
        return value.to_owned();
    }
    match value.split_once('=') {
        Some((name, secret)) => format!("{name}={}", describe(secret.len())),
        None => describe(value.len()),
    }
}

/// A conf text with every environment value replaced by its description, for diffs.
pub(crate) fn redact_conf(text: &str) -> String {
    text.split_inclusive('\n')
        .map(|line| {
            let (body, end) = match line.strip_suffix('\n') {
                Some(body) => (body, "\n"),
                None => (line, ""),
            };
            let split = body
                .split_once(':')
                .filter(|(k, _)| !k.contains('='))
                .or_else(|| body.split_once('='));
            match split {
                Some((key, value)) if is_sensitive_key(key.trim()) => {
                    let sep = &body[key.len()..=key.len()];
                    let value = value.trim_start();
                    format!("{key}{sep} {}{end}", shown_value(key.trim(), value))
                }
                _ => line.to_owned(),
            }
        })
        .collect()
}

/// Text written to the host: sensitive when it holds any environment value.
pub(crate) fn conf_content(text: String) -> Content {
    let sensitive = redact_conf(&text) != text;
    Content::new(text, sensitive)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_8_environment_values_are_described_not_shown() {
        assert_eq!(
            shown_value("lxc.environment", "HF_TOKEN=hf_canary"),
            "HF_TOKEN=(sensitive, 9 bytes)"
        );
        assert_eq!(
            shown_value("lxc.apparmor.profile", "unconfined"),
            "unconfined"
        );
        let conf = "arch: amd64\nlxc.environment: HF_TOKEN=hf_canary\nlxc.environment.runtime = K=v2canary\nlxc.cap.drop: \n";
        let redacted = redact_conf(conf);
        assert!(!redacted.contains("canary"), "{redacted}");
        assert_eq!(
            redacted,
            "arch: amd64\nlxc.environment: HF_TOKEN=(sensitive, 9 bytes)\nlxc.environment.runtime = K=(sensitive, 8 bytes)\nlxc.cap.drop: \n"
        );
        assert!(conf_content(conf.to_owned()).is_sensitive());
        assert!(!conf_content("arch: amd64\n".to_owned()).is_sensitive());
    }
}
