//! What the node says about passthrough, read through queries of the node's one probe, which
//! phoenix-gpu (the driver, the assignment check) and phoenix-lxc (the conf lines) both register
//! and read without depending on each other: the GPU list (`nvidia-smi`), the majors
//! (`/proc/devices`) and pve-container's version (`dpkg-query`), which decides the form.

use phoenix_core::Scope;
use phoenix_core::probe::{QueryFact, ScopeFacts};
use serde::{Deserialize, Serialize};

use super::{
    GpuRow, NvidiaMajors, PassthroughForm, ProcDevices, QUERY_FIELDS, VIDEO_GID,
    dev_entries_supported, parse_proc_devices, parse_query_gpu,
};
use crate::ParseError;

/// The query name of the GPU list.
pub const QUERY_GPUS: &str = "nvidia-smi";
/// The query name of the device majors.
pub const QUERY_DEVICES: &str = "proc-devices";
/// The query name of pve-container's version.
pub const QUERY_PVE_CONTAINER: &str = "pve-container";

/// The argv of each shared query. pve-container is read with `dpkg-query` as a query, not as a
/// probe package: every package in a scope's inventory is one the scope's `apt-get install`
/// installs when missing.
pub fn node_queries() -> [(&'static str, Vec<String>); 3] {
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
        (QUERY_DEVICES, owned(&["cat", "/proc/devices"])),
        (
            QUERY_PVE_CONTAINER,
            owned(&["dpkg-query", "-W", "-f=${Version}", "pve-container"]),
        ),
    ]
}

/// Registers the shared queries with the node's probe; registering twice (from either provider)
/// is the same registration.
pub fn observe_node(node: &Scope) {
    node.observe(|inventory| {
        for (name, argv) in node_queries() {
            inventory
                .query(name, argv)
                .expect("invariant: the GPU queries are well formed and registered alike");
        }
    });
}

/// The node's side of passthrough, as its probe read it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeGpus {
    /// The GPUs `nvidia-smi` lists; `None` when it cannot, with the reason in `gpus_error`.
    pub gpus: Option<Vec<GpuRow>>,
    /// Why `gpus` is unknown (no driver, or one waiting for a reboot).
    pub gpus_error: Option<String>,
    /// The device majors.
    pub devices: ProcDevices,
    /// pve-container's version, `None` when it is not installed.
    pub pve_container: Option<String>,
}

impl NodeGpus {
    /// The GPU indexes, when known.
    pub fn indexes(&self) -> Option<Vec<u32>> {
        self.gpus
            .as_ref()
            .map(|gpus| gpus.iter().map(|gpu| gpu.index).collect())
    }

    /// The majors of the NVIDIA drivers, when `nvidia` and `nvidia-uvm` have one.
    pub fn majors(&self) -> Option<NvidiaMajors> {
        Some(NvidiaMajors {
            nvidia: self.devices.char_major("nvidia")?,
            uvm: self.devices.char_major("nvidia-uvm")?,
            caps: self.devices.char_major("nvidia-caps"),
        })
    }

    /// The form this node takes: `devN:` entries with pve-container ≥ 5.0.7, else cgroup lines
    /// with the majors of `/proc/devices`; or why neither can be written now.
    pub fn form(&self) -> Result<PassthroughForm, String> {
        let Some(version) = &self.pve_container else {
            return Err("pve-container is not installed, so this is not a Proxmox VE node".into());
        };
        if dev_entries_supported(version) {
            return Ok(PassthroughForm::Dev { gid: VIDEO_GID });
        }
        self.majors().map(PassthroughForm::Cgroup).ok_or_else(|| {
            format!(
                "pve-container {version} has no devN: entries, and /proc/devices lists no major for nvidia and nvidia-uvm (the driver is not loaded)"
            )
        })
    }
}

/// Reads [`NodeGpus`] from the probe's queries (a query that did not run reads as a missing
/// program).
pub fn node_gpus(facts: &ScopeFacts) -> Result<NodeGpus, ParseError> {
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
        (
            None,
            Some("the NVIDIA driver is not installed: no nvidia-smi".to_owned()),
        )
    } else {
        let last = gpus
            .output
            .lines()
            .map(str::trim)
            .rfind(|line| !line.is_empty())
            .unwrap_or_default()
            .to_owned();
        (
            None,
            Some(format!(
                "nvidia-smi exited {}: {last} (a driver installed since the last boot needs a reboot)",
                gpus.status
            )),
        )
    };
    let devices = query(QUERY_DEVICES);
    let devices = if devices.success() {
        parse_proc_devices(&devices.output)?
    } else {
        ProcDevices::default()
    };
    let version = query(QUERY_PVE_CONTAINER);
    let pve_container = version
        .success()
        .then(|| version.output.trim().to_owned())
        .filter(|version| !version.is_empty());
    Ok(NodeGpus {
        gpus,
        gpus_error,
        devices,
        pve_container,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(queries: &[(&str, i32, &str)]) -> ScopeFacts {
        let mut facts = ScopeFacts::default();
        for (name, status, output) in queries {
            facts.queries.insert(
                (*name).to_owned(),
                QueryFact {
                    status: *status,
                    output: (*output).to_owned(),
                },
            );
        }
        facts
    }

    #[test]
    fn the_h200_host_on_pve_8_and_on_pve_7() {
        let host = |version: &str| {
            node_gpus(&facts(&[
                (QUERY_GPUS, 0, include_str!("fixtures/query-gpu.csv")),
                (QUERY_DEVICES, 0, include_str!("fixtures/proc-devices.txt")),
                (QUERY_PVE_CONTAINER, 0, version),
            ]))
            .expect("host")
        };
        let new = host("5.2.7");
        assert_eq!(new.indexes(), Some(vec![0]));
        assert_eq!(new.form(), Ok(PassthroughForm::Dev { gid: 44 }));
        assert_eq!(
            host("4.4-6").form(),
            Ok(PassthroughForm::Cgroup(NvidiaMajors {
                nvidia: 195,
                uvm: 238,
                caps: Some(241)
            }))
        );
    }

    #[test]
    fn a_node_without_a_driver_or_without_proxmox() {
        let none = node_gpus(&facts(&[
            (QUERY_GPUS, 127, "sh: 1: nvidia-smi: not found\n"),
            (QUERY_PVE_CONTAINER, 0, "4.4-6"),
        ]))
        .expect("node");
        assert_eq!(none.indexes(), None);
        assert!(
            none.gpus_error
                .as_deref()
                .unwrap_or_default()
                .contains("not installed")
        );
        assert!(
            none.form()
                .expect_err("deferred")
                .contains("no major for nvidia")
        );
        let waiting = node_gpus(&facts(&[(
            QUERY_GPUS,
            9,
            "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.\n\n",
        )]))
        .expect("node");
        assert!(
            waiting
                .gpus_error
                .as_deref()
                .unwrap_or_default()
                .starts_with("nvidia-smi exited 9: NVIDIA-SMI has failed"),
            "{waiting:?}"
        );
        let not_pve = node_gpus(&facts(&[(
            QUERY_PVE_CONTAINER,
            1,
            "dpkg-query: no packages found matching pve-container\n",
        )]))
        .expect("node");
        assert!(
            not_pve
                .form()
                .expect_err("deferred")
                .contains("not a Proxmox VE node")
        );
    }
}
