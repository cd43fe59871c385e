//! `lxc.start`: the running state a container should have.
//!
//! A container that starts at boot is kept running. Starting follows `boot_order`, then
//! dependencies: each start comes after the starts of containers with a lower boot order and of
//! the containers it depends on, and after its own provisioning snapshot.
//!
//! A container that does not start at boot but has features is started by Phoenix to provision
//! it and is kept stopped afterwards: found running (a provisioning that failed halfway left it
//! so, or someone started it), it is shut down after its features and before its provisioning
//! snapshot, so that the snapshot is always taken of the stopped container.

use async_trait::async_trait;
use phoenix_core::{BoxError, Cmd, Ctx, Delta, FieldChange, Kind, Resource, ResourceId};
use serde::Serialize;

use crate::container::lock;
use crate::facts::Containers;
use crate::features::Features;
use crate::snapshot::Snapshot;

/// The kind: `lxc.start`.
pub const KIND: &str = "lxc.start";

/// Keeps one container running, or stopped.
#[derive(Debug, Clone)]
pub struct Start {
    pub(crate) id: u32,
    /// What the container should be.
    pub(crate) want: Power,
    /// Starts that must come first (lower boot order, dependencies).
    pub(crate) after: Vec<u32>,
    /// Other resources that must come first (dependencies' provisioning).
    pub(crate) also_after: Vec<ResourceId>,
}

/// The running state a container should have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Power {
    /// Running (it starts at boot).
    Running,
    /// Stopped once provisioned (it does not start at boot).
    Stopped,
}

impl Power {
    fn status(self) -> &'static str {
        match self {
            Power::Running => "running",
            Power::Stopped => "stopped",
        }
    }
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
        if self.want == Power::Stopped {
            // Before the snapshot (which depends on this), after the provisioning.
            return vec![Features::id_for(self.id)];
        }
        let mut deps = vec![Snapshot::id_for(self.id)];
        deps.extend(self.after.iter().map(|id| Start::id_for(*id)));
        deps.extend(self.also_after.iter().cloned());
        deps
    }

    /// A container kept stopped is stopped after every resource in its scope (they run in the
    /// container its provisioning started).
    fn requires(&self) -> Vec<phoenix_core::Capability> {
        match self.want {
            Power::Stopped => vec![crate::guest::settled(self.id)],
            Power::Running => Vec::new(),
        }
    }

    fn locks(&self) -> Vec<String> {
        vec![lock(self.id)]
    }

    /// Provisioning starts a container kept stopped: it is stopped again afterwards.
    fn triggered_by(&self) -> Vec<ResourceId> {
        match self.want {
            Power::Stopped => vec![Features::id_for(self.id)],
            Power::Running => Vec::new(),
        }
    }

    fn when_triggered(&self, by: &[ResourceId]) -> Delta {
        if self.want != Power::Stopped || by.is_empty() {
            return Delta::none();
        }
        let id = self.id.to_string();
        Delta::none()
            .field(
                FieldChange::new("status", None, Some("stopped".into())).note("after provisioning"),
            )
            .run(Cmd::write("pct", ["shutdown", id.as_str()]))
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<StartState>, BoxError> {
        let all = cx.fact(&Containers).await?;
        let status = match all.get(&self.id) {
            Some(found) => found.status.clone(),
            // A container about to be created is stopped: nothing to do to keep it so.
            None if self.want == Power::Stopped => "stopped".to_owned(),
            None => return Ok(None),
        };
        Ok(Some(StartState { status }))
    }

    fn diff(&self, observed: Option<&StartState>) -> Delta {
        let want = self.want.status();
        let stopping = self.want == Power::Stopped;
        // A container that does not exist yet is created stopped, and its provisioning stops it
        // again: only one found running needs stopping.
        let settled = match observed {
            Some(state) => state.status == want,
            None => stopping,
        };
        if settled {
            return Delta::none();
        }
        let id = self.id.to_string();
        Delta::none()
            .field(FieldChange::new(
                "status",
                observed.map(|s| s.status.clone().into()),
                Some(want.into()),
            ))
            .run(Cmd::write(
                "pct",
                [if stopping { "shutdown" } else { "start" }, id.as_str()],
            ))
    }

    async fn apply(&self, _change: &phoenix_core::Change, cx: &Ctx<'_>) -> Result<(), BoxError> {
        // Earlier resources of this run may have started or stopped it already.
        let id = self.id.to_string();
        let running = crate::facts::is_running(cx.host(), self.id).await?;
        match self.want {
            Power::Running if !running => {
                cx.run(&Cmd::write("pct", ["start", id.as_str()])).await?;
            }
            Power::Stopped if running => {
                cx.run(&Cmd::write("pct", ["shutdown", id.as_str()]))
                    .await?;
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start(want: Power) -> Start {
        Start {
            id: 900,
            want,
            after: Vec::new(),
            also_after: Vec::new(),
        }
    }

    fn check(want: Power, observed: Option<&str>, expect: &[&str]) {
        let state = observed.map(|status| StartState {
            status: status.to_owned(),
        });
        let delta = start(want).diff(state.as_ref());
        let steps: Vec<String> = delta.steps.iter().map(ToString::to_string).collect();
        assert_eq!(steps, expect, "{want:?} observed {observed:?}");
    }

    #[test]
    fn issue_8_a_container_that_should_be_stopped_and_runs_is_shut_down() {
        check(Power::Stopped, Some("running"), &["pct shutdown 900"]);
        check(Power::Stopped, Some("stopped"), &[]);
        check(Power::Stopped, None, &[]);
        check(Power::Running, Some("stopped"), &["pct start 900"]);
        check(Power::Running, None, &["pct start 900"]);
        check(Power::Running, Some("running"), &[]);
    }
}
