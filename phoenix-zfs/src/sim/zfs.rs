//! The `zfs` emulator: `get`, `list`, `create`, `set`, `inherit`, `snapshot` and `version`, as
//! OpenZFS 2.1 and 2.3 print them (`fixtures/zfs*/zfs-*.txt`).
//!
//! Only the scripted forms Phoenix uses are emulated (`-H -p` for `get` and `list`); anything
//! else fails with [`not_emulated`] rather than print something the real tool would not.

use phoenix_core::sim::{Emulator, SimOutput, SimSys};

use super::args::{Opts, get_fields, listing, not_emulated, push_get_row};
use super::dataset_props;
use super::model::Model;
use super::state::{
    DISKS, DatasetState, DatasetType, Disks, ZFS, ZfsState, ZfsVersion, stable_hash,
};
use super::zpool;
use crate::props::{Kind, Property, Shape, Zero, format_size};

/// Emulates `zfs` and `zpool` over the node's `zfs` and `disks` namespaces.
#[derive(Debug, Default, Clone, Copy)]
pub struct ZfsEmulator;

impl Emulator for ZfsEmulator {
    fn programs(&self) -> Vec<String> {
        vec!["zfs".to_owned(), "zpool".to_owned()]
    }

    fn run(&self, argv: &[String], _stdin: Option<&str>, sys: &mut SimSys<'_>) -> SimOutput {
        match argv.first().map(String::as_str) {
            Some("zfs") => run(argv, sys),
            Some("zpool") => zpool::run(argv, sys),
            _ => not_emulated(argv),
        }
    }

    /// Both are small C programs talking to the kernel module: about 10 ms each on a real host.
    fn typical_latency(&self, _program: &str) -> Option<std::time::Duration> {
        Some(std::time::Duration::from_millis(10))
    }
}

/// The status of a failed `zfs set`: 1 up to OpenZFS 2.2, 255 from 2.3 (see the 2.3 README).
fn set_failure_status(version: ZfsVersion) -> i32 {
    match version {
        ZfsVersion::V2_1 => 1,
        ZfsVersion::V2_3 => 255,
    }
}

/// `zfs version` on the samples' hosts (`../shared/fixtures/zfs*/zfs-version.txt`), written by
/// the one writer of the format.
fn version_output(version: ZfsVersion) -> String {
    let number = match version {
        ZfsVersion::V2_1 => "2.1.11-1+deb12u1",
        ZfsVersion::V2_3 => "2.3.2-2~bpo12+2",
    };
    phoenix_pve::version::format_zfs_version(&phoenix_pve::version::ZfsVersion {
        userland: number.to_owned(),
        kmod: Some(number.to_owned()),
    })
}

/// Runs one `zfs` command line.
fn run(argv: &[String], sys: &mut SimSys<'_>) -> SimOutput {
    let state: ZfsState = sys.load(ZFS);
    let disks: Disks = sys.load(DISKS);
    let args = &argv[argv.len().min(2)..];
    match argv.get(1).map(String::as_str) {
        Some("get") => get(argv, args, &Model::new(&state, &disks)),
        Some("list") if lists_snapshots(args) => list_snapshots(argv, args, &state),
        Some("list") => list(argv, args, &Model::new(&state, &disks)),
        Some("snapshot") => snapshot(argv, args, state, &disks, sys),
        Some("create") => create(argv, args, state, &disks, sys),
        Some("set") => set(argv, args, state, &disks, sys),
        Some("inherit") => inherit(argv, args, state, sys),
        Some("version") if args.is_empty() => SimOutput::ok(version_output(state.version)),
        _ => not_emulated(argv),
    }
}

/// `cannot open 'X': dataset does not exist`, as `zfs get`, `set`, `list` and `inherit` print it.
fn no_dataset(name: &str) -> String {
    format!("cannot open '{name}': dataset does not exist\n")
}

/// A property named on the command line: a known one, or a user property (`module:name`).
enum Requested {
    Known(&'static Property),
    User(String),
}

fn requested(name: &str, version: ZfsVersion) -> Option<Requested> {
    if let Some(prop) = dataset_props::lookup(name, version) {
        Some(Requested::Known(prop))
    } else if name.contains(':') {
        Some(Requested::User(name.to_owned()))
    } else {
        None
    }
}

/// The value and source of a requested property on `name`.
fn value_of(model: &Model<'_>, name: &str, requested: &Requested) -> (String, String) {
    match requested {
        Requested::Known(prop) => model.property(name, prop),
        Requested::User(user) => {
            let mut at = Some(name);
            while let Some(dataset) = at {
                if let Some(value) = model
                    .datasets
                    .get(dataset)
                    .and_then(|d| d.properties.get(user))
                {
                    let source = if dataset == name {
                        "local".to_owned()
                    } else {
                        format!("inherited from {dataset}")
                    };
                    return (value.clone(), source);
                }
                at = Model::parent(dataset);
            }
            ("-".to_owned(), "-".to_owned())
        }
    }
}

/// Which dataset types `-t` selects; `None` when the list names a type the emulator lacks.
fn types(list: Option<&str>, default: &[DatasetType]) -> Option<Vec<DatasetType>> {
    let Some(list) = list else {
        return Some(default.to_vec());
    };
    let mut selected = Vec::new();
    for word in list.split(',') {
        match word {
            "filesystem" | "fs" => selected.push(DatasetType::Filesystem),
            "volume" | "vol" => selected.push(DatasetType::Volume),
            "all" => selected.extend([DatasetType::Filesystem, DatasetType::Volume]),
            // There are no snapshots or bookmarks in the simulation: selecting them adds nothing.
            "snapshot" | "snap" | "bookmark" => {}
            _ => return None,
        }
    }
    Some(selected)
}

/// The datasets a `get` or `list` covers: the targets (and their descendants with `-r`/`-d`),
/// or all datasets; sorted by name as zfs prints them. Missing targets are reported in `errors`.
fn selection(
    model: &Model<'_>,
    targets: &[String],
    opts: &Opts,
    errors: &mut String,
) -> Option<Vec<String>> {
    let depth = match opts.value('d') {
        Some(depth) => Some(depth.parse::<usize>().ok()?),
        None if opts.has('r') => None,
        None => Some(0),
    };
    let mut names = std::collections::BTreeSet::new();
    if targets.is_empty() {
        names.extend(model.datasets.keys().cloned());
    }
    for target in targets {
        if target.contains('@') || target.contains('#') {
            return None;
        }
        if model.datasets.contains_key(target) {
            names.extend(model.descendants(target, depth));
        } else {
            errors.push_str(&no_dataset(target));
        }
    }
    Some(names.into_iter().collect())
}

/// `zfs get -H -p [-o fields] [-t types] [-s sources] [-r|-d N] props|all [dataset...]`.
fn get(argv: &[String], args: &[String], model: &Model<'_>) -> SimOutput {
    let Ok(opts) = Opts::parse(args, "Hpr", "otsd") else {
        return not_emulated(argv);
    };
    if !opts.scripted() {
        return not_emulated(argv);
    }
    let Some(fields) = get_fields(&opts) else {
        return not_emulated(argv);
    };
    let sources: Option<Vec<&str>> = opts.value('s').map(|list| list.split(',').collect());
    let Some(types) = types(
        opts.value('t'),
        &[DatasetType::Filesystem, DatasetType::Volume],
    ) else {
        return not_emulated(argv);
    };
    let Some((props, targets)) = opts.operands.split_first() else {
        return not_emulated(argv);
    };
    let requested: Option<Vec<Requested>> = if props == "all" {
        None
    } else {
        let parsed: Option<Vec<Requested>> = props
            .split(',')
            .map(|name| requested(name, model.version))
            .collect();
        let Some(parsed) = parsed else {
            return not_emulated(argv);
        };
        Some(parsed)
    };
    let mut stderr = String::new();
    let Some(names) = selection(model, targets, &opts, &mut stderr) else {
        return not_emulated(argv);
    };
    let mut stdout = String::new();
    for name in names {
        let kind = model.datasets[&name].kind;
        if !types.contains(&kind) {
            continue;
        }
        let all: Vec<Requested>;
        let list = match &requested {
            Some(list) => list,
            None => {
                all = dataset_props::all_for(kind, model.version)
                    .into_iter()
                    .map(Requested::Known)
                    .collect();
                &all
            }
        };
        for request in list {
            let (value, source) = value_of(model, &name, request);
            if let Some(sources) = &sources {
                let class = source.split(' ').next().unwrap_or_default();
                let class = if class == "-" { "none" } else { class };
                if !sources.contains(&class) {
                    continue;
                }
            }
            let property = match request {
                Requested::Known(prop) => prop.name.to_owned(),
                Requested::User(user) => user.clone(),
            };
            push_get_row(&mut stdout, &fields, &name, &property, &value, &source);
        }
    }
    listing(stdout, stderr)
}

/// `zfs list -H -p [-o cols] [-t types] [-r|-d N] [dataset...]`.
fn list(argv: &[String], args: &[String], model: &Model<'_>) -> SimOutput {
    let Ok(opts) = Opts::parse(args, "Hpr", "otd") else {
        return not_emulated(argv);
    };
    if !opts.scripted() {
        return not_emulated(argv);
    }
    let columns: Vec<&str> = opts
        .value('o')
        .unwrap_or("name,used,avail,refer,mountpoint")
        .split(',')
        .collect();
    let mut requests = Vec::new();
    for column in &columns {
        match *column {
            "name" | "origin" | "clones" => requests.push(None),
            other => match requested(other, model.version) {
                Some(request) => requests.push(Some(request)),
                None => return not_emulated(argv),
            },
        }
    }
    let Some(types) = types(
        opts.value('t'),
        &[DatasetType::Filesystem, DatasetType::Volume],
    ) else {
        return not_emulated(argv);
    };
    let mut stderr = String::new();
    let Some(names) = selection(model, &opts.operands, &opts, &mut stderr) else {
        return not_emulated(argv);
    };
    let mut stdout = String::new();
    for name in names {
        if !types.contains(&model.datasets[&name].kind) {
            continue;
        }
        let row: Vec<String> = columns
            .iter()
            .zip(&requests)
            .map(|(column, request)| match request {
                Some(request) => value_of(model, &name, request).0,
                None if *column == "name" => name.clone(),
                None => "-".to_owned(),
            })
            .collect();
        stdout.push_str(&row.join("\t"));
        stdout.push('\n');
    }
    listing(stdout, stderr)
}

/// Whether a `zfs list` asks for snapshots: `-t snapshot` or a `dataset@snapshot` operand.
fn lists_snapshots(args: &[String]) -> bool {
    args.iter().any(|a| a.contains('@'))
        || args.windows(2).any(|w| w[0] == "-t" && w[1] == "snapshot")
}

/// `zfs list -H -o name -t snapshot [NAME@SNAP...]`: the snapshots' names, and `cannot open`
/// for one that does not exist (status 1, as a missing dataset).
fn list_snapshots(argv: &[String], args: &[String], state: &ZfsState) -> SimOutput {
    let Ok(opts) = Opts::parse(args, "Hp", "ot") else {
        return not_emulated(argv);
    };
    let only_names = opts.value('o') == Some("name") && opts.value('t') == Some("snapshot");
    if !opts.has('H') || !only_names || opts.operands.iter().any(|o| !o.contains('@')) {
        return not_emulated(argv);
    }
    let mut stdout = String::new();
    let mut stderr = String::new();
    if opts.operands.is_empty() {
        for name in &state.snapshots {
            stdout.push_str(&format!("{name}\n"));
        }
    }
    for name in &opts.operands {
        if state.snapshots.contains(name) {
            stdout.push_str(&format!("{name}\n"));
        } else {
            stderr.push_str(&no_dataset(name));
        }
    }
    listing(stdout, stderr)
}

/// `zfs snapshot DATASET@NAME`: records the snapshot of an existing dataset; as libzfs says,
/// `cannot create snapshot` when the dataset is missing or the snapshot exists (status 1).
fn snapshot(
    argv: &[String],
    args: &[String],
    mut state: ZfsState,
    disks: &Disks,
    sys: &mut SimSys<'_>,
) -> SimOutput {
    let Ok(opts) = Opts::parse(args, "", "") else {
        return not_emulated(argv);
    };
    let [name] = &opts.operands[..] else {
        return not_emulated(argv);
    };
    let Some((dataset, snap)) = name.split_once('@') else {
        return not_emulated(argv);
    };
    if snap.is_empty() || snap.contains(['@', '/']) {
        return not_emulated(argv);
    }
    let fail =
        |reason: &str| SimOutput::fail(1, format!("cannot create snapshot '{name}': {reason}\n"));
    if !Model::new(&state, disks).datasets.contains_key(dataset) {
        return fail("dataset does not exist");
    }
    if !state.snapshots.insert(name.clone()) {
        return fail("dataset already exists");
    }
    sys.store(ZFS, &state);
    SimOutput::ok_mutated("")
}

/// Checks `key=value` for dataset type `kind` and returns the property's name and what to
/// store (setting a quota or reservation to `none` stores 0, shown as local: the readback matrix).
fn check_property(
    key: &str,
    value: &str,
    kind: DatasetType,
    version: ZfsVersion,
    creating: bool,
) -> Result<(String, String), String> {
    if key.contains(':') {
        return Ok((key.to_owned(), value.to_owned()));
    }
    let Some(prop) = dataset_props::lookup(key, version) else {
        return Err(format!("invalid property '{key}'"));
    };
    match prop.kind {
        Kind::Stat => return Err(format!("'{}' is readonly", prop.name)),
        Kind::CreateOnly if !creating => return Err(format!("'{}' is readonly", prop.name)),
        _ => {}
    }
    if !dataset_props::applies(prop, kind) {
        return Err(format!(
            "'{}' does not apply to datasets of this type",
            prop.name
        ));
    }
    let stored = dataset_props::validate(prop, value, version)?;
    Ok((prop.name.to_owned(), stored))
}

/// What `zfs set` checks against the dataset itself: a quota below what it uses, a volume size
/// that is not a multiple of its block size (the readback matrix's texts).
fn check_fit(model: &Model<'_>, name: &str, key: &str, stored: &str) -> Result<(), String> {
    let bytes = |value: &str| value.parse::<u64>().unwrap_or(0);
    let figure = |prop: &str| {
        dataset_props::lookup(prop, model.version)
            .map_or(0, |known| bytes(&model.property(name, known).0))
    };
    let limit = match key {
        "quota" => figure("used"),
        "refquota" => figure("referenced"),
        _ => 0,
    };
    if bytes(stored) != 0 && bytes(stored) < limit {
        return Err("size is less than current used or reserved space".to_owned());
    }
    if key == "volsize" {
        let block = figure("volblocksize").max(512);
        if bytes(stored) % block != 0 {
            return Err(format!(
                "'volsize' must be a multiple of volume block size ({})",
                format_size(block)
            ));
        }
    }
    Ok(())
}

/// The warning `zfs` prints before setting a non-zero `special_small_blocks` on a pool without
/// a special vdev (the emulator has none).
fn special_warning(key: &str, value: &str) -> &'static str {
    if key == "special_small_blocks" && value != "0" && value != "none" {
        "special_small_blocks: property requires a special device in the pool\n"
    } else {
        ""
    }
}

/// `refreservation=auto` on a volume: the reservation a non-sparse volume of its size gets.
fn auto_reservation(model: &Model<'_>, name: &str) -> Option<String> {
    let figure = |prop: &str| {
        dataset_props::lookup(prop, model.version)
            .and_then(|known| model.property(name, known).0.parse::<u64>().ok())
    };
    if model.datasets.get(name)?.kind != DatasetType::Volume {
        return None;
    }
    let reservation =
        dataset_props::volume_reservation(figure("volsize")?, figure("volblocksize")?);
    Some(reservation.to_string())
}

/// Splits `key=value` operands.
fn assignments(words: &[String]) -> Option<Vec<(&str, &str)>> {
    words.iter().map(|word| word.split_once('=')).collect()
}

/// `zfs create [-p] [-s] [-u] [-o k=v]... [-V size [-b blocksize]] NAME`.
fn create(
    argv: &[String],
    args: &[String],
    mut state: ZfsState,
    disks: &Disks,
    sys: &mut SimSys<'_>,
) -> SimOutput {
    let Ok(opts) = Opts::parse(args, "psu", "oVb") else {
        return not_emulated(argv);
    };
    let [name] = &opts.operands[..] else {
        return not_emulated(argv);
    };
    let valid_name = !name.is_empty()
        && name.split('/').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
        });
    if !valid_name {
        return not_emulated(argv);
    }
    let options: Vec<String> = opts.values('o').map(str::to_owned).collect();
    let Some(options) = assignments(&options) else {
        return not_emulated(argv);
    };
    let version = state.version;
    let fail = |reason: &str| SimOutput::fail(1, format!("cannot create '{name}': {reason}\n"));
    let model = Model::new(&state, disks);
    let pool = Model::pool_of(name);
    if !state.pools.contains_key(pool) {
        return fail(&format!("no such pool '{pool}'"));
    }
    let Some(parent) = Model::parent(name) else {
        return fail("missing dataset name");
    };
    let parent_exists = model.datasets.contains_key(parent);
    if parent_exists && model.datasets[parent].kind == DatasetType::Volume {
        return fail("parent is not a filesystem");
    }
    if !parent_exists && !opts.has('p') {
        return fail("parent does not exist");
    }
    if model.datasets.contains_key(name.as_str()) {
        return if opts.has('p') {
            SimOutput::ok("")
        } else {
            fail("dataset already exists")
        };
    }
    let kind = if opts.has('V') {
        DatasetType::Volume
    } else {
        DatasetType::Filesystem
    };
    let mut dataset = DatasetState {
        kind,
        ..DatasetState::default()
    };
    let mut pairs: Vec<(String, String)> = options
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    if let Some(size) = opts.value('V') {
        pairs.push(("volsize".to_owned(), size.to_owned()));
    }
    if let Some(block) = opts.value('b') {
        pairs.push(("volblocksize".to_owned(), block.to_owned()));
    }
    if needs_key(&model, name, &pairs) {
        return fail("Keyformat required for new encryption root.");
    }
    for (key, value) in &pairs {
        match check_property(key, value, kind, version, true) {
            Ok((key, stored)) => {
                dataset.properties.insert(key, stored);
            }
            Err(reason) => return fail(&reason),
        }
    }
    if kind == DatasetType::Volume
        && !opts.has('s')
        && !dataset.properties.contains_key("refreservation")
    {
        let volsize = dataset
            .properties
            .get("volsize")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let block = dataset
            .properties
            .get("volblocksize")
            .map_or(
                dataset_props::default_value("volblocksize", version),
                String::as_str,
            )
            .parse()
            .unwrap_or(8192);
        dataset.properties.insert(
            "refreservation".to_owned(),
            dataset_props::volume_reservation(volsize, block).to_string(),
        );
    }
    // Creation times and txgs count up from the newest dataset, so listings stay ordered.
    let creation = model
        .datasets
        .keys()
        .filter_map(|n| model.property(n, stat("creation")).0.parse::<u64>().ok())
        .max()
        .unwrap_or(1_795_668_880)
        + 1;
    let txg = model
        .datasets
        .keys()
        .filter_map(|n| model.property(n, stat("createtxg")).0.parse::<u64>().ok())
        .max()
        .unwrap_or(1)
        + 1;
    let mut missing: Vec<&str> = Vec::new();
    let mut at = Model::parent(name);
    while let Some(ancestor) = at {
        if !model.datasets.contains_key(ancestor) {
            missing.push(ancestor);
        }
        at = Model::parent(ancestor);
    }
    let created: Vec<String> = missing
        .iter()
        .rev()
        .map(|n| (*n).to_owned())
        .chain([name.clone()])
        .collect();
    for (index, created_name) in created.iter().enumerate() {
        let mut entry = if created_name == name {
            dataset.clone()
        } else {
            DatasetState::default()
        };
        let offset = index as u64;
        entry.creation = Some(creation + offset);
        entry.createtxg = Some(txg + offset);
        entry.guid = Some(stable_hash(&[created_name, "guid", &creation.to_string()]));
        state.datasets.insert(created_name.clone(), entry);
    }
    sys.store(ZFS, &state);
    SimOutput::ok_mutated("")
}

/// Whether `zfs create` refuses for want of a key: the dataset asks for encryption, gives no
/// `keyformat`, and has no encrypted ancestor whose key it would inherit.
fn needs_key(model: &Model<'_>, name: &str, pairs: &[(String, String)]) -> bool {
    let given = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    if given("encryption").is_none_or(|value| value == "off") || given("keyformat").is_some() {
        return false;
    }
    let mut at = Model::parent(name);
    while let Some(ancestor) = at {
        let encrypted = model
            .datasets
            .get(ancestor)
            .and_then(|dataset| dataset.properties.get("encryption"))
            .is_some_and(|value| value != "off");
        if encrypted {
            return false;
        }
        at = Model::parent(ancestor);
    }
    true
}

fn stat(name: &str) -> &'static Property {
    dataset_props::lookup(name, ZfsVersion::V2_1)
        .expect("invariant: statistics exist in every version")
}

/// `zfs set k=v [k=v...] DATASET...`.
fn set(
    argv: &[String],
    args: &[String],
    mut state: ZfsState,
    disks: &Disks,
    sys: &mut SimSys<'_>,
) -> SimOutput {
    let (pairs, names): (Vec<&String>, Vec<&String>) =
        args.iter().partition(|word| word.contains('='));
    if pairs.is_empty() || names.is_empty() || args.iter().any(|word| word.starts_with('-')) {
        return not_emulated(argv);
    }
    let version = state.version;
    let model = Model::new(&state, disks);
    let mut changes: Vec<(String, String, String)> = Vec::new();
    let mut warnings = String::new();
    for name in &names {
        let Some(dataset) = model.datasets.get(name.as_str()) else {
            return SimOutput::fail(1, no_dataset(name));
        };
        for pair in &pairs {
            let (key, value) = pair.split_once('=').unwrap_or_default();
            warnings.push_str(special_warning(key, value));
            let checked = match auto_reservation(&model, name) {
                Some(auto) if key == "refreservation" && value == "auto" => {
                    Ok((key.to_owned(), auto))
                }
                _ => check_property(key, value, dataset.kind, version, false),
            }
            .and_then(|(key, stored)| {
                check_fit(&model, name, &key, &stored).map(|()| (key, stored))
            });
            match checked {
                Ok((key, stored)) => changes.push(((*name).clone(), key, stored)),
                Err(reason) => {
                    return SimOutput::fail(
                        set_failure_status(version),
                        format!("{warnings}cannot set property for '{name}': {reason}\n"),
                    );
                }
            }
        }
    }
    for (name, key, stored) in changes {
        let dataset = state.datasets.entry(name).or_default();
        if key == "volsize" {
            follow_volsize(dataset, Some(stored.as_str()), version);
        }
        dataset.properties.insert(key, stored);
    }
    sys.store(ZFS, &state);
    SimOutput::new(0, "", warnings, true)
}

/// A volume whose refreservation is the automatic one keeps it matched to its new size.
fn follow_volsize(dataset: &mut DatasetState, new: Option<&str>, version: ZfsVersion) {
    let number = |value: Option<&String>| value.and_then(|v| v.parse::<u64>().ok());
    let block = number(dataset.properties.get("volblocksize")).unwrap_or_else(|| {
        dataset_props::default_value("volblocksize", version)
            .parse()
            .unwrap_or(8192)
    });
    let (Some(old), Some(new)) = (
        number(dataset.properties.get("volsize")),
        new.and_then(|v| v.parse().ok()),
    ) else {
        return;
    };
    if number(dataset.properties.get("refreservation"))
        == Some(dataset_props::volume_reservation(old, block))
    {
        dataset.properties.insert(
            "refreservation".to_owned(),
            dataset_props::volume_reservation(new, block).to_string(),
        );
    }
}

/// `zfs inherit [-r] PROP DATASET...`.
fn inherit(
    argv: &[String],
    args: &[String],
    mut state: ZfsState,
    sys: &mut SimSys<'_>,
) -> SimOutput {
    let Ok(opts) = Opts::parse(args, "rS", "") else {
        return not_emulated(argv);
    };
    let Some((prop, names)) = opts.operands.split_first() else {
        return not_emulated(argv);
    };
    if names.is_empty() || opts.has('S') {
        return not_emulated(argv);
    }
    let key = match dataset_props::lookup(prop, state.version) {
        Some(known) => match (known.kind, known.shape) {
            (Kind::Settable { inherit: true }, _) => known.name.to_owned(),
            (
                Kind::Settable { .. },
                Shape::Size {
                    zero: Zero::Allowed | Zero::OnlyAsNone,
                },
            ) => {
                return SimOutput::fail(
                    1,
                    format!(
                        "'{prop}' property cannot be inherited\nuse 'zfs set {prop}=none' to clear\n"
                    ),
                );
            }
            (Kind::Settable { .. }, _) => {
                return SimOutput::fail(1, format!("'{prop}' property cannot be inherited\n"));
            }
            (Kind::Stat | Kind::CreateOnly, _) => {
                return SimOutput::fail(1, format!("'{prop}' property is read-only\n"));
            }
        },
        None if prop.contains(':') => prop.clone(),
        None => return not_emulated(argv),
    };
    let roots: Vec<String> = state.pools.keys().cloned().collect();
    let mut targets = Vec::new();
    for name in names {
        let exists = state.datasets.contains_key(name) || roots.contains(name);
        if !exists {
            return SimOutput::fail(1, no_dataset(name));
        }
        if opts.has('r') {
            let prefix = format!("{name}/");
            targets.extend(
                state
                    .datasets
                    .keys()
                    .filter(|other| other.starts_with(&prefix))
                    .cloned(),
            );
        }
        targets.push(name.clone());
    }
    let mut changed = false;
    for name in targets {
        if let Some(dataset) = state.datasets.get_mut(&name) {
            changed |= dataset.properties.remove(&key).is_some();
        }
    }
    if changed {
        sys.store(ZFS, &state);
    }
    SimOutput::new(0, "", "", changed)
}

#[cfg(test)]
mod snapshot_tests {
    use phoenix_core::Cmd;
    use phoenix_core::host::Host;
    use phoenix_core::sim::{SimNode, SimState};
    use serde_json::json;

    /// Runs each `(argv, status, stdout, stderr)` in order on a node with `tank/data`.
    #[tokio::test]
    async fn issue_12_snapshots_are_taken_of_existing_datasets_and_listed_by_name() {
        let mut state = SimState::new();
        state.tools.insert(
            "zfs".to_owned(),
            json!({"pools": {"tank": {}}, "datasets": {"tank/data": {"type": "filesystem"}}}),
        );
        let node = SimNode::from_state(state, crate::sim::emulators()).expect("a valid node");
        let cases: &[(&str, i32, &str, &str)] = &[
            (
                "zfs list -H -o name -t snapshot tank/data@before",
                1,
                "",
                "cannot open 'tank/data@before': dataset does not exist\n",
            ),
            ("zfs snapshot tank/data@before", 0, "", ""),
            (
                "zfs list -H -o name -t snapshot tank/data@before",
                0,
                "tank/data@before\n",
                "",
            ),
            (
                "zfs list -H -o name -t snapshot",
                0,
                "tank/data@before\n",
                "",
            ),
            (
                "zfs snapshot tank/data@before",
                1,
                "",
                "cannot create snapshot 'tank/data@before': dataset already exists\n",
            ),
            (
                "zfs snapshot tank/nope@before",
                1,
                "",
                "cannot create snapshot 'tank/nope@before': dataset does not exist\n",
            ),
        ];
        for (line, status, stdout, stderr) in cases {
            let words: Vec<&str> = line.split(' ').collect();
            let out = node
                .run(&Cmd::write(words[0], words[1..].iter().copied()))
                .await
                .expect("runs");
            assert_eq!(
                (out.status, out.stdout.as_str(), out.stderr.as_str()),
                (Some(*status), *stdout, *stderr),
                "{line}"
            );
        }
    }
}
