//! Phoenix provider: the admin user, AppArmor profiles and Docker-in-LXC confinement.
//!
//! The admin user (`users`) is managed (`admin`). AppArmor (`apparmor`): the profiles that
//! containers name in `apparmor_profile` are installed and loaded when Phoenix ships them, and
//! checked to be loaded otherwise. Keys whose resources have not landed yet are claimed as known
//! but not managed, so the upstream configs load with one note per key instead of an error.

pub mod admin;
pub mod apparmor;
pub mod docker;

use phoenix_core::config::{Claim, Section};
use phoenix_core::{DecodeCx, Kind, Provider};

const NOT_YET: &str = "upstream's docker keys (Portainer images) are not read: Docker is the per-container docker feature (phoenix-security)";

/// The provider's name.
pub const NAME: &str = "security";

/// The security provider.
#[derive(Debug, Default, Clone, Copy)]
pub struct SecurityProvider;

/// The security provider, for `Registry::builder().provider(...)`.
pub fn provider() -> SecurityProvider {
    SecurityProvider
}

impl Provider for SecurityProvider {
    fn name(&self) -> &str {
        NAME
    }

    fn guest_features(&self) -> Vec<String> {
        vec![docker::FEATURE.to_owned()]
    }

    fn kinds(&self) -> Vec<Kind> {
        let mut kinds = vec![Kind::from_static(apparmor::profile::KIND)];
        kinds.extend(admin::kinds());
        kinds.push(Kind::from_static(docker::engine::KIND));
        kinds.push(Kind::from_static(docker::nvidia::KIND));
        kinds.push(Kind::from_static(docker::gpu_check::KIND));
        kinds
    }

    fn claims(&self) -> Vec<Claim> {
        let mut claims = admin::claims();
        claims.push(Claim::known("docker", NOT_YET));
        claims.push(Claim::part("lxc_configs", "*.gpu_check_image"));
        claims
    }

    /// The admin user decodes `users`; AppArmor reads the containers' `apparmor_profile`
    /// (phoenix-lxc's `lxc_configs`) through the whole config and claims no key of its own.
    fn decode(&self, sections: &[Section<'_>], cx: &mut DecodeCx<'_>) {
        admin::decode(sections, cx);
        apparmor::config::decode(cx);
        docker::decode(cx);
    }

    #[cfg(feature = "sim")]
    fn emulators(&self) -> Vec<std::sync::Arc<dyn phoenix_core::sim::Emulator>> {
        vec![
            std::sync::Arc::new(apparmor::sim::AppArmorEmulator),
            std::sync::Arc::new(admin::sim::VisudoEmulator),
            std::sync::Arc::new(admin::sim::PveumEmulator),
            std::sync::Arc::new(docker::sim::DockerEmulator),
        ]
    }
}
