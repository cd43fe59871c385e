//! Which lines of a conf's main section are the NVIDIA passthrough, and the edit that turns them
//! into the wanted ones, as pure functions: phoenix-lxc, which writes the conf, uses them, so its
//! diff never mistakes its own GPU lines for foreign raw lines and never touches another line.
//!
//! The passthrough lines are recognised by their shape, the one [`super::passthrough_lines`]
//! writes:
//! - a `devN:` entry whose device is under `/dev/nvidia` (`/dev/nvidia0`, `/dev/nvidia-uvm`,
//!   `/dev/nvidia-caps/nvidia-cap1`, ...);
//! - an `lxc.mount.entry` whose source is under `/dev/nvidia`;
//! - an `lxc.cgroup2.devices.allow: c MAJOR:* rwm` that allows major 195 (`nvidia`), or that
//!   follows a 195 line in a run of such lines directly before an NVIDIA mount entry: Phoenix
//!   writes its cgroup lines as one block, 195 first, then the other allowances, then the
//!   mounts, so a uvm major that moved between boots leaves a line that is still recognised and
//!   replaced, never duplicated, while an operator's allowance just before the block is not.
//!
//! Lines the config itself asks for (`lxc_options`) are the config's, never the passthrough's.

use std::collections::BTreeSet;

use crate::Section;

/// A conf line (key, value).
pub type Line = (String, String);

/// The passthrough lines found in a main section, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    /// `devN:` entries of NVIDIA devices.
    pub dev: Vec<Line>,
    /// Raw `lxc.*` lines of the cgroup form.
    pub raw: Vec<Line>,
}

/// What turns the found lines into the wanted ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Edit {
    /// `devN` entries to set (`pct set --devN VALUE`), at free indexes.
    pub set: Vec<Line>,
    /// `devN` keys to delete (`pct set --delete`).
    pub delete: Vec<String>,
    /// Raw lines to remove from the main section.
    pub remove_raw: Vec<Line>,
    /// Raw lines to write as one block, in place of the removed ones (at the end of the main
    /// section when none was there).
    pub add_raw: Vec<Line>,
}

impl Edit {
    /// Whether nothing changes.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
            && self.delete.is_empty()
            && self.remove_raw.is_empty()
            && self.add_raw.is_empty()
    }
}

/// The highest `devN` index Proxmox takes, plus one.
pub const MAX_DEVICES: u32 = 256;

/// The device of a `devN` value: `/dev/x,gid=44` or `path=/dev/x,gid=44`.
fn dev_path(value: &str) -> &str {
    let first = value.split(',').next().unwrap_or_default();
    first.strip_prefix("path=").unwrap_or(first)
}

/// The number of a `devN` key.
fn dev_index(key: &str) -> Option<u32> {
    key.strip_prefix("dev")
        .filter(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|digits| digits.parse().ok())
        .filter(|index| *index < MAX_DEVICES)
}

fn is_nvidia(path: &str) -> bool {
    path.starts_with("/dev/nvidia")
}

fn is_nvidia_mount((key, value): &Line) -> bool {
    key == "lxc.mount.entry" && value.split_whitespace().next().is_some_and(is_nvidia)
}

/// The major of `c MAJOR:* rwm`.
fn allowed_major((key, value): &Line) -> Option<u32> {
    if key != "lxc.cgroup2.devices.allow" {
        return None;
    }
    let words: Vec<&str> = value.split_whitespace().collect();
    match words[..] {
        ["c", numbers, "rwm"] => numbers.strip_suffix(":*")?.parse().ok(),
        _ => None,
    }
}

/// The passthrough lines of `main`, leaving out the lines in `config` (the config's own).
pub fn found_lines(main: &Section, config: &[Line]) -> Found {
    // A key written twice counts once, with its last value, as Proxmox reads it.
    let dev = main
        .keys
        .iter()
        .enumerate()
        .filter(|(at, (key, _))| !main.keys[at + 1..].iter().any(|(later, _)| later == key))
        .map(|(_, line)| line)
        .filter(|(key, value)| dev_index(key).is_some() && is_nvidia(dev_path(value)))
        .cloned()
        .collect();
    let lines = &main.lxc;
    let mut raw = Vec::new();
    for (at, line) in lines.iter().enumerate() {
        if config.contains(line) {
            continue;
        }
        let owned = is_nvidia_mount(line)
            || match allowed_major(line) {
                Some(195) => true,
                Some(_) => {
                    let before_mount = lines[at + 1..]
                        .iter()
                        .find(|next| allowed_major(next).is_none())
                        .is_some_and(is_nvidia_mount);
                    let after_195 = lines[..at]
                        .iter()
                        .rev()
                        .map_while(allowed_major)
                        .any(|major| major == 195);
                    before_mount && after_195
                }
                None => false,
            };
        if owned {
            raw.push(line.clone());
        }
    }
    Found { dev, raw }
}

/// The edit from `found` to `want` (what [`super::passthrough_lines`] gives, in either form).
/// `devN` entries are matched by value, so their numbers do not matter; a wanted one that is
/// missing gets the lowest index no entry of `main` uses. The raw lines are kept when they are
/// exactly the wanted block, else replaced by it as a whole.
pub fn plan_edit(want: &[Line], found: &Found, main: &Section) -> Edit {
    let mut edit = Edit::default();
    let mut missing: Vec<&String> = want
        .iter()
        .filter(|(key, _)| dev_index(key).is_some())
        .map(|(_, value)| value)
        .collect();
    for (key, value) in &found.dev {
        match missing.iter().position(|wanted| *wanted == value) {
            Some(at) => {
                missing.remove(at);
            }
            None => edit.delete.push(key.clone()),
        }
    }
    let mut used: BTreeSet<u32> = main.keys.iter().filter_map(|(k, _)| dev_index(k)).collect();
    for value in missing {
        let Some(free) = (0..MAX_DEVICES).find(|index| !used.contains(index)) else {
            break;
        };
        used.insert(free);
        edit.set.push((format!("dev{free}"), value.clone()));
    }
    let want_raw: Vec<Line> = want
        .iter()
        .filter(|(key, _)| key.starts_with("lxc."))
        .cloned()
        .collect();
    if found.raw != want_raw {
        edit.remove_raw.clone_from(&found.raw);
        edit.add_raw = want_raw;
    }
    edit
}

#[cfg(test)]
mod tests {
    use super::super::{NvidiaMajors, PassthroughForm, passthrough_lines};
    use super::*;
    use crate::parse_conf;

    fn sample(name: &str) -> Section {
        let path = format!(
            "{}/../../shared/fixtures/proxmox/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        parse_conf(&std::fs::read_to_string(path).expect("the sample"))
            .expect("conf")
            .main
    }

    fn line(key: &str, value: &str) -> Line {
        (key.to_owned(), value.to_owned())
    }

    fn cgroup(uvm: u32, caps: Option<u32>) -> PassthroughForm {
        PassthroughForm::Cgroup(NvidiaMajors {
            nvidia: 195,
            uvm,
            caps,
        })
    }

    #[test]
    fn the_real_confs_passthrough_lines_are_found_and_nothing_else() {
        let dev = found_lines(&sample("lxc-conf.nvidia-dev.1.conf"), &[]);
        assert_eq!(dev.dev.len(), 7, "{dev:?}");
        assert!(dev.raw.is_empty());
        let raw = found_lines(&sample("lxc-conf.nvidia-raw.1.conf"), &[]);
        assert_eq!(raw.raw.len(), 8, "{raw:?}");
        // 106.conf: the operator's serial lines (188, 189), `allow: a` and `cap.drop` after the
        // block are not the passthrough's.
        let mixed = found_lines(&sample("lxc-conf.nvidia-raw.2.conf"), &[]);
        assert_eq!(mixed.raw.len(), 8, "{mixed:?}");
        assert!(
            mixed
                .raw
                .iter()
                .all(|(_, v)| !v.contains("188") && v != "a")
        );
        // The fragment's /dev/dri and /dev/apex_0 lines are not the passthrough's.
        let fragment = found_lines(&sample("lxc-conf.nvidia-raw.fragment.1.conf"), &[]);
        assert_eq!(fragment.raw.len(), 8, "{fragment:?}");
        assert!(
            fragment
                .raw
                .iter()
                .all(|(_, v)| !v.contains("dri") && !v.contains("apex"))
        );
        // /dev/dri passthrough as devN is not NVIDIA's.
        let dri = found_lines(&sample("lxc-conf.dev-passthrough.fragment.1.conf"), &[]);
        assert_eq!(dri, Found::default());
    }

    #[test]
    fn an_allowance_just_before_the_block_is_not_the_passthrough_s() {
        let mut main = Section::new();
        main.lxc = vec![
            line("lxc.cgroup2.devices.allow", "c 188:* rwm"),
            line("lxc.cgroup2.devices.allow", "c 195:* rwm"),
            line("lxc.cgroup2.devices.allow", "c 238:* rwm"),
            line(
                "lxc.mount.entry",
                "/dev/nvidia0 dev/nvidia0 none bind,optional,create=file",
            ),
        ];
        let found = found_lines(&main, &[]);
        assert_eq!(found.raw, main.lxc[1..]);
    }

    /// Found by `cargo fuzz run gpu_passthrough` (the input is kept as a seed): a key written
    /// twice is one entry, as Proxmox reads it, so the edit never deletes the entry it keeps.
    #[test]
    fn a_dev_key_written_twice_is_one_entry() {
        let mut main = Section::new();
        main.keys = vec![
            line("dev0", "/dev/nvidia0,gid=44"),
            line("dev0", "/dev/nvidia0,gid=44"),
            line("dev1", "/dev/nvidiactl,gid=44"),
        ];
        let found = found_lines(&main, &[]);
        assert_eq!(found.dev.len(), 2, "{found:?}");
        let want = vec![
            line("dev0", "/dev/nvidia0,gid=44"),
            line("dev1", "/dev/nvidiactl,gid=44"),
        ];
        assert!(plan_edit(&want, &found, &main).is_empty());
    }

    #[test]
    fn the_config_s_own_lines_are_never_the_passthrough_s() {
        let main = sample("lxc-conf.nvidia-raw.1.conf");
        let config = vec![line("lxc.cgroup2.devices.allow", "c 195:* rwm")];
        let found = found_lines(&main, &config);
        assert!(!found.raw.contains(&config[0]));
    }

    #[test]
    fn edits() {
        let real_raw = sample("lxc-conf.nvidia-raw.1.conf");
        let real_dev = sample("lxc-conf.nvidia-dev.1.conf");
        let caps = ["nvidia-cap1".to_owned(), "nvidia-cap2".to_owned()];
        let dev = PassthroughForm::Dev { gid: 44 };
        // The real PVE 8 conf with GPU 0: only /dev/nvidia-modeset goes (Phoenix passes none).
        let edit = plan_edit(
            &passthrough_lines(&[0], &caps, dev, 0),
            &found_lines(&real_dev, &[]),
            &real_dev,
        );
        assert_eq!(
            edit,
            Edit {
                delete: vec!["dev2".into()],
                ..Edit::default()
            }
        );
        // A second GPU takes the lowest free index.
        let edit = plan_edit(
            &passthrough_lines(&[0, 1], &caps, dev, 0),
            &found_lines(&real_dev, &[]),
            &real_dev,
        );
        assert_eq!(edit.set, vec![line("dev7", "/dev/nvidia1,gid=44")]);
        // The real older conf, same majors: nothing to do; a moved uvm major: the block again.
        let same = plan_edit(
            &passthrough_lines(&[0], &caps, cgroup(511, Some(236)), 0),
            &found_lines(&real_raw, &[]),
            &real_raw,
        );
        assert!(same.is_empty(), "{same:?}");
        let moved = plan_edit(
            &passthrough_lines(&[0], &caps, cgroup(243, Some(236)), 0),
            &found_lines(&real_raw, &[]),
            &real_raw,
        );
        assert_eq!(moved.remove_raw.len(), 8);
        assert!(
            moved
                .add_raw
                .contains(&line("lxc.cgroup2.devices.allow", "c 243:* rwm"))
        );
        assert!(
            !moved
                .add_raw
                .contains(&line("lxc.cgroup2.devices.allow", "c 511:* rwm"))
        );
        // The form changes with an upgrade to PVE 8: raw lines out, devN entries in.
        let upgraded = plan_edit(
            &passthrough_lines(&[0], &[], dev, 0),
            &found_lines(&real_raw, &[]),
            &real_raw,
        );
        assert_eq!(upgraded.remove_raw.len(), 8);
        assert!(upgraded.add_raw.is_empty());
        assert_eq!(upgraded.set.len(), 4);
        // "none": every passthrough line goes.
        let none = plan_edit(&[], &found_lines(&real_dev, &[]), &real_dev);
        assert_eq!(none.delete.len(), 7);
    }
}
