//! The gateway as a composition of core's primitives in its container (`ct:<id>`): the packages
//! `nginx` and `libnginx-mod-http-js`, the directory of Phoenix's files, the njs router, the
//! generated `nginx.conf` (a `file` checked by `nginx -t -c` on the staged copy, so a
//! configuration nginx rejects never replaces the running one) and `nginx.service` enabled and
//! running, reloaded (never restarted) once when one of the two files changed in this run.

use std::path::Path;

use phoenix_core::config::Section;
use phoenix_core::directory::Directory;
use phoenix_core::file::File;
use phoenix_core::package::Package;
use phoenix_core::service::{OnChange, Service};
use phoenix_core::{DecodeCx, Diagnostic};

use super::config;
use super::release;
use super::secure::{self, SecurePaths};
use super::secure_build;
use super::site::{Layout, conf};
use super::{NGINX_CONF, PACKAGES, PHOENIX_DIR, SCRIPT, SCRIPT_PATH, VALIDATE};

/// Decodes the `gateway` section and adds its resources.
pub(crate) fn decode(sections: &[Section<'_>], cx: &mut DecodeCx<'_>) {
    let Some(section) = sections.iter().find(|s| s.key == "gateway") else {
        return;
    };
    let Some(declared) = config::decode(section, cx) else {
        return;
    };
    let scope = match cx.scope(&format!("ct:{}", declared.container)) {
        Ok(scope) => scope,
        Err(err) => {
            cx.report(Diagnostic::error(err.to_string()).at(declared.at));
            return;
        }
    };
    let packages: Vec<_> = PACKAGES
        .iter()
        .map(|name| Package::id_for(&scope, name))
        .collect();
    for name in PACKAGES {
        cx.add_at(Package::new(&scope, *name), declared.at.clone());
    }
    let mut directory = Directory::new(&scope, PHOENIX_DIR)
        .mode(0o755)
        .owner("root:root");
    for id in &packages {
        directory = directory.depends_on(id.clone());
    }
    let directory_id = phoenix_core::Resource::id(&directory);
    cx.add_at(directory, declared.at.clone());
    let secured = secure_build::add_before(cx, &declared, &scope, &directory_id);
    let script_id = File::id_in(&scope, Path::new(SCRIPT_PATH));
    cx.add_at(
        File::new(SCRIPT_PATH, SCRIPT)
            .mode(0o644)
            .owner("root:root")
            .in_scope(&scope)
            .depends_on(directory_id),
        declared.at.clone(),
    );
    let conf_id = File::id_in(&scope, Path::new(NGINX_CONF));
    let mut generated = conf(&declared.gateway, &Layout::debian());
    secure::apply(
        &mut generated,
        &declared.secure,
        declared.gateway.port,
        &SecurePaths::debian(),
    );
    let mut file = File::new(NGINX_CONF, generated.render())
        .mode(0o644)
        .owner("root:root")
        .in_scope(&scope)
        .validate(VALIDATE)
        // The configuration imports the router: `nginx -t` compiles it.
        .depends_on(script_id.clone());
    let mut service = Service::new(&scope, "nginx")
        .on_change(OnChange::Reload)
        .file(script_id)
        .file(conf_id.clone())
        .depends_on(conf_id);
    for id in packages.into_iter().chain(secured.packages) {
        file = file.depends_on(id.clone());
        service = service.depends_on(id);
    }
    // What nginx.conf loads comes first (its `nginx -t` loads it) and reloads nginx.
    for id in secured.files {
        file = file.depends_on(id.clone());
        service = service.file(id);
    }
    let service_id = phoenix_core::Resource::id(&service);
    cx.add_at(file, declared.at.clone());
    // nginx reloads without a removed container before phoenix-lxc destroys it.
    let absent = release::absent(cx.config());
    cx.add_at(release::releases(service, &absent), declared.at.clone());
    secure_build::add_after(cx, &declared, &scope, &service_id);
}
