//! Phoenix provider: NVIDIA driver and GPU passthrough.
//!
//! Until its resources land, the provider claims its config keys as known but not yet managed,
//! so the upstream configs load with one note per key instead of an error.

use phoenix_core::config::{Claim, Section};
use phoenix_core::{DecodeCx, Kind, Provider};

const NOT_YET: &str = "the NVIDIA driver and GPU passthrough are not managed yet (phoenix-gpu)";

/// The gpu provider.
#[derive(Debug, Default, Clone, Copy)]
pub struct GpuProvider;

/// The gpu provider, for `Registry::builder().provider(...)`.
pub fn provider() -> GpuProvider {
    GpuProvider
}

impl Provider for GpuProvider {
    fn name(&self) -> &str {
        "gpu"
    }

    fn kinds(&self) -> Vec<Kind> {
        Vec::new()
    }

    fn claims(&self) -> Vec<Claim> {
        vec![
            Claim::known("nvidia_driver", NOT_YET),
            Claim::known("nvidia_driver_version", NOT_YET),
            Claim::known("nvidia_repo_url", NOT_YET),
            Claim::known("nvidia_runfile_url", NOT_YET),
        ]
    }

    fn decode(&self, _sections: &[Section<'_>], _cx: &mut DecodeCx<'_>) {}
}
