//! Phoenix provider: NFS exports, Samba shares, firewall and the Nginx gateway.
//!
//! The Proxmox firewall is managed ([`firewall`]); the keys whose resources have not landed yet
//! are claimed as known but not yet managed, so the upstream configs load with one note per key
//! instead of an error.

pub mod firewall;

use phoenix_core::config::{Claim, Section};
use phoenix_core::{DecodeCx, Kind, Provider};

pub mod samba;

const NOT_YET: &str = "NFS and host network are not managed yet (phoenix-net)";

/// The net provider.
#[derive(Debug, Default, Clone, Copy)]
pub struct NetProvider;

/// The net provider, for `Registry::builder().provider(...)`.
pub fn provider() -> NetProvider {
    NetProvider
}

impl Provider for NetProvider {
    fn name(&self) -> &str {
        "net"
    }

    fn kinds(&self) -> Vec<Kind> {
        let mut kinds = vec![
            Kind::from_static(firewall::CLUSTER_KIND),
            Kind::from_static(firewall::GUEST_KIND),
        ];
        kinds.extend(samba::KINDS.iter().map(|k| Kind::from_static(k)));
        kinds
    }

    fn claims(&self) -> Vec<Claim> {
        vec![
            Claim::known("nfs", NOT_YET),
            Claim::managed("samba"),
            Claim::known("network", NOT_YET),
            Claim::managed("firewall"),
            Claim::part("shared_volumes", "firewall"),
            Claim::part("lxc_configs", "*.firewall"),
        ]
    }

    fn decode(&self, sections: &[Section<'_>], cx: &mut DecodeCx<'_>) {
        for section in sections {
            if section.key == "samba" {
                samba::decode::decode(section, cx);
            }
        }
        firewall::decode(sections, cx);
    }

    #[cfg(feature = "sim")]
    fn emulators(&self) -> Vec<std::sync::Arc<dyn phoenix_core::sim::Emulator>> {
        vec![
            std::sync::Arc::new(samba::SambaEmulator),
            std::sync::Arc::new(firewall::PveFirewallEmulator),
        ]
    }
}
