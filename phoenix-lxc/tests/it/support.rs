//! Helpers: a simulated node with this crate's emulators and storages, running commands, and
//! reading samples.

use std::path::PathBuf;

use phoenix_core::Cmd;
use phoenix_core::host::Host;
use phoenix_core::sim::{SimFile, SimNode, SimState};
use serde_json::Value;

/// The template path upstream's configs use.
pub(crate) const TEMPLATE: &str =
    "/fastData/shared-iso/template/cache/ubuntu-24.04-standard_24.04-2_amd64.tar.zst";

/// Reads a sample of `shared/fixtures/proxmox`.
pub(crate) fn sample(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/proxmox")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("read {}: {err}", path.display()))
}

/// What one command returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ran {
    pub(crate) status: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// A node with a `local` dir storage (no container content), a `local-zfs` zfspool storage, the
/// Ubuntu template archive, and `tools.pct` set to `pct` (or nothing for `Value::Null`).
pub(crate) fn node_with(pct: Value) -> SimNode {
    let mut state = SimState::new();
    state.files.insert(
        "/etc/pve/storage.cfg".to_owned(),
        SimFile::text(
            "dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl,backup\n\nzfspool: local-zfs\n\tpool rpool/data\n\tcontent rootdir,images\n\tsparse 1\n\nzfspool: fastData\n\tpool fastData\n\tcontent images,rootdir\n",
        ),
    );
    state
        .files
        .insert(TEMPLATE.to_owned(), SimFile::text("(zstd archive)"));
    if !pct.is_null() {
        state.tools.insert("pct".to_owned(), pct);
    }
    SimNode::from_state(state, phoenix_lxc::sim::emulators()).expect("no duplicate programs")
}

/// A node as `node_with(Value::Null)`.
pub(crate) fn node() -> SimNode {
    node_with(Value::Null)
}

/// Runs `words` on the node.
pub(crate) async fn run(node: &SimNode, words: &[&str]) -> Ran {
    run_cmd(node, Cmd::write(words[0], words[1..].iter().copied())).await
}

/// Runs `cmd` on the node.
pub(crate) async fn run_cmd(node: &SimNode, cmd: Cmd) -> Ran {
    let output = node.run(&cmd).await.expect("simulated command runs");
    Ran {
        status: output.status.expect("exit status"),
        stdout: output.stdout,
        stderr: output.stderr,
    }
}

/// Runs `words` and expects success.
pub(crate) async fn ok(node: &SimNode, words: &[&str]) -> String {
    let ran = run(node, words).await;
    assert_eq!(ran.status, 0, "{words:?}: {ran:?}");
    ran.stdout
}

/// The content of a node file.
pub(crate) fn file(node: &SimNode, path: &str) -> String {
    node.state()
        .files
        .get(path)
        .unwrap_or_else(|| panic!("{path} exists"))
        .content
        .clone()
}

/// Creates container `id` from the Ubuntu template the way Phoenix does, and returns the output.
pub(crate) async fn create(node: &SimNode, id: &str, hostname: &str) -> String {
    ok(
        node,
        &[
            "pct",
            "create",
            id,
            TEMPLATE,
            "--hostname",
            hostname,
            "--memory",
            "2048",
            "--cores",
            "2",
            "--storage",
            "local-zfs",
            "--rootfs",
            "local-zfs:8",
            "--net0",
            "name=eth0,bridge=vmbr0,ip=10.0.0.51/24,gw=10.0.0.1,hwaddr=BC:24:11:00:09:51",
            "--unprivileged",
            "1",
        ],
    )
    .await
}
