//! Phoenix provider: NFS exports, Samba shares, firewall and the Nginx gateway.
//!
//! Until its resources land, the provider claims its config keys as known but not yet managed,
//! so the upstream configs load with one note per key instead of an error.

use phoenix_core::config::{Claim, Section};
use phoenix_core::{DecodeCx, Kind, Provider};

const NOT_YET: &str = "NFS, Samba, host network and firewall are not managed yet (phoenix-net)";

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
        Vec::new()
    }

    fn claims(&self) -> Vec<Claim> {
        vec![
            Claim::known("nfs", NOT_YET),
            Claim::known("samba", NOT_YET),
            Claim::known("network", NOT_YET),
            Claim::known("firewall", NOT_YET),
        ]
    }

    fn decode(&self, _sections: &[Section<'_>], _cx: &mut DecodeCx<'_>) {}
}
