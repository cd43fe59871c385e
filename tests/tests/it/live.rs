//! Live acceptance tests on a real host over SSH: the testbed VM (`cargo xtask testbed up`) with
//! real OpenZFS 2.3 and no Proxmox tools.
//!
//! They run only when `PHOENIX_LIVE_HOST=ssh://...` is set (with `PHOENIX_SSH_IDENTITY` and
//! `PHOENIX_SSH_KNOWN_HOSTS` as `testbed up` prints them); under `CI` a missing
//! `PHOENIX_LIVE_HOST` fails them instead, so CI never skips them silently. Each test first puts
//! the host back to a blank state (pools destroyed, disks zeroed, files removed, ARC default)
//! with commands run over SSH: test set-up, not Phoenix. They share one host, so they take turns.

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use phoenix_core::{
    Cmd, FileWrite, Holder, Host, HostKeys, RunLock, SshHost, SshOptions, SshTarget,
};
use serde_json::Value;

use crate::support::{Ran, Scratch, arg, examples, phoenix};

mod apparmor;
mod nfs;

/// One live test at a time: they all converge the same host.
static HOST_LOCK: Mutex<()> = Mutex::new(());

/// The testbed's data disks, as the example names them.
const DISKS: &[&str] = &[
    "/dev/disk/by-id/virtio-phoenix-quickos-1",
    "/dev/disk/by-id/virtio-phoenix-quickos-2",
    "/dev/disk/by-id/virtio-phoenix-fastdata-1",
    "/dev/disk/by-id/virtio-phoenix-spare-1",
];

/// The disk no pool of the example uses.
const SPARE: &str = "/dev/disk/by-id/virtio-phoenix-spare-1";

/// Puts the host back to what a fresh testbed is: no pool, blank disks, none of the example's
/// files, the ARC maximum at its default, no admin user, the time zone UTC.
const RESET: &str = r#"set -u
if [ -e /etc/exports.d/phoenix.exports ]; then rm -f /etc/exports.d/phoenix.exports; exportfs -ra; fi
rmdir /etc/exports.d 2> /dev/null || true
for pool in quickOS fastData scratch; do
  if zpool list -H "$pool" > /dev/null 2>&1; then zpool destroy -f "$pool"; fi
done
for disk in "$@"; do
  for part in "$disk"-part*; do
    if [ -e "$part" ]; then wipefs -a -q "$part"; fi
  done
  wipefs -a -q "$disk"
  blkdiscard -f "$disk" 2> /dev/null || true
  blockdev --rereadpt "$disk" 2> /dev/null || true
done
udevadm settle
rm -f /etc/sysctl.d/90-phoenix-testbed.conf /etc/default/phoenix /etc/modprobe.d/zfs.conf
if getent passwd phoenix_admin > /dev/null; then userdel -r phoenix_admin > /dev/null 2>&1; fi
rm -f /etc/sudoers.d/phoenix-phoenix_admin
# Through timedated, which caches the zone it set last: a link changed behind its back would
# make its next set-timezone to that zone a silent no-op.
timedatectl set-timezone Etc/UTC 2> /dev/null || ln -sfn /usr/share/zoneinfo/Etc/UTC /etc/localtime
echo 0 > /sys/module/zfs/parameters/zfs_arc_max
for disk in "$@"; do
  if [ -n "$(wipefs --no-act --noheadings "$disk")" ]; then echo "$disk is not blank" >&2; exit 1; fi
done"#;

fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| !matches!(value.as_str(), "" | "0" | "false"))
}

/// The live host, or `None` when the live tests are not asked for.
struct Live {
    target: String,
    rt: tokio::runtime::Runtime,
    ssh: SshHost,
    _turn: MutexGuard<'static, ()>,
}

fn live() -> Option<Live> {
    let target = match std::env::var("PHOENIX_LIVE_HOST") {
        Ok(target) if !target.is_empty() => target,
        _ => {
            assert!(
                !is_ci(),
                "CI is set but PHOENIX_LIVE_HOST is not: the live tests must run in CI \
                 (`cargo xtask ci` boots the testbed and sets it)"
            );
            return None;
        }
    };
    let turn = HOST_LOCK.lock().unwrap_or_else(PoisonError::into_inner);
    let rt = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let mut options = SshOptions::default();
    if let Ok(identity) = std::env::var("PHOENIX_SSH_IDENTITY") {
        options = options.identity(identity);
    }
    if let Ok(known_hosts) = std::env::var("PHOENIX_SSH_KNOWN_HOSTS") {
        options = options.host_keys(HostKeys::Strict {
            known_hosts: Some(known_hosts.into()),
        });
    }
    let remote = SshTarget::parse(&target).expect("PHOENIX_LIVE_HOST is ssh://[user@]host[:port]");
    let ssh = rt
        .block_on(SshHost::connect(remote, options))
        .expect("the live host answers on SSH");
    let live = Live {
        target,
        rt,
        ssh,
        _turn: turn,
    };
    live.reset();
    Some(live)
}

impl Live {
    /// Runs a shell script on the host (test set-up) and returns its stdout; fails the test if
    /// the script fails.
    fn sh(&self, script: &str, args: &[&str]) -> String {
        let mut cmd = Cmd::write("sh", ["-c", script, "sh"]);
        for arg in args {
            cmd = cmd.arg(*arg);
        }
        let out = self.rt.block_on(self.ssh.run(&cmd)).expect("ssh runs");
        assert_eq!(
            out.status,
            Some(0),
            "set-up script failed:\n{script}\n--- stderr\n{}",
            out.stderr
        );
        out.stdout
    }

    fn reset(&self) {
        self.sh(RESET, DISKS);
    }

    /// `phoenix ARGS... --target <the live host>`.
    fn phoenix(&self, args: &[&str]) -> Ran {
        let mut all = args.to_vec();
        all.extend(["--target", self.target.as_str()]);
        phoenix(&all)
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        let _ = self.rt.block_on(self.ssh.close());
    }
}

fn example() -> std::path::PathBuf {
    examples().join("testbed")
}

fn assert_code(ran: &Ran, code: i32, what: &str) {
    assert_eq!(
        ran.code, code,
        "{what}: exit code\n--- stdout\n{}\n--- stderr\n{}",
        ran.stdout, ran.stderr
    );
}

fn json(ran: &Ran) -> Value {
    serde_json::from_str(&ran.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\n{}", ran.stdout, ran.stderr))
}

/// One change of a JSON plan as the differential test compares it.
#[derive(Debug, PartialEq)]
struct Planned {
    id: String,
    action: String,
    fields: Value,
    steps: Value,
}

/// Every change of a JSON plan, in order.
fn changes(plan: &Value) -> Vec<Planned> {
    plan["changes"]
        .as_array()
        .expect("changes is an array")
        .iter()
        .map(|change| Planned {
            id: format!("{}[{}]", change["id"]["kind"], change["id"]["name"]),
            action: change["action"].to_string(),
            fields: change["fields"].clone(),
            steps: change["steps"].clone(),
        })
        .collect()
}

#[test]
fn the_scaled_example_converges_and_a_second_apply_changes_nothing() {
    let Some(live) = live() else { return };
    let config = example();
    let ran = live.phoenix(&["apply", "--config", arg(&config), "--yes"]);
    assert_code(&ran, 0, "apply");
    let pools = live.sh("zpool list -H -o name,health", &[]);
    assert_eq!(pools, "fastData\tONLINE\nquickOS\tONLINE\n");
    let ran = live.phoenix(&[
        "plan",
        "--config",
        arg(&config),
        "--detailed-exitcode",
        "--json",
    ]);
    assert_code(&ran, 0, "plan after apply");
    // No Proxmox here: the eight storages and the admin's @pam user are left alone, as warnings.
    assert_eq!(json(&ran)["summary"]["unsupported"], 9, "{}", ran.stdout);
    let ran = live.phoenix(&["apply", "--config", arg(&config), "--yes", "--json"]);
    assert_code(&ran, 0, "second apply");
    let report = json(&ran);
    assert_eq!(report["outcomes"], Value::Array(Vec::new()), "{report:#}");
    // A real host keeps no audit log: the counts of the second apply prove nothing was written.
    for stats in [&report["stats"], &report["plan"]["stats"]] {
        assert_eq!(stats["commands_writing"], 0, "{report:#}");
        assert_eq!(stats["file_writes"], 0, "{report:#}");
    }
    let arc = live.sh("cat /sys/module/zfs/parameters/zfs_arc_max", &[]);
    assert_eq!(arc.trim(), "1073741824");
}

#[test]
fn a_property_edited_in_the_config_gives_exactly_one_zfs_set() {
    let Some(live) = live() else { return };
    let ran = live.phoenix(&["apply", "--config", arg(&example()), "--yes"]);
    assert_code(&ran, 0, "apply");
    let scratch = Scratch::new();
    let text = std::fs::read_to_string(example().join("phoenix_hypervisor_config.json"))
        .expect("read the example");
    let edited = text.replacen("quota=800M", "quota=900M", 1);
    assert_ne!(edited, text);
    let config = scratch.write_config(&edited);
    let ran = live.phoenix(&["plan", "--config", arg(&config), "--json"]);
    assert_code(&ran, 0, "plan");
    let plan = json(&ran);
    let planned = changes(&plan);
    assert_eq!(planned.len(), 1, "{plan:#}");
    assert_eq!(
        planned[0].steps,
        serde_json::json!([{"step": "run", "cmd": {
            "program": "zfs", "args": ["set", "quota=900M", "quickOS/vm-disks"], "effect": "write"
        }}]),
        "{plan:#}"
    );
    let ran = live.phoenix(&["apply", "--config", arg(&config), "--yes", "--json"]);
    assert_code(&ran, 0, "apply the edit");
    let stats = &json(&ran)["stats"];
    assert_eq!(stats["commands_writing"], 1, "{stats:#}");
    let quota = live.sh("zfs get -H -p -o value quota quickOS/vm-disks", &[]);
    assert_eq!(quota.trim(), (900u64 << 20).to_string());
    let ran = live.phoenix(&["plan", "--config", arg(&config), "--detailed-exitcode"]);
    assert_code(&ran, 0, "plan after the edit");
}

#[test]
fn a_disk_with_an_ext4_signature_is_refused_without_allow_destroy() {
    let Some(live) = live() else { return };
    live.sh("mkfs.ext4 -q -F \"$1\" && udevadm settle", &[SPARE]);
    let scratch = Scratch::new();
    let config = scratch.write_config(&format!(
        r#"{{"zfs": {{"pools": [{{"name": "scratch", "raid_level": "single", "disks": ["{SPARE}"]}}]}}}}"#
    ));
    let ran = live.phoenix(&["plan", "--config", arg(&config)]);
    assert_code(&ran, 1, "plan");
    assert!(
        ran.stderr.contains("refusing to") && ran.stderr.contains("--allow-destroy"),
        "{}",
        ran.stderr
    );
    let ran = live.phoenix(&["apply", "--config", arg(&config), "--yes"]);
    assert_code(&ran, 1, "apply");
    let found = live.sh(
        "blkid -p -s TYPE -o value \"$1\"; zpool list -H -o name",
        &[SPARE],
    );
    assert_eq!(
        found, "ext4\n",
        "the disk is untouched and no pool was made"
    );
    let ran = live.phoenix(&["plan", "--config", arg(&config), "--allow-destroy"]);
    assert_code(&ran, 0, "plan --allow-destroy");
    assert!(
        ran.stdout.contains(&format!("$ wipefs -a {SPARE}")),
        "{}",
        ran.stdout
    );
}

/// Plans `config` on the live host and on the simulated node and checks that they plan the same
/// changes (ids, actions, fields before and after, steps with their exact argv, in order) after
/// the same inspection commands. Returns the changes.
fn same_plan(live: &Live, sim: &str, config: &Path, extra: &[&str], what: &str) -> Vec<Planned> {
    let mut args = vec!["plan", "--config", arg(config), "--json"];
    args.extend_from_slice(extra);
    let real = live.phoenix(&args);
    args.extend(["--target", sim]);
    let simulated = phoenix(&args);
    assert_eq!(
        simulated.code, real.code,
        "{what}: exit codes\n{}\n{}",
        real.stderr, simulated.stderr
    );
    let (real, simulated) = (json(&real), json(&simulated));
    assert_eq!(changes(&simulated), changes(&real), "{what}: the changes");
    for key in [
        "commands_total",
        "commands_by_program",
        "commands_writing",
        "file_reads",
    ] {
        assert_eq!(
            simulated["stats"][key], real["stats"][key],
            "{what}: stats.{key}"
        );
    }
    changes(&real)
}

/// Applies `config` on both and checks that both ran the same commands.
fn apply_both(live: &Live, sim: &str, config: &Path, what: &str) {
    let mut stats = Vec::new();
    for target in [live.target.as_str(), sim] {
        let ran = phoenix(&[
            "apply",
            "--config",
            arg(config),
            "--yes",
            "--json",
            "--target",
            target,
        ]);
        assert_code(&ran, 0, &format!("{what} on {target}"));
        stats.push(json(&ran)["stats"]["commands_by_program"].clone());
    }
    assert_eq!(stats[1], stats[0], "{what}: the commands apply ran");
}

#[test]
fn the_simulated_node_plans_what_the_real_host_plans() {
    let Some(live) = live() else { return };
    let scratch = Scratch::new();
    std::fs::copy(example().join("sim-state.json"), scratch.state_file()).expect("seed the node");
    let sim = scratch.target();
    let config = example();

    let fresh = same_plan(&live, &sim, &config, &[], "fresh host");
    assert!(fresh.len() > 10, "{fresh:#?}");
    apply_both(&live, &sim, &config, "converge");
    assert_eq!(
        same_plan(&live, &sim, &config, &[], "converged host"),
        Vec::new()
    );

    let edited = Scratch::new();
    let text = std::fs::read_to_string(config.join("phoenix_hypervisor_config.json"))
        .expect("read the example");
    let edited_config = edited.write_config(&text.replacen("quota=800M", "quota=1G", 1).replacen(
        "compression=lz4,sync=always",
        "compression=zstd,sync=disabled",
        1,
    ));
    assert_eq!(
        same_plan(&live, &sim, &edited_config, &[], "edited properties").len(),
        2
    );
    apply_both(&live, &sim, &edited_config, "apply the edit");
    assert_eq!(
        same_plan(&live, &sim, &edited_config, &[], "edit applied"),
        Vec::new()
    );
}

/// The differential test over the whole readback matrix: a config that sets every value
/// validation accepts (`every_value_config`, aliases such as `xattr=sa`, `gzip-6`, `posixacl`
/// included) plans the same on the real host and the simulated node, applies, and then plans
/// nothing on either (`plan --detailed-exitcode` = 0); then every settable value moves to the
/// next one in its list, and the same again with `zfs set`.
#[test]
fn issue_14_every_accepted_value_converges_on_the_real_host_as_on_the_simulated_node() {
    let Some(live) = live() else { return };
    let scratch = Scratch::new();
    std::fs::copy(example().join("sim-state.json"), scratch.state_file()).expect("seed the node");
    let sim = scratch.target();
    let disk = "/dev/disk/by-id/virtio-phoenix-fastdata-1";
    for (shift, what) in [(0, "every value"), (1, "every value, shifted")] {
        let config_dir = Scratch::new();
        let config = phoenix_zfs::sim::every_value_config("scratch", disk, shift);
        let config = config_dir.write_config(&config.to_string());
        let planned = same_plan(&live, &sim, &config, &[], what);
        assert!(planned.len() > 50, "{what}: {planned:#?}");
        apply_both(&live, &sim, &config, what);
        let ran = live.phoenix(&["plan", "--config", arg(&config), "--detailed-exitcode"]);
        assert_code(
            &ran,
            0,
            &format!("{what}: plan after apply on the real host"),
        );
        assert_eq!(
            same_plan(&live, &sim, &config, &[], &format!("{what}, applied")),
            Vec::new()
        );
    }
}

#[test]
fn the_simulated_node_refuses_an_ext4_disk_as_the_real_host_does() {
    let Some(live) = live() else { return };
    live.sh("mkfs.ext4 -q -F \"$1\" && udevadm settle", &[SPARE]);
    let scratch = Scratch::new();
    let mut state: Value = serde_json::from_str(
        &std::fs::read_to_string(example().join("sim-state.json")).expect("read the node"),
    )
    .expect("the node is JSON");
    state["tools"]["disks"][SPARE]["signatures"] = serde_json::json!([
        {"type": "ext4", "offset": "0x438", "uuid": "3f1f5c9e-7d36-4c0e-9a57-1c2a0f1e6b7d", "label": null, "magic": "53 ef"}
    ]);
    std::fs::write(scratch.state_file(), state.to_string()).expect("write the node");
    let sim = scratch.target();
    let config = scratch.write_config(&format!(
        r#"{{"zfs": {{"pools": [{{"name": "scratch", "raid_level": "single", "disks": ["{SPARE}"]}}]}}}}"#
    ));
    same_plan(&live, &sim, &config, &[], "ext4 disk");
    let wipe = same_plan(
        &live,
        &sim,
        &config,
        &["--allow-destroy"],
        "ext4 disk, --allow-destroy",
    );
    assert_eq!(wipe.len(), 2, "{wipe:#?}");
}

/// The upstream containers on a host without `pct`: every LXC resource is unsupported (a
/// warning), none is an error, and nothing is attempted.
#[test]
fn containers_are_unsupported_on_a_host_without_proxmox() {
    let Some(live) = live() else { return };
    let scratch = Scratch::new();
    // With the operator's fix for 950's two max_model_len values (issue 12 refuses them).
    crate::support::copy_upstream(
        "0017fa8",
        &["phoenix_lxc_configs.json"],
        &scratch.config_dir(),
    );
    let ran = live.phoenix(&[
        "apply",
        "--config",
        arg(&scratch.config_dir()),
        "--yes",
        "--json",
    ]);
    assert_code(&ran, 0, "apply");
    let report = json(&ran);
    assert!(
        report["plan"]["summary"]["unsupported"].as_u64() > Some(10),
        "{report:#}"
    );
    let diagnostics = report["plan"]["diagnostics"]
        .as_array()
        .expect("diagnostics");
    assert!(
        !diagnostics.iter().any(|d| d["severity"] == "error"),
        "{report:#}"
    );
    assert!(
        diagnostics.iter().any(|d| d["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("pct: not found on this target; "))),
        "{report:#}"
    );
    assert_eq!(
        report["plan"]["changes"],
        Value::Array(Vec::new()),
        "{report:#}"
    );
    assert_eq!(report["stats"]["commands_total"], 0, "{report:#}");
}

#[test]
fn arguments_arrive_byte_for_byte_on_the_testbed() {
    let Some(live) = live() else { return };
    let hostile = [
        "two words",
        "it's",
        "\"double\"",
        "$(touch /tmp/phoenix-pwned)",
        "`touch /tmp/phoenix-pwned`",
        "a;b && c || d",
        "line1\nline2\n",
        "*",
        "$HOME",
        "-n",
        "",
        "back\\slash",
        "tab\there",
        "ünïcödé",
    ];
    let cmd = hostile
        .iter()
        .fold(Cmd::read("printf", ["%s\\0"]), |cmd, arg| cmd.arg(*arg));
    let out = live.rt.block_on(live.ssh.run(&cmd)).expect("runs");
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let expected: String = hostile.iter().map(|arg| format!("{arg}\0")).collect();
    assert_eq!(out.stdout, expected);
    let leftover = live.sh("ls /tmp/phoenix-pwned 2>/dev/null || true", &[]);
    assert_eq!(leftover, "", "nothing was interpreted by the remote shell");

    let path = Path::new("/tmp/phoenix live 'test' $(x).conf");
    let content = "line 1\n$(not run) `nor this` 'quoted' \\\nno newline at the end";
    live.rt
        .block_on(
            live.ssh
                .write_file(path, &FileWrite::new(content, 0o640).owner("root:root")),
        )
        .expect("writes");
    let data = live
        .rt
        .block_on(live.ssh.read_file(path))
        .expect("reads")
        .expect("exists");
    assert_eq!(
        (data.content.as_str(), data.mode, data.owner.as_str()),
        (content, 0o640, "root:root")
    );
    live.rt
        .block_on(live.ssh.remove_file(path))
        .expect("removes");
    assert_eq!(
        live.rt.block_on(live.ssh.read_file(path)).expect("reads"),
        None
    );
}

#[test]
fn issue_8_one_run_at_a_time_on_the_testbed() {
    let Some(live) = live() else { return };
    let config = example();
    let holder = Holder::this_process("phoenix apply --config elsewhere");
    let lock = live
        .rt
        .block_on(RunLock::remote(&live.ssh, &holder))
        .expect("the testbed's run lock is free");
    let ran = live.phoenix(&["plan", "--config", arg(&config)]);
    assert_code(&ran, 1, "a plan while another run holds the lock");
    assert!(
        ran.stderr.contains(&format!(
            ":/run/phoenix/run.lock (pid {} on ",
            std::process::id()
        )) && ran
            .stderr
            .contains(": phoenix apply --config elsewhere); nothing was done"),
        "{}",
        ran.stderr
    );
    live.rt.block_on(lock.release()).expect("released");
    let ran = live.phoenix(&["plan", "--config", arg(&config)]);
    assert_code(&ran, 0, "a plan once the lock is free");
}

/// Issue 9 on a real host: the admin user exists with its key (`.ssh` 0700, the file 0600, the
/// user's), may use sudo (`sudo -l -U`), has the config's password (`passwd -S` says `P`), the
/// time zone is set, `pveum` is missing (a warning), and a second apply runs no writing command.
#[test]
fn issue_9_the_admin_user_and_time_zone_converge_on_the_testbed() {
    let Some(live) = live() else { return };
    let config = example();
    let ran = live.phoenix(&["apply", "--config", arg(&config), "--yes"]);
    assert_code(&ran, 0, "apply");
    assert!(
        ran.stderr.contains("pveum: not found on this target"),
        "{}",
        ran.stderr
    );
    assert!(!ran.stdout.contains("$6$phoenixlab0000"), "{}", ran.stdout);
    let facts = live.sh(
        r#"getent passwd phoenix_admin
id -nG phoenix_admin
passwd -S phoenix_admin | cut -d' ' -f2
stat -c '%a %U:%G' /home/phoenix_admin/.ssh /home/phoenix_admin/.ssh/authorized_keys
cat /home/phoenix_admin/.ssh/authorized_keys
sudo -l -U phoenix_admin | grep -c '(ALL : ALL) ALL'
readlink /etc/localtime"#,
        &[],
    );
    let lines: Vec<&str> = facts.lines().collect();
    assert!(lines[0].starts_with("phoenix_admin:x:"), "{facts}");
    assert!(
        lines[0].ends_with(":/home/phoenix_admin:/bin/bash"),
        "{facts}"
    );
    assert_eq!(lines[1], "phoenix_admin sudo", "{facts}");
    assert_eq!(lines[2], "P", "{facts}");
    assert_eq!(lines[3], "700 phoenix_admin:phoenix_admin", "{facts}");
    assert_eq!(lines[4], "600 phoenix_admin:phoenix_admin", "{facts}");
    assert!(
        lines[5].starts_with("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAII5YI"),
        "{facts}"
    );
    assert_ne!(lines[6], "0", "sudo -l lists the rule: {facts}");
    assert_eq!(
        lines[7], "../usr/share/zoneinfo/America/New_York",
        "{facts}"
    );
    let ran = live.phoenix(&["apply", "--config", arg(&config), "--yes", "--json"]);
    assert_code(&ran, 0, "second apply");
    let report = json(&ran);
    assert_eq!(report["outcomes"], Value::Array(Vec::new()), "{report:#}");
    for stats in [&report["stats"], &report["plan"]["stats"]] {
        assert_eq!(stats["commands_writing"], 0, "{report:#}");
        assert_eq!(stats["file_writes"], 0, "{report:#}");
    }
}

/// Puts Samba back to the testbed's own: the Debian smb.conf (saved once), no Phoenix include
/// file, a Linux user `phoenixsmb` that is not in the passdb, the share's directory, smbd
/// running on the Debian config.
const SAMBA_RESET: &str = r#"set -eu
id phoenixsmb > /dev/null 2>&1 || useradd -M -s /usr/sbin/nologin phoenixsmb
pdbedit -x phoenixsmb > /dev/null 2>&1 || true
[ -f /etc/samba/smb.conf.testbed ] || cp -p /etc/samba/smb.conf /etc/samba/smb.conf.testbed
cp -p /etc/samba/smb.conf.testbed /etc/samba/smb.conf
rm -f /etc/samba/phoenix-shares.conf /root/phoenix-samba.pw
mkdir -p /srv/phoenix-share
systemctl restart smbd"#;

/// A share on the testbed, for a user whose password is in a root-only file.
const SAMBA_CONFIG: &str = r#"{
    "samba": {
        "user": "phoenixsmb",
        "password_file": "/root/phoenix-samba.pw",
        "shares": [
            {"name": "phoenix-live", "path": "/srv/phoenix-share", "options": "browseable=yes writable=yes", "valid_users": ["phoenixsmb"]}
        ]
    }
}"#;

#[test]
fn issue_9_a_samba_share_converges_on_the_testbed_and_is_listed_with_the_users_password() {
    let Some(live) = live() else { return };
    live.sh(SAMBA_RESET, &[]);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let password = format!("live-{}-{nanos}", std::process::id());
    live.rt
        .block_on(live.ssh.write_file(
            Path::new("/root/phoenix-samba.pw"),
            &FileWrite::new(format!("{password}\n"), 0o600),
        ))
        .expect("the password file is written");
    let scratch = Scratch::new();
    let config = scratch.write_config(SAMBA_CONFIG);
    let ran = live.phoenix(&["apply", "--config", arg(&config), "--yes"]);
    assert_code(&ran, 0, "apply");
    assert!(!ran.stdout.contains(&password) && !ran.stderr.contains(&password));
    // smbclient reads the password from its environment, so it is in no argv.
    let listing = live.sh(
        "PASSWD=$(cat /root/phoenix-samba.pw) smbclient -L localhost -U phoenixsmb -m SMB3 -g",
        &[],
    );
    assert!(listing.contains("Disk|phoenix-live|"), "{listing}");
    let smbd = "systemctl show smbd.service -p MainPID,ExecMainStartTimestampMonotonic";
    let before = live.sh(smbd, &[]);
    let ran = live.phoenix(&["plan", "--config", arg(&config), "--detailed-exitcode"]);
    assert_code(&ran, 0, "plan after apply");
    let ran = live.phoenix(&["apply", "--config", arg(&config), "--yes", "--json"]);
    assert_code(&ran, 0, "second apply");
    let report = json(&ran);
    assert_eq!(report["outcomes"], Value::Array(Vec::new()), "{report:#}");
    for stats in [&report["stats"], &report["plan"]["stats"]] {
        assert_eq!(stats["commands_writing"], 0, "{report:#}");
        assert_eq!(stats["file_writes"], 0, "{report:#}");
    }
    assert_eq!(
        live.sh(smbd, &[]),
        before,
        "smbd was neither restarted nor replaced"
    );
    let conf = live.sh("cat /etc/samba/smb.conf", &[]);
    assert_eq!(
        conf.matches("include = /etc/samba/phoenix-shares.conf")
            .count(),
        1,
        "{conf}"
    );
}
