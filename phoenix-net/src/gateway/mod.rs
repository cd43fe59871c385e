//! The Nginx API gateway (the config's `gateway`): one generated `nginx.conf` in the gateway's
//! container, in front of every vLLM model (routed by the request body's `model` through an njs
//! router), Ollama, Qdrant and any other route the config declares; with queues, context
//! validation, rate limits and security headers; checked by `nginx -t` before it goes live and
//! reloaded only when it changed.
//!
//! `spec` is the plain input, `site` the pure generator over the typed model in `nginx`,
//! `config` the adapter from the config's containers, `build` the resources.

pub mod api_keys;
mod build;
pub mod ca;
pub mod config;
pub mod fail2ban;
pub mod hardening;
pub mod modsecurity;
pub mod nginx;
#[cfg(test)]
mod real_hardening_tests;
#[cfg(test)]
mod real_nginx_tests;
pub mod release;
#[cfg(test)]
mod samples;
pub mod secure;
mod secure_build;
#[cfg(any(test, feature = "sim"))]
pub mod sim;
#[cfg(any(test, feature = "sim"))]
pub mod sim_tls;
pub mod site;
pub mod spec;
pub mod tls;
pub mod tls_resources;

pub(crate) use build::decode;

/// The nginx configuration Phoenix owns in the gateway's container.
pub const NGINX_CONF: &str = "/etc/nginx/nginx.conf";

/// The directory of Phoenix's other gateway files.
pub const PHOENIX_DIR: &str = "/etc/nginx/phoenix";

/// Where the njs router lives.
pub const SCRIPT_PATH: &str = "/etc/nginx/phoenix/gateway.js";

/// The njs router: constant code, configured by `nginx.conf`'s `js_var`s.
pub const SCRIPT: &str = include_str!("gateway.js");

/// Debian's packages: nginx and its njs module.
pub const PACKAGES: &[&str] = &["nginx", "libnginx-mod-http-js"];

/// How a staged `nginx.conf` is checked (`%s` is the staged file, beside the live one, so
/// relative includes resolve alike).
pub const VALIDATE: [&str; 4] = ["nginx", "-t", "-c", "%s"];

/// The kinds of the gateway's own resources (the rest are core's primitives).
pub const KINDS: &[&str] = &[
    tls_resources::CA_KIND,
    tls_resources::CERT_KIND,
    tls_resources::TRUST_KIND,
    tls_resources::REFRESH_KIND,
    tls_resources::OPERATOR_KIND,
    api_keys::KIND,
];
