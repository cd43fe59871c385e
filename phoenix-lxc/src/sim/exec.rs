//! `pct exec` and `pct push`: running commands in, and copying files into, a running container.
//!
//! `pct exec <vmid> [--keep-env 0|1] -- CMD [ARGS...]` (pve-container `CLI/pct.pm`): the config
//! must exist, the container must run (`container '<vmid>' not running!`), then the process
//! becomes `lxc-attach`: stdout, stderr and the exit status are the command's own (`guest.rs`).
//!
//! `pct push <vmid> <file> <destination> [--perms MODE] [--user U] [--group G]`: the container must
//! run (`can only push files to a running CT`); the host file is read from the node
//! (`failed to open <file> for reading`), and the destination's directory must exist
//! (`failed to create file: <dest>: No such file or directory`). `--perms` is octal unless it
//! starts with `0x`; a new file is 0644 otherwise, an existing one keeps its mode and owner
//! unless told. User and group names must exist in the container's `/etc/passwd` and
//! `/etc/group` (`failed to get uid for: <user>`). Prints nothing.

use phoenix_core::sim::{SimFile, SimOutput};

use super::args::{Failure, Kind, Printed, Step};
use super::ctx::Ctx;
use super::fs::{Mounts, Node, normalize};
use super::guest::{self, GuestOutput};
use super::pct::{expect_positional, id_at, parse};

/// Runs `pct exec`; whatever the command changed is kept, whatever its status.
pub(crate) fn exec(mut ctx: Ctx<'_, '_>, argv: &[String], stdin: Option<&str>) -> SimOutput {
    match exec_in(&mut ctx, argv, stdin) {
        Err(failure) => failure.into_output(),
        Ok(output) => {
            let mutated = ctx.commit() || output.mutated;
            SimOutput::new(output.status, output.stdout, output.stderr, mutated)
        }
    }
}

fn exec_in(ctx: &mut Ctx<'_, '_>, argv: &[String], stdin: Option<&str>) -> Step<GuestOutput> {
    let args = parse(argv, &|name| (name == "keep-env").then_some(Kind::Bool))?;
    let id = id_at(&args, 0, argv)?;
    expect_positional(&args, 1, argv)?;
    let conf = ctx.conf(id)?;
    if !ctx.state.is_running(id) {
        return Err(Failure::die(format!("container '{id}' not running!")));
    }
    if args.extra.is_empty() {
        return Err(Failure::not_emulated(argv));
    }
    let mounts = Mounts::of(&conf.main);
    ctx.open_mounts(&mounts);
    Ok(guest::run(ctx, id, &mounts, &args.extra, stdin, argv))
}

/// The name of the entry of `id` in a passwd or group file, or `None`.
fn name_of(table: Option<&str>, id: u32) -> Option<String> {
    table?.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let number = fields.nth(1)?.parse::<u32>().ok()?;
        (number == id).then(|| name.to_owned())
    })
}

/// Whether a passwd or group file has an entry called `name`.
fn has_name(table: Option<&str>, name: &str) -> bool {
    table.is_some_and(|text| {
        text.lines()
            .any(|line| line.split(':').next() == Some(name))
    })
}

/// `pct push <vmid> <file> <destination> [OPTIONS]`.
pub(crate) fn push(ctx: &mut Ctx<'_, '_>, argv: &[String]) -> Step<Printed> {
    let args = parse(argv, &|name| match name {
        "perms" | "user" | "group" => Some(Kind::Text),
        _ => None,
    })?;
    let id = id_at(&args, 0, argv)?;
    expect_positional(&args, 3, argv)?;
    let source = args.positional[1].clone();
    let destination = args.positional[2].clone();
    ctx.flock(id)?;
    if !ctx.state.is_running(id) {
        return Err(Failure::die("can only push files to a running CT"));
    }
    let conf = ctx.conf(id)?;
    let mounts = Mounts::of(&conf.main);
    ctx.open_mounts(&mounts);
    let Some(file) = ctx.read(&normalize(&source)) else {
        return Err(Failure::die(format!("failed to open {source} for reading")));
    };
    let perms = match args.get("perms") {
        None => None,
        Some(text) => {
            let text = if text.starts_with('0') {
                text.to_owned()
            } else {
                format!("0{text}")
            };
            let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
                Some(hex) => u32::from_str_radix(hex, 16).ok(),
                None => u32::from_str_radix(&text, 8).ok(),
            };
            Some(parsed.filter(|mode| *mode <= 0o7777).ok_or_else(|| {
                Failure::die(format!(
                    "invalid mode: '{}'",
                    args.get("perms").unwrap_or_default()
                ))
            })?)
        }
    };
    let passwd = ctx.guest_read(&mounts, "/etc/passwd").map(|f| f.content);
    let group = ctx.guest_read(&mounts, "/etc/group").map(|f| f.content);
    let resolve = |value: Option<&str>, table: Option<&str>, what: &str| -> Step<Option<String>> {
        match value {
            None => Ok(None),
            Some(value) => match value.parse::<u32>() {
                Ok(number) => Ok(Some(
                    name_of(table, number).unwrap_or_else(|| value.to_owned()),
                )),
                Err(_) if has_name(table, value) => Ok(Some(value.to_owned())),
                Err(_) => Err(Failure::die(format!("failed to get {what} for: {value}"))),
            },
        }
    };
    let user = resolve(args.get("user"), passwd.as_deref(), "uid")?;
    let group = resolve(args.get("group"), group.as_deref(), "gid")?;
    let parent = {
        let path = normalize(&destination);
        match path.rfind('/') {
            Some(0) | None => "/".to_owned(),
            Some(at) => path[..at].to_owned(),
        }
    };
    match ctx.guest_node(&mounts, &destination) {
        Some(Node::Dir) => {
            return Err(Failure::die(format!(
                "failed to create file: {destination}: Is a directory"
            )));
        }
        Some(Node::File) => {}
        None if ctx.guest_node(&mounts, &parent) == Some(Node::Dir) => {}
        None => {
            return Err(Failure::die(format!(
                "failed to create file: {destination}: No such file or directory"
            )));
        }
    }
    let existing = ctx.guest_read(&mounts, &destination);
    let (old_mode, old_owner) = existing
        .map(|file| (file.mode, file.owner))
        .unwrap_or((0o644, "root:root".to_owned()));
    let (old_user, old_group) = old_owner
        .split_once(':')
        .map(|(u, g)| (u.to_owned(), g.to_owned()))
        .unwrap_or((old_owner.clone(), old_owner.clone()));
    let owner = format!(
        "{}:{}",
        user.unwrap_or(old_user),
        group.unwrap_or(old_group)
    );
    ctx.guest_write(
        &mounts,
        &destination,
        SimFile::new(file.content, perms.unwrap_or(old_mode), owner),
    );
    Ok(Printed::default())
}
