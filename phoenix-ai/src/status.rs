//! `phoenix status`'s table of services: container, endpoint, state, model, version, asked
//! with read-only `curl` requests from the node (the health paths, then the version: vLLM
//! `/version`, Ollama `/api/version`, Qdrant `/`; Ollama's models from `/api/tags`).

use phoenix_core::Host;
use phoenix_core::config::ConfigSet;
use serde::Serialize;
use serde_json::Value;

use crate::endpoint::{Endpoint, Service, endpoints_of};
use crate::health::{judge, paths};
use crate::http::{self, Bounds, Response};

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// `951 vllm-granite-embed-r2`.
    pub container: String,
    /// `http://10.0.0.151:8000`.
    pub endpoint: String,
    /// The service.
    pub service: Service,
    /// `healthy`, or why not.
    pub state: String,
    /// Whether healthy.
    pub healthy: bool,
    /// The models it serves (vLLM's `/v1/models`, Ollama's `/api/tags`), comma-separated.
    pub model: String,
    /// The version it reports.
    pub version: String,
}

/// Every service the config declares (any container with the `vllm`, `ollama` or `qdrant`
/// feature and a static address), in container order.
pub fn endpoints(config: &ConfigSet) -> Vec<Endpoint> {
    let all: Vec<&str> = Service::ALL.iter().map(|s| s.feature()).collect();
    phoenix_services::guests(config)
        .values()
        .flat_map(|guest| endpoints_of(guest, &all))
        .collect()
}

/// Asks every service of `config` on `host` (the node).
pub async fn collect(config: &ConfigSet, host: &dyn Host) -> Vec<Row> {
    let mut rows = Vec::new();
    for endpoint in endpoints(config) {
        rows.push(row(&endpoint, host).await);
    }
    rows
}

async fn get(host: &dyn Host, url: &str) -> Response {
    match host.run(&http::get(url, Bounds::default())).await {
        Ok(out) => Response::parse(out.status.unwrap_or(-1), &out.stdout, &out.stderr),
        Err(err) => Response {
            status: None,
            body: String::new(),
            error: Some(err.to_string()),
        },
    }
}

async fn row(endpoint: &Endpoint, host: &dyn Host) -> Row {
    let mut responses = Vec::new();
    for path in paths(endpoint.service) {
        let response = get(host, &endpoint.url(path)).await;
        let failed = !response.ok();
        responses.push((*path, response));
        if failed {
            break;
        }
    }
    let observation = judge(endpoint, &responses);
    let mut models = observation.models.clone();
    let mut version = observation.version.clone();
    if observation.healthy {
        match endpoint.service {
            Service::Vllm => {
                version = field(&get(host, &endpoint.url("/version")).await, "version")
            }
            Service::Ollama => models = ollama_models(&get(host, &endpoint.url("/api/tags")).await),
            Service::Qdrant => version = field(&get(host, &endpoint.url("/")).await, "version"),
        }
    }
    Row {
        container: match &endpoint.name {
            Some(name) => format!("{} {name}", endpoint.vmid),
            None => endpoint.vmid.to_string(),
        },
        endpoint: endpoint.base(),
        service: endpoint.service,
        state: observation.detail.clone(),
        healthy: observation.healthy,
        model: if models.is_empty() {
            "-".to_owned()
        } else {
            models.join(", ")
        },
        version: version.unwrap_or_else(|| "-".to_owned()),
    }
}

fn field(response: &Response, key: &str) -> Option<String> {
    if !response.ok() {
        return None;
    }
    serde_json::from_str::<Value>(&response.body)
        .ok()?
        .get(key)?
        .as_str()
        .map(str::to_owned)
}

/// The model names of Ollama's `/api/tags` (`{"models": [{"name": ...}]}`).
pub fn ollama_models(response: &Response) -> Vec<String> {
    if !response.ok() {
        return Vec::new();
    }
    serde_json::from_str::<Value>(&response.body)
        .ok()
        .and_then(|v| {
            v.get("models")?.as_array().map(|models| {
                models
                    .iter()
                    .filter_map(|m| m.get("name")?.as_str().map(str::to_owned))
                    .collect()
            })
        })
        .unwrap_or_default()
}

/// The rows as a text table with a header (columns padded to their widest cell).
pub fn render(rows: &[Row]) -> String {
    let header = [
        "CONTAINER",
        "SERVICE",
        "ENDPOINT",
        "STATE",
        "MODEL",
        "VERSION",
    ];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.container.clone(),
                r.service.label().to_owned(),
                r.endpoint.clone(),
                http::cut(&r.state, 60),
                r.model.clone(),
                r.version.clone(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            }
        }
        text.trim_end().to_owned() + "\n"
    };
    let mut text = line(&header.map(str::to_owned));
    for row in &cells {
        text.push_str(&line(row));
    }
    text
}
