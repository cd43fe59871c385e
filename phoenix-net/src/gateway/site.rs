//! The gateway's `nginx.conf` as a pure function of a [`Gateway`]: one upstream per service
//! (`least_conn`, keepalive, passive health), the OpenAI routes handed to the njs router, the
//! path routes, the queues and limits, the error answers in OpenAI's JSON, and the security
//! headers. Open-source nginx only: no NGINX Plus directive (`health_check`, `zone` in
//! upstreams for state sharing, `queue`).

use serde_json::json;

use super::nginx::{Conf, Directive, Location, Server, Upstream};
use super::spec::{Gateway, Rate, Route, Service};

/// Where the generated configuration expects nginx's own files; [`Layout::debian`] is Debian 12's
/// nginx package, tests point it into a temporary directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The njs router ([`super::SCRIPT`]).
    pub script: String,
    /// The glob of the module loaders (`load_module` files).
    pub modules: String,
    /// `mime.types`.
    pub mime_types: String,
    /// The directory of the access and error logs.
    pub log_dir: String,
    /// The pid file.
    pub pid: String,
    /// The user the workers run as.
    pub user: String,
}

impl Layout {
    /// Debian 12's nginx.
    pub fn debian() -> Layout {
        Layout {
            script: super::SCRIPT_PATH.to_owned(),
            modules: "/etc/nginx/modules-enabled/*.conf".to_owned(),
            mime_types: "/etc/nginx/mime.types".to_owned(),
            log_dir: "/var/log/nginx".to_owned(),
            pid: "/run/nginx.pid".to_owned(),
            user: "www-data".to_owned(),
        }
    }
}

/// The zone every client's rate is kept in.
const CLIENT_ZONE: &str = "phoenix_clients";

/// The headers every answer carries (`always`: errors too).
const SECURITY_HEADERS: &[(&str, &str)] = &[
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "SAMEORIGIN"),
    ("Referrer-Policy", "no-referrer"),
    ("Content-Security-Policy", "frame-ancestors 'self'"),
    (
        "Permissions-Policy",
        "camera=(), microphone=(), geolocation=()",
    ),
];

/// The generated `nginx.conf`.
pub fn conf(gateway: &Gateway, layout: &Layout) -> Conf {
    Conf {
        header: vec![
            "Written by Phoenix from the config's `gateway`; changes here are overwritten.".into(),
            "Checked with `nginx -t` before it replaces the live file.".into(),
        ],
        main: vec![
            Directive::new("user", [layout.user.as_str()]),
            Directive::new("worker_processes", ["auto"]),
            Directive::new("pid", [layout.pid.as_str()]),
            Directive::new("error_log", [format!("{}/error.log", layout.log_dir)]),
            Directive::new("include", [layout.modules.as_str()]),
        ],
        events: vec![Directive::new("worker_connections", ["1024"])],
        http: http_directives(gateway, layout),
        upstreams: gateway.services.iter().map(upstream).collect(),
        servers: vec![server(gateway)],
    }
}

fn http_directives(gateway: &Gateway, layout: &Layout) -> Vec<Directive> {
    let mut http = vec![
        Directive::new("include", [layout.mime_types.as_str()]),
        Directive::new("default_type", ["application/octet-stream"]),
        Directive::new("server_tokens", ["off"]),
        Directive::new(
            "access_log",
            [format!("{}/access.log", layout.log_dir).as_str()],
        ),
        Directive::new("js_import", ["gateway", "from", layout.script.as_str()]),
        Directive::new("js_var", ["$phoenix_routes", &routes_json(gateway)]),
        Directive::new("js_var", ["$phoenix_models", &models_json(gateway)]),
        Directive::new(
            "js_var",
            [
                "$phoenix_bytes_per_token".to_owned(),
                gateway.bytes_per_token.to_string(),
            ],
        ),
        // The key of every service's queue: one value, so all clients share it.
        Directive::block(
            "map",
            ["$request_method", "$phoenix_queue"],
            vec![Directive::new("default", ["all"])],
        ),
        // Upgrade a connection where the client asks; otherwise keep it alive to the upstream.
        Directive::block(
            "map",
            ["$http_upgrade", "$phoenix_connection"],
            vec![
                Directive::new("default", ["upgrade"]),
                Directive::new("''", [""]),
            ],
        ),
        zone("$binary_remote_addr", CLIENT_ZONE, "10m", gateway.client),
    ];
    for service in &gateway.services {
        http.push(zone(
            "$phoenix_queue",
            &queue_zone(service),
            "1m",
            service.queue,
        ));
    }
    http.push(Directive::new("limit_req_status", ["429"]));
    http.push(Directive::new("limit_req_log_level", ["warn"]));
    http
}

fn zone(key: &str, name: &str, size: &str, rate: Rate) -> Directive {
    Directive::new(
        "limit_req_zone",
        [
            key.to_owned(),
            format!("zone={name}:{size}"),
            format!("rate={}r/s", rate.per_second),
        ],
    )
}

fn queue_zone(service: &Service) -> String {
    format!("queue_{}", service.name)
}

/// `{"model": ["@location", max_model_len]}`, what the router reads from `$phoenix_routes`.
pub fn routes_json(gateway: &Gateway) -> String {
    let mut routes = serde_json::Map::new();
    for service in &gateway.services {
        if let Route::OpenAi { model } = &service.route {
            routes.insert(
                model.name.clone(),
                json!([format!("@{}", service.name), model.max_model_len]),
            );
        }
    }
    serde_json::Value::Object(routes).to_string()
}

/// The answer of `GET /v1/models`, in vLLM's shape.
pub fn models_json(gateway: &Gateway) -> String {
    let data: Vec<_> = gateway
        .services
        .iter()
        .filter_map(|service| match &service.route {
            Route::OpenAi { model } => Some(json!({
                "id": model.name,
                "object": "model",
                "created": 0,
                "owned_by": "vllm",
                "root": model.name,
                "max_model_len": model.max_model_len,
            })),
            Route::Path { .. } => None,
        })
        .collect();
    json!({"object": "list", "data": data}).to_string()
}

fn upstream(service: &Service) -> Upstream {
    Upstream {
        name: service.name.clone(),
        balance: vec![Directive::new("least_conn", [""; 0])],
        servers: service
            .backends
            .iter()
            .map(|backend| {
                let mut args = vec![
                    format!("{}:{}", backend.ip, backend.port),
                    "max_fails=3".to_owned(),
                    "fail_timeout=10s".to_owned(),
                ];
                if let Some(max) = service.max_conns {
                    args.push(format!("max_conns={max}"));
                }
                Directive::new("server", args)
            })
            .collect(),
        tail: vec![
            Directive::new("keepalive", ["16"]),
            Directive::new("keepalive_timeout", ["60s"]),
        ],
    }
}

/// Seconds a client should wait after a 429: the longest time any queue takes to drain.
pub fn retry_after(gateway: &Gateway) -> u32 {
    std::iter::once(gateway.client)
        .chain(gateway.services.iter().map(|s| s.queue))
        .map(|rate| rate.burst.div_ceil(rate.per_second.max(1)).max(1))
        .max()
        .unwrap_or(1)
}

fn headers(extra: &[(&str, &str)]) -> Vec<Directive> {
    SECURITY_HEADERS
        .iter()
        .chain(extra)
        .map(|(name, value)| Directive::new("add_header", [*name, *value, "always"]))
        .collect()
}

/// An answer in OpenAI's error JSON.
fn error_answer(status: u16, message: &str, code: &str, extra: &[(&str, &str)]) -> Vec<Directive> {
    let body = json!({"error": {
        "message": message,
        "type": "invalid_request_error",
        "param": null,
        "code": code,
    }})
    .to_string();
    let mut directives = headers(extra);
    directives.push(Directive::new("default_type", ["application/json"]));
    directives.push(Directive::new("return", [status.to_string(), body]));
    directives
}

fn server(gateway: &Gateway) -> Server {
    let body = gateway.max_body_bytes.to_string();
    let mut directives = vec![
        Directive::new("client_max_body_size", [body.as_str()]),
        // The router reads the body from memory: it must fit one buffer.
        Directive::new("client_body_buffer_size", [body.as_str()]),
        Directive::new("client_body_in_single_buffer", ["on"]),
        Directive::new("error_page", ["413", "@too_large"]),
        Directive::new("error_page", ["429", "@rate_limited"]),
        Directive::new("error_page", ["502", "504", "@unavailable"]),
    ];
    directives.extend(headers(&[]));
    let mut locations = vec![models_location(gateway)];
    for path in ["/v1/chat/completions", "/v1/completions", "/v1/embeddings"] {
        locations.push(Location {
            matcher: format!("= {path}"),
            directives: vec![Directive::new("js_content", ["gateway.route"])],
        });
    }
    for service in &gateway.services {
        locations.push(service_location(gateway, service));
    }
    let retry = retry_after(gateway).to_string();
    locations.extend([
        Location {
            matcher: "@rate_limited".into(),
            directives: error_answer(
                429,
                "Too many requests: the queue is full; retry later.",
                "rate_limit_exceeded",
                &[("Retry-After", retry.as_str())],
            ),
        },
        Location {
            matcher: "@too_large".into(),
            directives: error_answer(
                413,
                &format!(
                    "The request body is larger than {} bytes.",
                    gateway.max_body_bytes
                ),
                "request_too_large",
                &[],
            ),
        },
        Location {
            matcher: "@unavailable".into(),
            directives: error_answer(
                502,
                "No server of this service answered; retry later.",
                "service_unavailable",
                &[],
            ),
        },
        Location {
            matcher: "/".into(),
            directives: error_answer(404, "No route for this path.", "not_found", &[]),
        },
    ]);
    Server {
        listen: vec![vec![gateway.port.to_string(), "default_server".into()]],
        names: gateway.server_names.clone(),
        tls: None,
        directives,
        locations,
    }
}

/// `GET /v1/models`, answered by the router from `$phoenix_models` in the content phase, so the
/// client's rate limit (preaccess) and ModSecurity apply as on every other API route; a `return`
/// here would answer in the rewrite phase, before both.
fn models_location(gateway: &Gateway) -> Location {
    let mut directives = vec![Directive::new(
        "limit_req",
        [
            format!("zone={CLIENT_ZONE}"),
            format!("burst={}", gateway.client.burst),
        ],
    )];
    // Generated from the config: clients and caches may keep it for a minute.
    directives.extend(headers(&[("Cache-Control", "public, max-age=60")]));
    directives.push(Directive::new("js_content", ["gateway.models"]));
    Location {
        matcher: "= /v1/models".into(),
        directives,
    }
}

fn service_location(gateway: &Gateway, service: &Service) -> Location {
    let mut directives = vec![
        Directive::new(
            "limit_req",
            [
                format!("zone={CLIENT_ZONE}"),
                format!("burst={}", gateway.client.burst),
            ],
        ),
        // No `nodelay`: excess requests wait their turn, up to `burst`; one more gets 429.
        Directive::new(
            "limit_req",
            [
                format!("zone={}", queue_zone(service)),
                format!("burst={}", service.queue.burst),
            ],
        ),
    ];
    let (matcher, target, websocket, streaming) = match &service.route {
        Route::OpenAi { .. } => (
            format!("@{}", service.name),
            format!("http://{}", service.name),
            false,
            true,
        ),
        Route::Path {
            prefix,
            websocket,
            streaming,
        } => (
            prefix.clone(),
            format!("http://{}/", service.name),
            *websocket,
            *streaming,
        ),
    };
    directives.extend([
        Directive::new("proxy_pass", [target]),
        Directive::new("proxy_http_version", ["1.1"]),
        Directive::new("proxy_set_header", ["Host", "$host"]),
        Directive::new("proxy_set_header", ["X-Real-IP", "$remote_addr"]),
        Directive::new(
            "proxy_set_header",
            ["X-Forwarded-For", "$proxy_add_x_forwarded_for"],
        ),
        Directive::new("proxy_set_header", ["X-Forwarded-Proto", "$scheme"]),
    ]);
    if websocket {
        directives.push(Directive::new(
            "proxy_set_header",
            ["Upgrade", "$http_upgrade"],
        ));
        directives.push(Directive::new(
            "proxy_set_header",
            ["Connection", "$phoenix_connection"],
        ));
    } else {
        directives.push(Directive::new("proxy_set_header", ["Connection", ""]));
    }
    directives.extend([
        Directive::new(
            "proxy_next_upstream",
            ["error", "timeout", "http_502", "http_503"],
        ),
        Directive::new("proxy_connect_timeout", ["5s"]),
    ]);
    if streaming {
        directives.extend([
            Directive::new("proxy_buffering", ["off"]),
            Directive::new("proxy_request_buffering", ["on"]),
            Directive::new("proxy_read_timeout", ["600s"]),
            Directive::new("proxy_send_timeout", ["600s"]),
        ]);
    }
    Location {
        matcher,
        directives,
    }
}

#[cfg(test)]
mod tests {
    use super::super::nginx::Location;
    use super::super::samples;
    use super::*;

    fn names(location: &Location) -> Vec<&str> {
        location
            .directives
            .iter()
            .map(|d| d.name.as_str())
            .collect()
    }

    #[test]
    fn issue_13_models_is_rate_limited_and_answered_after_the_waf_and_kept_cacheable() {
        let conf = conf(&samples::lab(), &Layout::debian());
        let server = &conf.servers[0];
        let models = server
            .locations
            .iter()
            .find(|l| l.matcher == "= /v1/models")
            .expect("the models location");
        // The client's limit, then the answer in the content phase: no `return` or `if` (the
        // rewrite phase answers before limit_req and ModSecurity ever run).
        let shape = names(models);
        assert_eq!(shape.first(), Some(&"limit_req"), "{shape:?}");
        assert_eq!(shape.last(), Some(&"js_content"), "{shape:?}");
        assert!(
            shape[1..shape.len() - 1].iter().all(|n| *n == "add_header"),
            "{shape:?}"
        );
        assert_eq!(
            models.directives[0].args,
            [format!("zone={CLIENT_ZONE}"), "burst=40".to_owned()]
        );
        assert_eq!(
            models.directives.last().map(|d| d.args.clone()),
            Some(vec!["gateway.models".to_owned()])
        );
        assert!(
            models
                .directives
                .iter()
                .any(|d| d.args == ["Cache-Control", "public, max-age=60", "always"]),
            "{models:?}"
        );
        // Every proxied route has the same client limit; none answers in the rewrite phase.
        for location in server.locations.iter().filter(|l| {
            l.directives.iter().any(|d| d.name == "proxy_pass") || l.matcher == "= /v1/models"
        }) {
            assert_eq!(location.directives[0], models.directives[0], "{location:?}");
            assert!(!names(location).contains(&"return"), "{location:?}");
        }
        // The list the router answers with comes from the config.
        let listed = conf
            .http
            .iter()
            .find(|d| d.name == "js_var" && d.args[0] == "$phoenix_models")
            .expect("js_var $phoenix_models");
        assert_eq!(listed.args[1], models_json(&samples::lab()));
        assert!(listed.args[1].contains("\"id\":\"granite-embed-r2\""));
    }
}
