//! The services a container serves and where: one [`Endpoint`] per AI feature of a guest
//! (`vllm`, `ollama`, `qdrant`), with its address, port, systemd unit and, for vLLM, the model
//! name `/v1/models` must list.
//!
//! The vLLM port and served model name come from `phoenix_services::vllm` (the one model of the
//! server's flags); when its keys have errors (reported by this provider), leniently from
//! `vllm_engine_config.ServerConfig` (or `ModelConfig.model`), else upstream's flat `vllm_port`,
//! `vllm_served_model_name` and `vllm_model`. Ollama's port is `ollama.port`, Qdrant's
//! `qdrant.http_port` (checked by `phoenix_services`). The default ports are the services' own (vLLM
//! 8000, Ollama 11434, Qdrant 6333).

use std::fmt;
use std::net::Ipv4Addr;

use phoenix_services::Guest;
use serde::Serialize;
use serde_json::Value;

/// An AI service Phoenix checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Service {
    /// vLLM's OpenAI-compatible server.
    Vllm,
    /// Ollama.
    Ollama,
    /// Qdrant.
    Qdrant,
}

impl Service {
    /// Every service, in the order checks are listed.
    pub const ALL: [Service; 3] = [Service::Vllm, Service::Ollama, Service::Qdrant];

    /// The guest feature that runs it.
    pub fn feature(self) -> &'static str {
        match self {
            Service::Vllm => "vllm",
            Service::Ollama => "ollama",
            Service::Qdrant => "qdrant",
        }
    }

    /// Its name in messages.
    pub fn label(self) -> &'static str {
        match self {
            Service::Vllm => "vLLM",
            Service::Ollama => "Ollama",
            Service::Qdrant => "Qdrant",
        }
    }

    /// The port it listens on unless configured otherwise.
    pub fn default_port(self) -> u16 {
        match self {
            Service::Vllm => 8000,
            Service::Ollama => 11434,
            Service::Qdrant => 6333,
        }
    }

    /// The systemd unit it runs as in its container.
    pub fn unit(self) -> &'static str {
        match self {
            Service::Vllm => "vllm.service",
            Service::Ollama => "ollama.service",
            Service::Qdrant => "qdrant.service",
        }
    }

    /// The service of a feature name.
    pub fn of_feature(feature: &str) -> Option<Service> {
        Service::ALL.into_iter().find(|s| s.feature() == feature)
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Where one service of one container answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Endpoint {
    /// The service.
    pub service: Service,
    /// The container.
    pub vmid: u32,
    /// The container's name, when it has one.
    pub name: Option<String>,
    /// The container's address.
    pub ip: Ipv4Addr,
    /// The port.
    pub port: u16,
    /// The unit whose journal explains a failure.
    pub unit: String,
    /// For vLLM, the model name `/v1/models` must list.
    pub model: Option<String>,
}

impl Endpoint {
    /// The endpoint of `service` in `guest`; `None` when the guest has no static address.
    pub fn of(guest: &Guest, service: Service) -> Option<Endpoint> {
        let ip = guest.ip?;
        let entry = &guest.entry;
        let (port, model) = match service {
            // The typed server of `phoenix_services::vllm` when its keys read without error,
            // else a lenient reading (phoenix-ai reports the errors).
            Service::Vllm => match phoenix_services::vllm::read(guest).server {
                Some(server) => (
                    Some(server.port),
                    server.served_model_names.first().cloned(),
                ),
                None => (vllm_port(entry), vllm_served_model(entry)),
            },
            // The keys `phoenix_services::{ollama, qdrant}` read and check.
            Service::Ollama => (port_at(entry, "ollama", "port"), None),
            Service::Qdrant => (port_at(entry, "qdrant", "http_port"), None),
        };
        Some(Endpoint {
            service,
            vmid: guest.vmid,
            name: guest.name.clone(),
            ip,
            port: port.unwrap_or(service.default_port()),
            unit: service.unit().to_owned(),
            model,
        })
    }

    /// `http://IP:PORT` and `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}:{}{path}", self.ip, self.port)
    }

    /// `http://IP:PORT`.
    pub fn base(&self) -> String {
        self.url("")
    }

    /// A short name for ids and query names: `951.vllm`.
    pub fn key(&self) -> String {
        format!("{}.{}", self.vmid, self.service.feature())
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} in container {} ({})",
            self.service,
            self.vmid,
            self.base()
        )
    }
}

/// The endpoints of every service of `guest` that `features` includes, in feature order.
pub fn endpoints_of(guest: &Guest, features: &[&str]) -> Vec<Endpoint> {
    guest
        .features
        .iter()
        .filter(|f| features.contains(&f.as_str()))
        .filter_map(|f| Service::of_feature(f))
        .filter_map(|service| Endpoint::of(guest, service))
        .collect()
}

fn section<'a>(entry: &'a Value, name: &str, key: &str) -> Option<&'a Value> {
    entry.get("vllm_engine_config")?.get(name)?.get(key)
}

fn port_at(entry: &Value, key: &str, field: &str) -> Option<u16> {
    entry
        .get(key)?
        .get(field)?
        .as_u64()
        .and_then(|p| u16::try_from(p).ok())
        .filter(|p| *p != 0)
}

fn vllm_port(entry: &Value) -> Option<u16> {
    section(entry, "ServerConfig", "port")
        .or_else(|| entry.get("vllm_port"))
        .and_then(Value::as_u64)
        .and_then(|p| u16::try_from(p).ok())
        .filter(|p| *p != 0)
}

fn vllm_served_model(entry: &Value) -> Option<String> {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    text(section(entry, "ServerConfig", "served_model_name"))
        .or_else(|| text(entry.get("vllm_served_model_name")))
        .or_else(|| text(section(entry, "ModelConfig", "model")))
        .or_else(|| text(entry.get("vllm_model")))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use phoenix_core::config::{ConfigSet, Document};

    use super::*;

    #[test]
    fn ports_and_model_names_come_from_the_engine_config_or_the_flat_keys() {
        let text = r#"{"lxc_configs": {
            "951": {"features": ["vllm"], "network_config": {"ip": "10.0.0.151/24"},
                    "vllm_engine_config": {"ModelConfig": {"model": "ibm-granite/granite-embedding-english-r2"},
                                           "ServerConfig": {"port": 8001, "served_model_name": "granite-embed-r2"}}},
            "950": {"features": ["vllm"], "network_config": {"ip": "10.0.0.150/24"},
                    "vllm_model": "Qwen/Qwen2.5-7B-Instruct-AWQ", "vllm_served_model_name": "qwen2.5-7b-awq"},
            "802": {"features": ["vllm"], "network_config": {"ip": "10.0.0.182/24"},
                    "vllm_engine_config": {"ModelConfig": {"model": "Qwen/Qwen3-4B"}}},
            "955": {"features": ["nvidia", "ollama"], "network_config": {"ip": "10.0.0.155/24"}},
            "956": {"features": ["ollama", "qdrant"], "network_config": {"ip": "10.0.0.156/24"},
                    "ollama": {"port": 11500}, "qdrant": {"http_port": 6400}},
            "952": {"features": ["qdrant"], "network_config": {"ip": "dhcp"}}
        }}"#;
        let document = Document::parse(PathBuf::from("c.json"), text.to_owned()).expect("JSON");
        let guests = phoenix_services::guests(&ConfigSet::from_documents(vec![document]));
        let all = ["vllm", "ollama", "qdrant"];
        let got: Vec<String> = guests
            .values()
            .flat_map(|g| endpoints_of(g, &all))
            .map(|e| format!("{} {} {:?}", e.key(), e.base(), e.model))
            .collect();
        assert_eq!(
            got,
            [
                "802.vllm http://10.0.0.182:8000 Some(\"Qwen/Qwen3-4B\")",
                "950.vllm http://10.0.0.150:8000 Some(\"qwen2.5-7b-awq\")",
                "951.vllm http://10.0.0.151:8001 Some(\"granite-embed-r2\")",
                "955.ollama http://10.0.0.155:11434 None",
                "956.ollama http://10.0.0.156:11500 None",
                "956.qdrant http://10.0.0.156:6400 None",
            ]
        );
        assert!(endpoints_of(&guests[&951], &["ollama"]).is_empty());
    }
}
