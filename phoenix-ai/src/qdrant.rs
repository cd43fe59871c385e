//! Qdrant in a container (`features: ["qdrant"]`): the pinned release installed into its own
//! versioned directory, the `qdrant` user, `config.yaml` with storage and snapshots on the
//! container's data volume, the API key from a root-only file on the node, the unit and the
//! service, which restarts only when one of its three files changed.
//!
//! Data is never lost: the storage path must be the mount point of one of the container's
//! volumes (phoenix-services refuses the config otherwise), moving it is a change that destroys
//! data (refused without `--allow-destroy`), and a version change first takes a ZFS snapshot of
//! the data volume, named in the plan (`upgrade`). phoenix-lxc never re-creates a volume.

pub mod api_key;
pub mod files;
pub mod upgrade;

use phoenix_core::config::ConfigSet;
use phoenix_core::directory::Directory;
use phoenix_core::feature::part;
use phoenix_core::file::File;
use phoenix_core::package::Package;
use phoenix_core::scope::Scope;
use phoenix_core::service::{OnChange, Service};
use phoenix_core::user::User;
use phoenix_core::{DecodeCx, Resource};
pub use phoenix_services::qdrant::FEATURE;
use phoenix_services::qdrant::Qdrant;

use crate::install::Release;
use crate::unit_file::UnitFile;

/// Reports the problems of the config's Qdrant servers and, when the feature is `enabled`,
/// adds the resources of each.
pub(crate) fn decode_all(cx: &mut DecodeCx<'_>, enabled: bool) {
    let config = cx.config();
    let guests = phoenix_services::guests(config);
    let servers = phoenix_services::qdrant::servers(config);
    crate::report(servers.problems, cx);
    if !enabled {
        return;
    }
    let node = match cx.scope("node") {
        Ok(node) => node,
        Err(err) => {
            cx.report(phoenix_core::Diagnostic::error(err.to_string()));
            return;
        }
    };
    for (vmid, server) in &servers.servers {
        let (Some(guest), Ok(scope)) = (guests.get(vmid), cx.scope(&format!("ct:{vmid}"))) else {
            continue;
        };
        decode(server, &node, &scope, &guest.features, cx);
    }
}

/// The API key file on the node of container `vmid`'s Qdrant (`qdrant.api_key_file`), if any.
pub(crate) fn api_key_file_of(config: &ConfigSet, vmid: u32) -> Option<String> {
    phoenix_services::qdrant::servers(config)
        .servers
        .get(&vmid)
        .and_then(|server| server.api_key_file.clone())
}

/// Adds the resources of `server` in `scope` (container `server.endpoint.vmid`), part of the
/// `qdrant` feature of a guest whose feature list is `features`.
pub(crate) fn decode(
    server: &Qdrant,
    node: &Scope,
    scope: &Scope,
    features: &[String],
    cx: &mut DecodeCx<'_>,
) {
    let at = || server.location.clone();
    let curl = Package::new(scope, "curl");
    let curl_id = Resource::id(&curl);
    cx.add_at(part(curl, scope, features, FEATURE), at());
    let user = User::new(scope, files::USER)
        .home(files::HOME)
        .create_home(true)
        .shell("/bin/false");
    let user_id = Resource::id(&user);
    cx.add_at(part(user, scope, features, FEATURE), at());
    let owner = format!("{}:{}", files::USER, files::USER);
    for dir in [&server.storage_path, &server.snapshots_path] {
        let directory = Directory::new(scope, dir.as_str())
            .mode(0o750)
            .owner(owner.as_str())
            .depends_on(user_id.clone());
        cx.add_at(part(directory, scope, features, FEATURE), at());
    }
    let config_dir = Directory::new(scope, files::CONFIG_DIR)
        .mode(0o755)
        .owner("root:root");
    cx.add_at(part(config_dir, scope, features, FEATURE), at());
    let release = Release {
        name: "qdrant-install",
        url: files::release_url(&server.version),
        sha256: server.sha256.clone(),
        dir: format!("{}/{}", files::INSTALL_ROOT, server.version),
        creates: files::binary(&server.version),
    };
    let install = release.exec(scope).depends_on(curl_id);
    let install_id = Resource::id(&install);
    cx.add_at(part(install, scope, features, FEATURE), at());
    let guard = upgrade::StorageGuard::new(scope, &server.storage_path);
    let guard_id = Resource::id(&guard);
    cx.add_at(part(guard, scope, features, FEATURE), at());
    let config = File::new(files::CONFIG_PATH, files::config_yaml(server))
        .mode(0o644)
        .owner("root:root")
        .in_scope(scope)
        .depends_on(guard_id);
    let config_id = Resource::id(&config);
    cx.add_at(part(config, scope, features, FEATURE), at());
    let snapshot = upgrade::UpgradeSnapshot::new(
        node,
        scope,
        server.endpoint.vmid,
        &server.version,
        &server.storage_path,
    );
    let snapshot_id = Resource::id(&snapshot);
    cx.add_at(part(snapshot, scope, features, FEATURE), at());
    let unit = UnitFile::new(scope, files::UNIT, files::unit_text(server))
        .depends_on(install_id)
        .depends_on(user_id)
        .depends_on(snapshot_id);
    let unit_id = Resource::id(&unit);
    cx.add_at(part(unit, scope, features, FEATURE), at());
    let mut service = Service::new(scope, files::UNIT)
        .file(unit_id)
        .file(config_id)
        .on_change(OnChange::Restart);
    if let Some(key_file) = &server.api_key_file {
        let key = api_key::ApiKey::new(node, scope, key_file);
        service = service.file(Resource::id(&key));
        cx.add_at(part(key, scope, features, FEATURE), at());
    }
    cx.add_at(part(service, scope, features, FEATURE), at());
}
