//! What one apply remembers while it runs: which resources changed, and actions already done.
//!
//! A service reloads only when one of its files changed in this run, so apply records every
//! change that succeeded and a resource asks [`crate::Ctx::changed`]. Packages of one scope are
//! installed by one command, so the first package to apply runs it through
//! [`crate::Ctx::once`] and the others share its outcome.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::OnceCell;

use crate::error::BoxError;
use crate::id::ResourceId;

/// The per-run memory of an apply. Plan and verification get an empty one.
#[derive(Debug, Default)]
pub struct RunMemory {
    changed: Mutex<BTreeSet<ResourceId>>,
    done: Mutex<BTreeMap<String, Arc<Done>>>,
}

/// The outcome of an action run once, a failure kept as its message.
type Done = OnceCell<Result<(), String>>;

impl RunMemory {
    /// An empty memory.
    pub fn new() -> RunMemory {
        RunMemory::default()
    }

    /// Records that `id`'s change was applied in this run.
    pub fn mark_changed(&self, id: ResourceId) {
        self.changed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id);
    }

    /// Whether `id`'s change was applied in this run.
    pub fn changed(&self, id: &ResourceId) -> bool {
        self.changed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(id)
    }

    /// Runs `action` the first time `key` is asked for in this run; later callers (concurrent
    /// ones included) wait for it and get its outcome, a failure as an error naming the key.
    pub async fn once<F>(&self, key: &str, action: F) -> Result<(), BoxError>
    where
        F: std::future::Future<Output = Result<(), BoxError>>,
    {
        let cell = {
            let mut done = self.done.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(done.entry(key.to_owned()).or_default())
        };
        let mut ran_here = None;
        let outcome = cell
            .get_or_init(|| async {
                match action.await {
                    Ok(()) => Ok(()),
                    Err(err) => {
                        let message = crate::plan::error_chain(&*err);
                        ran_here = Some(err);
                        Err(message)
                    }
                }
            })
            .await;
        match (outcome, ran_here) {
            (Ok(()), _) => Ok(()),
            (Err(_), Some(err)) => Err(err),
            (Err(message), None) => Err(BoxError::from(format!("{key} failed: {message}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn an_action_runs_once_and_shares_its_failure() {
        let memory = RunMemory::new();
        let runs = AtomicUsize::new(0);
        let action = || async {
            runs.fetch_add(1, Ordering::SeqCst);
            Err::<(), BoxError>(BoxError::from("apt-get exited with 100"))
        };
        let first = memory.once("install", action()).await;
        let second = memory.once("install", action()).await;
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(
            first.map_err(|e| e.to_string()),
            Err("apt-get exited with 100".to_owned())
        );
        assert_eq!(
            second.map_err(|e| e.to_string()),
            Err("install failed: apt-get exited with 100".to_owned())
        );
    }

    #[test]
    fn changed_is_what_was_marked() {
        let memory = RunMemory::new();
        let id = ResourceId::parse("file[/etc/x]").expect("an id");
        assert!(!memory.changed(&id));
        memory.mark_changed(id.clone());
        assert!(memory.changed(&id));
    }
}
