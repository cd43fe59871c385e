//! The `zpool` emulator: `list`, `get`, `create`, `set` and `status`, as OpenZFS 2.1 and 2.3
//! print them (`fixtures/zfs*/zpool-*.txt`, `fixtures/proxmox/zpool-*`).

use phoenix_core::sim::{SimOutput, SimSys};

use super::args::{Opts, get_fields, listing, not_emulated, push_get_row};
use super::blockdev::{self, Device};
use super::dataset_props;
use super::model::Model;
use super::pool_props;
use super::state::{
    DISKS, DatasetState, Disks, PoolState, VdevState, ZFS, ZfsState, ZfsVersion, stable_hash,
};

/// Runs one `zpool` command line.
pub(crate) fn run(argv: &[String], sys: &mut SimSys<'_>) -> SimOutput {
    let state: ZfsState = sys.load(ZFS);
    let disks: Disks = sys.load(DISKS);
    let args = &argv[argv.len().min(2)..];
    match argv.get(1).map(String::as_str) {
        Some("list") => list(argv, args, &Model::new(&state, &disks)),
        Some("get") => get(argv, args, &Model::new(&state, &disks)),
        Some("status") => status(argv, args, &Model::new(&state, &disks)),
        Some("create") => create(argv, args, state, disks, sys),
        Some("set") => set(argv, args, state, sys),
        _ => not_emulated(argv),
    }
}

fn no_pool(name: &str) -> String {
    format!("cannot open '{name}': no such pool\n")
}

/// The pools named (all when none), or the error lines for the missing ones.
fn pools<'m>(model: &'m Model<'_>, names: &'m [String]) -> (Vec<&'m str>, String) {
    if names.is_empty() {
        return (
            model.pools.keys().map(String::as_str).collect(),
            String::new(),
        );
    }
    let mut found = Vec::new();
    let mut errors = String::new();
    for name in names {
        if model.pools.contains_key(name) {
            found.push(name.as_str());
        } else {
            errors.push_str(&no_pool(name));
        }
    }
    (found, errors)
}

/// The numbers of one pool or vdev row: size, allocated, free, fragmentation, capacity.
struct Figures {
    size: u64,
    allocated: u64,
    fragmentation: u64,
}

impl Figures {
    fn free(&self) -> u64 {
        self.size.saturating_sub(self.allocated)
    }

    fn capacity(&self) -> u64 {
        (self.allocated * 100).checked_div(self.size).unwrap_or(0)
    }
}

/// `zpool list -H -p [-v] [-P] [-o cols] [pool...]`.
fn list(argv: &[String], args: &[String], model: &Model<'_>) -> SimOutput {
    let Ok(opts) = Opts::parse(args, "HpvPgL", "o") else {
        return not_emulated(argv);
    };
    if !opts.scripted() || opts.has('g') || opts.has('L') || (opts.has('v') && opts.has('o')) {
        return not_emulated(argv);
    }
    let (names, stderr) = pools(model, &opts.operands);
    let mut stdout = String::new();
    for pool in names {
        let state = &model.pools[pool];
        let figures = Figures {
            size: model.pool_size(pool),
            allocated: model.pool_allocated(pool),
            fragmentation: state.fragmentation,
        };
        if let Some(columns) = opts.value('o') {
            let mut row = Vec::new();
            for column in columns.split(',') {
                let value = match column {
                    "name" => pool.to_owned(),
                    "size" => figures.size.to_string(),
                    "alloc" | "allocated" => figures.allocated.to_string(),
                    "free" => figures.free().to_string(),
                    "ckpoint" | "checkpoint" | "expandsz" | "expandsize" => "-".to_owned(),
                    "frag" | "fragmentation" => figures.fragmentation.to_string(),
                    "cap" | "capacity" => figures.capacity().to_string(),
                    "dedup" | "dedupratio" => "1.00".to_owned(),
                    "health" => state.health.clone(),
                    other if pool_props::known(other, model.version) => {
                        pool_props::value(model, pool, other).0
                    }
                    _ => return not_emulated(argv),
                };
                row.push(value);
            }
            stdout.push_str(&row.join("\t"));
            stdout.push('\n');
            continue;
        }
        stdout.push_str(&format!(
            "{pool}\t{}\t{}\t{}\t-\t-\t{}\t{}\t1.00\t{}\t-\n",
            figures.size,
            figures.allocated,
            figures.free(),
            figures.fragmentation,
            figures.capacity(),
            state.health
        ));
        if opts.has('v') {
            stdout.push_str(&vdev_rows(model, state, &figures, opts.has('P')));
        }
    }
    listing(stdout, stderr)
}

/// The vdev rows of `zpool list -v -H -p`: one TAB, then 10 fields; a top-level vdev carries
/// its share of the pool's figures, a disk inside a mirror or raidz only its size.
fn vdev_rows(model: &Model<'_>, state: &PoolState, figures: &Figures, full_paths: bool) -> String {
    let mut rows = String::new();
    let sizes: Vec<u64> = state
        .vdevs
        .iter()
        .map(|vdev| model.vdev_size(vdev))
        .collect();
    let total: u64 = sizes.iter().sum();
    let mut allocated_left = figures.allocated;
    for (index, (vdev, size)) in state.vdevs.iter().zip(&sizes).enumerate() {
        // Each top-level vdev gets a share of the pool's size and allocation.
        let share = |value: u64| {
            if state.vdevs.len() == 1 || total == 0 {
                value
            } else {
                u64::try_from(u128::from(value) * u128::from(*size) / u128::from(total))
                    .unwrap_or(0)
            }
        };
        let allocated = if index + 1 == state.vdevs.len() {
            allocated_left
        } else {
            share(figures.allocated)
        };
        allocated_left = allocated_left.saturating_sub(allocated);
        let vdev_figures = Figures {
            size: share(figures.size),
            allocated,
            fragmentation: figures.fragmentation,
        };
        let stats = |size: u64| {
            format!(
                "{size}\t{}\t{}\t-\t-\t{}\t{}\t-\t{}",
                vdev_figures.allocated,
                vdev_figures.free(),
                vdev_figures.fragmentation,
                vdev_figures.capacity(),
                state.health
            )
        };
        if vdev.kind == "disk" {
            for disk in &vdev.disks {
                let name = leaf_name(model, disk, vdev.whole_disk, full_paths, false);
                rows.push_str(&format!(
                    "\t{name}\t{}\n",
                    stats(model.leaf_size(disk, vdev.whole_disk))
                ));
            }
            continue;
        }
        // Interior vdevs are named after their kind and top-level index: mirror-0, raidz2-1.
        let label = format!("{}-{index}", vdev.kind);
        rows.push_str(&format!("\t{label}\t{}\n", stats(vdev_figures.size)));
        for disk in &vdev.disks {
            let name = leaf_name(model, disk, vdev.whole_disk, full_paths, false);
            rows.push_str(&format!(
                "\t{name}\t{}\t-\t-\t-\t-\t-\t-\t-\t{}\n",
                model.leaf_size(disk, vdev.whole_disk),
                state.health
            ));
        }
    }
    rows
}

/// How zpool names a leaf: the full path with `-P`; without it, the last path component, with
/// the partition suffix dropped for a disk ZFS partitioned itself (`virtio-zdisk1`, as in
/// `zpool-status.mirror.txt`); with `-L`, the kernel device (`/dev/vdb1`).
fn leaf_name(
    model: &Model<'_>,
    path: &str,
    whole_disk: bool,
    full_paths: bool,
    resolve: bool,
) -> String {
    let mut path = path.to_owned();
    if resolve && let Some(device) = blockdev::find(model.disks, &path) {
        let (key, number) = match device {
            Device::Disk(key) => (key, None),
            Device::Partition(key, number) => (key, Some(number)),
        };
        let base = format!(
            "/dev/{}",
            blockdev::kernel_name(model.disks, key, &model.disks[key])
        );
        path = number.map_or_else(
            || base.clone(),
            |number| blockdev::partition_path(&base, number),
        );
    }
    if full_paths {
        return path;
    }
    let name = path.rsplit('/').next().unwrap_or(&path).to_owned();
    if whole_disk
        && !resolve
        && let Some(stripped) = name.strip_suffix("-part1")
    {
        return stripped.to_owned();
    }
    name
}

/// `zpool get [-H] [-p] [-o fields] props|all [pool...]`.
fn get(argv: &[String], args: &[String], model: &Model<'_>) -> SimOutput {
    let Ok(opts) = Opts::parse(args, "Hp", "o") else {
        return not_emulated(argv);
    };
    if !opts.scripted() {
        return not_emulated(argv);
    }
    let Some(fields) = get_fields(&opts) else {
        return not_emulated(argv);
    };
    let Some((props, targets)) = opts.operands.split_first() else {
        return not_emulated(argv);
    };
    let props: Vec<String> = if props == "all" {
        pool_props::all(model.version)
    } else {
        props.split(',').map(str::to_owned).collect()
    };
    if props
        .iter()
        .any(|prop| !pool_props::known(prop, model.version))
    {
        return not_emulated(argv);
    }
    let mut stdout = String::new();
    let mut stderr = String::new();
    let names: Vec<&str> = if targets.is_empty() {
        model.pools.keys().map(String::as_str).collect()
    } else {
        targets.iter().map(String::as_str).collect()
    };
    for pool in names {
        if !model.pools.contains_key(pool) {
            stderr.push_str(&match model.version {
                ZfsVersion::V2_1 if pool.contains(',') => {
                    format!("cannot open '{pool}': invalid character ',' in pool name\n")
                }
                ZfsVersion::V2_1 => no_pool(pool),
                ZfsVersion::V2_3 => {
                    format!("Cannot get properties of {pool}: no such pool available.\n")
                }
            });
            continue;
        }
        for prop in &props {
            let (value, source) = pool_props::value(model, pool, prop);
            push_get_row(&mut stdout, &fields, pool, prop, &value, &source);
        }
    }
    listing(stdout, stderr)
}

/// `zpool status [-P] [-L] [pool...]`: the layout of `zpool-status.*.txt`. Scrub history is
/// not modelled, so there is never a `scan:` line (as on a new pool).
fn status(argv: &[String], args: &[String], model: &Model<'_>) -> SimOutput {
    let Ok(opts) = Opts::parse(args, "PLx", "") else {
        return not_emulated(argv);
    };
    if opts.has('x') {
        return not_emulated(argv);
    }
    let (names, stderr) = pools(model, &opts.operands);
    if names.is_empty() && stderr.is_empty() {
        return SimOutput::ok("no pools available\n");
    }
    let mut blocks = Vec::new();
    for pool in names {
        let state = &model.pools[pool];
        let mut rows: Vec<(usize, String)> = vec![(0, pool.to_owned())];
        for (index, vdev) in state.vdevs.iter().enumerate() {
            let leaves = vdev
                .disks
                .iter()
                .map(|disk| leaf_name(model, disk, vdev.whole_disk, opts.has('P'), opts.has('L')));
            if vdev.kind == "disk" {
                rows.extend(leaves.map(|leaf| (1, leaf)));
            } else {
                rows.push((1, format!("{}-{index}", vdev.kind)));
                rows.extend(leaves.map(|leaf| (2, leaf)));
            }
        }
        let width = rows
            .iter()
            .map(|(depth, name)| 2 * depth + name.len())
            .max()
            .unwrap_or(0)
            .max(10);
        let mut block = format!("  pool: {pool}\n state: {}\nconfig:\n\n", state.health);
        block.push_str(&format!(
            "\t{:<width$}  {:<8} {:>5} {:>5} {:>5}\n",
            "NAME", "STATE", "READ", "WRITE", "CKSUM"
        ));
        for (depth, name) in rows {
            let indent = " ".repeat(2 * depth);
            let padded = width - 2 * depth;
            block.push_str(&format!(
                "\t{indent}{name:<padded$}  {:<8} {:>5} {:>5} {:>5}\n",
                state.health, 0, 0, 0
            ));
        }
        block.push_str("\nerrors: No known data errors\n");
        blocks.push(block);
    }
    listing(blocks.join("\n"), stderr)
}

/// A vdev group on the `zpool create` command line.
struct Group {
    kind: String,
    disks: Vec<String>,
}

/// `zpool create [-f] [-o k=v]... [-O k=v]... NAME [mirror|raidzN] DISK...`.
fn create(
    argv: &[String],
    args: &[String],
    mut state: ZfsState,
    mut disks: Disks,
    sys: &mut SimSys<'_>,
) -> SimOutput {
    let Ok(opts) = Opts::parse(args, "fn", "oOmR") else {
        return not_emulated(argv);
    };
    if opts.has('n') || opts.value('m').is_some() || opts.value('R').is_some() {
        return not_emulated(argv);
    }
    let Some((name, spec)) = opts.operands.split_first() else {
        return not_emulated(argv);
    };
    let mut groups: Vec<Group> = Vec::new();
    for word in spec {
        let keyword = match word.as_str() {
            "mirror" => Some("mirror"),
            "raidz" | "raidz1" => Some("raidz1"),
            "raidz2" => Some("raidz2"),
            "raidz3" => Some("raidz3"),
            "log" | "cache" | "spare" | "special" | "dedup" => return not_emulated(argv),
            _ => None,
        };
        match keyword {
            Some(kind) => groups.push(Group {
                kind: kind.to_owned(),
                disks: Vec::new(),
            }),
            None => match groups.last_mut() {
                Some(group) if group.kind != "disk" => group.disks.push(word.clone()),
                _ => groups.push(Group {
                    kind: "disk".to_owned(),
                    disks: vec![word.clone()],
                }),
            },
        }
    }
    if groups.is_empty() {
        return SimOutput::fail(
            1,
            "invalid vdev specification: at least one toplevel vdev must be specified\n",
        );
    }
    for group in &groups {
        let (word, min) = match group.kind.as_str() {
            "mirror" => ("mirror", 2),
            "raidz1" => ("raidz", 2),
            "raidz2" => ("raidz", 3),
            "raidz3" => ("raidz", 4),
            _ => ("disk", 1),
        };
        if group.disks.len() < min {
            return SimOutput::fail(
                1,
                format!("invalid vdev specification: {word} requires at least {min} devices\n"),
            );
        }
    }
    // The disks: they must exist, be free, and (without -f) hold no filesystem.
    let mut needs_force = String::new();
    for disk in groups.iter().flat_map(|group| &group.disks) {
        if !disk.starts_with('/') {
            return not_emulated(argv);
        }
        let Some(device) = blockdev::find(&disks, disk) else {
            return SimOutput::fail(1, format!("cannot resolve path '{disk}'\n"));
        };
        if let Some(pool) = pool_using(&state, &disks, device) {
            let message = match device {
                Device::Disk(_) => format!("{disk} is in use and contains a unknown filesystem.\n"),
                Device::Partition(..) => format!("{disk} is part of active pool '{pool}'\n"),
            };
            return SimOutput::fail(1, message);
        }
        let signatures = match device {
            Device::Disk(key) => &disks[key].signatures,
            Device::Partition(key, number) => {
                match disks[key]
                    .partitions
                    .iter()
                    .find(|part| part.number == number)
                {
                    Some(part) => &part.signatures,
                    None => return not_emulated(argv),
                }
            }
        };
        if opts.has('f') {
            continue;
        }
        match signatures
            .iter()
            .find(|sig| !blockdev::is_partition_table(&sig.kind))
        {
            Some(signature) => {
                needs_force.push_str(&format!(
                    "{disk} contains a filesystem of type '{}'\n",
                    signature.kind
                ));
            }
            // A partition table without a filesystem: what ZFS says then was not captured.
            None if !signatures.is_empty() => return not_emulated(argv),
            None => {}
        }
    }
    if !needs_force.is_empty() {
        return SimOutput::fail(
            1,
            format!(
                "invalid vdev specification\nuse '-f' to override the following errors:\n{needs_force}"
            ),
        );
    }
    if state.pools.contains_key(name) {
        return SimOutput::fail(1, format!("cannot create '{name}': pool already exists\n"));
    }
    // Pool properties (-o) and root dataset properties (-O).
    let mut properties = std::collections::BTreeMap::new();
    for pair in opts.values('o') {
        let Some((key, value)) = pair.split_once('=') else {
            return not_emulated(argv);
        };
        match pool_props::SETTABLE.iter().find(|(known, _)| *known == key) {
            Some((_, Some(allowed))) if !allowed.contains(&value) => return not_emulated(argv),
            Some(_) => {
                properties.insert(key.to_owned(), value.to_owned());
            }
            None => return not_emulated(argv),
        }
    }
    let mut root = DatasetState::default();
    for pair in opts.values('O') {
        let Some((key, value)) = pair.split_once('=') else {
            return not_emulated(argv);
        };
        let Some(prop) = dataset_props::lookup(key, state.version) else {
            return SimOutput::fail(
                1,
                format!("cannot create '{name}': invalid property '{key}'\n"),
            );
        };
        match dataset_props::validate(prop, value, state.version) {
            Ok(stored) => {
                root.properties.insert(prop.name.to_owned(), stored);
            }
            Err(reason) => {
                return SimOutput::fail(1, format!("cannot create '{name}': {reason}\n"));
            }
        }
    }
    let guid = stable_hash(&[name, "pool guid"]);
    let mut vdevs = Vec::new();
    for group in &groups {
        let mut members = Vec::new();
        let mut whole = true;
        for disk in &group.disks {
            match blockdev::find(&disks, disk) {
                Some(Device::Disk(key)) => {
                    let key = key.to_owned();
                    if let Some(entry) = disks.get_mut(&key) {
                        blockdev::label_for_zfs(entry, &key, name, guid);
                    }
                    members.push(blockdev::partition_path(disk, 1));
                }
                _ => {
                    whole = false;
                    members.push(disk.clone());
                }
            }
        }
        vdevs.push(VdevState {
            kind: group.kind.clone(),
            disks: members,
            whole_disk: whole,
        });
    }
    state.pools.insert(
        name.clone(),
        PoolState {
            guid,
            vdevs,
            properties,
            ..PoolState::default()
        },
    );
    root.creation = Some(1_795_668_880);
    root.createtxg = Some(1);
    root.guid = Some(stable_hash(&[name, "root guid"]));
    state.datasets.insert(name.clone(), root);
    sys.store(DISKS, &disks);
    sys.store(ZFS, &state);
    SimOutput::ok_mutated("")
}

/// The pool that uses `device` (the device itself, or a partition of the disk), if any.
fn pool_using(state: &ZfsState, disks: &Disks, device: Device<'_>) -> Option<String> {
    for (pool, pool_state) in &state.pools {
        for path in pool_state.vdevs.iter().flat_map(|vdev| &vdev.disks) {
            let used = blockdev::find(disks, path);
            let hit = match (device, used) {
                (Device::Disk(key), Some(Device::Disk(other) | Device::Partition(other, _))) => {
                    key == other
                }
                (Device::Partition(key, number), Some(Device::Partition(other, n))) => {
                    key == other && number == n
                }
                _ => false,
            };
            if hit {
                return Some(pool.clone());
            }
        }
    }
    None
}

/// `zpool set k=v POOL`.
fn set(argv: &[String], args: &[String], mut state: ZfsState, sys: &mut SimSys<'_>) -> SimOutput {
    let [pair, pool] = args else {
        return not_emulated(argv);
    };
    let Some((key, value)) = pair.split_once('=') else {
        return not_emulated(argv);
    };
    let Some(pool_state) = state.pools.get_mut(pool) else {
        return SimOutput::fail(1, no_pool(pool));
    };
    match pool_props::SETTABLE.iter().find(|(known, _)| *known == key) {
        Some((_, Some(allowed))) if !allowed.contains(&value) => {
            let list = allowed.join(" | ");
            SimOutput::fail(
                1,
                format!("cannot set property for '{pool}': '{key}' must be one of '{list}'\n"),
            )
        }
        Some(_) => {
            let changed = pool_state
                .properties
                .insert(key.to_owned(), value.to_owned())
                .as_deref()
                != Some(value);
            if changed {
                sys.store(ZFS, &state);
            }
            SimOutput::new(0, "", "", changed)
        }
        None => not_emulated(argv),
    }
}
