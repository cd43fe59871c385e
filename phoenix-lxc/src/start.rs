//! `lxc.start`: a container that starts at boot is kept running. Starting follows `boot_order`,
//! then dependencies: each start comes after the starts of containers with a lower boot order
//! and of the containers it depends on, and after its own provisioning snapshot.

use async_trait::async_trait;
use phoenix_core::{BoxError, Cmd, Ctx, Delta, FieldChange, Kind, Resource, ResourceId};
use serde::Serialize;

use crate::container::lock;
use crate::facts::Containers;
use crate::snapshot::Snapshot;

/// The kind: `lxc.start`.
pub const KIND: &str = "lxc.start";

/// Keeps one container running.
#[derive(Debug, Clone)]
pub struct Start {
    pub(crate) id: u32,
    /// Starts that must come first (lower boot order, dependencies).
    pub(crate) after: Vec<u32>,
    /// Other resources that must come first (dependencies' provisioning).
    pub(crate) also_after: Vec<ResourceId>,
}

/// Running or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StartState {
    /// `running` or `stopped`.
    pub status: String,
}

impl Start {
    /// The id of container `id`'s start.
    pub fn id_for(id: u32) -> ResourceId {
        ResourceId::new(Kind::from_static(KIND), id.to_string())
    }
}

#[async_trait]
impl Resource for Start {
    type State = StartState;

    fn id(&self) -> ResourceId {
        Start::id_for(self.id)
    }

    fn depends_on(&self) -> Vec<ResourceId> {
        let mut deps = vec![Snapshot::id_for(self.id)];
        deps.extend(self.after.iter().map(|id| Start::id_for(*id)));
        deps.extend(self.also_after.iter().cloned());
        deps
    }

    fn locks(&self) -> Vec<String> {
        vec![lock(self.id)]
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<StartState>, BoxError> {
        let all = cx.fact(&Containers).await?;
        Ok(all.get(&self.id).map(|found| StartState {
            status: found.status.clone(),
        }))
    }

    fn diff(&self, observed: Option<&StartState>) -> Delta {
        if observed.is_some_and(|s| s.status == "running") {
            return Delta::none();
        }
        Delta::none()
            .field(FieldChange::new(
                "status",
                observed.map(|s| s.status.clone().into()),
                Some("running".into()),
            ))
            .run(Cmd::write("pct", ["start", &self.id.to_string()]))
    }

    async fn apply(&self, _change: &phoenix_core::Change, cx: &Ctx<'_>) -> Result<(), BoxError> {
        // Earlier resources of this run may have started it already.
        let id = self.id.to_string();
        if !crate::facts::is_running(cx.host(), self.id).await? {
            cx.run(&Cmd::write("pct", ["start", id.as_str()])).await?;
        }
        Ok(())
    }
}
