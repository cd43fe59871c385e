//! Suite: `kill -9` of the real `phoenix` binary during an apply of `examples/lab` on a simulated
//! node's state file.
//!
//! The kill points are spread evenly over the time an uninterrupted apply takes (measured first,
//! on this machine), plus kills aimed at the state write itself (the moment the run's temporary
//! state file appears). After each kill the state file is still valid JSON (never torn), the next
//! apply takes the dead run's lock over and converges to the node of a clean converge, the plan
//! is then empty, and no temporary file is left beside the state.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant};

use phoenix_core::host::Running;
use phoenix_core::sim::SimState;
use phoenix_core::{Cmd, LocalHost};
use serde_json::Value;

use crate::suite_faults::{first_difference, node_of};
use crate::support::{Scratch, arg, lab, on};

/// The real binary: phoenix-cli's `main.rs`, built by this crate.
const PHOENIX: &str = env!("CARGO_BIN_EXE_phoenix-under-test");

/// Kill points spread over the apply's duration.
const TIMED_KILLS: u32 = 24;
/// Kills aimed at the state write.
const WRITE_KILLS: u32 = 6;

/// Where a kill landed.
#[derive(Debug, Default)]
struct Tally {
    kills: u32,
    survived: u32,
    before_write: u32,
    during_write: u32,
    after_write: u32,
    exited_first: u32,
}

#[test]
#[expect(
    clippy::print_stdout,
    reason = "the suite prints its counts, shown by the CI step that runs suite_* tests"
)]
fn suite_kills() {
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    let config = lab();
    let config = arg(&config).to_owned();
    let (duration, clean) = rt.block_on(measure(&config));
    let mut tally = Tally::default();
    for i in 1..=TIMED_KILLS {
        let delay = duration * i / (TIMED_KILLS + 1);
        kill_case(&rt, &config, Aim::After(delay), &clean, &mut tally);
    }
    for _ in 0..WRITE_KILLS {
        kill_case(&rt, &config, Aim::StateWrite, &clean, &mut tally);
    }
    println!(
        "suite kills: {} kills, {} survived ({} before the state write, {} during it, {} after it; {} runs exited before their kill)",
        tally.kills,
        tally.survived,
        tally.before_write,
        tally.during_write,
        tally.after_write,
        tally.exited_first
    );
    assert_eq!(tally.kills, tally.survived);
    assert!(tally.kills >= 20, "{tally:?}");
}

/// When to kill.
#[derive(Debug, Clone, Copy)]
enum Aim {
    /// This long after the start.
    After(Duration),
    /// As soon as the run's temporary state file appears.
    StateWrite,
}

/// Starts `phoenix apply` of `config` on the scratch node.
async fn start(config: &str, scratch: &Scratch) -> Running {
    let target = scratch.target();
    let cmd = Cmd::write(
        PHOENIX,
        [
            "apply", "--config", config, "--target", &target, "--yes", "--json",
        ],
    );
    LocalHost::new().start(&cmd).await.expect("phoenix starts")
}

/// How long an uninterrupted apply takes here, and the node it converges to.
async fn measure(config: &str) -> (Duration, Value) {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    let started = Instant::now();
    let output = start(config, &scratch)
        .await
        .finish()
        .await
        .expect("phoenix runs");
    let duration = started.elapsed();
    assert_eq!(output.status, Some(0), "{}", output.stderr);
    (duration, node_of(&scratch.state()))
}

/// One kill, then the checks and the recovery (the in-process CLI runs its own runtime, so only
/// the process is driven on `rt`).
fn kill_case(
    rt: &tokio::runtime::Runtime,
    config: &str,
    aim: Aim,
    clean: &Value,
    tally: &mut Tally,
) {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    let seeded = scratch.state_bytes();
    let output = rt.block_on(async {
        let mut running = start(config, &scratch).await;
        let pid = running.id().expect("running");
        let temp = scratch.path().join(format!(".state.json.tmp-{pid}"));
        match aim {
            Aim::After(delay) => tokio::time::sleep(delay).await,
            Aim::StateWrite => {
                // Until the temporary file appears, or the state was replaced (the write was too
                // quick to be seen: the run is past it, and may be blocked writing its report to
                // the pipe nobody reads yet), or the run ended.
                let state = scratch.state_file();
                let inode = |path: &Path| std::fs::metadata(path).map(|m| m.ino()).ok();
                let seeded = inode(&state);
                while !temp.exists() && inode(&state) == seeded && !exited(pid) {
                    tokio::task::yield_now().await;
                }
            }
        }
        running.kill().expect("kill -9");
        running.finish().await.expect("reaped")
    });
    let temp_left = leftovers(scratch.path())
        .iter()
        .any(|name| name.starts_with(".state.json.tmp-"));
    tally.kills += 1;
    if output.status.is_some() {
        tally.exited_first += 1;
    }
    // Never torn: the state file is always a whole state.
    let text = std::fs::read_to_string(scratch.state_file()).expect("the state file exists");
    let state: SimState = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{aim:?}: the state file is torn: {e}"));
    if temp_left {
        tally.during_write += 1;
    } else if text.as_bytes() == seeded.as_slice() {
        tally.before_write += 1;
    } else {
        assert!(state.run > 0);
        tally.after_write += 1;
    }
    let ran = on(&scratch, "apply", config, &["--yes"]);
    assert_eq!(ran.code, 0, "{aim:?}: the next apply: {}", ran.stderr);
    let ran = on(&scratch, "plan", config, &["--detailed-exitcode"]);
    assert_eq!(ran.code, 0, "{aim:?}: the plan after: {}", ran.stdout);
    let node = node_of(&scratch.state());
    assert!(
        node == *clean,
        "{aim:?}: the node after recovery differs from a clean converge: {}",
        first_difference(clean, &node, String::new())
    );
    let temps: Vec<String> = leftovers(scratch.path())
        .into_iter()
        .filter(|name| name.contains(".tmp-"))
        .collect();
    assert_eq!(
        temps,
        Vec::<String>::new(),
        "{aim:?}: no temporary file is left"
    );
    tally.survived += 1;
}

/// Whether process `pid` has exited (it is a zombie until reaped, or gone).
fn exited(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| {
        stat.rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z'))
    })
}

/// The names in the scratch directory.
fn leftovers(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("ls")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}
