//! Taking a removed container out of the gateway before it is destroyed.
//!
//! A container the config marks `"ensure": "absent"` is no server of any upstream, so the
//! generated `nginx.conf` no longer lists it; but nginx must have reloaded that file before the
//! container goes away, or requests keep going to a dying replica. phoenix-lxc's deletion of a
//! container requires the capability [`released`] of its guest (data, not a crate
//! dependency: providers never depend on each other), and [`Releases`] gives it to the
//! resource that reloads nginx, so the engine orders the reload before the destroy.

use phoenix_core::config::ConfigSet;
use phoenix_core::feature::Part;
use phoenix_core::resource::{Capability, Resource};
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

/// `inner`, which also provides [`released`] for `vmids` (core's capability wrapper).
pub type Releases<R> = Part<R>;

/// Wraps `inner` so that it provides [`released`] for `vmids`.
pub fn releases<R: Resource>(inner: R, vmids: &[u32]) -> Releases<R> {
    Part::new(
        inner,
        vmids.iter().map(|vmid| released(*vmid)).collect(),
        Vec::new(),
    )
}
