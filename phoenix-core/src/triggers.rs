//! Triggers: a resource that reacts to another's change in the same run (a service reloads
//! after one of its files changed) gets the reaction added to its planned change, so the plan
//! shows it (once, when the change already has the same step); apply then runs it only for
//! triggers that did change.

use std::collections::HashMap;

use crate::change::{Action, Change};
use crate::id::ResourceId;
use crate::plan::{Engine, PlanOptions, Summary, diff_isolated_triggered};
use crate::sensitive::fingerprint;

impl Engine {
    /// Adds, in execution order, what each triggered resource does because of the changes
    /// planned before it. A no-op becomes an update.
    pub(crate) fn add_triggers(
        &self,
        changes: &mut [Option<Change>],
        options: &PlanOptions,
        summary: &mut Summary,
    ) {
        let index_of: HashMap<&ResourceId, usize> = (0..self.graph.len())
            .map(|i| (self.graph.id(i), i))
            .collect();
        let order: Vec<usize> = self.graph.order().collect();
        for index in order {
            let resource = &self.resources[index];
            let by: Vec<ResourceId> = resource
                .triggered_by()
                .into_iter()
                .filter(|id| {
                    index_of
                        .get(id)
                        .and_then(|i| changes[*i].as_ref())
                        .is_some_and(|c| !c.is_noop())
                })
                .collect();
            if by.is_empty() {
                continue;
            }
            let Some(change) = changes[index].as_mut() else {
                continue;
            };
            let Some(delta) = diff_isolated_triggered(&**resource, &by) else {
                continue;
            };
            if delta.fields.is_empty() && delta.steps.is_empty() {
                continue;
            }
            if change.action == Action::NoOp {
                change.action = Action::Update;
                summary.unchanged = summary.unchanged.saturating_sub(1);
                summary.update += 1;
            }
            change.fields.extend(delta.fields);
            // A reaction the change already runs (a profile load that is also the fix for a
            // missing profile) is shown once.
            for step in delta.steps {
                if !change.steps.contains(&step) {
                    change.steps.push(step);
                }
            }
            change.fingerprint = options
                .plan_key
                .as_ref()
                .and_then(|key| fingerprint(key, change));
        }
    }
}
