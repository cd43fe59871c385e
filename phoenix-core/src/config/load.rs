//! Loading the config: one file, or the directory of JSON files that the bash tool used.

use std::io;
use std::path::{Path, PathBuf};

use super::document::Document;
use super::section::Section;
use crate::diag::{Diagnostic, Location};

/// The host file: users, network, storage, NFS, Samba, ZFS.
pub(crate) const HYPERVISOR_FILE: &str = "phoenix_hypervisor_config.json";
/// The containers file.
pub(crate) const LXC_FILE: &str = "phoenix_lxc_configs.json";
/// The virtual machines file, optional.
pub(crate) const VM_FILE: &str = "phoenix_vm_configs.json";

/// All config documents of one run, in load order.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigSet {
    documents: Vec<Document>,
}

impl ConfigSet {
    /// Loads a config directory or a single config file.
    ///
    /// In a directory, `phoenix_hypervisor_config.json` and `phoenix_lxc_configs.json` are read
    /// if present (at least one of them must be), then `phoenix_vm_configs.json` if present.
    /// Other files, such as schemas and nginx sites, are ignored. A file path loads just that
    /// file, whatever its name.
    ///
    /// Fails with every diagnostic found: each unreadable file, syntax error or non-object top
    /// level is reported, not just the first.
    pub fn load(path: &Path) -> Result<ConfigSet, Vec<Diagnostic>> {
        let metadata = std::fs::metadata(path).map_err(|err| vec![read_error(path, &err)])?;
        if !metadata.is_dir() {
            return load_file(path)
                .map(|document| ConfigSet::from_documents(vec![document]))
                .map_err(|diagnostic| vec![diagnostic]);
        }
        let mut documents = Vec::new();
        let mut diagnostics = Vec::new();
        let mut n_found = 0;
        for name in [HYPERVISOR_FILE, LXC_FILE, VM_FILE] {
            let file = path.join(name);
            let text = match std::fs::read_to_string(&file) {
                Ok(text) => text,
                Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                Err(err) => {
                    if name != VM_FILE {
                        n_found += 1;
                    }
                    diagnostics.push(read_error(&file, &err));
                    continue;
                }
            };
            if name != VM_FILE {
                n_found += 1;
            }
            match Document::parse(file, text) {
                Ok(document) => documents.push(document),
                Err(diagnostic) => diagnostics.push(diagnostic),
            }
        }
        if n_found == 0 {
            diagnostics.push(
                Diagnostic::error(format!(
                    "no config file found; expected {HYPERVISOR_FILE} or {LXC_FILE} in this directory"
                ))
                .at(Location::new(path.display().to_string(), "")),
            );
        }
        if !diagnostics.is_empty() {
            return Err(diagnostics);
        }
        for document in &documents {
            tracing::debug!(file = %document.file().display(), "loaded config file");
        }
        Ok(ConfigSet::from_documents(documents))
    }

    /// A config made of documents that are already parsed, for tests and embedders.
    pub fn from_documents(documents: Vec<Document>) -> ConfigSet {
        ConfigSet { documents }
    }

    /// The documents, in load order: hypervisor, containers, virtual machines.
    pub fn documents(&self) -> &[Document] {
        &self.documents
    }

    /// Every top-level key of every document: documents in load order, keys in file order.
    pub fn sections(&self) -> impl Iterator<Item = Section<'_>> {
        self.documents.iter().flat_map(|document| {
            document
                .object()
                .iter()
                .map(move |(key, value)| Section::new(key, value, document))
        })
    }
}

/// Reads and parses one file.
#[expect(
    clippy::result_large_err,
    reason = "a diagnostic is built once, on the failure path; boxing it would burden every caller"
)]
fn load_file(file: &Path) -> Result<Document, Diagnostic> {
    let text = std::fs::read_to_string(file).map_err(|err| read_error(file, &err))?;
    let document = Document::parse(PathBuf::from(file), text)?;
    tracing::debug!(file = %file.display(), "loaded config file");
    Ok(document)
}

/// `cannot read: permission denied (os error 13)`, located at the file.
fn read_error(file: &Path, err: &io::Error) -> Diagnostic {
    let reason = err.to_string();
    let mut chars = reason.chars();
    let reason = match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => reason,
    };
    Diagnostic::error(format!("cannot read: {reason}"))
        .at(Location::new(file.display().to_string(), ""))
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    /// The verbatim upstream files, named `<commit>__etc__<name>`.
    fn upstream(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/fixtures/upstream")
            .join(name)
    }

    /// A temp dir holding one commit's upstream files under their real names, plus the schema
    /// and nginx files that loading must ignore.
    fn upstream_dir(commit: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        let fixtures = upstream("");
        let prefix = format!("{commit}__etc__");
        for entry in fs::read_dir(&fixtures).expect("fixtures dir") {
            let entry = entry.expect("dir entry");
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(real) = name.strip_prefix(&prefix) {
                fs::copy(entry.path(), dir.path().join(real)).expect("copy fixture");
            }
        }
        dir
    }

    fn file_names(config: &ConfigSet) -> Vec<String> {
        config
            .documents()
            .iter()
            .map(|d| {
                d.file()
                    .file_name()
                    .expect("a file")
                    .to_string_lossy()
                    .into_owned()
            })
            .collect()
    }

    fn render(diagnostics: &[Diagnostic], dir: &Path) -> String {
        diagnostics
            .iter()
            .map(|d| d.to_string().replace(&dir.display().to_string(), "<dir>"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn both_upstream_fixture_sets_load() {
        let dir = upstream_dir("0017fa8");
        let config = ConfigSet::load(dir.path()).expect("0017fa8 loads");
        assert_eq!(
            file_names(&config),
            [HYPERVISOR_FILE, LXC_FILE, VM_FILE],
            "schemas and nginx sites are ignored"
        );
        let keys: Vec<&str> = config.sections().map(|s| s.key).collect();
        insta::assert_snapshot!(keys.join(" "), @"version author users core_paths timezone network docker nfs samba zfs proxmox_storage_ids mount_point_base proxmox_defaults tests nvidia_driver behavior shared_volumes $schema nvidia_driver_version nvidia_repo_url nvidia_runfile_url lxc_configs vm_defaults vms");

        let dir = upstream_dir("2171634");
        let config = ConfigSet::load(dir.path()).expect("2171634 loads");
        assert_eq!(file_names(&config), [HYPERVISOR_FILE, LXC_FILE]);
        assert_eq!(config.sections().count(), 18 + 5);
    }

    #[test]
    fn sections_know_where_they_are() {
        let dir = upstream_dir("0017fa8");
        let config = ConfigSet::load(dir.path()).expect("0017fa8 loads");
        let lxc = config
            .sections()
            .find(|s| s.key == "lxc_configs")
            .expect("lxc_configs section");
        assert_eq!(lxc.path().to_string(), "lxc_configs");
        let location = lxc.location();
        assert!(location.file.ends_with(LXC_FILE));
        assert_eq!((location.line, location.column), (Some(6), Some(20)));
        // grep -n '"951"' puts the container on line 501 and its memory_mb two lines below.
        let memory = lxc.location_of(&lxc.path().key("951").key("memory_mb"));
        assert_eq!(memory.path, r#"lxc_configs."951".memory_mb"#);
        assert_eq!((memory.line, memory.column), (Some(503), Some(26)));
    }

    #[test]
    fn a_single_file_loads_alone() {
        let config = ConfigSet::load(&upstream("0017fa8__etc__phoenix_vm_configs.json"))
            .expect("the vm file loads");
        assert_eq!(config.documents().len(), 1);
        let keys: Vec<&str> = config.sections().map(|s| s.key).collect();
        assert_eq!(keys, ["vm_defaults", "vms"]);
    }

    #[test]
    fn every_broken_file_is_reported() {
        let dir = tempfile::tempdir().expect("temp dir");
        fs::write(
            dir.path().join(HYPERVISOR_FILE),
            "{\n  \"zfs\": {\n    \"pools\": [\n      {\"name\": \"a\"}\n      {\"name\": \"b\"}\n    ]\n  }\n}\n",
        )
        .expect("write");
        fs::write(dir.path().join(LXC_FILE), "[]\n").expect("write");
        fs::write(dir.path().join(VM_FILE), "").expect("write");
        let diagnostics = ConfigSet::load(dir.path()).expect_err("all three are broken");
        insta::assert_snapshot!(render(&diagnostics, dir.path()), @r"
        error: <dir>/phoenix_hypervisor_config.json:5:7: invalid JSON: expected `,` or `]`
        error: <dir>/phoenix_lxc_configs.json:1:1: expected a JSON object at the top level, found an array
        error: <dir>/phoenix_vm_configs.json: invalid JSON: the file is empty
        ");
    }

    #[test]
    fn a_directory_without_config_files_is_an_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        fs::write(dir.path().join(VM_FILE), "{}").expect("write");
        fs::write(dir.path().join("phoenix_lxc_configs.schema.json"), "{}").expect("write");
        let diagnostics = ConfigSet::load(dir.path()).expect_err("no main file");
        insta::assert_snapshot!(render(&diagnostics, dir.path()), @"error: <dir>: no config file found; expected phoenix_hypervisor_config.json or phoenix_lxc_configs.json in this directory");
    }

    #[test]
    fn a_missing_path_names_the_os_reason() {
        let dir = tempfile::tempdir().expect("temp dir");
        let missing = dir.path().join("nope.json");
        let diagnostics = ConfigSet::load(&missing).expect_err("missing");
        insta::assert_snapshot!(render(&diagnostics, dir.path()), @"error: <dir>/nope.json: cannot read: no such file or directory (os error 2)");
        // A directory where a config file should be cannot be read either.
        fs::create_dir(dir.path().join(LXC_FILE)).expect("mkdir");
        let diagnostics = ConfigSet::load(dir.path()).expect_err("unreadable");
        insta::assert_snapshot!(render(&diagnostics, dir.path()), @"error: <dir>/phoenix_lxc_configs.json: cannot read: is a directory (os error 21)");
    }
}
