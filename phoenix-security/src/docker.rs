//! The in-container `docker` feature (Docker-in-LXC): Docker Engine from Ubuntu's `docker.io`
//! package in every container whose effective features list `docker`, with the storage driver
//! the host's OpenZFS supports and checks of what is known to break.
//!
//! `docker.io` rather than Docker's `docker-ce`: it comes from the archive the container
//! already uses (no third-party repository or key in every container), and Ubuntu's security
//! updates patch it and its `runc` and `containerd` in place, which is what an unattended lab
//! wants; the feature needs nothing `docker-ce` adds.
//!
//! - `config`: the container must have `nesting=1` and `keyctl=1` in `pct_options` (an error at
//!   that JSON path naming the container otherwise).
//! - `engine::Engine` (`docker.engine`): the storage driver. On OpenZFS ≥ 2.2 (overlayfs on ZFS)
//!   Docker's default overlay2 works and `daemon.json` is left alone; on an older host ZFS,
//!   `fuse-overlayfs` is installed and pinned in `/etc/docker/daemon.json`, which needs the
//!   `lxc-phoenix-v2` AppArmor profile (it allows `/dev/fuse`). `docker info -f '{{.Driver}}'`
//!   must not be `vfs` (a copy of every layer, which fills the dataset): a plan error, and an
//!   apply error right after the install, with the reason. runc's CVE-2025-52881 fix against an
//!   LXC AppArmor profile older than LXC 6.0.6 is reported before it breaks `docker run`.

pub mod config;
pub mod engine;
pub mod gpu_check;
pub mod nvidia;
#[cfg(feature = "sim")]
pub mod sim;

use phoenix_core::DecodeCx;
use phoenix_core::feature::{self, part};
use phoenix_core::package::Package;

/// The feature's name in a container's `features`.
pub const FEATURE: &str = "docker";

/// The in-container feature whose GPUs Docker gets.
pub const GPU_FEATURE: &str = "nvidia";

/// The package of Docker Engine.
pub const PACKAGE: &str = "docker.io";

/// Places the feature's resources in every container that has it.
pub fn decode(cx: &mut DecodeCx<'_>) {
    if cx.guest_feature_provider(FEATURE) != Some(crate::NAME) {
        return;
    }
    let node = match cx.scope("node") {
        Ok(node) => node,
        Err(err) => {
            cx.report(phoenix_core::Diagnostic::error(err.to_string()));
            return;
        }
    };
    for guest in config::guests(cx) {
        let scope = match cx.scope(&format!("ct:{}", guest.vmid)) {
            Ok(scope) => scope,
            Err(err) => {
                cx.report(phoenix_core::Diagnostic::error(err.to_string()));
                continue;
            }
        };
        let package = Package::new(&scope, PACKAGE);
        let package_id = phoenix_core::Resource::id(&package);
        cx.add_at(
            part(package, &scope, &guest.features, FEATURE),
            guest.location.clone(),
        );
        let engine = engine::Engine::new(&node, &scope, guest.vmid, guest.apparmor_profile.clone())
            .depends_on(package_id);
        let engine_id = phoenix_core::Resource::id(&engine);
        cx.add_at(
            part(engine, &scope, &guest.features, FEATURE),
            guest.location.clone(),
        );
        if guest.nvidia {
            add_gpu_parts(cx, &scope, &guest, engine_id);
        }
    }
}

/// The toolkit and the smoke check of a container with `docker` and `nvidia`: after both
/// features' resources, providing neither feature's capability.
fn add_gpu_parts(
    cx: &mut DecodeCx<'_>,
    scope: &phoenix_core::Scope,
    guest: &config::DockerGuest,
    engine_id: phoenix_core::ResourceId,
) {
    let requires = || {
        let mut requires = feature::after(scope, &guest.features, FEATURE);
        for needed in [FEATURE, GPU_FEATURE] {
            let capability = feature::capability(scope, needed);
            if !requires.contains(&capability) {
                requires.push(capability);
            }
        }
        requires
    };
    let toolkit = nvidia::Toolkit::new(scope, guest.vmid).depends_on(engine_id.clone());
    let toolkit_id = phoenix_core::Resource::id(&toolkit);
    cx.add_at(
        feature::Part::new(toolkit, Vec::new(), requires()),
        guest.location.clone(),
    );
    let check = gpu_check::GpuCheck::new(
        scope,
        guest.vmid,
        guest.gpu_check_image.clone(),
        vec![engine_id, toolkit_id],
    );
    cx.add_at(
        feature::Part::new(check, Vec::new(), requires()),
        guest.location.clone(),
    );
}
