//! The embedding round trip (seed §7.4.4): embed a sentence through the vLLM embedding service,
//! upsert it into a scratch Qdrant collection, search it back, and delete the collection, each
//! request a bounded `curl` from the node.
//!
//! It runs after apply when the config's `embedding_round_trip` says so (`after_apply`, true by
//! default) and either service's health check has a change in the run (so a no-op converge runs
//! nothing), and on demand with `phoenix round-trip`. The scratch collection is deleted even when
//! a step after its creation fails.

use async_trait::async_trait;
use phoenix_core::change::{Change, Delta, FieldChange, Step};
use phoenix_core::probe::PathFact;
use phoenix_core::sensitive::Content;
use phoenix_core::{BoxError, Cmd, Ctx, Host, Kind, Resource, ResourceId};
use serde::Serialize;
use serde_json::{Value, json};

use crate::config::RoundTripSpec;
use crate::endpoint::Endpoint;
use crate::error::Error;
use crate::http::{self, Bounds, Response, cut};

/// The kind of [`RoundTripCheck`]: `ai.round_trip`.
pub const KIND: &str = "ai.round_trip";

/// The id of the scratch point.
const POINT_ID: u64 = 1;

/// The round trip between two endpoints.
#[derive(Debug, Clone, PartialEq)]
pub struct RoundTrip {
    /// The vLLM embedding service.
    pub embedding: Endpoint,
    /// Qdrant.
    pub qdrant: Endpoint,
    /// The sentence.
    pub text: String,
    /// The scratch collection.
    pub collection: String,
    /// The bound of each request.
    pub bounds: Bounds,
    /// Qdrant's API key file on the node (`qdrant.api_key_file`), read when the round trip runs.
    pub api_key_file: Option<String>,
}

/// What a successful round trip measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The embedding's dimension.
    pub dimension: usize,
    /// The score Qdrant gave the point found.
    pub score: f64,
    /// The model that embedded the sentence.
    pub model: String,
}

impl RoundTrip {
    /// The round trip of `spec` between `embedding` and `qdrant`.
    pub fn new(spec: &RoundTripSpec, embedding: Endpoint, qdrant: Endpoint) -> RoundTrip {
        RoundTrip {
            embedding,
            qdrant,
            text: spec.text.clone(),
            collection: spec.collection.clone(),
            bounds: Bounds {
                connect_s: 2,
                total_s: spec.timeout_s,
            },
            api_key_file: None,
        }
    }

    /// The round trip reading Qdrant's API key from `file` on the node (`qdrant.api_key_file`).
    pub fn with_api_key_file(mut self, file: Option<String>) -> RoundTrip {
        self.api_key_file = file;
        self
    }

    /// Qdrant's API key as the header it goes in, from the node's root-only file when the config
    /// names one (the checks of `qdrant::api_key::key_from`; messages never quote it).
    async fn api_key_header(&self, host: &dyn Host) -> Result<Option<Content>, Error> {
        let Some(path) = &self.api_key_file else {
            return Ok(None);
        };
        let fail = |reason: String| Error::RoundTrip {
            step: "read the Qdrant API key",
            reason,
        };
        let file = host
            .read_file(std::path::Path::new(path))
            .await
            .map_err(|e| fail(e.to_string()))?;
        let fact = file.map(|f| PathFact {
            file_type: "regular file".to_owned(),
            mode: f.mode,
            owner: f.owner,
            content: Some(f.content),
        });
        let key = crate::qdrant::api_key::key_from(path, fact.as_ref()).map_err(fail)?;
        Ok(Some(Content::sensitive(format!(
            "api-key: {}",
            key.reveal().unwrap_or_default()
        ))))
    }

    /// A request to the scratch collection (`tail` after its URL), with the API key header when
    /// there is one.
    fn to_qdrant(
        &self,
        method: &str,
        tail: &str,
        body: Option<&str>,
        writes: bool,
        key: Option<&Content>,
    ) -> Cmd {
        let url = self.collection_url(tail);
        match key {
            Some(key) => {
                http::send_with_secret_header(method, &url, key, body, writes, self.bounds)
            }
            None => http::send(method, &url, body, writes, self.bounds),
        }
    }

    fn collection_url(&self, tail: &str) -> String {
        self.qdrant
            .url(&format!("/collections/{}{tail}", self.collection))
    }

    /// The requests in order, for the plan (bodies are shown by the commands' stdin; with an API
    /// key file, Qdrant's go as curl's config on a sensitive stdin, the key not read at plan).
    pub fn commands(&self) -> Vec<Cmd> {
        let key = self
            .api_key_file
            .as_ref()
            .map(|file| Content::sensitive(format!("api-key: (from {file})")));
        let key = key.as_ref();
        vec![
            http::send(
                "POST",
                &self.embedding.url("/v1/embeddings"),
                Some(&self.embed_body()),
                false,
                self.bounds,
            ),
            self.to_qdrant("PUT", "", Some("{...}"), true, key),
            self.to_qdrant("PUT", "/points?wait=true", Some("{...}"), true, key),
            self.to_qdrant("POST", "/points/search", Some("{...}"), false, key),
            self.to_qdrant("DELETE", "", None, true, key),
        ]
    }

    fn embed_body(&self) -> String {
        json!({
            "model": self.embedding.model.clone().unwrap_or_default(),
            "input": [self.text],
        })
        .to_string()
    }

    /// Runs the round trip on `host` (the node).
    pub async fn run(&self, host: &dyn Host) -> Result<Report, Error> {
        let key = self.api_key_header(host).await?;
        let key = key.as_ref();
        let model = self.embedding.model.clone().unwrap_or_default();
        let embedded = request(
            host,
            "embed",
            http::send(
                "POST",
                &self.embedding.url("/v1/embeddings"),
                Some(&self.embed_body()),
                false,
                self.bounds,
            ),
        )
        .await?;
        let vector = embedding_of(&embedded).ok_or_else(|| Error::RoundTrip {
            step: "embed",
            reason: format!(
                "expected {{\"data\": [{{\"embedding\": [numbers]}}]}}, got {}",
                embedded.summary()
            ),
        })?;
        let created = request(
            host,
            "create collection",
            self.to_qdrant(
                "PUT",
                "",
                Some(&json!({"vectors": {"size": vector.len(), "distance": "Cosine"}}).to_string()),
                true,
                key,
            ),
        )
        .await?;
        expect_ok("create collection", &created)?;
        let found = self.upsert_and_search(host, &vector, key).await;
        let deleted = request(
            host,
            "delete collection",
            self.to_qdrant("DELETE", "", None, true, key),
        )
        .await
        .and_then(|r| expect_ok("delete collection", &r));
        let score = found?;
        deleted?;
        Ok(Report {
            dimension: vector.len(),
            score,
            model,
        })
    }

    async fn upsert_and_search(
        &self,
        host: &dyn Host,
        vector: &[f64],
        key: Option<&Content>,
    ) -> Result<f64, Error> {
        let upserted = request(
            host,
            "upsert",
            self.to_qdrant(
                "PUT",
                "/points?wait=true",
                Some(
                    &json!({"points": [{"id": POINT_ID, "vector": vector, "payload": {"text": self.text}}]})
                        .to_string(),
                ),
                true,
                key,
            ),
        )
        .await?;
        expect_ok("upsert", &upserted)?;
        let searched = request(
            host,
            "search",
            self.to_qdrant(
                "POST",
                "/points/search",
                Some(&json!({"vector": vector, "limit": 1, "with_payload": true}).to_string()),
                false,
                key,
            ),
        )
        .await?;
        expect_ok("search", &searched)?;
        found_point(&searched.body).ok_or_else(|| Error::RoundTrip {
            step: "search",
            reason: format!(
                "the point upserted (id {POINT_ID}) was not found: {}",
                searched.summary()
            ),
        })
    }
}

/// Runs one request; a failed `curl` or a non-200 answer is an error of `step`.
async fn request(host: &dyn Host, step: &'static str, cmd: Cmd) -> Result<Response, Error> {
    let out = host.run(&cmd).await.map_err(|err| Error::RoundTrip {
        step,
        reason: err.to_string(),
    })?;
    let response = Response::parse(out.status.unwrap_or(-1), &out.stdout, &out.stderr);
    if !response.ok() {
        return Err(Error::RoundTrip {
            step,
            reason: response.summary(),
        });
    }
    Ok(response)
}

/// Qdrant's `{"status": "ok", ...}`.
fn expect_ok(step: &'static str, response: &Response) -> Result<(), Error> {
    let status = serde_json::from_str::<Value>(&response.body)
        .ok()
        .and_then(|v| v.get("status")?.as_str().map(str::to_owned));
    match status.as_deref() {
        Some("ok") => Ok(()),
        _ => Err(Error::RoundTrip {
            step,
            reason: format!(
                "expected {{\"status\": \"ok\"}}, got {}",
                cut(response.body.trim(), 200)
            ),
        }),
    }
}

/// The first embedding of an OpenAI embeddings response.
pub fn embedding_of(response: &Response) -> Option<Vec<f64>> {
    let value: Value = serde_json::from_str(&response.body).ok()?;
    let numbers = value.get("data")?.get(0)?.get("embedding")?.as_array()?;
    let vector: Option<Vec<f64>> = numbers.iter().map(Value::as_f64).collect();
    vector.filter(|v| !v.is_empty())
}

/// The score of the scratch point when it is the first result of a Qdrant search response.
pub fn found_point(body: &str) -> Option<f64> {
    let value: Value = serde_json::from_str(body).ok()?;
    let first = value.get("result")?.get(0)?;
    (first.get("id")?.as_u64()? == POINT_ID).then(|| first.get("score")?.as_f64())?
}

/// The round trip as a resource: nothing to observe, a change only when a health check it is
/// triggered by has one (either service changed or was unhealthy in this run).
#[derive(Debug, Clone)]
pub struct RoundTripCheck {
    round_trip: RoundTrip,
    checks: Vec<ResourceId>,
}

impl RoundTripCheck {
    /// The round trip, after (and triggered by) the health checks `checks`.
    pub fn new(round_trip: RoundTrip, checks: Vec<ResourceId>) -> RoundTripCheck {
        RoundTripCheck { round_trip, checks }
    }
}

#[async_trait]
impl Resource for RoundTripCheck {
    type State = ();

    fn id(&self) -> ResourceId {
        ResourceId::new(Kind::from_static(KIND), "embedding")
    }

    fn depends_on(&self) -> Vec<ResourceId> {
        self.checks.clone()
    }

    async fn inspect(&self, _cx: &Ctx<'_>) -> Result<Option<()>, BoxError> {
        Ok(Some(()))
    }

    fn diff(&self, _observed: Option<&()>) -> Delta {
        Delta::none()
    }

    async fn apply(&self, _change: &Change, cx: &Ctx<'_>) -> Result<(), BoxError> {
        let report = self.round_trip.run(cx.host()).await?;
        tracing::info!(
            dimension = report.dimension,
            score = report.score,
            "embedding round trip: {} embedded a sentence into {} dimensions, Qdrant found it back (score {:.4})",
            report.model,
            report.dimension,
            report.score
        );
        Ok(())
    }

    fn triggered_by(&self) -> Vec<ResourceId> {
        self.checks.clone()
    }

    fn when_triggered(&self, by: &[ResourceId]) -> Delta {
        let names: Vec<String> = by.iter().map(ToString::to_string).collect();
        let mut delta = Delta::none().field(
            FieldChange::new(
                "round_trip",
                None,
                Some(
                    format!(
                        "embed with {} in container {}, upsert into and search Qdrant collection {} in container {}, delete it",
                        self.round_trip.embedding.model.as_deref().unwrap_or("?"),
                        self.round_trip.embedding.vmid,
                        self.round_trip.collection,
                        self.round_trip.qdrant.vmid
                    )
                    .into(),
                ),
            )
            .note(format!("after {} in this run", names.join(", "))),
        );
        for cmd in self.round_trip.commands() {
            delta = delta.step(Step::run(cmd));
        }
        delta
    }
}
