//! The resources of the gateway's security settings, beside the gateway's own ([`super::build`]):
//! the local CA on the node and its certificate in the gateway's container, the CA in the trust
//! store of every lab container with features that starts at boot, the API keys map, ModSecurity's packages and rules
//! file, and fail2ban's package, jail file (checked by `fail2ban-client -t`) and service.
//!
//! What nginx loads (certificate, keys map, rules file) comes before `nginx.conf`, whose
//! `nginx -t` loads them, and each reloads nginx when it changed in this run.

use phoenix_core::config::ConfigSet;
use phoenix_core::directory::Directory;
use phoenix_core::file::File;
use phoenix_core::package::Package;
use phoenix_core::service::{OnChange, Service};
use phoenix_core::{DecodeCx, Diagnostic, Location, Resource, ResourceId};
use serde_json::Value;

use super::api_keys::ApiKeys;
use super::config::Declared;
use super::tls::Source;
use super::tls_resources::{
    CA_DIR, CaResource, OperatorCert, ServerCert, TRUST_DIR, Trust, TrustRefresh,
};
use super::{fail2ban, modsecurity, tls};

/// What the gateway's own resources must take into account.
#[derive(Debug, Default)]
pub(crate) struct Added {
    /// Packages nginx needs loaded (modules), before `nginx.conf`.
    pub(crate) packages: Vec<ResourceId>,
    /// Files `nginx.conf` loads: they come before it, and reload nginx when they change.
    pub(crate) files: Vec<ResourceId>,
}

/// Adds the resources before nginx's; `phoenix_dir` is the id of Phoenix's directory in the
/// gateway's container.
pub(crate) fn add_before(
    cx: &mut DecodeCx<'_>,
    declared: &Declared,
    scope: &phoenix_core::scope::Scope,
    phoenix_dir: &ResourceId,
) -> Added {
    let at = declared.at.clone();
    let secure = &declared.secure;
    let mut added = Added::default();
    if let Some(tls) = &secure.tls
        && let Source::LocalCa { names, trust } = &tls.source
    {
        let node = match cx.scope("node") {
            Ok(node) => node,
            Err(err) => {
                cx.report(Diagnostic::error(err.to_string()).at(at));
                return added;
            }
        };
        let ca_dir = Directory::new(&node, CA_DIR).mode(0o700).owner("root:root");
        let ca_dir_id = Resource::id(&ca_dir);
        cx.add_at(ca_dir, at.clone());
        cx.add_at(CaResource::new(&node).depends_on(ca_dir_id), at.clone());
        let tls_dir = Directory::new(scope, tls::TLS_DIR)
            .mode(0o755)
            .owner("root:root")
            .depends_on(phoenix_dir.clone());
        let tls_dir_id = Resource::id(&tls_dir);
        cx.add_at(tls_dir, at.clone());
        let cert =
            ServerCert::new(scope, &node, cert_names(declared, names)).depends_on(tls_dir_id);
        added.files.push(Resource::id(&cert));
        cx.add_at(cert, at.clone());
        if *trust {
            let provisioned = trusting(cx.config(), |f| cx.guest_feature_provider(f).is_some());
            for (vmid, location) in provisioned {
                let Ok(guest) = cx.scope(&format!("ct:{vmid}")) else {
                    continue;
                };
                let package = Package::new(&guest, "ca-certificates");
                let package_id = Resource::id(&package);
                cx.add_at(package, location.clone());
                // The package makes it; a container where it was removed gets it back.
                let local = Directory::new(&guest, TRUST_DIR)
                    .mode(0o755)
                    .owner("root:root")
                    .depends_on(package_id.clone());
                let local_id = Resource::id(&local);
                cx.add_at(local, location.clone());
                cx.add_at(
                    Trust::new(&guest, &node)
                        .depends_on(package_id)
                        .depends_on(local_id),
                    location.clone(),
                );
                cx.add_at(TrustRefresh::new(&guest), location);
            }
        }
    }
    if let Some(tls) = &secure.tls
        && let Source::Files { certificate, .. } = &tls.source
    {
        let operator = OperatorCert::new(scope, certificate);
        added.files.push(Resource::id(&operator));
        cx.add_at(operator, at.clone());
    }
    if let Some(source) = &secure.api_keys_file {
        let node = match cx.scope("node") {
            Ok(node) => node,
            Err(err) => {
                cx.report(Diagnostic::error(err.to_string()).at(at));
                return added;
            }
        };
        let keys = ApiKeys::new(scope, &node, source).depends_on(phoenix_dir.clone());
        added.files.push(Resource::id(&keys));
        cx.add_at(keys, at.clone());
    }
    if secure.modsecurity != modsecurity::Mode::Off {
        for name in modsecurity::PACKAGES {
            let package = Package::new(scope, *name);
            added.packages.push(Resource::id(&package));
            cx.add_at(package, at.clone());
        }
        let files = modsecurity::Files::debian("/var/log/nginx");
        if let Some(rules) =
            modsecurity::rules(secure.modsecurity, declared.gateway.max_body_bytes, &files)
        {
            let mut file = File::new(modsecurity::RULES_PATH, rules)
                .mode(0o644)
                .owner("root:root")
                .in_scope(scope)
                .depends_on(phoenix_dir.clone());
            for package in &added.packages {
                file = file.depends_on(package.clone());
            }
            added.files.push(Resource::id(&file));
            cx.add_at(file, at);
        }
    }
    added
}

/// Adds fail2ban after nginx (whose logs its jails read).
pub(crate) fn add_after(
    cx: &mut DecodeCx<'_>,
    declared: &Declared,
    scope: &phoenix_core::scope::Scope,
    nginx: &ResourceId,
) {
    if !declared.secure.fail2ban {
        return;
    }
    let at = declared.at.clone();
    let package = Package::new(scope, fail2ban::PACKAGE);
    let package_id = Resource::id(&package);
    cx.add_at(package, at.clone());
    let ports = super::secure::ports(&declared.secure, declared.gateway.port);
    let jail = File::new(
        fail2ban::JAIL_PATH,
        fail2ban::jail("/var/log/nginx", &ports),
    )
    .mode(0o644)
    .owner("root:root")
    .in_scope(scope)
    .validate(fail2ban::validate_argv())
    .depends_on(package_id.clone())
    .depends_on(nginx.clone());
    let jail_id = Resource::id(&jail);
    cx.add_at(jail, at.clone());
    cx.add_at(
        Service::new(scope, "fail2ban")
            .on_change(OnChange::Reload)
            .file(jail_id)
            .depends_on(package_id),
        at,
    );
}

/// The local CA certificate's names: the configured extra names, the server names (but `_`
/// and wildcards the CA would sign for any host), and the container's address.
fn cert_names(declared: &Declared, extra: &[String]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let candidates = declared
        .gateway
        .server_names
        .iter()
        .filter(|n| *n != "_")
        .chain(extra)
        .chain(declared.ip.as_ref());
    for name in candidates {
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    if names.is_empty() {
        names.push(format!("ct{}.phoenix", declared.container));
    }
    names
}

/// The in-guest feature phoenix-lxc implements itself (it lists no `Provider::guest_features`).
const LXC_FEATURE: &str = "base_setup";

/// The containers whose trust store gets the CA: every present container of `lxc_configs` that
/// Phoenix provisions (one of its own features is `base_setup` or `implemented` by a registered
/// provider, so its scope is ready) and that starts at boot (the services that call each other;
/// a template's clones get their own), with its location.
fn trusting(config: &ConfigSet, implemented: impl Fn(&str) -> bool) -> Vec<(u32, Location)> {
    let mut out = Vec::new();
    for section in config.sections().filter(|s| s.key == "lxc_configs") {
        let Some(entries) = section.value.as_object() else {
            continue;
        };
        for (key, entry) in entries {
            let Ok(vmid) = key.parse::<u32>() else {
                continue;
            };
            let absent = entry.get("ensure").and_then(Value::as_str) == Some("absent");
            let has_features =
                entry
                    .get("features")
                    .and_then(Value::as_array)
                    .is_some_and(|features| {
                        features
                            .iter()
                            .filter_map(Value::as_str)
                            .any(|f| f == LXC_FEATURE || implemented(f))
                    });
            let runs = entry.get("start_at_boot").and_then(Value::as_bool) == Some(true);
            if !absent && has_features && runs {
                out.push((vmid, section.location_of(&section.path().key(key))));
            }
        }
    }
    out
}
