//! The engine and `plan`: build the graph, inspect everything in parallel read-only, diff.

use std::collections::{BTreeMap, BTreeSet};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use futures::{FutureExt, StreamExt};
use serde::{Deserialize, Serialize};

use crate::change::{Action, Change, Delta, Disruption};
use crate::diag::{Diagnostic, Location};
use crate::error::{BoxError, Error, ErrorChain};
use crate::facts::Facts;
use crate::graph::Graph;
use crate::host::{Host, ReadOnly};
use crate::id::ResourceId;
use crate::not_managed::{NotManaged, cause_of};
use crate::provider::Desired;
use crate::resource::{AnyState, Ctx, DynResource};
use crate::sensitive::{PlanKey, fingerprint};
use crate::settle::{GuestIndex, guest_of};
use crate::stats::{Counting, Stats};

/// A cycle error with the config entries of its members, which only the decoded config knows.
fn cycle_with_origins(err: Error, origins: &BTreeMap<ResourceId, Location>) -> Error {
    let Error::Cycle { cycle, .. } = err else {
        return err;
    };
    let members: std::collections::BTreeSet<&ResourceId> = cycle.iter().collect();
    let origins = members
        .into_iter()
        .filter_map(|id| origins.get(id).map(|at| (id.clone(), at.clone())))
        .collect();
    Error::Cycle { cycle, origins }
}

/// The version of the JSON plan and apply reports. Bumped on any incompatible change.
pub const FORMAT_VERSION: u32 = 1;

/// Options for `plan` (and the planning phase of `apply`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PlanOptions {
    /// Allow changes that destroy data (`--allow-destroy`).
    pub allow_destroy: bool,
    /// How many resources are inspected at once.
    pub inspect_concurrency: usize,
    /// The host-local key that fingerprints changes carrying sensitive values (see
    /// [`Change::fingerprint`]). Without it, a saved plan cannot tell a secret that changed but
    /// kept its length.
    pub plan_key: Option<PlanKey>,
}

impl Default for PlanOptions {
    fn default() -> PlanOptions {
        PlanOptions {
            allow_destroy: false,
            inspect_concurrency: 64,
            plan_key: None,
        }
    }
}

impl PlanOptions {
    /// Sets `allow_destroy`.
    pub fn allow_destroy(mut self, allow: bool) -> PlanOptions {
        self.allow_destroy = allow;
        self
    }

    /// Sets the key that fingerprints changes carrying sensitive values.
    pub fn plan_key(mut self, key: PlanKey) -> PlanOptions {
        self.plan_key = Some(key);
        self
    }
}

/// Counts of planned actions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Summary {
    /// Resources to create.
    pub create: usize,
    /// Resources to update in place.
    pub update: usize,
    /// Resources to replace.
    pub replace: usize,
    /// Resources to delete.
    pub delete: usize,
    /// Resources that have converged.
    pub unchanged: usize,
    /// Resources this target cannot manage (reported as warnings, left alone).
    #[serde(default)]
    pub unsupported: usize,
}

/// The result of `plan`: every change in execution order, every diagnostic, and the run's stats.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Plan {
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// The host that was inspected.
    pub host: String,
    /// The changes that do something, in execution order.
    pub changes: Vec<Change>,
    /// Counts by action.
    pub summary: Summary,
    /// Errors, warnings and notes, config ones first.
    pub diagnostics: Vec<Diagnostic>,
    /// What inspection cost.
    pub stats: Stats,
}

impl Plan {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// Whether there is anything to apply.
    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
    }
}

/// The desired resources with their dependency graph, ready to plan and apply.
#[derive(Debug)]
pub struct Engine {
    pub(crate) resources: Vec<Arc<dyn DynResource>>,
    /// Every capability some resource provides.
    pub(crate) provided: Arc<std::collections::BTreeSet<crate::resource::Capability>>,
    pub(crate) graph: Graph,
    pub(crate) diagnostics: Vec<Diagnostic>,
    /// The guests with scoped resources, their fingerprints and transports.
    pub(crate) guests: Arc<GuestIndex>,
}

/// What deciding the changes collects besides them.
struct Tally {
    diagnostics: Vec<Diagnostic>,
    summary: Summary,
    not_managed: NotManaged,
}

/// Everything one planning pass found, per resource (indexed like the engine's resources).
pub(crate) struct Planned {
    pub(crate) plan: Plan,
    pub(crate) changes: Vec<Option<Change>>,
    /// The guests observed as still to be made because their probe failed.
    pub(crate) unreached: BTreeSet<String>,
}

impl Engine {
    /// Builds the graph for the desired resources. Config diagnostics are kept and reported
    /// first in every plan; a dependency cycle is an error.
    pub fn new(desired: Desired) -> Result<Engine, Error> {
        let (graph, graph_diagnostics) = Graph::build(&desired.resources)
            .map_err(|err| cycle_with_origins(err, &desired.origins))?;
        let mut diagnostics = desired.diagnostics;
        diagnostics.extend(graph_diagnostics);
        let provided = desired
            .resources
            .iter()
            .flat_map(|r| r.provides())
            .collect();
        let resources: Vec<Arc<dyn DynResource>> =
            desired.resources.into_iter().map(Arc::from).collect();
        let guests = Arc::new(GuestIndex::new(&resources, desired.scopes));
        Ok(Engine {
            provided: Arc::new(provided),
            resources,
            graph,
            diagnostics,
            guests,
        })
    }

    /// The dependency graph.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// What loading the config and building the graph found (notes, warnings).
    pub fn config_diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// The resources, indexed like the graph.
    pub fn resources(&self) -> &[Arc<dyn DynResource>] {
        &self.resources
    }

    /// Inspects every resource through a read-only wrapper of `host` and diffs it.
    ///
    /// Nothing on the host changes: a write attempted during plan fails that resource's
    /// inspection. Problems are collected as diagnostics rather than stopping the plan.
    pub async fn plan(&self, host: Arc<dyn Host>, options: &PlanOptions) -> Plan {
        self.plan_inner(host, options).await.plan
    }

    pub(crate) async fn plan_inner(&self, host: Arc<dyn Host>, options: &PlanOptions) -> Planned {
        let started = Instant::now();
        let description = host.describe();
        let diagnostics = self.diagnostics.clone();
        if diagnostics.iter().any(Diagnostic::is_error) {
            return Planned {
                plan: Plan {
                    format_version: FORMAT_VERSION,
                    host: description,
                    changes: Vec::new(),
                    summary: Summary::default(),
                    diagnostics,
                    stats: Stats::default(),
                },
                changes: vec![None; self.resources.len()],
                unreached: BTreeSet::new(),
            };
        }
        // Count inside the read-only wrapper: a refused write never reaches the host.
        let counting = Counting::new(host);
        let read_only = ReadOnly(&counting);
        let facts = Arc::new(Facts::new());
        let settled = self.settled_guests(&read_only, &facts).await;
        let observed = self
            .inspect_all(&read_only, &facts, &settled, options.inspect_concurrency)
            .await;
        let unreached = facts.unreached();
        let mut tally = Tally {
            diagnostics,
            summary: Summary::default(),
            not_managed: NotManaged::default(),
        };
        let mut changes: Vec<Option<Change>> = observed
            .into_iter()
            .enumerate()
            .map(|(index, result)| self.decide(index, result, options, &mut tally))
            .collect();
        self.add_triggers(&mut changes, options, &mut tally.summary);
        let Tally {
            mut diagnostics,
            summary,
            not_managed,
        } = tally;
        // Unsupported resources and missing tools: one warning per cause.
        diagnostics.extend(not_managed.diagnostics());
        let ordered: Vec<Change> = self
            .graph
            .order()
            .filter_map(|i| changes[i].clone())
            .filter(|c| !c.is_noop())
            .collect();
        let mut stats = counting.take();
        stats.wall_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        Planned {
            plan: Plan {
                format_version: FORMAT_VERSION,
                host: description,
                changes: ordered,
                summary,
                diagnostics,
                stats,
            },
            changes,
            unreached,
        }
    }

    /// The guests whose transport says they are settled ([`crate::settle`]), through the run's
    /// fact cache (so the guest provider's own reads are shared with its resources).
    pub(crate) async fn settled_guests(
        &self,
        host: &dyn Host,
        facts: &Arc<Facts>,
    ) -> BTreeSet<String> {
        let cx = self.cx(host, facts);
        self.guests.settled(&cx).await
    }

    /// A context for one resource of this engine's runs.
    pub(crate) fn cx<'h>(&self, host: &'h dyn Host, facts: &Arc<Facts>) -> Ctx<'h> {
        Ctx::with_facts(host, Arc::clone(facts))
            .providing(Arc::clone(&self.provided))
            .knowing(Arc::clone(&self.guests))
    }

    /// Turns one resource's inspection into its planned change, or records why there is none.
    fn decide(
        &self,
        index: usize,
        result: Inspected,
        options: &PlanOptions,
        tally: &mut Tally,
    ) -> Option<Change> {
        let resource = &self.resources[index];
        let id = self.graph.id(index).clone();
        let result = match result {
            Inspected::Observed(result) => result,
            Inspected::Settled => {
                tally.summary.unchanged += 1;
                return Some(Change::decide(id, resource.ensure(), true, Delta::none()));
            }
        };
        let state = match result {
            Ok(state) => state,
            Err(err) => {
                if let Some(cause) = cause_of(&*err) {
                    tally.not_managed.add(cause, id);
                    tally.summary.unsupported += 1;
                } else {
                    tally.diagnostics.push(
                        Diagnostic::error("inspect")
                            .caused_by(ErrorChain::new(err))
                            .for_resource(id),
                    );
                }
                return None;
            }
        };
        let delta = match diff_isolated(&**resource, state.as_deref()) {
            Ok(delta) => delta,
            Err(err) => {
                tally.diagnostics.push(
                    Diagnostic::error("diff")
                        .caused_by(ErrorChain::new(err))
                        .for_resource(id),
                );
                return None;
            }
        };
        for diagnostic in &delta.diagnostics {
            let mut diagnostic = diagnostic.clone();
            diagnostic.resource.get_or_insert_with(|| id.clone());
            tally.diagnostics.push(diagnostic);
        }
        let mut change = Change::decide(id.clone(), resource.ensure(), state.is_some(), delta);
        change.fingerprint = options
            .plan_key
            .as_ref()
            .and_then(|key| fingerprint(key, &change));
        if let Disruption::DestroysData { what } = &change.disruption
            && !options.allow_destroy
        {
            tally.diagnostics.push(
                    Diagnostic::error(format!(
                        "refusing to {} because it destroys data ({what}); pass --allow-destroy to allow it",
                        change.action
                    ))
                    .for_resource(id),
                );
        }
        let summary = &mut tally.summary;
        match change.action {
            Action::NoOp => summary.unchanged += 1,
            Action::Create => summary.create += 1,
            Action::Update => summary.update += 1,
            Action::Replace => summary.replace += 1,
            Action::Delete => summary.delete += 1,
        }
        Some(change)
    }

    /// Inspects every resource concurrently, except those in a settled guest; a panicking
    /// provider fails only its resource.
    pub(crate) async fn inspect_all(
        &self,
        host: &dyn Host,
        facts: &Arc<Facts>,
        settled: &BTreeSet<String>,
        concurrency: usize,
    ) -> Vec<Inspected> {
        futures::stream::iter(self.resources.iter().enumerate())
            .map(|(index, resource)| {
                let cx = self.cx(host, facts);
                let in_settled = guest_of(&**resource).is_some_and(|g| settled.contains(&g));
                async move {
                    if in_settled {
                        return Inspected::Settled;
                    }
                    let id = self.graph.id(index);
                    let observed = AssertUnwindSafe(async { resource.inspect(&cx).await })
                        .catch_unwind()
                        .await
                        .unwrap_or_else(|panic| {
                            Err(BoxError::from(format!(
                                "{id}: provider panicked: {}",
                                panic_message(&*panic)
                            )))
                        });
                    Inspected::Observed(observed)
                }
            })
            .buffered(concurrency.max(1))
            .collect()
            .await
    }
}

/// What inspecting one resource gave.
pub(crate) enum Inspected {
    /// Its observed state, or why it could not be observed.
    Observed(Result<Option<Box<dyn AnyState>>, BoxError>),
    /// It is in a settled guest: not inspected, nothing to do.
    Settled,
}

/// Runs a resource's `diff`, turning a panic into an error for that resource alone, as inspect
/// and apply do.
pub(crate) fn diff_isolated(
    resource: &dyn DynResource,
    observed: Option<&dyn AnyState>,
) -> Result<crate::change::Delta, BoxError> {
    std::panic::catch_unwind(AssertUnwindSafe(|| resource.diff(observed))).unwrap_or_else(|panic| {
        Err(BoxError::from(format!(
            "provider panicked: {}",
            panic_message(&*panic)
        )))
    })
}

/// Runs a resource's `when_triggered`, turning a panic into no reaction (logged), as `diff`
/// turns one into an error for that resource alone.
pub(crate) fn diff_isolated_triggered(
    resource: &dyn DynResource,
    by: &[ResourceId],
) -> Option<crate::change::Delta> {
    std::panic::catch_unwind(AssertUnwindSafe(|| resource.when_triggered(by)))
        .map_err(|panic| {
            tracing::warn!(resource = %resource.id(), panic = %panic_message(&*panic), "when_triggered panicked");
        })
        .ok()
}

/// Renders an error and its sources as `a: b: c`.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned())
}

/// Compares a saved plan with a fresh one: the same changes, actions and steps, in order, and
/// for steps with sensitive values (shown only by size), the same keyed fingerprint.
pub(crate) fn stale_reason(saved: &Plan, fresh: &Plan) -> Option<String> {
    type Key = (String, String, Option<String>);
    let key = |plan: &Plan| -> BTreeMap<String, Key> {
        plan.changes
            .iter()
            .map(|c| {
                (
                    c.id.to_string(),
                    (
                        c.action.to_string(),
                        serde_json::to_string(&c.steps).unwrap_or_default(),
                        c.fingerprint.clone(),
                    ),
                )
            })
            .collect()
    };
    let (saved_changes, fresh_changes) = (key(saved), key(fresh));
    if saved_changes == fresh_changes {
        return None;
    }
    let differing: Vec<&String> = saved_changes
        .keys()
        .chain(fresh_changes.keys())
        .filter(|id| saved_changes.get(*id) != fresh_changes.get(*id))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    Some(format!(
        "{} differ: {}",
        differing.len(),
        differing
            .iter()
            .take(5)
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ))
}
