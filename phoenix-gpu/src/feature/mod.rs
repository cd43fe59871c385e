//! The in-container `nvidia` feature: the user-space NVIDIA driver of exactly the host's loaded
//! version, without a kernel module (`userspace::Userspace`, kind `gpu.userspace`), in every
//! container whose effective features (its own and its clone ancestors') list `nvidia`.
//!
//! The container's own `nvidia-smi` is a query of the container's one probe, so a converged
//! container (a clone included, whose files came with its parent's snapshot) costs no command
//! of its own; the host's driver comes from the node's probe (`crate::host`).
//!
//! With `nvidia_driver.cuda_version`, each such container also gets the CUDA toolkit of that
//! version (`cuda::Toolkit`, kind `gpu.cuda`), after its user-space driver.

pub mod cuda;
#[cfg(feature = "sim")]
pub mod sim;
pub mod userspace;

use phoenix_core::DecodeCx;
use phoenix_core::feature::part;

use crate::config::{Assignment, CudaSpec, DriverSpec};

/// The feature's name in a container's `features`.
pub const FEATURE: &str = "nvidia";

/// Places the feature's resources in every container that has it.
pub fn decode(
    cx: &mut DecodeCx<'_>,
    driver: Option<&DriverSpec>,
    cuda: Option<&CudaSpec>,
    assignments: &[Assignment],
) {
    if cx.guest_feature_provider(FEATURE) != Some(crate::NAME) {
        return;
    }
    let guests = phoenix_services::guests(cx.config());
    let node = match cx.scope("node") {
        Ok(node) => node,
        Err(_) => return, // The provider's decode reports it.
    };
    for guest in guests.values().filter(|guest| guest.has(FEATURE)) {
        let scope = match cx.scope(&format!("ct:{}", guest.vmid)) {
            Ok(scope) => scope,
            Err(err) => {
                cx.report(phoenix_core::Diagnostic::error(err.to_string()));
                continue;
            }
        };
        let gpus = assignments
            .iter()
            .find(|assignment| assignment.vmid == guest.vmid)
            .map(|assignment| assignment.gpus.clone())
            .unwrap_or_default();
        let userspace = userspace::Userspace::new(
            &node,
            &scope,
            guest.vmid,
            gpus,
            driver.map(|spec| (spec.version.clone(), spec.runfile_url.clone())),
        );
        let userspace_id = phoenix_core::Resource::id(&userspace);
        cx.add_at(
            part(userspace, &scope, &guest.features, FEATURE),
            guest.location.clone(),
        );
        if let Some(cuda) = cuda {
            let toolkit =
                cuda::Toolkit::new(&scope, guest.vmid, cuda.clone()).depends_on(userspace_id);
            cx.add_at(
                part(toolkit, &scope, &guest.features, FEATURE),
                guest.location.clone(),
            );
        }
    }
}
