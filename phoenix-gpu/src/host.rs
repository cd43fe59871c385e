//! What the node says about its GPUs, read through queries of the node's one probe (so a no-op
//! plan runs no command of this provider's own): the GPU list from `nvidia-smi`, the loaded
//! module from `/proc/driver/nvidia/version`, the module installed for the running kernel from
//! `modinfo`, the device majors from `/proc/devices`, and pve-container's version from the
//! probe's packages.

use phoenix_core::probe::{QueryFact, ScopeFacts, observe};
use phoenix_core::{BoxError, Ctx, Scope};
use serde::{Deserialize, Serialize};

use crate::parse::{
    GpuRow, ParseError, ProcDevices, QUERY_FIELDS, parse_driver_version, parse_proc_devices,
    parse_query_gpu,
};

/// The query name of the GPU list.
pub const QUERY_GPUS: &str = "nvidia-smi";
/// The query name of the loaded module's version.
pub const QUERY_LOADED: &str = "nvidia-version";
/// The query name of the installed module's version.
pub const QUERY_INSTALLED: &str = "nvidia-modinfo";
/// The query name of the device majors.
pub const QUERY_DEVICES: &str = "proc-devices";
/// The package whose version says whether `devN:` entries exist (pve-container ≥ 5.0.7).
pub const PVE_CONTAINER: &str = "pve-container";

/// The argv of each query.
pub fn queries() -> [(&'static str, Vec<String>); 4] {
    let owned = |argv: &[&str]| argv.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    [
        (
            QUERY_GPUS,
            owned(&[
                "nvidia-smi",
                &format!("--query-gpu={QUERY_FIELDS}"),
                "--format=csv,noheader",
            ]),
        ),
        (QUERY_LOADED, owned(&["cat", "/proc/driver/nvidia/version"])),
        (
            QUERY_INSTALLED,
            owned(&["modinfo", "-F", "version", "nvidia"]),
        ),
        (QUERY_DEVICES, owned(&["cat", "/proc/devices"])),
    ]
}

/// Registers the queries with the node's probe (not pve-container's package: every package in a
/// scope's inventory is one the scope's `apt-get install` installs when missing). Called at decode by every
/// resource that reads [`GpuHost`]; registering twice is the same registration.
pub fn observe_node(node: &Scope) {
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
    /// pve-container's version, when the probe observed it for another resource.
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
    let gpus = query(QUERY_GPUS);
    let (gpus, gpus_error) = if gpus.success() {
        (Some(parse_query_gpu(&gpus.output)?), None)
    } else if gpus.is_missing_program() {
        (None, Some("nvidia-smi is not installed".to_owned()))
    } else {
        let last = gpus
            .output
            .lines()
            .last()
            .unwrap_or_default()
            .trim()
            .to_owned();
        (
            None,
            Some(format!("nvidia-smi exited {}: {last}", gpus.status)),
        )
    };
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
    let devices = query(QUERY_DEVICES);
    let devices = if devices.success() {
        parse_proc_devices(&devices.output)?
    } else {
        ProcDevices::default()
    };
    let pve_container = facts
        .packages
        .get(PVE_CONTAINER)
        .filter(|package| package.is_installed())
        .map(|package| package.version.clone());
    Ok(GpuHost {
        loaded,
        installed,
        gpus,
        gpus_error,
        devices,
        pve_container,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use phoenix_core::probe::PackageFact;

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
            fact(0, include_str!("parse/fixtures/query-gpu.csv")),
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
            fact(0, include_str!("parse/fixtures/proc-devices.txt")),
        );
        facts.packages.insert(
            PVE_CONTAINER.into(),
            PackageFact {
                status: "ii".into(),
                version: "5.1.12".into(),
            },
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
                gpus_error: Some("nvidia-smi is not installed".into()),
                ..GpuHost::default()
            }
        );
    }
}
