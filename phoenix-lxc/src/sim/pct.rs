//! The `pct` emulator: dispatch, and the read-only subcommands `list`, `config`, `status`,
//! `listsnapshot` (plus `unlock`).
//!
//! Printing rules: `fixtures/proxmox/SOURCES.md` §1-3 and pve-container `src/PVE/CLI/pct.pm`;
//! the formats themselves live in `crate::parse` (`format_pct_list`, `format_pct_config`,
//! `format_pct_status`, `format_snapshot_tree`). `pct listsnapshot` prints times in UTC (the
//! simulated host's time zone).

use std::collections::BTreeMap;
use std::time::Duration;

use phoenix_core::sim::{Emulator, SimOutput, SimSys};
use phoenix_pve::{Conf, format_pct_config, parse_mount_point};

use super::args::{Args, Failure, Kind, Printed, Step, usage, vmid};
use super::ctx::{Ctx, check_lock, stable_hash};
use super::state::{DEFAULT_CPUS, RunStatus};
use super::{exec, lifecycle, power, settings, snapshots};
use crate::parse::{
    ListedContainer, format_pct_list, format_pct_status, format_snapshot_tree, format_utc,
    snapshot_nodes,
};

/// Emulates `pct` over the node's `/etc/pve/lxc/*.conf` files and the `pct` namespace.
#[derive(Debug, Default, Clone, Copy)]
pub struct PctEmulator;

impl Emulator for PctEmulator {
    fn programs(&self) -> Vec<String> {
        vec!["pct".to_owned()]
    }

    fn run(&self, argv: &[String], stdin: Option<&str>, sys: &mut SimSys<'_>) -> SimOutput {
        let mut ctx = Ctx::new(sys);
        let subcommand = argv.get(1).map(String::as_str).unwrap_or_default();
        if subcommand == "exec" {
            return exec::exec(ctx, argv, stdin);
        }
        let result = match subcommand {
            "list" => list(&ctx, argv),
            "config" => config(&ctx, argv),
            "status" => status(&ctx, argv),
            "listsnapshot" => listsnapshot(&ctx, argv),
            "unlock" => unlock(&mut ctx, argv),
            "create" => lifecycle::create(&mut ctx, argv),
            "clone" => lifecycle::clone(&mut ctx, argv),
            "destroy" => lifecycle::destroy(&mut ctx, argv),
            "set" => settings::set(&mut ctx, argv),
            "resize" => settings::resize(&mut ctx, argv),
            "start" => power::start(&mut ctx, argv),
            "stop" | "shutdown" => power::stop(&mut ctx, argv),
            "snapshot" => snapshots::snapshot(&mut ctx, argv),
            "delsnapshot" => snapshots::delsnapshot(&mut ctx, argv),
            "rollback" => snapshots::rollback(&mut ctx, argv),
            "push" => exec::push(&mut ctx, argv),
            _ => Err(Failure::not_emulated(argv)),
        };
        ctx.finish(result)
    }

    /// Every `pct` call starts Perl and loads the PVE modules: about 400 ms on a real host
    /// (`pct exec` about 450 ms; `create` and `clone` take 2 to 5 s with the archive or the
    /// copy). The node's hook is per program, so all `pct` calls count 400 ms.
    fn typical_latency(&self, _program: &str) -> Option<Duration> {
        Some(Duration::from_millis(400))
    }
}

/// Parses `argv[2..]` with `kind`; unknown options make the command not emulated.
pub(crate) fn parse(argv: &[String], kind: &dyn Fn(&str) -> Option<Kind>) -> Step<Args> {
    Args::parse(argv.get(2..).unwrap_or_default(), kind).ok_or_else(|| Failure::not_emulated(argv))
}

/// The container id at `positional[at]`; a missing or malformed one is not emulated (or, when
/// missing, `400 not enough arguments` and the usage line).
pub(crate) fn id_at(args: &Args, at: usize, argv: &[String]) -> Step<u32> {
    match args.positional.get(at) {
        None => Err(Failure {
            status: super::args::DIE,
            stdout: String::new(),
            stderr: format!(
                "400 not enough arguments\n{}\n",
                usage(argv.get(1).map(String::as_str).unwrap_or_default())
            ),
        }),
        Some(word) => vmid(word).ok_or_else(|| Failure::not_emulated(argv)),
    }
}

/// Fails unless exactly `count` positional arguments were given.
pub(crate) fn expect_positional(args: &Args, count: usize, argv: &[String]) -> Step<()> {
    if args.positional.len() > count {
        return Err(Failure::not_emulated(argv));
    }
    if args.positional.len() < count {
        return Err(Failure {
            status: super::args::DIE,
            stdout: String::new(),
            stderr: format!(
                "400 not enough arguments\n{}\n",
                usage(argv.get(1).map(String::as_str).unwrap_or_default())
            ),
        });
    }
    Ok(())
}

/// The name `pct list` and `pct status` show: the hostname without whitespace, or `CT<vmid>`.
pub(crate) fn display_name(id: u32, conf: &Conf) -> String {
    conf.main
        .get("hostname")
        .map(|name| {
            name.chars()
                .filter(|c| !c.is_whitespace())
                .collect::<String>()
        })
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| format!("CT{id}"))
}

/// Whether container `id` runs.
fn run_status(ctx: &Ctx<'_, '_>, id: u32) -> RunStatus {
    ctx.state
        .containers
        .get(&id)
        .map_or(RunStatus::Stopped, |container| container.status)
}

/// `pct list`.
fn list(ctx: &Ctx<'_, '_>, argv: &[String]) -> Step<Printed> {
    let args = parse(argv, &|_| None)?;
    expect_positional(&args, 0, argv)?;
    let mut rows = Vec::new();
    for id in ctx.ids() {
        let conf = ctx.conf(id)?;
        let status = run_status(ctx, id).word();
        rows.push(ListedContainer::new(
            id,
            status,
            conf.main.get("lock").map(str::to_owned),
            display_name(id, &conf),
        ));
    }
    Ok(Printed::out(format_pct_list(&rows)))
}

/// `pct config <vmid> [--current] [--snapshot NAME]`.
fn config(ctx: &Ctx<'_, '_>, argv: &[String]) -> Step<Printed> {
    let args = parse(argv, &|name| match name {
        "current" => Some(Kind::Bool),
        "snapshot" => Some(Kind::Text),
        _ => None,
    })?;
    let id = id_at(&args, 0, argv)?;
    expect_positional(&args, 1, argv)?;
    let conf = ctx.conf(id)?;
    let section = match args.get("snapshot") {
        Some(name) => conf
            .snapshots
            .get(name)
            .cloned()
            .ok_or_else(|| Failure::die(format!("snapshot '{name}' does not exist")))?,
        None if args.flag("current", false) == Some(true) => conf.main.clone(),
        None => conf.with_pending(),
    };
    Ok(Printed::out(format_pct_config(&section)))
}

/// `pct status <vmid> [--verbose]`.
fn status(ctx: &Ctx<'_, '_>, argv: &[String]) -> Step<Printed> {
    let args = parse(argv, &|name| (name == "verbose").then_some(Kind::Bool))?;
    let id = id_at(&args, 0, argv)?;
    expect_positional(&args, 1, argv)?;
    let conf = ctx.conf(id)?;
    if args.flag("verbose", false) != Some(true) {
        return Ok(Printed::out(format!(
            "status: {}\n",
            run_status(ctx, id).word()
        )));
    }
    Ok(Printed::out(format_pct_status(&status_fields(
        ctx, id, &conf,
    ))))
}

/// The fields of `pct status --verbose` (pve-container `vmstatus`, PVE 9: `pressure*` for a
/// running container). Counters of a running container are derived from its id and start time,
/// so they are stable but not meaningful.
fn status_fields(ctx: &Ctx<'_, '_>, id: u32, conf: &Conf) -> BTreeMap<String, String> {
    let main = &conf.main;
    let running = ctx.state.is_running(id);
    let mib = |key: &str, default: u64| {
        main.get(key)
            .and_then(|value| value.parse::<u64>().ok())
            .unwrap_or(default)
            * 1_048_576
    };
    let maxmem = mib("memory", 512);
    let rootfs = main
        .get("rootfs")
        .and_then(|value| parse_mount_point(value).ok());
    let maxdisk = rootfs
        .as_ref()
        .and_then(|mount| {
            ctx.volume(&mount.volume)
                .map(|volume| volume.size)
                .or(mount.size)
        })
        .unwrap_or(4 << 30);
    let cpus = main
        .get("cores")
        .map(str::to_owned)
        .unwrap_or_else(|| ctx.state.cpus.unwrap_or(DEFAULT_CPUS).to_string());
    let mut fields: BTreeMap<String, String> = BTreeMap::new();
    let mut set = |key: &str, value: String| {
        fields.insert(key.to_owned(), value);
    };
    set("cpus", cpus);
    set("maxdisk", maxdisk.to_string());
    set("maxmem", maxmem.to_string());
    set("maxswap", mib("swap", 512).to_string());
    set("name", display_name(id, conf));
    set("status", run_status(ctx, id).word().to_owned());
    set("swap", "0".to_owned());
    set("type", "lxc".to_owned());
    set("vmid", id.to_string());
    if let Some(lock) = main.get("lock") {
        set("lock", lock.to_owned());
    }
    if let Some(tags) = main.get("tags") {
        set("tags", tags.to_owned());
    }
    if let Some(template) = main.get("template") {
        set("template", template.to_owned());
    }
    if running {
        let started = ctx
            .state
            .containers
            .get(&id)
            .and_then(|container| container.started)
            .unwrap_or_else(|| ctx.state.now());
        let seed = stable_hash(&[&id.to_string(), &started.to_string()]);
        let content = rootfs
            .as_ref()
            .and_then(|mount| ctx.volume(&mount.volume))
            .map(|volume| ctx.materialize(&volume.content))
            .unwrap_or_default();
        let packages = content.packages.len() as u64;
        let used: u64 = content
            .files
            .values()
            .map(|file| file.content.len() as u64)
            .sum();
        set(
            "disk",
            (used + packages * 2_097_152).min(maxdisk).to_string(),
        );
        set("diskread", (seed % 900_000_000 + 100_000_000).to_string());
        set("diskwrite", (seed % 400_000_000 + 50_000_000).to_string());
        set("mem", ((48 + packages) * 1_048_576).min(maxmem).to_string());
        set("netin", (seed % 200_000_000 + 1_000_000).to_string());
        set("netout", (seed % 50_000_000 + 500_000).to_string());
        set("pid", (seed % 3_000_000 + 1000).to_string());
        for pressure in ["cpu", "io", "memory"] {
            set(&format!("pressure{pressure}full"), "0.00".to_owned());
            set(&format!("pressure{pressure}some"), "0.00".to_owned());
        }
        set("uptime", (ctx.state.now() - started).max(0).to_string());
    } else {
        for key in [
            "disk",
            "diskread",
            "diskwrite",
            "mem",
            "netin",
            "netout",
            "uptime",
        ] {
            set(key, "0".to_owned());
        }
    }
    fields
}

/// `pct listsnapshot <vmid>`.
fn listsnapshot(ctx: &Ctx<'_, '_>, argv: &[String]) -> Step<Printed> {
    let args = parse(argv, &|_| None)?;
    let id = id_at(&args, 0, argv)?;
    expect_positional(&args, 1, argv)?;
    let conf = ctx.conf(id)?;
    Ok(Printed::out(format_snapshot_tree(
        &snapshot_nodes(&conf),
        &format_utc,
    )))
}

/// `pct unlock <vmid>`: removes the config's `lock`.
fn unlock(ctx: &mut Ctx<'_, '_>, argv: &[String]) -> Step<Printed> {
    let args = parse(argv, &|_| None)?;
    let id = id_at(&args, 0, argv)?;
    expect_positional(&args, 1, argv)?;
    ctx.flock(id)?;
    let mut conf = ctx.conf(id)?;
    if conf.main.remove("lock").is_some() {
        ctx.state.tick(1);
        ctx.write_conf(id, &conf);
    }
    Ok(Printed::default())
}

/// `check_lock` plus the flock, for commands that change a container.
pub(crate) fn lock_for_change(ctx: &Ctx<'_, '_>, id: u32) -> Step<Conf> {
    ctx.flock(id)?;
    let conf = ctx.conf(id)?;
    check_lock(&conf)?;
    Ok(conf)
}
