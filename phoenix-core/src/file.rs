//! The built-in `file` resource (path, content, mode, owner), written atomically, with a unified
//! diff in the plan; and the provider that reads it from the config's `files` key.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::change::{Change, Delta, Disruption, Ensure, FieldChange};
use crate::config::{Claim, JsonPath, Section};
use crate::diag::Diagnostic;
use crate::directory::path_capability;
use crate::error::BoxError;
use crate::id::{Kind, ResourceId};
use crate::provider::{DecodeCx, Provider};
use crate::resource::run_steps;
use crate::resource::{Capability, Ctx, Resource};
use crate::scope::Scope;
use crate::sensitive::{describe, describe_changed};

/// The kind of [`File`]: `file`. Any provider may produce files (for /etc/exports, smb.conf,
/// AppArmor profiles, systemd units, nginx sites).
pub const KIND: &str = "file";

/// A managed text file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    path: PathBuf,
    content: String,
    mode: u32,
    owner: Option<String>,
    ensure: Ensure,
    depends_on: Vec<ResourceId>,
    sensitive: bool,
    /// `None`: the node, read with `Host::read_file`; `Some`: observed by the scope's probe.
    scope: Option<Scope>,
    /// The argv that checks the staged file (`%s` is its path) before it replaces the live one.
    validate: Option<Vec<String>>,
    /// Text whose presence in the checker's output refuses the file even when it exits 0.
    refuse_output: Vec<String>,
}

impl File {
    /// A file at `path` with `content`, mode `0644`, owner left as the host creates it.
    pub fn new(path: impl Into<PathBuf>, content: impl Into<String>) -> File {
        File {
            path: path.into(),
            content: content.into(),
            mode: 0o644,
            owner: None,
            ensure: Ensure::Present,
            depends_on: Vec::new(),
            sensitive: false,
            scope: None,
            validate: None,
            refuse_output: Vec::new(),
        }
    }

    /// Places the file in `scope` (the node or a guest): the scope's one probe observes it and
    /// its steps run there.
    pub fn in_scope(mut self, scope: &Scope) -> File {
        let path = self.path.display().to_string();
        scope.observe(|inventory| {
            inventory.paths.insert(path);
        });
        self.scope = Some(scope.clone());
        self
    }

    /// Checks the new content with `argv` before it goes live, as Ansible's `validate:` does:
    /// the content is staged in a temporary file in the same directory, `argv` runs with `%s`
    /// replaced by the staged path (appended when no argument has `%s`), and only if it exits 0
    /// is the staged file renamed over the live one; otherwise it is removed and apply fails
    /// with the tool's own message. Example: `["testparm", "-s", "%s"]`.
    pub fn validate<I, S>(mut self, argv: I) -> File
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.validate = Some(argv.into_iter().map(Into::into).collect());
        self
    }

    /// Refuses the staged file when the validate command's output (standard output or error)
    /// contains any of `patterns`, even when it exits 0: some checkers only warn about what the
    /// daemon will ignore (`testparm` exits 0 on an unknown parameter and prints
    /// `Unknown parameter encountered`).
    pub fn refuse_output<I, S>(mut self, patterns: I) -> File
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.refuse_output = patterns.into_iter().map(Into::into).collect();
        self
    }

    /// A file the config marks for removal.
    pub fn absent(path: impl Into<PathBuf>) -> File {
        File {
            ensure: Ensure::Absent,
            ..File::new(path, "")
        }
    }

    /// Sets the permission bits.
    pub fn mode(mut self, mode: u32) -> File {
        self.mode = mode;
        self
    }

    /// Marks the content as a secret whatever the mode (the config's `"sensitive": true`).
    pub fn sensitive(mut self, sensitive: bool) -> File {
        self.sensitive = sensitive;
        self
    }

    /// Whether the content is shown nowhere: marked sensitive, or a mode that gives group and
    /// other no read bit (`0600`, `0400`).
    pub fn is_sensitive(&self) -> bool {
        self.sensitive || is_private(self.mode)
    }

    /// Sets the owner (`user:group`).
    pub fn owner(mut self, owner: impl Into<String>) -> File {
        self.owner = Some(owner.into());
        self
    }

    /// Adds a dependency.
    pub fn depends_on(mut self, id: ResourceId) -> File {
        self.depends_on.push(id);
        self
    }

    /// The id a file at `path` has.
    pub fn id_for(path: &Path) -> ResourceId {
        ResourceId::new(Kind::from_static(KIND), path.display().to_string())
    }

    /// The id a file at `path` in `scope` has (the same as [`File::id_for`] on the node).
    pub fn id_in(scope: &Scope, path: &Path) -> ResourceId {
        ResourceId::new(
            Kind::from_static(KIND),
            scope.qualify(&path.display().to_string()),
        )
    }
}

/// A file as observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileState {
    /// The content.
    pub content: String,
    /// The permission bits.
    pub mode: u32,
    /// The owner as `user:group`.
    pub owner: String,
}

#[async_trait]
impl Resource for File {
    type State = FileState;

    fn id(&self) -> ResourceId {
        match &self.scope {
            Some(scope) => File::id_in(scope, &self.path),
            None => File::id_for(&self.path),
        }
    }

    fn depends_on(&self) -> Vec<ResourceId> {
        self.depends_on.clone()
    }

    fn provides(&self) -> Vec<Capability> {
        let scope = self.scope.clone().unwrap_or_else(Scope::node);
        let mut provides = vec![path_capability(&scope, &self.path.display().to_string())];
        provides.extend(scope.settled());
        provides
    }

    fn requires(&self) -> Vec<Capability> {
        let scope = self.scope.clone().unwrap_or_else(Scope::node);
        let mut requires: Vec<Capability> = scope.ready().into_iter().collect();
        requires.extend(
            self.path
                .parent()
                .map(|parent| path_capability(&scope, &parent.display().to_string())),
        );
        requires
    }

    fn ensure(&self) -> Ensure {
        self.ensure
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<FileState>, BoxError> {
        if let Some(scope) = &self.scope {
            return inspect_in_scope(cx, scope, &self.path).await;
        }
        Ok(cx
            .host()
            .read_file(&self.path)
            .await?
            .map(|data| FileState {
                content: data.content,
                mode: data.mode,
                owner: data.owner,
            }))
    }

    fn diff(&self, observed: Option<&FileState>) -> Delta {
        // The host's content is as secret as its mode says; the config's as `is_sensitive`.
        let old_secret = observed.is_some_and(|s| is_private(s.mode));
        let new_secret = self.is_sensitive();
        if self.ensure == Ensure::Absent {
            return match observed {
                None => Delta::none(),
                Some(state) => {
                    let mut delta = Delta::none()
                        .field(FieldChange::new(
                            "content",
                            Some(summary(&state.content, old_secret).into()),
                            None,
                        ))
                        .step(self.remove_step(&self.path))
                        .disrupts(Disruption::DestroysData {
                            what: format!("the content of {}", self.path.display()),
                        });
                    if !old_secret {
                        delta = delta.file_diff(unified_diff(&self.path, &state.content, ""));
                    }
                    delta
                }
            };
        }
        let mut delta = Delta::none();
        let before = observed.map(|s| s.content.as_str());
        if before != Some(self.content.as_str()) {
            let after = if new_secret && before.is_some() {
                describe_changed(self.content.len())
            } else {
                summary(&self.content, new_secret)
            };
            delta = delta.field(FieldChange::new(
                "content",
                before.map(|c| summary(c, old_secret).into()),
                Some(after.into()),
            ));
            // A diff would show both contents: none when either side is secret.
            if !old_secret && !new_secret {
                delta = delta.file_diff(unified_diff(
                    &self.path,
                    before.unwrap_or(""),
                    &self.content,
                ));
            }
        }
        if observed.map(|s| s.mode) != Some(self.mode) {
            delta = delta.field(FieldChange::new(
                "mode",
                observed.map(|s| format!("{:04o}", s.mode).into()),
                Some(format!("{:04o}", self.mode).into()),
            ));
        }
        if let Some(owner) = &self.owner
            && observed.map(|s| s.owner.as_str()) != Some(owner.as_str())
        {
            delta = delta.field(FieldChange::new(
                "owner",
                observed.map(|s| s.owner.clone().into()),
                Some(owner.clone().into()),
            ));
        }
        if !delta.fields.is_empty() {
            for step in self.write_steps() {
                delta = delta.step(step);
            }
        }
        delta
    }

    async fn apply(&self, change: &Change, cx: &Ctx<'_>) -> Result<(), BoxError> {
        match self.validate_step() {
            Some(validate) if change.steps.contains(&validate) => {
                self.apply_validated(change, &validate, cx).await
            }
            _ => run_steps(&change.steps, cx).await,
        }
    }
}

mod staged;
use staged::inspect_in_scope;
pub use staged::{STAGE_SCRIPT, ValidationFailed};

/// What the plan shows of a content: its size, and for a secret nothing more.
fn summary(content: &str, sensitive: bool) -> String {
    if sensitive {
        return describe(content.len());
    }
    format!(
        "{} line(s), {} byte(s)",
        content.lines().count(),
        content.len()
    )
}

/// Whether a mode gives group and other no read bit, so the content is a secret.
fn is_private(mode: u32) -> bool {
    mode & 0o044 == 0
}

/// A unified diff of two texts with three lines of context, headed by the path.
pub fn unified_diff(path: &Path, before: &str, after: &str) -> String {
    let name = path.display().to_string();
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(&name, &name)
        .to_string()
}

/// The provider for the config's `files` key: a list of
/// `{path, content, mode?, owner?, ensure?, depends_on?, sensitive?}`.
#[derive(Debug, Default, Clone, Copy)]
pub struct FileProvider;

/// The built-in file provider.
pub fn provider() -> FileProvider {
    FileProvider
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    path: String,
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    ensure: Ensure,
    #[serde(default)]
    depends_on: Vec<String>,
    #[serde(default)]
    sensitive: bool,
}

impl Provider for FileProvider {
    fn name(&self) -> &str {
        "file"
    }

    fn kinds(&self) -> Vec<Kind> {
        vec![Kind::from_static(KIND)]
    }

    fn claims(&self) -> Vec<Claim> {
        vec![Claim::managed("files").free_text("*.content")]
    }

    fn decode(&self, sections: &[Section<'_>], cx: &mut DecodeCx<'_>) {
        for section in sections {
            let Some(specs) =
                cx.decode::<Vec<serde_json::Value>>(section, &section.path(), section.value)
            else {
                continue;
            };
            for (i, value) in specs.iter().enumerate() {
                let path = section.path().index(i);
                let Some(spec) = cx.decode::<FileSpec>(section, &path, value) else {
                    continue;
                };
                if let Some(file) = decode_file(spec, section, &path, cx) {
                    cx.add_at(file, section.location_of(&path));
                }
            }
        }
    }
}

fn decode_file(
    spec: FileSpec,
    section: &Section<'_>,
    path: &JsonPath,
    cx: &mut DecodeCx<'_>,
) -> Option<File> {
    let mut error = |at: JsonPath, message: String| {
        cx.report(Diagnostic::error(message).at(section.location_of(&at)));
    };
    // One file has one spelling, so `/etc/./motd` and `/etc/motd` are one resource.
    let file_path = match crate::config::normalize_path(&spec.path) {
        Ok(normalized) => normalized,
        Err(message) => {
            error(path.clone().key("path"), message);
            return None;
        }
    };
    let mut file = match (spec.ensure, spec.content) {
        (Ensure::Present, Some(content)) => File::new(&file_path, content),
        (Ensure::Present, None) => {
            error(
                path.clone().key("content"),
                "expected the file's content (a string)".to_owned(),
            );
            return None;
        }
        (Ensure::Absent, _) => File::absent(&file_path),
    };
    file = file.sensitive(spec.sensitive);
    if let Some(mode) = spec.mode {
        match u32::from_str_radix(mode.trim_start_matches("0o"), 8) {
            Ok(bits) if bits <= 0o7777 => file = file.mode(bits),
            _ => {
                error(
                    path.clone().key("mode"),
                    format!(
                        "expected an octal mode such as \"0644\", found {}",
                        crate::config::excerpt(&mode)
                    ),
                );
                return None;
            }
        }
    }
    if let Some(owner) = spec.owner {
        if owner.split(':').count() != 2 || owner.split(':').any(str::is_empty) {
            error(
                path.clone().key("owner"),
                format!(
                    "expected \"user:group\", found {}",
                    crate::config::excerpt(&owner)
                ),
            );
            return None;
        }
        file = file.owner(owner);
    }
    for (j, dependency) in spec.depends_on.iter().enumerate() {
        match ResourceId::parse(dependency) {
            Ok(id) => file = file.depends_on(id),
            Err(message) => {
                error(path.clone().key("depends_on").index(j), message);
                return None;
            }
        }
    }
    Some(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::Step;

    fn state(content: &str, mode: u32) -> FileState {
        FileState {
            content: content.into(),
            mode,
            owner: "root:root".into(),
        }
    }

    #[test]
    fn a_missing_file_is_written_with_a_diff() {
        let file = File::new("/etc/motd", "hello\n");
        let delta = Resource::diff(&file, None);
        insta::assert_snapshot!(delta.file_diff.clone().unwrap_or_default(), @r"
        --- /etc/motd
        +++ /etc/motd
        @@ -0,0 +1 @@
        +hello
        ");
        assert_eq!(delta.steps.len(), 1);
    }

    #[test]
    fn an_identical_file_is_converged() {
        let file = File::new("/etc/motd", "hello\n").owner("root:root");
        assert!(Resource::diff(&file, Some(&state("hello\n", 0o644))).is_empty());
    }

    #[test]
    fn a_mode_change_alone_rewrites_without_a_content_diff() {
        let file = File::new("/etc/motd", "hello\n").mode(0o600);
        let delta = Resource::diff(&file, Some(&state("hello\n", 0o644)));
        assert_eq!(delta.fields.len(), 1);
        assert_eq!(delta.fields[0].field, "mode");
        assert!(delta.file_diff.is_none());
    }

    /// Everything a plan shows of a delta: fields, steps, diff, as JSON and as text.
    fn shown(delta: &Delta) -> String {
        let steps: Vec<String> = delta.steps.iter().map(ToString::to_string).collect();
        format!(
            "{} {steps:?} {:?}",
            serde_json::to_string(delta).expect("a delta is JSON"),
            delta.file_diff
        )
    }

    #[test]
    fn issue_8_a_private_or_sensitive_file_shows_neither_old_nor_new_content() {
        let canary = "canary-9f3b\n";
        for file in [
            File::new("/etc/token", canary).mode(0o600),
            File::new("/etc/token", canary).mode(0o400),
            File::new("/etc/token", canary).mode(0o644).sensitive(true),
        ] {
            let created = Resource::diff(&file, None);
            assert!(!shown(&created).contains("canary"), "{}", shown(&created));
            assert!(created.file_diff.is_none());
            assert_eq!(
                created.fields[0].after,
                Some("(sensitive, 12 bytes)".into())
            );
            let updated = Resource::diff(&file, Some(&state("old-canary\n", 0o600)));
            assert!(!shown(&updated).contains("canary"), "{}", shown(&updated));
            assert_eq!(
                (
                    updated.fields[0].before.clone(),
                    updated.fields[0].after.clone()
                ),
                (
                    Some("(sensitive, 11 bytes)".into()),
                    Some("(sensitive, 12 bytes, changed)".into())
                )
            );
            let Step::WriteFile { content, .. } = &updated.steps[0] else {
                panic!("expected a write");
            };
            assert_eq!(
                content.reveal(),
                Some(canary),
                "apply still has the content"
            );
        }
    }

    #[test]
    fn issue_8_a_public_file_whose_old_content_is_private_shows_no_diff() {
        let file = File::new("/etc/token", "public\n");
        let delta = Resource::diff(&file, Some(&state("old-canary\n", 0o600)));
        assert!(!shown(&delta).contains("canary"), "{}", shown(&delta));
        assert!(delta.file_diff.is_none());
        let removed = Resource::diff(
            &File::absent("/etc/token"),
            Some(&state("old-canary\n", 0o600)),
        );
        assert!(!shown(&removed).contains("canary"), "{}", shown(&removed));
        // 0640 is readable by the group: not a secret, the diff is shown.
        let group = Resource::diff(&file, Some(&state("old\n", 0o640)));
        assert!(group.file_diff.is_some());
    }

    #[test]
    fn removal_destroys_data() {
        let delta = Resource::diff(&File::absent("/etc/x"), Some(&state("a\n", 0o644)));
        assert!(matches!(delta.disruption, Disruption::DestroysData { .. }));
        assert!(Resource::diff(&File::absent("/etc/x"), None).is_empty());
    }
}
