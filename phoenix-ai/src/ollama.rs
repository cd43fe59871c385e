//! Ollama in a container (`features: ["ollama"]`): the pinned release installed once into its
//! own versioned directory, the `ollama` user (in `render` and `video`, as Ollama's install
//! script makes it), the unit with `OLLAMA_HOST` and `OLLAMA_MODELS` (the bind-mounted models
//! directory), the service, and the configured models pulled only when `/api/tags` lacks them.
//!
//! A no-op run costs the container's one probe: the binary's path, the unit file, the user and
//! groups, the unit's state and `/api/tags` are all read by it. A changed version installs the
//! new release beside the old, rewrites the unit, reloads systemd and restarts Ollama once; a
//! changed model list pulls only the new models and restarts nothing.

pub mod models;
pub mod unit;

use phoenix_core::feature::part;
use phoenix_core::group::Group;
use phoenix_core::package::Package;
use phoenix_core::scope::Scope;
use phoenix_core::service::Service;
use phoenix_core::user::User;
use phoenix_core::{DecodeCx, Resource};
pub use phoenix_services::ollama::FEATURE;
use phoenix_services::ollama::Ollama;

use crate::install::Release;
use crate::unit_file::UnitFile;

/// Reports the problems of the config's Ollama servers and, when the feature is `enabled`,
/// adds the resources of each.
pub(crate) fn decode_all(cx: &mut DecodeCx<'_>, enabled: bool) {
    let config = cx.config();
    let guests = phoenix_services::guests(config);
    let servers = phoenix_services::ollama::servers(config);
    crate::report(servers.problems, cx);
    if !enabled {
        return;
    }
    for (vmid, server) in &servers.servers {
        let (Some(guest), Ok(scope)) = (guests.get(vmid), cx.scope(&format!("ct:{vmid}"))) else {
            continue;
        };
        decode(server, &scope, &guest.features, cx);
    }
}

/// Adds the resources of `server` in `scope`, part of the `ollama` feature of a guest whose
/// feature list is `features`.
pub(crate) fn decode(server: &Ollama, scope: &Scope, features: &[String], cx: &mut DecodeCx<'_>) {
    let at = || server.location.clone();
    // Packages the installer needs: curl for the download, zstd for tar to unpack .tar.zst.
    let curl = Package::new(scope, "curl");
    let zstd = Package::new(scope, "zstd");
    let packages = [Resource::id(&curl), Resource::id(&zstd)];
    cx.add_at(part(curl, scope, features, FEATURE), at());
    cx.add_at(part(zstd, scope, features, FEATURE), at());
    for group in ["render", "video"] {
        cx.add_at(
            part(
                Group::new(scope, group).system(true),
                scope,
                features,
                FEATURE,
            ),
            at(),
        );
    }
    let user = User::new(scope, unit::USER)
        .home(unit::HOME)
        .create_home(true)
        .shell("/bin/false")
        .group("render")
        .group("video");
    let user_id = Resource::id(&user);
    cx.add_at(part(user, scope, features, FEATURE), at());
    let release = Release {
        name: "ollama-install",
        url: unit::release_url(&server.version),
        sha256: server.sha256.clone(),
        dir: format!("{}/{}", unit::INSTALL_ROOT, server.version),
        creates: unit::binary(&server.version),
    };
    let mut install = release.exec(scope);
    for id in &packages {
        install = install.depends_on(id.clone());
    }
    let install_id = Resource::id(&install);
    cx.add_at(part(install, scope, features, FEATURE), at());
    let unit_file = UnitFile::new(scope, unit::UNIT, unit::unit_text(server))
        .depends_on(install_id)
        .depends_on(user_id);
    let unit_id = Resource::id(&unit_file);
    cx.add_at(part(unit_file, scope, features, FEATURE), at());
    let service = Service::new(scope, unit::UNIT)
        .file(unit_id)
        .on_change(phoenix_core::service::OnChange::Restart);
    let service_id = Resource::id(&service);
    cx.add_at(part(service, scope, features, FEATURE), at());
    if !server.models.is_empty() {
        let models = models::Models::new(
            scope,
            server.endpoint.port,
            &server.version,
            server.models.clone(),
        )
        .depends_on(service_id);
        cx.add_at(part(models, scope, features, FEATURE), at());
    }
}
