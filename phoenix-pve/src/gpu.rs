//! The NVIDIA passthrough of a container conf, in both forms Proxmox VE knows, as pure
//! functions of the GPUs a container gets and what the node has. phoenix-lxc, which owns the
//! conf, writes them; phoenix-gpu checks the driver and the assignment. Both read the node
//! through the same queries of its one probe (`node`), so neither depends on the other.
//!
//! - `devN:` entries (pve-container ≥ 5.0.7, Proxmox VE 8.1+): Proxmox creates the nodes at
//!   every start with the majors the host has then, so nothing depends on dynamic majors.
//!   `gid=` is the container's `video` group: 44 in Debian's and Ubuntu's base-passwd (a fixed
//!   id, `/usr/share/base-passwd/group.master`), which every Proxmox Debian/Ubuntu template uses;
//!   `render` is allocated dynamically and so not usable as a fixed gid.
//! - older Proxmox: `lxc.cgroup2.devices.allow: c MAJOR:* rwm` with the majors read from the
//!   host's `/proc/devices` at plan time (nvidia-uvm's is dynamic: 238 on the H200 sample host)
//!   and `lxc.mount.entry: ... none bind,optional,create=file` per node.
//!
//! Both are checked against real confs (`../shared/fixtures/proxmox/lxc-conf.nvidia-dev.1.conf`,
//! `lxc-conf.nvidia-raw.1.conf`); `owned` finds these lines in a conf and plans their edit.

mod devices;
mod node;
mod owned;
mod query;

pub use devices::{ProcDevices, parse_proc_devices};
pub use node::{
    NodeGpus, QUERY_DEVICES, QUERY_GPUS, QUERY_PVE_CONTAINER, node_gpus, node_queries, observe_node,
};
pub use owned::{Edit, Found, Line, MAX_DEVICES, found_lines, plan_edit};
pub use query::{GpuRow, QUERY_FIELDS, format_query_gpu, parse_query_gpu};

/// The `video` group's fixed id in Debian's and Ubuntu's base-passwd.
pub const VIDEO_GID: u32 = 44;

/// The first pve-container version with `devN:` entries (Proxmox VE 8.1).
pub const DEV_ENTRIES_SINCE: [u32; 3] = [5, 0, 7];

/// The character majors of the NVIDIA drivers on the node, from `/proc/devices`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NvidiaMajors {
    /// `nvidia` (and `nvidiactl`): 195.
    pub nvidia: u32,
    /// `nvidia-uvm`: dynamic.
    pub uvm: u32,
    /// `nvidia-caps`, when the node has capability nodes.
    pub caps: Option<u32>,
}

/// How the node passes devices to containers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassthroughForm {
    /// `devN:` entries with this gid.
    Dev {
        /// The container's group for the nodes.
        gid: u32,
    },
    /// cgroup allowances and bind mounts.
    Cgroup(NvidiaMajors),
}

/// Whether pve-container `version` (dpkg's, such as `5.1.12` or `4.4-6`) has `devN:` entries.
pub fn dev_entries_supported(version: &str) -> bool {
    crate::version::numbers(version)
        .is_some_and(|numbers| <[u32; 3]>::from(numbers) >= DEV_ENTRIES_SINCE)
}

/// The device nodes a container with `gpus` gets: each `/dev/nvidia<i>`, `/dev/nvidiactl`,
/// `/dev/nvidia-uvm`, `/dev/nvidia-uvm-tools`, and the node's `/dev/nvidia-caps/<caps>`.
pub fn device_nodes(gpus: &[u32], caps: &[String]) -> Vec<String> {
    let mut nodes: Vec<String> = gpus.iter().map(|gpu| format!("/dev/nvidia{gpu}")).collect();
    for node in ["/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools"] {
        nodes.push(node.to_owned());
    }
    nodes.extend(caps.iter().map(|cap| format!("/dev/nvidia-caps/{cap}")));
    nodes
}

/// The conf lines (key, value) that pass `gpus` through, in `form`; `caps` are the names in
/// the node's `/dev/nvidia-caps`. `devN` numbering starts at `first_dev`.
pub fn passthrough_lines(
    gpus: &[u32],
    caps: &[String],
    form: PassthroughForm,
    first_dev: u32,
) -> Vec<(String, String)> {
    match form {
        PassthroughForm::Dev { gid } => device_nodes(gpus, caps)
            .into_iter()
            .zip(first_dev..)
            .map(|(node, n)| (format!("dev{n}"), format!("{node},gid={gid}")))
            .collect(),
        PassthroughForm::Cgroup(majors) => {
            let allow = |major: u32| {
                (
                    "lxc.cgroup2.devices.allow".to_owned(),
                    format!("c {major}:* rwm"),
                )
            };
            let mut lines = vec![allow(majors.nvidia), allow(majors.uvm)];
            if let Some(caps_major) = majors.caps.filter(|_| !caps.is_empty()) {
                lines.push(allow(caps_major));
            }
            let mount = |node: &str, create: &str| {
                (
                    "lxc.mount.entry".to_owned(),
                    format!(
                        "{node} {} none bind,optional,create={create}",
                        node.trim_start_matches('/')
                    ),
                )
            };
            for node in device_nodes(gpus, &[]) {
                lines.push(mount(&node, "file"));
            }
            if !caps.is_empty() {
                lines.push(mount("/dev/nvidia-caps", "dir"));
            }
            lines
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> Vec<(String, String)> {
        let path = format!(
            "{}/../../shared/fixtures/proxmox/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&path)
            .expect("the sample")
            .lines()
            .filter_map(|line| line.split_once(": "))
            .filter(|(key, _)| key.starts_with("dev") || key.starts_with("lxc."))
            .map(|(key, value)| (key.to_owned(), value.to_owned()))
            .collect()
    }

    fn caps() -> Vec<String> {
        vec!["nvidia-cap1".into(), "nvidia-cap2".into()]
    }

    #[test]
    fn the_dev_form_is_the_real_pve_8_conf_s_without_nvidia_modeset() {
        let real: Vec<String> = sample("lxc-conf.nvidia-dev.1.conf")
            .into_iter()
            .map(|(_, value)| value)
            .filter(|value| !value.starts_with("/dev/nvidia-modeset"))
            .collect();
        let ours: Vec<String> =
            passthrough_lines(&[0], &caps(), PassthroughForm::Dev { gid: VIDEO_GID }, 0)
                .into_iter()
                .map(|(_, value)| value)
                .collect();
        assert_eq!(ours, real);
    }

    #[test]
    fn the_cgroup_form_is_the_real_older_conf_s() {
        // That host's majors: 195 (nvidia), 511 and 236 (uvm and caps).
        let majors = NvidiaMajors {
            nvidia: 195,
            uvm: 511,
            caps: Some(236),
        };
        let ours = passthrough_lines(&[0], &caps(), PassthroughForm::Cgroup(majors), 0);
        assert_eq!(ours, sample("lxc-conf.nvidia-raw.1.conf"));
    }

    #[test]
    fn a_changed_uvm_major_changes_only_its_line() {
        let at = |uvm| {
            passthrough_lines(
                &[0],
                &caps(),
                PassthroughForm::Cgroup(NvidiaMajors {
                    nvidia: 195,
                    uvm,
                    caps: Some(241),
                }),
                0,
            )
        };
        let (before, after) = (at(238), at(243));
        let changed: Vec<_> = before.iter().zip(&after).filter(|(a, b)| a != b).collect();
        assert_eq!(
            changed,
            [(
                &(
                    "lxc.cgroup2.devices.allow".to_owned(),
                    "c 238:* rwm".to_owned()
                ),
                &(
                    "lxc.cgroup2.devices.allow".to_owned(),
                    "c 243:* rwm".to_owned()
                )
            )]
        );
    }

    #[test]
    fn pve_container_versions() {
        let cases = [
            ("5.0.7", true),
            ("5.0.8", true),
            ("5.1.12", true),
            ("6.0.9", true),
            ("5.0.6", false),
            ("4.4-6", false),
            ("5", false),
            ("", false),
            ("x", false),
        ];
        for (version, want) in cases {
            assert_eq!(dev_entries_supported(version), want, "{version}");
        }
    }

    /// The upstream 0017fa8 containers with a `gpu_assignment`, on a PVE 8.1+ node (devN) and on
    /// an older one with the H200 sample host's majors (195, nvidia-uvm 238, nvidia-caps 241).
    #[test]
    fn the_upstream_containers_with_gpus() {
        let path = format!(
            "{}/../../shared/fixtures/upstream/0017fa8__etc__phoenix_lxc_configs.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let config: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("upstream")).expect("JSON");
        let majors = NvidiaMajors {
            nvidia: 195,
            uvm: 238,
            caps: Some(241),
        };
        let mut out = String::new();
        for (vmid, entry) in config["lxc_configs"].as_object().expect("containers") {
            let Some(assignment) = entry["gpu_assignment"].as_str() else {
                continue;
            };
            if assignment == "none" {
                continue;
            }
            let gpus: Vec<u32> = assignment
                .split(',')
                .map(|gpu| gpu.trim().parse().expect("an index"))
                .collect();
            for (name, form) in [
                ("PVE 8.1+", PassthroughForm::Dev { gid: VIDEO_GID }),
                ("older", PassthroughForm::Cgroup(majors)),
            ] {
                out.push_str(&format!("# {vmid} ({assignment:?}) on {name}\n"));
                for (key, value) in passthrough_lines(&gpus, &caps(), form, 0) {
                    out.push_str(&format!("{key}: {value}\n"));
                }
            }
        }
        insta::assert_snapshot!(out);
    }
}
