//! What the service readers share: where a service answers ([`Endpoint`]), a problem in a
//! service's keys ([`Problem`]), and the location of a JSON path of `lxc_configs` for messages.

use std::fmt;
use std::net::Ipv4Addr;

use phoenix_core::config::{ConfigSet, JsonPath};
use phoenix_core::{Location, Severity};

use crate::guests::{Guest, KEY};

/// Where a service in a container answers, for the gateway and the health checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The container id.
    pub vmid: u32,
    /// The container's name, when it has one.
    pub container: Option<String>,
    /// The container's static IPv4 address; `None` for DHCP (the service then has no fixed
    /// address to route to).
    pub ip: Option<Ipv4Addr>,
    /// The TCP port the service listens on.
    pub port: u16,
}

impl Endpoint {
    /// The endpoint of a service of `guest` on `port`.
    pub fn of(guest: &Guest, port: u16) -> Endpoint {
        Endpoint {
            vmid: guest.vmid,
            container: guest.name.clone(),
            ip: guest.ip,
            port,
        }
    }

    /// `http://IP:PORT`, when the container has a static address.
    pub fn url(&self) -> Option<String> {
        self.ip.map(|ip| format!("http://{ip}:{}", self.port))
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ip {
            Some(ip) => write!(f, "ct {} {ip}:{}", self.vmid, self.port),
            None => write!(f, "ct {} (dhcp):{}", self.vmid, self.port),
        }
    }
}

/// A problem in a service's keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The JSON path of the offending value.
    pub at: JsonPath,
    /// Where it is, for the diagnostic.
    pub location: Location,
    /// What is wrong and what is expected.
    pub message: String,
    /// How bad it is: a container with an error has no server.
    pub severity: Severity,
}

impl Problem {
    /// Whether it is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// The location of `path` (a path inside the top-level key `key`) in the config, for messages.
pub(crate) fn locate_in(config: &ConfigSet, key: &str, path: &JsonPath) -> Location {
    config
        .sections()
        .filter(|s| s.key == key)
        .map(|s| s.location_of(path))
        .next()
        .unwrap_or_else(|| Location::new("", path.to_string()))
}

/// The location of `path` (a path inside `lxc_configs`) in the config, for messages.
pub(crate) fn locate(config: &ConfigSet, path: &JsonPath) -> Location {
    locate_in(config, KEY, path)
}

/// Whether `text` is an absolute path without `..`, empty components, white space or control
/// characters (it goes into a unit file and a YAML file unquoted).
pub(crate) fn is_plain_absolute_path(text: &str) -> bool {
    text.starts_with('/')
        && text.len() > 1
        && !text.ends_with('/')
        && text[1..]
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-'))
}

/// Whether `text` is a release version such as `1.19.1` (digits and dots, three parts at most).
pub(crate) fn is_version(text: &str) -> bool {
    let parts: Vec<&str> = text.split('.').collect();
    (1..=3).contains(&parts.len())
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 6 && p.chars().all(|c| c.is_ascii_digit()))
}

/// Whether `text` is a sha256 in lowercase hex.
pub(crate) fn is_sha256(text: &str) -> bool {
    text.len() == 64 && text.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_versions_and_digests_have_one_shape_each() {
        for (text, ok) in [
            ("/qdrant/storage", true),
            ("/usr/share/ollama/.ollama/models", true),
            ("relative", false),
            ("/", false),
            ("/a/../b", false),
            ("/a//b", false),
            ("/a b", false),
            ("/a/", false),
        ] {
            assert_eq!(is_plain_absolute_path(text), ok, "{text}");
        }
        for (text, ok) in [
            ("1.19.1", true),
            ("0.32", true),
            ("1.2.3.4", false),
            ("v1.2", false),
            ("1..2", false),
        ] {
            assert_eq!(is_version(text), ok, "{text}");
        }
        assert!(is_sha256(&"a".repeat(64)));
        assert!(!is_sha256(&"A".repeat(64)));
        assert!(!is_sha256("abc"));
    }
}
