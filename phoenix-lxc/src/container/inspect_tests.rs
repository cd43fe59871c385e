//! The provider and the `pct` emulator read a container's conf with the one parser of the
//! format, so what `inspect` observes is what `pct config` prints on the simulated node.

use std::path::Path;

use phoenix_core::sim::{SimFile, SimNode, SimState};
use phoenix_core::{Cmd, Ctx, FileWrite, Host, Resource};

use super::Container;
use super::diff_tests::spec;

const TEMPLATE: &str = "/var/lib/vz/template/cache/ubuntu-24.04-standard_24.04-2_amd64.tar.zst";
const CONF: &str = "/etc/pve/lxc/101.conf";

/// A node with a `local-zfs` storage and the template, and container 101 created on it.
async fn node_with_container() -> SimNode {
    let mut state = SimState::new();
    state.files.insert(
        "/etc/pve/storage.cfg".to_owned(),
        SimFile::text("zfspool: local-zfs\n\tpool rpool/data\n\tcontent rootdir,images\n"),
    );
    state
        .files
        .insert(TEMPLATE.to_owned(), SimFile::text("(zstd archive)"));
    let node = SimNode::from_state(state, crate::sim::emulators()).expect("no duplicate programs");
    let create = Cmd::write(
        "pct",
        [
            "create",
            "101",
            TEMPLATE,
            "--storage",
            "local-zfs",
            "--rootfs",
            "local-zfs:8",
            "--hostname",
            "web",
            "--memory",
            "2048",
            "--cores",
            "2",
            "--onboot",
            "1",
        ],
    );
    let output = node.run(&create).await.expect("runs");
    assert_eq!(output.status, Some(0), "{output:?}");
    node
}

/// Appends a pending section to container 101's conf, as Proxmox (or a person) wrote it.
async fn add_pending(node: &SimNode, pending: &str) {
    let conf = node
        .read_file(Path::new(CONF))
        .await
        .expect("reads")
        .expect("the conf exists");
    let text = format!("{}\n[pve:pending]\n{pending}", conf.content);
    node.write_file(Path::new(CONF), &FileWrite::new(text, 0o640))
        .await
        .expect("writes");
}

/// The settings `pct config 101` prints on the node.
async fn pct_config(node: &SimNode) -> Vec<(String, String)> {
    let output = node
        .run(&Cmd::read("pct", ["config", "101"]))
        .await
        .expect("runs");
    assert_eq!(output.status, Some(0), "{output:?}");
    let conf = phoenix_pve::parse_conf(&output.stdout).expect("pct config parses");
    conf.main
        .sorted_keys()
        .into_iter()
        .filter(|(key, _)| *key != "description")
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect()
}

/// The settings the provider observes.
async fn inspected(node: &SimNode) -> Vec<(String, String)> {
    let container = Container {
        spec: spec(),
        parent: None,
    };
    let state = container
        .inspect(&Ctx::new(node))
        .await
        .expect("inspects")
        .expect("container 101 exists");
    state.keys.into_iter().collect()
}

#[tokio::test]
async fn issue_8_provider_and_emulator_read_pending_deletions_alike() {
    for (pending, deleted) in [
        ("delete: memory;onboot\n", ["memory", "onboot"]),
        ("delete: !cores,hostname\n", ["cores", "hostname"]),
        (
            "delete: memory onboot,!cores\nswap: 1024\n",
            ["onboot", "cores"],
        ),
    ] {
        let node = node_with_container().await;
        add_pending(&node, pending).await;
        let shown = pct_config(&node).await;
        assert!(
            !shown.iter().any(|(key, _)| deleted.contains(&key.as_str())),
            "{pending}: the emulator applies every deletion: {shown:?}"
        );
        assert_eq!(inspected(&node).await, shown, "{pending}");
    }
}

/// A host that holds `pct list` until the probe command has started: if the probe waited for
/// `pct list`, inspection would never finish.
struct ProbeFirst {
    node: SimNode,
    probe_started: tokio::sync::Notify,
}

#[async_trait::async_trait]
impl Host for ProbeFirst {
    async fn run(&self, cmd: &Cmd) -> Result<phoenix_core::Output, phoenix_core::HostError> {
        if cmd.program == "pct" && cmd.args.first().is_some_and(|a| a == "list") {
            self.probe_started.notified().await;
        }
        if cmd.program == "timeout" {
            self.probe_started.notify_one();
        }
        self.node.run(cmd).await
    }
    async fn read_file(
        &self,
        path: &Path,
    ) -> Result<Option<phoenix_core::host::FileData>, phoenix_core::HostError> {
        self.node.read_file(path).await
    }
    async fn write_file(
        &self,
        path: &Path,
        file: &FileWrite,
    ) -> Result<(), phoenix_core::HostError> {
        self.node.write_file(path, file).await
    }
    async fn remove_file(&self, path: &Path) -> Result<(), phoenix_core::HostError> {
        self.node.remove_file(path).await
    }
    fn describe(&self) -> String {
        self.node.describe()
    }
}

/// Issue 10: the one probe of every container runs at the same time as `pct list`, so a no-op
/// plan takes the slower of the two reads rather than their sum.
#[tokio::test]
async fn issue_10_the_probe_does_not_wait_for_pct_list() {
    let node = node_with_container().await;
    let output = node
        .run(&Cmd::write("pct", ["start", "101"]))
        .await
        .expect("runs");
    assert_eq!(output.status, Some(0), "{output:?}");
    let mut spec = spec();
    spec.features = vec!["base_setup".to_owned()];
    let requests = std::sync::Arc::new(crate::features::requests(&spec.features));
    let book = std::sync::Arc::new(std::collections::BTreeMap::from([(
        101,
        std::sync::Arc::clone(&requests),
    )]));
    let features = crate::features::Features {
        spec,
        digest: String::new(),
        requests,
        book,
    };
    let host = ProbeFirst {
        node,
        probe_started: tokio::sync::Notify::new(),
    };
    let inspected = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        features.inspect(&Ctx::new(&host)),
    )
    .await
    .expect("the probe started while pct list waited for it")
    .expect("inspects");
    assert!(
        matches!(
            inspected,
            Some(crate::features::FeaturesState::Probed { .. })
        ),
        "{inspected:?}"
    );
}
