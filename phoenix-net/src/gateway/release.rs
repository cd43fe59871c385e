//! Taking a removed container out of the gateway before it is destroyed.
//!
//! A container the config marks `"ensure": "absent"` is no server of any upstream, so the
//! generated `nginx.conf` no longer lists it; but nginx must have reloaded that file before the
//! container goes away, or requests keep going to a dying replica. phoenix-lxc's deletion of a
//! container requires the capability [`released`] of its guest (data, not a crate
//! dependency: providers never depend on each other), and [`Releases`] gives it to the
//! resource that reloads nginx, so the engine orders the reload before the destroy.

use async_trait::async_trait;
use phoenix_core::change::{Change, Delta, Ensure};
use phoenix_core::config::ConfigSet;
use phoenix_core::resource::{Capability, Ctx, Resource};
use phoenix_core::{BoxError, ResourceId};
use serde_json::Value;

/// The capability a container's deletion requires: whatever routes to it has let it go.
/// phoenix-lxc spells the same name (`guest-released:ct:<vmid>`).
pub fn released(vmid: u32) -> Capability {
    Capability::named("guest-released", &format!("ct:{vmid}"))
}

/// The containers `config` marks absent.
pub fn absent(config: &ConfigSet) -> Vec<u32> {
    config
        .sections()
        .filter(|s| s.key == "lxc_configs")
        .filter_map(|s| s.value.as_object())
        .flat_map(|entries| entries.iter())
        .filter(|(_, entry)| entry.get("ensure").and_then(Value::as_str) == Some("absent"))
        .filter_map(|(key, _)| key.parse().ok())
        .collect()
}

/// `inner`, which also provides [`released`] for `vmids`.
#[derive(Debug)]
pub struct Releases<R> {
    inner: R,
    vmids: Vec<u32>,
}

impl<R: Resource> Releases<R> {
    /// Wraps `inner`.
    pub fn new(inner: R, vmids: Vec<u32>) -> Releases<R> {
        Releases { inner, vmids }
    }
}

#[async_trait]
impl<R: Resource> Resource for Releases<R> {
    type State = R::State;

    fn id(&self) -> ResourceId {
        self.inner.id()
    }

    fn depends_on(&self) -> Vec<ResourceId> {
        self.inner.depends_on()
    }

    fn provides(&self) -> Vec<Capability> {
        let mut provides = self.inner.provides();
        provides.extend(self.vmids.iter().map(|vmid| released(*vmid)));
        provides
    }

    fn requires(&self) -> Vec<Capability> {
        self.inner.requires()
    }

    fn locks(&self) -> Vec<String> {
        self.inner.locks()
    }

    fn ensure(&self) -> Ensure {
        self.inner.ensure()
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<R::State>, BoxError> {
        self.inner.inspect(cx).await
    }

    fn diff(&self, observed: Option<&R::State>) -> Delta {
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
