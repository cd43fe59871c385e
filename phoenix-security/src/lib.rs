//! Phoenix provider: AppArmor profiles and Docker-in-LXC confinement.
//!
//! Until its resources land, the provider claims its config keys as known but not yet managed,
//! so the upstream configs load with one note per key instead of an error.

use phoenix_core::config::{Claim, Section};
use phoenix_core::{DecodeCx, Kind, Provider};

const NOT_YET: &str =
    "the admin user, AppArmor and Docker-in-LXC are not managed yet (phoenix-security)";

/// The security provider.
#[derive(Debug, Default, Clone, Copy)]
pub struct SecurityProvider;

/// The security provider, for `Registry::builder().provider(...)`.
pub fn provider() -> SecurityProvider {
    SecurityProvider
}

impl Provider for SecurityProvider {
    fn name(&self) -> &str {
        "security"
    }

    fn kinds(&self) -> Vec<Kind> {
        Vec::new()
    }

    fn claims(&self) -> Vec<Claim> {
        vec![
            Claim::known("users", NOT_YET),
            Claim::known("docker", NOT_YET),
        ]
    }

    fn decode(&self, _sections: &[Section<'_>], _cx: &mut DecodeCx<'_>) {}
}
