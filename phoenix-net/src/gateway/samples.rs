//! Gateways the tests generate: the lab's services and a pool of four replicas.

use super::spec::{Backend, Gateway, Model, Route, Service, defaults};

fn backend(container: u32, ip: &str, port: u16) -> Backend {
    Backend {
        container,
        ip: ip.to_owned(),
        port,
    }
}

fn openai(name: &str, model: &str, max_model_len: u32, backends: Vec<Backend>) -> Service {
    Service {
        name: name.to_owned(),
        route: Route::OpenAi {
            model: Model {
                name: model.to_owned(),
                max_model_len,
            },
        },
        backends,
        queue: defaults::QUEUE,
        max_conns: None,
    }
}

fn path(name: &str, prefix: &str, websocket: bool, streaming: bool, to: Backend) -> Service {
    Service {
        name: name.to_owned(),
        route: Route::Path {
            prefix: prefix.to_owned(),
            websocket,
            streaming,
        },
        backends: vec![to],
        queue: defaults::QUEUE,
        max_conns: None,
    }
}

/// A gateway of `services` with the defaults.
pub(crate) fn gateway(services: Vec<Service>) -> Gateway {
    Gateway {
        server_names: vec!["_".to_owned()],
        port: defaults::PORT,
        max_body_bytes: defaults::MAX_BODY_BYTES,
        bytes_per_token: defaults::BYTES_PER_TOKEN,
        client: defaults::CLIENT,
        services,
    }
}

/// The lab: the embedding model on 951, Ollama on 955, Qdrant on 952.
pub(crate) fn lab() -> Gateway {
    gateway(vec![
        openai(
            "vllm_granite_embed_r2",
            "granite-embed-r2",
            1024,
            vec![backend(951, "10.0.0.151", 8000)],
        ),
        path(
            "ollama_955",
            "/ollama/",
            false,
            true,
            backend(955, "10.0.0.155", 11434),
        ),
        path(
            "qdrant_952",
            "/qdrant/",
            false,
            false,
            backend(952, "10.0.0.152", 6333),
        ),
    ])
}

/// A pool of four replicas of one chat model, with `max_conns`, and a WebSocket route.
pub(crate) fn pool_of_four() -> Gateway {
    let backends = (0..4)
        .map(|i| backend(960 + i, &format!("10.0.0.{}", 160 + i), 8000))
        .collect();
    let mut chat = openai("vllm_qwen2_7b_fp8", "qwen2-7b-fp8", 8192, backends);
    chat.max_conns = Some(4);
    gateway(vec![
        chat,
        path(
            "webui_956",
            "/webui/",
            true,
            true,
            backend(956, "10.0.0.156", 8080),
        ),
    ])
}
