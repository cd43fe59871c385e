//! The hostile-input suite: a table of configs an attacker or a slip of the hand could write
//! (shell metacharacters, newlines, NUL, ESC, bidirectional overrides, `..`, property-string
//! splicing, 1 MB strings, 10,000 nested arrays, duplicate keys, zero sizes, cycles, non-UTF-8,
//! `/dev/zero`, FIFOs and dangling links). Each is run through `plan` and `apply --yes` on a
//! simulated node: both must exit 1, name the file (and the JSON path, or the line and column
//! where the problem is in the text rather than in a value), print no raw control character and
//! no forged line, and leave the node's state file byte for byte unchanged.

use std::path::{Path, PathBuf};

use phoenix_core::Host as _;
use serde_json::{Value, json};

use crate::support::{Scratch, arg, on, phoenix};

const HYPERVISOR: &str = "phoenix_hypervisor_config.json";
const LXC: &str = "phoenix_lxc_configs.json";

/// The config a case starts from: valid (checked by the suite), with files, a pool, a shared
/// volume, a template container and its clone.
fn base() -> (Value, Value) {
    let hypervisor = json!({
        "files": [
            {"path": "/etc/motd", "content": "Phoenix lab\n\tmanaged\n", "mode": "0644"},
            {"path": "/etc/phoenix/phoenix.env", "content": "A=1\n"}
        ],
        "zfs": {
            "pools": [{"name": "tank", "raid_level": "mirror", "disks": ["/dev/disk/by-id/a", "/dev/disk/by-id/b"]}],
            "datasets": [{"name": "shared", "pool": "tank", "properties": "compression=lz4"}]
        },
        "shared_volumes": {
            "models": {"host_path": "/tank/shared", "mounts": {"101": "/models"}}
        }
    });
    let container = |fields: Value| {
        let mut entry = json!({
            "name": "web",
            "memory_mb": 2048,
            "cores": 2,
            "storage_pool": "local-zfs",
            "storage_size_gb": 8,
            "network_config": {"name": "eth0", "bridge": "vmbr0", "ip": "10.0.0.51/24", "gw": "10.0.0.1"},
            "lxc_options": ["lxc.apparmor.profile=unconfined"]
        });
        if let (Some(entry), Value::Object(fields)) = (entry.as_object_mut(), fields) {
            entry.extend(fields);
        }
        entry
    };
    let lxc = json!({
        "lxc_configs": {
            "900": container(json!({
                "name": "template",
                "template": "local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst",
                "network_config": {"name": "eth0", "bridge": "vmbr0", "ip": "10.0.0.90/24", "gw": "10.0.0.1"},
                "features": ["base_setup"]
            })),
            "101": container(json!({
                "clone_from_ctid": "900",
                "pct_options": ["nesting=1"],
                "volumes": [{"pool": "local-zfs", "size_gb": 10, "mount_point": "/data"}]
            }))
        }
    });
    (hypervisor, lxc)
}

/// Which config file a case's error is in.
#[derive(Debug, Clone, Copy)]
enum In {
    Hypervisor,
    Lxc,
}

/// How a case makes its config: the path given to `--config`, and the file the error names.
type Setup = Box<dyn Fn(&Scratch) -> (PathBuf, PathBuf)>;

struct Case {
    name: &'static str,
    setup: Setup,
    /// What stderr says right after the file's name: ` at <JSON path>: ` (after the line and
    /// column), or `:<line>:` or `: ` for a problem of the file itself.
    located: String,
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).expect("JSON")
}

/// Writes both files of the config directory; `text` replaces the one `into` names.
fn write_dir(scratch: &Scratch, into: In, text: Option<String>) -> (PathBuf, PathBuf) {
    let (hypervisor, lxc) = base();
    let dir = scratch.config_dir();
    std::fs::create_dir_all(&dir).expect("config dir");
    let (mut hypervisor_text, mut lxc_text) = (pretty(&hypervisor), pretty(&lxc));
    match (into, text) {
        (In::Hypervisor, Some(text)) => hypervisor_text = text,
        (In::Lxc, Some(text)) => lxc_text = text,
        (_, None) => {}
    }
    std::fs::write(dir.join(HYPERVISOR), hypervisor_text).expect("write");
    std::fs::write(dir.join(LXC), lxc_text).expect("write");
    let named = dir.join(match into {
        In::Hypervisor => HYPERVISOR,
        In::Lxc => LXC,
    });
    (dir, named)
}

/// A case that edits the base config's JSON.
fn edit(name: &'static str, into: In, path: &str, change: impl Fn(&mut Value) + 'static) -> Case {
    Case {
        name,
        setup: Box::new(move |scratch| {
            let (mut hypervisor, mut lxc) = base();
            let value = match into {
                In::Hypervisor => &mut hypervisor,
                In::Lxc => &mut lxc,
            };
            change(value);
            write_dir(scratch, into, Some(pretty(value)))
        }),
        located: format!(" at {path}: "),
    }
}

/// A dependency cycle names each resource's entry as `<path> (<id>)`.
fn cycle(case: Case, id: &str) -> Case {
    let path = case.located.trim_end_matches(": ").to_owned();
    Case {
        located: format!("{path} ({id})"),
        ..case
    }
}

/// A case whose file is text (duplicate keys, nesting, bytes that JSON values cannot express).
fn text(name: &'static str, into: In, located: &str, make: impl Fn() -> Vec<u8> + 'static) -> Case {
    Case {
        name,
        setup: Box::new(move |scratch| {
            let (dir, named) = write_dir(scratch, into, None);
            std::fs::write(&named, make()).expect("write");
            (dir, named)
        }),
        located: located.to_owned(),
    }
}

/// A case whose `--config` is something other than a directory of regular files.
fn special(
    name: &'static str,
    located: &str,
    make: impl Fn(&Scratch) -> (PathBuf, PathBuf) + 'static,
) -> Case {
    Case {
        name,
        setup: Box::new(make),
        located: located.to_owned(),
    }
}

/// Makes a FIFO through `LocalHost`, the one place that spawns processes.
fn mkfifo(path: &Path) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let cmd = phoenix_core::Cmd::write("mkfifo", [arg(path)]);
    let output = runtime
        .block_on(phoenix_core::LocalHost::new().run(&cmd))
        .expect("mkfifo runs");
    assert!(output.success(), "mkfifo: {}", output.stderr);
}

fn ct<'a>(value: &'a mut Value, id: &str) -> &'a mut Value {
    &mut value["lxc_configs"][id]
}

fn base_text(into: In) -> String {
    let (hypervisor, lxc) = base();
    pretty(match into {
        In::Hypervisor => &hypervisor,
        In::Lxc => &lxc,
    })
}

fn strings() -> Vec<Case> {
    let huge = "x".repeat(1 << 20);
    let huge_option = format!("lxc.apparmor.profile={huge}");
    vec![
        edit(
            "newline in an lxc option adds a line",
            In::Lxc,
            r#"lxc_configs."101".lxc_options[0]"#,
            |v| {
                ct(v, "101")["lxc_options"][0] =
                    json!("lxc.apparmor.profile=unconfined\nlxc.cap.drop=");
            },
        ),
        edit(
            "newline in an lxc option adds a snapshot section",
            In::Lxc,
            r#"lxc_configs."101".lxc_options[0]"#,
            |v| {
                ct(v, "101")["lxc_options"][0] = json!("lxc.a=b\n[final-form]\nmemory: 1");
            },
        ),
        edit(
            "newline in a file path forges plan lines",
            In::Hypervisor,
            "files[0].path",
            |v| {
                v["files"][0]["path"] =
                    json!("/etc/x]  (create)\n\nPlan: 0 to create, 0 to update");
            },
        ),
        edit("ESC in a file path", In::Hypervisor, "files[0].path", |v| {
            v["files"][0]["path"] = json!("/etc/\u{1b}[2J\u{1b}[31mmotd");
        }),
        edit(
            "ESC in a file's content",
            In::Hypervisor,
            "files[0].content",
            |v| {
                v["files"][0]["content"] = json!("hello \u{1b}]0;owned\u{7}\n");
            },
        ),
        edit(
            "carriage return in a file's content",
            In::Hypervisor,
            "files[0].content",
            |v| {
                v["files"][0]["content"] = json!("safe\rPlan: 0 to change\n");
            },
        ),
        edit(
            "NUL in a hostname",
            In::Lxc,
            r#"lxc_configs."101".name"#,
            |v| {
                ct(v, "101")["name"] = json!("web\u{0}x");
            },
        ),
        edit(
            "bidirectional override in a hostname",
            In::Lxc,
            r#"lxc_configs."101".name"#,
            |v| {
                ct(v, "101")["name"] = json!("web\u{202e}txt");
            },
        ),
        edit(
            "semicolon in a hostname",
            In::Lxc,
            r#"lxc_configs."101".name"#,
            |v| {
                ct(v, "101")["name"] = json!("web;reboot");
            },
        ),
        edit(
            "$( ) in a bridge",
            In::Lxc,
            r#"lxc_configs."101".network_config.bridge"#,
            |v| {
                ct(v, "101")["network_config"]["bridge"] = json!("vmbr0$(reboot)");
            },
        ),
        edit(
            "backticks in a storage",
            In::Lxc,
            r#"lxc_configs."101".storage_pool"#,
            |v| {
                ct(v, "101")["storage_pool"] = json!("local`id`");
            },
        ),
        edit(
            "tab in a gateway",
            In::Lxc,
            r#"lxc_configs."101".network_config.gw"#,
            |v| {
                ct(v, "101")["network_config"]["gw"] = json!("10.0.0.1\t");
            },
        ),
        edit(
            "newline in a snapshot name",
            In::Lxc,
            r#"lxc_configs."900".template_snapshot_name"#,
            |v| {
                ct(v, "900")["template_snapshot_name"] = json!("final-form\n[x]");
            },
        ),
        edit(
            "ESC in a key",
            In::Lxc,
            r#"lxc_configs."101"."na\u001bme""#,
            |v| {
                ct(v, "101")["na\u{1b}me"] = json!(1);
            },
        ),
        edit(
            "newline in a dataset property",
            In::Hypervisor,
            "zfs.datasets[0].properties",
            |v| {
                v["zfs"]["datasets"][0]["properties"] = json!("compression=lz4\nquota=1");
            },
        ),
        edit(
            "a 1 MB hostname",
            In::Lxc,
            r#"lxc_configs."101".name"#,
            move |v| {
                ct(v, "101")["name"] = json!(huge);
            },
        ),
        edit(
            "a 1 MB lxc option",
            In::Lxc,
            r#"lxc_configs."101".lxc_options[0]"#,
            move |v| {
                ct(v, "101")["lxc_options"][0] =
                    json!(huge_option.replace("lxc.apparmor.profile=", "lxc.apparmor profile="));
            },
        ),
        edit("a 1 MB file mode", In::Hypervisor, "files[0].mode", |v| {
            v["files"][0]["mode"] = json!("7".repeat(1 << 20));
        }),
        edit(
            "a 1 MB string for a number",
            In::Lxc,
            r#"lxc_configs."101".memory_mb"#,
            |v| {
                ct(v, "101")["memory_mb"] = json!("9".repeat(1 << 20));
            },
        ),
        edit(
            "a 1 MB pool name",
            In::Hypervisor,
            "zfs.pools[0].name",
            |v| {
                v["zfs"]["pools"][0]["name"] = json!("p".repeat(1 << 20));
            },
        ),
        Case {
            located: format!(" at lxc_configs.\"101\".\"{}\"…: ", "k".repeat(64)),
            ..edit("a 1 MB key", In::Lxc, "", |v| {
                ct(v, "101")["k".repeat(1 << 20)] = json!(1);
            })
        },
        edit(
            "lxc key outside the grammar",
            In::Lxc,
            r#"lxc_configs."101".lxc_options[0]"#,
            |v| {
                ct(v, "101")["lxc_options"][0] = json!("lxc.$(reboot)=1");
            },
        ),
        edit(
            "raw conf key as an lxc option",
            In::Lxc,
            r#"lxc_configs."101".lxc_options[0]"#,
            |v| {
                ct(v, "101")["lxc_options"][0] = json!("memory: 1");
            },
        ),
    ]
}

fn property_strings() -> Vec<Case> {
    let rule = |field: &str, value: &str| {
        let mut rule = json!({"type": "in", "action": "ACCEPT", "proto": "tcp", "port": "22"});
        rule[field] = json!(value);
        json!({"enabled": true, "rules": [rule]})
    };
    vec![
        edit(
            "firewall port spliced with a second option",
            In::Lxc,
            r#"lxc_configs."101".firewall.rules[0].port"#,
            move |v| ct(v, "101")["firewall"] = rule("port", "22 -source 0.0.0.0/0"),
        ),
        edit(
            "firewall source spliced with a destination",
            In::Lxc,
            r#"lxc_configs."101".firewall.rules[0].source"#,
            move |v| ct(v, "101")["firewall"] = rule("source", "10.0.0.1 -dest 0.0.0.0/0"),
        ),
        edit(
            "firewall comment with a second rule on a new line",
            In::Lxc,
            r#"lxc_configs."101".firewall.rules[0].comment"#,
            move |v| ct(v, "101")["firewall"] = rule("comment", "ok\nIN ACCEPT"),
        ),
        edit(
            "cluster policy spliced with an option",
            In::Hypervisor,
            "firewall.default_input_policy",
            |v| {
                v["firewall"] =
                    json!({"enabled": true, "default_input_policy": "ACCEPT enable: 0"});
            },
        ),
        edit(
            "bridge spliced with ip=",
            In::Lxc,
            r#"lxc_configs."101".network_config.bridge"#,
            |v| {
                ct(v, "101")["network_config"]["bridge"] = json!("vmbr0,ip=1.2.3.4/24");
            },
        ),
        edit(
            "interface name spliced with gw=",
            In::Lxc,
            r#"lxc_configs."101".network_config.name"#,
            |v| {
                ct(v, "101")["network_config"]["name"] = json!("eth0,gw=1.1.1.1");
            },
        ),
        edit(
            "ip spliced with gw=",
            In::Lxc,
            r#"lxc_configs."101".network_config.ip"#,
            |v| {
                ct(v, "101")["network_config"]["ip"] = json!("10.0.0.51/24,gw=1.1.1.1");
            },
        ),
        edit(
            "mac spliced with ;",
            In::Lxc,
            r#"lxc_configs."101".mac_address"#,
            |v| {
                ct(v, "101")["mac_address"] = json!("52:54:00:aa:bb:cc;x");
            },
        ),
        edit(
            "host path spliced with mp=",
            In::Hypervisor,
            "shared_volumes.models.host_path",
            |v| {
                v["shared_volumes"]["models"]["host_path"] = json!("/x,mp=/root");
            },
        ),
        edit(
            "mount point spliced with backup=",
            In::Lxc,
            r#"lxc_configs."101".volumes[0].mount_point"#,
            |v| {
                ct(v, "101")["volumes"][0]["mount_point"] = json!("/data,backup=0");
            },
        ),
        edit(
            "volume storage spliced with a size",
            In::Lxc,
            r#"lxc_configs."101".volumes[0].pool"#,
            |v| {
                ct(v, "101")["volumes"][0]["pool"] = json!("local-zfs:999");
            },
        ),
        edit(
            "pct feature spliced with another",
            In::Lxc,
            r#"lxc_configs."101".pct_options[0]"#,
            |v| {
                ct(v, "101")["pct_options"][0] = json!("nesting=1,mknod=1");
            },
        ),
        edit(
            "template spliced with rootfs=",
            In::Lxc,
            r#"lxc_configs."900".template"#,
            |v| {
                ct(v, "900")["template"] = json!("local:vztmpl/t.tar.zst,rootfs=x");
            },
        ),
    ]
}

fn paths_and_sizes() -> Vec<Case> {
    vec![
        edit(
            ".. in a mount point",
            In::Lxc,
            r#"lxc_configs."101".volumes[0].mount_point"#,
            |v| {
                ct(v, "101")["volumes"][0]["mount_point"] = json!("/srv/../root");
            },
        ),
        edit(
            ".. in a shared mount point",
            In::Hypervisor,
            r#"shared_volumes.models.mounts."101""#,
            |v| {
                v["shared_volumes"]["models"]["mounts"]["101"] = json!("/models/../../etc");
            },
        ),
        edit(".. in a file path", In::Hypervisor, "files[0].path", |v| {
            v["files"][0]["path"] = json!("/etc/../root/.ssh/authorized_keys");
        }),
        edit(
            "a relative file path",
            In::Hypervisor,
            "files[0].path",
            |v| {
                v["files"][0]["path"] = json!("etc/motd");
            },
        ),
        edit(
            ".. in a pool disk",
            In::Hypervisor,
            "zfs.pools[0].disks[0]",
            |v| {
                v["zfs"]["pools"][0]["disks"][0] = json!("/dev/../etc/passwd");
            },
        ),
        edit(
            "/etc/motd and /etc/./motd",
            In::Hypervisor,
            "files[1]",
            |v| {
                v["files"][1]["path"] = json!("/etc/./motd/");
            },
        ),
        edit(
            "memory_mb 0",
            In::Lxc,
            r#"lxc_configs."101".memory_mb"#,
            |v| {
                ct(v, "101")["memory_mb"] = json!(0);
            },
        ),
        edit("cores 0", In::Lxc, r#"lxc_configs."101".cores"#, |v| {
            ct(v, "101")["cores"] = json!(0);
        }),
        edit(
            "storage_size_gb 0",
            In::Lxc,
            r#"lxc_configs."101".storage_size_gb"#,
            |v| {
                ct(v, "101")["storage_size_gb"] = json!(0);
            },
        ),
        edit(
            "volume size 0",
            In::Lxc,
            r#"lxc_configs."101".volumes[0].size_gb"#,
            |v| {
                ct(v, "101")["volumes"][0]["size_gb"] = json!(0);
            },
        ),
        edit(
            "more mounts than slots",
            In::Lxc,
            r#"lxc_configs."101""#,
            |v| {
                ct(v, "101")["volumes"] = (0..300)
                .map(|n| json!({"pool": "local-zfs", "size_gb": 1, "mount_point": format!("/m{n}")}))
                .collect();
            },
        ),
        edit(
            "a clone of a failed container",
            In::Lxc,
            r#"lxc_configs."900".name"#,
            |v| {
                ct(v, "900")["name"] = json!("bad_name");
            },
        ),
        edit(
            "a clone parent that is not declared",
            In::Lxc,
            r#"lxc_configs."101".clone_from_ctid"#,
            |v| {
                ct(v, "101")["clone_from_ctid"] = json!("950");
            },
        ),
        edit(
            "a misspelt key",
            In::Lxc,
            r#"lxc_configs."101".memroy_mb"#,
            |v| {
                ct(v, "101")["memroy_mb"] = json!(1);
            },
        ),
        cycle(
            edit(
                "containers that depend on each other",
                In::Lxc,
                r#"lxc_configs."101""#,
                |v| {
                    ct(v, "900")["dependencies"] = json!([101]);
                },
            ),
            "lxc.container[101]",
        ),
        cycle(
            edit(
                "files that depend on each other",
                In::Hypervisor,
                "files[0]",
                |v| {
                    v["files"][0]["depends_on"] = json!(["file[/etc/phoenix/phoenix.env]"]);
                    v["files"][1]["depends_on"] = json!(["file[/etc/motd]"]);
                },
            ),
            "file[/etc/motd]",
        ),
    ]
}

fn files() -> Vec<Case> {
    vec![
        text(
            "a second mode",
            In::Hypervisor,
            " at files[0].mode: duplicate key",
            || {
                base_text(In::Hypervisor)
                    .replacen(
                        "\"mode\": \"0644\"",
                        "\"mode\": \"0644\", \"mode\": \"4777\"",
                        1,
                    )
                    .into_bytes()
            },
        ),
        text(
            "a second files key",
            In::Hypervisor,
            " at files: duplicate key",
            || {
                base_text(In::Hypervisor)
                    .replacen('{', "{\n  \"files\": [],", 1)
                    .into_bytes()
            },
        ),
        text(
            "a second container 101",
            In::Lxc,
            r#" at lxc_configs."101": duplicate key"#,
            || {
                base_text(In::Lxc)
                    .replacen(
                        "\"lxc_configs\": {",
                        "\"lxc_configs\": {\n    \"101\": {},",
                        1,
                    )
                    .into_bytes()
            },
        ),
        text("10,000 nested arrays", In::Hypervisor, ":1:", || {
            format!(
                "{{\"files\": {}{}}}",
                "[".repeat(10_000),
                "]".repeat(10_000)
            )
            .into_bytes()
        }),
        text("Latin-1 bytes", In::Lxc, ":2:", || {
            let mut bytes = b"{\n  \"lxc_configs\": {\"101\": {\"name\": \"caf".to_vec();
            bytes.extend_from_slice(b"\xe9\"}}\n}\n");
            bytes
        }),
        special(
            "/dev/zero as the config",
            ": cannot read: it is a character device",
            |_| (PathBuf::from("/dev/zero"), PathBuf::from("/dev/zero")),
        ),
        special(
            "a FIFO as the config",
            ": cannot read: it is a FIFO",
            |scratch| {
                let fifo = scratch.path().join("fifo.json");
                mkfifo(&fifo);
                (fifo.clone(), fifo)
            },
        ),
        special(
            "a link to a FIFO inside the config dir",
            ": cannot read: it is a FIFO",
            |scratch| {
                let (dir, named) = write_dir(scratch, In::Lxc, None);
                let fifo = scratch.path().join("fifo");
                mkfifo(&fifo);
                std::fs::remove_file(&named).expect("remove");
                std::os::unix::fs::symlink(&fifo, &named).expect("symlink");
                (dir, named)
            },
        ),
        special(
            "a link to /dev/zero inside the config dir",
            ": cannot read: it is a character device",
            |scratch| {
                let (dir, named) = write_dir(scratch, In::Hypervisor, None);
                std::fs::remove_file(&named).expect("remove");
                std::os::unix::fs::symlink("/dev/zero", &named).expect("symlink");
                (dir, named)
            },
        ),
        special(
            "a dangling link",
            ": cannot read: it is a dangling symbolic link to /nowhere/lxc.json",
            |scratch| {
                let (dir, named) = write_dir(scratch, In::Lxc, None);
                std::fs::remove_file(&named).expect("remove");
                std::os::unix::fs::symlink("/nowhere/lxc.json", &named).expect("symlink");
                (dir, named)
            },
        ),
    ]
}

/// Whether a line of `stderr` names `file`, then optionally `:line:column`, then `located`.
fn names(stderr: &str, file: &str, located: &str) -> bool {
    stderr.lines().any(|line| {
        line.match_indices(file).any(|(at, _)| {
            let rest = &line[at + file.len()..];
            let after_position = rest
                .strip_prefix(':')
                .and_then(|r| r.split_once(':'))
                .and_then(|(line_number, r)| {
                    let column_end = r.find(|c: char| !c.is_ascii_digit())?;
                    let all_digits = !line_number.is_empty()
                        && line_number.bytes().all(|b| b.is_ascii_digit())
                        && column_end > 0;
                    all_digits.then_some(&r[column_end..])
                });
            rest.starts_with(located) || after_position.is_some_and(|r| r.starts_with(located))
        })
    })
}

/// What went wrong with one case, if anything: `(accepted, state changed, other problems)`.
fn run_case(case: &Case) -> (bool, bool, Vec<String>) {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    let before = scratch.state_bytes();
    let (config, named) = (case.setup)(&scratch);
    let file = named.display().to_string();
    let (mut accepted, mut changed, mut problems) = (false, false, Vec::new());
    for extra in [&[][..], &["--yes"][..]] {
        let command = if extra.is_empty() { "plan" } else { "apply" };
        let ran = on(&scratch, command, &config, extra);
        accepted |= ran.code != 1;
        changed |= scratch.state_bytes() != before;
        let stderr = ran.stderr.as_str();
        if !names(stderr, &file, &case.located) {
            let located = &case.located;
            problems.push(format!("{command}: stderr does not name {file}{located:?}"));
        }
        if stderr.contains(['\u{1b}', '\0', '\r', '\u{202e}']) {
            problems.push(format!("{command}: stderr holds a raw control character"));
        }
        if let Some(line) = stderr.lines().find(|line| {
            !["error: ", "warning: ", "note: "]
                .iter()
                .any(|start| line.starts_with(start))
        }) {
            problems.push(format!(
                "{command}: a line that is no diagnostic: {line:.80?}"
            ));
        }
        if stderr.len() > 16 * 1024 {
            problems.push(format!("{command}: {} bytes of stderr", stderr.len()));
        }
        if !ran.stdout.is_empty() {
            problems.push(format!(
                "{command}: something was planned: {:.200}",
                ran.stdout
            ));
        }
        if !problems.is_empty() {
            problems.push(format!("stderr was: {:.600}", stderr));
            break;
        }
    }
    (accepted, changed, problems)
}

#[test]
#[expect(
    clippy::print_stdout,
    reason = "the suite prints its counts, shown by the CI step that runs suite_* tests"
)]
fn suite_hostile() {
    // The base config is valid, so each case is refused for its own edit.
    let scratch = Scratch::new();
    let (config, _) = write_dir(&scratch, In::Lxc, None);
    let ran = phoenix(&["validate", "--config", arg(&config)]);
    assert_eq!(ran.code, 0, "the base config is valid: {}", ran.stderr);

    let cases: Vec<Case> = [strings(), property_strings(), paths_and_sizes(), files()]
        .into_iter()
        .flatten()
        .collect();
    let (mut n_rejected, mut n_accepted, mut n_changed) = (0, 0, 0);
    let mut failures = Vec::new();
    for case in &cases {
        let (accepted, changed, problems) = run_case(case);
        n_accepted += usize::from(accepted);
        n_changed += usize::from(changed);
        if !accepted && !changed && problems.is_empty() {
            n_rejected += 1;
        } else {
            failures.push(format!(
                "case {:?}: accepted={accepted} state changed={changed}\n  {}",
                case.name,
                problems.join("\n  ")
            ));
        }
    }
    println!(
        "suite hostile: {n_rejected} cases rejected, {n_accepted} accepted, {n_changed} state changes"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(cases.len() >= 62, "only {} cases", cases.len());
}
