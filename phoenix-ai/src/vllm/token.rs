//! `vllm.hf_token`: the Hugging Face token of a container's vLLM, copied from the node's
//! root-only `core_paths.hf_token_file` into the container's root-only environment file, which
//! the unit reads with `EnvironmentFile=`. The token is in no argv, plan, log or JSON: the plan
//! shows `(sensitive, N bytes)`, the write is core's staged file with the text on standard input.
//!
//! The node's file holds the token alone (`hf_...`) or environment lines (`HF_TOKEN=hf_...`);
//! the container's file is always environment lines. When the node has no such file, the
//! container's file is removed and vLLM runs without a token (public models only; the unit's
//! `EnvironmentFile=-` allows a missing file).

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use phoenix_core::change::{Delta, FieldChange};
use phoenix_core::file::File;
use phoenix_core::probe::observe;
use phoenix_core::resource::{Capability, Ctx, Resource};
use phoenix_core::sensitive::{describe, describe_changed};
use phoenix_core::{BoxError, Cmd, Content, Kind, ResourceId, Scope, Step};
use serde::{Deserialize, Serialize};

/// The kind.
pub const KIND: &str = "vllm.hf_token";

/// The token file of one container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HfToken {
    scope: Scope,
    /// The node's file (`core_paths.hf_token_file`).
    source: PathBuf,
    /// The container's file.
    path: PathBuf,
    depends_on: Vec<ResourceId>,
}

/// What inspect found: what the container's file should hold (sensitive) and whether it does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenState {
    /// The environment lines from the node's file; `None` when the node has none.
    pub wanted: Option<Content>,
    /// Whether the container has the file.
    pub present: bool,
    /// Whether the container's file holds `wanted`, root-only.
    pub current: bool,
}

impl HfToken {
    /// The token of `scope`, from the node's `source`, into the container's `path`.
    pub fn new(scope: &Scope, source: impl Into<PathBuf>, path: impl Into<PathBuf>) -> HfToken {
        let path = path.into();
        scope.observe(|inventory| {
            inventory.paths.insert(path.display().to_string());
        });
        HfToken {
            scope: scope.clone(),
            source: source.into(),
            path,
            depends_on: Vec::new(),
        }
    }

    /// Adds a dependency.
    pub fn depends_on(mut self, id: ResourceId) -> HfToken {
        self.depends_on.push(id);
        self
    }

    /// The id of the token resource of `scope`.
    pub fn id_in(scope: &Scope) -> ResourceId {
        ResourceId::new(Kind::from_static(KIND), scope.qualify("hf-token"))
    }

    /// The file that holds `text`, as core's file primitive writes it.
    fn file(&self, text: &str) -> File {
        File::new(&self.path, text)
            .mode(0o600)
            .owner("root:root")
            .sensitive(true)
            .in_scope(&self.scope)
    }
}

/// The container's environment lines for the node's file `text`: the token alone becomes
/// `HF_TOKEN=...`; `NAME=VALUE` lines (an `export ` before them allowed, blank and `#` lines
/// skipped) are kept. The error never quotes the text.
pub fn environment(text: &str, source: &Path) -> Result<String, String> {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect();
    let bad = || {
        format!(
            "{}: expected the Hugging Face token alone or NAME=VALUE lines such as HF_TOKEN=hf_...",
            source.display()
        )
    };
    match lines.as_slice() {
        [] => Err(bad()),
        [token] if !token.contains('=') && !token.contains(char::is_whitespace) => {
            Ok(format!("HF_TOKEN={token}\n"))
        }
        _ => {
            let mut out = String::new();
            for line in lines {
                let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
                let Some((name, _)) = line.split_once('=') else {
                    return Err(bad());
                };
                let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !valid {
                    return Err(bad());
                }
                out.push_str(line);
                out.push('\n');
            }
            Ok(out)
        }
    }
}

#[async_trait]
impl Resource for HfToken {
    type State = TokenState;

    fn id(&self) -> ResourceId {
        HfToken::id_in(&self.scope)
    }

    fn depends_on(&self) -> Vec<ResourceId> {
        self.depends_on.clone()
    }

    fn provides(&self) -> Vec<Capability> {
        self.scope.settled().into_iter().collect()
    }

    fn requires(&self) -> Vec<Capability> {
        let mut requires: Vec<Capability> = self.scope.ready().into_iter().collect();
        requires.extend(self.path.parent().map(|parent| {
            phoenix_core::directory::path_capability(&self.scope, &parent.display().to_string())
        }));
        requires
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<TokenState>, BoxError> {
        let wanted = match cx.host().read_file(&self.source).await? {
            Some(data) => Some(environment(&data.content, &self.source)?),
            None => None,
        };
        let facts = observe(cx, &self.scope).await?;
        let fact = facts.paths.get(&self.path.display().to_string());
        let present = fact.is_some();
        let current = match (&wanted, fact) {
            (Some(text), Some(fact)) => {
                fact.content.as_deref() == Some(text.as_str())
                    && fact.mode == 0o600
                    && fact.owner == "root:root"
            }
            (None, None) => true,
            _ => false,
        };
        Ok(Some(TokenState {
            wanted: wanted.map(Content::sensitive),
            present,
            current,
        }))
    }

    fn diff(&self, observed: Option<&TokenState>) -> Delta {
        let Some(state) = observed.filter(|s| !s.current) else {
            return Delta::none();
        };
        let before = state.present.then(|| "(sensitive)".into());
        match &state.wanted {
            None => Delta::none()
                .field(
                    FieldChange::new("content", before, None)
                        .note("the node has no core_paths.hf_token_file"),
                )
                .step(Step::run(self.scope.command(Cmd::write(
                    "rm",
                    ["-f".to_owned(), self.path.display().to_string()],
                )))),
            Some(wanted) => {
                let after = if state.present {
                    describe_changed(wanted.len())
                } else {
                    describe(wanted.len())
                };
                let file = self.file(wanted.reveal().unwrap_or_default());
                let mut delta = Delta::none().field(
                    FieldChange::new("content", before, Some(after.into()))
                        .note(format!("from {}", self.source.display())),
                );
                for step in Resource::diff(&file, None).steps {
                    delta = delta.step(step);
                }
                delta
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_node_file_becomes_environment_lines() {
        let source = Path::new("/etc/phoenix/hf.conf");
        let cases: [(&str, Result<&str, ()>); 7] = [
            ("hf_abc\n", Ok("HF_TOKEN=hf_abc\n")),
            ("HF_TOKEN=hf_abc\n", Ok("HF_TOKEN=hf_abc\n")),
            (
                "# token\nexport HF_TOKEN=\"hf_abc\"\n\n",
                Ok("HF_TOKEN=\"hf_abc\"\n"),
            ),
            (
                "HF_TOKEN=hf_a\nHF_HUB_OFFLINE=1\n",
                Ok("HF_TOKEN=hf_a\nHF_HUB_OFFLINE=1\n"),
            ),
            ("", Err(())),
            ("sekrit sekrit\n", Err(())),
            ("1BAD=sekrit\n", Err(())),
        ];
        for (text, expect) in cases {
            let got = environment(text, source);
            match expect {
                Ok(out) => assert_eq!(got.as_deref(), Ok(out), "{text:?}"),
                Err(()) => {
                    let message = got.expect_err(text);
                    assert!(
                        message.starts_with("/etc/phoenix/hf.conf: expected"),
                        "{message}"
                    );
                    assert!(
                        !message.contains("sekrit"),
                        "the text is never quoted: {message}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_plan_shows_no_token() {
        let scopes = phoenix_core::Scopes::new([
            std::sync::Arc::new(GuestExec) as std::sync::Arc<dyn phoenix_core::GuestTransport>
        ]);
        let scope = scopes.get("ct:951").expect("guest");
        let token = HfToken::new(&scope, "/root/hf", TOKEN_PATH_FOR_TESTS);
        let state = |present, current| TokenState {
            wanted: Some(Content::sensitive("HF_TOKEN=hf_canary\n")),
            present,
            current,
        };
        assert!(Resource::diff(&token, Some(&state(true, true))).is_empty());
        for present in [false, true] {
            let delta = Resource::diff(&token, Some(&state(present, false)));
            let shown = format!(
                "{:?} {}",
                delta.fields,
                delta
                    .steps
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            );
            assert!(!shown.contains("canary"), "{shown}");
            assert!(shown.contains("(sensitive, 19 bytes"), "{shown}");
            assert!(shown.contains("chmod 0600"), "{shown}");
        }
        let gone = TokenState {
            wanted: None,
            present: true,
            current: false,
        };
        let steps: Vec<String> = Resource::diff(&token, Some(&gone))
            .steps
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(steps, ["guest-exec 951 -- rm -f /etc/vllm/hf-token.env"]);
    }

    const TOKEN_PATH_FOR_TESTS: &str = super::super::unit::TOKEN_PATH;

    /// A transport for tests: `guest-exec <id> -- argv`.
    #[derive(Debug)]
    struct GuestExec;

    impl phoenix_core::GuestTransport for GuestExec {
        fn class(&self) -> &str {
            "ct"
        }

        fn exec(&self, guest: &str, cmd: &Cmd) -> Cmd {
            let mut wrapped = cmd.clone();
            wrapped.program = "guest-exec".to_owned();
            wrapped.args = [guest.to_owned(), "--".to_owned()]
                .into_iter()
                .chain(cmd.argv())
                .collect();
            wrapped
        }
    }
}
