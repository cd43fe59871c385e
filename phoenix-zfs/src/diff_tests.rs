//! Pure diff tests of the ZFS resources: a desired spec and an observed state in, the rendered
//! change out (no host involved).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::Arc;

use phoenix_core::{Delta, Disruption, Resource};

use crate::config::{DatasetSpec, Layout, PoolSpec, StorageKind, StorageSpec};
use crate::dataset::{Dataset, DatasetState};
use crate::disk::{Disk, DiskState};
use crate::pool::{Pool, PoolState};
use crate::storage::{Storage, StorageState};

fn render(delta: &Delta) -> String {
    let mut out = String::new();
    for field in &delta.fields {
        let show = |v: &Option<serde_json::Value>| {
            v.as_ref()
                .map_or("(absent)".to_owned(), ToString::to_string)
        };
        let _ = write!(
            out,
            "{}: {} -> {}",
            field.field,
            show(&field.before),
            show(&field.after)
        );
        if let Some(note) = &field.note {
            let _ = write!(out, " ({note})");
        }
        out.push('\n');
    }
    for step in &delta.steps {
        let _ = writeln!(out, "$ {step}");
    }
    if delta.disruption != Disruption::Hot {
        let _ = writeln!(out, "! {}", delta.disruption);
    }
    for d in &delta.diagnostics {
        let _ = writeln!(out, "{}: {}", d.severity, d.message);
    }
    out
}

fn dataset(props: &[(&str, &str)]) -> Dataset {
    let properties: Vec<(String, String)> = props
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Dataset {
        spec: DatasetSpec {
            pool: "quickOS".into(),
            full_name: "quickOS/vm-disks".into(),
            properties,
            storage: None,
        },
        read: Arc::from("recordsize"),
    }
}

fn observed(props: &[(&str, &str, &str)]) -> DatasetState {
    DatasetState {
        props: props
            .iter()
            .map(|(k, v, s)| ((*k).to_owned(), ((*v).to_owned(), (*s).to_owned())))
            .collect(),
    }
}

#[test]
fn issue_14_a_volume_is_created_with_dash_v() {
    let delta = Resource::diff(
        &dataset(&[("volsize", "64M"), ("volblocksize", "16K")]),
        None,
    );
    insta::assert_snapshot!(render(&delta), @r#"
    volsize: (absent) -> "64M"
    volblocksize: (absent) -> "16K"
    $ zfs create -V 64M -o volblocksize=16K quickOS/vm-disks
    "#);
}

#[test]
fn a_missing_dataset_is_created_with_its_properties() {
    let delta = Resource::diff(&dataset(&[("recordsize", "128K"), ("quota", "800G")]), None);
    insta::assert_snapshot!(render(&delta), @r#"
    recordsize: (absent) -> "128K"
    quota: (absent) -> "800G"
    $ zfs create -o recordsize=128K -o quota=800G quickOS/vm-disks
    "#);
}

#[test]
fn equal_values_in_other_spellings_are_converged() {
    let desired = dataset(&[
        ("recordsize", "128K"),
        ("quota", "1.4T"),
        ("compression", "lz4"),
        ("xattr", "sa"),
        ("acltype", "posixacl"),
    ]);
    // Real OpenZFS 2.3 reads xattr=sa back as on and posixacl as posix (the readback matrix).
    let state = observed(&[
        ("recordsize", "131072", "local"),
        ("quota", "1539316278886", "local"),
        ("compression", "on", "inherited from quickOS"),
        ("xattr", "on", "local"),
        ("acltype", "posix", "local"),
    ]);
    assert!(
        Resource::diff(&desired, Some(&state)).is_empty(),
        "{}",
        render(&Resource::diff(&desired, Some(&state)))
    );
}

#[test]
fn exactly_the_differing_properties_get_one_zfs_set() {
    let desired = dataset(&[
        ("recordsize", "128K"),
        ("quota", "900G"),
        ("sync", "always"),
    ]);
    let state = observed(&[
        ("recordsize", "131072", "local"),
        ("quota", "858993459200", "local"),
        ("sync", "standard", "default"),
    ]);
    insta::assert_snapshot!(render(&Resource::diff(&desired, Some(&state))), @r#"
    quota: "800G" -> "900G" (source: local)
    sync: "standard" -> "always" (source: default)
    $ zfs set quota=900G sync=always quickOS/vm-disks
    "#);
}

#[test]
fn a_creation_only_property_that_differs_is_an_error_not_a_step() {
    let desired = dataset(&[("casesensitivity", "insensitive")]);
    let state = observed(&[("casesensitivity", "sensitive", "-")]);
    let delta = Resource::diff(&desired, Some(&state));
    assert!(delta.steps.is_empty());
    insta::assert_snapshot!(render(&delta), @"error: casesensitivity can only be set when a dataset is created: the host has sensitive, the config asks for insensitive; recreate the dataset by hand (it destroys its data) or change the config");
}

fn pool(layout: Layout, disks: &[&str]) -> Pool {
    Pool {
        spec: PoolSpec {
            name: "quickOS".into(),
            layout,
            disks: disks.iter().map(|d| (*d).to_owned()).collect(),
        },
    }
}

#[test]
fn a_missing_pool_is_created_with_autotrim_and_the_upstream_defaults() {
    let delta = Resource::diff(
        &pool(Layout::Mirror, &["/dev/disk/by-id/a", "/dev/disk/by-id/b"]),
        None,
    );
    insta::assert_snapshot!(render(&delta).lines().last().unwrap_or_default(), @"$ zpool create -o ashift=12 -o autotrim=on -O compression=lz4 -O atime=off quickOS mirror /dev/disk/by-id/a /dev/disk/by-id/b");
}

fn pool_state(layout: &str, disks: &[&str], autotrim: &str) -> PoolState {
    PoolState {
        layout: Some(layout.to_owned()),
        disks: disks.iter().map(|d| (*d).to_owned()).collect(),
        health: "ONLINE".into(),
        props: BTreeMap::from([("autotrim".to_owned(), autotrim.to_owned())]),
    }
}

#[test]
fn a_pool_on_its_disk_partitions_is_converged_and_autotrim_converges_in_place() {
    let desired = pool(Layout::Mirror, &["/dev/disk/by-id/a", "/dev/disk/by-id/b"]);
    let members = ["/dev/disk/by-id/a-part1", "/dev/disk/by-id/b-part1"];
    assert!(Resource::diff(&desired, Some(&pool_state("mirror", &members, "on"))).is_empty());
    insta::assert_snapshot!(render(&Resource::diff(&desired, Some(&pool_state("mirror", &members, "off")))), @r#"
    autotrim: "off" -> "on"
    $ zpool set autotrim=on quickOS
    "#);
}

#[test]
fn layout_drift_is_reported_and_never_fixed() {
    let desired = pool(Layout::Mirror, &["/dev/disk/by-id/a", "/dev/disk/by-id/c"]);
    let delta = Resource::diff(
        &desired,
        Some(&pool_state(
            "mirror",
            &["/dev/disk/by-id/a-part1", "/dev/disk/by-id/b-part1"],
            "on",
        )),
    );
    assert!(delta.steps.is_empty());
    insta::assert_snapshot!(render(&delta), @"error: layout drift that Phoenix will not change: the config says mirror of [/dev/disk/by-id/a, /dev/disk/by-id/c], the host has mirror of [/dev/disk/by-id/a-part1, /dev/disk/by-id/b-part1]; rebuilding a pool destroys its data, so do it by hand or change the config");
    let stripe = Resource::diff(
        &pool(Layout::Stripe, &["/dev/disk/by-id/a", "/dev/disk/by-id/b"]),
        Some(&pool_state(
            "mirror",
            &["/dev/disk/by-id/a-part1", "/dev/disk/by-id/b-part1"],
            "on",
        )),
    );
    assert!(stripe.steps.is_empty() && stripe.diagnostics.iter().any(|d| d.is_error()));
}

fn disk() -> Disk {
    Disk::new(
        "/dev/disk/by-id/x",
        "fastData",
        &phoenix_core::Scope::node(),
    )
}

fn disk_state(present: bool, signatures: &[&str]) -> DiskState {
    DiskState {
        member_of: None,
        pool_exists: false,
        present,
        signatures: signatures.iter().map(|s| (*s).to_owned()).collect(),
        wear: None,
        wear_error: None,
    }
}

#[test]
fn a_disk_with_a_filesystem_is_wiped_only_as_a_destroying_step() {
    insta::assert_snapshot!(render(&Resource::diff(&disk(), Some(&disk_state(true, &["ext4"])))), @r#"
    signatures: "ext4" -> "(none)"
    $ wipefs -a /dev/disk/by-id/x
    ! destroys data: /dev/disk/by-id/x carries ext4; wiping it erases whatever is on it
    "#);
    assert!(Resource::diff(&disk(), Some(&disk_state(true, &[]))).is_empty());
}

#[test]
fn a_missing_disk_is_an_error() {
    let delta = Resource::diff(&disk(), Some(&disk_state(false, &[])));
    assert!(delta.steps.is_empty());
    assert!(
        delta
            .diagnostics
            .iter()
            .any(|d| d.is_error() && d.message.contains("does not exist"))
    );
}

#[test]
fn a_disk_of_another_pool_is_never_touched() {
    let mut state = disk_state(true, &[]);
    state.member_of = Some("quickOS".into());
    let delta = Resource::diff(&disk(), Some(&state));
    assert!(delta.steps.is_empty() && delta.diagnostics.iter().any(|d| d.is_error()));
}

fn storage(kind: StorageKind, content: &[&str]) -> Storage {
    Storage {
        spec: StorageSpec {
            id: "fastData-shared-iso".into(),
            kind,
            content: content.iter().map(|c| (*c).to_owned()).collect(),
        },
        dataset: DatasetSpec {
            pool: "fastData".into(),
            full_name: "fastData/shared-iso".into(),
            properties: Vec::new(),
            storage: None,
        },
    }
}

fn storage_state(kind: &str, target: &str, content: &[&str]) -> StorageState {
    StorageState {
        kind: kind.into(),
        target: Some(target.into()),
        content: content
            .iter()
            .map(|c| (*c).to_owned())
            .collect::<BTreeSet<_>>(),
    }
}

#[test]
fn storages_are_added_and_content_compares_as_a_set() {
    insta::assert_snapshot!(render(&Resource::diff(&storage(StorageKind::Dir, &["iso", "vztmpl"]), None)).lines().last().unwrap_or_default(), @"$ pvesm add dir fastData-shared-iso --path /fastData/shared-iso --content iso,vztmpl --is_mountpoint yes");
    let desired = storage(StorageKind::Dir, &["vztmpl", "iso"]);
    assert!(
        Resource::diff(
            &desired,
            Some(&storage_state(
                "dir",
                "/fastData/shared-iso",
                &["iso", "vztmpl"]
            ))
        )
        .is_empty()
    );
    insta::assert_snapshot!(render(&Resource::diff(&desired, Some(&storage_state("dir", "/fastData/shared-iso", &["iso"])))), @r#"
    content: "iso" -> "iso,vztmpl"
    $ pvesm set fastData-shared-iso --content iso,vztmpl
    "#);
}

#[test]
fn a_storage_type_mismatch_is_an_error() {
    let delta = Resource::diff(
        &storage(StorageKind::Dir, &["iso"]),
        Some(&storage_state("zfspool", "fastData/shared-iso", &["iso"])),
    );
    assert!(delta.steps.is_empty() && delta.diagnostics.iter().any(|d| d.is_error()));
}
