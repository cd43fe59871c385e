//! The `zfs` emulator against the readback matrix (`props::rows`): every row is replayed on the
//! simulated node exactly as `xtask/testbed/readback.sh` ran it on the real testbed, and the
//! emulator must answer what real OpenZFS 2.3 answered: the exit status, the value `zfs get`
//! reads back and its source, or the error text.

use phoenix_core::Cmd;
use phoenix_core::host::Host;
use phoenix_core::sim::{SimNode, SimState};
use serde_json::json;

use crate::props::{Row, Scope, rows};

const POOL: &str = "phoenixreadback";
const DISK: &str = "/dev/disk/by-id/virtio-phoenix-readback";

/// One command's result.
struct Ran {
    status: i32,
    stdout: String,
    stderr: String,
}

async fn run(node: &SimNode, argv: &[&str], stdin: Option<&str>) -> Ran {
    let (program, args) = argv.split_first().expect("a program");
    let mut cmd = Cmd::write(program, args.iter().copied());
    if let Some(stdin) = stdin {
        cmd = cmd.stdin(stdin);
    }
    let output = node.run(&cmd).await.expect("the node runs it");
    Ran {
        status: output.status.expect("an exit status"),
        stdout: output.stdout,
        stderr: output.stderr,
    }
}

/// The node after the script's set-up: the pool made with every `pool-create` and
/// `root-create` row, and an encryption root.
async fn node() -> SimNode {
    let mut state = SimState::new();
    state.tools.insert(
        "disks".to_owned(),
        json!({DISK: {"size": 68_719_476_736_u64, "serial": "phoenix-readback", "transport": "virtio",
                      "kernel_name": "vdf", "signatures": []}}),
    );
    let node = SimNode::from_state(state, crate::sim::emulators()).expect("a valid node");
    let mut create = vec!["zpool".to_owned(), "create".to_owned()];
    for row in rows() {
        let flag = match row.scope {
            Scope::PoolCreate => "-o",
            Scope::RootCreate => "-O",
            _ => continue,
        };
        create.push(flag.to_owned());
        create.push(format!("{}={}", row.property, row.value));
    }
    create.extend([POOL.to_owned(), DISK.to_owned()]);
    let argv: Vec<&str> = create.iter().map(String::as_str).collect();
    let ran = run(&node, &argv, None).await;
    assert_eq!(ran.status, 0, "{}", ran.stderr);
    let enc = format!("{POOL}/enc");
    let ran = run(
        &node,
        &[
            "zfs",
            "create",
            "-o",
            "encryption=on",
            "-o",
            "keyformat=passphrase",
            "-o",
            "keylocation=prompt",
            &enc,
        ],
        Some("phoenix-readback-passphrase"),
    )
    .await;
    assert_eq!(ran.status, 0, "{}", ran.stderr);
    node
}

/// An error as the script records it: on one line, tabs and newlines as spaces, trailing
/// spaces dropped.
fn one_line(text: &str) -> String {
    text.replace(['\t', '\n'], " ")
        .trim_end_matches(' ')
        .to_owned()
}

/// Replays row number `n` (from 1) and returns what the script would have written for it.
async fn replay(node: &SimNode, n: usize, row: &Row) -> (i32, String, String) {
    let pair = format!("{}={}", row.property, row.value);
    let mut dataset = format!("{POOL}/t{n}");
    let steps: Vec<Vec<&str>> = match row.scope {
        Scope::Fs => vec![
            vec!["zfs", "create", &dataset],
            vec!["zfs", "set", &pair, &dataset],
        ],
        Scope::Vol => vec![
            vec!["zfs", "create", "-V", "64M", &dataset],
            vec!["zfs", "set", &pair, &dataset],
        ],
        Scope::FsCreate => vec![vec!["zfs", "create", "-o", &pair, &dataset]],
        Scope::VolCreate => vec![vec!["zfs", "create", "-V", "64M", "-o", &pair, &dataset]],
        Scope::EncCreate => {
            dataset = format!("{POOL}/enc/t{n}");
            vec![vec!["zfs", "create", "-o", &pair, &dataset]]
        }
        Scope::PoolCreate | Scope::RootCreate => Vec::new(),
        Scope::Pool => vec![vec!["zpool", "set", &pair, POOL]],
    };
    let mut errors = String::new();
    for step in &steps {
        let ran = run(node, step, None).await;
        errors.push_str(&ran.stdout);
        errors.push_str(&ran.stderr);
        if ran.status != 0 {
            return (ran.status, one_line(&errors), "-".to_owned());
        }
    }
    let (tool, object) = match row.scope {
        Scope::PoolCreate | Scope::Pool => ("zpool", POOL),
        Scope::RootCreate => ("zfs", POOL),
        _ => ("zfs", dataset.as_str()),
    };
    let get = [
        tool,
        "get",
        "-H",
        "-p",
        "-o",
        "name,property,value,source",
        row.property,
        object,
    ];
    let ran = run(node, &get, None).await;
    let fields: Vec<&str> = ran.stdout.trim_end_matches('\n').split('\t').collect();
    let (value, source) = match fields[..] {
        [_, _, value, source] => (value.to_owned(), source.to_owned()),
        _ => (format!("? {}{}", ran.stdout, ran.stderr), String::new()),
    };
    // The script destroys each scratch dataset; the emulator has no `zfs destroy`, and as every
    // row has a dataset of its own, leaving them changes no answer.
    (0, value, source)
}

#[tokio::test]
async fn issue_14_the_emulator_reads_back_what_real_zfs_reads_back() {
    let node = node().await;
    let mut mismatches = Vec::new();
    for (index, row) in rows().iter().enumerate() {
        let got = replay(&node, index + 1, row).await;
        let want = (row.exit, row.readback.to_owned(), row.source.to_owned());
        if got != want {
            mismatches.push(format!(
                "{:?} {}={}: emulated {got:?}, real {want:?}",
                row.scope, row.property, row.value
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} rows differ:\n{}",
        mismatches.len(),
        rows().len(),
        mismatches.join("\n")
    );
}
