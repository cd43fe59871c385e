//! `cargo xtask bench`: the inspection benchmark (one table) and then the engine benchmark.
//!
//! For N = 13, 100, 300 and 1,000 running containers with features (the lab's hypervisor config
//! plus N clones of one `base_setup` template, as a new user with many tenants writes it), it
//! converges a simulated node at zero latency, then times a no-op `phoenix plan --json` at
//! `PHOENIX_SIM_LATENCY=proxmox-typical` and at zero latency, and prints the commands by program,
//! the wall time, its ratio to the slowest single command, the wall at zero latency and the
//! engine's own part of it (the time no host command or file operation was in flight: the
//! simulated node's emulators are the rest), and the upstream bash tool's estimated command
//! count for the same N (spec §9). For N = 13 and 100 it also times the first apply at
//! `proxmox-typical` with the default parallelism and with no bound (`--parallelism 256`, which
//! leaves only the dependencies and lock domains: the critical
//! path). It runs the release `phoenix` binary, so xtask depends on no workspace crate.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use xshell::{Shell, cmd};

use crate::Result;

/// The numbers of running containers the table covers.
const SIZES: &[u32] = &[13, 100, 300, 1000];

/// The sizes whose first apply is timed too (at `proxmox-typical`, about 20 s and 90 s).
const FIRST_APPLY_SIZES: &[u32] = &[13, 100];

/// Runs the inspection benchmark, then `cargo bench -p tests --bench engine`.
pub(crate) fn run(sh: &Shell) -> Result<()> {
    cmd!(sh, "cargo build --release -q -p phoenix-cli").run()?;
    let phoenix = sh.current_dir().join("target/release/phoenix");
    let phoenix = std::env::var_os("CARGO_TARGET_DIR")
        .map_or(phoenix, |dir| PathBuf::from(dir).join("release/phoenix"));
    let scratch = sh.create_temp_dir()?;
    println!(
        "| running containers | no-op commands (by program) | wall, proxmox-typical | slowest command | ratio | zero latency: wall | of it engine | upstream bash tool (spec §9) |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let mut first_applies = Vec::new();
    for &n in SIZES {
        let dir = scratch.path().join(format!("n{n}"));
        let config = generate(sh, &dir, n)?;
        let state = dir.join("state.json");
        if FIRST_APPLY_SIZES.contains(&n) {
            first_applies.push((n, time_first_apply(sh, &phoenix, &config, &dir)?));
        }
        phoenix_run(sh, &phoenix, "apply", &config, &state, "zero", &["--yes"])?;
        let typical = plan_stats(sh, &phoenix, &config, &state, "proxmox-typical")?;
        let zero = plan_stats(sh, &phoenix, &config, &state, "zero")?;
        print_row(n, &typical, &zero);
    }
    println!();
    for (n, (default, unbounded)) in first_applies {
        println!(
            "First apply of the lab plus {n} containers at proxmox-typical: {:.1} s with the default parallelism, {:.1} s unbounded (its critical path): {:.2}x.",
            default / 1000.0,
            unbounded / 1000.0,
            default / unbounded.max(1.0)
        );
    }
    println!();
    cmd!(sh, "cargo bench -p tests --bench engine").run()?;
    Ok(())
}

/// One row of the table.
fn print_row(n: u32, typical: &Value, zero: &Value) {
    let by_program = typical["commands_by_program"]
        .as_object()
        .map(|programs| {
            programs
                .iter()
                .map(|(program, count)| format!("{program} {count}"))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    let total = typical["commands_total"].as_u64().unwrap_or(0);
    let wall = typical["wall_ms"].as_f64().unwrap_or(0.0);
    let slowest = typical["slowest_command_ms"].as_f64().unwrap_or(0.0);
    let (low, high) = upstream_estimate(n);
    let zero_wall = zero["wall_ms"].as_u64().unwrap_or(0);
    let engine = zero_wall.saturating_sub(zero["host_busy_ms"].as_u64().unwrap_or(0));
    println!(
        "| {n} | {total}: {by_program} | {:.2} s | {:.2} s | {:.2} | {zero_wall} ms | {engine} ms | about {low}-{high} |",
        wall / 1000.0,
        slowest / 1000.0,
        wall / slowest.max(1.0),
    )
}

/// The upstream tool's commands for a no-change converge of `n` containers (spec §9.1 and
/// §9.2): 30-40 `jq` and 20-45 `pct` per container, about 250-450 logging helpers per
/// container, and the dispatcher's `4 + 2N` `jq`.
fn upstream_estimate(n: u32) -> (u64, u64) {
    let n = u64::from(n);
    (
        n * (30 + 20 + 250) + 4 + 2 * n,
        n * (40 + 45 + 450) + 4 + 2 * n,
    )
}

/// Writes the lab's hypervisor config, its node state and `n` running containers with
/// features into `dir`; returns the config dir.
fn generate(sh: &Shell, dir: &Path, n: u32) -> Result<PathBuf> {
    let lab = sh.current_dir().join("examples/lab");
    let config = dir.join("config");
    sh.create_dir(&config)?;
    sh.copy_file(lab.join("phoenix_hypervisor_config.json"), &config)?;
    sh.copy_file(lab.join("sim-state.json"), dir.join("state.json"))?;
    let template =
        "/fastData/shared-iso/template/cache/ubuntu-24.04-standard_24.04-2_amd64.tar.zst";
    let mut containers = serde_json::Map::new();
    containers.insert(
        "900".into(),
        json!({"name": "base", "memory_mb": 512, "cores": 1, "storage_pool": "quickOS-lxc-disks",
               "storage_size_gb": 8, "template": template, "features": ["base_setup"],
               "network_config": {"bridge": "vmbr0", "ip": "10.1.0.1/16", "gw": "10.1.0.254"}}),
    );
    for i in 1..=n {
        containers.insert(
            (1000 + i).to_string(),
            json!({"name": format!("tenant-{i}"), "memory_mb": 512, "cores": 1,
                   "storage_pool": "quickOS-lxc-disks", "storage_size_gb": 8,
                   "clone_from_ctid": "900", "start_at_boot": true, "features": ["base_setup"],
                   "network_config": {"bridge": "vmbr0",
                       "ip": format!("10.1.{}.{}/16", i / 200, i % 200 + 2), "gw": "10.1.0.254"}}),
        );
    }
    sh.write_file(
        config.join("phoenix_lxc_configs.json"),
        json!({"lxc_configs": containers}).to_string(),
    )?;
    Ok(config)
}

/// Runs `phoenix COMMAND --config CONFIG --target sim:STATE EXTRA...` at `latency`; its stdout.
fn phoenix_run(
    sh: &Shell,
    phoenix: &Path,
    command: &str,
    config: &Path,
    state: &Path,
    latency: &str,
    extra: &[&str],
) -> Result<String> {
    let target = format!("sim:{}", state.display());
    let output = cmd!(
        sh,
        "{phoenix} {command} --config {config} --target {target} {extra...}"
    )
    .env("PHOENIX_SIM_LATENCY", latency)
    .ignore_status()
    .output()?;
    let code = output.status.code();
    // `plan --json` exits 0 with no changes; anything else is a failed benchmark.
    if code != Some(0) {
        return Err(format!(
            "`phoenix {command}` exited with {code:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The stats of a no-op `plan --json` at `latency`; refuses a plan with changes.
fn plan_stats(
    sh: &Shell,
    phoenix: &Path,
    config: &Path,
    state: &Path,
    latency: &str,
) -> Result<Value> {
    let stdout = phoenix_run(sh, phoenix, "plan", config, state, latency, &["--json"])?;
    let plan: Value = serde_json::from_str(&stdout)?;
    if plan["changes"].as_array().is_some_and(|c| !c.is_empty()) {
        return Err("the re-plan after a converge has changes".into());
    }
    Ok(plan["stats"].clone())
}

/// The first apply's wall time (ms) at `proxmox-typical`, with the default parallelism and
/// unbounded, each on a fresh copy of the node.
fn time_first_apply(sh: &Shell, phoenix: &Path, config: &Path, dir: &Path) -> Result<(f64, f64)> {
    let mut walls = Vec::new();
    for extra in [&["--yes"][..], &["--yes", "--parallelism", "256"][..]] {
        let state = dir.join("first-apply.json");
        sh.copy_file(dir.join("state.json"), &state)?;
        let started = std::time::Instant::now();
        phoenix_run(
            sh,
            phoenix,
            "apply",
            config,
            &state,
            "proxmox-typical",
            extra,
        )?;
        walls.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    Ok((walls[0], walls[1]))
}
