//! Loading the config: one file, or the directory of JSON files that the bash tool used.

use std::io::{self, Read as _};
use std::os::unix::fs::FileTypeExt as _;
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
/// The largest config file Phoenix reads: the upstream files are under 100 KiB, so a bigger one
/// is a mistake (a disk image, `/dev/zero`) that would otherwise fill the memory.
pub const MAX_CONFIG_BYTES: u64 = 16 * 1024 * 1024;

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
        let metadata = std::fs::metadata(path).map_err(|err| vec![missing_error(path, &err)])?;
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
            // A dangling link is there (and an error), not missing.
            if std::fs::symlink_metadata(&file)
                .is_err_and(|err| err.kind() == io::ErrorKind::NotFound)
            {
                continue;
            }
            if name != VM_FILE {
                n_found += 1;
            }
            match load_file(&file) {
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
    let bytes = read_regular_file(file)?;
    let text = String::from_utf8(bytes).map_err(|err| utf8_error(file, &err))?;
    let document = Document::parse(PathBuf::from(file), text)?;
    tracing::debug!(file = %file.display(), "loaded config file");
    Ok(document)
}

/// Reads a config file: only a regular file (after following links), of at most
/// [`MAX_CONFIG_BYTES`].
///
/// The type is checked before the file is opened, because opening a FIFO blocks until a writer
/// comes and reading `/dev/zero` never ends. The read is bounded too, in case the file grows or
/// is swapped between the check and the read.
#[expect(
    clippy::result_large_err,
    reason = "a diagnostic is built once, on the failure path; boxing it would burden every caller"
)]
fn read_regular_file(file: &Path) -> Result<Vec<u8>, Diagnostic> {
    let metadata = std::fs::metadata(file).map_err(|err| missing_error(file, &err))?;
    let file_type = metadata.file_type();
    let what = if file_type.is_file() {
        None
    } else if file_type.is_dir() {
        Some("a directory")
    } else if file_type.is_fifo() {
        Some("a FIFO")
    } else if file_type.is_char_device() {
        Some("a character device")
    } else if file_type.is_block_device() {
        Some("a block device")
    } else if file_type.is_socket() {
        Some("a socket")
    } else {
        Some("not a regular file")
    };
    if let Some(what) = what {
        return Err(at_file(
            file,
            format!("cannot read: it is {what}; a config file must be a regular file"),
        ));
    }
    if metadata.len() > MAX_CONFIG_BYTES {
        return Err(too_large(file, metadata.len()));
    }
    let handle = std::fs::File::open(file).map_err(|err| read_error(file, &err))?;
    let mut bytes = Vec::new();
    handle
        .take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|err| read_error(file, &err))?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(too_large(file, bytes.len() as u64));
    }
    Ok(bytes)
}

fn too_large(file: &Path, n_bytes: u64) -> Diagnostic {
    at_file(
        file,
        format!(
            "cannot read: the file has {n_bytes} bytes or more; config files are limited to 16 MiB ({MAX_CONFIG_BYTES} bytes)"
        ),
    )
}

/// Text that is not UTF-8, located at the line and column of the first bad byte.
fn utf8_error(file: &Path, err: &std::string::FromUtf8Error) -> Diagnostic {
    let offset = err.utf8_error().valid_up_to();
    let valid = std::str::from_utf8(&err.as_bytes()[..offset])
        .expect("invariant: the bytes before valid_up_to are UTF-8");
    let (line, column) = super::scan::line_column(valid, offset);
    let byte = err.as_bytes()[offset];
    Diagnostic::error(format!(
        "invalid UTF-8 (byte 0x{byte:02X} at offset {offset}); config files must be UTF-8"
    ))
    .at(Location::new(file.display().to_string(), "").at(line, column))
}

/// A path that cannot be followed: a dangling symbolic link names its target; anything else
/// is a [`read_error`].
fn missing_error(file: &Path, err: &io::Error) -> Diagnostic {
    if err.kind() == io::ErrorKind::NotFound
        && let Ok(target) = std::fs::read_link(file)
    {
        return at_file(
            file,
            format!(
                "cannot read: it is a dangling symbolic link to {}, which does not exist",
                target.display()
            ),
        );
    }
    read_error(file, err)
}

fn at_file(file: &Path, message: String) -> Diagnostic {
    Diagnostic::error(message).at(Location::new(file.display().to_string(), ""))
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
        insta::assert_snapshot!(render(&diagnostics, dir.path()), @"error: <dir>/phoenix_lxc_configs.json: cannot read: it is a directory; a config file must be a regular file");
    }

    /// Makes a FIFO through `LocalHost`, the one place that spawns processes.
    fn mkfifo(path: &Path) {
        use crate::host::Host as _;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let cmd = crate::cmd::Cmd::write("mkfifo", [path.display().to_string()]);
        let output = runtime
            .block_on(crate::host::LocalHost::new().run(&cmd))
            .expect("mkfifo runs");
        assert!(output.success(), "mkfifo: {}", output.stderr);
    }

    #[test]
    fn issue_8_devices_fifos_and_links_to_them_are_refused_without_reading() {
        let diagnostics = ConfigSet::load(Path::new("/dev/zero")).expect_err("a device");
        insta::assert_snapshot!(render(&diagnostics, Path::new("/dev")), @"error: <dir>/zero: cannot read: it is a character device; a config file must be a regular file");

        let dir = tempfile::tempdir().expect("temp dir");
        let fifo = dir.path().join("fifo");
        mkfifo(&fifo);
        // Opening a FIFO blocks until a writer comes; the check before the open makes this
        // return at once.
        let diagnostics = ConfigSet::load(&fifo).expect_err("a FIFO");
        insta::assert_snapshot!(render(&diagnostics, dir.path()), @"error: <dir>/fifo: cannot read: it is a FIFO; a config file must be a regular file");

        let config = dir.path().join("config");
        fs::create_dir(&config).expect("mkdir");
        std::os::unix::fs::symlink(&fifo, config.join(LXC_FILE)).expect("symlink");
        std::os::unix::fs::symlink("/dev/zero", config.join(HYPERVISOR_FILE)).expect("symlink");
        let diagnostics = ConfigSet::load(&config).expect_err("links to a FIFO and a device");
        insta::assert_snapshot!(render(&diagnostics, dir.path()), @r"
        error: <dir>/config/phoenix_hypervisor_config.json: cannot read: it is a character device; a config file must be a regular file
        error: <dir>/config/phoenix_lxc_configs.json: cannot read: it is a FIFO; a config file must be a regular file
        ");
    }

    #[test]
    fn issue_8_a_file_over_the_size_limit_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let big = dir.path().join("big.json");
        let file = fs::File::create(&big).expect("create");
        file.set_len(MAX_CONFIG_BYTES + 1).expect("a sparse file");
        let diagnostics = ConfigSet::load(&big).expect_err("too big");
        insta::assert_snapshot!(render(&diagnostics, dir.path()), @"error: <dir>/big.json: cannot read: the file has 16777217 bytes or more; config files are limited to 16 MiB (16777216 bytes)");
        file.set_len(MAX_CONFIG_BYTES).expect("truncate");
        let diagnostics =
            ConfigSet::load(&big).expect_err("at the limit it is read, and is not JSON");
        assert!(
            render(&diagnostics, dir.path()).contains("invalid JSON"),
            "{diagnostics:?}"
        );
    }

    #[test]
    fn issue_8_non_utf8_text_is_located_by_line_and_column() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("latin1.json");
        fs::write(&file, b"{\n  \"files\": [],\n  \"x\": \"caf\xe9\"\n}\n").expect("write");
        let diagnostics = ConfigSet::load(&file).expect_err("not UTF-8");
        insta::assert_snapshot!(render(&diagnostics, dir.path()), @"error: <dir>/latin1.json:3:12: invalid UTF-8 (byte 0xE9 at offset 28); config files must be UTF-8");
    }

    #[test]
    fn issue_8_a_dangling_link_names_its_target() {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("config");
        fs::create_dir(&config).expect("mkdir");
        std::os::unix::fs::symlink("/nowhere/lxc.json", config.join(LXC_FILE)).expect("symlink");
        let diagnostics = ConfigSet::load(&config).expect_err("dangling");
        insta::assert_snapshot!(render(&diagnostics, dir.path()), @"error: <dir>/config/phoenix_lxc_configs.json: cannot read: it is a dangling symbolic link to /nowhere/lxc.json, which does not exist");
        let diagnostics =
            ConfigSet::load(&config.join(LXC_FILE)).expect_err("dangling, given directly");
        insta::assert_snapshot!(render(&diagnostics, dir.path()), @"error: <dir>/config/phoenix_lxc_configs.json: cannot read: it is a dangling symbolic link to /nowhere/lxc.json, which does not exist");
    }
}
