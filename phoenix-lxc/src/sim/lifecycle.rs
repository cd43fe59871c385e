//! `pct create`, `pct clone` and `pct destroy` (pve-container `API2/LXC.pm` `create_vm`,
//! `clone_vm`, `destroy_vm`; `fixtures/proxmox/SOURCES.md` §3).
//!
//! `create <vmid> <ostemplate> [OPTIONS]`: the options are checked first (parameter errors), then
//! the id (`CT <vmid> already exists on node '<node>'`), then each storage (`storage 'x' does not
//! exist`; a storage without `rootdir` content is the parameter error of
//! `pct-error.param-verification.1.txt`). Without `--rootfs` the root volume is
//! `<--storage, default local>:4`. Volumes are allocated on zfspool storages as the plugin names
//! them; other storage types are not emulated. The template is a path or
//! `<storage>:vztmpl/<file>` (a `dir` storage's `<path>/template/cache/<file>`) and its archive
//! must exist in the node's files, else `unable to create CT <vmid> - can't find file
//! '<ostemplate>'` (and nothing is left behind). Output, as `pct-create.zfs.1.txt` (a zfspool
//! subvol needs no mkfs): `extracting archive '<path>'`, tar's `Total bytes read: N (…MiB,
//! …MiB/s)`, `Detected container architecture: <arch>`, then one SSH host key per type when the
//! template has `/etc/ssh` (rsa, ed25519, ecdsa; Perl hash order, here fixed; the fingerprint is
//! derived from the id). The config gets the given options (stored as `pct set` stores them) plus
//! `arch` and `ostype` from the template, `hostname` `CT<vmid>`, `memory` 512 and `swap` 512 by
//! default, and `unprivileged: 1` unless `--unprivileged 0`.
//!
//! `clone <vmid> <newid> [--snapname S] [--hostname H] [--description D] [--storage ST]
//! [--full]`: a full copy (linked clones need a template, which is not emulated). Refusals:
//! `parameter 'storage' not allowed for linked clones`, `snapshot 'S' does not exist`,
//! `unable to clone mountpoint 'mpN' (type bind)` (bind and device mount points),
//! `Cannot do full clones on a running container without snapshots`. The new config is the
//! source's (or the snapshot's, including its description) with new MACs and without
//! `parent`, `snaptime`, `snapstate`, `template` and pending changes. Output per volume (rootfs,
//! then mount points): `create full clone of mountpoint <key> (<volid>)` and rsync's `--stats`
//! summary; its figures are derived from the simulated file tree, not from a real template. The
//! copy is the snapshot's state; the clone's `/etc/machine-id` is emptied (post-clone hook), and
//! the source's firewall file replaces the clone's (pve-firewall's `clone_vmfw_conf`).
//!
//! `destroy <vmid> [--purge] [--force]`: refuses a running container (`unable to destroy CT
//! <vmid> - container is running`) unless `--force` (which warns and stops it) and a protected one
//! (`can't remove CT <vmid> - protection mode enabled`); removes the config, the container's
//! volumes (not bind mounts) and its firewall file; `--purge` prints `purging CT <vmid> from
//! related configurations..`.

use std::collections::BTreeSet;

use phoenix_core::sim::SimFile;
use phoenix_pve::{
    Conf, Section, VolumeSource, format_net, parse_bool, parse_mount_point, parse_net,
};

use super::args::{Failure, Kind, Printed, Step, config_option, indexed, usage};
use super::ctx::{Ctx, check_lock, section_volumes, stable_hash};
use super::fs::normalize;
use super::pct::{expect_positional, id_at, lock_for_change, parse};
use super::power::{start_container, stop_container};
use super::settings::{check_config_options, realize_mount, stored_value};
use super::state::{ContainerState, Content};

/// tar's `--totals` figure (gnulib `human_readable`, base 1024, rounded up): `496MiB`,
/// `1.2GiB`.
fn tar_human(bytes: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < units.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if value < 10.0 && unit > 0 {
        format!("{:.1}{}", (value * 10.0).ceil() / 10.0, units[unit])
    } else {
        format!("{}{}", value.ceil() as u64, units[unit])
    }
}

/// A SHA256 fingerprint as `ssh-keygen -E sha256` prints it (43 base64 characters), derived from
/// `parts`.
fn fingerprint(parts: &[&str]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::from("SHA256:");
    let mut seed = stable_hash(parts);
    for _ in 0..43 {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        out.push(char::from(
            ALPHABET[usize::try_from(seed >> 58).unwrap_or(0)],
        ));
    }
    out
}

/// The template archive `ostemplate` names: its path on the node.
fn template_path(ctx: &Ctx<'_, '_>, ostemplate: &str, argv: &[String]) -> Step<String> {
    if ostemplate.starts_with('/') {
        return Ok(normalize(ostemplate));
    }
    let Some((storage, volume)) = ostemplate.split_once(':') else {
        return Err(Failure::not_emulated(argv));
    };
    let Some(file) = volume.strip_prefix("vztmpl/") else {
        return Err(Failure::not_emulated(argv));
    };
    let storage = ctx.storage(storage)?;
    match storage.options.get("path") {
        Some(path) => Ok(normalize(&format!("{path}/template/cache/{file}"))),
        None => Err(Failure::not_emulated(argv)),
    }
}

/// `pct create <vmid> <ostemplate> [OPTIONS]`.
pub(crate) fn create(ctx: &mut Ctx<'_, '_>, argv: &[String]) -> Step<Printed> {
    let args = parse(argv, &|name| match name {
        "storage" | "password" | "ssh-public-keys" | "pool" | "bwlimit" => Some(Kind::Text),
        "start" | "ignore-unpack-errors" | "unique" => Some(Kind::Bool),
        _ => config_option(name),
    })?;
    let id = id_at(&args, 0, argv)?;
    expect_positional(&args, 2, argv)?;
    let ostemplate = args.positional[1].clone();
    let options: Vec<(String, String)> = args
        .unique_options()
        .into_iter()
        .filter(|(name, _)| config_option(name).is_some())
        .collect();
    let mut errors = check_config_options(&options);
    for flag in ["start", "ignore-unpack-errors", "unique"] {
        if let Some(value) = args.get(flag) {
            super::args::check_bool(flag, value, &mut errors);
        }
    }
    if !errors.is_empty() {
        return Err(Failure::param(&errors, &usage("create")));
    }
    ctx.vmid_unused(id)?;
    ctx.flock(id)?;
    let unprivileged = args.flag("unprivileged", true).unwrap_or(true);
    let default_storage = args.get("storage").unwrap_or("local").to_owned();
    let path = template_path(ctx, &ostemplate, argv)?;
    let mut mounts: Vec<(String, String)> = options
        .iter()
        .filter(|(name, _)| name == "rootfs" || indexed(name, "mp", 256))
        .cloned()
        .collect();
    if mounts.iter().any(|(name, _)| name != "rootfs")
        && !mounts.iter().any(|(name, _)| name == "rootfs")
    {
        return Err(Failure::die(
            "mount points configured, but 'rootfs' not set - aborting",
        ));
    }
    // Storage checks, in Proxmox's order: the mount points' storages, then the default.
    for (_, value) in &mounts {
        let mount = parse_mount_point(value).map_err(|_| Failure::not_emulated(argv))?;
        let storage = match mount.source() {
            VolumeSource::New { storage, .. } => storage.unwrap_or_else(|| default_storage.clone()),
            VolumeSource::Storage { .. } => return Err(Failure::not_emulated(argv)),
            VolumeSource::Bind(_) | VolumeSource::Device(_) => continue,
        };
        check_rootdir(ctx, &storage)?;
    }
    if !mounts.iter().any(|(name, _)| name == "rootfs") {
        check_rootdir(ctx, &default_storage)?;
        mounts.insert(0, ("rootfs".to_owned(), format!("{default_storage}:4")));
    }
    let template = ctx.template_spec(&ostemplate, &path);
    if ctx.read(&path).is_none() {
        return Err(Failure::die(format!(
            "unable to create CT {id} - can't find file '{ostemplate}'"
        )));
    }
    let Some((base, template)) = template else {
        return Err(Failure {
            status: super::args::NOT_EMULATED,
            stdout: String::new(),
            stderr: format!(
                "phoenix sim: `{}` is not emulated: the contents of template {path} are not declared (tools.pct.templates)\n",
                argv.join(" ")
            ),
        });
    };
    let now = ctx.state.tick(3);
    let mut conf = Conf::default();
    mounts.sort_by_key(|(name, _)| {
        name.strip_prefix("mp")
            .and_then(|n| n.parse::<u32>().ok())
            .map_or(0, |n| n + 1)
    });
    let mut root_content = Some(Content {
        base: Some(base),
        ..Content::default()
    });
    for (name, value) in &mounts {
        let content = if name == "rootfs" {
            root_content.take().unwrap_or_default()
        } else {
            Content::default()
        };
        let stored = realize_mount(
            ctx,
            id,
            value,
            Some(&default_storage),
            name != "rootfs",
            content,
            argv,
        )?;
        conf.main.set(name, stored);
    }
    for (name, value) in &options {
        if name == "rootfs" || indexed(name, "mp", 256) || name == "unprivileged" {
            continue;
        }
        if name == "description" {
            conf.main.description = (!value.is_empty()).then(|| value.clone());
            continue;
        }
        conf.main.set(name, stored_value(ctx, id, name, value));
    }
    if conf.main.get("arch").is_none() {
        conf.main.set("arch", template.arch.clone());
    }
    conf.main.set("ostype", template.ostype.clone());
    if conf.main.get("hostname").is_none() {
        conf.main.set("hostname", format!("CT{id}"));
    }
    if conf.main.get("memory").is_none() {
        conf.main.set("memory", "512");
    }
    if conf.main.get("swap").is_none() {
        conf.main.set("swap", "512");
    }
    if unprivileged {
        conf.main.set("unprivileged", "1");
    }
    let mut stdout = format!(
        "extracting archive '{path}'\nTotal bytes read: {} ({}, {}/s)\nDetected container architecture: {}\n",
        template.size,
        tar_human(template.size),
        tar_human(template.rate << 20),
        template.arch
    );
    let key_host = args
        .get("hostname")
        .map(|name| name.split('.').next().unwrap_or_default().to_owned())
        .unwrap_or_else(|| "localhost".to_owned());
    let rootfs = conf
        .main
        .get("rootfs")
        .and_then(|value| parse_mount_point(value).ok())
        .map(|mount| mount.volume)
        .unwrap_or_default();
    let has_ssh = template
        .files
        .keys()
        .chain(
            template
                .packages
                .values()
                .flat_map(|package| package.files.keys()),
        )
        .any(|file| normalize(file).starts_with("/etc/ssh/"));
    if has_ssh {
        for kind in &template.ssh_keys {
            let basename = format!("ssh_host_{kind}_key");
            stdout.push_str(&format!(
                "Creating SSH host key '{basename}' - this may take some time ...\ndone: {} root@{key_host}\n",
                fingerprint(&[&id.to_string(), kind.as_str(), &now.to_string()])
            ));
            let files = &mut ctx.content_mut(&rootfs).files;
            files.insert(
                format!("/etc/ssh/{basename}"),
                SimFile::new(
                    format!("-----BEGIN OPENSSH PRIVATE KEY-----\nphoenix-sim {kind} {id}\n-----END OPENSSH PRIVATE KEY-----\n"),
                    0o600,
                    "root:root",
                ),
            );
            files.insert(
                format!("/etc/ssh/{basename}.pub"),
                SimFile::new(
                    format!("ssh-{kind} phoenix-sim root@{key_host}\n"),
                    0o644,
                    "root:root",
                ),
            );
        }
    }
    if ctx.state.volumes.contains_key(&rootfs) {
        let hostname = args.get("hostname").unwrap_or("localhost");
        let line = format!("{}\n", hostname.split('.').next().unwrap_or_default());
        ctx.content_mut(&rootfs).files.insert(
            "/etc/hostname".to_owned(),
            SimFile::new(line, 0o644, "root:root"),
        );
    }
    ctx.write_conf(id, &conf);
    ctx.state.containers.insert(id, ContainerState::default());
    if args.flag("start", false) == Some(true) {
        start_container(ctx, id, conf, argv).map_err(|failure| failure.after(&stdout))?;
    }
    Ok(Printed::out(stdout))
}

/// `check_and_activate_storage`: the storage must exist and take container directories.
fn check_rootdir(ctx: &Ctx<'_, '_>, storage: &str) -> Step<()> {
    let found = ctx.storage(storage)?;
    if !found.has_content("rootdir") {
        return Err(Failure::param(
            &[(
                "storage".to_owned(),
                format!("storage '{storage}' does not support container directories"),
            )],
            &usage("create"),
        ));
    }
    Ok(())
}

/// `1234567` as `1,234,567` (rsync runs on the host and groups digits).
pub(crate) fn group_digits(number: u64) -> String {
    let digits = number.to_string();
    let mut out = String::new();
    for (at, digit) in digits.chars().enumerate() {
        if at > 0 && (digits.len() - at).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// rsync's `--stats` summary for copying `content` (see the module documentation).
fn rsync_stats(content: &Content) -> String {
    let mut files: BTreeSet<&str> = content.files.keys().map(String::as_str).collect();
    for package in content.packages.values() {
        files.extend(package.commands.iter().map(String::as_str));
    }
    let mut dirs: BTreeSet<String> = content.dirs.iter().cloned().collect();
    for path in files
        .iter()
        .copied()
        .chain(content.dirs.iter().map(String::as_str))
    {
        let mut at = path.len();
        while let Some(slash) = path[..at].rfind('/') {
            if slash == 0 {
                break;
            }
            dirs.insert(path[..slash].to_owned());
            at = slash;
        }
    }
    let reg = files.len() as u64;
    let dir = dirs.len() as u64 + 1;
    let total = reg + dir;
    let size: u64 = content
        .files
        .values()
        .map(|file| file.content.len() as u64)
        .sum();
    let flist = total * 40;
    let sent = size + flist + total * 60 + 1_000;
    let received = reg * 19 + 250;
    let rate = (sent + received) as f64 / 1.5;
    let speedup = size as f64 / (sent + received) as f64;
    let counts = |total: u64, dir: u64| {
        let mut parts = Vec::new();
        if reg > 0 {
            parts.push(format!("reg: {}", group_digits(reg)));
        }
        if dir > 0 {
            parts.push(format!("dir: {}", group_digits(dir)));
        }
        if parts.is_empty() {
            group_digits(total)
        } else {
            format!("{} ({})", group_digits(total), parts.join(", "))
        }
    };
    let whole = rate.trunc() as u64;
    let cents = ((rate - rate.trunc()) * 100.0).round() as u64;
    format!(
        "\nNumber of files: {}\nNumber of created files: {}\nNumber of deleted files: 0\nNumber of regular files transferred: {}\nTotal file size: {} bytes\nTotal transferred file size: {} bytes\nLiteral data: {} bytes\nMatched data: 0 bytes\nFile list size: {}\nFile list generation time: 0.001 seconds\nFile list transfer time: 0.000 seconds\nTotal bytes sent: {}\nTotal bytes received: {}\n\nsent {} bytes  received {} bytes  {}.{cents:02} bytes/sec\ntotal size is {}  speedup is {speedup:.2}\n",
        counts(total, dir),
        counts(total - 1, dir - 1),
        group_digits(reg),
        group_digits(size),
        group_digits(size),
        group_digits(size),
        group_digits(flist),
        group_digits(sent),
        group_digits(received),
        group_digits(sent),
        group_digits(received),
        group_digits(whole),
        group_digits(size),
    )
}

/// `pct clone <vmid> <newid> [OPTIONS]`.
pub(crate) fn clone(ctx: &mut Ctx<'_, '_>, argv: &[String]) -> Step<Printed> {
    let args = parse(argv, &|name| match name {
        "snapname" | "hostname" | "description" | "storage" | "pool" | "target" | "bwlimit" => {
            Some(Kind::Text)
        }
        "full" => Some(Kind::Bool),
        _ => None,
    })?;
    let id = id_at(&args, 0, argv)?;
    let new_id = id_at(&args, 1, argv)?;
    expect_positional(&args, 2, argv)?;
    if args.get("target").is_some() || args.get("pool").is_some() {
        return Err(Failure::not_emulated(argv));
    }
    let source = lock_for_change(ctx, id)?;
    ctx.vmid_unused(new_id)?;
    ctx.flock(new_id)?;
    let running = ctx.state.is_running(id);
    let template = source
        .main
        .get("template")
        .is_some_and(|value| value == "1");
    let full = args
        .flag("full", !template)
        .ok_or_else(|| Failure::not_emulated(argv))?;
    let storage = args.get("storage").map(str::to_owned);
    if storage.is_some() && !full {
        return Err(Failure::die(
            "parameter 'storage' not allowed for linked clones",
        ));
    }
    let snapname = args.get("snapname").map(str::to_owned);
    let section = match &snapname {
        Some(name) => source
            .snapshots
            .get(name)
            .cloned()
            .ok_or_else(|| Failure::die(format!("snapshot '{name}' does not exist")))?,
        None => source.main.clone(),
    };
    let mut new = Section::new();
    let mut copies: Vec<(String, phoenix_pve::MountPoint)> = Vec::new();
    let mut sorted = section.keys.clone();
    sorted.sort();
    for (key, value) in &sorted {
        if key.starts_with("unused") {
            continue;
        }
        if key == "rootfs" || indexed(key, "mp", 256) {
            let mount = parse_mount_point(value).map_err(|_| Failure::not_emulated(argv))?;
            match mount.source() {
                VolumeSource::Storage {
                    storage: source_storage,
                    ..
                } => {
                    let target = storage.clone().unwrap_or(source_storage);
                    ctx.storage(&target)?;
                    if !full {
                        return Err(Failure::die(format!(
                            "Linked clone feature for '{}' is not available",
                            mount.volume
                        )));
                    }
                    if running && snapname.is_none() {
                        return Err(Failure::die(
                            "Cannot do full clones on a running container without snapshots",
                        ));
                    }
                    copies.push((key.clone(), mount));
                }
                VolumeSource::Bind(_) => {
                    return Err(Failure::die(format!(
                        "unable to clone mountpoint '{key}' (type bind)"
                    )));
                }
                _ => {
                    return Err(Failure::die(format!(
                        "unable to clone mountpoint '{key}' (type device)"
                    )));
                }
            }
        } else if indexed(key, "net", 32) {
            let mut net = parse_net(value).map_err(|_| Failure::not_emulated(argv))?;
            net.props
                .set("hwaddr", ctx.mac(&[&new_id.to_string(), key]));
            new.set(key, format_net(&net));
        } else if !matches!(
            key.as_str(),
            "parent" | "snaptime" | "snapstate" | "template" | "lock"
        ) {
            new.set(key, value.clone());
        }
    }
    new.lxc = section.lxc.clone();
    new.description.clone_from(&section.description);
    if let Some(hostname) = args.get("hostname") {
        new.set("hostname", hostname);
    }
    if let Some(description) = args.get("description").filter(|d| !d.is_empty()) {
        new.description = Some(description.to_owned());
    }
    ctx.state.tick(3);
    copies.sort_by_key(|(key, _)| {
        key.strip_prefix("mp")
            .and_then(|n| n.parse::<u32>().ok())
            .map_or(0, |n| n + 1)
    });
    let mut stdout = String::new();
    for (key, mut mount) in copies {
        let Some(volume) = ctx.volume(&mount.volume).cloned() else {
            return Err(Failure::not_emulated(argv));
        };
        let content = match &snapname {
            Some(name) => match volume.snapshots.get(name) {
                Some(snapshot) => snapshot.content.clone(),
                None => return Err(Failure::not_emulated(argv)),
            },
            None => volume.content.clone(),
        };
        stdout.push_str(&format!(
            "create full clone of mountpoint {key} ({})\n",
            mount.volume
        ));
        stdout.push_str(&rsync_stats(&ctx.materialize(&content)));
        let source_storage = mount
            .volume
            .split(':')
            .next()
            .unwrap_or_default()
            .to_owned();
        let target = ctx.storage(&storage.clone().unwrap_or(source_storage))?;
        let volid = ctx.alloc_volume(&target, new_id, volume.size, content, argv)?;
        if key == "rootfs"
            && let Some(machine_id) = ctx.content_mut(&volid).files.get_mut("/etc/machine-id")
        {
            machine_id.content.clear();
        }
        mount.volume = volid;
        mount.size = Some(volume.size);
        new.set(
            &key,
            phoenix_pve::format_mount_point(&mount, key != "rootfs"),
        );
    }
    let conf = Conf::from_main(new);
    ctx.write_conf(new_id, &conf);
    // `clone_vmfw_conf` (pve-firewall's Firewall/Helpers.pm): the clone's firewall file is
    // replaced by a copy of the source's, or removed when the source has none.
    let (source_fw, clone_fw) = (
        format!("/etc/pve/firewall/{id}.fw"),
        format!("/etc/pve/firewall/{new_id}.fw"),
    );
    ctx.remove(&clone_fw);
    if let Some(file) = ctx.read(&source_fw) {
        ctx.write(&clone_fw, file);
    }
    ctx.state
        .containers
        .insert(new_id, ContainerState::default());
    Ok(Printed::out(stdout))
}

/// `pct destroy <vmid> [--purge] [--force] [--destroy-unreferenced-disks]`.
pub(crate) fn destroy(ctx: &mut Ctx<'_, '_>, argv: &[String]) -> Step<Printed> {
    let args = parse(argv, &|name| match name {
        "purge" | "force" | "destroy-unreferenced-disks" => Some(Kind::Bool),
        _ => None,
    })?;
    let id = id_at(&args, 0, argv)?;
    expect_positional(&args, 1, argv)?;
    let conf = ctx.conf(id)?;
    if conf.main.get("protection").and_then(parse_bool) == Some(true) {
        return Err(Failure::die(format!(
            "can't remove CT {id} - protection mode enabled"
        )));
    }
    check_lock(&conf)?;
    let force = args.flag("force", false) == Some(true);
    let running = ctx.state.is_running(id);
    if running && !force {
        return Err(Failure::die(format!(
            "unable to destroy CT {id} - container is running"
        )));
    }
    ctx.flock(id)?;
    let mut printed = Printed::default();
    if running {
        printed
            .stderr
            .push_str(&format!("forced to stop CT {id} before destroying!\n"));
        stop_container(ctx, id);
    }
    let mut volumes: BTreeSet<String> = section_volumes(&conf.main)
        .into_iter()
        .map(|(_, volid)| volid)
        .collect();
    for section in conf.snapshots.values() {
        volumes.extend(section_volumes(section).into_iter().map(|(_, volid)| volid));
    }
    volumes.extend(
        conf.main
            .keys
            .iter()
            .filter(|(key, _)| key.starts_with("unused"))
            .map(|(_, volid)| volid.clone()),
    );
    if args.flag("destroy-unreferenced-disks", false) == Some(true) {
        let marker = format!(":subvol-{id}-disk-");
        volumes.extend(
            ctx.state
                .volumes
                .keys()
                .filter(|volid| volid.contains(&marker))
                .cloned(),
        );
    }
    for volid in volumes {
        ctx.state.volumes.remove(&volid);
    }
    ctx.remove(&format!("/etc/pve/firewall/{id}.fw"));
    if args.flag("purge", false) == Some(true) {
        printed
            .stdout
            .push_str(&format!("purging CT {id} from related configurations..\n"));
    }
    ctx.remove(&super::ctx::conf_path(id));
    ctx.state.containers.remove(&id);
    ctx.state.tick(1);
    Ok(printed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tar_totals_match_the_samples() {
        assert_eq!(tar_human(519_987_200), "496MiB");
        assert_eq!(tar_human(1_030_942_720), "984MiB");
        assert_eq!(tar_human(1_282_744_320), "1.2GiB");
        assert_eq!(tar_human(150 << 20), "150MiB");
    }

    #[test]
    fn fingerprints_look_like_ssh_keygen() {
        let print = fingerprint(&["150", "rsa"]);
        assert_eq!(print.len(), "SHA256:".len() + 43);
        assert_eq!(print, fingerprint(&["150", "rsa"]));
        assert_ne!(print, fingerprint(&["150", "ecdsa"]));
    }

    #[test]
    fn rsync_summary_shape() {
        let mut content = Content::default();
        content
            .files
            .insert("/etc/hostname".to_owned(), SimFile::text("ct\n"));
        let text = rsync_stats(&content);
        assert!(
            text.starts_with("\nNumber of files: 3 (reg: 1, dir: 2)\n"),
            "{text}"
        );
        assert!(
            text.contains("\nNumber of created files: 2 (reg: 1, dir: 1)\n"),
            "{text}"
        );
        assert!(text.contains("\ntotal size is 3  speedup is "), "{text}");
    }
}
