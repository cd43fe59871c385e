//! `pct snapshot`, `pct delsnapshot` and `pct rollback` (pve-guest-common
//! `AbstractConfig.pm` `snapshot_create`/`snapshot_delete`/`snapshot_rollback`, pve-container
//! `LXC/Config.pm`, `fixtures/proxmox/SOURCES.md` §2 writer rule 6 and §3).
//!
//! - `snapshot <vmid> <name> [--description D]`: the name is a config id (`[a-zA-Z][a-zA-Z0-9_-]+`,
//!   at most 40); `current` and `vzdump` are reserved. It fails with `snapshot name 'x' already
//!   used`, or with `snapshot feature is not available` when any mount point cannot be
//!   snapshotted: **a bind mount**, a device, or a volume that is not on a zfspool storage. The
//!   new section is a copy of the current settings without `lock`, `description` and `unusedN`,
//!   plus `snaptime` and the given description; it keeps the current `parent:`, and the current
//!   section then gets `parent: <name>`. Each volume gets a snapshot of its files.
//! - `delsnapshot <vmid> <name> [--force]`: `snapshot 'x' does not exist`; the children (and the
//!   current section) of the deleted snapshot take over its parent.
//! - `rollback <vmid> <name> [--start]`: a running container is stopped first (pve-container
//!   kills it; SOURCES.md's `vm is running` refusal is qemu-server's). On a zfspool only the most
//!   recent snapshot of each volume can be the target: `can't rollback, 'x' is not most recent
//!   snapshot on '<volid>'`. The current section becomes the snapshot's settings with the
//!   current description and `unusedN` kept and `parent: <name>`; the volumes get the
//!   snapshot's files back.
//!
//! All three print nothing for zfspool volumes.

use phoenix_pve::{Conf, Section};

use super::args::{Failure, Kind, Printed, Step, usage};
use super::ctx::{Ctx, section_volumes};
use super::pct::{expect_positional, id_at, lock_for_change, parse};
use super::power::{start_container, stop_container};
use super::state::VolumeSnapshot;

/// Whether `name` is a valid snapshot name (`pve-configid`, at most 40 characters).
fn is_config_id(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() >= 2
        && name.len() <= 40
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Whether every mount point of `section` can be snapshotted (volumes on zfspool storages).
fn can_snapshot(ctx: &Ctx<'_, '_>, section: &Section) -> Step<bool> {
    let storages = ctx.storages()?;
    let volumes = section_volumes(section);
    let all_mounts = section.volume_keys().len();
    Ok(volumes.len() == all_mounts
        && volumes.iter().all(|(_, volid)| {
            let storage = volid.split(':').next().unwrap_or_default();
            storages
                .iter()
                .any(|found| found.id == storage && found.kind == "zfspool")
                && ctx.volume(volid).is_some()
        }))
}

/// The name argument, checked.
fn snapshot_name(args: &super::args::Args, argv: &[String]) -> Step<String> {
    let name = args.positional[1].clone();
    if !is_config_id(&name) {
        return Err(Failure::param(
            &[(
                "snapname".to_owned(),
                format!("invalid format - invalid configuration ID '{name}'"),
            )],
            &usage(argv.get(1).map(String::as_str).unwrap_or_default()),
        ));
    }
    Ok(name)
}

/// `pct snapshot <vmid> <name> [--description D]`.
pub(crate) fn snapshot(ctx: &mut Ctx<'_, '_>, argv: &[String]) -> Step<Printed> {
    let args = parse(argv, &|name| (name == "description").then_some(Kind::Text))?;
    let id = id_at(&args, 0, argv)?;
    expect_positional(&args, 2, argv)?;
    let name = snapshot_name(&args, argv)?;
    if name == "current" || name == "vzdump" {
        return Err(Failure::die(format!(
            "unable to use snapshot name '{name}' (reserved name)"
        )));
    }
    let mut conf = lock_for_change(ctx, id)?;
    if conf.main.get("template").is_some_and(|value| value == "1") {
        return Err(Failure::die("you can't take a snapshot if it's a template"));
    }
    if conf.snapshots.contains_key(&name) {
        return Err(Failure::die(format!("snapshot name '{name}' already used")));
    }
    if !can_snapshot(ctx, &conf.main)? {
        return Err(Failure::die("snapshot feature is not available"));
    }
    let now = ctx.state.tick(1);
    let mut section = Section::new();
    section.keys = conf
        .main
        .keys
        .iter()
        .filter(|(key, _)| {
            !matches!(
                key.as_str(),
                "lock" | "digest" | "snapstate" | "snaptime" | "vmstate"
            ) && !key.starts_with("unused")
        })
        .cloned()
        .collect();
    section.lxc = conf.main.lxc.clone();
    section.set("snaptime", now.to_string());
    section.description = args
        .get("description")
        .filter(|d| !d.is_empty())
        .map(str::to_owned);
    for (_, volid) in section_volumes(&conf.main) {
        let volume = ctx.volume_mut(&volid);
        let order = volume.next_order();
        let content = volume.content.clone();
        volume
            .snapshots
            .insert(name.clone(), VolumeSnapshot { order, content });
    }
    conf.snapshots.insert(name.clone(), section);
    conf.main.set("parent", name);
    ctx.write_conf(id, &conf);
    Ok(Printed::default())
}

/// `pct delsnapshot <vmid> <name> [--force]`.
pub(crate) fn delsnapshot(ctx: &mut Ctx<'_, '_>, argv: &[String]) -> Step<Printed> {
    let args = parse(argv, &|name| (name == "force").then_some(Kind::Bool))?;
    let id = id_at(&args, 0, argv)?;
    expect_positional(&args, 2, argv)?;
    let name = args.positional[1].clone();
    let mut conf = ctx.conf(id)?;
    let Some(removed) = conf.snapshots.get(&name).cloned() else {
        return Err(Failure::die(format!("snapshot '{name}' does not exist")));
    };
    ctx.flock(id)?;
    super::ctx::check_lock(&conf)?;
    for (_, volid) in section_volumes(&removed) {
        if let Some(volume) = ctx.state.volumes.get_mut(&volid) {
            volume.snapshots.remove(&name);
        }
    }
    let new_parent = removed.get("parent").map(str::to_owned);
    let relink = |section: &mut Section| {
        if section.get("parent") == Some(name.as_str()) {
            match &new_parent {
                Some(parent) => section.set("parent", parent.clone()),
                None => {
                    section.remove("parent");
                }
            }
        }
    };
    relink(&mut conf.main);
    for (other, section) in &mut conf.snapshots {
        if *other != name {
            relink(section);
        }
    }
    conf.snapshots.remove(&name);
    ctx.state.tick(1);
    ctx.write_conf(id, &conf);
    Ok(Printed::default())
}

/// The current section after a rollback to `snapshot` (`__snapshot_apply_config`).
fn applied(conf: &Conf, name: &str, snapshot: &Section) -> Section {
    let mut main = Section::new();
    main.description.clone_from(&conf.main.description);
    main.keys = conf
        .main
        .keys
        .iter()
        .filter(|(key, _)| key.starts_with("unused"))
        .cloned()
        .collect();
    for (key, value) in &snapshot.keys {
        if !matches!(
            key.as_str(),
            "lock" | "digest" | "snapstate" | "snaptime" | "vmstate"
        ) && !key.starts_with("unused")
        {
            main.set(key, value.clone());
        }
    }
    main.lxc = snapshot.lxc.clone();
    main.set("parent", name);
    main
}

/// `pct rollback <vmid> <name> [--start]`.
pub(crate) fn rollback(ctx: &mut Ctx<'_, '_>, argv: &[String]) -> Step<Printed> {
    let args = parse(argv, &|name| (name == "start").then_some(Kind::Bool))?;
    let id = id_at(&args, 0, argv)?;
    expect_positional(&args, 2, argv)?;
    let name = args.positional[1].clone();
    let mut conf = ctx.conf(id)?;
    ctx.flock(id)?;
    if conf.main.get("template").is_some_and(|value| value == "1") {
        return Err(Failure::die("you can't rollback if vm is a template"));
    }
    let Some(snapshot) = conf.snapshots.get(&name).cloned() else {
        return Err(Failure::die(format!("snapshot '{name}' does not exist")));
    };
    let volumes = section_volumes(&snapshot);
    for (_, volid) in &volumes {
        let Some(volume) = ctx.volume(volid) else {
            return Err(Failure::not_emulated(argv));
        };
        let Some(target) = volume.snapshots.get(&name) else {
            return Err(Failure::not_emulated(argv));
        };
        if volume
            .snapshots
            .values()
            .any(|other| other.order > target.order)
        {
            return Err(Failure::die(format!(
                "can't rollback, '{name}' is not most recent snapshot on '{volid}'"
            )));
        }
    }
    if let Some(state) = snapshot.get("snapstate") {
        return Err(Failure::die(format!(
            "unable to rollback to incomplete snapshot (snapstate = {state})"
        )));
    }
    super::ctx::check_lock(&conf)?;
    if ctx.state.is_running(id) {
        stop_container(ctx, id);
    }
    for (_, volid) in &volumes {
        let volume = ctx.volume_mut(volid);
        if let Some(target) = volume.snapshots.get(&name) {
            volume.content = target.content.clone();
        }
    }
    conf.main = applied(&conf, &name, &snapshot);
    conf.pending = None;
    ctx.state.tick(1);
    ctx.write_conf(id, &conf);
    if args.flag("start", false) == Some(true) {
        start_container(ctx, id, conf, argv)?;
    }
    Ok(Printed::default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use phoenix_pve::parse_conf;

    #[test]
    fn names() {
        assert!(is_config_id("final-form"));
        assert!(is_config_id("Pre_Kernel_Update"));
        assert!(!is_config_id("1st"));
        assert!(!is_config_id("a"));
        assert!(!is_config_id(&"x".repeat(41)));
    }

    #[test]
    fn rollback_keeps_description_and_unused() {
        let conf = parse_conf(
            "#notes\nmemory: 4096\nparent: bb\nunused0: local-zfs:subvol-1-disk-9\n\n[aa]\n#snap notes\nmemory: 2048\nsnaptime: 5\n",
        )
        .expect("conf");
        let main = applied(&conf, "aa", &conf.snapshots["aa"]);
        assert_eq!(main.description.as_deref(), Some("notes\n"));
        assert_eq!(main.get("memory"), Some("2048"));
        assert_eq!(main.get("parent"), Some("aa"));
        assert_eq!(main.get("snaptime"), None);
        assert_eq!(main.get("unused0"), Some("local-zfs:subvol-1-disk-9"));
    }
}
