//! The tools core's scoped primitives drive inside a container: `chmod`, `chown`, `mv`, the
//! staging `sh` script of a file (`phoenix_core::file::STAGE_SCRIPT`) and the `systemctl` verbs.
//!
//! **Assumption:** the container model keeps a unit's active state but not its enablement, so
//! `enable` and `disable` of a known unit change nothing and print nothing here, and `show`
//! reports every known unit enabled (`scope_probe`).

use phoenix_core::sim::SimFile;

use super::ctx::Ctx;
use super::fs::{Mounts, Node};
use super::guest::GuestOutput;

/// `chmod MODE [--] PATH` or `chown USER:GROUP [--] PATH` of a file (directories have no mode
/// or owner in the model: accepted unchanged).
pub(crate) fn chmod_chown(
    ctx: &mut Ctx<'_, '_>,
    mounts: &Mounts,
    program: &str,
    args: &[String],
    pct_argv: &[String],
) -> GuestOutput {
    let operands: Vec<&String> = args.iter().filter(|a| *a != "--").collect();
    let [value, path] = operands[..] else {
        return GuestOutput::not_emulated(pct_argv);
    };
    let mode = match program {
        "chmod" => match u32::from_str_radix(value, 8) {
            Ok(mode) if mode <= 0o7777 => Some(mode),
            _ => return GuestOutput::fail(1, format!("chmod: invalid mode: '{value}'\n")),
        },
        _ => None,
    };
    match ctx.guest_node(mounts, path) {
        Some(Node::Dir) => {
            let owner = mode.is_none().then_some(value.as_str());
            ctx.set_guest_dir_attrs(mounts, path, mode, owner);
            GuestOutput::ok("")
        }
        Some(Node::File) => {
            let Some(mut file) = ctx.guest_read(mounts, path) else {
                return GuestOutput::not_emulated(pct_argv);
            };
            match mode {
                Some(mode) => file.mode = mode,
                None => file.owner = value.clone(),
            }
            ctx.guest_write(mounts, path, file);
            GuestOutput::ok("")
        }
        None => GuestOutput::fail(
            1,
            format!("{program}: cannot access '{path}': No such file or directory\n"),
        ),
    }
}

/// `mv -f [--] SOURCE DEST` of a file.
pub(crate) fn mv(
    ctx: &mut Ctx<'_, '_>,
    mounts: &Mounts,
    args: &[String],
    pct_argv: &[String],
) -> GuestOutput {
    let operands: Vec<&String> = args.iter().filter(|a| *a != "--" && *a != "-f").collect();
    let [source, dest] = operands[..] else {
        return GuestOutput::not_emulated(pct_argv);
    };
    match ctx.guest_read(mounts, source) {
        Some(file) if ctx.guest_node(mounts, source) == Some(Node::File) => {
            ctx.guest_remove(mounts, source);
            ctx.guest_write(mounts, dest, file);
            GuestOutput::ok("")
        }
        _ => GuestOutput::fail(
            1,
            format!("mv: cannot stat '{source}': No such file or directory\n"),
        ),
    }
}

/// `sh -c STAGE_SCRIPT sh PATH` with the content on stdin: a new file is `0600` (umask 077).
pub(crate) fn stage(
    ctx: &mut Ctx<'_, '_>,
    mounts: &Mounts,
    path: &str,
    stdin: Option<&str>,
) -> GuestOutput {
    let parent = path
        .rsplit_once('/')
        .map_or("/", |(dir, _)| if dir.is_empty() { "/" } else { dir });
    if ctx.guest_node(mounts, parent) != Some(Node::Dir) {
        return GuestOutput::fail(
            2,
            format!("sh: 1: cannot create {path}: Directory nonexistent\n"),
        );
    }
    let (mode, owner) = ctx
        .guest_read(mounts, path)
        .map_or((0o600, "root:root".to_owned()), |old| (old.mode, old.owner));
    ctx.guest_write(
        mounts,
        path,
        SimFile::new(stdin.unwrap_or_default(), mode, owner),
    );
    GuestOutput::ok("")
}

/// `systemctl VERB UNIT` for the verbs the service primitive uses.
pub(crate) fn systemctl_verb(
    ctx: &mut Ctx<'_, '_>,
    mounts: &Mounts,
    verb: &str,
    unit: &str,
    pct_argv: &[String],
) -> GuestOutput {
    let id = if unit.contains('.') {
        unit.to_owned()
    } else {
        format!("{unit}.service")
    };
    // A unit file an administrator (or Phoenix) wrote is a unit systemd knows, as on a real
    // system after `systemctl daemon-reload`.
    let written = ctx.guest_node(mounts, &format!("/etc/systemd/system/{id}")) == Some(Node::File);
    let Some(content) = ctx.root_content_mut(mounts) else {
        return GuestOutput::not_emulated(pct_argv);
    };
    if written && !content.services.contains_key(&id) {
        content.services.insert(id.clone(), "inactive".to_owned());
    }
    let Some(state) = content.services.get_mut(&id) else {
        return match verb {
            "enable" | "disable" => GuestOutput::fail(
                1,
                format!("Failed to {verb} unit: Unit file {id} does not exist.\n"),
            ),
            _ => GuestOutput::fail(5, format!("Failed to {verb} {id}: Unit {id} not found.\n")),
        };
    };
    match verb {
        "enable" | "disable" => {}
        "start" | "restart" | "reload-or-restart" => *state = "active".to_owned(),
        "stop" => *state = "inactive".to_owned(),
        "reload" if state.as_str() != "active" => {
            return GuestOutput::fail(1, format!("{id} is not active, cannot reload.\n"));
        }
        "reload" => {}
        _ => return GuestOutput::not_emulated(pct_argv),
    }
    GuestOutput::ok("")
}
