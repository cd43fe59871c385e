//! The built-in `file` resource (path, content, mode, owner), written atomically, with a unified
//! diff in the plan; and the provider that reads it from the config's `files` key.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::change::{Delta, Disruption, Ensure, FieldChange, Step};
use crate::config::{Claim, JsonPath, Section};
use crate::diag::Diagnostic;
use crate::error::BoxError;
use crate::id::{Kind, ResourceId};
use crate::provider::{DecodeCx, Provider};
use crate::resource::{Capability, Ctx, Resource};

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
        }
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
        File::id_for(&self.path)
    }

    fn depends_on(&self) -> Vec<ResourceId> {
        self.depends_on.clone()
    }

    fn provides(&self) -> Vec<Capability> {
        vec![Capability::path(self.path.display().to_string())]
    }

    fn requires(&self) -> Vec<Capability> {
        self.path
            .parent()
            .map(|parent| vec![Capability::path(parent.display().to_string())])
            .unwrap_or_default()
    }

    fn ensure(&self) -> Ensure {
        self.ensure
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<FileState>, BoxError> {
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
        if self.ensure == Ensure::Absent {
            return match observed {
                None => Delta::none(),
                Some(state) => Delta::none()
                    .field(FieldChange::new(
                        "content",
                        Some(summary(&state.content).into()),
                        None,
                    ))
                    .step(Step::RemoveFile {
                        path: self.path.clone(),
                    })
                    .file_diff(unified_diff(&self.path, &state.content, ""))
                    .disrupts(Disruption::DestroysData {
                        what: format!("the content of {}", self.path.display()),
                    }),
            };
        }
        let mut delta = Delta::none();
        let before = observed.map(|s| s.content.as_str());
        if before != Some(self.content.as_str()) {
            delta = delta
                .field(FieldChange::new(
                    "content",
                    before.map(|c| summary(c).into()),
                    Some(summary(&self.content).into()),
                ))
                .file_diff(unified_diff(
                    &self.path,
                    before.unwrap_or(""),
                    &self.content,
                ));
        }
        if observed.map(|s| s.mode) != Some(self.mode) {
            delta = delta.field(FieldChange::new(
                "mode",
                observed.map(|s| format!("{:04o}", s.mode).into()),
                Some(format!("{:04o}", self.mode).into()),
            ));
        }
        if let Some(owner) = &self.owner {
            if observed.map(|s| s.owner.as_str()) != Some(owner.as_str()) {
                delta = delta.field(FieldChange::new(
                    "owner",
                    observed.map(|s| s.owner.clone().into()),
                    Some(owner.clone().into()),
                ));
            }
        }
        if !delta.fields.is_empty() {
            delta = delta.step(Step::WriteFile {
                path: self.path.clone(),
                content: self.content.clone(),
                mode: self.mode,
                owner: self.owner.clone(),
            });
        }
        delta
    }
}

fn summary(content: &str) -> String {
    format!(
        "{} line(s), {} byte(s)",
        content.lines().count(),
        content.len()
    )
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
/// `{path, content, mode?, owner?, ensure?, depends_on?}`.
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
}

impl Provider for FileProvider {
    fn name(&self) -> &str {
        "file"
    }

    fn kinds(&self) -> Vec<Kind> {
        vec![Kind::from_static(KIND)]
    }

    fn claims(&self) -> Vec<Claim> {
        vec![Claim::managed("files")]
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
                    cx.add(file);
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
    if !spec.path.starts_with('/') {
        error(
            path.clone().key("path"),
            format!("expected an absolute path, found {:?}", spec.path),
        );
        return None;
    }
    let mut file = match (spec.ensure, spec.content) {
        (Ensure::Present, Some(content)) => File::new(&spec.path, content),
        (Ensure::Present, None) => {
            error(
                path.clone().key("content"),
                "expected the file's content (a string)".to_owned(),
            );
            return None;
        }
        (Ensure::Absent, _) => File::absent(&spec.path),
    };
    if let Some(mode) = spec.mode {
        match u32::from_str_radix(mode.trim_start_matches("0o"), 8) {
            Ok(bits) if bits <= 0o7777 => file = file.mode(bits),
            _ => {
                error(
                    path.clone().key("mode"),
                    format!("expected an octal mode such as \"0644\", found {mode:?}"),
                );
                return None;
            }
        }
    }
    if let Some(owner) = spec.owner {
        if owner.split(':').count() != 2 || owner.split(':').any(str::is_empty) {
            error(
                path.clone().key("owner"),
                format!("expected \"user:group\", found {owner:?}"),
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

    #[test]
    fn removal_destroys_data() {
        let delta = Resource::diff(&File::absent("/etc/x"), Some(&state("a\n", 0o644)));
        assert!(matches!(delta.disruption, Disruption::DestroysData { .. }));
        assert!(Resource::diff(&File::absent("/etc/x"), None).is_empty());
    }
}
