//! Health checks (`ai.health`, one per service of a container): vLLM `/health` then
//! `/v1/models` (which must list the served model name), Ollama `/api/version`, Qdrant
//! `/readyz`, each a bounded `curl` from the node.
//!
//! Inspection asks as queries of the node's one probe, so a healthy no-op plan runs no command
//! of its own and shows nothing. A check has a change when its service answers badly, or when
//! one of the service's own resources changes in this run (a restarted vLLM loads its model for
//! minutes): apply then polls, bounded by the container's `health_check.timeout_seconds`, logging
//! its progress, and fails naming the service, its last response and the last lines of its
//! journal (`journalctl -u UNIT -n N --no-pager` through the container's transport).

use std::time::Duration;

use async_trait::async_trait;
use phoenix_core::change::{Change, Delta, FieldChange, Step};
use phoenix_core::probe::{ScopeFacts, observe};
use phoenix_core::{BoxError, Capability, Cmd, Ctx, Kind, Resource, ResourceId, Scope, feature};
use serde::Serialize;
use serde_json::Value;
use tokio::time::Instant;

use crate::endpoint::{Endpoint, Service};
use crate::error::{Error, Unhealthy};
use crate::http::{self, Bounds, Response};

/// The kind of [`Check`]: `ai.health`.
pub const KIND: &str = "ai.health";

/// How many journal lines a failure shows.
pub const JOURNAL_LINES: u32 = 20;

/// How long apply waits for a service, and how often it asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Wait {
    /// The bound, in seconds.
    pub timeout_s: u64,
    /// Seconds between two polls.
    pub interval_s: u64,
}

impl Wait {
    /// The default for `service`: a vLLM model load takes minutes (15 minutes), Ollama and
    /// Qdrant start in seconds (2 minutes); a poll every 5 seconds.
    pub fn default_for(service: Service) -> Wait {
        Wait {
            timeout_s: match service {
                Service::Vllm => 900,
                Service::Ollama | Service::Qdrant => 120,
            },
            interval_s: 5,
        }
    }
}

/// The paths a service is checked at, in order.
pub fn paths(service: Service) -> &'static [&'static str] {
    match service {
        Service::Vllm => &["/health", "/v1/models"],
        Service::Ollama => &["/api/version"],
        Service::Qdrant => &["/readyz"],
    }
}

/// What a check saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Observation {
    /// Whether the service answered as a healthy one does.
    pub healthy: bool,
    /// Why not (the failing request and its response), or `healthy`.
    pub detail: String,
    /// The model names `/v1/models` lists (vLLM).
    pub models: Vec<String>,
    /// The version it reports (Ollama's `/api/version`), when asked.
    pub version: Option<String>,
}

/// Judges the responses to [`paths`]`(endpoint.service)`, in that order.
pub fn judge(endpoint: &Endpoint, responses: &[(&str, Response)]) -> Observation {
    let mut observation = Observation {
        healthy: true,
        detail: "healthy".to_owned(),
        models: Vec::new(),
        version: None,
    };
    let unhealthy = |mut o: Observation, detail: String| {
        o.healthy = false;
        o.detail = detail;
        o
    };
    for (path, response) in responses {
        if !response.ok() {
            return unhealthy(observation, format!("GET {path}: {}", response.summary()));
        }
        match *path {
            "/v1/models" => {
                observation.models = model_ids(&response.body);
                if let Some(model) = &endpoint.model
                    && !observation.models.contains(model)
                {
                    let listed = if observation.models.is_empty() {
                        "none".to_owned()
                    } else {
                        observation.models.join(", ")
                    };
                    return unhealthy(
                        observation,
                        format!("GET /v1/models does not list {model} (it lists {listed})"),
                    );
                }
            }
            "/api/version" => {
                observation.version = serde_json::from_str::<Value>(&response.body)
                    .ok()
                    .and_then(|v| v.get("version")?.as_str().map(str::to_owned));
                if observation.version.is_none() {
                    return unhealthy(
                        observation,
                        format!(
                            "GET /api/version: expected {{\"version\": ...}}, got {}",
                            response.summary()
                        ),
                    );
                }
            }
            _ => {}
        }
    }
    observation
}

/// The `id`s of an OpenAI model list (`{"object": "list", "data": [{"id": ...}]}`).
pub fn model_ids(body: &str) -> Vec<String> {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| {
            v.get("data")?.as_array().map(|data| {
                data.iter()
                    .filter_map(|m| m.get("id")?.as_str().map(str::to_owned))
                    .collect()
            })
        })
        .unwrap_or_default()
}

/// The health check of one service.
#[derive(Debug, Clone)]
pub struct Check {
    endpoint: Endpoint,
    node: Scope,
    guest: Scope,
    wait: Wait,
    after: Vec<Capability>,
    triggered_by: Vec<ResourceId>,
}

impl Check {
    /// The check of `endpoint`, from `node` (whose probe learns its queries), with the journal
    /// read in `guest`. It comes after every resource of the service's feature in `guest` and
    /// after the guest is ready.
    pub fn new(endpoint: Endpoint, node: &Scope, guest: &Scope, wait: Wait) -> Check {
        let bounds = Bounds::default();
        node.observe(|inventory| {
            for path in paths(endpoint.service) {
                // Names and argv are plain (digits, letters, a URL): a refusal cannot happen.
                let _ = inventory.query(
                    &query_name(&endpoint, path),
                    http::get_argv(&endpoint.url(path), bounds),
                );
            }
        });
        let mut after = vec![feature::capability(guest, endpoint.service.feature())];
        after.extend(guest.ready());
        let unit = ResourceId::new(
            Kind::from_static(phoenix_core::service::KIND),
            guest.qualify(&endpoint.unit),
        );
        Check {
            endpoint,
            node: node.clone(),
            guest: guest.clone(),
            wait,
            after,
            triggered_by: vec![unit],
        }
    }

    /// Also waits when one of `ids` (the service's unit, its files) changes in this run.
    pub fn triggered_by(mut self, ids: impl IntoIterator<Item = ResourceId>) -> Check {
        self.triggered_by.extend(ids);
        self
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// What the node's probe saw.
    pub fn state_in(&self, facts: &ScopeFacts) -> Result<Observation, BoxError> {
        let mut responses = Vec::new();
        for path in paths(self.endpoint.service) {
            let name = query_name(&self.endpoint, path);
            let fact = facts
                .queries
                .get(&name)
                .ok_or_else(|| BoxError::from(format!("the probe did not run query {name}")))?;
            responses.push((*path, Response::parse(fact.status, &fact.output, "")));
        }
        Ok(judge(&self.endpoint, &responses))
    }

    /// Asks the service now, with commands of its own (not the cached probe).
    pub async fn poll(&self, cx: &Ctx<'_>) -> Observation {
        let mut responses = Vec::new();
        for path in paths(self.endpoint.service) {
            let cmd = http::get(&self.endpoint.url(path), Bounds::default());
            let response = match cx.host().run(&cmd).await {
                Ok(out) => Response::parse(out.status.unwrap_or(-1), &out.stdout, &out.stderr),
                Err(err) => Response {
                    status: None,
                    body: String::new(),
                    error: Some(err.to_string()),
                },
            };
            let failed = !response.ok();
            responses.push((*path, response));
            if failed {
                break;
            }
        }
        judge(&self.endpoint, &responses)
    }

    /// Polls until healthy or the bound passes; progress goes to the log (`info`). The time
    /// waited is the clock's (tokio's, which a paused test clock advances) or the pauses slept
    /// between polls, whichever is more: the wait ends after at most `timeout / interval + 1`
    /// polls even on a node whose polls cost no time and a clock that does not move.
    pub async fn wait_healthy(&self, cx: &Ctx<'_>) -> Result<Observation, BoxError> {
        let start = Instant::now();
        let timeout = Duration::from_secs(self.wait.timeout_s);
        let interval = Duration::from_secs(self.wait.interval_s.max(1));
        let mut slept = Duration::ZERO;
        loop {
            let observation = self.poll(cx).await;
            let waited = start.elapsed().max(slept);
            if observation.healthy {
                tracing::info!(
                    service = %self.endpoint.service,
                    container = self.endpoint.vmid,
                    waited_s = waited.as_secs(),
                    "{} is healthy after {} s",
                    self.endpoint,
                    waited.as_secs()
                );
                return Ok(observation);
            }
            if waited >= timeout {
                return Err(self.failure(cx, &observation, waited).await.into());
            }
            tracing::info!(
                service = %self.endpoint.service,
                container = self.endpoint.vmid,
                waited_s = waited.as_secs(),
                timeout_s = self.wait.timeout_s,
                "waiting for {}: {} s of {} s, last response: {}",
                self.endpoint,
                waited.as_secs(),
                self.wait.timeout_s,
                observation.detail
            );
            let pause = interval.min(timeout.saturating_sub(waited));
            tokio::time::sleep(pause).await;
            slept += pause;
        }
    }

    /// The error of a service that stayed unhealthy, with its journal's last lines.
    async fn failure(&self, cx: &Ctx<'_>, last: &Observation, waited: Duration) -> Error {
        let n = JOURNAL_LINES.to_string();
        let cmd = self.guest.command(Cmd::read(
            "journalctl",
            [
                "-u",
                self.endpoint.unit.as_str(),
                "-n",
                n.as_str(),
                "--no-pager",
            ],
        ));
        let journal = match cx.host().run(&cmd).await {
            Ok(out) if out.success() => out.stdout,
            Ok(out) => format!(
                "(journalctl exited with {:?}: {})",
                out.status,
                out.stderr.trim()
            ),
            Err(err) => format!("(the journal could not be read: {err})"),
        };
        Error::Unhealthy(Box::new(Unhealthy {
            service: self.endpoint.service.label().to_owned(),
            vmid: self.endpoint.vmid,
            endpoint: self.endpoint.base(),
            waited_s: waited.as_secs(),
            timeout_s: self.wait.timeout_s,
            last: last.detail.clone(),
            unit: self.endpoint.unit.clone(),
            n_lines: JOURNAL_LINES,
            journal,
        }))
    }

    /// The plan's change: wait until healthy, showing the requests apply repeats.
    fn waiting(&self, before: &str, because: &str) -> Delta {
        let mut delta = Delta::none().field(
            FieldChange::new("health", Some(before.into()), Some("healthy".into())).note(format!(
                "{because}; apply waits up to {} s, asking every {} s",
                self.wait.timeout_s, self.wait.interval_s
            )),
        );
        for path in paths(self.endpoint.service) {
            delta = delta.step(Step::run(http::get(
                &self.endpoint.url(path),
                Bounds::default(),
            )));
        }
        delta
    }
}

/// The probe query of `path` of `endpoint`: `ai.951.vllm.v1-models`.
fn query_name(endpoint: &Endpoint, path: &str) -> String {
    let path: String = path
        .trim_start_matches('/')
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("ai.{}.{path}", endpoint.key())
}

#[async_trait]
impl Resource for Check {
    type State = Observation;

    fn id(&self) -> ResourceId {
        ResourceId::new(
            Kind::from_static(KIND),
            self.guest.qualify(self.endpoint.service.feature()),
        )
    }

    fn requires(&self) -> Vec<Capability> {
        self.after.clone()
    }

    fn locks(&self) -> Vec<String> {
        // Waiting holds no lock another change needs.
        vec![format!("{KIND}:{}", self.endpoint.key())]
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<Observation>, BoxError> {
        // Where the container's transport cannot reach containers at all (no `pct`), the
        // service in it is not managed here, like the container's own resources.
        if let Some(transport) = self.guest.transport() {
            transport.reachable(cx).await?;
        }
        Ok(Some(self.state_in(&*observe(cx, &self.node).await?)?))
    }

    fn diff(&self, observed: Option<&Observation>) -> Delta {
        match observed {
            Some(o) if o.healthy => Delta::none(),
            Some(o) => self.waiting(&o.detail, "not healthy now"),
            None => self.waiting("unknown", "not observed"),
        }
    }

    async fn apply(&self, _change: &Change, cx: &Ctx<'_>) -> Result<(), BoxError> {
        self.wait_healthy(cx).await.map(|_| ())
    }

    fn triggered_by(&self) -> Vec<ResourceId> {
        self.triggered_by.clone()
    }

    fn when_triggered(&self, by: &[ResourceId]) -> Delta {
        let names: Vec<String> = by.iter().map(ToString::to_string).collect();
        self.waiting(
            "changing",
            &format!("{} changes in this run", names.join(", ")),
        )
    }
}
