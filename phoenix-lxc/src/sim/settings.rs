//! `pct set` and `pct resize`, and the pending-change machinery `pct start` also uses.
//!
//! Based on pve-container `LXC/Config.pm` (`update_pct_config`, `vmconfig_hotplug_pending`,
//! `vmconfig_apply_pending`, `apply_pending_mountpoint`) and `API2/LXC.pm` (`resize_vm`):
//!
//! - Every change is first written to the pending section, then applied. A stopped container
//!   applies it at once. A running one applies only what can change live: `description`,
//!   `onboot`, `startup`, `protection`, `hostname`, `hookscript`, `cores`, `tags`, `lock` (the
//!   "fastplug" options), `memory`, `swap`, `cpulimit`, `cpuunits`, `netN`, and a new `mpN` or
//!   `devN`; everything else (`features`, a changed `mpN`, `nameserver`, ...) stays in
//!   `[pve:pending]` until the next start. `pct set` prints nothing.
//! - Values are stored as the API stores them: `netN` canonical (`name=` first, the rest sorted,
//!   `hwaddr` generated when missing, `type=veth`), a new volume `<storage>:<GiB>` allocated as
//!   `<storage>:subvol-<vmid>-disk-<n>,mp=...,size=<n>G`, booleans as 0/1, `tags` split, sorted,
//!   lowercased and joined with `;`; `features` and `startup` as given.
//! - A removed or replaced volume mount point is kept as `unusedN`, not destroyed.
//! - Errors: `unable to modify read-only option: 'unprivileged'`, `unable to delete required
//!   option 'memory'` (also `rootfs`, `ostype`), `unable to delete read-only option:
//!   'unprivileged'`; deleting an unset key only warns (`cannot delete 'x' - not set in current
//!   configuration!`).
//! - `pct resize <vmid> <disk> [+]<size>` grows the volume and the config's `size=`; a smaller
//!   size fails with `unable to shrink disk size`, the same size with `disk is already at
//!   specified size` (pve-container 6). It prints nothing for a zfspool subvol.

use phoenix_pve::{
    Conf, MountPoint, PendingDelete, Section, StorageSection, VolumeSource, format_mount_point,
    format_net, format_pending_deletions, parse_mount_point, parse_net, parse_size, parse_startup,
    pending_deletions,
};
use std::collections::BTreeSet;

use super::args::{
    Failure, Kind, Printed, Step, check_bool, check_int, config_option, indexed, usage,
};
use super::ctx::Ctx;
use super::pct::{expect_positional, id_at, lock_for_change, parse};
use super::state::Content;

/// Options applied on a running container at once, without a restart.
const FASTPLUG: &[&str] = &[
    "description",
    "onboot",
    "startup",
    "protection",
    "hostname",
    "hookscript",
    "cores",
    "tags",
    "lock",
];

/// Boolean config options, written 0/1.
const BOOLEANS: &[&str] = &[
    "onboot",
    "protection",
    "unprivileged",
    "console",
    "template",
    "debug",
];

/// Whether `name` is a valid DNS name (`dns-name` format: labels of letters, digits and `-`).
fn is_dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// Schema checks of config options: `(param, message)` errors, as `400 Parameter verification
/// failed.` lists them.
pub(crate) fn check_config_options(options: &[(String, String)]) -> Vec<(String, String)> {
    let mut errors = Vec::new();
    for (name, value) in options {
        match config_option(name) {
            Some(Kind::Int) => check_int(name, value, &mut errors),
            Some(Kind::Bool) => check_bool(name, value, &mut errors),
            _ => {}
        }
        if name == "hostname" && !is_dns_name(value) {
            errors.push((
                name.clone(),
                "invalid format - value does not look like a valid DNS name".to_owned(),
            ));
        }
        if indexed(name, "net", 32)
            && let Err(err) = parse_net(value)
        {
            errors.push((name.clone(), format!("invalid format - {}", err.reason)));
        }
        if name == "startup"
            && let Err(err) = parse_startup(value)
        {
            errors.push((name.clone(), format!("invalid format - {}", err.reason)));
        }
        if (name == "rootfs" || indexed(name, "mp", 256)) && parse_mount_point(value).is_err() {
            errors.push((name.clone(), "invalid format - format error".to_owned()));
        }
    }
    errors
}

/// `tags` as the API stores them: split on `;`, `,` or blanks, lowercased, de-duplicated and
/// sorted, joined with `;`.
fn unique_tags(value: &str) -> String {
    let tags: BTreeSet<String> = value
        .split([';', ',', ' '])
        .filter(|tag| !tag.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    tags.into_iter().collect::<Vec<_>>().join(";")
}

/// A value as the API stores it (see the module documentation); `netN` gets a MAC if it has
/// none.
pub(crate) fn stored_value(ctx: &Ctx<'_, '_>, id: u32, name: &str, value: &str) -> String {
    if BOOLEANS.contains(&name) {
        return match phoenix_pve::parse_bool(value) {
            Some(true) => "1".to_owned(),
            _ => "0".to_owned(),
        };
    }
    if name == "tags" {
        return unique_tags(value);
    }
    if name == "nameserver" || name == "searchdomain" {
        return value
            .split([',', ';', ' '])
            .filter(|item| !item.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
    }
    if indexed(name, "net", 32)
        && let Ok(mut net) = parse_net(value)
    {
        if net.props.get("hwaddr").is_none() {
            net.props.set("hwaddr", ctx.mac(&[&id.to_string(), name]));
        }
        net.props.set("type", "veth");
        return format_net(&net);
    }
    value.to_owned()
}

/// The storage of a new volume request, checked as `create` and `set` check it: it must exist
/// and allow container directories.
fn volume_storage(
    ctx: &Ctx<'_, '_>,
    storage: &str,
    param: &str,
    argv: &[String],
) -> Step<StorageSection> {
    let storage = ctx.storage(storage)?;
    if !storage.has_content("rootdir") {
        let message = if argv.get(1).is_some_and(|sub| sub == "create") {
            Failure::param(
                &[(
                    param.to_owned(),
                    format!(
                        "storage '{}' does not support container directories",
                        storage.id
                    ),
                )],
                &usage("create"),
            )
        } else {
            Failure::die(format!(
                "storage '{}' does not allow content type 'rootdir' (Container)",
                storage.id
            ))
        };
        return Err(message);
    }
    Ok(storage)
}

/// Allocates the volume a `<storage>:<GiB>` request asks for and returns the stored mount point
/// (`with_path` for `mpN`). Other requests are only re-printed canonically.
pub(crate) fn realize_mount(
    ctx: &mut Ctx<'_, '_>,
    id: u32,
    value: &str,
    default_storage: Option<&str>,
    with_path: bool,
    content: Content,
    argv: &[String],
) -> Step<String> {
    let mut mount = parse_mount_point(value).map_err(|_| Failure::not_emulated(argv))?;
    if let VolumeSource::New { storage, gib } = mount.source() {
        let Some(storage) = storage.or_else(|| default_storage.map(str::to_owned)) else {
            return Err(Failure::not_emulated(argv));
        };
        let storage = volume_storage(ctx, &storage, "storage", argv)?;
        let size = parse_size(&format!("{gib}G")).ok_or_else(|| Failure::not_emulated(argv))?;
        let volid = ctx.alloc_volume(&storage, id, size, content, argv)?;
        mount.volume = volid;
        mount.size = Some(size);
    } else if let VolumeSource::Storage { storage, .. } = mount.source() {
        volume_storage(ctx, &storage, "storage", argv)?;
        if ctx.volume(&mount.volume).is_none() {
            return Err(Failure::not_emulated(argv));
        }
    }
    Ok(format_mount_point(&mount, with_path))
}

/// `add_unused_volume`: records `volid` as the lowest free `unusedN` (once).
fn add_unused(section: &mut Section, volid: &str) {
    if section
        .keys
        .iter()
        .any(|(key, value)| key.starts_with("unused") && value == volid)
    {
        return;
    }
    let free = (0..256)
        .map(|n| format!("unused{n}"))
        .find(|key| section.get(key).is_none())
        .expect("invariant: fewer than 256 unused volumes");
    section.set(&free, volid);
}

/// The storage volume of a mount point value, if it is one.
fn storage_volume(value: &str) -> Option<String> {
    let mount = parse_mount_point(value).ok()?;
    matches!(mount.source(), VolumeSource::Storage { .. }).then_some(mount.volume)
}

/// The pending section, created if missing.
fn pending(conf: &mut Conf) -> &mut Section {
    conf.pending.get_or_insert_with(Section::new)
}

/// The pending `delete:` list.
fn deletions(conf: &Conf) -> Vec<PendingDelete> {
    conf.pending
        .as_ref()
        .map(pending_deletions)
        .unwrap_or_default()
}

/// Takes `key` off the pending `delete:` list.
fn undelete(conf: &mut Conf, key: &str) {
    let kept: Vec<PendingDelete> = deletions(conf)
        .into_iter()
        .filter(|found| found.key != key)
        .collect();
    set_deletions(conf, &kept);
}

/// Replaces the pending `delete:` list (forced deletions keep their `!`).
fn set_deletions(conf: &mut Conf, deletions: &[PendingDelete]) {
    let section = pending(conf);
    if deletions.is_empty() {
        section.remove("delete");
    } else {
        section.set("delete", format_pending_deletions(deletions));
    }
}

/// `cleanup_pending`: drops pending values equal to the current ones and deletions of keys that
/// are not set, then an empty pending section.
fn cleanup_pending(conf: &mut Conf) {
    let Some(section) = conf.pending.as_mut() else {
        return;
    };
    let main = &conf.main;
    section
        .keys
        .retain(|(key, value)| key == "delete" || main.get(key) != Some(value.as_str()));
    let deletions: Vec<PendingDelete> = pending_deletions(section)
        .into_iter()
        .filter(|deletion| main.get(&deletion.key).is_some())
        .collect();
    if deletions.is_empty() {
        section.remove("delete");
    } else {
        section.set("delete", format_pending_deletions(&deletions));
    }
    if section.keys.is_empty() && section.description.is_none() && section.lxc.is_empty() {
        conf.pending = None;
    }
}

/// Applies pending changes (those in `selection`, or all): `vmconfig_apply_pending` for a
/// stopped container, `vmconfig_hotplug_pending` (only what can change live) for a running one.
pub(crate) fn apply_pending(
    ctx: &mut Ctx<'_, '_>,
    id: u32,
    conf: &mut Conf,
    selection: Option<&BTreeSet<String>>,
    running: bool,
    argv: &[String],
) -> Step<()> {
    let selected = |key: &str| selection.is_none_or(|keys| keys.contains(key));
    let Some(section) = conf.pending.clone() else {
        return Ok(());
    };
    let mut deletions = pending_deletions(&section);
    deletions.sort_by(|a, b| a.key.cmp(&b.key));
    let mut remaining: Vec<PendingDelete> = Vec::new();
    for deletion in deletions {
        let key = deletion.key.clone();
        let live = FASTPLUG.contains(&key.as_str())
            || matches!(key.as_str(), "swap" | "cpulimit" | "cpuunits")
            || indexed(&key, "net", 32)
            || key.starts_with("unused");
        if !selected(&key) || (running && !live) {
            remaining.push(deletion);
            continue;
        }
        if indexed(&key, "mp", 256) {
            if let Some(volid) = conf.main.get(&key).and_then(storage_volume) {
                add_unused(&mut conf.main, &volid);
            }
        } else if key.starts_with("unused")
            && let Some(volid) = conf.main.get(&key).map(str::to_owned)
        {
            ctx.state.volumes.remove(&volid);
        }
        conf.main.remove(&key);
    }
    set_deletions(conf, &remaining);
    let mut keys: Vec<(String, String)> = section
        .keys
        .iter()
        .filter(|(key, _)| key != "delete")
        .cloned()
        .collect();
    keys.sort();
    for (key, value) in keys {
        if !selected(&key) {
            continue;
        }
        let exists = conf.main.get(&key).is_some();
        let live = FASTPLUG.contains(&key.as_str())
            || matches!(key.as_str(), "memory" | "swap" | "cpulimit" | "cpuunits")
            || indexed(&key, "net", 32)
            || ((indexed(&key, "mp", 256) || indexed(&key, "dev", 256)) && !exists);
        if running && !live {
            continue;
        }
        let stored = if indexed(&key, "mp", 256) {
            let old = conf.main.get(&key).and_then(storage_volume);
            let stored = realize_mount(ctx, id, &value, None, true, Content::default(), argv)?;
            if let Some(old) = old.filter(|old| storage_volume(&stored).as_deref() != Some(old)) {
                add_unused(&mut conf.main, &old);
            }
            stored
        } else {
            value
        };
        conf.main.set(&key, stored);
        if let Some(section) = conf.pending.as_mut() {
            section.remove(&key);
        }
    }
    cleanup_pending(conf);
    Ok(())
}

/// `pct set <vmid> [OPTIONS]`.
pub(crate) fn set(ctx: &mut Ctx<'_, '_>, argv: &[String]) -> Step<Printed> {
    let args = parse(argv, &|name| match name {
        "delete" | "revert" | "digest" => Some(Kind::Text),
        _ => config_option(name),
    })?;
    let id = id_at(&args, 0, argv)?;
    expect_positional(&args, 1, argv)?;
    let options: Vec<(String, String)> = args
        .unique_options()
        .into_iter()
        .filter(|(name, _)| !matches!(name.as_str(), "delete" | "revert" | "digest"))
        .collect();
    let errors = check_config_options(&options);
    if !errors.is_empty() {
        return Err(Failure::param(&errors, &usage("set")));
    }
    let list = |name: &str| -> Vec<String> {
        args.get(name)
            .map(|value| {
                value
                    .split([',', ';', ' '])
                    .filter(|key| !key.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let deletes = list("delete");
    let reverts = list("revert");
    if options.is_empty() && deletes.is_empty() && reverts.is_empty() {
        return Err(Failure::die("no options specified"));
    }
    let mut conf = lock_for_change(ctx, id)?;
    let original = conf.clone();
    let running = ctx.state.is_running(id);
    let mut stderr = String::new();
    for key in &reverts {
        if let Some(section) = conf.pending.as_mut() {
            section.remove(key);
        }
        undelete(&mut conf, key);
    }
    let mut selection: BTreeSet<String> = BTreeSet::new();
    for key in &deletes {
        let pending_value = conf.pending.as_ref().and_then(|section| section.get(key));
        let is_set = conf.main.get(key).is_some()
            || pending_value.is_some()
            || (key == "description" && conf.main.description.is_some());
        if !is_set {
            stderr.push_str(&format!(
                "cannot delete '{key}' - not set in current configuration!\n"
            ));
            continue;
        }
        match key.as_str() {
            "memory" | "rootfs" | "ostype" => {
                return Err(Failure::die(format!(
                    "unable to delete required option '{key}'"
                )));
            }
            "unprivileged" => {
                return Err(Failure::die(format!(
                    "unable to delete read-only option: '{key}'"
                )));
            }
            "description" => {
                conf.main.description = None;
                continue;
            }
            _ => {}
        }
        selection.insert(key.clone());
        let mut all = deletions(&conf);
        if !all.iter().any(|found| &found.key == key) {
            all.push(PendingDelete::new(key.clone(), false));
        }
        set_deletions(&mut conf, &all);
        if let Some(section) = conf.pending.as_mut() {
            section.remove(key);
        }
    }
    let mut sorted = options.clone();
    sorted.sort();
    for (name, value) in &sorted {
        if name == "unprivileged" {
            return Err(Failure::die(format!(
                "unable to modify read-only option: '{name}'"
            )));
        }
        if name == "description" {
            conf.main.description = (!value.is_empty()).then(|| value.clone());
            continue;
        }
        if name == "rootfs" || indexed(name, "mp", 256) {
            let mount = parse_mount_point(value).map_err(|_| Failure::not_emulated(argv))?;
            if let VolumeSource::Storage { storage, .. }
            | VolumeSource::New {
                storage: Some(storage),
                ..
            } = mount.source()
            {
                volume_storage(ctx, &storage, name, argv)?;
            }
            if name == "rootfs" || (indexed(name, "mp", 256) && mount.path.is_none()) {
                return Err(Failure::not_emulated(argv));
            }
        }
        selection.insert(name.clone());
        let stored = stored_value(ctx, id, name, value);
        pending(&mut conf).set(name, stored);
        undelete(&mut conf, name);
    }
    cleanup_pending(&mut conf);
    apply_pending(ctx, id, &mut conf, Some(&selection), running, argv)?;
    if conf != original {
        ctx.state.tick(1);
        ctx.write_conf(id, &conf);
    }
    Ok(Printed {
        stdout: String::new(),
        stderr,
    })
}

/// `pct resize <vmid> <disk> [+]<size>`.
pub(crate) fn resize(ctx: &mut Ctx<'_, '_>, argv: &[String]) -> Step<Printed> {
    let args = parse(argv, &|name| (name == "digest").then_some(Kind::Text))?;
    let id = id_at(&args, 0, argv)?;
    expect_positional(&args, 3, argv)?;
    let disk = args.positional[1].clone();
    let size_text = args.positional[2].clone();
    if disk != "rootfs" && !indexed(&disk, "mp", 256) {
        return Err(Failure::param(
            &[(
                "disk".to_owned(),
                format!(
                    "value '{disk}' does not have a value in the enumeration 'rootfs, mp0, mp1, ...'"
                ),
            )],
            &usage("resize"),
        ));
    }
    let (grow, number) = match size_text.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, size_text.as_str()),
    };
    let Some(requested) = parse_size(number) else {
        return Err(Failure::param(
            &[(
                "size".to_owned(),
                "value does not match the regex pattern".to_owned(),
            )],
            &usage("resize"),
        ));
    };
    let mut conf = lock_for_change(ctx, id)?;
    let Some(value) = conf.main.get(&disk).map(str::to_owned) else {
        return Err(Failure::not_emulated(argv));
    };
    let mut mount: MountPoint =
        parse_mount_point(&value).map_err(|_| Failure::not_emulated(argv))?;
    let Some(current) = ctx.volume(&mount.volume).map(|volume| volume.size) else {
        return Err(Failure::not_emulated(argv));
    };
    let new_size = if grow { current + requested } else { requested };
    if new_size < current {
        return Err(Failure::die("unable to shrink disk size"));
    }
    if new_size == current {
        return Err(Failure::die("disk is already at specified size"));
    }
    ctx.volume_mut(&mount.volume).size = new_size;
    mount.size = Some(new_size);
    conf.main
        .set(&disk, format_mount_point(&mount, disk != "rootfs"));
    ctx.state.tick(1);
    ctx.write_conf(id, &conf);
    Ok(Printed::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_dns_names() {
        assert_eq!(unique_tags("ML;gpu,ml gpu"), "gpu;ml");
        assert!(is_dns_name("vllm-embed.lan"));
        assert!(!is_dns_name("bad_name"));
        assert!(!is_dns_name("-x"));
    }

    #[test]
    fn schema_errors() {
        let errors = check_config_options(&[
            ("memory".to_owned(), "lots".to_owned()),
            ("onboot".to_owned(), "maybe".to_owned()),
            ("hostname".to_owned(), "a_b".to_owned()),
            ("cores".to_owned(), "4".to_owned()),
        ]);
        assert_eq!(errors.len(), 3);
    }
}
