//! TLS at the gateway: the config's `gateway.tls`, and what it adds to the generated
//! `nginx.conf` (the gateway's server on the HTTPS port with TLS 1.2 and 1.3 only, and a server
//! on the HTTP port that redirects every request to HTTPS).
//!
//! ```json
//! "tls": {"mode": "local_ca", "names": ["gateway.lab"]}
//! "tls": {"mode": "files", "certificate": "/etc/nginx/ssl/gateway.crt", "key": "/etc/nginx/ssl/gateway.key"}
//! ```
//!
//! `local_ca`: Phoenix keeps a CA on the node ([`super::ca`], [`super::tls_resources`]) and
//! issues the gateway's certificate for its `server_names`, its address and `names`; the CA
//! certificate goes into every lab container's trust store (`trust`, default on). `files`: the
//! operator's certificate and key, paths inside the gateway's container (the shared `ssl`
//! mount); Phoenix checks they exist and warns before they expire, and never writes them.
//! `off` (or no `tls`): plain HTTP.

use serde::Deserialize;

use super::nginx::{Conf, Directive, Server, Tls as ServerTls};

/// Where the certificate issued by the local CA lives in the gateway's container.
pub const CERT_PATH: &str = "/etc/nginx/phoenix/tls/gateway.crt";

/// Where its key lives (mode 0600, root's).
pub const KEY_PATH: &str = "/etc/nginx/phoenix/tls/gateway.key";

/// The directory of both (0755: the key itself is 0600).
pub const TLS_DIR: &str = "/etc/nginx/phoenix/tls";

/// The HTTPS port unless the config says otherwise.
pub const HTTPS_PORT: u16 = 443;

/// Cipher suites for TLS 1.2 (TLS 1.3's are fixed by OpenSSL): forward-secret AEAD suites only,
/// Mozilla's "intermediate" list.
pub const CIPHERS: &str = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:\
ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:\
ECDHE-RSA-CHACHA20-POLY1305";

/// `gateway.tls` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    mode: Mode,
    #[serde(default)]
    certificate: Option<String>,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    https_port: Option<u16>,
    #[serde(default)]
    names: Vec<String>,
    #[serde(default)]
    trust: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Mode {
    Off,
    LocalCa,
    Files,
}

/// Where the gateway's certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Issued by Phoenix's CA on the node, renewed before it expires.
    LocalCa {
        /// Extra names (DNS names or addresses) besides `server_names` and the gateway's
        /// address.
        names: Vec<String>,
        /// Whether the lab's containers trust the CA.
        trust: bool,
    },
    /// The operator's files in the gateway's container.
    Files {
        /// The certificate (chain) file.
        certificate: String,
        /// The key file.
        key: String,
    },
}

/// TLS at the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tls {
    /// The certificate's origin.
    pub source: Source,
    /// The HTTPS port.
    pub https_port: u16,
}

impl Tls {
    /// The certificate and key nginx loads.
    pub fn files(&self) -> (&str, &str) {
        match &self.source {
            Source::LocalCa { .. } => (CERT_PATH, KEY_PATH),
            Source::Files { certificate, key } => (certificate, key),
        }
    }
}

/// A problem in `gateway.tls`: the key under it and what is expected.
pub type Problem = (Vec<&'static str>, String);

/// Checks `gateway.tls`; `None` when TLS is off. `http_port` is the gateway's `port`.
pub fn check(raw: &RawTls, http_port: u16) -> Result<Option<Tls>, Vec<Problem>> {
    let mut problems: Vec<Problem> = Vec::new();
    let https_port = raw.https_port.unwrap_or(HTTPS_PORT);
    if https_port == http_port || https_port == 0 {
        problems.push((
            vec!["https_port"],
            format!("expected a port other than 0 and the gateway's HTTP port {http_port}"),
        ));
    }
    let source = match raw.mode {
        Mode::Off => None,
        Mode::LocalCa => {
            for (key, given) in [("certificate", &raw.certificate), ("key", &raw.key)] {
                if given.is_some() {
                    problems.push((
                        vec![key],
                        format!(
                            "a {key} path is for \"mode\": \"files\"; the local CA writes its own"
                        ),
                    ));
                }
            }
            for name in &raw.names {
                if let Err(message) = check_name(name) {
                    problems.push((vec!["names"], message));
                }
            }
            Some(Source::LocalCa {
                names: raw.names.clone(),
                trust: raw.trust.unwrap_or(true),
            })
        }
        Mode::Files => {
            let mut path = |key: &'static str, given: &Option<String>| match given {
                None => {
                    problems.push((
                        vec![key],
                        format!("expected the {key} file's path in the gateway's container"),
                    ));
                    String::new()
                }
                Some(p) => match phoenix_core::config::normalize_path(p) {
                    Ok(normalized) => normalized,
                    Err(message) => {
                        problems.push((vec![key], message));
                        String::new()
                    }
                },
            };
            let certificate = path("certificate", &raw.certificate);
            let key = path("key", &raw.key);
            if !raw.names.is_empty() || raw.trust.is_some() {
                problems.push((
                    vec![if raw.names.is_empty() { "trust" } else { "names" }],
                    "names and trust are for \"mode\": \"local_ca\"; the operator's certificate has its own".into(),
                ));
            }
            Some(Source::Files { certificate, key })
        }
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(source.map(|source| Tls { source, https_port }))
}

/// A DNS name or an IP address a certificate can carry.
fn check_name(name: &str) -> Result<(), String> {
    if name.parse::<std::net::IpAddr>().is_ok() {
        return Ok(());
    }
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    let wildcard = name.strip_prefix("*.").unwrap_or(name);
    if name.len() <= 253 && wildcard.split('.').all(label_ok) {
        Ok(())
    } else {
        Err(format!(
            "expected a DNS name or an IP address, found {}",
            phoenix_core::config::excerpt(name)
        ))
    }
}

/// The `ssl_*` directives of the gateway's server.
pub fn directives(tls: &Tls) -> Vec<Directive> {
    let (certificate, key) = tls.files();
    vec![
        Directive::new("ssl_certificate", [certificate]),
        Directive::new("ssl_certificate_key", [key]),
        Directive::new("ssl_protocols", ["TLSv1.2", "TLSv1.3"]),
        Directive::new("ssl_ciphers", [CIPHERS]),
        Directive::new("ssl_prefer_server_ciphers", ["off"]),
        Directive::new("ssl_session_cache", ["shared:phoenix_tls:10m"]),
        Directive::new("ssl_session_timeout", ["1d"]),
        Directive::new("ssl_session_tickets", ["off"]),
    ]
}

/// Turns the generated configuration's gateway server (its first server) into the HTTPS one
/// and adds, before it, a server on `http_port` that redirects to HTTPS.
pub fn apply(conf: &mut Conf, tls: &Tls, http_port: u16) {
    let Some(gateway) = conf.servers.first_mut() else {
        return;
    };
    gateway.listen = vec![vec![
        tls.https_port.to_string(),
        "ssl".into(),
        "default_server".into(),
    ]];
    gateway.tls = Some(ServerTls {
        directives: directives(tls),
    });
    let target = if tls.https_port == HTTPS_PORT {
        "https://$host$request_uri".to_owned()
    } else {
        format!("https://$host:{}$request_uri", tls.https_port)
    };
    let redirect = Server {
        listen: vec![vec![http_port.to_string(), "default_server".into()]],
        names: gateway.names.clone(),
        tls: None,
        directives: vec![Directive::new("return", ["301".to_owned(), target])],
        locations: Vec::new(),
    };
    conf.servers.insert(0, redirect);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(json: serde_json::Value) -> RawTls {
        serde_json::from_value(json).expect("a RawTls")
    }

    fn check_json(json: serde_json::Value) -> String {
        match check(&raw(json), 80) {
            Ok(None) => "off".into(),
            Ok(Some(tls)) => format!("{tls:?}"),
            Err(problems) => problems
                .iter()
                .map(|(at, m)| format!("{}: {m}", at.join(".")))
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    #[test]
    fn issue_13_tls_settings_are_checked_field_by_field() {
        use serde_json::json;
        let cases = [
            (json!({"mode": "off"}), "off"),
            (
                json!({"mode": "local_ca"}),
                "Tls { source: LocalCa { names: [], trust: true }, https_port: 443 }",
            ),
            (
                json!({"mode": "local_ca", "names": ["gateway.lab", "10.0.0.153", "*.lab"], "trust": false, "https_port": 8443}),
                "Tls { source: LocalCa { names: [\"gateway.lab\", \"10.0.0.153\", \"*.lab\"], trust: false }, https_port: 8443 }",
            ),
            (
                json!({"mode": "files", "certificate": "/etc/nginx/ssl/a.crt", "key": "/etc/nginx/ssl/./a.key"}),
                "Tls { source: Files { certificate: \"/etc/nginx/ssl/a.crt\", key: \"/etc/nginx/ssl/a.key\" }, https_port: 443 }",
            ),
            (
                json!({"mode": "files", "key": "relative.key"}),
                "certificate: expected the certificate file's path in the gateway's container\nkey: expected an absolute path, found \"relative.key\"",
            ),
            (
                json!({"mode": "local_ca", "certificate": "/x", "names": ["bad name"], "https_port": 80}),
                "https_port: expected a port other than 0 and the gateway's HTTP port 80\ncertificate: a certificate path is for \"mode\": \"files\"; the local CA writes its own\nnames: expected a DNS name or an IP address, found \"bad name\"",
            ),
            (
                json!({"mode": "files", "certificate": "/a", "key": "/b", "trust": true}),
                "trust: names and trust are for \"mode\": \"local_ca\"; the operator's certificate has its own",
            ),
        ];
        for (json, expect) in cases {
            assert_eq!(check_json(json.clone()), expect, "{json}");
        }
        let unknown = serde_json::from_value::<RawTls>(serde_json::json!({"mode": "acme"}));
        assert!(unknown.is_err());
    }

    #[test]
    fn issue_13_tls_makes_the_gateway_https_and_http_a_redirect() {
        let mut conf = super::super::site::conf(
            &super::super::samples::lab(),
            &super::super::site::Layout::debian(),
        );
        let tls = check(&raw(serde_json::json!({"mode": "local_ca"})), 80)
            .expect("valid")
            .expect("on");
        apply(&mut conf, &tls, 80);
        let text = conf.render();
        let redirect = text
            .split("\n    server {\n")
            .nth(1)
            .expect("a first server");
        insta::assert_snapshot!(redirect.split("\n\n").next().unwrap_or_default(), @r"
        listen 80 default_server;
        server_name _;
        return 301 https://$host$request_uri;
    }
        ");
        assert!(text.contains("listen 443 ssl default_server;"), "{text}");
        assert!(text.contains("ssl_protocols TLSv1.2 TLSv1.3;"), "{text}");
        assert!(text.contains("ssl_certificate /etc/nginx/phoenix/tls/gateway.crt;"));
        assert!(!text.contains("SSLv3") && !text.contains("TLSv1.1"));
    }
}
