//! The Proxmox VE firewall: the cluster-wide settings in `/etc/pve/firewall/cluster.fw`
//! (`pve.firewall.cluster`) and each container's `/etc/pve/firewall/<vmid>.fw`
//! (`pve.firewall.guest`), from the config's `firewall` (or upstream's
//! `shared_volumes.firewall`) and `lxc_configs.<id>.firewall`.
//!
//! The file format is phoenix-pve's (`phoenix_pve::firewall`), shared with the `pve-firewall`
//! emulator. Rules are checked at config time with pve-firewall's own checks; at plan time
//! `pve-firewall compile` runs inside the node's one probe (a query, no command of its own) and
//! the lock-out guard refuses an input policy that would cut the operator off. pve-firewall
//! rereads its files by itself: nothing is restarted or reloaded.
//!
//! A container's `net0` gets `firewall=1` from phoenix-lxc, which owns `net0` and reads the same
//! `enabled` key (each provider claims its part of `lxc_configs.<id>.firewall`).

mod cluster;
mod compile;
mod config;
mod guest;
mod lockout;
mod rules;
#[cfg(feature = "sim")]
mod sim;

use std::collections::BTreeSet;

use phoenix_core::config::Section;
use phoenix_core::{DecodeCx, Diagnostic};

pub use guest::guest_capability;
#[cfg(feature = "sim")]
pub use sim::PveFirewallEmulator;

/// The kind of the cluster-wide settings (cluster.fw's `[OPTIONS]`, and `[RULES]` when given).
pub const CLUSTER_KIND: &str = "pve.firewall.cluster";

/// The kind of a container's firewall file.
pub const GUEST_KIND: &str = "pve.firewall.guest";

/// The cluster-wide firewall file.
pub const CLUSTER_FW: &str = "/etc/pve/firewall/cluster.fw";

/// The only mode pmxcfs gives a file outside `/etc/pve/priv`.
pub const PVE_MODE: u32 = 0o640;

/// The only owner pmxcfs gives a file.
pub const PVE_OWNER: &str = "root:www-data";

/// A guest's firewall file.
pub fn guest_fw_path(vmid: u32) -> String {
    format!("/etc/pve/firewall/{vmid}.fw")
}

/// Decodes the firewall keys into resources on the node.
pub(crate) fn decode(sections: &[Section<'_>], cx: &mut DecodeCx<'_>) {
    let decoded = config::decode(sections, cx);
    if decoded.cluster.is_none() && decoded.guests.is_empty() {
        return;
    }
    let scope = match cx.scope("node") {
        Ok(scope) => scope,
        Err(err) => {
            cx.report(Diagnostic::error(format!("firewall: {err}")));
            return;
        }
    };
    let guests: BTreeSet<u32> = decoded.guests.iter().map(|(spec, _)| spec.vmid).collect();
    for (spec, origin) in &decoded.guests {
        cx.add_at(guest::GuestFirewall::new(spec, &scope), origin.clone());
    }
    if let Some((spec, origin)) = decoded.cluster {
        cx.add_at(cluster::ClusterFirewall::new(spec, scope, guests), origin);
    }
}
