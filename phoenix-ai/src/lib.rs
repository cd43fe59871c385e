//! Phoenix provider: the AI services of the lab, run in containers: vLLM, Ollama and Qdrant
//! (the in-container features `vllm`, `ollama` and `qdrant`), with their health checks.
//!
//! Each service is composed of phoenix-core's scoped primitives (packages, files validated before
//! they go live, services that restart only when their own files changed, guarded installers) in
//! the container's scope, after the features listed before it (`phoenix_core::feature`). What a
//! service is configured to be is read from the config by the format crate `phoenix-services`,
//! which phoenix-net's gateway reads too.
//!
//! After a service's resources, its health check (`health::Check`, kind `ai.health`) asks it
//! from the node; the embedding round trip (`roundtrip`, kind `ai.round_trip`) follows the
//! checks of its two services. `status` is `phoenix status`'s table of services.

mod checks;
pub mod config;
pub mod endpoint;
pub mod error;
#[cfg(feature = "sim")]
pub mod guest_install;
#[cfg(feature = "sim")]
pub mod guest_stand_in;
pub mod health;
pub mod http;
mod install;
pub mod ollama;
pub mod qdrant;
pub mod roundtrip;
#[cfg(feature = "sim")]
pub mod sim;
pub mod stand_in;
pub mod status;
#[cfg(test)]
mod testing;
mod unit_file;
pub mod vllm;

use phoenix_core::config::{Claim, ConfigSet, Section};
use phoenix_core::{DecodeCx, Diagnostic, Kind, Provider};
use phoenix_services::Problem;

pub use error::{Error, Result};
pub use install::INSTALL_SCRIPT;

/// The AI services provider.
#[derive(Debug, Default, Clone)]
pub struct AiProvider {
    /// Features whose services are health-checked even though this provider does not set them
    /// up (set up by hand, or by tests).
    checked: Vec<String>,
}

/// The AI services provider, for `Registry::builder().provider(...)`.
pub fn provider() -> AiProvider {
    AiProvider::default()
}

/// Reports the problems of a service reader as diagnostics.
fn report(problems: Vec<Problem>, cx: &mut DecodeCx<'_>) {
    for problem in problems {
        cx.report(Diagnostic::new(problem.severity, problem.message).at(problem.location));
    }
}

impl AiProvider {
    /// Also checks the services of `features` (`vllm`, `ollama`, `qdrant`) where containers have
    /// them, for services that are there without this provider setting them up: a feature named
    /// here is not set up by this provider (its keys are still checked).
    pub fn checking<S: AsRef<str>>(mut self, features: impl IntoIterator<Item = S>) -> AiProvider {
        self.checked
            .extend(features.into_iter().map(|f| f.as_ref().to_owned()));
        self
    }

    /// Whether this provider sets up `feature`'s service: one it implements and was not asked
    /// only to check.
    fn sets_up(&self, feature: &str) -> bool {
        self.guest_features().iter().any(|f| f == feature)
            && !self.checked.iter().any(|f| f == feature)
    }

    /// The features whose services get a health check: those this provider sets up, and those
    /// it was asked to check.
    fn checked_features(&self) -> Vec<String> {
        let mut features = self.guest_features();
        features.extend(self.checked.iter().cloned());
        features
    }
}

/// The round trip `phoenix round-trip` runs for `config` (which must have passed decode), or why
/// there is none.
pub fn round_trip_of(config: &ConfigSet) -> Result<roundtrip::RoundTrip, String> {
    let spec = config::round_trip_spec(config)
        .ok_or_else(|| format!("the config has no {} key", config::ROUND_TRIP_KEY))?;
    let guests = phoenix_services::guests(config);
    let endpoint = |vmid: u32, service: endpoint::Service| {
        guests
            .get(&vmid)
            .and_then(|g| endpoint::Endpoint::of(g, service))
            .ok_or_else(|| format!("container {vmid} has no {service} endpoint"))
    };
    Ok(roundtrip::RoundTrip::new(
        &spec,
        endpoint(spec.embedding_container, endpoint::Service::Vllm)?,
        endpoint(spec.qdrant_container, endpoint::Service::Qdrant)?,
    )
    .with_api_key_file(qdrant::api_key_file_of(config, spec.qdrant_container)))
}

impl Provider for AiProvider {
    fn name(&self) -> &str {
        "ai"
    }

    fn kinds(&self) -> Vec<Kind> {
        vec![
            Kind::from_static(ollama::models::KIND),
            Kind::from_static(qdrant::upgrade::SNAPSHOT_KIND),
            Kind::from_static(qdrant::upgrade::STORAGE_KIND),
            Kind::from_static(health::KIND),
            Kind::from_static(roundtrip::KIND),
            Kind::from_static(vllm::token::KIND),
        ]
    }

    fn claims(&self) -> Vec<Claim> {
        let mut claims: Vec<Claim> = phoenix_services::vllm::KEYS
            .iter()
            .chain(&[
                phoenix_services::ollama::FEATURE,
                phoenix_services::qdrant::FEATURE,
            ])
            .chain(config::PART_KEYS)
            .map(|key| Claim::part("lxc_configs", format!("*.{key}")))
            .collect();
        claims.push(Claim::managed(config::ROUND_TRIP_KEY));
        claims
    }

    fn guest_features(&self) -> Vec<String> {
        vec![
            phoenix_services::vllm::FEATURE.to_owned(),
            ollama::FEATURE.to_owned(),
            qdrant::FEATURE.to_owned(),
        ]
    }

    /// The node's `curl` (requests to the services' stand-ins), and inside simulated containers
    /// `ollama` and `curl` (`guest_stand_in`), `python3 -m venv`, `pip install vllm==X` and the
    /// vLLM server a unit starts (`sim::PythonEmulator`).
    #[cfg(feature = "sim")]
    fn emulators(&self) -> Vec<std::sync::Arc<dyn phoenix_core::sim::Emulator>> {
        vec![
            std::sync::Arc::new(sim::CurlEmulator),
            std::sync::Arc::new(guest_stand_in::AiStandIns),
            std::sync::Arc::new(sim::PythonEmulator),
        ]
    }

    fn decode(&self, sections: &[Section<'_>], cx: &mut DecodeCx<'_>) {
        vllm::decode(sections, cx, self.sets_up(phoenix_services::vllm::FEATURE));
        ollama::decode_all(cx, self.sets_up(ollama::FEATURE));
        qdrant::decode_all(cx, self.sets_up(qdrant::FEATURE));
        checks::decode_all(sections, cx, &self.checked_features());
    }
}
