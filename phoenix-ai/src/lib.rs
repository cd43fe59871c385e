//! Phoenix provider: the AI services of the lab, run in containers: vLLM, Ollama and Qdrant
//! (the in-container features `vllm`, `ollama` and `qdrant`), with their health checks.
//!
//! Each service is composed of phoenix-core's scoped primitives (packages, files validated before
//! they go live, services that restart only when their own files changed, guarded installers) in
//! the container's scope, after the features listed before it (`phoenix_core::feature`). What a
//! service is configured to be is read from the config by the format crate `phoenix-services`,
//! which phoenix-net's gateway reads too.

mod install;
pub mod ollama;
pub mod qdrant;
#[cfg(test)]
mod testing;
mod unit_file;
mod vllm;

use phoenix_core::config::{Claim, Section};
use phoenix_core::{DecodeCx, Diagnostic, Kind, Provider};
use phoenix_services::Problem;

pub use install::INSTALL_SCRIPT;

/// The AI services provider.
#[derive(Debug, Default, Clone, Copy)]
pub struct AiProvider;

/// The AI services provider, for `Registry::builder().provider(...)`.
pub fn provider() -> AiProvider {
    AiProvider
}

/// Reports the problems of a service reader as diagnostics.
fn report(problems: Vec<Problem>, cx: &mut DecodeCx<'_>) {
    for problem in problems {
        cx.report(Diagnostic::new(problem.severity, problem.message).at(problem.location));
    }
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
        ]
    }

    fn claims(&self) -> Vec<Claim> {
        phoenix_services::vllm::KEYS
            .iter()
            .chain(&[
                phoenix_services::ollama::FEATURE,
                phoenix_services::qdrant::FEATURE,
            ])
            .map(|key| Claim::part("lxc_configs", format!("*.{key}")))
            .collect()
    }

    fn guest_features(&self) -> Vec<String> {
        Vec::new()
    }

    fn decode(&self, sections: &[Section<'_>], cx: &mut DecodeCx<'_>) {
        vllm::decode(sections, cx);
        let features = self.guest_features();
        ollama::decode_all(cx, features.iter().any(|f| f == ollama::FEATURE));
        qdrant::decode_all(cx, features.iter().any(|f| f == qdrant::FEATURE));
    }
}
