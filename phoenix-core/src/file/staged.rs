//! How a file is written in a scope and checked before it goes live: staged in a temporary file
//! in the same directory, validated by the daemon's own checker, then renamed over the live one.

use std::path::{Path, PathBuf};

use super::{File, FileState};
use crate::change::{Change, Step};
use crate::cmd::Cmd;
use crate::error::BoxError;
use crate::host::HostError;
use crate::probe::observe;
use crate::resource::{Ctx, run_steps};
use crate::scope::Scope;
use crate::sensitive::Content;

/// How a file's content is staged in a guest: standard input into `$1`, private until `chmod`.
pub const STAGE_SCRIPT: &str = "umask 077 && cat > \"$1\"";

/// A validate command refused the staged file; the live file is unchanged.
#[derive(Debug, thiserror::Error)]
#[error("validate {path}: `{argv}` rejected the new content (exit {status}): {message}")]
pub struct ValidationFailed {
    /// The live file.
    pub path: String,
    /// The validate command as it ran.
    pub argv: String,
    /// Its exit status (`signal` when killed).
    pub status: String,
    /// What it printed (standard error, then standard output), or a note that a sensitive
    /// file's checker output is not shown.
    pub message: String,
}

/// A file observed by its scope's probe.
pub(super) async fn inspect_in_scope(
    cx: &Ctx<'_>,
    scope: &Scope,
    path: &Path,
) -> Result<Option<FileState>, BoxError> {
    let facts = observe(cx, scope).await?;
    match facts.paths.get(&path.display().to_string()) {
        None => Ok(None),
        Some(fact) => match &fact.content {
            Some(content) if fact.is_file() => Ok(Some(FileState {
                content: content.clone(),
                mode: fact.mode,
                owner: fact.owner.clone(),
            })),
            _ => Err(BoxError::from(format!(
                "{} in {scope} is a {}, not a regular file",
                path.display(),
                fact.file_type
            ))),
        },
    }
}

impl File {
    /// The staged file: `.NAME.phoenix-new` beside the live one.
    fn staged_path(&self) -> PathBuf {
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.path.with_file_name(format!(".{name}.phoenix-new"))
    }

    fn in_guest(&self) -> Option<&Scope> {
        self.scope.as_ref().filter(|s| !s.is_node())
    }

    fn scoped(&self, cmd: Cmd) -> Step {
        match &self.scope {
            Some(scope) => Step::run(scope.command(cmd)),
            None => Step::run(cmd),
        }
    }

    /// The validate step, when the file has a validate command.
    pub(super) fn validate_step(&self) -> Option<Step> {
        let argv = self.validate.as_ref()?;
        let staged = self.staged_path().display().to_string();
        let mut args: Vec<String> = argv.iter().map(|a| a.replace("%s", &staged)).collect();
        if !argv.iter().any(|a| a.contains("%s")) {
            args.push(staged);
        }
        let (program, args) = args.split_first()?;
        Some(self.scoped(Cmd::read(program, args.iter().cloned())))
    }

    /// The steps that write the content: one atomic write on the node; in a guest (or with a
    /// validate command) a staged file that is checked, then renamed over the live one.
    pub(super) fn write_steps(&self) -> Vec<Step> {
        let content = Content::new(self.content.clone(), self.is_sensitive());
        let validate = self.validate_step();
        if self.in_guest().is_none() && validate.is_none() {
            return vec![Step::WriteFile {
                path: self.path.clone(),
                content,
                mode: self.mode,
                owner: self.owner.clone(),
            }];
        }
        let staged = self.staged_path();
        let staged_text = staged.display().to_string();
        let mut steps = Vec::new();
        if self.in_guest().is_some() {
            steps.push(self.scoped(
                Cmd::write("sh", ["-c", STAGE_SCRIPT, "sh", staged_text.as_str()]).stdin(content),
            ));
            steps.push(self.scoped(Cmd::write(
                "chmod",
                [
                    format!("{:04o}", self.mode),
                    "--".into(),
                    staged_text.clone(),
                ],
            )));
            if let Some(owner) = &self.owner {
                steps.push(self.scoped(Cmd::write(
                    "chown",
                    [owner.clone(), "--".into(), staged_text.clone()],
                )));
            }
        } else {
            steps.push(Step::WriteFile {
                path: staged,
                content,
                mode: self.mode,
                owner: self.owner.clone(),
            });
        }
        steps.extend(validate);
        steps.push(self.scoped(Cmd::write(
            "mv",
            [
                "-f".to_owned(),
                "--".to_owned(),
                staged_text,
                self.path.display().to_string(),
            ],
        )));
        steps
    }

    /// The step that removes `path` in the file's scope.
    pub(super) fn remove_step(&self, path: &Path) -> Step {
        if self.in_guest().is_some() {
            self.scoped(Cmd::write(
                "rm",
                ["-f".to_owned(), "--".to_owned(), path.display().to_string()],
            ))
        } else {
            Step::RemoveFile {
                path: path.to_path_buf(),
            }
        }
    }

    /// Runs the steps up to the validate command, the command itself (removing the staged file
    /// and failing with its message when it refuses), then the rename.
    pub(super) async fn apply_validated(
        &self,
        change: &Change,
        validate: &Step,
        cx: &Ctx<'_>,
    ) -> Result<(), BoxError> {
        let at = change
            .steps
            .iter()
            .position(|s| s == validate)
            .expect("invariant: the caller checked that the change has the validate step");
        run_steps(&change.steps[..at], cx).await?;
        let Step::Run { cmd } = validate else {
            return Err(BoxError::from("invariant: a validate step runs a command"));
        };
        let output = cx.host().run(cmd).await?;
        let refused = self
            .refuse_output
            .iter()
            .any(|p| output.stdout.contains(p.as_str()) || output.stderr.contains(p.as_str()));
        if !output.success() || refused {
            self.discard_staged(cx).await?;
            let message = if self.is_sensitive() {
                "(output not shown: the file is sensitive)".to_owned()
            } else {
                format!("{}\n{}", output.stderr.trim_end(), output.stdout.trim_end())
                    .trim()
                    .to_owned()
            };
            return Err(Box::new(ValidationFailed {
                path: self.path.display().to_string(),
                argv: cmd.to_string(),
                status: output
                    .status
                    .map_or_else(|| "signal".to_owned(), |s| s.to_string()),
                message,
            }));
        }
        run_steps(&change.steps[at + 1..], cx).await
    }

    async fn discard_staged(&self, cx: &Ctx<'_>) -> Result<(), HostError> {
        match self.remove_step(&self.staged_path()) {
            Step::Run { cmd } => cx.run(&cmd).await.map(|_| ()),
            _ => cx.host().remove_file(&self.staged_path()).await,
        }
    }
}
