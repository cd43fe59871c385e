//! The config adapter, table-tested: services found from the containers, pools, and each error
//! at its JSON path.

use std::path::PathBuf;

use phoenix_core::config::{ConfigSet, Document};
use serde_json::{Value, json};

use super::super::spec::{Gateway, Route};
use super::{RawGateway, containers, declared};

fn config_of(lxc: Value, gateway: Value) -> ConfigSet {
    let text = json!({"lxc_configs": lxc, "gateway": gateway}).to_string();
    let document = Document::parse(PathBuf::from("config.json"), text).expect("valid JSON");
    ConfigSet::from_documents(vec![document])
}

/// The gateway of `lxc` and `gateway`, or the problems as `path: message` lines.
fn gateway_of(config: &ConfigSet) -> Result<Gateway, Vec<String>> {
    let section = config
        .sections()
        .find(|s| s.key == "gateway")
        .expect("a gateway section");
    let raw: RawGateway = serde_json::from_value(section.value.clone()).expect("a raw gateway");
    let (declared, problems) = declared(raw, &section, &containers(config));
    let problems: Vec<String> = problems
        .into_iter()
        .map(|p| {
            let severity = if p.warning { "warning: " } else { "" };
            format!("{severity}{}: {}", p.at.path, p.message)
        })
        .collect();
    match declared {
        Some(declared) if problems.is_empty() => Ok(declared.gateway),
        _ => Err(problems),
    }
}

fn ct(ip: &str, extra: Value) -> Value {
    let mut entry = json!({"name": "x", "network_config": {"ip": ip}});
    for (key, value) in extra.as_object().expect("an object") {
        entry[key] = value.clone();
    }
    entry
}

fn engine(name: &str, model: &str, len: u32, port: u16) -> Value {
    json!({"vllm_engine_config": {
        "ModelConfig": {"model": model, "max_model_len": len, "dtype": "auto"},
        "ServerConfig": {"host": "0.0.0.0", "port": port, "served_model_name": name}
    }})
}

/// The upstream 0017fa8 containers behind a gateway on 101 with Ollama (803) and Qdrant (952).
pub(crate) fn upstream_0017fa8() -> Gateway {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/upstream/0017fa8__etc__phoenix_lxc_configs.json");
    let text = std::fs::read_to_string(&path).expect("the upstream 0017fa8 lxc configs");
    let mut value: Value = serde_json::from_str(&text).expect("JSON");
    value["gateway"] = json!({"container": 101, "routes": [
        {"container": 803, "kind": "ollama"},
        {"container": 952, "kind": "qdrant"}
    ]});
    let document = Document::parse(path, value.to_string()).expect("JSON");
    gateway_of(&ConfigSet::from_documents(vec![document])).expect("a gateway")
}

#[test]
fn issue_13_the_upstream_0017fa8_services_become_upstreams_and_pools() {
    let gateway = upstream_0017fa8();
    let summary: Vec<String> = gateway
        .services
        .iter()
        .map(|s| {
            let servers: Vec<String> = s
                .backends
                .iter()
                .map(|b| format!("{}={}:{}", b.container, b.ip, b.port))
                .collect();
            let route = match &s.route {
                Route::OpenAi { model } => {
                    format!("model {} ({})", model.name, model.max_model_len)
                }
                Route::Path { prefix, .. } => format!("path {prefix}"),
            };
            format!("{}: {route} -> {}", s.name, servers.join(" "))
        })
        .collect();
    // The templates 910-912 serve nothing; 801 and 951 serve one name with one engine: a pool.
    insta::assert_snapshot!(summary.join("\n"), @r"
    vllm_qwen3_4b_fp8: model Qwen3-4B-FP8 (2048) -> 802=10.0.0.142:8000
    vllm_ibm_granite_granite_embedding_english_r2: model ibm-granite/granite-embedding-english-r2 (1024) -> 801=10.0.0.141:8000 951=10.0.0.151:8000
    vllm_qwen2_5_7b_awq: model qwen2.5-7b-awq (4096) -> 950=10.0.0.150:8000
    ollama_803: path /ollama/ -> 803=10.0.0.155:11434
    qdrant_952: path /qdrant/ -> 952=10.0.0.152:6333
    ");
}

#[test]
fn issue_13_containers_serving_one_model_with_one_engine_are_one_pool() {
    let config = config_of(
        json!({
            "101": ct("10.0.0.153/24", json!({})),
            "961": ct("10.0.0.161/24", engine("embed", "m", 512, 8000)),
            "962": ct("10.0.0.162/24", engine("embed", "m", 512, 8001)),
        }),
        json!({"container": 101, "max_conns": 4}),
    );
    let gateway = gateway_of(&config).expect("a gateway");
    assert_eq!(gateway.services.len(), 1);
    let pool = &gateway.services[0];
    assert_eq!(pool.name, "vllm_embed");
    assert_eq!(pool.max_conns, Some(4));
    let servers: Vec<_> = pool
        .backends
        .iter()
        .map(|b| format!("{}:{}", b.ip, b.port))
        .collect();
    assert_eq!(servers, ["10.0.0.161:8000", "10.0.0.162:8001"]);
}

#[test]
fn issue_13_each_config_error_is_reported_at_its_json_path() {
    let base = || {
        json!({
            "101": ct("10.0.0.153/24", json!({})),
            "951": ct("10.0.0.151/24", engine("embed", "m", 512, 8000)),
            "955": ct("dhcp", json!({})),
        })
    };
    let cases: Vec<(&str, Value, Value, &[&str])> = vec![
        (
            "one model name, two engines",
            {
                let mut lxc = base();
                lxc["952"] = ct("10.0.0.152/24", engine("embed", "m", 1024, 8000));
                lxc
            },
            json!({"container": 101}),
            &[
                "lxc_configs.\"952\".vllm_engine_config: container 952 serves \"embed\" like container 951 but with another engine (max_model_len 512 and 1024); replicas of one model must run the same engine, or serve another name",
            ],
        ),
        (
            "a route to a container not in the config",
            base(),
            json!({"container": 101, "routes": [{"container": 954, "kind": "http", "path": "/n8n/", "port": 5678}]}),
            &[
                "gateway.routes[0].container: container 954 is not in lxc_configs; a route needs a declared container",
            ],
        ),
        (
            "the gateway's own container not in the config",
            base(),
            json!({"container": 102}),
            &[
                "gateway.container: container 102 is not in lxc_configs (or is marked absent); expected the id of the container nginx runs in",
            ],
        ),
        (
            "a route to a container without a static address",
            base(),
            json!({"container": 101, "routes": [{"container": 955, "kind": "ollama"}]}),
            &[
                "gateway.routes[0].container: container 955 has no static IPv4 address in network_config.ip; the gateway needs one to reach it",
            ],
        ),
        (
            "a path twice, a path under /v1/, an http route without a path",
            base(),
            json!({"container": 101, "routes": [
                {"container": 951, "kind": "qdrant"},
                {"container": 951, "kind": "http", "path": "/qdrant/", "port": 1},
                {"container": 951, "kind": "http", "path": "/v1/x/", "port": 1},
                {"container": 951, "kind": "http", "port": 1},
                {"container": 951, "kind": "http", "path": "/a b/", "port": 1}
            ]}),
            &[
                "gateway.routes[1].path: /qdrant/ is already the path of gateway.routes[0]",
                "gateway.routes[2].path: /v1/x/ is under /v1/, which the OpenAI routes own",
                "gateway.routes[3].path: an http route needs a path such as \"/n8n/\"",
                "gateway.routes[4].path: \"/a b/\" is not a route path; expected one such as \"/n8n/\" (starting and ending with /)",
            ],
        ),
        (
            "limits of zero and a bad server name",
            base(),
            json!({"container": 101, "queue": {"rate_per_second": 0, "burst": 1},
                   "bytes_per_token": 0, "server_names": ["a;b"]}),
            &[
                "gateway.server_names[0]: \"a;b\" is not a server name; expected a host name, an address, `*.domain` or `_`",
                "gateway.queue: expected rate_per_second and burst of at least 1 (burst is how many requests wait)",
                "gateway.bytes_per_token: expected at least 1",
            ],
        ),
        (
            "a route to a container marked absent (the route is left out, with a warning)",
            {
                let mut lxc = base();
                lxc["952"] = ct("10.0.0.152/24", json!({"ensure": "absent"}));
                lxc
            },
            json!({"container": 101, "routes": [{"container": 952, "kind": "qdrant"}]}),
            &[
                "warning: gateway.routes[0].container: container 952 is marked absent: its route is left out of the gateway",
            ],
        ),
        (
            "a vLLM server without max_model_len",
            {
                let mut lxc = base();
                lxc["953"] = ct("10.0.0.159/24", json!({"vllm_served_model_name": "x"}));
                lxc
            },
            json!({"container": 101}),
            &[
                "lxc_configs.\"953\".vllm_served_model_name: container 953's vLLM server has no max_model_len; the gateway needs it to refuse prompts that cannot fit",
            ],
        ),
    ];
    for (name, lxc, gateway, expect) in cases {
        let problems = gateway_of(&config_of(lxc, gateway)).expect_err(name);
        assert_eq!(problems, expect, "{name}");
    }
}
