//! Stand-ins of the AI services' HTTP APIs (not the services): what vLLM, Ollama and Qdrant
//! answer to the requests Phoenix makes, with the real JSON shapes (vLLM's
//! `vllm/entrypoints/openai/protocol.py`, Ollama's `docs/api.md`, Qdrant's OpenAPI), so the
//! simulated node's `curl` and the test suite's HTTP stand-in servers answer alike.
//!
//! A vLLM that is `loading` refuses connections (its server listens only once the engine is
//! ready); a `dead` one answers `/health` with 503 and an empty body (`EngineDeadError`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The state of one stand-in service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StandIn {
    /// `vllm`, `ollama` or `qdrant`.
    pub service: String,
    /// `ready`, `loading` (connections refused) or `dead` (vLLM: `/health` 503; Qdrant:
    /// `/readyz` 503).
    #[serde(default = "ready")]
    pub state: String,
    /// The models served (vLLM's served names; Ollama's tags).
    #[serde(default)]
    pub models: Vec<String>,
    /// The version it reports.
    #[serde(default)]
    pub version: String,
    /// vLLM: the embedding dimension (0: not an embedding model).
    #[serde(default)]
    pub dimension: usize,
    /// Qdrant: collections by name, each a map of point id to vector.
    #[serde(default)]
    pub collections: BTreeMap<String, BTreeMap<u64, Vec<f64>>>,
    /// Requests answered, by `METHOD PATH`.
    #[serde(default)]
    pub requests: BTreeMap<String, u64>,
}

fn ready() -> String {
    "ready".to_owned()
}

/// What a stand-in answers: `None` when the connection is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The body.
    pub body: String,
    /// `application/json` or `text/plain`.
    pub content_type: &'static str,
    /// Whether the request changed the stand-in (a collection made, filled or deleted).
    pub changed: bool,
}

fn answer(status: u16, body: Value) -> Option<Answer> {
    Some(Answer {
        status,
        body: body.to_string(),
        content_type: "application/json",
        changed: false,
    })
}

fn qdrant_ok(result: Value) -> Option<Answer> {
    answer(
        200,
        json!({"result": result, "status": "ok", "time": 0.000_512}),
    )
}

fn qdrant_error(status: u16, message: String) -> Option<Answer> {
    answer(
        status,
        json!({"status": {"error": message}, "time": 0.000_034}),
    )
}

impl StandIn {
    /// A stand-in of `service` (`vllm`, `ollama`, `qdrant`), ready.
    pub fn new(service: &str) -> StandIn {
        StandIn {
            service: service.to_owned(),
            state: ready(),
            models: Vec::new(),
            version: String::new(),
            dimension: 0,
            collections: BTreeMap::new(),
            requests: BTreeMap::new(),
        }
    }

    /// Answers `method path` with `body`.
    pub fn respond(&mut self, method: &str, path: &str, body: &str) -> Option<Answer> {
        if self.state == "loading" {
            return None;
        }
        *self.requests.entry(format!("{method} {path}")).or_default() += 1;
        match self.service.as_str() {
            "vllm" => self.vllm(method, path, body),
            "ollama" => self.ollama(method, path),
            "qdrant" => self.qdrant(method, path, body),
            _ => None,
        }
    }

    fn vllm(&self, method: &str, path: &str, body: &str) -> Option<Answer> {
        let dead = self.state == "dead";
        match (method, path) {
            ("GET", "/health") => Some(Answer {
                status: if dead { 503 } else { 200 },
                body: String::new(),
                content_type: "application/json",
                changed: false,
            }),
            ("GET", "/version") => answer(200, json!({"version": self.version})),
            ("GET", "/v1/models") => answer(
                200,
                json!({"object": "list", "data": self.models.iter().map(|m| json!({
                    "id": m, "object": "model", "created": 1_764_892_800, "owned_by": "vllm",
                    "root": m, "parent": null, "max_model_len": 1024,
                    "permission": [{"id": "modelperm-0", "object": "model_permission",
                        "created": 1_764_892_800, "allow_create_engine": false,
                        "allow_sampling": true, "allow_logprobs": true,
                        "allow_search_indices": false, "allow_view": true,
                        "allow_fine_tuning": false, "organization": "*", "group": null,
                        "is_blocking": false}]
                })).collect::<Vec<_>>()}),
            ),
            ("POST", "/v1/embeddings") if self.dimension > 0 => {
                let request: Value = serde_json::from_str(body).unwrap_or(Value::Null);
                let model = request.get("model").and_then(Value::as_str).unwrap_or("");
                if !self.models.iter().any(|m| m == model) {
                    return answer(
                        404,
                        json!({"object": "error", "message": format!("The model `{model}` does not exist."),
                               "type": "NotFoundError", "param": null, "code": 404}),
                    );
                }
                let inputs: Vec<String> = match request.get("input") {
                    Some(Value::String(s)) => vec![s.clone()],
                    Some(Value::Array(items)) => items
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect(),
                    _ => Vec::new(),
                };
                let tokens: usize = inputs
                    .iter()
                    .map(|i| i.split_whitespace().count() + 2)
                    .sum();
                answer(
                    200,
                    json!({
                        "id": "embd-5b3b2a1f0c9e4d7a8b6c5d4e3f2a1b0c",
                        "object": "list",
                        "created": 1_764_892_800,
                        "model": model,
                        "data": inputs.iter().enumerate().map(|(i, text)| json!({
                            "index": i, "object": "embedding",
                            "embedding": embed(text, self.dimension)
                        })).collect::<Vec<_>>(),
                        "usage": {"prompt_tokens": tokens, "total_tokens": tokens,
                                  "completion_tokens": 0, "prompt_tokens_details": null}
                    }),
                )
            }
            _ => answer(404, json!({"detail": "Not Found"})),
        }
    }

    fn ollama(&self, method: &str, path: &str) -> Option<Answer> {
        match (method, path) {
            ("GET", "/") => Some(Answer {
                status: 200,
                body: "Ollama is running".to_owned(),
                content_type: "text/plain",
                changed: false,
            }),
            ("GET", "/api/version") => answer(200, json!({"version": self.version})),
            ("GET", "/api/tags") => answer(
                200,
                json!({"models": self.models.iter().map(|m| json!({
                    "name": m, "model": m, "modified_at": "2026-12-05T20:00:00.000000000Z",
                    "size": 4_661_224_676_u64,
                    "digest": "365c0bd3c000a25d28ddbf732fe1c6add414de7275464c4e4d1c3b5fcb5d8ad1",
                    "details": {"parent_model": "", "format": "gguf", "family": "llama",
                                "families": ["llama"], "parameter_size": "8.0B",
                                "quantization_level": "Q4_0"}
                })).collect::<Vec<_>>()}),
            ),
            _ => Some(Answer {
                status: 404,
                body: "404 page not found".to_owned(),
                content_type: "text/plain",
                changed: false,
            }),
        }
    }

    fn qdrant(&mut self, method: &str, path: &str, body: &str) -> Option<Answer> {
        let (route, _query) = path.split_once('?').unwrap_or((path, ""));
        let segments: Vec<&str> = route.trim_start_matches('/').split('/').collect();
        let request: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        match (method, segments.as_slice()) {
            ("GET", ["readyz"]) if self.state == "dead" => Some(Answer {
                status: 503,
                body: "some shards are not ready".to_owned(),
                content_type: "text/plain",
                changed: false,
            }),
            ("GET", ["readyz"]) => Some(Answer {
                status: 200,
                body: "all shards are ready".to_owned(),
                content_type: "text/plain",
                changed: false,
            }),
            ("GET", [""]) => answer(
                200,
                json!({"title": "qdrant - vector search engine", "version": self.version,
                       "commit": "4f5b9a7d3c2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a"}),
            ),
            ("PUT", ["collections", name]) => {
                if self.collections.contains_key(*name) {
                    return qdrant_error(
                        409,
                        format!("Wrong input: Collection `{name}` already exists!"),
                    );
                }
                self.collections.insert((*name).to_owned(), BTreeMap::new());
                qdrant_ok(json!(true)).map(changed)
            }
            ("DELETE", ["collections", name]) => {
                let existed = self.collections.remove(*name).is_some();
                qdrant_ok(json!(existed)).map(|a| if existed { changed(a) } else { a })
            }
            ("PUT", ["collections", name, "points"]) => {
                let Some(points) = self.collections.get_mut(*name) else {
                    return qdrant_error(
                        404,
                        format!("Not found: Collection `{name}` doesn't exist!"),
                    );
                };
                for point in request
                    .get("points")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let id = point.get("id").and_then(Value::as_u64).unwrap_or(0);
                    let vector: Vec<f64> = point
                        .get("vector")
                        .and_then(Value::as_array)
                        .map(|v| v.iter().filter_map(Value::as_f64).collect())
                        .unwrap_or_default();
                    points.insert(id, vector);
                }
                qdrant_ok(json!({"operation_id": 0, "status": "completed"})).map(changed)
            }
            ("POST", ["collections", name, "points", "search"]) => {
                let Some(points) = self.collections.get(*name) else {
                    return qdrant_error(
                        404,
                        format!("Not found: Collection `{name}` doesn't exist!"),
                    );
                };
                let query: Vec<f64> = request
                    .get("vector")
                    .and_then(Value::as_array)
                    .map(|v| v.iter().filter_map(Value::as_f64).collect())
                    .unwrap_or_default();
                let limit = request.get("limit").and_then(Value::as_u64).unwrap_or(10);
                let mut scored: Vec<(u64, f64)> = points
                    .iter()
                    .map(|(id, v)| (*id, cosine(&query, v)))
                    .collect();
                scored.sort_by(|a, b| b.1.total_cmp(&a.1));
                let result: Vec<Value> = scored
                    .into_iter()
                    .take(usize::try_from(limit).unwrap_or(usize::MAX))
                    .map(|(id, score)| json!({"id": id, "version": 0, "score": score}))
                    .collect();
                qdrant_ok(Value::Array(result))
            }
            _ => Some(Answer {
                status: 404,
                body: String::new(),
                content_type: "text/plain",
                changed: false,
            }),
        }
    }
}

fn changed(mut answer: Answer) -> Answer {
    answer.changed = true;
    answer
}

/// A unit vector of `dimension` numbers derived from `text` (the same text, the same vector).
pub fn embed(text: &str, dimension: usize) -> Vec<f64> {
    let mut seed: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        seed = (seed ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    let raw: Vec<f64> = (0..dimension)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % 2_000) as f64 / 1_000.0 - 1.0
        })
        .collect();
    let norm = raw
        .iter()
        .map(|x| x * x)
        .sum::<f64>()
        .sqrt()
        .max(f64::EPSILON);
    raw.iter().map(|x| x / norm).collect()
}

fn cosine(a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f64>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f64>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}
