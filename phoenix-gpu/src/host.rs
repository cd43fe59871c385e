//! What the node says about its GPUs, read through queries of the node's one probe (so a no-op
//! plan runs no command of this provider's own): the GPU list from `nvidia-smi`, the loaded
//! module from `/proc/driver/nvidia/version`, the module installed for the running kernel from
//! `modinfo`, the device majors from `/proc/devices`, and pve-container's version from
//! `dpkg-query`; the GPU list, the majors and pve-container's version are queries phoenix-lxc
//! shares (`phoenix_pve::gpu::node_queries`).

use phoenix_core::probe::{QueryFact, ScopeFacts, observe};
use phoenix_core::{BoxError, Ctx, Scope};
use serde::{Deserialize, Serialize};

use crate::parse::{GpuRow, ParseError, ProcDevices, parse_driver_version};

/// The query name of the GPU list (shared with phoenix-lxc through `phoenix_pve::gpu`).
pub const QUERY_GPUS: &str = phoenix_pve::gpu::QUERY_GPUS;
/// The query name of the loaded module's version.
pub const QUERY_LOADED: &str = "nvidia-version";
/// The query name of the installed module's version.
pub const QUERY_INSTALLED: &str = "nvidia-modinfo";
/// The query name of the device majors (shared with phoenix-lxc).
pub const QUERY_DEVICES: &str = phoenix_pve::gpu::QUERY_DEVICES;

/// The argv of this provider's own queries (the shared ones are `phoenix_pve::gpu`'s).
pub fn queries() -> [(&'static str, Vec<String>); 2] {
    let owned = |argv: &[&str]| argv.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    [
        (QUERY_LOADED, owned(&["cat", "/proc/driver/nvidia/version"])),
        (
            QUERY_INSTALLED,
            owned(&["modinfo", "-F", "version", "nvidia"]),
        ),
    ]
}

/// Registers the queries with the node's probe: the shared ones (GPU list, majors,
/// pve-container's version) and this provider's own. Called at decode by every resource that
/// reads [`GpuHost`]; registering twice is the same registration.
pub fn observe_node(node: &Scope) {
    phoenix_pve::gpu::observe_node(node);
    node.observe(|inventory| {
        for (name, argv) in queries() {
            inventory
                .query(name, argv)
                .expect("invariant: the GPU queries are well formed and registered alike");
        }
    });
}

/// The node's GPUs and driver.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GpuHost {
    /// The loaded module's version (`None`: no module loaded).
    pub loaded: Option<String>,
    /// The module installed for the running kernel (`None`: none, or no `modinfo`).
    pub installed: Option<String>,
    /// The GPUs `nvidia-smi` lists; `None` when it cannot (not installed, no driver loaded),
    /// with its last line in `gpus_error`.
    pub gpus: Option<Vec<GpuRow>>,
    /// Why `gpus` is unknown.
    pub gpus_error: Option<String>,
    /// The device majors.
    pub devices: ProcDevices,
    /// pve-container's version (`None`: not installed).
    pub pve_container: Option<String>,
}

impl GpuHost {
    /// The GPU indexes, when known.
    pub fn indexes(&self) -> Option<Vec<u32>> {
        self.gpus
            .as_ref()
            .map(|gpus| gpus.iter().map(|gpu| gpu.index).collect())
    }
}

/// Reads [`GpuHost`] from the node's probe.
pub async fn read(cx: &Ctx<'_>, node: &Scope) -> Result<GpuHost, BoxError> {
    let facts = observe(cx, node).await?;
    Ok(from_facts(&facts)?)
}

/// The pure part of [`read`].
pub fn from_facts(facts: &ScopeFacts) -> Result<GpuHost, ParseError> {
    let query = |name: &str| {
        facts.queries.get(name).cloned().unwrap_or(QueryFact {
            status: 127,
            output: String::new(),
        })
    };
    let shared = phoenix_pve::gpu::node_gpus(facts)?;
    let loaded = query(QUERY_LOADED);
    let loaded = if loaded.success() {
        Some(parse_driver_version(&loaded.output)?.version)
    } else {
        None
    };
    let installed = query(QUERY_INSTALLED);
    let installed = installed
        .success()
        .then(|| installed.output.trim().to_owned())
        .filter(|version| !version.is_empty());
    Ok(GpuHost {
        loaded,
        installed,
        gpus: shared.gpus,
        gpus_error: shared.gpus_error,
        devices: shared.devices,
        pve_container: shared.pve_container,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fact(status: i32, output: &str) -> QueryFact {
        QueryFact {
            status,
            output: output.to_owned(),
        }
    }

    #[test]
    fn the_h200_host() {
        let mut facts = ScopeFacts::default();
        facts.queries.insert(
            QUERY_GPUS.into(),
            fact(
                0,
                include_str!("../../phoenix-pve/src/gpu/fixtures/query-gpu.csv"),
            ),
        );
        facts.queries.insert(
            QUERY_LOADED.into(),
            fact(
                0,
                include_str!("parse/fixtures/proc-driver-nvidia-version.txt"),
            ),
        );
        facts
            .queries
            .insert(QUERY_INSTALLED.into(), fact(0, "580.159.04\n"));
        facts.queries.insert(
            QUERY_DEVICES.into(),
            fact(
                0,
                include_str!("../../phoenix-pve/src/gpu/fixtures/proc-devices.txt"),
            ),
        );
        facts.queries.insert(
            phoenix_pve::gpu::QUERY_PVE_CONTAINER.into(),
            fact(0, "5.1.12"),
        );
        let host = from_facts(&facts).expect("host");
        assert_eq!(host.loaded.as_deref(), Some("580.159.04"));
        assert_eq!(host.installed.as_deref(), Some("580.159.04"));
        assert_eq!(host.indexes(), Some(vec![0]));
        assert_eq!(host.devices.char_major("nvidia-uvm"), Some(238));
        assert_eq!(host.pve_container.as_deref(), Some("5.1.12"));
    }

    #[test]
    fn a_host_without_a_driver() {
        let mut facts = ScopeFacts::default();
        facts.queries.insert(
            QUERY_GPUS.into(),
            fact(127, "sh: 1: nvidia-smi: not found\n"),
        );
        facts.queries.insert(
            QUERY_LOADED.into(),
            fact(
                1,
                "cat: /proc/driver/nvidia/version: No such file or directory\n",
            ),
        );
        facts.queries.insert(
            QUERY_INSTALLED.into(),
            fact(1, "modinfo: ERROR: Module nvidia not found.\n"),
        );
        let host = from_facts(&facts).expect("host");
        assert_eq!(
            host,
            GpuHost {
                gpus_error: Some("the NVIDIA driver is not installed: no nvidia-smi".into()),
                ..GpuHost::default()
            }
        );
    }
}
