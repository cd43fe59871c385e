//! `gpu.assignment`: a container's `gpu_assignment` checked against the GPUs the node has.
//!
//! GPU indexes map to device nodes (`/dev/nvidia<i>`) through `nvidia-smi`'s list, read by the
//! node's one probe: an index the node does not have is a plan error at the container's
//! `gpu_assignment`. When the list cannot be read (no driver yet, or one waiting for a reboot)
//! there is nothing to check yet: phoenix-lxc's `lxc.gpu`, which defers the container's
//! passthrough lines, says so with the reason.

use async_trait::async_trait;
use phoenix_core::{BoxError, Ctx, Delta, Diagnostic, Kind, Resource, ResourceId, Scope};
use serde::Serialize;

use crate::config::{Assignment, assignment_path};
use crate::host;

/// The kind: `gpu.assignment`.
pub const KIND: &str = "gpu.assignment";

/// One container's GPUs, checked.
#[derive(Debug, Clone)]
pub struct AssignmentCheck {
    assignment: Assignment,
    node: Scope,
    driver: Option<ResourceId>,
}

/// The node's GPUs as `nvidia-smi` lists them, or why it cannot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostGpus {
    /// The indexes, when known.
    pub indexes: Option<Vec<u32>>,
    /// Why they are not known.
    pub why: Option<String>,
}

impl AssignmentCheck {
    /// The check of `assignment` on `node`, after the driver resource when there is one.
    pub fn new(
        node: &Scope,
        assignment: Assignment,
        driver: Option<ResourceId>,
    ) -> AssignmentCheck {
        host::observe_node(node);
        AssignmentCheck {
            assignment,
            node: node.clone(),
            driver,
        }
    }
}

#[async_trait]
impl Resource for AssignmentCheck {
    type State = HostGpus;

    fn id(&self) -> ResourceId {
        ResourceId::new(Kind::from_static(KIND), self.assignment.vmid.to_string())
    }

    fn depends_on(&self) -> Vec<ResourceId> {
        self.driver.iter().cloned().collect()
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<HostGpus>, BoxError> {
        let host = host::read(cx, &self.node).await?;
        Ok(Some(HostGpus {
            indexes: host.indexes(),
            why: host.gpus_error,
        }))
    }

    fn diff(&self, observed: Option<&HostGpus>) -> Delta {
        check(&self.assignment, observed)
    }
}

/// The pure check: every index exists on the node; nothing to say while the list is unknown
/// (`lxc.gpu` reports the deferral).
pub fn check(assignment: &Assignment, observed: Option<&HostGpus>) -> Delta {
    let vmid = assignment.vmid;
    let Some(indexes) = observed.and_then(|gpus| gpus.indexes.as_ref()) else {
        return Delta::none();
    };
    let missing: Vec<String> = assignment
        .gpus
        .iter()
        .filter(|gpu| !indexes.contains(gpu))
        .map(u32::to_string)
        .collect();
    if missing.is_empty() {
        return Delta::none();
    }
    let have: Vec<String> = indexes.iter().map(u32::to_string).collect();
    let have = if have.is_empty() {
        "none".to_owned()
    } else {
        have.join(", ")
    };
    Delta::none().diagnostic(
        Diagnostic::error(format!(
            "{}: GPU {} does not exist on the node (nvidia-smi lists GPUs {have})",
            assignment_path(vmid),
            missing.join(", "),
        ))
        .at(assignment.at.clone()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use phoenix_core::{Location, Severity};

    #[test]
    fn checks() {
        let assignment = |gpus: &[u32]| Assignment {
            vmid: 901,
            gpus: gpus.to_vec(),
            at: Location::new("lxc.json", "x"),
        };
        let two = HostGpus {
            indexes: Some(vec![0, 1]),
            why: None,
        };
        let unknown = HostGpus {
            indexes: None,
            why: Some("nvidia-smi is not installed".into()),
        };
        let cases: &[(&[u32], &HostGpus, Option<Severity>, &str)] = &[
            (&[0], &two, None, ""),
            (&[0, 1], &two, None, ""),
            (
                &[2],
                &two,
                Some(Severity::Error),
                "GPU 2 does not exist on the node (nvidia-smi lists GPUs 0, 1)",
            ),
            (
                &[1, 2, 3],
                &two,
                Some(Severity::Error),
                "GPU 2, 3 does not exist",
            ),
            (&[0], &unknown, None, ""),
        ];
        for (gpus, host, severity, message) in cases {
            let delta = check(&assignment(gpus), Some(host));
            assert!(delta.steps.is_empty());
            match severity {
                None => assert!(delta.diagnostics.is_empty(), "{gpus:?}"),
                Some(severity) => {
                    assert_eq!(delta.diagnostics.len(), 1, "{gpus:?}");
                    assert_eq!(delta.diagnostics[0].severity, *severity, "{gpus:?}");
                    assert!(
                        delta.diagnostics[0].message.contains(message),
                        "{}",
                        delta.diagnostics[0].message
                    );
                }
            }
        }
    }
}
