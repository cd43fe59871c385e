//! Settled guests: a guest that is not running and was left, by this config's resources, as they
//! want it. Its scoped resources are not inspected (a stopped container cannot run a probe) and
//! plan nothing; they are inspected again as soon as the guest runs or the config changes them.
//!
//! What "as they want it" means is the guest's *fingerprint*: a digest of what every resource of
//! the guest's scope (every resource providing `scope-settled:<guest>`) would do to a guest that
//! lacks it (its `diff` against nothing: fields, steps, file content). The guest's provider
//! records the fingerprint when it freezes the guest (phoenix-lxc writes it into the
//! provisioning snapshot's description, [`SCOPE_LINE`]) and answers
//! [`crate::GuestTransport::settled`] by comparing it. A secret is redacted in a step, so a
//! changed secret alone does not change the fingerprint (house style 42: no hash of a secret is
//! ever shown, and a snapshot description is shown by `pct listsnapshot`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::resource::{Ctx, DynResource};
use crate::scope::Scopes;

/// The line a guest provider writes to record a guest's fingerprint, followed by it.
pub const SCOPE_LINE: &str = "phoenix-scope:";

/// The capability class every scoped resource in a guest provides.
const SETTLED_CLASS: &str = "scope-settled:";

/// Every guest with scoped resources, with its fingerprint, and the scopes (for their transports).
#[derive(Debug, Default)]
pub struct GuestIndex {
    fingerprints: BTreeMap<String, String>,
    scopes: Arc<Scopes>,
}

impl GuestIndex {
    /// The index of `resources`, whose guests' transports are in `scopes`.
    pub fn new(resources: &[Arc<dyn DynResource>], scopes: Arc<Scopes>) -> GuestIndex {
        let mut material: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for resource in resources {
            for capability in resource.provides() {
                let Some(guest) = capability.as_str().strip_prefix(SETTLED_CLASS) else {
                    continue;
                };
                let delta =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| resource.diff(None)));
                let described = match delta {
                    Ok(Ok(delta)) => serde_json::to_string(&delta).unwrap_or_default(),
                    _ => "no diff".to_owned(),
                };
                material
                    .entry(guest.to_owned())
                    .or_default()
                    .push(format!("{}\n{described}", resource.id()));
            }
        }
        let fingerprints = material
            .into_iter()
            .map(|(guest, mut parts)| {
                parts.sort();
                let mut hash = Sha256::new();
                for part in &parts {
                    hash.update(part.as_bytes());
                    hash.update([0]);
                }
                let hex: String = hash
                    .finalize()
                    .iter()
                    .take(8)
                    .map(|b| format!("{b:02x}"))
                    .collect();
                (guest, hex)
            })
            .collect();
        GuestIndex {
            fingerprints,
            scopes,
        }
    }

    /// The fingerprint of guest scope `guest` (`ct:901`), when resources of this run are in it.
    pub fn fingerprint(&self, guest: &str) -> Option<&str> {
        self.fingerprints.get(guest).map(String::as_str)
    }

    /// The guests whose transport says they are settled. A transport's error is taken as "not
    /// settled": the guest's resources are then inspected, and report it themselves.
    pub(crate) async fn settled(&self, cx: &Ctx<'_>) -> BTreeSet<String> {
        let checks = self.fingerprints.iter().filter_map(|(guest, fingerprint)| {
            let scope = self.scopes.get(guest).ok()?;
            let transport = Arc::clone(scope.transport()?);
            let name = scope.guest()?.to_owned();
            Some(async move {
                let settled = transport
                    .settled(cx, &name, fingerprint)
                    .await
                    .unwrap_or(false);
                settled.then(|| guest.clone())
            })
        });
        futures::future::join_all(checks)
            .await
            .into_iter()
            .flatten()
            .collect()
    }
}

/// The guest a resource is scoped in, from the `scope-settled:` capability it provides.
pub(crate) fn guest_of(resource: &dyn DynResource) -> Option<String> {
    resource
        .provides()
        .iter()
        .find_map(|c| c.as_str().strip_prefix(SETTLED_CLASS).map(str::to_owned))
}
