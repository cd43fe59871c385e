//! `NginxEmulator`: `nginx -t -c FILE` inside a simulated container (a guest program, through
//! core's `Emulator::run_in_guest`), which is how the gateway's staged `nginx.conf` is checked.
//!
//! It reads the file from the guest with nginx's own tokenizer rules (words, single and double
//! quotes with `\` escapes, `#` comments, `;`, `{`, `}`) and reports what nginx 1.22 reports
//! for a file it cannot read, a brace it does not expect, an end of file inside a block or a
//! directive, and a directive no module of Debian's nginx with the njs module knows (such as
//! NGINX Plus's `health_check`), with the file and line; the messages are the real ones
//! (`real_nginx_tests` compares them). Arguments are not checked further: the real `nginx -t`
//! on every generated configuration is in the tests. The timestamp and pid of the `[emerg]`
//! line are fixed.

use phoenix_core::sim::{Emulator, GuestSys, SimOutput, SimSys};

/// The emulator of `nginx` in guests.
#[derive(Debug, Default, Clone, Copy)]
pub struct NginxEmulator;

/// The file `libnginx-mod-http-js` installs to load the njs module, which
/// `include /etc/nginx/modules-enabled/*.conf` reads: without it (or a `load_module` of the
/// module in the file itself) nginx knows no `js_*` directive.
pub const JS_MODULE_LOAD: &str = "/etc/nginx/modules-enabled/50-mod-http-js.conf";

/// The time and pid the emulator prints where nginx prints its own.
const STAMP: &str = "2026/01/01 00:00:00 [emerg] 1#1";

/// Directives of nginx 1.22's modules in Debian's build and of the njs module: every one the
/// gateway writes, and the common others.
const KNOWN: &[&str] = &[
    "access_log",
    "add_header",
    "alias",
    "allow",
    "auth_basic",
    "auth_basic_user_file",
    "auth_request",
    "charset",
    "client_body_buffer_size",
    "client_body_in_single_buffer",
    "client_body_temp_path",
    "client_body_timeout",
    "client_header_timeout",
    "client_max_body_size",
    "daemon",
    "default_type",
    "deny",
    "error_log",
    "error_page",
    "events",
    "expires",
    "gzip",
    "gzip_types",
    "http",
    "http2",
    "if",
    "ignore_invalid_headers",
    "include",
    "index",
    "internal",
    "js_content",
    "js_import",
    "js_path",
    "js_set",
    "js_var",
    "keepalive",
    "keepalive_requests",
    "keepalive_time",
    "keepalive_timeout",
    "large_client_header_buffers",
    "least_conn",
    "limit_conn",
    "limit_conn_status",
    "limit_conn_zone",
    "limit_except",
    "limit_req",
    "limit_req_log_level",
    "limit_req_status",
    "limit_req_zone",
    "lingering_close",
    "listen",
    "load_module",
    "location",
    "log_format",
    "log_not_found",
    "map",
    "master_process",
    "modsecurity",
    "modsecurity_rules_file",
    "multi_accept",
    "pid",
    "proxy_buffer_size",
    "proxy_buffering",
    "proxy_buffers",
    "proxy_cache",
    "proxy_cache_path",
    "proxy_cache_valid",
    "proxy_connect_timeout",
    "proxy_http_version",
    "proxy_intercept_errors",
    "proxy_next_upstream",
    "proxy_next_upstream_timeout",
    "proxy_next_upstream_tries",
    "proxy_pass",
    "proxy_read_timeout",
    "proxy_request_buffering",
    "proxy_send_timeout",
    "proxy_set_header",
    "proxy_ssl_verify",
    "real_ip_header",
    "reset_timedout_connection",
    "resolver",
    "return",
    "rewrite",
    "root",
    "satisfy",
    "send_timeout",
    "sendfile",
    "server",
    "server_name",
    "server_names_hash_bucket_size",
    "server_tokens",
    "set",
    "ssl_certificate",
    "ssl_certificate_key",
    "ssl_ciphers",
    "ssl_dhparam",
    "ssl_prefer_server_ciphers",
    "ssl_protocols",
    "ssl_session_cache",
    "ssl_session_tickets",
    "ssl_session_timeout",
    "ssl_stapling",
    "ssl_trusted_certificate",
    "tcp_nodelay",
    "tcp_nopush",
    "try_files",
    "types",
    "types_hash_max_size",
    "underscores_in_headers",
    "upstream",
    "user",
    "worker_connections",
    "worker_processes",
    "worker_rlimit_nofile",
];

impl Emulator for NginxEmulator {
    fn programs(&self) -> Vec<String> {
        Vec::new()
    }

    fn run(&self, argv: &[String], _stdin: Option<&str>, _sys: &mut SimSys<'_>) -> SimOutput {
        SimOutput::fail(
            127,
            format!("phoenix sim: `{}` runs only in a guest\n", argv.join(" ")),
        )
    }

    fn guest_programs(&self) -> Vec<String> {
        vec!["nginx".to_owned()]
    }

    fn run_in_guest(
        &self,
        argv: &[String],
        _stdin: Option<&str>,
        guest: &mut dyn GuestSys<'_>,
    ) -> Option<SimOutput> {
        let file = match argv {
            [_, t, c, file] if t == "-t" && c == "-c" => file.clone(),
            [_, t] if t == "-t" => "/etc/nginx/nginx.conf".to_owned(),
            _ => return None,
        };
        let Some(text) = guest.read(&file) else {
            return Some(SimOutput::fail(
                1,
                format!(
                    "{STAMP}: open() \"{file}\" failed (2: No such file or directory)\nnginx: configuration file {file} test failed\n"
                ),
            ));
        };
        let js =
            guest.read(JS_MODULE_LOAD).is_some() || text.content.contains("ngx_http_js_module.so");
        Some(match check(&text.content, js) {
            Ok(()) => SimOutput::ok("").with_stderr(format!(
                "nginx: the configuration file {file} syntax is ok\nnginx: configuration file {file} test is successful\n"
            )),
            Err((message, line)) => SimOutput::fail(
                1,
                format!(
                    "{STAMP}: {message} in {file}:{line}\nnginx: configuration file {file} test failed\n"
                ),
            ),
        })
    }
}

/// A token and its line.
#[derive(Debug, PartialEq, Eq)]
enum Token {
    Word(String),
    Semicolon,
    Open,
    Close,
}

/// Checks the structure and the directive names (`js_*` ones only when the njs module is
/// loaded, `js`); the error and its line.
pub fn check(text: &str, js: bool) -> Result<(), (String, usize)> {
    let tokens = tokenize(text)?;
    // nginx counts the line after the last newline.
    let eof_line = text.matches('\n').count() + 1;
    let mut depth = 0usize;
    let mut words: Vec<(String, usize)> = Vec::new();
    for (token, line) in tokens {
        match token {
            Token::Word(word) => words.push((word, line)),
            Token::Semicolon | Token::Open => {
                let Some((name, _)) = words.first() else {
                    return Err((
                        format!(
                            "unexpected \"{}\"",
                            if token == Token::Open { "{" } else { ";" }
                        ),
                        line,
                    ));
                };
                // Inside `map` and `types`, entries are not directives.
                let known = KNOWN.contains(&name.as_str()) && (js || !name.starts_with("js_"));
                if !known && !in_table(name) {
                    // nginx names the line where the directive ends.
                    return Err((format!("unknown directive \"{name}\""), line));
                }
                words.clear();
                if token == Token::Open {
                    depth += 1;
                }
            }
            Token::Close => {
                if !words.is_empty() || depth == 0 {
                    return Err(("unexpected \"}\"".to_owned(), line));
                }
                depth -= 1;
            }
        }
    }
    if !words.is_empty() {
        return Err((
            "unexpected end of file, expecting \";\" or \"}\"".to_owned(),
            eof_line,
        ));
    }
    if depth > 0 {
        return Err((
            "unexpected end of file, expecting \"}\"".to_owned(),
            eof_line,
        ));
    }
    Ok(())
}

/// Whether `name` is the key of a `map` or `types` entry rather than a directive: the
/// emulator does not track blocks by name, so a quoted or `default`-like key is accepted.
fn in_table(name: &str) -> bool {
    name.is_empty() || name == "default" || name == "hostnames" || name.contains('/')
}

fn tokenize(text: &str) -> Result<Vec<(Token, usize)>, (String, usize)> {
    let mut tokens = Vec::new();
    let mut line = 1;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => line += 1,
            c if c.is_whitespace() => {}
            '#' => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        line += 1;
                        break;
                    }
                }
            }
            ';' => tokens.push((Token::Semicolon, line)),
            '{' => tokens.push((Token::Open, line)),
            '}' => tokens.push((Token::Close, line)),
            '"' | '\'' => {
                let quote = c;
                let start = line;
                let mut word = String::new();
                let mut closed = false;
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some(next) = chars.next() {
                                if next == '\n' {
                                    line += 1;
                                }
                                word.push(next);
                            }
                        }
                        '\n' => {
                            line += 1;
                            word.push(c);
                        }
                        c if c == quote => {
                            closed = true;
                            break;
                        }
                        c => word.push(c),
                    }
                }
                if !closed {
                    return Err((
                        "unexpected end of file, expecting \";\" or \"}\"".to_owned(),
                        line,
                    ));
                }
                tokens.push((Token::Word(word), start));
            }
            c => {
                let mut word = String::from(c);
                while let Some(&next) = chars.peek() {
                    if next.is_whitespace() || matches!(next, ';' | '{' | '}') {
                        break;
                    }
                    word.push(next);
                    chars.next();
                }
                tokens.push((Token::Word(word), line));
            }
        }
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a case expects: `Ok`, or the message and its line.
    type Expected = Result<(), (&'static str, usize)>;

    #[test]
    fn issue_13_the_emulator_finds_what_nginx_reports() {
        let cases: &[(&str, Expected)] = &[
            ("events {}\nhttp {\n  server { listen 8080; }\n}\n", Ok(())),
            (
                "events {}\nhttp {\n  upstream x { health_check; }\n}\n",
                Err(("unknown directive \"health_check\"", 3)),
            ),
            (
                "events {}\nhttp {\n  server { listen 8080;\n}\n",
                Err(("unexpected end of file, expecting \"}\"", 5)),
            ),
            (
                "events {}\nhttp {\n  server { listen 8080; }\n}\n}\n",
                Err(("unexpected \"}\"", 5)),
            ),
            (
                "events {}\nhttp {\n  server_tokens off\n",
                Err(("unexpected end of file, expecting \";\" or \"}\"", 4)),
            ),
            (
                "events {}\nhttp {\n  server { location / { return 200 x } }\n}\n",
                Err(("unexpected \"}\"", 3)),
            ),
            // Upstream's stray `-` line: the directive ends at the next line's `{`.
            ("# -\n-\nevents {}\n", Err(("unknown directive \"-\"", 3))),
        ];
        for (text, expect) in cases {
            let got = check(text, true);
            let expect = expect.map_err(|(m, l)| (m.to_owned(), l));
            assert_eq!(got, expect, "{text}");
        }
        let js = "events {}\nhttp {\n  js_import g from /x.js;\n}\n";
        assert_eq!(check(js, true), Ok(()));
        assert_eq!(
            check(js, false),
            Err(("unknown directive \"js_import\"".to_owned(), 3))
        );
    }
}
