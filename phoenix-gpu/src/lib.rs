//! Phoenix provider: the NVIDIA host driver and GPU passthrough (host side).
//!
//! Kinds: `gpu.driver` (the kernel driver: installed and loaded version against the config, a
//! guarded runfile install with DKMS that needs a reboot Phoenix never does, cross-layer drift)
//! and `gpu.assignment` (a container's `gpu_assignment` against the GPUs `nvidia-smi` lists);
//! and `gpu.devices` (the oneshot unit that creates the device nodes before guests start, its
//! start deferred while the driver waits for a reboot); plus core primitives: the `nouveau`
//! blacklist and the unit's file (`file`).
//!
//! Inside containers, the `nvidia` feature (`feature`): kind `gpu.userspace`, the user-space
//! driver of exactly the host's version, and `gpu.cuda`, the CUDA toolkit the config names.
//!
//! Everything is inspected through queries of the node's one probe (`host`) and of each
//! container's, so a no-op plan runs no command of this provider's own.

pub mod assignment;
pub mod config;
pub mod driver;
pub mod feature;
pub mod host;
pub mod parse;
#[cfg(feature = "sim")]
pub mod sim;
pub mod units;

use phoenix_core::config::{Claim, Section};
use phoenix_core::{DecodeCx, Diagnostic, Kind, Provider};

/// The provider's name.
pub const NAME: &str = "gpu";

/// The gpu provider.
#[derive(Debug, Default, Clone, Copy)]
pub struct GpuProvider;

/// The gpu provider, for `Registry::builder().provider(...)`.
pub fn provider() -> GpuProvider {
    GpuProvider
}

impl Provider for GpuProvider {
    fn name(&self) -> &str {
        NAME
    }

    fn guest_features(&self) -> Vec<String> {
        vec![feature::FEATURE.to_owned()]
    }

    fn kinds(&self) -> Vec<Kind> {
        vec![
            Kind::from_static(driver::KIND),
            Kind::from_static(assignment::KIND),
            Kind::from_static(units::DEVICES_KIND),
            Kind::from_static(feature::userspace::KIND),
            Kind::from_static(feature::cuda::KIND),
        ]
    }

    fn claims(&self) -> Vec<Claim> {
        vec![
            Claim::managed("nvidia_driver"),
            Claim::managed("nvidia_driver_version"),
            Claim::managed("nvidia_runfile_url"),
            Claim::managed("nvidia_repo_url"),
            Claim::part("lxc_configs", "*.gpu_assignment"),
        ]
    }

    /// The emulators of `nvidia-smi` and `modinfo` on the node, and of the runfile and
    /// `nvidia-smi` in containers.
    #[cfg(feature = "sim")]
    fn emulators(&self) -> Vec<std::sync::Arc<dyn phoenix_core::sim::Emulator>> {
        vec![
            std::sync::Arc::new(sim::NvidiaEmulator),
            std::sync::Arc::new(feature::sim::NvidiaGuestEmulator),
        ]
    }

    fn decode(&self, sections: &[Section<'_>], cx: &mut DecodeCx<'_>) {
        let spec = config::decode(sections, cx);
        let installed_by_phoenix = spec.driver.as_ref().filter(|driver| driver.install);
        feature::decode(
            cx,
            installed_by_phoenix,
            spec.cuda.as_ref(),
            &spec.assignments,
        );
        if spec.driver.is_none() && spec.assignments.is_empty() {
            return;
        }
        let node = match cx.scope("node") {
            Ok(node) => node,
            Err(err) => {
                cx.report(Diagnostic::error(err.to_string()));
                return;
            }
        };
        let containers: Vec<u32> = spec.assignments.iter().map(|a| a.vmid).collect();
        let mut driver_id = None;
        if let Some(driver_spec) = spec.driver {
            let at = driver_spec.at.clone();
            let install = driver_spec.install;
            let mut driver = driver::Driver::new(&node, driver_spec, containers);
            if install {
                // The runfile refuses to install while nouveau is in use: the blacklist first.
                driver = driver.depends_on(phoenix_core::file::File::id_in(
                    &node,
                    std::path::Path::new(units::BLACKLIST_PATH),
                ));
                for resource in units::node_files(&node) {
                    cx.add_boxed(resource);
                }
            }
            cx.add_at(driver, at);
            driver_id = Some(driver::Driver::id_for());
        }
        for assignment in spec.assignments {
            let at = assignment.at.clone();
            cx.add_at(
                assignment::AssignmentCheck::new(&node, assignment, driver_id.clone()),
                at,
            );
        }
    }
}
