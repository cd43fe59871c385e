//! Phoenix provider: the AI services of the lab, run in containers: vLLM, Ollama and Qdrant
//! (the in-container features `vllm`, `ollama` and `qdrant`), with their health checks.
//!
//! Each service is composed of phoenix-core's scoped primitives (packages, files validated before
//! they go live, services that restart only when their own files changed, guarded installers) in
//! the container's scope, after the features listed before it (`phoenix_core::feature`). What a
//! service is configured to be is read from the config by the format crate `phoenix-services`,
//! which phoenix-net's gateway reads too.

mod vllm;

use phoenix_core::config::{Claim, Section};
use phoenix_core::{DecodeCx, Kind, Provider};

/// The AI services provider.
#[derive(Debug, Default, Clone, Copy)]
pub struct AiProvider;

/// The AI services provider, for `Registry::builder().provider(...)`.
pub fn provider() -> AiProvider {
    AiProvider
}

impl Provider for AiProvider {
    fn name(&self) -> &str {
        "ai"
    }

    fn kinds(&self) -> Vec<Kind> {
        Vec::new()
    }

    fn claims(&self) -> Vec<Claim> {
        phoenix_services::vllm::KEYS
            .iter()
            .map(|key| Claim::part("lxc_configs", format!("*.{key}")))
            .collect()
    }

    fn guest_features(&self) -> Vec<String> {
        Vec::new()
    }

    fn decode(&self, sections: &[Section<'_>], cx: &mut DecodeCx<'_>) {
        vllm::decode(sections, cx);
    }
}
