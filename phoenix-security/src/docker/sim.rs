//! Docker inside a simulated container: `docker info -f '{{.Driver}}'`, `runc --version`,
//! `docker run --rm --gpus all IMAGE nvidia-smi -L` and NVIDIA's `nvidia-ctk` (`config
//! --in-place --set nvidia-container-cli.no-cgroups=true`, `runtime configure
//! --runtime=docker`), and NVIDIA's libnvidia-container key at its URL.
//!
//! The daemon runs when `docker.service` is active. Its storage driver is the one
//! `/etc/docker/daemon.json` pins (`storage-driver`; fuse-overlayfs only with its program
//! installed, else the daemon does not start); unpinned, Docker tries overlay2, whose mount test
//! passes on the node's OpenZFS from 2.2 (read with the node's own `zfs version`), and falls
//! back to `vfs` below it (moby#45884), as Docker does by itself.
//!
//! Texts: Docker CLI 27's "Cannot connect to the Docker daemon" line; runc's `--version` block
//! with the package's version. **Assumption:** no capture of Docker in a container was available.

use phoenix_core::sim::{Emulator, GuestSys, SimFile, SimOutput, SimSys};
use serde_json::Value;

use phoenix_pve::version::{numbers, parse_zfs_version};

use super::engine::DAEMON_JSON;
use super::nvidia::{self, RUNTIME_CONFIG};

/// What the node serves as NVIDIA's libnvidia-container key. **Assumption:** the armour of the
/// real key, with a stand-in body.
const NVIDIA_KEY: &str = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nphoenix sim: stands for NVIDIA's libnvidia-container key\n-----END PGP PUBLIC KEY BLOCK-----\n";

/// runc's CVE-2025-52881 fix under an LXC AppArmor profile older than LXC 6.0.6 (lxc/lxc#4630).
const CVE_2025_52881: &str = "docker: Error response from daemon: failed to create task for container: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: error during container init: open sysctl net.ipv4.ip_unprivileged_port_start file: reopen fd 8: permission denied: unknown\n\nRun 'docker run --help' for more information\n";

/// libnvidia-container's prestart hook when it may not set device cgroups (an unprivileged
/// container without `no-cgroups = true`).
const NO_CGROUPS_DENIED: &str = "docker: Error response from daemon: failed to create task for container: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: error during container init: error running prestart hook #0: exit status 1, stdout: , stderr: Auto-detected mode as 'legacy'\nnvidia-container-cli: mount error: failed to add device rules: unable to find any existing device filters attached to the cgroup: bpf_prog_query(BPF_CGROUP_DEVICE) failed: operation not permitted: unknown\n\nRun 'docker run --help' for more information\n";

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
        vec![
            "docker".to_owned(),
            "runc".to_owned(),
            "nvidia-ctk".to_owned(),
        ]
    }

    fn download(&self, url: &str) -> Option<String> {
        (url == nvidia::KEY_URL).then(|| NVIDIA_KEY.to_owned())
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
            ("docker", ["run", "--rm", "--gpus", "all", _image, "nvidia-smi", "-L"]) => {
                Some(run_gpus(guest))
            }
            ("nvidia-ctk", words) if *words == nvidia::NO_CGROUPS_ARGV[1..] => {
                Some(set_no_cgroups(guest))
            }
            ("nvidia-ctk", words) if *words == nvidia::RUNTIME_ARGV[1..] => {
                Some(configure_runtime(guest))
            }
            _ => None,
        }
    }
}

/// `docker run --rm --gpus all IMAGE nvidia-smi -L`: the daemon must run, `--gpus` needs the
/// toolkit's hook, runc's CVE-2025-52881 fix fails under lxc-pve before LXC 6.0.6, the hook
/// fails without `no-cgroups = true`; then the container's own `nvidia-smi -L` (the toolkit
/// mounts the driver's user space into the image).
fn run_gpus(guest: &mut dyn GuestSys<'_>) -> SimOutput {
    if guest.unit_state("docker.service").as_deref() != Some("active") {
        return SimOutput::fail(
            125,
            format!("docker: {NO_DAEMON}\nRun 'docker run --help' for more information\n"),
        );
    }
    if guest
        .command_path("nvidia-container-runtime-hook")
        .is_none()
    {
        return SimOutput::fail(
            125,
            "docker: Error response from daemon: could not select device driver \"\" with capabilities: [[gpu]]\n\nRun 'docker run --help' for more information\n",
        );
    }
    let runc_fixed = guest
        .package_version("runc")
        .and_then(|version| numbers(&version))
        .is_some_and(super::engine::runc_has_fix);
    let lxc_old = {
        let lxc = guest.node().run_program(&[
            "dpkg-query".to_owned(),
            "-W".to_owned(),
            "-f=${Version}".to_owned(),
            "lxc-pve".to_owned(),
        ]);
        lxc.status == 0 && numbers(lxc.stdout.trim()).is_some_and(|v| v < (6, 0, 6))
    };
    if runc_fixed && lxc_old {
        return SimOutput::fail(126, CVE_2025_52881);
    }
    let config = guest.read(RUNTIME_CONFIG).map(|file| file.content);
    if !config.is_some_and(|text| nvidia::no_cgroups(&text)) {
        return SimOutput::fail(125, NO_CGROUPS_DENIED);
    }
    guest.run(&["nvidia-smi".to_owned(), "-L".to_owned()], None)
}

/// `nvidia-ctk config --in-place --set nvidia-container-cli.no-cgroups=true`: the key set in its
/// table, replacing its line (commented out or not), else added after the table's header.
/// **Assumption:** the real tool rewrites the whole file with go-toml; only this key's line is
/// changed here.
fn set_no_cgroups(guest: &mut dyn GuestSys<'_>) -> SimOutput {
    let Some(file) = guest.read(RUNTIME_CONFIG) else {
        return SimOutput::fail(
            1,
            format!(
                "ERROR: failed to load config: open {RUNTIME_CONFIG}: no such file or directory\n"
            ),
        );
    };
    let mut out = Vec::new();
    let mut table = String::new();
    let mut done = false;
    for line in file.content.lines() {
        let trimmed = line.trim();
        if let Some(header) = trimmed.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            if table == "nvidia-container-cli" && !done {
                out.push("no-cgroups = true".to_owned());
                done = true;
            }
            table = header.trim().to_owned();
        } else if table == "nvidia-container-cli"
            && !done
            && trimmed
                .trim_start_matches('#')
                .trim_start()
                .starts_with("no-cgroups")
        {
            out.push("no-cgroups = true".to_owned());
            done = true;
            continue;
        }
        out.push(line.to_owned());
    }
    if !done {
        if table != "nvidia-container-cli" {
            out.push("[nvidia-container-cli]".to_owned());
        }
        out.push("no-cgroups = true".to_owned());
    }
    let mut content = out.join("\n");
    content.push('\n');
    guest.write(
        RUNTIME_CONFIG,
        SimFile::new(content, file.mode, &file.owner),
    );
    SimOutput::ok_mutated("")
}

/// `nvidia-ctk runtime configure --runtime=docker`: Docker's `nvidia` runtime added to
/// `daemon.json` (its other keys kept), written with Go's four-space indent, and its log lines.
fn configure_runtime(guest: &mut dyn GuestSys<'_>) -> SimOutput {
    let existing = guest.read(DAEMON_JSON);
    let mut log = String::new();
    let mut config = match existing.as_ref() {
        Some(file) => match serde_json::from_str::<Value>(&file.content) {
            Ok(Value::Object(map)) => map,
            _ => {
                return SimOutput::fail(
                    1,
                    format!("ERROR: unable to load config: could not parse {DAEMON_JSON}\n"),
                );
            }
        },
        None => {
            log.push_str("INFO[0000] Config file does not exist; using empty config \n");
            serde_json::Map::new()
        }
    };
    let runtimes = config
        .entry("runtimes")
        .or_insert_with(|| Value::Object(serde_json::Map::new()));
    runtimes["nvidia"] = serde_json::json!({"args": [], "path": "nvidia-container-runtime"});
    let mut text = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut text, formatter);
    serde::Serialize::serialize(&Value::Object(config), &mut serializer)
        .expect("invariant: JSON serialises");
    let mut content = String::from_utf8(text).expect("invariant: JSON is UTF-8");
    content.push('\n');
    guest.mkdir("/etc/docker");
    guest.write(DAEMON_JSON, SimFile::new(content, 0o644, "root:root"));
    log.push_str(&format!(
        "INFO[0000] Wrote updated config to {DAEMON_JSON}     \nINFO[0000] It is recommended that docker daemon be restarted. \n"
    ));
    SimOutput::new(0, "", log, true)
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
