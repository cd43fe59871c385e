//! `pct start`, `pct stop` and `pct shutdown` (pve-container `API2/LXC/Status.pm`).
//!
//! They print nothing on success. `start` refuses a running container (`CT <vmid> already
//! running`) and a locked one (`CT is locked (<lock>)`, except the `mounted` lock), applies the
//! pending changes, and writes the hostname to the container's `/etc/hostname` (the
//! pre-start hook). `stop` and `shutdown` refuse a stopped container (`CT <vmid> not running`).
//! A failing start (`pct-error.start-failed.1.txt`) is not emulated by itself: inject it with a
//! node fault on `pct start <vmid>`.

use phoenix_core::sim::SimFile;
use phoenix_pve::Conf;

use super::args::{Failure, Kind, Printed, Step};
use super::ctx::{Ctx, check_lock};
use super::fs::{Mounts, Node};
use super::pct::{expect_positional, id_at, parse};
use super::settings::apply_pending;
use super::state::{ContainerState, RunStatus};

/// Starts container `id` (already checked): applies pending changes, writes `/etc/hostname`,
/// marks it running. Returns the config as it is after the start.
pub(crate) fn start_container(
    ctx: &mut Ctx<'_, '_>,
    id: u32,
    mut conf: Conf,
    argv: &[String],
) -> Step<Conf> {
    if conf.main.get("template").is_some_and(|value| value == "1") {
        return Err(Failure::not_emulated(argv));
    }
    let had_pending = conf.pending.is_some();
    apply_pending(ctx, id, &mut conf, None, false, argv)?;
    if had_pending {
        ctx.write_conf(id, &conf);
    }
    let mounts = Mounts::of(&conf.main);
    ctx.open_mounts(&mounts);
    let hostname = conf.main.get("hostname").unwrap_or("localhost").to_owned();
    if ctx.guest_node(&mounts, "/etc") == Some(Node::Dir) {
        let line = format!("{}\n", hostname.split('.').next().unwrap_or_default());
        if ctx
            .guest_read(&mounts, "/etc/hostname")
            .map(|file| file.content)
            != Some(line.clone())
        {
            ctx.guest_write(
                &mounts,
                "/etc/hostname",
                SimFile::new(line, 0o644, "root:root"),
            );
        }
    }
    let now = ctx.state.tick(1);
    let container = ctx.state.containers.entry(id).or_default();
    container.status = RunStatus::Running;
    container.started = Some(now);
    Ok(conf)
}

/// `pct start <vmid> [--skiplock]`.
pub(crate) fn start(ctx: &mut Ctx<'_, '_>, argv: &[String]) -> Step<Printed> {
    let args = parse(argv, &|name| match name {
        "skiplock" | "debug" => Some(Kind::Bool),
        _ => None,
    })?;
    let id = id_at(&args, 0, argv)?;
    expect_positional(&args, 1, argv)?;
    let conf = ctx.conf(id)?;
    if ctx.state.is_running(id) {
        return Err(Failure::die(format!("CT {id} already running")));
    }
    ctx.flock(id)?;
    let skiplock = args.flag("skiplock", false) == Some(true);
    if !skiplock && conf.main.get("lock") != Some("mounted") {
        check_lock(&conf)?;
    }
    start_container(ctx, id, conf, argv)?;
    Ok(Printed::default())
}

/// `pct stop <vmid>` and `pct shutdown <vmid> [--timeout N] [--forceStop]`.
pub(crate) fn stop(ctx: &mut Ctx<'_, '_>, argv: &[String]) -> Step<Printed> {
    let shutdown = argv.get(1).is_some_and(|sub| sub == "shutdown");
    let args = parse(argv, &|name| match (shutdown, name) {
        (true, "timeout") | (false, "timeout") => Some(Kind::Int),
        (true, "forceStop") | (false, "skiplock" | "overrule-shutdown") => Some(Kind::Bool),
        _ => None,
    })?;
    let id = id_at(&args, 0, argv)?;
    expect_positional(&args, 1, argv)?;
    let conf = ctx.conf(id)?;
    if !ctx.state.is_running(id) {
        return Err(Failure::die(format!("CT {id} not running")));
    }
    ctx.flock(id)?;
    let skiplock = !shutdown && args.flag("skiplock", false) == Some(true);
    if !skiplock && (shutdown || conf.main.get("lock") != Some("mounted")) {
        check_lock(&conf)?;
    }
    stop_container(ctx, id);
    Ok(Printed::default())
}

/// Marks container `id` stopped.
pub(crate) fn stop_container(ctx: &mut Ctx<'_, '_>, id: u32) {
    ctx.state.tick(1);
    let container = ctx.state.containers.entry(id).or_default();
    container.status = RunStatus::Stopped;
    container.started = None;
    if *container == ContainerState::default() {
        ctx.state.containers.remove(&id);
    }
}
