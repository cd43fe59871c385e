//! In-guest features: named bundles of resources (`nvidia`, `docker`, `vllm`) that a guest's
//! config lists in order and that providers other than the guest's own implement.
//!
//! The guest provider (phoenix-lxc for containers) owns the feature list and validates it; a
//! provider that implements a feature says so with [`crate::Provider::guest_features`], reads the
//! list read-only through [`crate::DecodeCx::config`], and places the feature's resources in the
//! guest's scope. The order of the list is kept with capabilities, not crate dependencies: every
//! resource of feature `f` in guest `g` provides [`capability`]`(g, f)` and requires the
//! capabilities of the features listed before `f` ([`after`]), so a feature starts only when
//! every resource of the features before it is done, whichever providers made them.

use crate::resource::Capability;
use crate::scope::Scope;

/// The capability every resource of `feature` in `scope` provides: `feature:ct:901:nvidia`.
pub fn capability(scope: &Scope, feature: &str) -> Capability {
    Capability::named("feature", &format!("{}:{feature}", scope.name()))
}

/// The capabilities a resource of `feature` requires: those of the features listed before it in
/// the guest's feature list `features` (every earlier one, so the order holds even when a
/// feature in between has no resources). A feature not in the list requires nothing.
pub fn after(scope: &Scope, features: &[String], feature: &str) -> Vec<Capability> {
    match features.iter().position(|f| f == feature) {
        Some(at) => features[..at]
            .iter()
            .map(|earlier| capability(scope, earlier))
            .collect(),
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scope::Scopes;

    #[test]
    fn a_feature_requires_every_feature_listed_before_it() {
        let scopes = Scopes::default();
        let ct = scopes.node();
        let list: Vec<String> = ["base_setup", "nvidia", "vllm"].map(str::to_owned).to_vec();
        let names = |caps: Vec<Capability>| -> Vec<String> {
            caps.iter().map(ToString::to_string).collect()
        };
        let cases: [(&str, &[&str]); 4] = [
            ("base_setup", &[]),
            ("nvidia", &["feature:node:base_setup"]),
            ("vllm", &["feature:node:base_setup", "feature:node:nvidia"]),
            ("docker", &[]),
        ];
        for (feature, expect) in cases {
            assert_eq!(names(after(&ct, &list, feature)), expect, "{feature}");
        }
        assert_eq!(capability(&ct, "vllm").to_string(), "feature:node:vllm");
    }
}
