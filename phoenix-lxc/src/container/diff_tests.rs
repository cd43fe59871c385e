//! Pure diff tests of `lxc.container`, one table per concern of `Container::diff`: a desired
//! spec and an observed conf in, the rendered change out (no host involved). Each case is
//! `check(desired, observed, expect)`; the observed conf goes through the same parser as on a
//! real host.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use phoenix_core::{Delta, Disruption, Ensure, Resource};

use super::{Container, ContainerState};
use crate::config::{ContainerSpec, Mount, Net, Origin};
use crate::facts::Observed;

const TEMPLATE: &str = "/var/lib/vz/template/cache/ubuntu-24.04-standard_24.04-2_amd64.tar.zst";

/// The conf Proxmox holds for [`spec`]: nothing to do.
const CONF: &str = "arch: amd64
cores: 2
hostname: web
memory: 2048
net0: name=eth0,bridge=vmbr0,gw=10.0.0.1,hwaddr=BC:24:11:00:01:01,ip=10.0.0.51/24,type=veth
ostype: ubuntu
rootfs: local-zfs:subvol-101-disk-0,size=8G
swap: 512
unprivileged: 1
";

/// Container 101 from a template, with the settings of [`CONF`].
pub(super) fn spec() -> ContainerSpec {
    ContainerSpec {
        id: 101,
        ensure: Ensure::Present,
        hostname: "web".to_owned(),
        memory_mb: 2048,
        swap_mb: None,
        cores: 2,
        storage: "local-zfs".to_owned(),
        rootfs_gb: 8,
        origin: Origin::Template(TEMPLATE.to_owned()),
        net: Net {
            name: "eth0".to_owned(),
            bridge: "vmbr0".to_owned(),
            ip: "10.0.0.51/24".to_owned(),
            gw: Some("10.0.0.1".to_owned()),
            hwaddr: None,
            firewall: false,
        },
        unprivileged: true,
        features: Vec::new(),
        inherits_features: false,
        pct_features: BTreeMap::new(),
        lxc: Vec::new(),
        apparmor_profile: None,
        start_at_boot: false,
        boot_order: None,
        boot_delay: None,
        dependencies: Vec::new(),
        mounts: Vec::new(),
        snapshot: "final-form".to_owned(),
        gpus: None,
    }
}

/// The container `edit` makes of [`spec`].
fn desired(edit: impl FnOnce(&mut ContainerSpec)) -> Container {
    let mut spec = spec();
    edit(&mut spec);
    Container { spec, parent: None }
}

/// A container found `running` or `stopped`, with `conf` as its config file.
fn observed(status: &str, conf: &str) -> ContainerState {
    let found = Observed {
        status: status.to_owned(),
        lock: None,
        text: conf.to_owned(),
        conf: Arc::new(phoenix_pve::parse_conf(conf).expect("a valid conf")),
    };
    ContainerState::from_observed(&found)
}

/// `CONF` with `line`'s key replaced (or `line` added), keys kept in Proxmox's order.
fn conf_with(lines: &[&str]) -> String {
    let mut conf = phoenix_pve::parse_conf(CONF).expect("valid");
    for line in lines {
        let (key, value) = line.split_once(": ").expect("key: value");
        if value.is_empty() {
            conf.main.remove(key);
        } else {
            conf.main.set(key, value);
        }
    }
    let mut main = conf.main.clone();
    main.keys = main
        .sorted_keys()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    phoenix_pve::format_conf(&phoenix_pve::Conf::from_main(main))
}

/// The delta as text: fields, steps (`$`), disruption (`!`) and diagnostics.
fn render(delta: &Delta) -> String {
    let mut out = String::new();
    let show = |value: &Option<serde_json::Value>| {
        value
            .as_ref()
            .map_or("(absent)".to_owned(), ToString::to_string)
    };
    for field in &delta.fields {
        let _ = write!(
            out,
            "{}: {} -> {}",
            field.field,
            show(&field.before),
            show(&field.after)
        );
        if let Some(note) = &field.note {
            let _ = write!(out, " ({note})");
        }
        out.push('\n');
    }
    for step in &delta.steps {
        let _ = writeln!(out, "$ {step}");
    }
    if delta.replace {
        out.push_str("! replace\n");
    }
    if delta.disruption != Disruption::Hot {
        let _ = writeln!(out, "! {}", delta.disruption);
    }
    for diagnostic in &delta.diagnostics {
        let _ = writeln!(out, "{}: {}", diagnostic.severity, diagnostic.message);
    }
    out
}

/// The diff of `desired` against `observed`, rendered; `Err` with both texts when it is not
/// `expect`.
fn check(
    desired: &Container,
    observed: Option<&ContainerState>,
    expect: &str,
) -> Result<(), String> {
    let got = render(&Resource::diff(desired, observed));
    if got == expect {
        Ok(())
    } else {
        Err(format!("--- expected\n{expect}--- got\n{got}"))
    }
}

/// One case of a table: a name, the desired container, the observed one, the expected change.
type Case = (
    &'static str,
    Container,
    Option<ContainerState>,
    &'static str,
);

/// Checks every case and reports every failing one by name.
fn check_table(cases: Vec<Case>) {
    let failures: Vec<String> = cases
        .into_iter()
        .filter_map(|(name, desired, observed, expect)| {
            check(&desired, observed.as_ref(), expect)
                .err()
                .map(|diff| format!("case {name:?}:\n{diff}"))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn volume(path: &str, storage: &str, size_gb: u64) -> Mount {
    Mount::Volume {
        path: path.to_owned(),
        storage: storage.to_owned(),
        size_gb,
    }
}

fn bind(path: &str, host_path: &str) -> Mount {
    Mount::Bind {
        path: path.to_owned(),
        host_path: host_path.to_owned(),
        volume: "shared".to_owned(),
    }
}

fn lxc(key: &str, value: &str) -> (String, String) {
    (key.to_owned(), value.to_owned())
}

#[test]
fn lifecycle() {
    let clone = {
        let mut clone = desired(|s| {
            s.origin = Origin::Clone {
                parent: 900,
                snapshot: "final-form".to_owned(),
            };
            s.rootfs_gb = 16;
            s.lxc = vec![
                lxc("lxc.apparmor.profile", "unconfined"),
                lxc("lxc.cap.drop", ""),
            ];
            s.mounts = vec![bind("/data", "/fastData/shared")];
        });
        let mut parent = spec();
        parent.id = 900;
        parent.lxc = vec![lxc("lxc.apparmor.profile", "unconfined")];
        clone.parent = Some(parent);
        clone
    };
    let mut locked = observed("stopped", CONF);
    locked.lock = Some("backup".to_owned());
    check_table(vec![
        (
            "an unchanged container",
            desired(|_| {}),
            Some(observed("running", CONF)),
            "",
        ),
        (
            "a missing container is created from its template with every setting",
            desired(|_| {}),
            None,
            r#"hostname: (absent) -> "web"
memory: (absent) -> "2048"
cores: (absent) -> "2"
net0: (absent) -> "name=eth0,bridge=vmbr0,ip=10.0.0.51/24,gw=10.0.0.1,type=veth"
onboot: (absent) -> "0"
origin: (absent) -> "template /var/lib/vz/template/cache/ubuntu-24.04-standard_24.04-2_amd64.tar.zst"
$ pct create 101 /var/lib/vz/template/cache/ubuntu-24.04-standard_24.04-2_amd64.tar.zst --storage local-zfs --rootfs local-zfs:8 --unprivileged 1 --hostname web --memory 2048 --cores 2 --net0 name=eth0,bridge=vmbr0,ip=10.0.0.51/24,gw=10.0.0.1,type=veth --onboot 0
"#,
        ),
        (
            "a clone grows past its parent's disk and gets only the raw lines it did not inherit",
            clone,
            None,
            r#"hostname: (absent) -> "web"
memory: (absent) -> "2048"
cores: (absent) -> "2"
net0: (absent) -> "name=eth0,bridge=vmbr0,ip=10.0.0.51/24,gw=10.0.0.1,type=veth"
onboot: (absent) -> "0"
origin: (absent) -> "clone of 900 at final-form"
mount /data: (absent) -> "/fastData/shared,mp=/data"
lxc: (absent) -> "lxc.cap.drop:"
$ pct clone 900 101 --snapname final-form --hostname web --storage local-zfs --full
$ pct set 101 --hostname web --memory 2048 --cores 2 --net0 name=eth0,bridge=vmbr0,ip=10.0.0.51/24,gw=10.0.0.1,type=veth --onboot 0
$ pct resize 101 rootfs 16G
$ mkdir -p /fastData/shared
$ pct set 101 --mp0 /fastData/shared,mp=/data
$ tee -a /etc/pve/lxc/101.conf  # with 15 byte(s) on stdin
"#,
        ),
        (
            "a running container marked absent is stopped and destroyed",
            desired(|s| s.ensure = Ensure::Absent),
            Some(observed("running", CONF)),
            "exists: true -> false
$ pct stop 101
$ pct destroy 101 --purge
! destroys data: container 101 and its volumes
",
        ),
        (
            "an absent container marked absent",
            desired(|s| s.ensure = Ensure::Absent),
            None,
            "",
        ),
        (
            "unprivileged changes only by replacing the container",
            desired(|s| s.unprivileged = false),
            Some(observed("running", CONF)),
            "unprivileged: true -> false
$ pct stop 101
$ pct destroy 101 --purge
$ pct create 101 /var/lib/vz/template/cache/ubuntu-24.04-standard_24.04-2_amd64.tar.zst --storage local-zfs --rootfs local-zfs:8 --unprivileged 0 --hostname web --memory 2048 --cores 2 --net0 name=eth0,bridge=vmbr0,ip=10.0.0.51/24,gw=10.0.0.1,type=veth --onboot 0
! replace
! destroys data: container 101 is destroyed and created again (unprivileged can only be set at creation)
",
        ),
        (
            "a container locked by Proxmox is an error and nothing runs",
            desired(|s| s.memory_mb = 4096),
            Some(locked),
            "error: container 101 is locked (backup) by an unfinished Proxmox operation; clear it with `pct unlock 101` once nothing runs
",
        ),
    ]);
}

#[test]
fn settings() {
    let with_snapshot =
        format!("{CONF}parent: final-form\n\n[final-form]\narch: amd64\nsnaptime: 1\n");
    check_table(vec![
        (
            "every differing key goes into one pct set; hostname and features restart",
            desired(|s| {
                s.memory_mb = 4096;
                s.hostname = "web2".to_owned();
                s.swap_mb = Some(1024);
                s.start_at_boot = true;
                s.boot_order = Some(2);
                s.boot_delay = Some(30);
                s.pct_features.insert("nesting".to_owned(), "1".to_owned());
                s.pct_features.insert("keyctl".to_owned(), "1".to_owned());
            }),
            Some(observed("running", CONF)),
            r#"hostname: "web" -> "web2"
memory: "2048" -> "4096"
onboot: (absent) -> "1"
swap: "512" -> "1024"
features: (absent) -> "keyctl=1,nesting=1"
startup: (absent) -> "order=2,up=30"
$ pct set 101 --hostname web2 --memory 4096 --onboot 1 --swap 1024 --features keyctl=1,nesting=1 --startup order=2,up=30
$ pct shutdown 101
$ pct start 101
! needs restart of lxc.container[101]
"#,
        ),
        (
            "features compare as a set of flags",
            desired(|s| {
                s.pct_features.insert("nesting".to_owned(), "1".to_owned());
                s.pct_features.insert("keyctl".to_owned(), "1".to_owned());
            }),
            Some(observed(
                "running",
                &conf_with(&["features: nesting=1,keyctl=1"]),
            )),
            "",
        ),
        (
            "a gateway the config drops is removed",
            desired(|s| s.net.gw = None),
            Some(observed("stopped", CONF)),
            r#"net0: "name=eth0,bridge=vmbr0,gw=10.0.0.1,hwaddr=BC:24:11:00:01:01,ip=10.0.0.51/24,type=veth" -> "name=eth0,bridge=vmbr0,ip=10.0.0.51/24,type=veth"
$ pct set 101 --net0 name=eth0,bridge=vmbr0,ip=10.0.0.51/24,type=veth
"#,
        ),
        (
            "issue 9: an enabled container firewall sets firewall=1 on net0",
            desired(|s| {
                s.net.firewall = true;
                s.net.hwaddr = Some("BC:24:11:00:01:01".to_owned());
            }),
            Some(observed("stopped", CONF)),
            r#"net0: "name=eth0,bridge=vmbr0,gw=10.0.0.1,hwaddr=BC:24:11:00:01:01,ip=10.0.0.51/24,type=veth" -> "name=eth0,bridge=vmbr0,firewall=1,hwaddr=BC:24:11:00:01:01,ip=10.0.0.51/24,gw=10.0.0.1,type=veth"
$ pct set 101 --net0 name=eth0,bridge=vmbr0,firewall=1,hwaddr=BC:24:11:00:01:01,ip=10.0.0.51/24,gw=10.0.0.1,type=veth
"#,
        ),
        (
            "issue 9: firewall=1 is kept while the firewall is enabled",
            desired(|s| s.net.firewall = true),
            Some(observed(
                "stopped",
                &CONF.replace("bridge=vmbr0,gw=", "bridge=vmbr0,firewall=1,gw="),
            )),
            "",
        ),
        (
            "issue 9: a firewall flag the config does not enable is removed",
            desired(|s| s.net.hwaddr = Some("BC:24:11:00:01:01".to_owned())),
            Some(observed(
                "stopped",
                &CONF.replace("bridge=vmbr0,gw=", "bridge=vmbr0,firewall=1,gw="),
            )),
            r#"net0: "name=eth0,bridge=vmbr0,firewall=1,gw=10.0.0.1,hwaddr=BC:24:11:00:01:01,ip=10.0.0.51/24,type=veth" -> "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:01:01,ip=10.0.0.51/24,gw=10.0.0.1,type=veth"
$ pct set 101 --net0 name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:01:01,ip=10.0.0.51/24,gw=10.0.0.1,type=veth
"#,
        ),
        (
            "MACs compare without case; a generated one is kept",
            desired(|s| s.net.hwaddr = Some("bc:24:11:00:01:01".to_owned())),
            Some(observed("stopped", CONF)),
            "",
        ),
        (
            "a missing raw line goes into the main section, before the snapshot, and restarts",
            desired(|s| s.lxc = vec![lxc("lxc.apparmor.profile", "unconfined")]),
            Some(observed("running", &with_snapshot)),
            r#"lxc: (absent) -> "lxc.apparmor.profile: unconfined" (raw lines, main section)
$ write /etc/pve/lxc/101.conf (315 bytes, mode 0640)
$ pct shutdown 101
$ pct start 101
! needs restart of lxc.container[101]
"#,
        ),
        (
            "issue_9: a new AppArmor profile replaces the old line, in the main section only",
            desired(|s| {
                s.lxc = vec![lxc("lxc.apparmor.profile", "lxc-phoenix-v2")];
                s.apparmor_profile = Some("lxc-phoenix-v2".to_owned());
            }),
            Some(observed(
                "running",
                &format!(
                    "{CONF}lxc.apparmor.profile: unconfined\n\n[final-form]\nlxc.apparmor.profile: unconfined\n"
                ),
            )),
            r#"lxc: "lxc.apparmor.profile: unconfined" -> "lxc.apparmor.profile: lxc-phoenix-v2" (raw lines, main section)
$ write /etc/pve/lxc/101.conf (309 bytes, mode 0640)
$ pct shutdown 101
$ pct start 101
! needs restart of lxc.container[101]
"#,
        ),
        (
            "issue_9: the same AppArmor profile is no change",
            desired(|s| {
                s.lxc = vec![lxc("lxc.apparmor.profile", "lxc-phoenix-v2")];
                s.apparmor_profile = Some("lxc-phoenix-v2".to_owned());
            }),
            Some(observed(
                "running",
                &format!("{CONF}lxc.apparmor.profile: lxc-phoenix-v2\n"),
            )),
            "",
        ),
        (
            "a pending change waiting for a restart restarts a running container",
            desired(|s| s.memory_mb = 4096),
            Some(observed(
                "running",
                &format!("{CONF}\n[pve:pending]\nmemory: 4096\n"),
            )),
            "$ pct shutdown 101
$ pct start 101
! needs restart of lxc.container[101]
",
        ),
    ]);
}

#[test]
fn disks() {
    check_table(vec![
        (
            "the root disk grows in place",
            desired(|s| s.rootfs_gb = 16),
            Some(observed("running", CONF)),
            r#"rootfs size: "8G" -> "16G"
$ pct resize 101 rootfs 16G
"#,
        ),
        (
            "the root disk never shrinks",
            desired(|s| s.rootfs_gb = 4),
            Some(observed("running", CONF)),
            "error: the root disk is 8G and the config asks for 4G; Proxmox cannot shrink a container's disk
",
        ),
        (
            "new mounts take the first free mpN; a bind mount restarts",
            desired(|s| {
                s.mounts = vec![volume("/models", "fastData", 100), bind("/data", "/fastData/shared")];
            }),
            Some(observed("running", &conf_with(&["mp0: /other,mp=/other"]))),
            r#"mount /models: (absent) -> "fastData:100,mp=/models"
mount /data: (absent) -> "/fastData/shared,mp=/data"
$ mkdir -p /fastData/shared
$ pct set 101 --mp1 fastData:100,mp=/models --mp2 /fastData/shared,mp=/data
$ pct shutdown 101
$ pct start 101
! needs restart of lxc.container[101]
"#,
        ),
        (
            "mounts match by path: a volume grows, a bind follows, another storage is an error",
            desired(|s| {
                s.mounts = vec![
                    volume("/models", "fastData", 200),
                    bind("/data", "/fastData/shared"),
                    volume("/cache", "fastData", 10),
                ];
            }),
            Some(observed(
                "stopped",
                &conf_with(&[
                    "mp0: fastData:subvol-101-disk-1,mp=/models,backup=1,size=100G",
                    "mp1: /old/shared,mp=/data",
                    "mp2: local-zfs:subvol-101-disk-2,mp=/cache,size=10G",
                ]),
            )),
            r#"mount /models size: "100G" -> "200G"
mount /data: "/old/shared,mp=/data" -> "/fastData/shared,mp=/data"
$ pct resize 101 mp0 200G
$ mkdir -p /fastData/shared
$ pct set 101 --mp1 /fastData/shared,mp=/data
error: the mount at /cache is local-zfs:subvol-101-disk-2, not a volume on storage fastData; Phoenix never re-creates volumes (move the data by hand or change the config)
"#,
        ),
    ]);
}

/// With `mp0` to `mp255` all taken, a new mount is an error; the provider used to put it in
/// `mp255`, replacing the mount there.
#[test]
fn issue_8_a_mount_with_no_free_slot_is_an_error_not_a_reused_slot() {
    let taken: Vec<String> = (0..256)
        .map(|n| format!("mp{n}: /srv/{n},mp=/m{n}"))
        .collect();
    let taken: Vec<&str> = taken.iter().map(String::as_str).collect();
    check_table(vec![(
        "every slot is taken",
        desired(|s| s.mounts = vec![bind("/new", "/srv/new")]),
        Some(observed("stopped", &conf_with(&taken))),
        "error: no free mount slot for /new: mp0 to mp255 are all in use\n",
    )]);
}

/// A size Proxmox (or a person) wrote without a unit is bytes, as pve-common's `parse_size`
/// reads it; the provider used to read it as GiB and report a 8589934592G root disk.
#[test]
fn issue_8_a_size_without_a_unit_is_bytes() {
    let conf = conf_with(&[
        "rootfs: local-zfs:subvol-101-disk-0,size=8589934592",
        "mp0: fastData:subvol-101-disk-1,mp=/models,size=107374182400",
    ]);
    check_table(vec![(
        "8589934592 is 8G, 107374182400 is 100G",
        desired(|s| s.mounts = vec![volume("/models", "fastData", 100)]),
        Some(observed("stopped", &conf)),
        "",
    )]);
}

/// `delete: hostname;memory !cores` deletes all three at the next start, as Proxmox reads it
/// (`,`, `;` and blanks separate keys; `!` marks a forced deletion); the provider used to split
/// on `,` only and keep the `!`, so it saw none deleted while the emulator saw all three.
#[test]
fn issue_8_pending_deletions_are_read_as_proxmox_reads_them() {
    let conf = format!(
        "{}\n[pve:pending]\ndelete: hostname;memory !cores\n",
        conf_with(&["onboot: 1"])
    );
    check_table(vec![(
        "the three deleted keys are set again",
        desired(|_| {}),
        Some(observed("running", &conf)),
        r#"hostname: (absent) -> "web"
memory: (absent) -> "2048"
cores: (absent) -> "2"
onboot: "1" -> "0"
$ pct set 101 --hostname web --memory 2048 --cores 2 --onboot 0
$ pct shutdown 101
$ pct start 101
! needs restart of lxc.container[101]
"#,
    )]);
}

#[test]
fn issue_9_a_container_requires_its_apparmor_profile_unless_it_names_none() {
    let requires = |profile: Option<&str>| -> Vec<String> {
        let container = desired(|s| s.apparmor_profile = profile.map(str::to_owned));
        Resource::requires(&container)
            .into_iter()
            .map(|c| c.to_string())
            .filter(|c| c.starts_with("apparmor-profile:"))
            .collect()
    };
    assert_eq!(
        requires(Some("lxc-phoenix-v2")),
        ["apparmor-profile:lxc-phoenix-v2"]
    );
    for none in [
        None,
        Some("unconfined"),
        Some("generated"),
        Some("unchanged"),
    ] {
        assert_eq!(requires(none), Vec::<String>::new(), "{none:?}");
    }
}
