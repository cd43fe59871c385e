//! Phoenix provider: the LXC container lifecycle on Proxmox VE.
//!
//! Per container: `lxc.container` (create from a template or clone the parent's snapshot; one
//! `pct set` for what differs; mounts by path; raw `lxc.*` lines in the main section; grow the
//! root disk; restart once at the end when needed), `lxc.gpu` (the NVIDIA passthrough lines of
//! a container with `gpu_assignment`), `lxc.features` (in-container provisioning,
//! probed in one `pct exec`), `lxc.snapshot` (the provisioning snapshot with a spec digest) and,
//! for containers that start at boot, `lxc.start` (in boot order, after dependencies).
//!
//! Inspection is batched: one `pct list` and one `grep -H` over every conf file, whatever the
//! number of containers, plus one probe per running container with features.

pub mod config;
pub mod container;
mod error;
mod facts;
pub mod features;
pub mod gpu;
mod guest;
pub mod parse;
pub mod reconfigure;
mod secret;
#[cfg(feature = "sim")]
pub mod sim;
pub mod snapshot;
pub mod start;
pub mod template;

use std::collections::BTreeMap;
use std::sync::Arc;

use phoenix_core::config::{Claim, Section};
use phoenix_core::{DecodeCx, Ensure, Kind, Provider};

use crate::config::Origin;

pub use error::{Error, Result};
pub use guest::PctExec;

const NOT_YET_VMS: &str = "Phoenix manages containers; virtual machines are out of its scope";

/// The LXC provider.
#[derive(Debug, Default, Clone, Copy)]
pub struct LxcProvider;

/// The LXC provider, for `Registry::builder().provider(...)`.
pub fn provider() -> LxcProvider {
    LxcProvider
}

impl Provider for LxcProvider {
    fn name(&self) -> &str {
        "lxc"
    }

    fn kinds(&self) -> Vec<Kind> {
        [
            container::KIND,
            features::KIND,
            gpu::KIND,
            snapshot::KIND,
            start::KIND,
            template::KIND,
        ]
        .into_iter()
        .map(Kind::from_static)
        .collect()
    }

    fn claims(&self) -> Vec<Claim> {
        vec![
            Claim::managed("lxc_configs"),
            Claim::managed("shared_volumes"),
            Claim::known(
                "mount_point_base",
                "Phoenix uses each dataset's mountpoint and the paths the config gives",
            ),
            Claim::known(
                "proxmox_defaults",
                "the upstream tool never read these defaults; every container states its own values",
            ),
            Claim::known("vm_defaults", NOT_YET_VMS),
            Claim::known("vms", NOT_YET_VMS),
        ]
    }

    /// `pct exec` into containers, for scoped resources in `ct:<vmid>` (any provider's).
    fn guest_transports(&self) -> Vec<Arc<dyn phoenix_core::GuestTransport>> {
        vec![Arc::new(PctExec)]
    }

    /// The emulators of `pct` and `grep`, registered with the provider.
    #[cfg(feature = "sim")]
    fn emulators(&self) -> Vec<std::sync::Arc<dyn phoenix_core::sim::Emulator>> {
        sim::emulators()
    }

    fn decode(&self, sections: &[Section<'_>], cx: &mut DecodeCx<'_>) {
        let mut decoded = config::decode(sections, cx);
        inherit_features(&mut decoded.containers);
        let specs: BTreeMap<u32, config::ContainerSpec> = decoded
            .containers
            .iter()
            .map(|c| (c.id, c.clone()))
            .collect();
        let mut templates: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        for spec in &decoded.containers {
            if let Origin::Template(path) = &spec.origin {
                templates.entry(path.clone()).or_default().push(spec.id);
            }
        }
        for (path, users) in templates {
            cx.add(template::Template { path, users });
        }
        let book: Arc<facts::ProbeBook> = Arc::new(
            decoded
                .containers
                .iter()
                .filter(|spec| spec.ensure != Ensure::Absent && spec.provisioned())
                .map(|spec| (spec.id, Arc::new(features::requests(&spec.features))))
                .collect(),
        );
        for spec in &decoded.containers {
            // Every resource of a container points at the container's entry in messages.
            let origin = decoded
                .locations
                .get(&spec.id)
                .cloned()
                .expect("invariant: every decoded container has a location");
            let parent = match &spec.origin {
                Origin::Clone { parent, .. } => specs.get(parent).cloned(),
                Origin::Template(_) => None,
            };
            cx.add_at(
                container::Container {
                    spec: spec.clone(),
                    parent,
                },
                origin.clone(),
            );
            if spec.ensure == Ensure::Absent {
                continue;
            }
            if let Some(gpus) = &spec.gpus {
                match cx.scope("node") {
                    Ok(node) => cx.add_at(
                        gpu::Passthrough::new(&node, spec.id, gpus.clone(), spec.lxc.clone()),
                        origin.clone(),
                    ),
                    Err(err) => cx.report(phoenix_core::Diagnostic::error(err.to_string())),
                }
            }
            let digest = snapshot::digest(spec);
            if spec.provisioned() {
                cx.add_at(
                    features::Features {
                        spec: spec.clone(),
                        digest: digest.clone(),
                        requests: book
                            .get(&spec.id)
                            .cloned()
                            .expect("invariant: the book has every container with features"),
                        book: Arc::clone(&book),
                    },
                    origin.clone(),
                );
            }
            cx.add_at(
                snapshot::Snapshot {
                    spec: spec.clone(),
                    digest,
                },
                origin.clone(),
            );
            if spec.start_at_boot {
                let order = spec.boot_order.unwrap_or(0);
                let mut after: Vec<u32> = decoded
                    .containers
                    .iter()
                    .filter(|other| {
                        other.start_at_boot
                            && other.ensure == Ensure::Present
                            && other.boot_order.unwrap_or(0) < order
                    })
                    .map(|other| other.id)
                    .collect();
                let mut also_after = Vec::new();
                for dependency in &spec.dependencies {
                    match specs.get(dependency) {
                        Some(dep) if dep.start_at_boot => after.push(*dependency),
                        Some(_) => also_after.push(snapshot::Snapshot::id_for(*dependency)),
                        None => {}
                    }
                }
                after.sort_unstable();
                after.dedup();
                cx.add_at(
                    start::Start {
                        id: spec.id,
                        want: start::Power::Running,
                        after,
                        also_after,
                    },
                    origin,
                );
            } else if spec.provisioned() {
                // Started to be provisioned, so kept stopped once provisioned.
                cx.add_at(
                    start::Start {
                        id: spec.id,
                        want: start::Power::Stopped,
                        after: Vec::new(),
                        also_after: Vec::new(),
                    },
                    origin,
                );
            }
        }
    }
}

/// Marks every clone whose ancestors (up the `clone_from` chain) have features.
fn inherit_features(containers: &mut [config::ContainerSpec]) {
    let by_id: BTreeMap<u32, (bool, Option<u32>)> = containers
        .iter()
        .map(|spec| {
            let parent = match &spec.origin {
                Origin::Clone { parent, .. } => Some(*parent),
                Origin::Template(_) => None,
            };
            (spec.id, (!spec.features.is_empty(), parent))
        })
        .collect();
    for spec in containers.iter_mut() {
        let mut seen = std::collections::BTreeSet::from([spec.id]);
        let mut next = by_id.get(&spec.id).and_then(|(_, parent)| *parent);
        while let Some(id) = next.filter(|id| seen.insert(*id)) {
            let Some((has, parent)) = by_id.get(&id) else {
                break;
            };
            if *has {
                spec.inherits_features = true;
                break;
            }
            next = *parent;
        }
    }
}
