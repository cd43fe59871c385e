//! A small typed model of an nginx configuration and its one writer.
//!
//! The generator builds a [`Conf`] (main-context directives, `events`, and an `http` block made
//! of zones, upstreams and servers) and [`Conf::render`] writes it; nothing else formats nginx
//! text. Later parts of the gateway (TLS, ModSecurity, API keys) add directives to the typed
//! parts they concern ([`Server::tls`], [`Conf::http`], [`Location::directives`]) instead of
//! editing text.

use std::fmt::Write as _;

/// One directive: a name, its arguments, and a block for those that open one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// The directive's name (`proxy_pass`).
    pub name: String,
    /// Its arguments, each written quoted when it needs to be.
    pub args: Vec<String>,
    /// The block of a block directive (`map`, `if`), `None` for a simple one.
    pub block: Option<Vec<Directive>>,
}

impl Directive {
    /// A simple directive.
    pub fn new<I, S>(name: &str, args: I) -> Directive
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Directive {
            name: name.to_owned(),
            args: args.into_iter().map(Into::into).collect(),
            block: None,
        }
    }

    /// A block directive.
    pub fn block<I, S>(name: &str, args: I, block: Vec<Directive>) -> Directive
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Directive {
            block: Some(block),
            ..Directive::new(name, args)
        }
    }
}

/// An `upstream` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// The group's name, used by `proxy_pass http://NAME`.
    pub name: String,
    /// Directives before the servers (`least_conn`).
    pub balance: Vec<Directive>,
    /// One `server` directive per member.
    pub servers: Vec<Directive>,
    /// Directives after the servers (`keepalive`).
    pub tail: Vec<Directive>,
}

/// A `location` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// What follows `location` (`= /v1/models`, `/ollama/`, `@vllm_x`).
    pub matcher: String,
    /// Its directives, in order.
    pub directives: Vec<Directive>,
}

/// TLS of a server block, filled by the TLS part of the gateway.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tls {
    /// `ssl_*` directives, written after `listen`.
    pub directives: Vec<Directive>,
}

/// A `server` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// `listen` arguments, one directive each (`80 default_server`).
    pub listen: Vec<Vec<String>>,
    /// `server_name` arguments.
    pub names: Vec<String>,
    /// TLS, when the server terminates it.
    pub tls: Option<Tls>,
    /// Server-level directives (headers, body limits, error pages).
    pub directives: Vec<Directive>,
    /// Its locations, in order.
    pub locations: Vec<Location>,
}

/// A whole `nginx.conf`: the main context, `events` and `http`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conf {
    /// Comment lines at the top (without `# `).
    pub header: Vec<String>,
    /// Main-context directives (`user`, `pid`, `include` of the modules).
    pub main: Vec<Directive>,
    /// The `events` block.
    pub events: Vec<Directive>,
    /// `http`-level directives before the upstreams (zones, maps, logs, `js_import`).
    pub http: Vec<Directive>,
    /// The upstream groups.
    pub upstreams: Vec<Upstream>,
    /// The servers.
    pub servers: Vec<Server>,
}

impl Conf {
    /// The configuration as nginx reads it.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for line in &self.header {
            let _ = writeln!(out, "# {line}");
        }
        if !self.header.is_empty() {
            out.push('\n');
        }
        write_directives(&mut out, 0, &self.main);
        out.push('\n');
        write_directives(
            &mut out,
            0,
            &[Directive::block("events", [""; 0], self.events.clone())],
        );
        out.push_str("\nhttp {\n");
        write_directives(&mut out, 1, &self.http);
        for upstream in &self.upstreams {
            out.push('\n');
            let mut block = upstream.balance.clone();
            block.extend(upstream.servers.iter().cloned());
            block.extend(upstream.tail.iter().cloned());
            write_directives(
                &mut out,
                1,
                &[Directive::block(
                    "upstream",
                    [upstream.name.as_str()],
                    block,
                )],
            );
        }
        for server in &self.servers {
            out.push('\n');
            write_server(&mut out, server);
        }
        out.push_str("}\n");
        out
    }
}

fn write_server(out: &mut String, server: &Server) {
    out.push_str("    server {\n");
    let mut head: Vec<Directive> = server
        .listen
        .iter()
        .map(|args| Directive::new("listen", args.iter().cloned()))
        .collect();
    head.push(Directive::new("server_name", server.names.iter().cloned()));
    if let Some(tls) = &server.tls {
        head.extend(tls.directives.iter().cloned());
    }
    head.extend(server.directives.iter().cloned());
    write_directives(out, 2, &head);
    for location in &server.locations {
        out.push('\n');
        write_directives(
            out,
            2,
            &[Directive::block(
                "location",
                [location.matcher.as_str()],
                location.directives.clone(),
            )],
        );
    }
    out.push_str("    }\n");
}

fn write_directives(out: &mut String, depth: usize, directives: &[Directive]) {
    let indent = "    ".repeat(depth);
    for directive in directives {
        out.push_str(&indent);
        out.push_str(&directive.name);
        for arg in &directive.args {
            out.push(' ');
            // A location matcher (`= /x`) is written as given: it is two words by design.
            if directive.name == "location" {
                out.push_str(arg);
            } else {
                out.push_str(&quote(arg));
            }
        }
        match &directive.block {
            None => out.push_str(";\n"),
            Some(block) => {
                out.push_str(" {\n");
                write_directives(out, depth + 1, block);
                out.push_str(&indent);
                out.push_str("}\n");
            }
        }
    }
}

/// An argument as nginx's tokenizer reads it back: bare when it holds nothing special, else in
/// single quotes with `'` and `\` escaped.
pub fn quote(arg: &str) -> String {
    let bare = !arg.is_empty()
        && !arg
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '"' | '\'' | ';' | '{' | '}' | '#' | '\\'));
    if bare {
        return arg.to_owned();
    }
    let mut quoted = String::with_capacity(arg.len() + 2);
    quoted.push('\'');
    for c in arg.chars() {
        if matches!(c, '\'' | '\\') {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('\'');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_quoted_only_when_nginx_needs_it() {
        let cases = [
            ("least_conn", "least_conn"),
            ("", "''"),
            ("a b", "'a b'"),
            ("{\"x\":1}", "'{\"x\":1}'"),
            ("it's", "'it\\'s'"),
            ("a;b", "'a;b'"),
            ("http://up/", "http://up/"),
        ];
        for (arg, expect) in cases {
            assert_eq!(quote(arg), expect, "{arg}");
        }
    }

    #[test]
    fn a_conf_renders_blocks_indented_in_order() {
        let conf = Conf {
            header: vec!["generated".into()],
            main: vec![Directive::new("pid", ["/run/nginx.pid"])],
            events: vec![Directive::new("worker_connections", ["1024"])],
            http: vec![Directive::new("server_tokens", ["off"])],
            upstreams: vec![Upstream {
                name: "up".into(),
                balance: vec![Directive::new("least_conn", [""; 0])],
                servers: vec![Directive::new("server", ["10.0.0.1:80"])],
                tail: vec![Directive::new("keepalive", ["8"])],
            }],
            servers: vec![Server {
                listen: vec![vec!["80".into()]],
                names: vec!["_".into()],
                tls: None,
                directives: vec![],
                locations: vec![Location {
                    matcher: "= /x".into(),
                    directives: vec![Directive::new("return", ["200", "a b"])],
                }],
            }],
        };
        insta::assert_snapshot!(conf.render(), @r"
        # generated

        pid /run/nginx.pid;

        events {
            worker_connections 1024;
        }

        http {
            server_tokens off;

            upstream up {
                least_conn;
                server 10.0.0.1:80;
                keepalive 8;
            }

            server {
                listen 80;
                server_name _;

                location = /x {
                    return 200 'a b';
                }
            }
        }
        ");
    }
}
