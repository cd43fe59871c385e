//! Key claims: which provider owns each top-level config key, so that no key is silently dropped.
//!
//! Every top-level key of every document is either managed by a provider, known but not acted on
//! (reported once as a note, with the reason), or an error with a "did you mean" suggestion.

use std::collections::HashMap;

use super::decode::suggest;
use super::load::ConfigSet;
use super::path::quote;
use crate::diag::Diagnostic;

/// The provider name under which phoenix-core claims the format's own metadata keys.
const CORE_PROVIDER: &str = "phoenix-core";

/// A provider's claim on one top-level config key.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Claim {
    /// The top-level key, such as `zfs` or `lxc_configs`.
    pub key: String,
    /// What the provider does with it.
    pub support: Support,
    /// Patterns of the strings under the key that are free text (newlines and tabs allowed),
    /// relative to the key, such as `*.content`; every other string is single-line. See
    /// [`check_strings`](super::check_strings).
    pub free_text: Vec<String>,
    /// For a claim on part of a key another provider owns: the pattern of the values claimed,
    /// relative to the key (such as `*.firewall` under `lxc_configs`); `None` for the whole key.
    /// See [`Claim::part`].
    pub part: Option<String>,
}

/// What a provider does with a key it claims.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Support {
    /// The provider decodes the key and turns it into resources.
    Managed,
    /// The key is valid upstream config that Phoenix does not act on. Each occurrence is reported
    /// once as a note.
    Known {
        /// Why it is not acted on, such as "never read by the bash tool either"; it completes
        /// `key "x" is known but not managed by Phoenix: ...`.
        reason: String,
    },
}

impl Claim {
    /// A key the provider manages.
    pub fn managed(key: impl Into<String>) -> Claim {
        Claim {
            key: key.into(),
            support: Support::Managed,
            free_text: Vec::new(),
            part: None,
        }
    }

    /// A claim on part of a key that another provider owns: this provider manages the values at
    /// `pattern` (relative to the key; `*` matches any key or index, such as `*.firewall` under
    /// `lxc_configs`) and gets the key's sections in `decode`; the owner may read the same values
    /// for its own purpose. A part claim never conflicts with the owner's claim; a key that only
    /// part claims name counts as managed. The owner checks the strings of the whole key; a
    /// provider with a part claim is not decoded while any of them is bad (the owner reports it).
    pub fn part(key: impl Into<String>, pattern: impl Into<String>) -> Claim {
        Claim {
            key: key.into(),
            support: Support::Managed,
            free_text: Vec::new(),
            part: Some(pattern.into()),
        }
    }

    /// Marks the strings at `pattern` (relative to the key; `*` matches any key or index) as
    /// free text, which may hold newlines and tabs.
    #[must_use]
    pub fn free_text(mut self, pattern: impl Into<String>) -> Claim {
        self.free_text.push(pattern.into());
        self
    }

    /// A key the provider knows but does not act on, and why.
    pub fn known(key: impl Into<String>, reason: impl Into<String>) -> Claim {
        Claim {
            key: key.into(),
            support: Support::Known {
                reason: reason.into(),
            },
            free_text: Vec::new(),
            part: None,
        }
    }
}

/// The keys phoenix-core itself claims: metadata of the file format that no provider acts on.
/// [`check_claims`] adds them under the provider name `phoenix-core`.
pub fn core_claims() -> Vec<Claim> {
    vec![
        Claim::known(
            "$schema",
            "a JSON schema reference; Phoenix validates with its own types",
        ),
        Claim::known("version", "file metadata"),
        Claim::known("author", "file metadata"),
        Claim::known(
            "core_paths",
            "paths of the bash tool's own files; Phoenix takes --config instead and reads only hf_token_file, the Hugging Face token vLLM gets",
        ),
        Claim::known(
            "behavior",
            "flags the bash tool never read; Phoenix verifies every change after apply",
        ),
        Claim::known(
            "tests",
            "the bash tool's test scripts; Phoenix inspects every resource again after apply",
        ),
    ]
}

/// Checks every top-level key of `config` against the claims, given as `(provider name, claim)`
/// pairs; [`core_claims`] are added.
///
/// Returns an error for each key that nobody claims (with a suggestion among the claimed keys),
/// a note for each occurrence of a [`Support::Known`] key, and nothing for managed keys. A key
/// claimed twice is a bug in the providers: it is reported as an error naming both claimants,
/// and the first claim is used.
pub fn check_claims(config: &ConfigSet, claims: &[(String, Claim)]) -> Vec<Diagnostic> {
    let core = core_claims();
    let all = core.iter().map(|claim| (CORE_PROVIDER, claim)).chain(
        claims
            .iter()
            .map(|(provider, claim)| (provider.as_str(), claim)),
    );

    let mut diagnostics = Vec::new();
    let mut by_key: HashMap<&str, (&str, &Claim)> = HashMap::new();
    let mut keys_in_order: Vec<&str> = Vec::new();
    let mut parts: Vec<(&str, &Claim)> = Vec::new();
    for (provider, claim) in all {
        if claim.part.is_some() {
            parts.push((provider, claim));
            continue;
        }
        match by_key.get(claim.key.as_str()) {
            Some((first, _)) => diagnostics.push(duplicate_claim(&claim.key, first, provider)),
            None => {
                by_key.insert(&claim.key, (provider, claim));
                keys_in_order.push(&claim.key);
            }
        }
    }

    // A key that only part claims name is managed by them.
    for (provider, claim) in parts {
        if !by_key.contains_key(claim.key.as_str()) {
            by_key.insert(&claim.key, (provider, claim));
            keys_in_order.push(&claim.key);
        }
    }

    for section in config.sections() {
        match by_key.get(section.key) {
            Some((_, claim)) => match &claim.support {
                Support::Managed => {}
                Support::Known { reason } => diagnostics.push(
                    Diagnostic::note(format!(
                        "key {} is known but not managed by Phoenix: {reason}",
                        quote(section.key)
                    ))
                    .at(section.location()),
                ),
            },
            None => {
                let mut message = format!("unknown key {}", quote(section.key));
                if let Some(meant) = suggest(section.key, keys_in_order.iter().copied()) {
                    message.push_str(&format!("; did you mean {}?", quote(meant)));
                }
                diagnostics.push(Diagnostic::error(message).at(section.location()));
            }
        }
    }
    diagnostics
}

fn duplicate_claim(key: &str, first: &str, second: &str) -> Diagnostic {
    if first == second {
        Diagnostic::error(format!(
            "key {} is claimed twice by provider {}",
            quote(key),
            quote(first)
        ))
    } else {
        Diagnostic::error(format!(
            "key {} is claimed by two providers: {} and {}",
            quote(key),
            quote(first),
            quote(second)
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::config::document::Document;

    fn config(files: &[(&str, &str)]) -> ConfigSet {
        ConfigSet::from_documents(
            files
                .iter()
                .map(|(name, text)| {
                    Document::parse(PathBuf::from(name), (*text).to_owned()).expect("valid JSON")
                })
                .collect(),
        )
    }

    fn claims(list: &[(&str, Claim)]) -> Vec<(String, Claim)> {
        list.iter()
            .map(|(provider, claim)| ((*provider).to_owned(), claim.clone()))
            .collect()
    }

    fn render(diagnostics: &[Diagnostic]) -> String {
        diagnostics
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn every_key_is_managed_known_or_an_error() {
        let config = config(&[
            (
                "hypervisor.json",
                "{\n  \"version\": \"1\",\n  \"zsf\": {},\n  \"users\": {},\n  \"nfs\": []\n}",
            ),
            (
                "lxc.json",
                "{\n  \"$schema\": \"x\",\n  \"lxc_configs\": {},\n  \"users\": {},\n  \"totally_new\": 1\n}",
            ),
        ]);
        let claims = claims(&[
            ("phoenix-zfs", Claim::managed("zfs")),
            ("phoenix-net", Claim::managed("nfs")),
            ("phoenix-lxc", Claim::managed("lxc_configs")),
            (
                "phoenix-security",
                Claim::known("users", "the admin account is created by hand"),
            ),
        ]);
        insta::assert_snapshot!(render(&check_claims(&config, &claims)), @r#"
        note: hypervisor.json:2:14 at version: key "version" is known but not managed by Phoenix: file metadata
        error: hypervisor.json:3:10 at zsf: unknown key "zsf"; did you mean "zfs"?
        note: hypervisor.json:4:12 at users: key "users" is known but not managed by Phoenix: the admin account is created by hand
        note: lxc.json:2:14 at "$schema": key "$schema" is known but not managed by Phoenix: a JSON schema reference; Phoenix validates with its own types
        note: lxc.json:4:12 at users: key "users" is known but not managed by Phoenix: the admin account is created by hand
        error: lxc.json:5:18 at totally_new: unknown key "totally_new"
        "#);
    }

    #[test]
    fn issue_9_a_part_claim_shares_a_key_with_its_owner() {
        let config = config(&[(
            "lxc.json",
            "{\n  \"lxc_configs\": {},\n  \"fw_only\": {}\n}",
        )]);
        let claims = claims(&[
            ("phoenix-lxc", Claim::managed("lxc_configs")),
            ("phoenix-net", Claim::part("lxc_configs", "*.firewall")),
            ("phoenix-net", Claim::part("fw_only", "firewall")),
        ]);
        assert_eq!(render(&check_claims(&config, &claims)), "");
    }

    #[test]
    fn a_key_claimed_twice_is_an_error_naming_both_providers() {
        let config = config(&[("h.json", "{\"zfs\": {}}")]);
        let claims = claims(&[
            ("phoenix-zfs", Claim::managed("zfs")),
            ("phoenix-other", Claim::known("zfs", "mine too")),
            ("phoenix-zfs", Claim::managed("zfs")),
            ("phoenix-other", Claim::managed("version")),
        ]);
        insta::assert_snapshot!(render(&check_claims(&config, &claims)), @r#"
        error: key "zfs" is claimed by two providers: "phoenix-zfs" and "phoenix-other"
        error: key "zfs" is claimed twice by provider "phoenix-zfs"
        error: key "version" is claimed by two providers: "phoenix-core" and "phoenix-other"
        "#);
    }

    #[test]
    fn the_upstream_keys_without_claims_are_all_errors() {
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../shared/fixtures/upstream/0017fa8__etc__phoenix_lxc_configs.json"),
        )
        .expect("fixture");
        let config = config(&[("phoenix_lxc_configs.json", &text)]);
        insta::assert_snapshot!(render(&check_claims(&config, &[])), @r#"
        note: phoenix_lxc_configs.json:2:16 at "$schema": key "$schema" is known but not managed by Phoenix: a JSON schema reference; Phoenix validates with its own types
        error: phoenix_lxc_configs.json:3:30 at nvidia_driver_version: unknown key "nvidia_driver_version"
        error: phoenix_lxc_configs.json:4:24 at nvidia_repo_url: unknown key "nvidia_repo_url"
        error: phoenix_lxc_configs.json:5:27 at nvidia_runfile_url: unknown key "nvidia_runfile_url"
        error: phoenix_lxc_configs.json:6:20 at lxc_configs: unknown key "lxc_configs"
        "#);
    }
}
