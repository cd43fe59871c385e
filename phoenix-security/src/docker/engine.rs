//! `docker.engine`: Docker's storage driver in one container, and the checks of what is known to
//! break Docker in LXC.
//!
//! Inspected through the probes (no command of its own): on the node, `zfs version` (its
//! `zfs-kmod-` line is the loaded module, `../shared/fixtures/zfs*/zfs-version.txt`) and
//! lxc-pve's version; in the container, `docker info -f '{{.Driver}}'`, `runc --version` and
//! `/etc/docker/daemon.json`. Decisions are pure (`diff_engine`, table-tested).

use async_trait::async_trait;
use phoenix_core::probe::{QueryFact, observe};
use phoenix_core::{
    BoxError, Change, Cmd, Ctx, Delta, Diagnostic, FieldChange, Kind, Resource, ResourceId, Scope,
    Step,
};
use phoenix_pve::version::{numbers, parse_zfs_version};
use serde::Serialize;
use serde_json::Value;

/// The kind: `docker.engine`.
pub const KIND: &str = "docker.engine";

/// Docker's daemon configuration.
pub const DAEMON_JSON: &str = "/etc/docker/daemon.json";

/// The AppArmor profile that lets a container use `/dev/fuse`.
pub const FUSE_PROFILE: &str = "lxc-phoenix-v2";

const Q_ZFS: &str = "zfs-version";
const Q_LXC: &str = "lxc-pve-version";
const Q_DRIVER: &str = "docker-driver";
const Q_RUNC: &str = "runc-version";

/// `docker info -f '{{.Driver}}'`.
pub const DRIVER_ARGV: [&str; 4] = ["docker", "info", "-f", "{{.Driver}}"];

/// The first LXC release whose AppArmor profile lets runc's CVE-2025-52881 fix open
/// `/proc/sys` files (lxc/lxc#4630).
const LXC_FIXED: (u32, u32, u32) = (6, 0, 6);

/// The runc releases with the CVE-2025-52881 fix (1.2.8, 1.3.3, 1.4.0-rc.3).
pub(crate) fn runc_has_fix(version: (u32, u32, u32)) -> bool {
    match (version.0, version.1) {
        (1, 2) => version.2 >= 8,
        (1, 3) => version.2 >= 3,
        (1, minor) => minor >= 4,
        (major, _) => major > 1,
    }
}

/// Docker in one container.
#[derive(Debug, Clone)]
pub struct Engine {
    node: Scope,
    scope: Scope,
    vmid: u32,
    apparmor_profile: Option<String>,
    depends_on: Vec<ResourceId>,
}

/// What the node and the container say.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EngineState {
    /// The node's loaded OpenZFS module (`2.3.2-2~bpo12+2`).
    pub zfs: Option<String>,
    /// The node's lxc-pve package.
    pub lxc_pve: Option<String>,
    /// What `docker info -f '{{.Driver}}'` prints in the container.
    pub driver: Option<String>,
    /// Why it prints none (not installed, daemon not running).
    pub driver_error: Option<String>,
    /// `/etc/docker/daemon.json`.
    pub daemon_json: Option<String>,
    /// The container's runc version.
    pub runc: Option<String>,
}

impl Engine {
    /// Docker in container `vmid` (scope `scope`), whose `apparmor_profile` is given.
    pub fn new(node: &Scope, scope: &Scope, vmid: u32, apparmor_profile: Option<String>) -> Engine {
        node.observe(|inventory| {
            inventory
                .query(Q_ZFS, ["zfs", "version"])
                .expect("invariant: the zfs query is well formed");
            inventory
                .query(Q_LXC, ["dpkg-query", "-W", "-f=${Version}", "lxc-pve"])
                .expect("invariant: the lxc-pve query is well formed");
        });
        scope.observe(|inventory| {
            inventory
                .query(Q_DRIVER, DRIVER_ARGV)
                .expect("invariant: the docker query is well formed");
            inventory
                .query(Q_RUNC, ["runc", "--version"])
                .expect("invariant: the runc query is well formed");
            inventory.paths.insert(DAEMON_JSON.to_owned());
        });
        Engine {
            node: node.clone(),
            scope: scope.clone(),
            vmid,
            apparmor_profile,
            depends_on: Vec::new(),
        }
    }

    /// Adds a dependency (the `docker.io` package).
    pub fn depends_on(mut self, id: ResourceId) -> Engine {
        self.depends_on.push(id);
        self
    }

    /// What a change of the storage driver restarts.
    fn restart(&self) -> phoenix_core::Disruption {
        phoenix_core::Disruption::Restart {
            of: format!("docker.service in container {}", self.vmid),
        }
    }

    fn check_cmd(&self) -> Cmd {
        self.scope
            .command(Cmd::read(DRIVER_ARGV[0], DRIVER_ARGV[1..].iter().copied()))
    }

    /// Installs fuse-overlayfs and pins it in `daemon.json` (keeping its other keys), then
    /// restarts Docker.
    fn fuse_steps(&self, daemon_json: Option<&str>) -> Vec<Step> {
        let scoped = |cmd: Cmd| Step::run(self.scope.command(cmd));
        let mut steps = vec![scoped(Cmd::write(
            "apt-get",
            ["install", "-y", "--no-install-recommends", "fuse-overlayfs"],
        ))];
        steps.extend(self.daemon_json_steps(daemon_json, Some("fuse-overlayfs")));
        steps
    }

    /// Writes `daemon.json` with `storage-driver` set to `driver` (or without it: removed, as a
    /// file left empty), then restarts Docker and reads its driver back.
    fn daemon_json_steps(&self, daemon_json: Option<&str>, driver: Option<&str>) -> Vec<Step> {
        let scoped = |cmd: Cmd| Step::run(self.scope.command(cmd));
        let mut steps = Vec::new();
        match daemon_json_with(daemon_json, driver) {
            Some(text) => {
                steps.push(scoped(Cmd::write("mkdir", ["-p", "/etc/docker"])));
                steps.push(scoped(
                    Cmd::write(
                        "sh",
                        ["-c", phoenix_core::file::STAGE_SCRIPT, "sh", DAEMON_JSON],
                    )
                    .stdin(text),
                ));
                steps.push(scoped(Cmd::write("chmod", ["0644", DAEMON_JSON])));
            }
            None => steps.push(scoped(Cmd::write("rm", ["-f", DAEMON_JSON]))),
        }
        steps.push(scoped(Cmd::write(
            "systemctl",
            ["restart", "docker.service"],
        )));
        steps.push(Step::run(self.check_cmd()));
        steps
    }
}

/// `daemon.json` with `storage-driver` set to `driver`, or removed (`None`), its other keys
/// kept; `None` when nothing is left (no file: Docker's defaults).
fn daemon_json_with(daemon_json: Option<&str>, driver: Option<&str>) -> Option<String> {
    let mut config = daemon_json
        .and_then(|text| serde_json::from_str::<Value>(text).ok())
        .and_then(|value| match value {
            Value::Object(map) => Some(map),
            _ => None,
        })
        .unwrap_or_default();
    match driver {
        Some(driver) => {
            config.insert("storage-driver".to_owned(), Value::from(driver));
        }
        None => {
            config.remove("storage-driver");
        }
    }
    (!config.is_empty()).then(|| {
        format!(
            "{}\n",
            serde_json::to_string_pretty(&Value::Object(config))
                .expect("invariant: JSON serialises")
        )
    })
}

/// Whether `daemon.json` pins fuse-overlayfs.
fn pins_fuse(daemon_json: Option<&str>) -> bool {
    daemon_json
        .and_then(|text| serde_json::from_str::<Value>(text).ok())
        .is_some_and(|config| config["storage-driver"] == "fuse-overlayfs")
}

/// A query's output when it succeeded, else why not (`None` when its program is missing).
fn answer(query: Option<&QueryFact>) -> (Option<String>, Option<String>) {
    match query {
        Some(query) if query.success() => (Some(query.output.trim().to_owned()), None),
        Some(query) if !query.is_missing_program() => (
            None,
            query
                .output
                .lines()
                .rev()
                .find(|line| !line.trim().is_empty())
                .map(|line| line.trim().to_owned()),
        ),
        _ => (None, None),
    }
}

#[async_trait]
impl Resource for Engine {
    type State = EngineState;

    fn id(&self) -> ResourceId {
        ResourceId::new(Kind::from_static(KIND), format!("ct:{}", self.vmid))
    }

    fn depends_on(&self) -> Vec<ResourceId> {
        self.depends_on.clone()
    }

    fn requires(&self) -> Vec<phoenix_core::Capability> {
        self.scope.ready().into_iter().collect()
    }

    fn provides(&self) -> Vec<phoenix_core::Capability> {
        self.scope.settled().into_iter().collect()
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<EngineState>, BoxError> {
        let node = observe(cx, &self.node).await?;
        let guest = observe(cx, &self.scope).await?;
        let (zfs, _) = answer(node.queries.get(Q_ZFS));
        let (lxc_pve, _) = answer(node.queries.get(Q_LXC));
        let (driver, driver_error) = answer(guest.queries.get(Q_DRIVER));
        let (runc, _) = answer(guest.queries.get(Q_RUNC));
        Ok(Some(EngineState {
            zfs: zfs
                .as_deref()
                .and_then(|text| parse_zfs_version(text).ok())
                .map(|version| version.effective().to_owned()),
            lxc_pve: lxc_pve.filter(|version| !version.is_empty()),
            driver,
            driver_error,
            daemon_json: guest
                .paths
                .get(DAEMON_JSON)
                .and_then(|path| path.content.clone()),
            runc: runc.as_deref().and_then(|text| {
                text.lines()
                    .next()
                    .and_then(|line| line.strip_prefix("runc version "))
                    .map(str::to_owned)
            }),
        }))
    }

    fn diff(&self, observed: Option<&EngineState>) -> Delta {
        diff_engine(self, &observed.cloned().unwrap_or_default())
    }

    async fn apply(&self, change: &Change, cx: &Ctx<'_>) -> Result<(), BoxError> {
        let check = self.check_cmd();
        for step in &change.steps {
            if matches!(step, Step::Run { cmd } if *cmd == check) {
                continue;
            }
            phoenix_core::resource::run_steps(std::slice::from_ref(step), cx).await?;
        }
        let driver = cx.run(&check).await?.stdout.trim().to_owned();
        if driver == "vfs" {
            return Err(vfs_reason(self.vmid, None).into());
        }
        Ok(())
    }
}

/// Why `vfs` is an error, and what to do.
fn vfs_reason(vmid: u32, zfs: Option<&str>) -> String {
    let host = zfs.map_or_else(String::new, |zfs| format!(" (the node runs OpenZFS {zfs})"));
    format!(
        "container {vmid}: Docker runs on the vfs storage driver, which copies every image layer in full and fills the ZFS dataset: overlay2 needs OpenZFS >= 2.2 on the host{host}, and where overlay2's mount test still fails on ZFS (moby#51546) fuse-overlayfs (with /dev/fuse, the {FUSE_PROFILE} profile) is the fallback"
    )
}

/// The decision table of the module's description, pure.
fn diff_engine(engine: &Engine, state: &EngineState) -> Delta {
    let vmid = engine.vmid;
    let zfs = state.zfs.as_deref();
    let old_zfs = zfs.and_then(numbers).is_some_and(|v| (v.0, v.1) < (2, 2));
    let want = if old_zfs {
        "fuse-overlayfs"
    } else {
        "overlay2"
    };
    let mut delta = Delta::none();
    if let (Some(runc), Some(lxc)) = (&state.runc, &state.lxc_pve)
        && numbers(runc).is_some_and(runc_has_fix)
        && numbers(lxc).is_some_and(|lxc| lxc < LXC_FIXED)
    {
        delta = delta.diagnostic(Diagnostic::warning(format!(
            "container {vmid}: runc {runc} carries the fix for CVE-2025-52881, which opens /proc/sys files through a new path that the AppArmor profile of lxc-pve {lxc} (older than LXC 6.0.6) denies: `docker run` fails with \"open sysctl net.ipv4.ip_unprivileged_port_start: permission denied\"; update lxc-pve (LXC >= 6.0.6) or hold runc at the previous release until it is"
        )));
    }
    if old_zfs && engine.apparmor_profile.as_deref() != Some(FUSE_PROFILE) {
        return delta.diagnostic(Diagnostic::error(format!(
            "container {vmid}: the node's OpenZFS {} predates 2.2 (no overlayfs on ZFS), so Docker needs fuse-overlayfs, which needs /dev/fuse: set apparmor_profile to {FUSE_PROFILE}",
            zfs.unwrap_or_default()
        )));
    }
    if old_zfs && !pins_fuse(state.daemon_json.as_deref()) {
        let mut delta = delta.field(
            FieldChange::new(
                "storage driver",
                Some(
                    state
                        .driver
                        .clone()
                        .unwrap_or_else(|| "(default)".to_owned())
                        .into(),
                ),
                Some(want.into()),
            )
            .note(format!("OpenZFS {} < 2.2", zfs.unwrap_or_default())),
        );
        for step in engine.fuse_steps(state.daemon_json.as_deref()) {
            delta = delta.step(step);
        }
        return delta.disrupts(engine.restart());
    }
    if !old_zfs && zfs.is_some() && pins_fuse(state.daemon_json.as_deref()) {
        return unpin_fuse(engine, state, delta);
    }
    match state.driver.as_deref() {
        Some("vfs") => delta.diagnostic(Diagnostic::error(vfs_reason(vmid, zfs))),
        Some(_) => delta,
        None => delta
            .field(
                FieldChange::new(
                    "storage driver",
                    Some(
                        state
                            .driver_error
                            .clone()
                            .unwrap_or_else(|| "(not running yet)".to_owned())
                            .into(),
                    ),
                    Some(want.into()),
                )
                .note("checked after the install"),
            )
            .step(Step::run(engine.check_cmd())),
    }
}

/// A fuse-overlayfs pin from an older host ZFS, now that the node's OpenZFS has overlayfs: the
/// pin goes, Docker restarts on overlay2.
fn unpin_fuse(engine: &Engine, state: &EngineState, mut delta: Delta) -> Delta {
    let vmid = engine.vmid;
    let zfs = state.zfs.as_deref().unwrap_or_default();
    delta = delta
        .field(
            FieldChange::new(
                "storage driver",
                Some("fuse-overlayfs".into()),
                Some("overlay2".into()),
            )
            .note(format!("OpenZFS {zfs} >= 2.2: the pin in {DAEMON_JSON} is stale")),
        )
        .diagnostic(Diagnostic::warning(format!(
            "container {vmid}: the node's OpenZFS {zfs} has overlayfs, so Docker moves from fuse-overlayfs to overlay2: images and containers made under fuse-overlayfs stay in /var/lib/docker/fuse-overlayfs, unseen by overlay2, and are pulled or recreated again"
        )));
    for step in engine.daemon_json_steps(state.daemon_json.as_deref(), None) {
        delta = delta.step(step);
    }
    delta.disrupts(engine.restart())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine(profile: Option<&str>) -> Engine {
        let scopes = phoenix_core::Scopes::new([]);
        let node = scopes.node();
        Engine {
            scope: node.clone(),
            node,
            vmid: 952,
            apparmor_profile: profile.map(Into::into),
            depends_on: Vec::new(),
        }
    }

    #[test]
    fn issue_11_daemon_json_keeps_other_keys() {
        let cases: [(Option<&str>, Option<&str>, Option<&str>); 5] = [
            (
                None,
                Some("fuse-overlayfs"),
                Some("{\n  \"storage-driver\": \"fuse-overlayfs\"\n}\n"),
            ),
            (Some("{\"storage-driver\": \"fuse-overlayfs\"}"), None, None),
            (
                Some("{\"log-driver\": \"journald\", \"storage-driver\": \"fuse-overlayfs\"}"),
                None,
                Some("{\n  \"log-driver\": \"journald\"\n}\n"),
            ),
            (Some("not json"), None, None),
            (
                Some("[]"),
                Some("overlay2"),
                Some("{\n  \"storage-driver\": \"overlay2\"\n}\n"),
            ),
        ];
        for (before, driver, after) in cases {
            assert_eq!(
                daemon_json_with(before, driver).as_deref(),
                after,
                "{before:?} {driver:?}"
            );
        }
    }

    #[test]
    fn issue_11_the_zfs_samples_read() {
        let old = phoenix_core::sim::read_fixture(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/fixtures/zfs/zfs-version.txt"
        )));
        let new = phoenix_core::sim::read_fixture(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/fixtures/zfs-2.3/zfs-version.txt"
        )));
        let old = parse_zfs_version(&old.expect("sample")).expect("a version");
        assert_eq!(old.effective(), "2.1.11-1+deb12u1");
        assert!(!old.has_overlayfs());
        let new = parse_zfs_version(&new.expect("sample")).expect("a version");
        assert_eq!(numbers(new.effective()), Some((2, 3, 2)));
        assert!(runc_has_fix((1, 3, 3)) && runc_has_fix((1, 2, 8)) && !runc_has_fix((1, 1, 12)));
    }

    /// (zfs, profile, driver, daemon.json, steps, messages)
    type Case<'a> = (
        &'a str,
        Option<&'a str>,
        Option<&'a str>,
        Option<&'a str>,
        usize,
        &'a [&'a str],
    );

    #[test]
    fn issue_11_decisions() {
        let v2 = Some(FUSE_PROFILE);
        let pinned = Some("{\"storage-driver\": \"fuse-overlayfs\"}\n");
        let cases: &[Case<'_>] = &[
            ("2.3.2-2~bpo12+2", None, Some("overlay2"), None, 0, &[]),
            ("2.3.2-2~bpo12+2", None, None, None, 1, &[]),
            (
                "2.3.2-2~bpo12+2",
                None,
                Some("vfs"),
                None,
                0,
                &["vfs storage driver", "OpenZFS 2.3.2"],
            ),
            ("2.1.11-1+deb12u1", v2, None, None, 6, &[]),
            (
                "2.1.11-1+deb12u1",
                v2,
                Some("fuse-overlayfs"),
                pinned,
                0,
                &[],
            ),
            (
                "2.1.11-1+deb12u1",
                None,
                None,
                None,
                0,
                &["set apparmor_profile to lxc-phoenix-v2"],
            ),
            // A pin from an older host ZFS: removed (the file with it), Docker restarted.
            (
                "2.3.2-2~bpo12+2",
                None,
                Some("fuse-overlayfs"),
                pinned,
                3,
                &[
                    "the pin in /etc/docker/daemon.json is stale",
                    "/var/lib/docker/fuse-overlayfs",
                    "Restart { of: \"docker.service in container 952\" }",
                ],
            ),
            (
                "2.3.2-2~bpo12+2",
                v2,
                Some("fuse-overlayfs"),
                Some("{\"log-driver\": \"journald\", \"storage-driver\": \"fuse-overlayfs\"}"),
                5,
                &["stale"],
            ),
            // The node's ZFS unknown: the pin is left alone.
            ("", v2, Some("fuse-overlayfs"), pinned, 0, &[]),
        ];
        for (zfs, profile, driver, daemon_json, steps, messages) in cases {
            let state = EngineState {
                zfs: Some((*zfs).to_owned()).filter(|zfs| !zfs.is_empty()),
                driver: driver.map(Into::into),
                daemon_json: daemon_json.map(Into::into),
                ..EngineState::default()
            };
            let delta = diff_engine(&engine(*profile), &state);
            let text = format!("{delta:?}");
            assert_eq!(delta.steps.len(), *steps, "{zfs} {driver:?}: {text}");
            for message in *messages {
                assert!(text.contains(message), "{message}: {text}");
            }
            if *steps == 0 && messages.is_empty() {
                assert!(delta.is_empty(), "{text}");
            }
        }
        let state = EngineState {
            zfs: Some("2.3.2".into()),
            driver: Some("overlay2".into()),
            runc: Some("1.3.3-0ubuntu1~24.04.3".into()),
            lxc_pve: Some("6.0.0-1".into()),
            ..EngineState::default()
        };
        let text = format!("{:?}", diff_engine(&engine(None), &state));
        assert!(text.contains("CVE-2025-52881"), "{text}");
        assert!(
            text.contains("ip_unprivileged_port_start: permission denied"),
            "{text}"
        );
    }
}
