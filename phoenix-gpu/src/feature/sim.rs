//! The `nvidia` feature inside a simulated container: NVIDIA's runfile (served for any version at
//! its download URL, run as `sh FILE ...`) and the container's own `nvidia-smi`.
//!
//! The runfile with `--no-kernel-module` installs the user space of its version: `nvidia-smi`
//! in `/usr/bin` (its content names its version, standing for the binary) and
//! `libnvidia-ml.so.<version>`, replacing a previous version's. Without `--no-kernel-module`
//! it fails, as the real one does in a container that cannot build or load a module.
//!
//! The container's `nvidia-smi` sees the node's loaded module (the `nvidia` namespace) through
//! the device nodes passed in: without `/dev/nvidiactl` it cannot talk to the driver (exit 9),
//! a user space of another version is NVML's "Driver/library version mismatch" (exit 18, as
//! `NVML_ERROR_LIB_RM_VERSION_MISMATCH`), and GPU `i` is listed when `/dev/nvidia<i>` exists
//! ("No devices were found", exit 6, when none does). Answered: `--query-gpu=driver_version
//! --format=csv,noheader` (one line per GPU, as the H200 sample's `driver_version` column) and
//! `-L` (one `GPU i: NAME (UUID: GPU-...)` line per GPU, as the H200 sample's `nvidia-smi -L`;
//! the UUID derived from the bus id).
//!
//! **Assumption:** no capture of a runfile install or of `nvidia-smi` inside a container was
//! available; the makeself lines and the NVML messages follow NVIDIA's installer and NVML
//! documentation, the query output is the H200 sample's shape.

use phoenix_core::sim::{Emulator, GuestSys, SimFile, SimOutput, SimSys};

use crate::sim::{NAMESPACE, NO_DRIVER, NvidiaState};

use super::userspace::RUNFILE;

/// The library whose file name carries the user space's version.
const LIBRARY_DIR: &str = "/usr/lib/x86_64-linux-gnu";

/// Where the runfile puts `nvidia-smi`.
const SMI: &str = "/usr/bin/nvidia-smi";

/// The runfile's header line naming its version.
const LABEL: &str = "label=\"NVIDIA Accelerated Graphics Driver for Linux-x86_64 ";

/// What the node serves at a runfile URL: a makeself header with the version's label.
pub fn runfile(version: &str) -> String {
    format!("#!/bin/sh\n# This script was generated using Makeself 2.1.5\n{LABEL}{version}\"\n")
}

/// The version of a runfile's content.
fn runfile_version(content: &str) -> Option<&str> {
    content
        .lines()
        .find_map(|line| line.strip_prefix(LABEL))
        .and_then(|rest| rest.strip_suffix('"'))
}

/// Where NVIDIA's CUDA repositories are (one per distribution and architecture).
const CUDA_REPOSITORIES: &str = "https://developer.download.nvidia.com/compute/cuda/repos/";

/// What the node serves as the CUDA repositories' signing key `3bf863cc.pub`. **Assumption:**
/// the real key's armour, with a stand-in body (apt reads it only on a real node).
pub const CUDA_KEY: &str = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nphoenix sim: stands for NVIDIA's CUDA repository key 3bf863cc\n-----END PGP PUBLIC KEY BLOCK-----\n";

/// The file name of a path.
fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// `nvidia-smi` and the runfile inside containers.
#[derive(Debug, Default, Clone, Copy)]
pub struct NvidiaGuestEmulator;

impl Emulator for NvidiaGuestEmulator {
    fn programs(&self) -> Vec<String> {
        Vec::new()
    }

    fn guest_programs(&self) -> Vec<String> {
        vec!["nvidia-smi".to_owned(), basename(RUNFILE).to_owned()]
    }

    fn run(&self, argv: &[String], _stdin: Option<&str>, _sys: &mut SimSys<'_>) -> SimOutput {
        SimOutput::fail(
            127,
            format!(
                "phoenix sim: `{}` runs in containers only\n",
                argv.join(" ")
            ),
        )
    }

    fn download(&self, url: &str) -> Option<String> {
        if url.starts_with(CUDA_REPOSITORIES)
            && url.ends_with(&format!("/{}", super::cuda::KEY_FILE))
        {
            return Some(CUDA_KEY.to_owned());
        }
        let rest = url.strip_prefix("https://us.download.nvidia.com/XFree86/Linux-x86_64/")?;
        let (version, file) = rest.split_once('/')?;
        (file == format!("NVIDIA-Linux-x86_64-{version}.run")).then(|| runfile(version))
    }

    fn run_in_guest(
        &self,
        argv: &[String],
        _stdin: Option<&str>,
        guest: &mut dyn GuestSys<'_>,
    ) -> Option<SimOutput> {
        let (program, args) = argv.split_first()?;
        if basename(program) == "nvidia-smi" {
            nvidia_smi(args, guest)
        } else {
            install(program, args, guest)
        }
    }
}

/// The user-space version installed in the guest.
fn installed(guest: &dyn GuestSys<'_>) -> Option<String> {
    let smi = guest.read(SMI)?;
    smi.content
        .strip_prefix("NVIDIA-SMI ")
        .map(|version| version.trim().to_owned())
}

/// The runfile at `path` with `args`.
fn install(path: &str, args: &[String], guest: &mut dyn GuestSys<'_>) -> Option<SimOutput> {
    let content = guest.read(path)?.content;
    let version = runfile_version(&content)?.to_owned();
    let mut stdout = format!(
        "Verifying archive integrity... OK\nUncompressing NVIDIA Accelerated Graphics Driver for Linux-x86_64 {version}{}\n",
        ".".repeat(60)
    );
    if !args.iter().any(|arg| arg == "--silent") {
        return None;
    }
    if !args.iter().any(|arg| arg == "--no-kernel-module") {
        stdout.push_str("\nERROR: Unable to load the kernel module 'nvidia.ko'.  This happens most frequently when this kernel module was built against the wrong or improperly configured kernel sources, with a version of gcc that differs from the one used to build the target kernel, or if another driver, such as nouveau, is present and prevents the NVIDIA kernel module from obtaining ownership of the NVIDIA device(s), or no NVIDIA device installed in this system is supported by this NVIDIA Linux graphics driver release.\n\nERROR: Installation has failed.  Please see the file '/var/log/nvidia-installer.log' for details.  You may find suggestions on fixing installation problems in the README available on the Linux driver download page at www.nvidia.com.\n");
        return Some(SimOutput::new(1, stdout, "", false));
    }
    if let Some(old) = installed(guest) {
        guest.remove(&format!("{LIBRARY_DIR}/libnvidia-ml.so.{old}"));
    }
    guest.write(
        SMI,
        SimFile::new(format!("NVIDIA-SMI {version}\n"), 0o755, "root:root"),
    );
    guest.write(
        &format!("{LIBRARY_DIR}/libnvidia-ml.so.{version}"),
        SimFile::new("", 0o755, "root:root"),
    );
    guest.write(
        "/var/log/nvidia-installer.log",
        SimFile::new(
            format!("nvidia-installer log file '/var/log/nvidia-installer.log'\ninstaller version: {version}\n"),
            0o644,
            "root:root",
        ),
    );
    Some(SimOutput::new(0, stdout, "", true))
}

/// `nvidia-smi` inside the guest.
fn nvidia_smi(args: &[String], guest: &mut dyn GuestSys<'_>) -> Option<SimOutput> {
    let list = match args {
        [flag] if flag == "-L" || flag == "--list-gpus" => true,
        [query, format]
            if format == "--format=csv,noheader" && query == "--query-gpu=driver_version" =>
        {
            false
        }
        _ => return None,
    };
    let version = installed(guest)?;
    let state: NvidiaState = guest.node().load(NAMESPACE);
    let Some(driver) = state
        .driver
        .filter(|_| guest.read("/dev/nvidiactl").is_some())
    else {
        return Some(SimOutput::new(9, NO_DRIVER, "", false));
    };
    if driver != version {
        let short: Vec<&str> = version.split('.').take(2).collect();
        return Some(SimOutput::new(
            18,
            format!(
                "Failed to initialize NVML: Driver/library version mismatch\nNVML library version: {}\n",
                short.join(".")
            ),
            "",
            false,
        ));
    }
    let visible: Vec<(usize, &crate::sim::SimGpu)> = state
        .gpus
        .iter()
        .flatten()
        .enumerate()
        .filter(|(index, _)| guest.read(&format!("/dev/nvidia{index}")).is_some())
        .collect();
    if visible.is_empty() {
        return Some(SimOutput::new(6, "No devices were found\n", "", false));
    }
    let lines: String = visible
        .iter()
        .map(|(index, gpu)| {
            if list {
                list_line(*index, &gpu.name, &uuid(&gpu.pci_bus_id))
            } else {
                format!("{driver}\n")
            }
        })
        .collect();
    Some(SimOutput::ok(lines))
}

/// One line of `nvidia-smi -L` (`../shared/fixtures/gpu/*/nvidia-smi-L.txt`).
fn list_line(index: usize, name: &str, uuid: &str) -> String {
    format!("GPU {index}: {name} (UUID: {uuid})\n")
}

/// A GPU's UUID, derived from its bus id (the same on every run), in NVML's form.
fn uuid(bus_id: &str) -> String {
    let high = phoenix_core::sim::stable_hash(&["gpu-uuid", bus_id]);
    let low = phoenix_core::sim::stable_hash(&["gpu-uuid-low", bus_id]);
    let hex = format!("{high:016x}{low:016x}");
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

    #[test]
    fn issue_11_nvidia_smi_l_writes_the_real_samples_shape() {
        const SAMPLE: &str = include_str!("../parse/fixtures/nvidia-smi-L.txt");
        let real_uuid = "GPU-d6a5c785-77a4-ba6b-42a2-6b00b375604e";
        assert_eq!(list_line(0, "NVIDIA H200", real_uuid), SAMPLE);
        let made = uuid("00000000:01:00.0");
        assert_eq!(made.len(), real_uuid.len());
        let dashes = |text: &str| -> Vec<usize> {
            text.char_indices()
                .filter(|(_, c)| *c == '-')
                .map(|(at, _)| at)
                .collect()
        };
        assert_eq!(dashes(&made), dashes(real_uuid));
        assert_eq!(made, uuid("00000000:01:00.0"), "the same on every run");
        assert_ne!(made, uuid("00000000:02:00.0"));
    }

    #[test]
    fn issue_11_the_runfile_is_served_for_its_version_only() {
        let emulator = NvidiaGuestEmulator;
        let url = super::super::userspace::runfile_url("580.95.05");
        let content = emulator.download(&url).expect("served");
        assert_eq!(runfile_version(&content), Some("580.95.05"));
        assert!(
            emulator
                .download("https://us.download.nvidia.com/XFree86/Linux-x86_64/580.95.05/other.run")
                .is_none()
        );
    }
}
