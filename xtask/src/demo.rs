//! `cargo xtask demo`: converges the shipped example on a simulated node and shows idempotence.
//!
//! The demo builds `phoenix`, copies the example's simulated node state (if the example ships one)
//! to a scratch file under the target directory, then runs `plan`, `apply --yes` and a second
//! `plan --detailed-exitcode`, which must report no changes, and shows the simulated node's audit
//! of that last run. Only the scratch file is written, so the demo never modifies tracked files.

use std::env;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::Output;

use xshell::{Shell, cmd};

use crate::{Result, project_root, target_dir};

/// The example configuration the README's main job converges.
const CONFIG_DIR: &str = "examples/lab";

/// The simulated node state the example starts from; without it the node starts empty.
const SEED_STATE: &str = "examples/lab/sim-state.json";

/// The exit code of `phoenix plan --detailed-exitcode` when changes are pending.
const EXIT_CHANGES_PENDING: i32 = 2;

/// Runs the demo from the workspace root; fails if the second plan is not empty.
pub(crate) fn run(sh: &Shell) -> Result<()> {
    if !sh.path_exists(CONFIG_DIR) {
        return Err(format!("the example configuration `{CONFIG_DIR}` does not exist").into());
    }

    banner("build phoenix");
    cmd!(sh, "cargo build -q -p phoenix-cli").run()?;
    let phoenix = target_dir()
        .join("debug")
        .join(format!("phoenix{}", env::consts::EXE_SUFFIX));

    let state = prepare_scratch_state(sh)?;
    let target = format!("sim:{}", display_path(&state));

    banner("plan: what would change on the simulated node");
    cmd!(sh, "{phoenix} plan --config {CONFIG_DIR} --target {target}").run()?;

    banner("apply");
    cmd!(
        sh,
        "{phoenix} apply --config {CONFIG_DIR} --target {target} --yes"
    )
    .run()?;

    banner("plan again: must be empty");
    let replan = cmd!(
        sh,
        "{phoenix} plan --config {CONFIG_DIR} --target {target} --detailed-exitcode"
    )
    .ignore_status();
    eprintln!("$ {replan}");
    let output = replan.output()?;
    echo(&output)?;
    match output.status.code() {
        Some(0) => println!("second plan is empty: converged"),
        Some(EXIT_CHANGES_PENDING) => {
            return Err("second plan is not empty: apply did not converge the simulated node (plan --detailed-exitcode exited 2)".into());
        }
        _ => return Err(format!("second plan failed: phoenix {}", output.status).into()),
    }

    // The last run is the second plan: its audit shows that converging left nothing to mutate.
    banner("audit of the last run (the second plan)");
    let audit = cmd!(sh, "{phoenix} sim-audit --target {target} --run last").run();
    if let Err(err) = audit {
        eprintln!("xtask demo: warning: could not show the audit summary: {err}");
    }
    Ok(())
}

/// Recreates the scratch state file from the seed, or leaves it absent when there is no seed.
fn prepare_scratch_state(sh: &Shell) -> Result<PathBuf> {
    let scratch_dir = target_dir().join("phoenix-demo");
    sh.remove_path(&scratch_dir)?;
    sh.create_dir(&scratch_dir)?;
    let state = scratch_dir.join("state.json");
    if sh.path_exists(SEED_STATE) {
        sh.copy_file(SEED_STATE, &state)?;
        eprintln!(
            "xtask demo: simulated node seeded from {SEED_STATE} into {}",
            display_path(&state)
        );
    } else {
        eprintln!("xtask demo: {SEED_STATE} does not exist; the simulated node starts empty");
    }
    Ok(state)
}

/// The path relative to the workspace root when it is inside it, which keeps the output short.
fn display_path(path: &Path) -> String {
    let root = project_root();
    path.strip_prefix(&root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Writes a captured command's stdout and stderr through, as if it had not been captured.
fn echo(output: &Output) -> Result<()> {
    io::stdout().write_all(&output.stdout)?;
    io::stdout().flush()?;
    io::stderr().write_all(&output.stderr)?;
    Ok(())
}

fn banner(title: &str) {
    eprintln!("\nxtask demo: ==> {title}");
}
