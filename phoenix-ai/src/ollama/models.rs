//! The models an Ollama server must have: read from its `/api/tags` by a query of the
//! container's one probe (`curl` inside the container), and pulled with `ollama pull`, one step
//! per missing model, only when `/api/tags` lacks it. Models the config does not list are left
//! alone (they are data; removing one is the operator's call).

use async_trait::async_trait;
use phoenix_core::change::{Delta, FieldChange, Step};
use phoenix_core::probe::observe;
use phoenix_core::resource::{Capability, Ctx, Resource};
use phoenix_core::scope::Scope;
use phoenix_core::{BoxError, Cmd, Kind, ResourceId};
use serde::{Deserialize, Serialize};

use super::unit::binary;

/// The kind of [`Models`].
pub const KIND: &str = "ollama.models";

/// The models of one Ollama server.
#[derive(Debug, Clone)]
pub(crate) struct Models {
    scope: Scope,
    port: u16,
    version: String,
    models: Vec<String>,
    depends_on: Vec<ResourceId>,
}

/// What `/api/tags` lists, or that the server did not answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ModelsState {
    /// The model names it lists; `None` when it did not answer (not running yet).
    pub(crate) present: Option<Vec<String>>,
}

/// `/api/tags`'s answer: `{"models": [{"name": "llama3.2:latest", "model": ..., ...}]}`.
#[derive(Debug, Deserialize)]
struct Tags {
    models: Vec<Tag>,
}

#[derive(Debug, Deserialize)]
struct Tag {
    name: String,
}

/// The model names of an `/api/tags` answer (`{"models": [{"name": ...}, ...]}`).
pub fn parse_tags(text: &str) -> Result<Vec<String>, String> {
    serde_json::from_str::<Tags>(text)
        .map(|tags| tags.models.into_iter().map(|m| m.name).collect())
        .map_err(|err| format!("/api/tags answered something else than its JSON: {err}"))
}

/// The probe query that reads `/api/tags` on `port`.
pub(crate) fn tags_query(port: u16) -> String {
    format!("ollama.tags.{port}")
}

/// The URL of `path` on the server, from inside the container.
pub(crate) fn local_url(port: u16, path: &str) -> String {
    format!("http://127.0.0.1:{port}{path}")
}

impl Models {
    /// The models `models` (normalised names) of the server on `port` in `scope`, pulled with
    /// the `ollama` of `version`; the scope's probe reads `/api/tags`.
    pub(crate) fn new(scope: &Scope, port: u16, version: &str, models: Vec<String>) -> Models {
        scope.observe(|inventory| {
            let url = local_url(port, "/api/tags");
            let _ = inventory.query(
                &tags_query(port),
                ["curl", "-fsS", "--max-time", "10", url.as_str()],
            );
        });
        Models {
            scope: scope.clone(),
            port,
            version: version.to_owned(),
            models,
            depends_on: Vec::new(),
        }
    }

    /// Adds a dependency (the service).
    pub(crate) fn depends_on(mut self, id: ResourceId) -> Models {
        self.depends_on.push(id);
        self
    }

    /// The steps that pull `missing`: wait for the server (it may have started a moment ago),
    /// then one `ollama pull` each.
    fn pull_steps(&self, missing: &[String]) -> Vec<Step> {
        let host = format!("OLLAMA_HOST=127.0.0.1:{}", self.port);
        let version_url = local_url(self.port, "/api/version");
        let mut steps = vec![Step::run(self.scope.command(Cmd::read(
            "curl",
            [
                "-fsS",
                "--retry",
                "30",
                "--retry-connrefused",
                "--retry-delay",
                "1",
                "-o",
                "/dev/null",
                version_url.as_str(),
            ],
        )))];
        for model in missing {
            steps.push(Step::run(self.scope.command(Cmd::write(
                "env",
                [
                    host.as_str(),
                    binary(&self.version).as_str(),
                    "pull",
                    model.as_str(),
                ],
            ))));
        }
        steps
    }
}

#[async_trait]
impl Resource for Models {
    type State = ModelsState;

    fn id(&self) -> ResourceId {
        ResourceId::new(
            Kind::from_static(KIND),
            self.scope.qualify(&self.port.to_string()),
        )
    }

    fn depends_on(&self) -> Vec<ResourceId> {
        self.depends_on.clone()
    }

    fn provides(&self) -> Vec<Capability> {
        self.scope.settled().into_iter().collect()
    }

    fn requires(&self) -> Vec<Capability> {
        self.scope.ready().into_iter().collect()
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<ModelsState>, BoxError> {
        let facts = observe(cx, &self.scope).await?;
        let query = facts.query_or_absent(&tags_query(self.port), "curl .../api/tags")?;
        let Some(query) = query.filter(|q| q.success()) else {
            // A container still to be made, or a server not installed or not started yet: this run
            // starts it before pulling.
            return Ok(Some(ModelsState { present: None }));
        };
        Ok(Some(ModelsState {
            present: Some(parse_tags(&query.output)?),
        }))
    }

    fn diff(&self, observed: Option<&ModelsState>) -> Delta {
        let present = observed.and_then(|s| s.present.as_deref()).unwrap_or(&[]);
        let missing: Vec<String> = self
            .models
            .iter()
            .filter(|m| !present.contains(m))
            .cloned()
            .collect();
        if missing.is_empty() {
            return Delta::none();
        }
        let before = match observed.and_then(|s| s.present.as_ref()) {
            Some(_) => serde_json::json!(
                self.models
                    .iter()
                    .filter(|m| present.contains(m))
                    .collect::<Vec<_>>()
            ),
            None => "(server not answering yet)".into(),
        };
        let mut delta = Delta::none().field(
            FieldChange::new("models", Some(before), Some(serde_json::json!(self.models)))
                .note(format!("pull: {}", missing.join(", "))),
        );
        for step in self.pull_steps(&missing) {
            delta = delta.step(step);
        }
        delta
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{render_delta, scopes};

    use super::*;

    #[test]
    fn issue_12_only_the_models_that_api_tags_lacks_are_pulled() {
        let scopes = scopes();
        let scope = scopes.get("ct:955").expect("guest");
        let models = Models::new(
            &scope,
            11434,
            "0.32.7",
            vec!["llama3.2:3b".into(), "nomic-embed-text:latest".into()],
        );
        let tags = r#"{"models":[{"name":"llama3.2:3b","model":"llama3.2:3b","modified_at":"2025-10-01T10:00:00.000000000Z","size":2019393189,"digest":"a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72","details":{"parent_model":"","format":"gguf","family":"llama","families":["llama"],"parameter_size":"3.2B","quantization_level":"Q4_K_M"}}]}"#;
        let present = parse_tags(tags).expect("tags");
        assert_eq!(present, ["llama3.2:3b"]);
        let all = ModelsState {
            present: Some(vec![
                "llama3.2:3b".into(),
                "nomic-embed-text:latest".into(),
                "other:latest".into(),
            ]),
        };
        assert!(Resource::diff(&models, Some(&all)).is_empty());
        let delta = Resource::diff(
            &models,
            Some(&ModelsState {
                present: Some(present),
            }),
        );
        insta::assert_snapshot!(render_delta(&delta), @r#"
        models: ["llama3.2:3b"] -> ["llama3.2:3b","nomic-embed-text:latest"] (pull: nomic-embed-text:latest)
        $ guest-exec 955 -- curl -fsS --retry 30 --retry-connrefused --retry-delay 1 -o /dev/null http://127.0.0.1:11434/api/version
        $ guest-exec 955 -- env OLLAMA_HOST=127.0.0.1:11434 /opt/ollama/0.32.7/bin/ollama pull nomic-embed-text:latest
        "#);
        let down = Resource::diff(&models, Some(&ModelsState { present: None }));
        assert_eq!(down.steps.len(), 3, "wait, then both pulls");
        assert!(parse_tags("curl: (7) Failed to connect").is_err());
        assert!(
            scope.inventory().queries[&tags_query(11434)]
                .iter()
                .any(|a| a == "http://127.0.0.1:11434/api/tags")
        );
    }
}
