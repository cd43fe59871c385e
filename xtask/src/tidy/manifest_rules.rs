//! The tidy rules read from the crates' `Cargo.toml`: dependency direction and workspace lints.
//!
//! The manifests are read line by line, which is enough for the plain TOML the workspace writes:
//! section headers, `name = ...` keys, dotted keys (`serde.workspace = true`) and
//! `[dependencies.name]` tables, with `package = "..."` renames.

use std::collections::BTreeSet;

use super::workspace::{SourceFile, Violation};

/// The core crate, which depends on no workspace crate.
const CORE: &str = "phoenix-core";

/// The format crates: Proxmox's file formats (`phoenix-pve`) and the config's service
/// declarations (`phoenix-services`), below every provider and above the core crate, so that
/// several providers read one format with one parser without depending on each other.
const FORMATS: [&str; 2] = ["phoenix-pve", "phoenix-services"];

/// The provider crates, which depend on the core crate and the format crates only.
const PROVIDERS: [&str; 6] = [
    "phoenix-zfs",
    "phoenix-ai",
    "phoenix-lxc",
    "phoenix-net",
    "phoenix-gpu",
    "phoenix-security",
];

/// Workspace crates known even when their manifest is not among the files given to a rule.
const KNOWN_CRATES: [&str; 12] = [
    "phoenix-core",
    "phoenix-pve",
    "phoenix-services",
    "phoenix-ai",
    "phoenix-zfs",
    "phoenix-lxc",
    "phoenix-net",
    "phoenix-gpu",
    "phoenix-security",
    "phoenix-cli",
    "tests",
    "xtask",
];

/// The dependency tables: normal, dev and build, also under `[target.'cfg(..)'.*]`.
const DEPENDENCY_KINDS: [&str; 3] = ["dependencies", "dev-dependencies", "build-dependencies"];

/// Direction (item 2): phoenix-core and xtask depend on no workspace crate, a format crate only on
/// phoenix-core, a provider only on phoenix-core and the format crates (never on another
/// provider); phoenix-cli and tests may depend on every crate. Every dependency table counts,
/// dev and build included: a dev-dependency edge still makes the crate name the other one.
pub(crate) fn dependency_direction(files: &[SourceFile]) -> Vec<Violation> {
    let manifests: Vec<(&SourceFile, Manifest)> = files
        .iter()
        .filter(|file| file.is_manifest())
        .map(|file| (file, Manifest::parse(&file.text)))
        .collect();
    let workspace_crates: BTreeSet<&str> = manifests
        .iter()
        .filter_map(|(_, manifest)| manifest.package.as_deref())
        .chain(KNOWN_CRATES)
        .collect();

    let mut violations = Vec::new();
    for (file, manifest) in &manifests {
        let Some(package) = manifest.package.as_deref() else {
            continue;
        };
        let (allowed, why): (&[&str], &str) = if package == CORE {
            (&[], "phoenix-core depends on no workspace crate")
        } else if package == "xtask" {
            (&[], "xtask depends on no workspace crate")
        } else if FORMATS.contains(&package) {
            (
                &[CORE],
                "a format crate depends on phoenix-core only, so every provider can use it",
            )
        } else if PROVIDERS.contains(&package) {
            (
                &[CORE, FORMATS[0], FORMATS[1]],
                "a provider depends on phoenix-core and the format crates only; an ordering between providers is a ResourceId edge",
            )
        } else {
            continue;
        };
        for (dependency, line) in &manifest.dependencies {
            let dependency = dependency.as_str();
            if workspace_crates.contains(dependency) && !allowed.contains(&dependency) {
                violations.push(Violation::new(
                    file,
                    *line,
                    format!("{package} depends on {dependency}: {why}"),
                ));
            }
        }
    }
    violations
}

/// Every crate has `[lints]` with `workspace = true` (items 1 and 34).
pub(crate) fn workspace_lints(files: &[SourceFile]) -> Vec<Violation> {
    files
        .iter()
        .filter(|file| file.is_manifest())
        .filter_map(|file| {
            let manifest = Manifest::parse(&file.text);
            let package = manifest.package.as_deref()?;
            if manifest.workspace_lints {
                return None;
            }
            Some(Violation::new(
                file,
                manifest.lints_line.unwrap_or(1),
                format!("{package} has no `[lints]` table with `workspace = true`"),
            ))
        })
        .collect()
}

/// What the rules need from one `Cargo.toml`.
#[derive(Debug, Default)]
struct Manifest {
    /// The `[package]` name; the virtual root manifest has none.
    package: Option<String>,
    /// Each dependency's package name, with the line that declares it.
    dependencies: Vec<(String, usize)>,
    /// The line of the `[lints]` header.
    lints_line: Option<usize>,
    /// Whether `[lints]` holds `workspace = true`.
    workspace_lints: bool,
}

/// The section a manifest line belongs to.
enum Section {
    Package,
    /// A table of dependencies, one per key.
    Dependencies,
    /// A `[dependencies.name]` table describing one dependency.
    Dependency,
    Lints,
    Other,
}

impl Manifest {
    fn parse(text: &str) -> Manifest {
        let mut manifest = Manifest::default();
        let mut section = Section::Other;
        for (index, raw_line) in text.lines().enumerate() {
            let number = index + 1;
            let line = raw_line.split('#').next().unwrap_or_default().trim();
            if line.starts_with('[') {
                let header = line.trim_matches(|c| c == '[' || c == ']').trim();
                section = Section::of(header);
                if let (Section::Dependency, Some(name)) = (&section, table_dependency(header)) {
                    manifest.dependencies.push((name, number));
                }
                if matches!(section, Section::Lints) {
                    manifest.lints_line = Some(number);
                }
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let key = key.trim();
            let value = value.trim();
            match section {
                Section::Package if key == "name" => manifest.package = Some(unquote(value)),
                Section::Dependencies => {
                    let name = renamed_package(value)
                        .unwrap_or_else(|| unquote(key.split('.').next().unwrap_or_default()));
                    manifest.dependencies.push((name, number));
                }
                Section::Dependency if key == "package" => {
                    if let Some(last) = manifest.dependencies.last_mut() {
                        last.0 = unquote(value);
                    }
                }
                Section::Lints if key == "workspace" && value == "true" => {
                    manifest.workspace_lints = true;
                }
                _ => {}
            }
        }
        manifest
    }
}

impl Section {
    fn of(header: &str) -> Section {
        if header == "package" {
            return Section::Package;
        }
        if header == "lints" {
            return Section::Lints;
        }
        for kind in DEPENDENCY_KINDS {
            if header == kind || header.ends_with(&format!(".{kind}")) {
                return Section::Dependencies;
            }
        }
        if table_dependency(header).is_some() {
            return Section::Dependency;
        }
        Section::Other
    }
}

/// The dependency a `[dependencies.name]` header (or a target-specific one) describes.
fn table_dependency(header: &str) -> Option<String> {
    DEPENDENCY_KINDS.iter().find_map(|kind| {
        let name = header.strip_prefix(&format!("{kind}.")).or_else(|| {
            header
                .split_once(&format!(".{kind}."))
                .map(|(_, name)| name)
        })?;
        Some(unquote(name))
    })
}

/// The `package = "..."` of an inline dependency table, which names the real package.
fn renamed_package(value: &str) -> Option<String> {
    let (_, rest) = value.split_once("package")?;
    let rest = rest.trim_start().strip_prefix('=')?.trim_start();
    let rest = rest.strip_prefix('"')?;
    let (name, _) = rest.split_once('"')?;
    Some(name.to_owned())
}

fn unquote(text: &str) -> String {
    text.trim()
        .trim_matches(|c| c == '"' || c == '\'')
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn places(violations: &[Violation]) -> Vec<(&str, usize)> {
        violations
            .iter()
            .map(|violation| (violation.path.as_str(), violation.line))
            .collect()
    }

    const ROOT: &str = "\
[workspace]
members = [\"phoenix-core\", \"phoenix-zfs\"]

[workspace.dependencies]
phoenix-core = { path = \"phoenix-core\" }
phoenix-zfs = { path = \"phoenix-zfs\" }
";

    #[test]
    fn a_wrong_dependency_edge_is_caught_in_every_table() {
        let core = "\
[package]
name = \"phoenix-core\"

[dependencies]
serde.workspace = true
phoenix-zfs.workspace = true

[dev-dependencies]
lxc = { package = \"phoenix-lxc\", path = \"../phoenix-lxc\" }
";
        let zfs = "\
[package]
name = \"phoenix-zfs\"

[dependencies]
phoenix-core = { workspace = true, features = [\"sim\"] }

[target.'cfg(unix)'.dependencies.phoenix-net]
workspace = true
";
        let xtask = "[package]\nname = \"xtask\"\n\n[dependencies]\nxshell.workspace = true\nphoenix-cli.workspace = true\n";
        let cli = "[package]\nname = \"phoenix-cli\"\n\n[dependencies]\nphoenix-core.workspace = true\nphoenix-zfs.workspace = true\n";
        let files = [
            SourceFile::new("Cargo.toml", ROOT),
            SourceFile::new("phoenix-core/Cargo.toml", core),
            SourceFile::new("phoenix-zfs/Cargo.toml", zfs),
            SourceFile::new("xtask/Cargo.toml", xtask),
            SourceFile::new("phoenix-cli/Cargo.toml", cli),
        ];
        assert_eq!(
            places(&dependency_direction(&files)),
            [
                ("phoenix-core/Cargo.toml", 6),
                ("phoenix-core/Cargo.toml", 9),
                ("phoenix-zfs/Cargo.toml", 7),
                ("xtask/Cargo.toml", 6),
            ]
        );
    }

    #[test]
    fn providers_may_share_a_format_crate_but_never_depend_on_each_other() {
        let pve = "[package]\nname = \"phoenix-pve\"\n\n[dependencies]\nphoenix-core.workspace = true\nphoenix-lxc.workspace = true\n";
        let lxc = "[package]\nname = \"phoenix-lxc\"\n\n[dependencies]\nphoenix-core.workspace = true\nphoenix-pve.workspace = true\n";
        let zfs = "[package]\nname = \"phoenix-zfs\"\n\n[dependencies]\nphoenix-pve.workspace = true\nphoenix-lxc.workspace = true\n";
        let core =
            "[package]\nname = \"phoenix-core\"\n\n[dependencies]\nphoenix-pve.workspace = true\n";
        let files = [
            SourceFile::new("Cargo.toml", ROOT),
            SourceFile::new("phoenix-pve/Cargo.toml", pve),
            SourceFile::new("phoenix-lxc/Cargo.toml", lxc),
            SourceFile::new("phoenix-zfs/Cargo.toml", zfs),
            SourceFile::new("phoenix-core/Cargo.toml", core),
        ];
        assert_eq!(
            places(&dependency_direction(&files)),
            [
                ("phoenix-pve/Cargo.toml", 6),
                ("phoenix-zfs/Cargo.toml", 6),
                ("phoenix-core/Cargo.toml", 5),
            ]
        );
    }

    #[test]
    fn a_crate_without_workspace_lints_is_caught() {
        let with_lints = "[package]\nname = \"a\"\n\n[lints]\nworkspace = true\n";
        let local_lints = "[package]\nname = \"b\"\n\n[lints]\nrust.unsafe_code = \"forbid\"\n";
        let lint_tables_only = "[package]\nname = \"c\"\n\n[lints.clippy]\nworkspace = true\n";
        let files = [
            SourceFile::new("Cargo.toml", ROOT),
            SourceFile::new("a/Cargo.toml", with_lints),
            SourceFile::new("b/Cargo.toml", local_lints),
            SourceFile::new("c/Cargo.toml", lint_tables_only),
        ];
        assert_eq!(
            places(&workspace_lints(&files)),
            [("b/Cargo.toml", 4), ("c/Cargo.toml", 1)]
        );
    }
}
