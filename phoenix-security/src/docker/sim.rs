//! Docker inside a simulated container: `docker info -f '{{.Driver}}'` and `runc --version`.
//!
//! The daemon runs when `docker.service` is active. Its storage driver is the one
//! `/etc/docker/daemon.json` pins (`storage-driver`; fuse-overlayfs only with its program
//! installed, else the daemon does not start); unpinned, Docker tries overlay2, whose mount test
//! passes on the node's OpenZFS from 2.2 (read with the node's own `zfs version`), and falls
//! back to `vfs` below it (moby#45884), as Docker does by itself.
//!
//! Texts: Docker CLI 27's "Cannot connect to the Docker daemon" line; runc's `--version` block
//! with the package's version. **Assumption:** no capture of Docker in a container was available.

use phoenix_core::sim::{Emulator, GuestSys, SimOutput, SimSys};
use serde_json::Value;

use phoenix_pve::version::parse_zfs_version;

use super::engine::DAEMON_JSON;

/// What the Docker CLI prints when the daemon does not answer.
pub const NO_DAEMON: &str = "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n";

/// `docker` and `runc` in containers.
#[derive(Debug, Default, Clone, Copy)]
pub struct DockerEmulator;

impl Emulator for DockerEmulator {
    fn programs(&self) -> Vec<String> {
        Vec::new()
    }

    fn guest_programs(&self) -> Vec<String> {
        vec!["docker".to_owned(), "runc".to_owned()]
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

    fn run_in_guest(
        &self,
        argv: &[String],
        _stdin: Option<&str>,
        guest: &mut dyn GuestSys<'_>,
    ) -> Option<SimOutput> {
        let (program, args) = argv.split_first()?;
        let words: Vec<&str> = args.iter().map(String::as_str).collect();
        match (program.rsplit('/').next()?, words.as_slice()) {
            ("runc", ["--version"]) => {
                let version = guest.package_version("runc")?;
                Some(SimOutput::ok(format!(
                    "runc version {version}\nspec: 1.2.0\ngo: go1.22.2\nlibseccomp: 2.5.5\n"
                )))
            }
            ("docker", ["info", "-f" | "--format", "{{.Driver}}"]) => Some(match driver(guest) {
                Some(driver) => SimOutput::ok(format!("{driver}\n")),
                None => SimOutput::fail(1, NO_DAEMON),
            }),
            _ => None,
        }
    }
}

/// The storage driver of the running daemon; `None` when it does not run.
fn driver(guest: &mut dyn GuestSys<'_>) -> Option<String> {
    if guest.unit_state("docker.service").as_deref() != Some("active") {
        return None;
    }
    let pinned = guest
        .read(DAEMON_JSON)
        .and_then(|file| serde_json::from_str::<Value>(&file.content).ok())
        .and_then(|config| config["storage-driver"].as_str().map(str::to_owned));
    match pinned.as_deref() {
        Some("fuse-overlayfs") => guest
            .command_path("fuse-overlayfs")
            .map(|_| "fuse-overlayfs".to_owned()),
        Some(other) => Some(other.to_owned()),
        None => {
            let zfs = guest
                .node()
                .run_program(&["zfs".to_owned(), "version".to_owned()]);
            // No ZFS: the container sits on another filesystem, where overlay2 works.
            let overlay =
                parse_zfs_version(&zfs.stdout).map_or(true, |version| version.has_overlayfs());
            Some(if overlay { "overlay2" } else { "vfs" }.to_owned())
        }
    }
}
