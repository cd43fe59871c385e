//! `gateway.api_keys`: the root-only map file of API keys in the gateway's container, made from
//! the operator's root-only keys file on the node ([`super::hardening`]).
//!
//! Both files are read by their scope's probe. The keys file must be a regular file without
//! group or other bits (a plan error otherwise, before anything is written); the map file's
//! content is sensitive: a plan shows `(sensitive, N bytes, changed)`, its text travels on the
//! staging command's standard input, and the state keeps only whether the live file is current.

use async_trait::async_trait;
use phoenix_core::change::{Delta, FieldChange};
use phoenix_core::probe::observe;
use phoenix_core::resource::{Capability, Ctx, Resource};
use phoenix_core::scope::Scope;
use phoenix_core::sensitive::{Content, describe, describe_changed};
use phoenix_core::{BoxError, Diagnostic, Kind, ResourceId};
use serde::Serialize;

use super::hardening::{KEYS_MAP_PATH, keys_map, parse_keys};
use super::tls_resources::write_steps;

/// The kind of [`ApiKeys`].
pub const KIND: &str = "gateway.api_keys";

/// The map file in the gateway's container, made from the keys file on the node.
#[derive(Debug, Clone)]
pub struct ApiKeys {
    scope: Scope,
    node: Scope,
    source: String,
    depends_on: Vec<ResourceId>,
}

impl ApiKeys {
    /// The map of the keys in `source` (a path on the node) in `scope`.
    pub fn new(scope: &Scope, node: &Scope, source: &str) -> ApiKeys {
        scope.observe(|inventory| {
            inventory.paths.insert(KEYS_MAP_PATH.to_owned());
        });
        node.observe(|inventory| {
            inventory.paths.insert(source.to_owned());
        });
        ApiKeys {
            scope: scope.clone(),
            node: node.clone(),
            source: source.to_owned(),
            depends_on: Vec::new(),
        }
    }

    /// Adds a dependency (Phoenix's directory).
    pub fn depends_on(mut self, id: ResourceId) -> ApiKeys {
        self.depends_on.push(id);
        self
    }

    /// The id of the map file in `scope`.
    pub fn id_in(scope: &Scope) -> ResourceId {
        ResourceId::new(Kind::from_static(KIND), scope.qualify(KEYS_MAP_PATH))
    }
}

/// What inspection found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeysState {
    /// The map file's content the keys file makes (sensitive: serialised as its size only).
    pub desired: Option<Content>,
    /// Why the keys file cannot be used.
    pub problem: Option<String>,
    /// The live map file's size, when it exists.
    pub live_bytes: Option<usize>,
    /// Whether the live map file is current and 0600 root's.
    pub current: bool,
}

#[async_trait]
impl Resource for ApiKeys {
    type State = KeysState;

    fn id(&self) -> ResourceId {
        ApiKeys::id_in(&self.scope)
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

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<KeysState>, BoxError> {
        let node = observe(cx, &self.node).await?;
        let guest = observe(cx, &self.scope).await?;
        let fact = |facts: &phoenix_core::probe::ScopeFacts, path: &str| {
            facts.paths.get(path).filter(|f| f.is_file()).map(|f| {
                (
                    f.content.clone().unwrap_or_default(),
                    f.mode,
                    f.owner.clone(),
                )
            })
        };
        let source = fact(&node, &self.source);
        let live = fact(&guest, KEYS_MAP_PATH);
        let state = read(
            &self.source,
            source
                .as_ref()
                .map(|(c, m, o)| (c.as_str(), *m, o.as_str())),
            live.as_ref().map(|(c, m, o)| (c.as_str(), *m, o.as_str())),
        );
        Ok(Some(state))
    }

    fn diff(&self, observed: Option<&KeysState>) -> Delta {
        let Some(state) = observed else {
            return Delta::none();
        };
        if let Some(problem) = &state.problem {
            return Delta::none().diagnostic(Diagnostic::error(problem.clone()));
        }
        let Some(desired) = state.desired.clone().filter(|_| !state.current) else {
            return Delta::none();
        };
        let after = match state.live_bytes {
            Some(_) => describe_changed(desired.len()),
            None => describe(desired.len()),
        };
        let delta = Delta::none().field(FieldChange::new(
            "content",
            state.live_bytes.map(|n| describe(n).into()),
            Some(after.into()),
        ));
        write_steps(&self.scope, KEYS_MAP_PATH, desired, 0o600)
            .into_iter()
            .fold(delta, Delta::step)
    }
}

/// What the keys file (content, mode, owner) and the live map make.
pub(crate) fn read(
    source: &str,
    source_fact: Option<(&str, u32, &str)>,
    live: Option<(&str, u32, &str)>,
) -> KeysState {
    let mut state = KeysState {
        desired: None,
        problem: None,
        live_bytes: live.map(|(content, _, _)| content.len()),
        current: false,
    };
    match source_fact {
        None => {
            state.problem = Some(format!(
                "the API keys file {source} (gateway.api_keys_file) does not exist on the node: create it, one key per line, mode 0600"
            ));
        }
        Some((_, mode, _)) if mode & 0o077 != 0 => {
            state.problem = Some(format!(
                "the API keys file {source} (gateway.api_keys_file) has mode {mode:04o}: a keys file must be root-only (chmod 0600)"
            ));
        }
        Some((text, _, _)) => match parse_keys(text) {
            Err(err) => state.problem = Some(format!("{source}: {err}")),
            Ok(keys) => {
                let map = keys_map(&keys);
                state.current = live.is_some_and(|(content, mode, owner)| {
                    content == map && mode == 0o600 && owner == "root:root"
                });
                state.desired = Some(Content::sensitive(map));
            }
        },
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_13_the_keys_file_must_be_root_only_and_the_map_shows_no_key() {
        let key = "sk-canary-0123456789abcdef\n";
        let map = keys_map(&["sk-canary-0123456789abcdef".to_owned()]);
        let cases = [
            (
                None,
                None,
                "problem: the API keys file /root/k (gateway.api_keys_file) does not exist on the node: create it, one key per line, mode 0600",
            ),
            (
                Some((key, 0o644, "root:root")),
                None,
                "problem: the API keys file /root/k (gateway.api_keys_file) has mode 0644: a keys file must be root-only (chmod 0600)",
            ),
            (
                Some(("short\n", 0o600, "root:root")),
                None,
                "problem: /root/k: line 1 of the API keys file is not a key: expected 16 to 256 characters of letters, digits and `-._~+/=` (the line is not shown)",
            ),
            (Some((key, 0o600, "root:root")), None, "current: false"),
            (
                Some((key, 0o600, "root:root")),
                Some((map.as_str(), 0o644, "root:root")),
                "current: false",
            ),
            (
                Some((key, 0o400, "root:root")),
                Some((map.as_str(), 0o600, "root:root")),
                "current: true",
            ),
        ];
        for (source, live, expect) in cases {
            let state = read("/root/k", source, live);
            let shown = match &state.problem {
                Some(p) => format!("problem: {p}"),
                None => format!("current: {}", state.current),
            };
            assert_eq!(shown, expect);
            let json = serde_json::to_string(&state).expect("JSON");
            assert!(!json.contains("canary"), "{json}");
            assert!(!format!("{state:?}").contains("canary"));
        }
    }
}
