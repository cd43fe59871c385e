//! Hardening of the gateway beyond its rate limits and security headers: optional API keys,
//! client timeouts and header limits, and an error log that keeps what fail2ban reads.
//!
//! API keys (the config's `gateway.api_keys_file`): a root-only file on the node, one key per
//! line (`#` comments and blank lines ignored). Phoenix turns it into a root-only map file in
//! the gateway's container ([`KEYS_MAP_PATH`]), which `nginx.conf` includes into a `map` of the
//! `Authorization` header; a request without a listed `Bearer` key gets 401 in OpenAI's error
//! JSON. The keys are in no other file, and in no plan, log or argv: the map file's content is
//! sensitive and travels on standard input.

use super::nginx::{Conf, Directive, Location, quote};

/// The map file in the gateway's container (mode 0600, root's).
pub const KEYS_MAP_PATH: &str = "/etc/nginx/phoenix/api-keys.map";

/// The variable the map sets: `1` for a listed key, `0` otherwise.
pub const KEY_VARIABLE: &str = "$phoenix_api_key";

/// The shortest key taken: 16 characters of a random token are far beyond guessing through a
/// rate-limited gateway.
pub const MIN_KEY_LEN: usize = 16;

/// The longest key taken (an `Authorization` header fits nginx's default header buffer).
pub const MAX_KEY_LEN: usize = 256;

/// Why a keys file is refused; never quotes a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeysError {
    /// A line is not a key.
    #[error(
        "line {line} of the API keys file is not a key: expected {MIN_KEY_LEN} to {MAX_KEY_LEN} characters of letters, digits and `-._~+/=` (the line is not shown)"
    )]
    BadLine {
        /// 1-based.
        line: usize,
    },
    /// No key at all: every request would be refused.
    #[error("the API keys file lists no key: every request would get 401")]
    Empty,
}

/// The keys of a keys file, in its order, each once.
pub fn parse_keys(text: &str) -> Result<Vec<String>, KeysError> {
    let mut keys: Vec<String> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let ok = (MIN_KEY_LEN..=MAX_KEY_LEN).contains(&line.len())
            && line
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._~+/=".contains(c));
        if !ok {
            return Err(KeysError::BadLine { line: i + 1 });
        }
        if !keys.iter().any(|k| k == line) {
            keys.push(line.to_owned());
        }
    }
    if keys.is_empty() {
        return Err(KeysError::Empty);
    }
    Ok(keys)
}

/// The map file's content: one `'Bearer KEY' 1;` line per key.
pub fn keys_map(keys: &[String]) -> String {
    let mut out = String::from("# Written by Phoenix from the API keys file; root only.\n");
    for key in keys {
        out.push_str(&quote(&format!("Bearer {key}")));
        out.push_str(" 1;\n");
    }
    out
}

/// What the hardening adds to the generated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hardening {
    /// The map file of API keys, when keys are required.
    pub keys_map: Option<String>,
    /// The error log's level: `warn` keeps the rate limits' refusals (logged at `warn`), which
    /// fail2ban's `nginx-limit-req` filter reads.
    pub error_log_level: &'static str,
}

/// Adds the hardening to `conf`: timeouts and header limits at `http` level, the error log's
/// level, and, with API keys, the key map and the check in every routed location of the
/// gateway's server (the first).
pub fn apply(conf: &mut Conf, hardening: &Hardening) {
    for directive in &mut conf.main {
        if directive.name == "error_log" && directive.args.len() == 1 {
            directive.args.push(hardening.error_log_level.to_owned());
        }
    }
    conf.http.extend([
        // A slow client holds a connection for at most this long between two reads.
        Directive::new("client_header_timeout", ["15s"]),
        Directive::new("client_body_timeout", ["30s"]),
        Directive::new("send_timeout", ["60s"]),
        Directive::new("keepalive_timeout", ["30s"]),
        Directive::new("large_client_header_buffers", ["4", "16k"]),
    ]);
    let Some(map_path) = &hardening.keys_map else {
        return;
    };
    conf.http.push(Directive::block(
        "map",
        ["$http_authorization", KEY_VARIABLE],
        vec![
            Directive::new("default", ["0"]),
            Directive::new("include", [map_path.as_str()]),
        ],
    ));
    let Some(gateway) = conf.servers.first_mut() else {
        return;
    };
    gateway
        .directives
        .push(Directive::new("error_page", ["401", "@unauthorized"]));
    // In every routed location, not the whole server: a path the gateway does not route stays
    // a 404, which fail2ban's `nginx-botsearch` counts.
    for location in &mut gateway.locations {
        if location.matcher.starts_with('@') || location.matcher == "/" {
            continue;
        }
        location.directives.insert(
            0,
            Directive::block(
                "if",
                // Three words, as nginx reads a comparison.
                [format!("({KEY_VARIABLE}"), "=".to_owned(), "0)".to_owned()],
                vec![Directive::new("return", ["401"])],
            ),
        );
    }
    let body = serde_json::json!({"error": {
        "message": "Missing or unknown API key: send `Authorization: Bearer <key>`.",
        "type": "invalid_request_error",
        "param": null,
        "code": "invalid_api_key",
    }})
    .to_string();
    gateway.locations.push(Location {
        matcher: "@unauthorized".into(),
        directives: vec![
            Directive::new("add_header", ["WWW-Authenticate", "Bearer", "always"]),
            Directive::new("default_type", ["application/json"]),
            Directive::new("return", ["401".to_owned(), body]),
        ],
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_13_a_keys_file_is_read_line_by_line_and_never_quoted_in_errors() {
        let good = "# lab clients\n\nsk-lab-0123456789abcdef\n  sk-lab-0123456789abcdef  \nAAAAaaaa1111====\n";
        assert_eq!(
            parse_keys(good),
            Ok(vec![
                "sk-lab-0123456789abcdef".to_owned(),
                "AAAAaaaa1111====".to_owned()
            ])
        );
        let secret = "canary with space 0123456789";
        let error =
            parse_keys(&format!("sk-lab-0123456789abcdef\n{secret}\n")).expect_err("a bad line");
        assert_eq!(error, KeysError::BadLine { line: 2 });
        assert!(!error.to_string().contains("canary"), "{error}");
        assert_eq!(parse_keys("short\n"), Err(KeysError::BadLine { line: 1 }));
        assert_eq!(parse_keys("# none\n"), Err(KeysError::Empty));
        assert_eq!(
            keys_map(&["sk-lab-0123456789abcdef".to_owned()]),
            "# Written by Phoenix from the API keys file; root only.\n'Bearer sk-lab-0123456789abcdef' 1;\n"
        );
    }
}
