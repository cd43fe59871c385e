//! The simulated node's GPUs: the `nvidia` namespace describes them, and `NvidiaEmulator`
//! answers `nvidia-smi --query-gpu` and `modinfo -F version nvidia` from it as the real tools do
//! (`parse/fixtures`, the H200 samples). The `/proc` files the probe reads with `cat`
//! (`/proc/driver/nvidia/version`, `/proc/devices`) are the node's files: [`proc_files`] writes
//! them for a description, so a seed state holds both.
//!
//! Namespace `nvidia`:
//! ```json
//! {"driver": "580.76.05", "installed": "580.76.05",
//!  "gpus": [{"name": "NVIDIA GeForce RTX 5060 Ti", "pci_bus_id": "00000000:01:00.0"}]}
//! ```
//! `driver` is the loaded module (absent: none loaded, nvidia-smi fails as it does without a
//! driver); `installed` the module for the running kernel (default: `driver`); a namespace
//! without `gpus` has no `nvidia-smi` at all (exit 127).

use phoenix_core::sim::{Emulator, SimOutput, SimSys, stable_hash};
use serde::{Deserialize, Serialize};

use crate::parse::{GpuRow, QUERY_FIELDS, format_driver_version, format_query_gpu};

/// The namespace.
pub const NAMESPACE: &str = "nvidia";

/// What nvidia-smi prints when no driver is loaded (exit 9).
pub const NO_DRIVER: &str = "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.\n\n";

/// The simulated GPUs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NvidiaState {
    /// The loaded driver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// The module installed for the running kernel (default: `driver`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installed: Option<String>,
    /// The GPUs, index = position; `None`: nvidia-smi is not installed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpus: Option<Vec<SimGpu>>,
}

/// One simulated GPU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimGpu {
    /// `NVIDIA GeForce RTX 5060 Ti`.
    pub name: String,
    /// `00000000:01:00.0`.
    pub pci_bus_id: String,
}

/// The `/proc` files of a node whose loaded driver is `driver` (if any), with nvidia-uvm at
/// major `uvm` and nvidia-caps at `caps` (the rest of `/proc/devices` is the H200 sample's).
pub fn proc_files(driver: Option<&str>, uvm: u32, caps: u32) -> Vec<(String, String)> {
    let mut devices = String::from(
        "Character devices:\n  1 mem\n  4 /dev/vc/0\n  4 tty\n  5 /dev/tty\n 10 misc\n136 pts\n",
    );
    if driver.is_some() {
        devices.push_str("195 nvidia\n195 nvidiactl\n");
        let mut majors = [(uvm, "nvidia-uvm"), (caps, "nvidia-caps")];
        majors.sort();
        for (major, name) in majors {
            devices.push_str(&format!("{major} {name}\n"));
        }
    }
    devices.push_str("\nBlock devices:\n  7 loop\n259 blkext\n");
    let mut files = vec![("/proc/devices".to_owned(), devices)];
    if let Some(driver) = driver {
        files.push((
            "/proc/driver/nvidia/version".to_owned(),
            format_driver_version(driver),
        ));
    }
    files
}

/// `nvidia-smi` and `modinfo`.
#[derive(Debug, Default, Clone, Copy)]
pub struct NvidiaEmulator;

impl Emulator for NvidiaEmulator {
    fn programs(&self) -> Vec<String> {
        vec!["nvidia-smi".into(), "modinfo".into()]
    }

    fn run(&self, argv: &[String], _stdin: Option<&str>, sys: &mut SimSys<'_>) -> SimOutput {
        let state: NvidiaState = sys.load(NAMESPACE);
        let args: Vec<&str> = argv.iter().skip(1).map(String::as_str).collect();
        match argv.first().map(String::as_str) {
            Some("modinfo") => modinfo(&state, &args),
            _ => nvidia_smi(&state, &args),
        }
    }
}

/// `modinfo -F version nvidia`.
fn modinfo(state: &NvidiaState, args: &[&str]) -> SimOutput {
    match args {
        ["-F", "version", "nvidia"] => match state.installed.as_ref().or(state.driver.as_ref()) {
            Some(version) => SimOutput::ok(format!("{version}\n")),
            None => SimOutput::fail(1, "modinfo: ERROR: Module nvidia not found.\n"),
        },
        _ => SimOutput::fail(
            1,
            format!("modinfo: emulated for `-F version nvidia` only, not {args:?}\n"),
        ),
    }
}

/// `nvidia-smi --query-gpu=<QUERY_FIELDS> --format=csv,noheader`.
fn nvidia_smi(state: &NvidiaState, args: &[&str]) -> SimOutput {
    let Some(gpus) = &state.gpus else {
        return SimOutput::fail(127, "sh: 1: nvidia-smi: not found\n");
    };
    let Some(driver) = &state.driver else {
        return SimOutput::new(9, NO_DRIVER, "", false);
    };
    let query = format!("--query-gpu={QUERY_FIELDS}");
    if args != [query.as_str(), "--format=csv,noheader"] {
        return SimOutput::fail(
            2,
            format!("nvidia-smi: emulated for {query} --format=csv,noheader only, not {args:?}\n"),
        );
    }
    let rows: Vec<GpuRow> = gpus
        .iter()
        .enumerate()
        .map(|(index, gpu)| GpuRow {
            index: u32::try_from(index).unwrap_or(u32::MAX),
            uuid: uuid(&gpu.pci_bus_id),
            name: gpu.name.clone(),
            pci_bus_id: gpu.pci_bus_id.clone(),
            driver_version: driver.clone(),
        })
        .collect();
    SimOutput::ok(format_query_gpu(&rows))
}

/// A stable `GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` from the bus id.
fn uuid(bus: &str) -> String {
    let a = stable_hash(&[bus]);
    let b = stable_hash(&[bus, "2"]);
    let hex = format!("{a:016x}{b:016x}");
    format!(
        "GPU-{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{parse_driver_version, parse_proc_devices, parse_query_gpu};

    fn h200() -> NvidiaState {
        NvidiaState {
            driver: Some("580.159.04".into()),
            installed: None,
            gpus: Some(vec![SimGpu {
                name: "NVIDIA H200".into(),
                pci_bus_id: "00000000:00:06.0".into(),
            }]),
        }
    }

    #[test]
    fn nvidia_smi_prints_the_samples_shape() {
        let query = format!("--query-gpu={QUERY_FIELDS}");
        let out = nvidia_smi(&h200(), &[query.as_str(), "--format=csv,noheader"]);
        assert_eq!(out.status, 0);
        let sample = parse_query_gpu(include_str!(
            "../../phoenix-pve/src/gpu/fixtures/query-gpu.csv"
        ))
        .expect("sample");
        let emulated = parse_query_gpu(&out.stdout).expect("emulated");
        // Everything but the UUID, which is the card's own.
        assert_eq!(emulated[0].name, sample[0].name);
        assert_eq!(emulated[0].pci_bus_id, sample[0].pci_bus_id);
        assert_eq!(emulated[0].driver_version, sample[0].driver_version);
        assert_eq!(emulated[0].uuid.len(), sample[0].uuid.len());
        let no_driver = NvidiaState {
            driver: None,
            ..h200()
        };
        assert_eq!(nvidia_smi(&no_driver, &[]).status, 9);
        assert_eq!(nvidia_smi(&NvidiaState::default(), &[]).status, 127);
        assert_eq!(
            modinfo(&h200(), &["-F", "version", "nvidia"]),
            SimOutput::ok("580.159.04\n")
        );
        assert_eq!(
            modinfo(&NvidiaState::default(), &["-F", "version", "nvidia"]).status,
            1
        );
    }

    #[test]
    fn proc_files_read_back() {
        let files = proc_files(Some("580.159.04"), 238, 241);
        let devices = parse_proc_devices(&files[0].1).expect("devices");
        assert_eq!(devices.char_major("nvidia-uvm"), Some(238));
        assert_eq!(devices.char_major("nvidia"), Some(195));
        assert_eq!(
            parse_driver_version(&files[1].1).expect("version").version,
            "580.159.04"
        );
        assert_eq!(proc_files(None, 238, 241).len(), 1);
    }
}
