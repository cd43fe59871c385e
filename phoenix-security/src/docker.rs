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
#[cfg(feature = "sim")]
pub mod sim;

use phoenix_core::DecodeCx;
use phoenix_core::feature::part;
use phoenix_core::package::Package;

/// The feature's name in a container's `features`.
pub const FEATURE: &str = "docker";

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
        cx.add_at(
            part(engine, &scope, &guest.features, FEATURE),
            guest.location.clone(),
        );
    }
}
