//! Phoenix provider: NFS exports, Samba shares, firewall and the Nginx gateway.
//!
//! The Proxmox firewall ([`firewall`]), Samba shares ([`samba`]), NFS exports ([`nfs`]), the
//! host network's drift report (`network.interfaces`) and the Nginx API gateway ([`gateway`])
//! are managed.

pub mod firewall;
pub mod gateway;
mod network;
pub mod nfs;

use phoenix_core::config::{Claim, Section};
use phoenix_core::{DecodeCx, Kind, Provider};

pub mod samba;

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
            Kind::from_static(nfs::PATH_KIND),
            Kind::from_static(nfs::TABLE_KIND),
            Kind::from_static(network::KIND),
        ];
        kinds.extend(samba::KINDS.iter().map(|k| Kind::from_static(k)));
        kinds.extend(gateway::KINDS.iter().map(|k| Kind::from_static(k)));
        kinds
    }

    fn claims(&self) -> Vec<Claim> {
        vec![
            Claim::managed("nfs"),
            Claim::managed("samba"),
            Claim::managed("network"),
            Claim::managed("firewall"),
            Claim::managed("gateway"),
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
        nfs::decode(sections, cx);
        network::decode(sections, cx);
        gateway::decode(sections, cx);
    }

    #[cfg(feature = "sim")]
    fn emulators(&self) -> Vec<std::sync::Arc<dyn phoenix_core::sim::Emulator>> {
        vec![
            std::sync::Arc::new(samba::SambaEmulator),
            std::sync::Arc::new(firewall::PveFirewallEmulator),
            std::sync::Arc::new(nfs::sim::ExportfsEmulator),
            std::sync::Arc::new(gateway::sim_tls::UpdateCaCertificatesEmulator),
            std::sync::Arc::new(gateway::sim::NginxEmulator),
        ]
    }
}
