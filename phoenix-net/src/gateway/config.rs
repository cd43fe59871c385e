//! The config's `gateway` (a top-level key) and the services it fronts, read from the containers'
//! own entries in `lxc_configs` (through [`DecodeCx::config`]; phoenix-lxc owns that key), so no
//! address, port or model name is typed twice.
//!
//! ```json
//! "gateway": {
//!   "container": 101,
//!   "server_names": ["api.phoenix.lab"],
//!   "port": 80,
//!   "max_body_kb": 1024,
//!   "bytes_per_token": 6,
//!   "client_limit": {"rate_per_second": 20, "burst": 40},
//!   "queue": {"rate_per_second": 10, "burst": 20},
//!   "max_conns": 8,
//!   "routes": [
//!     {"container": 955, "kind": "ollama"},
//!     {"container": 952, "kind": "qdrant"},
//!     {"container": 954, "kind": "http", "path": "/n8n/", "port": 5678, "websocket": true}
//!   ]
//! }
//! ```
//!
//! Every present container of `lxc_configs` that serves a vLLM model (`vllm_engine_config`, or
//! upstream's flat `vllm_*` keys) and is not a template (`template_snapshot_name`) is a server of
//! the upstream of its served model name: several containers with one name are replicas of one
//! pool, and must run the same engine (model, `max_model_len`, quantization, tensor parallelism,
//! dtype). `routes` adds Ollama (`/ollama/`, port 11434), Qdrant (`/qdrant/`, port 6333) and any
//! other HTTP service at a path; a route's port is its `port`, else the container's first
//! `ports` entry, else the service's default.
//!
//! Errors name their JSON path: a route to a container not in the config or without a static
//! address, two containers serving one model name with different engines, a path given twice or
//! under `/v1/`, a bad limit.
//! (The shared read of the service declarations moves to the `phoenix-services` format crate
//! when it lands; this adapter is what the gateway needs until then.)

use std::collections::BTreeMap;

use phoenix_core::config::{ConfigSet, JsonPath, Section, excerpt};
use phoenix_core::{DecodeCx, Diagnostic, Location};
use serde::Deserialize;
use serde_json::Value;

use super::spec::{Backend, Gateway, Model, Rate, Route, Service, defaults};

/// The gateway's container and the generated configuration's input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    /// The container nginx runs in.
    pub container: u32,
    /// Where `gateway.container` is, for resources' origins.
    pub at: Location,
    /// The generator's input.
    pub gateway: Gateway,
    /// The gateway container's address, when static (the local CA's certificate names it).
    pub ip: Option<String>,
    /// TLS, API keys, ModSecurity and fail2ban ([`super::secure`]).
    pub secure: super::secure::Secure,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGateway {
    container: u32,
    #[serde(default)]
    server_names: Option<Vec<String>>,
    #[serde(default)]
    port: Option<u16>,
    #[serde(default)]
    max_body_kb: Option<u64>,
    #[serde(default)]
    bytes_per_token: Option<u32>,
    #[serde(default)]
    client_limit: Option<RawRate>,
    #[serde(default)]
    queue: Option<RawRate>,
    #[serde(default)]
    max_conns: Option<u32>,
    #[serde(default)]
    routes: Vec<RawRoute>,
    #[serde(default)]
    tls: Option<super::tls::RawTls>,
    #[serde(default)]
    api_keys_file: Option<String>,
    #[serde(default)]
    modsecurity: super::modsecurity::Mode,
    #[serde(default)]
    fail2ban: bool,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRate {
    rate_per_second: u32,
    burst: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Kind {
    Ollama,
    Qdrant,
    Http,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    container: u32,
    kind: Kind,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    port: Option<u16>,
    #[serde(default)]
    websocket: bool,
    #[serde(default)]
    streaming: Option<bool>,
    #[serde(default)]
    queue: Option<RawRate>,
}

/// What the gateway reads of one container.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Container {
    /// The static IPv4 address (without its prefix length), if it has one.
    pub(crate) ip: Option<String>,
    /// The host side of its first `ports` entry.
    pub(crate) first_port: Option<u16>,
    /// A template others are cloned from, not a service.
    pub(crate) template: bool,
    /// Marked `"ensure": "absent"`: no longer served.
    pub(crate) absent: bool,
    /// The vLLM server it runs, if any, or why it cannot be read.
    pub(crate) vllm: Option<Result<Vllm, String>>,
    /// Where its vLLM settings are.
    pub(crate) vllm_at: Location,
}

/// A vLLM server as the gateway needs it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Vllm {
    pub(crate) served_model_name: String,
    pub(crate) port: u16,
    pub(crate) max_model_len: u32,
    /// What replicas of one pool must share.
    pub(crate) engine: BTreeMap<&'static str, Value>,
}

/// The containers of `lxc_configs`, by id (those marked absent flagged).
pub(crate) fn containers(config: &ConfigSet) -> BTreeMap<u32, Container> {
    let mut containers = BTreeMap::new();
    for section in config.sections().filter(|s| s.key == "lxc_configs") {
        let Some(entries) = section.value.as_object() else {
            continue;
        };
        for (key, entry) in entries {
            let Ok(id) = key.parse::<u32>() else {
                continue;
            };
            let mut container = container(&section, key, entry);
            container.absent = entry.get("ensure").and_then(Value::as_str) == Some("absent");
            containers.insert(id, container);
        }
    }
    containers
}

fn container(section: &Section<'_>, key: &str, entry: &Value) -> Container {
    let ip = entry
        .pointer("/network_config/ip")
        .and_then(Value::as_str)
        .and_then(|ip| ip.split('/').next())
        .filter(|ip| ip.parse::<std::net::Ipv4Addr>().is_ok())
        .map(str::to_owned);
    let first_port = entry
        .get("ports")
        .and_then(|p| p.get(0))
        .and_then(Value::as_str)
        .and_then(|p| p.split(':').next())
        .and_then(|p| p.parse().ok());
    let engine_key = if entry.get("vllm_engine_config").is_some() {
        "vllm_engine_config"
    } else {
        "vllm_served_model_name"
    };
    Container {
        ip,
        first_port,
        template: entry.get("template_snapshot_name").is_some(),
        absent: false,
        vllm: vllm(entry),
        vllm_at: section.location_of(&section.path().key(key).key(engine_key)),
    }
}

/// The vLLM server of a container entry: `vllm_engine_config` (`ModelConfig`, `CacheConfig`,
/// `ParallelConfig`, `ServerConfig`) or upstream's flat `vllm_*` keys; vLLM's defaults where a
/// key is absent (port 8000, the model as its served name, dtype `auto`, one GPU).
pub(crate) fn vllm(entry: &Value) -> Option<Result<Vllm, String>> {
    let engine = entry.get("vllm_engine_config");
    let flat = |key: &str| entry.get(key).filter(|v| !v.is_null());
    if engine.is_none() && flat("vllm_model").is_none() && flat("vllm_served_model_name").is_none()
    {
        return None;
    }
    let pick = |section: &str, key: &str, flat_key: &str| -> Option<Value> {
        match engine {
            Some(engine) => engine.get(section).and_then(|s| s.get(key)).cloned(),
            None => flat(flat_key).cloned(),
        }
    };
    let model = pick("ModelConfig", "model", "vllm_model");
    let served = pick(
        "ServerConfig",
        "served_model_name",
        "vllm_served_model_name",
    )
    .or_else(|| model.clone());
    let Some(Value::String(served_model_name)) = served else {
        return Some(Err(
            "has neither a served_model_name nor a model the gateway can route by".into(),
        ));
    };
    let port = match pick("ServerConfig", "port", "vllm_port") {
        None => 8000,
        Some(value) => match value.as_u64().and_then(|p| u16::try_from(p).ok()) {
            Some(port) if port > 0 => port,
            _ => return Some(Err(format!("has port {value}, expected 1 to 65535"))),
        },
    };
    let max_model_len = match pick("ModelConfig", "max_model_len", "vllm_max_model_len") {
        Some(value) => match value.as_u64().and_then(|n| u32::try_from(n).ok()) {
            Some(n) if n > 0 => n,
            _ => {
                return Some(Err(format!(
                    "has max_model_len {value}, expected a count of tokens"
                )));
            }
        },
        None => {
            return Some(Err(
                "has no max_model_len; the gateway needs it to refuse prompts that cannot fit"
                    .into(),
            ));
        }
    };
    let quantization = pick("ModelConfig", "quantization", "vllm_quantization").or_else(|| {
        engine
            .and_then(|e| e.pointer("/CacheConfig/quantization"))
            .cloned()
    });
    let engine_fields = BTreeMap::from([
        ("model", model.unwrap_or(Value::Null)),
        ("max_model_len", Value::from(max_model_len)),
        ("quantization", quantization.unwrap_or(Value::Null)),
        (
            "tensor_parallel_size",
            pick(
                "ParallelConfig",
                "tensor_parallel_size",
                "vllm_tensor_parallel_size",
            )
            .unwrap_or(Value::from(1)),
        ),
        (
            "dtype",
            pick("ModelConfig", "dtype", "vllm_dtype").unwrap_or(Value::from("auto")),
        ),
    ]);
    Some(Ok(Vllm {
        served_model_name,
        port,
        max_model_len,
        engine: engine_fields,
    }))
}

/// A problem at a place in the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub(crate) at: Location,
    pub(crate) message: String,
    /// A warning: the route it names is left out, the rest is generated.
    pub(crate) warning: bool,
}

/// Decodes the `gateway` section; every problem is reported and nothing is returned then.
pub(crate) fn decode(section: &Section<'_>, cx: &mut DecodeCx<'_>) -> Option<Declared> {
    let raw = cx.decode::<RawGateway>(section, &section.path(), section.value)?;
    let containers = containers(cx.config());
    let (declared, problems) = declared(raw, section, &containers);
    for problem in problems {
        let diagnostic = if problem.warning {
            Diagnostic::warning(problem.message)
        } else {
            Diagnostic::error(problem.message)
        };
        cx.report(diagnostic.at(problem.at));
    }
    declared
}

/// The gateway, unless a problem is an error, and every problem (warnings too).
fn declared(
    raw: RawGateway,
    section: &Section<'_>,
    containers: &BTreeMap<u32, Container>,
) -> (Option<Declared>, Vec<Problem>) {
    let root = section.path();
    let mut problems = Vec::new();
    let mut problem = |path: &JsonPath, message: String| {
        problems.push(Problem {
            at: section.location_of(path),
            message,
            warning: false,
        });
    };
    if containers.get(&raw.container).is_none_or(|c| c.absent) {
        problem(
            &root.key("container"),
            format!(
                "container {} is not in lxc_configs (or is marked absent); expected the id of the container nginx runs in",
                raw.container
            ),
        );
    }
    let server_names = raw.server_names.unwrap_or_else(|| vec!["_".to_owned()]);
    for (n, name) in server_names.iter().enumerate() {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '*'))
        {
            problem(
                &root.key("server_names").index(n),
                format!(
                    "{} is not a server name; expected a host name, an address, `*.domain` or `_`",
                    excerpt(name)
                ),
            );
        }
    }
    let mut rate = |value: Option<RawRate>, key: &JsonPath, default: Rate| match value {
        None => default,
        Some(raw) if raw.rate_per_second == 0 || raw.burst == 0 => {
            problem(
                key,
                "expected rate_per_second and burst of at least 1 (burst is how many requests wait)"
                    .into(),
            );
            default
        }
        Some(raw) => Rate {
            per_second: raw.rate_per_second,
            burst: raw.burst,
        },
    };
    let client = rate(
        raw.client_limit,
        &root.key("client_limit"),
        defaults::CLIENT,
    );
    let queue = rate(raw.queue, &root.key("queue"), defaults::QUEUE);
    let mut services = vllm_services(containers, queue, raw.max_conns, &mut problems);
    services.extend(route_services(
        &raw.routes,
        section,
        containers,
        queue,
        raw.max_conns,
        &mut problems,
    ));
    let max_body_bytes = raw
        .max_body_kb
        .map_or(defaults::MAX_BODY_BYTES, |kb| kb.saturating_mul(1024));
    if max_body_bytes == 0 {
        problems.push(Problem {
            at: section.location_of(&root.key("max_body_kb")),
            message: "expected at least 1 (KiB)".into(),
            warning: false,
        });
    }
    let bytes_per_token = raw.bytes_per_token.unwrap_or(defaults::BYTES_PER_TOKEN);
    if bytes_per_token == 0 {
        problems.push(Problem {
            at: section.location_of(&root.key("bytes_per_token")),
            message: "expected at least 1".into(),
            warning: false,
        });
    }
    let port = raw.port.unwrap_or(defaults::PORT);
    let secure = super::secure::check(
        &super::secure::RawSecure {
            tls: raw.tls.clone(),
            api_keys_file: raw.api_keys_file.clone(),
            modsecurity: raw.modsecurity,
            fail2ban: raw.fail2ban,
        },
        port,
    )
    .unwrap_or_else(|found| {
        for (at, message) in found {
            let path = at.split('.').fold(root.clone(), |path, key| path.key(key));
            problems.push(Problem {
                at: section.location_of(&path),
                message,
                warning: false,
            });
        }
        super::secure::Secure::default()
    });
    if problems.iter().any(|p| !p.warning) {
        return (None, problems);
    }
    let declared = Declared {
        container: raw.container,
        at: section.location_of(&root.key("container")),
        gateway: Gateway {
            server_names,
            port,
            max_body_bytes,
            bytes_per_token,
            client,
            services,
        },
        ip: containers.get(&raw.container).and_then(|c| c.ip.clone()),
        secure,
    };
    (Some(declared), problems)
}

/// `name` as an upstream name: lowercase letters, digits and `_`.
fn upstream_name(prefix: &str, name: &str) -> String {
    let mut out = format!("{prefix}_");
    for c in name.chars() {
        out.push(if c.is_ascii_alphanumeric() {
            c.to_ascii_lowercase()
        } else {
            '_'
        });
    }
    out
}

/// One upstream per served model name, every non-template container serving it a replica.
fn vllm_services(
    containers: &BTreeMap<u32, Container>,
    queue: Rate,
    max_conns: Option<u32>,
    problems: &mut Vec<Problem>,
) -> Vec<Service> {
    let mut pools: BTreeMap<String, (u32, Vllm, Vec<Backend>)> = BTreeMap::new();
    for (&id, container) in containers {
        let Some(vllm) = &container.vllm else {
            continue;
        };
        if container.template || container.absent {
            continue;
        }
        let vllm = match vllm {
            Ok(vllm) => vllm,
            Err(message) => {
                problems.push(Problem {
                    at: container.vllm_at.clone(),
                    message: format!("container {id}'s vLLM server {message}"),
                    warning: false,
                });
                continue;
            }
        };
        let Some(ip) = &container.ip else {
            problems.push(Problem {
                at: container.vllm_at.clone(),
                message: format!(
                    "container {id} serves {} but has no static IPv4 address in network_config.ip; the gateway needs one to reach it",
                    excerpt(&vllm.served_model_name)
                ),
                warning: false,
            });
            continue;
        };
        let backend = Backend {
            container: id,
            ip: ip.clone(),
            port: vllm.port,
        };
        match pools.get_mut(&vllm.served_model_name) {
            None => {
                pools.insert(
                    vllm.served_model_name.clone(),
                    (id, vllm.clone(), vec![backend]),
                );
            }
            Some((first, pool, backends)) if pool.engine == vllm.engine => {
                let _ = first;
                backends.push(backend);
            }
            Some((first, pool, _)) => problems.push(Problem {
                at: container.vllm_at.clone(),
                message: format!(
                    "container {id} serves {} like container {first} but with another engine ({}); replicas of one model must run the same engine, or serve another name",
                    excerpt(&vllm.served_model_name),
                    engine_difference(&pool.engine, &vllm.engine)
                ),
                warning: false,
            }),
        }
    }
    let mut services = Vec::new();
    for (name, (_, vllm, backends)) in pools {
        let mut upstream = upstream_name("vllm", &name);
        if services.iter().any(|s: &Service| s.name == upstream) {
            upstream = format!("{upstream}_{}", backends[0].container);
        }
        services.push(Service {
            name: upstream,
            route: Route::OpenAi {
                model: Model {
                    name,
                    max_model_len: vllm.max_model_len,
                },
            },
            backends,
            queue,
            max_conns,
        });
    }
    services
}

fn engine_difference(a: &BTreeMap<&str, Value>, b: &BTreeMap<&str, Value>) -> String {
    a.iter()
        .filter(|(key, value)| b.get(*key) != Some(value))
        .map(|(key, value)| {
            format!(
                "{key} {value} and {}",
                b.get(key).cloned().unwrap_or(Value::Null)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn route_services(
    routes: &[RawRoute],
    section: &Section<'_>,
    containers: &BTreeMap<u32, Container>,
    default_queue: Rate,
    max_conns: Option<u32>,
    problems: &mut Vec<Problem>,
) -> Vec<Service> {
    let mut services = Vec::new();
    let mut prefixes: BTreeMap<String, usize> = BTreeMap::new();
    for (n, route) in routes.iter().enumerate() {
        let at = section.path().key("routes").index(n);
        let mut problem = |path: JsonPath, message: String| {
            problems.push(Problem {
                at: section.location_of(&path),
                message,
                warning: false,
            });
        };
        let Some(container) = containers.get(&route.container) else {
            problem(
                at.key("container"),
                format!(
                    "container {} is not in lxc_configs; a route needs a declared container",
                    route.container
                ),
            );
            continue;
        };
        if container.absent {
            problems.push(Problem {
                at: section.location_of(&at.key("container")),
                message: format!(
                    "container {} is marked absent: its route is left out of the gateway",
                    route.container
                ),
                warning: true,
            });
            continue;
        }
        let Some(ip) = &container.ip else {
            problem(
                at.key("container"),
                format!(
                    "container {} has no static IPv4 address in network_config.ip; the gateway needs one to reach it",
                    route.container
                ),
            );
            continue;
        };
        let (default_prefix, default_port, default_streaming) = match route.kind {
            Kind::Ollama => (Some("/ollama/"), Some(defaults::OLLAMA_PORT), true),
            Kind::Qdrant => (Some("/qdrant/"), Some(defaults::QDRANT_PORT), false),
            Kind::Http => (None, None, false),
        };
        let Some(prefix) = route.path.clone().or(default_prefix.map(str::to_owned)) else {
            problem(
                at.key("path"),
                "an http route needs a path such as \"/n8n/\"".into(),
            );
            continue;
        };
        if let Err(message) = check_prefix(&prefix) {
            problem(at.key("path"), message);
            continue;
        }
        if let Some(first) = prefixes.insert(prefix.clone(), n) {
            problem(
                at.key("path"),
                format!("{prefix} is already the path of gateway.routes[{first}]"),
            );
            continue;
        }
        let Some(port) = route
            .port
            .or(container.first_port)
            .or(default_port)
            .filter(|p| *p > 0)
        else {
            problem(
                at.key("port"),
                format!(
                    "container {} has no ports entry; an http route needs its port",
                    route.container
                ),
            );
            continue;
        };
        let queue = match route.queue {
            None => default_queue,
            Some(raw) if raw.rate_per_second == 0 || raw.burst == 0 => {
                problem(
                    at.key("queue"),
                    "expected rate_per_second and burst of at least 1".into(),
                );
                continue;
            }
            Some(raw) => Rate {
                per_second: raw.rate_per_second,
                burst: raw.burst,
            },
        };
        let kind = match route.kind {
            Kind::Ollama => "ollama",
            Kind::Qdrant => "qdrant",
            Kind::Http => "http",
        };
        services.push(Service {
            name: format!("{kind}_{}", route.container),
            route: Route::Path {
                prefix,
                websocket: route.websocket,
                streaming: route.streaming.unwrap_or(default_streaming),
            },
            backends: vec![Backend {
                container: route.container,
                ip: ip.clone(),
                port,
            }],
            queue,
            max_conns,
        });
    }
    services
}

/// A route's path: `/name/` (letters, digits, `-`, `_`, `.`, more `/`), not under `/v1/`.
fn check_prefix(prefix: &str) -> Result<(), String> {
    let shaped = prefix.len() > 2
        && prefix.starts_with('/')
        && prefix.ends_with('/')
        && !prefix.contains("//")
        && !prefix.contains("..")
        && prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.'));
    if !shaped {
        return Err(format!(
            "{} is not a route path; expected one such as \"/n8n/\" (starting and ending with /)",
            excerpt(prefix)
        ));
    }
    if prefix.starts_with("/v1/") {
        return Err(format!(
            "{prefix} is under /v1/, which the OpenAI routes own"
        ));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests;
