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

use async_trait::async_trait;

use crate::change::{Change, Delta, Ensure};
use crate::error::BoxError;
use crate::id::ResourceId;
use crate::resource::{Capability, Ctx, Resource};
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

/// A resource with capabilities added to its own: what it provides and requires besides. A part
/// of feature `feature` of a guest ([`part`]) adds the feature's capability and the requirement
/// of the features listed before it; any provider may add others ([`Part::new`]). Works for
/// core's primitives and any provider's resource alike.
#[derive(Debug)]
pub struct Part<R> {
    inner: R,
    provides: Vec<Capability>,
    requires: Vec<Capability>,
}

/// `resource` as a part of `feature` in `scope`, whose feature list is `features` (the guest's
/// effective list, inherited features first).
pub fn part<R: Resource>(
    resource: R,
    scope: &Scope,
    features: &[String],
    feature: &str,
) -> Part<R> {
    Part::new(
        resource,
        vec![capability(scope, feature)],
        after(scope, features, feature),
    )
}

impl<R> Part<R> {
    /// `inner`, also providing `provides` and requiring `requires`.
    pub fn new(inner: R, provides: Vec<Capability>, requires: Vec<Capability>) -> Part<R> {
        Part {
            inner,
            provides,
            requires,
        }
    }

    /// The resource itself.
    pub fn inner(&self) -> &R {
        &self.inner
    }
}

#[async_trait]
impl<R: Resource> Resource for Part<R> {
    type State = R::State;

    fn id(&self) -> ResourceId {
        self.inner.id()
    }

    fn depends_on(&self) -> Vec<ResourceId> {
        self.inner.depends_on()
    }

    fn provides(&self) -> Vec<Capability> {
        let mut provides = self.inner.provides();
        provides.extend(self.provides.iter().cloned());
        provides
    }

    fn requires(&self) -> Vec<Capability> {
        let mut requires = self.inner.requires();
        requires.extend(self.requires.iter().cloned());
        requires
    }

    fn locks(&self) -> Vec<String> {
        self.inner.locks()
    }

    fn ensure(&self) -> Ensure {
        self.inner.ensure()
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<Self::State>, BoxError> {
        self.inner.inspect(cx).await
    }

    fn diff(&self, observed: Option<&Self::State>) -> Delta {
        self.inner.diff(observed)
    }

    async fn apply(&self, change: &Change, cx: &Ctx<'_>) -> Result<(), BoxError> {
        self.inner.apply(change, cx).await
    }

    fn triggered_by(&self) -> Vec<ResourceId> {
        self.inner.triggered_by()
    }

    fn when_triggered(&self, by: &[ResourceId]) -> Delta {
        self.inner.when_triggered(by)
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

    #[test]
    fn a_part_adds_the_feature_capabilities_to_the_resource_s_own() {
        let scopes = Scopes::default();
        let ct = scopes.node();
        let list: Vec<String> = ["nvidia", "vllm"].map(str::to_owned).to_vec();
        let file = crate::file::File::new("/etc/x", "x\n").depends_on(ResourceId::new(
            crate::id::Kind::from_static("package"),
            "curl",
        ));
        let part = part(file, &ct, &list, "vllm");
        let names = |caps: Vec<Capability>| -> Vec<String> {
            caps.iter().map(ToString::to_string).collect()
        };
        assert_eq!(part.id().to_string(), "file[/etc/x]");
        assert_eq!(part.depends_on().len(), 1);
        assert_eq!(names(part.provides()), ["path:/etc/x", "feature:node:vllm"]);
        assert_eq!(names(part.requires()), ["path:/etc", "feature:node:nvidia"]);
    }
}
