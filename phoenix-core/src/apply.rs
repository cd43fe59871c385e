//! `apply`: re-plan, refuse a stale or erroneous plan, execute in dependency order with bounded
//! parallelism and lock domains, then verify that every changed resource converged.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;
use tracing::Instrument;
use tracing::instrument::WithSubscriber;

use crate::change::{Action, Change, Ensure, FieldChange};
use crate::diag::Diagnostic;
use crate::error::{BoxError, Error, ErrorChain};
use crate::facts::Facts;
use crate::host::{Host, ReadOnly};
use crate::id::ResourceId;
use crate::memory::RunMemory;
use crate::plan::{
    Engine, Plan, PlanOptions, diff_isolated, error_chain, panic_message, stale_reason,
};
use crate::resource::{Ctx, DynResource};
use crate::stats::{Counting, Stats};

/// The default bound on changes applied at once: independent containers and datasets apply
/// together (each is its own lock domain), and a Proxmox host still gets at most 16 heavy
/// operations (`pct clone`, `zfs create`, ...) at once. Over SSH the connection's session limit
/// bounds it further.
pub const DEFAULT_PARALLELISM: usize = 16;

/// Options for `apply`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ApplyOptions {
    /// Options for the planning pass that apply runs first.
    pub plan: PlanOptions,
    /// At most how many resources are changed at once (`--parallelism`, default
    /// [`DEFAULT_PARALLELISM`]). The scheduler never runs two changes of one lock domain
    /// together, so what runs at once is also bounded by the lock domains with changes: the
    /// bound only protects the host from too many heavy operations at once.
    pub parallelism: usize,
    /// A plan made earlier (and shown to the operator); apply refuses if the host no longer
    /// gives the same plan.
    pub saved: Option<Plan>,
}

impl Default for ApplyOptions {
    fn default() -> ApplyOptions {
        ApplyOptions {
            plan: PlanOptions::default(),
            parallelism: DEFAULT_PARALLELISM,
            saved: None,
        }
    }
}

impl ApplyOptions {
    /// Sets the planning options.
    pub fn plan(mut self, plan: PlanOptions) -> ApplyOptions {
        self.plan = plan;
        self
    }

    /// Sets the parallelism.
    pub fn parallelism(mut self, parallelism: usize) -> ApplyOptions {
        self.parallelism = parallelism.max(1);
        self
    }

    /// Sets the saved plan to check against.
    pub fn saved(mut self, saved: Plan) -> ApplyOptions {
        self.saved = Some(saved);
        self
    }
}

/// What happened to one resource during apply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
#[non_exhaustive]
pub enum Status {
    /// Applied and verified.
    Applied,
    /// Apply failed.
    Failed {
        /// The error and its causes.
        error: ErrorChain,
    },
    /// Not attempted because a dependency failed or was skipped.
    Skipped {
        /// The dependency that failed first.
        because: ResourceId,
    },
    /// Applied, but inspecting it again still shows differences.
    NotConverged {
        /// What still differs.
        fields: Vec<FieldChange>,
    },
    /// Applied, but inspecting it again failed, so whether it converged is unknown.
    Unverified {
        /// Why the verification failed, with its causes.
        error: ErrorChain,
    },
}

/// The outcome for one changed resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Outcome {
    /// The resource.
    pub id: ResourceId,
    /// What was planned.
    pub action: Action,
    /// What happened.
    #[serde(flatten)]
    pub status: Status,
}

/// Told about progress while apply runs, for progress bars and logs.
pub trait Observer: Send + Sync {
    /// Planning is done and execution is about to start.
    fn planned(&self, _plan: &Plan) {}
    /// A resource's change is starting.
    fn started(&self, _change: &Change) {}
    /// A resource is done (before verification).
    fn finished(&self, _outcome: &Outcome) {}
}

/// An observer that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct Quiet;

impl Observer for Quiet {}

/// The result of `apply`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ApplyReport {
    /// [`crate::plan::FORMAT_VERSION`].
    pub format_version: u32,
    /// The plan that was executed.
    pub plan: Plan,
    /// One outcome per changed resource, in execution order.
    pub outcomes: Vec<Outcome>,
    /// What executing and verifying cost (planning is in `plan.stats`).
    pub stats: Stats,
}

impl ApplyReport {
    /// Whether every change was applied and converged.
    pub fn succeeded(&self) -> bool {
        self.outcomes.iter().all(|o| o.status == Status::Applied)
    }
}

impl Engine {
    /// Plans again, then executes the changes.
    ///
    /// Refuses (changing nothing) when the plan has errors or no longer matches
    /// `options.saved`. A failed resource skips its dependents; independent branches finish.
    pub async fn apply(
        &self,
        host: Arc<dyn Host>,
        options: &ApplyOptions,
        observer: Arc<dyn Observer>,
    ) -> Result<ApplyReport, Error> {
        let planned = self.plan_inner(Arc::clone(&host), &options.plan).await;
        if planned.plan.has_errors() {
            return Err(Error::PlanHasErrors {
                diagnostics: planned.plan.diagnostics,
            });
        }
        if let Some(saved) = &options.saved
            && let Some(reason) = stale_reason(saved, &planned.plan)
        {
            return Err(Error::StalePlan { reason });
        }
        observer.planned(&planned.plan);
        let started = Instant::now();
        let counting: Arc<Counting<Arc<dyn Host>>> = Arc::new(Counting::new(Arc::clone(&host)));
        let mut outcomes = self
            .execute(
                &planned.changes,
                Arc::new(planned.unreached.clone()),
                Arc::clone(&counting) as Arc<dyn Host>,
                options.parallelism,
                observer,
            )
            .await;
        let mut stats = counting.take();
        self.verify(&planned.changes, &mut outcomes, host, &mut stats)
            .await;
        stats.wall_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let position: HashMap<ResourceId, usize> = planned
            .plan
            .changes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id.clone(), i))
            .collect();
        outcomes.sort_by_key(|o| position.get(&o.id).copied().unwrap_or(usize::MAX));
        Ok(ApplyReport {
            format_version: crate::plan::FORMAT_VERSION,
            plan: planned.plan,
            outcomes,
            stats,
        })
    }

    async fn execute(
        &self,
        changes: &[Option<Change>],
        unreached: Arc<BTreeSet<String>>,
        host: Arc<dyn Host>,
        parallelism: usize,
        observer: Arc<dyn Observer>,
    ) -> Vec<Outcome> {
        let n = self.resources.len();
        let position: Vec<usize> = {
            let mut position = vec![0; n];
            for (pos, index) in self.graph.order().enumerate() {
                position[index] = pos;
            }
            position
        };
        let mut waiting_on: Vec<usize> = (0..n).map(|i| self.graph.dependencies(i).len()).collect();
        let mut ready: BTreeSet<(usize, usize)> = (0..n)
            .filter(|i| waiting_on[*i] == 0)
            .map(|i| (position[i], i))
            .collect();
        let mut blocked: Vec<Option<ResourceId>> = vec![None; n];
        let mut busy: HashSet<String> = HashSet::new();
        let mut running: JoinSet<(usize, Result<(), ErrorChain>)> = JoinSet::new();
        let mut task_index: HashMap<tokio::task::Id, usize> = HashMap::new();
        let mut outcomes = Vec::new();
        let facts = Arc::new(Facts::new());
        let memory = Arc::new(RunMemory::new());
        let again = Arc::new(AgainFacts::default());
        loop {
            // Start every ready resource whose lock domains are free, in execution order.
            while running.len() < parallelism.max(1) {
                let candidate = ready.iter().copied().find(|(_, i)| {
                    changes[*i].as_ref().is_none_or(Change::is_noop)
                        || self.resources[*i].locks().iter().all(|l| !busy.contains(l))
                });
                let Some(entry) = candidate else { break };
                ready.remove(&entry);
                let index = entry.1;
                match changes[index].as_ref().filter(|c| !c.is_noop()) {
                    None => self.release(index, &mut waiting_on, &mut ready, &position, &blocked),
                    Some(change) => {
                        let locks = self.resources[index].locks();
                        busy.extend(locks);
                        observer.started(change);
                        let resource = Arc::clone(&self.resources[index]);
                        let change = change.clone();
                        let host = Arc::clone(&host);
                        let facts = Arc::clone(&facts);
                        let provided = Arc::clone(&self.provided);
                        let guests = Arc::clone(&self.guests);
                        let memory = Arc::clone(&memory);
                        let again = Arc::clone(&again);
                        let unreached = Arc::clone(&unreached);
                        let span = tracing::info_span!("apply", resource = %change.id, action = %change.action);
                        let handle = running.spawn(
                            async move {
                                let cx = Ctx::with_facts(&*host, facts)
                                    .providing(provided)
                                    .knowing(guests)
                                    .remembering(Arc::clone(&memory));
                                let looked = again.converged(&*resource, &unreached, &cx).await;
                                let seen = matches!(looked, Ok(true));
                                let result = match looked {
                                    Ok(true) => {
                                        tracing::info!(
                                            "converged already, seen once its guest ran"
                                        );
                                        Ok(())
                                    }
                                    Ok(false) => {
                                        resource.apply(&change, &cx).await.map_err(ErrorChain::new)
                                    }
                                    Err(error) => Err(ErrorChain::new(error)),
                                };
                                match &result {
                                    Ok(()) if seen => {}
                                    Ok(()) => memory.mark_changed(change.id.clone()),
                                    Err(error) => {
                                        tracing::warn!(error = %error.chain(), "apply failed");
                                    }
                                }
                                (index, result)
                            }
                            .instrument(span)
                            // The task logs where its caller does (a CLI run's subscriber).
                            .with_current_subscriber(),
                        );
                        task_index.insert(handle.id(), index);
                    }
                }
            }
            let Some(joined) = running.join_next_with_id().await else {
                if ready.is_empty() {
                    break;
                }
                continue;
            };
            let (index, result) = match joined {
                Ok((_, (index, result))) => (index, result),
                Err(join_error) => {
                    let index = task_index
                        .get(&join_error.id())
                        .copied()
                        .unwrap_or_default();
                    let message = if join_error.is_panic() {
                        format!(
                            "provider panicked: {}",
                            panic_message(&*join_error.into_panic())
                        )
                    } else {
                        "apply task was cancelled".to_owned()
                    };
                    (index, Err(ErrorChain::msg(message)))
                }
            };
            for lock in self.resources[index].locks() {
                busy.remove(&lock);
            }
            let change = changes[index]
                .as_ref()
                .expect("invariant: only changes are spawned");
            let status = match result {
                Ok(()) => {
                    self.release(index, &mut waiting_on, &mut ready, &position, &blocked);
                    Status::Applied
                }
                Err(error) => {
                    self.block_dependents(index, &change.id, &mut blocked);
                    Status::Failed { error }
                }
            };
            let outcome = Outcome {
                id: change.id.clone(),
                action: change.action,
                status,
            };
            observer.finished(&outcome);
            outcomes.push(outcome);
        }
        for (index, because) in blocked.iter().enumerate() {
            if let (Some(because), Some(change)) =
                (because, changes[index].as_ref().filter(|c| !c.is_noop()))
            {
                let outcome = Outcome {
                    id: change.id.clone(),
                    action: change.action,
                    status: Status::Skipped {
                        because: because.clone(),
                    },
                };
                observer.finished(&outcome);
                outcomes.push(outcome);
            }
        }
        outcomes
    }

    /// Marks `index` done: dependents whose dependencies are all done become ready.
    fn release(
        &self,
        index: usize,
        waiting_on: &mut [usize],
        ready: &mut BTreeSet<(usize, usize)>,
        position: &[usize],
        blocked: &[Option<ResourceId>],
    ) {
        for dependent in self.graph.dependents(index) {
            waiting_on[dependent] -= 1;
            if waiting_on[dependent] == 0 && blocked[dependent].is_none() {
                ready.insert((position[dependent], dependent));
            }
        }
    }

    /// Marks every transitive dependent of a failed resource as skipped because of it.
    fn block_dependents(
        &self,
        index: usize,
        because: &ResourceId,
        blocked: &mut [Option<ResourceId>],
    ) {
        let mut stack = self.graph.dependents(index);
        while let Some(dependent) = stack.pop() {
            if blocked[dependent].is_none() {
                blocked[dependent] = Some(because.clone());
                stack.extend(self.graph.dependents(dependent));
            }
        }
    }

    /// Inspects every applied resource again with fresh facts; one that still differs did not
    /// converge, and one whose inspection fails is unverified, with the error.
    async fn verify(
        &self,
        changes: &[Option<Change>],
        outcomes: &mut [Outcome],
        host: Arc<dyn Host>,
        stats: &mut Stats,
    ) {
        let applied: HashSet<ResourceId> = outcomes
            .iter()
            .filter(|o| o.status == Status::Applied)
            .map(|o| o.id.clone())
            .collect();
        if applied.is_empty() {
            return;
        }
        let counting = Counting::new(host);
        let read_only = ReadOnly(&counting);
        let facts = Arc::new(Facts::new());
        // A guest frozen by this apply (provisioned, then stopped with its fingerprint recorded)
        // is settled: its resources converged when it was frozen.
        let settled = self.settled_guests(&read_only, &facts).await;
        let checks = futures::stream::iter(self.resources.iter().enumerate())
            .filter(|(index, resource)| {
                let keep = applied.contains(self.graph.id(*index))
                    && changes[*index].is_some()
                    && !crate::settle::guest_of(&***resource).is_some_and(|g| settled.contains(&g));
                async move { keep }
            })
            .map(|(index, resource)| {
                let cx = self.cx(&read_only, &facts);
                async move { (self.graph.id(index).clone(), check(&**resource, &cx).await) }
            })
            .buffer_unordered(64)
            .collect::<Vec<_>>()
            .await;
        let mut remaining: HashMap<ResourceId, Status> = checks
            .into_iter()
            .filter_map(|(id, status)| status.map(|status| (id, status)))
            .collect();
        for outcome in outcomes.iter_mut() {
            if let Some(status) = remaining.remove(&outcome.id) {
                match &status {
                    Status::Unverified { error } => {
                        tracing::warn!(resource = %outcome.id, error = %error.chain(), "could not verify");
                    }
                    _ => tracing::warn!(resource = %outcome.id, "did not converge"),
                }
                outcome.status = status;
            }
        }
        stats.add(&counting.take());
    }
}

/// Inspects one applied resource again: `None` when it converged, otherwise the status that says
/// what still differs or why it could not be checked.
async fn check(resource: &dyn DynResource, cx: &Ctx<'_>) -> Option<Status> {
    let exists = |before: bool| {
        vec![FieldChange::new(
            "exists",
            Some(before.into()),
            Some((!before).into()),
        )]
    };
    let fields = match resource.inspect(cx).await {
        Err(error) => {
            return Some(Status::Unverified {
                error: ErrorChain::new(error),
            });
        }
        Ok(state) => match (resource.ensure(), state) {
            (Ensure::Absent, None) => Vec::new(),
            (Ensure::Absent, Some(_)) => exists(true),
            (Ensure::Present, None) => exists(false),
            (Ensure::Present, Some(state)) => match diff_isolated(resource, Some(&*state)) {
                Ok(delta) => delta.fields,
                Err(error) => {
                    return Some(Status::Unverified {
                        error: ErrorChain::new(BoxError::from(format!(
                            "diff: {}",
                            error_chain(&*error)
                        ))),
                    });
                }
            },
        },
    };
    (!fields.is_empty()).then_some(Status::NotConverged { fields })
}

/// Diagnostics for a report: one error per failed, skipped or unconverged resource.
pub fn outcome_diagnostics(report: &ApplyReport) -> Vec<Diagnostic> {
    report
        .outcomes
        .iter()
        .filter_map(|o| {
            let (message, cause) = match &o.status {
                Status::Applied => return None,
                Status::Failed { error } => (format!("{} failed", o.action), Some(error.clone())),
                Status::Unverified { error } => (
                    format!("{} applied, but verifying it failed", o.action),
                    Some(error.clone()),
                ),
                Status::Skipped { because } => (format!("skipped because {because} failed"), None),
                Status::NotConverged { fields } => (
                    format!(
                        "did not converge: {} still differ(s) after apply",
                        fields
                            .iter()
                            .map(|f| f.field.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    None,
                ),
            };
            let mut diagnostic = Diagnostic::error(message).for_resource(o.id.clone());
            diagnostic.cause = cause;
            Some(diagnostic)
        })
        .collect()
}

/// The guests the plan could not probe (observed as still to be made), looked at again during
/// apply: each through a fact cache of its own, first used by the first of its resources to
/// apply, so after the guest provider's own changes (the guest created or started) and before
/// any of the scope's. A resource that this look finds converged already is not applied: a
/// container left stopped by a failed run still has the user, package or file the plan could not
/// see, and creating it again would fail ("user already exists").
#[derive(Default)]
struct AgainFacts {
    by_guest: std::sync::Mutex<HashMap<String, Arc<Facts>>>,
}

impl AgainFacts {
    /// Whether `resource`, in a guest the plan could not probe, is converged as its guest is
    /// now (`false` for every other resource, and for those with triggers: a reaction's cause
    /// is this run's own change). A look that fails fails the resource: nothing is made blind.
    async fn converged(
        &self,
        resource: &dyn DynResource,
        unreached: &BTreeSet<String>,
        cx: &Ctx<'_>,
    ) -> Result<bool, BoxError> {
        let Some(guest) = crate::settle::guest_of(resource) else {
            return Ok(false);
        };
        if !unreached.contains(&guest) || !resource.triggered_by().is_empty() {
            return Ok(false);
        }
        let facts = match self.by_guest.lock() {
            Ok(mut by_guest) => Arc::clone(by_guest.entry(guest).or_default()),
            Err(_) => return Ok(false),
        };
        let fresh = cx.with_cache(facts);
        let state = resource.inspect(&fresh).await?;
        let delta = crate::plan::diff_isolated(resource, state.as_deref())?;
        Ok(Change::decide(resource.id(), resource.ensure(), state.is_some(), delta).is_noop())
    }
}
