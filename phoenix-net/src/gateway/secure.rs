//! The gateway's security settings (`gateway.tls`, `gateway.api_keys_file`,
//! `gateway.modsecurity`, `gateway.fail2ban`) and the one order in which they change the
//! generated configuration: hardening and ModSecurity on the gateway's server first, then TLS,
//! which puts the HTTP redirect server before it.

use serde::Deserialize;

use super::hardening::{self, Hardening};
use super::modsecurity;
use super::nginx::Conf;
use super::tls::{self, RawTls, Tls};

/// The security keys of `gateway` as written (each optional).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSecure {
    /// `gateway.tls`.
    #[serde(default)]
    pub tls: Option<RawTls>,
    /// `gateway.api_keys_file`: a root-only file on the node.
    #[serde(default)]
    pub api_keys_file: Option<String>,
    /// `gateway.modsecurity`.
    #[serde(default)]
    pub modsecurity: modsecurity::Mode,
    /// `gateway.fail2ban`.
    #[serde(default)]
    pub fail2ban: bool,
}

/// The checked settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Secure {
    /// TLS, when on.
    pub tls: Option<Tls>,
    /// The keys file on the node, when API keys are required.
    pub api_keys_file: Option<String>,
    /// ModSecurity's mode.
    pub modsecurity: modsecurity::Mode,
    /// Whether fail2ban watches the gateway's logs.
    pub fail2ban: bool,
}

/// Checks the settings; problems name the key under `gateway` (`tls.key`, `api_keys_file`).
pub fn check(raw: &RawSecure, http_port: u16) -> Result<Secure, Vec<(String, String)>> {
    let mut problems = Vec::new();
    let tls = match raw.tls.as_ref().map(|t| tls::check(t, http_port)) {
        None => None,
        Some(Ok(tls)) => tls,
        Some(Err(found)) => {
            problems.extend(
                found
                    .into_iter()
                    .map(|(at, message)| (format!("tls.{}", at.join(".")), message)),
            );
            None
        }
    };
    let api_keys_file = match &raw.api_keys_file {
        None => None,
        Some(path) => match phoenix_core::config::normalize_path(path) {
            Ok(normalized) => Some(normalized),
            Err(message) => {
                problems.push(("api_keys_file".to_owned(), message));
                None
            }
        },
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Secure {
        tls,
        api_keys_file,
        modsecurity: raw.modsecurity,
        fail2ban: raw.fail2ban,
    })
}

/// Where the generated configuration finds Phoenix's security files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurePaths {
    /// The API keys map ([`hardening::KEYS_MAP_PATH`]).
    pub keys_map: String,
    /// The ModSecurity rules file ([`modsecurity::RULES_PATH`]).
    pub modsecurity_rules: String,
}

impl SecurePaths {
    /// Where Phoenix writes them in the gateway's container.
    pub fn debian() -> SecurePaths {
        SecurePaths {
            keys_map: hardening::KEYS_MAP_PATH.to_owned(),
            modsecurity_rules: modsecurity::RULES_PATH.to_owned(),
        }
    }
}

/// Applies `secure` to the generated configuration of a gateway on `http_port`.
pub fn apply(conf: &mut Conf, secure: &Secure, http_port: u16, paths: &SecurePaths) {
    hardening::apply(
        conf,
        &Hardening {
            keys_map: secure
                .api_keys_file
                .as_ref()
                .map(|_| paths.keys_map.clone()),
            error_log_level: "warn",
        },
    );
    modsecurity::apply(conf, secure.modsecurity, &paths.modsecurity_rules);
    if let Some(tls) = &secure.tls {
        tls::apply(conf, tls, http_port);
    }
}

/// The ports the gateway listens on.
pub fn ports(secure: &Secure, http_port: u16) -> Vec<u16> {
    let mut ports = vec![http_port];
    ports.extend(secure.tls.as_ref().map(|t| t.https_port));
    ports
}
