//! Qdrant's API key: read on the node from the root-only file the config names, written into the
//! container as the root-only environment file the unit loads (`QDRANT__SERVICE__API_KEY=...`).
//!
//! The key is a secret (house style 42): it is held as a sensitive `Content`, reaches the
//! container only on the standard input of the file's write step, and is shown nowhere, not even
//! as a hash; the plan says only "(sensitive, changed)". Both files are read by the one probe of
//! their scope, so a converged key costs no command.

use async_trait::async_trait;
use phoenix_core::change::Delta;
use phoenix_core::directory::path_capability;
use phoenix_core::file::{File, FileState};
use phoenix_core::probe::{PathFact, observe};
use phoenix_core::resource::{Capability, Ctx, Resource};
use phoenix_core::scope::Scope;
use phoenix_core::sensitive::Content;
use phoenix_core::{BoxError, ResourceId};
use serde::Serialize;

use super::files::{API_KEY_ENV, CONFIG_DIR};

/// The environment file of one Qdrant server, from the node's key file.
#[derive(Debug, Clone)]
pub(crate) struct ApiKey {
    node: Scope,
    scope: Scope,
    key_file: String,
}

/// The key and the container's file as observed (both sensitive).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ApiKeyState {
    /// The key from the node's file.
    pub(crate) key: Content,
    /// The container's environment file: content, mode and owner.
    pub(crate) env: Option<(Content, u32, String)>,
}

impl ApiKey {
    /// The environment file in `scope` from `key_file` on the node; both probes learn of them.
    pub(crate) fn new(node: &Scope, scope: &Scope, key_file: &str) -> ApiKey {
        node.observe(|inventory| {
            inventory.paths.insert(key_file.to_owned());
        });
        scope.observe(|inventory| {
            inventory.paths.insert(API_KEY_ENV.to_owned());
        });
        ApiKey {
            node: node.clone(),
            scope: scope.clone(),
            key_file: key_file.to_owned(),
        }
    }

    /// The file resource that writes `key`.
    fn file(&self, key: &str) -> File {
        File::new(API_KEY_ENV, format!("QDRANT__SERVICE__API_KEY={key}\n"))
            .mode(0o600)
            .owner("root:root")
            .sensitive(true)
            .in_scope(&self.scope)
    }
}

/// The key in a node file: it must be a regular file, root's, readable by root only, and hold
/// one line of printable ASCII without spaces (a key an HTTP header can carry). The messages
/// never quote the content.
pub(crate) fn key_from(path: &str, fact: Option<&PathFact>) -> Result<Content, String> {
    let Some(fact) = fact else {
        return Err(format!(
            "the Qdrant API key file {path} does not exist on the node"
        ));
    };
    if !fact.is_file() {
        return Err(format!(
            "the Qdrant API key file {path} is a {}, not a file",
            fact.file_type
        ));
    }
    if fact.mode & 0o077 != 0 || !fact.owner.starts_with("root:") {
        return Err(format!(
            "the Qdrant API key file {path} is {:04o} {}: it must be root's and readable by root only (chmod 600)",
            fact.mode, fact.owner
        ));
    }
    let content = fact.content.as_deref().unwrap_or_default();
    let key = content.strip_suffix('\n').unwrap_or(content);
    if key.is_empty() || key.len() > 512 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "the Qdrant API key file {path} must hold one line of printable ASCII without spaces ({} bytes, not shown)",
            content.len()
        ));
    }
    Ok(Content::sensitive(key))
}

#[async_trait]
impl Resource for ApiKey {
    type State = ApiKeyState;

    fn id(&self) -> ResourceId {
        File::id_in(&self.scope, std::path::Path::new(API_KEY_ENV))
    }

    fn provides(&self) -> Vec<Capability> {
        let mut provides = vec![path_capability(&self.scope, API_KEY_ENV)];
        provides.extend(self.scope.settled());
        provides
    }

    fn requires(&self) -> Vec<Capability> {
        let mut requires: Vec<Capability> = self.scope.ready().into_iter().collect();
        requires.push(path_capability(&self.scope, CONFIG_DIR));
        requires
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<ApiKeyState>, BoxError> {
        // The guest first: one the target cannot reach (no `pct`) is not managed here, whatever
        // the node's key file.
        let guest = observe(cx, &self.scope).await?;
        let node = observe(cx, &self.node).await?;
        let key = key_from(&self.key_file, node.paths.get(&self.key_file))?;
        let env = guest
            .paths
            .get(API_KEY_ENV)
            .filter(|f| f.is_file())
            .map(|f| {
                (
                    Content::sensitive(f.content.clone().unwrap_or_default()),
                    f.mode,
                    f.owner.clone(),
                )
            });
        Ok(Some(ApiKeyState { key, env }))
    }

    fn diff(&self, observed: Option<&ApiKeyState>) -> Delta {
        let Some(state) = observed else {
            return Delta::none();
        };
        let Some(key) = state.key.reveal() else {
            return Delta::none();
        };
        let current = state.env.as_ref().map(|(content, mode, owner)| FileState {
            content: content.reveal().unwrap_or_default().to_owned(),
            mode: *mode,
            owner: owner.clone(),
        });
        Resource::diff(&self.file(key), current.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{render_delta, scopes};

    const CANARY: &str = "CANARY-qdrant-0f1e2d3c4b5a";

    fn fact(mode: u32, owner: &str, content: &str) -> PathFact {
        PathFact {
            file_type: "regular file".into(),
            mode,
            owner: owner.into(),
            content: Some(content.into()),
        }
    }

    #[test]
    fn issue_12_only_a_root_only_one_line_key_file_is_taken_and_never_quoted() {
        let path = "/root/phoenix/qdrant-api-key";
        assert!(
            key_from(
                path,
                Some(&fact(0o600, "root:root", &format!("{CANARY}\n")))
            )
            .is_ok()
        );
        for (fact, expect) in [
            (None, "does not exist on the node"),
            (
                Some(fact(0o644, "root:root", CANARY)),
                "is 0644 root:root: it must be root's and readable by root only",
            ),
            (Some(fact(0o600, "admin:admin", CANARY)), "must be root's"),
            (
                Some(fact(0o600, "root:root", &format!("{CANARY}\nsecond"))),
                "one line of printable ASCII",
            ),
            (
                Some(fact(0o600, "root:root", "with space")),
                "one line of printable ASCII",
            ),
        ] {
            let err = key_from(path, fact.as_ref()).expect_err(expect);
            assert!(err.contains(expect), "{err}");
            assert!(
                !err.contains(CANARY) && !err.contains("with space"),
                "{err}"
            );
        }
    }

    /// The Qdrant API key canary: the plan of a new and of a changed key shows neither key, in
    /// text, JSON or Debug, and the key reaches the container only on a step's sensitive stdin.
    #[test]
    fn issue_12_the_qdrant_api_key_canary_appears_nowhere() {
        let scopes = scopes();
        let key = ApiKey::new(&scopes.node(), &scopes.get("ct:952").expect("guest"), "/k");
        let old = "CANARY-old-key-99";
        for env in [
            None,
            Some((
                Content::sensitive(format!("QDRANT__SERVICE__API_KEY={old}\n")),
                0o600,
                "root:root".to_owned(),
            )),
        ] {
            let state = ApiKeyState {
                key: Content::sensitive(CANARY),
                env,
            };
            let delta = Resource::diff(&key, Some(&state));
            assert!(!delta.steps.is_empty());
            let shown = format!(
                "{}\n{}\n{:?}\n{:?}\n{}",
                render_delta(&delta),
                serde_json::to_string(&delta.steps).expect("JSON"),
                delta,
                state,
                serde_json::to_string(&state).expect("JSON"),
            );
            for secret in [CANARY, old] {
                assert!(!shown.contains(secret), "{secret} in {shown}");
            }
            assert!(shown.contains("sensitive"), "{shown}");
        }
    }
}
