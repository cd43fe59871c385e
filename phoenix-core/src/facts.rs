//! Facts: batched host reads cached per run, so one command serves every resource that needs it.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::sync::OnceCell;

use crate::cmd::{Cmd, Output};
use crate::error::BoxError;
use crate::host::Host;

/// A batched read of the host, such as "every dataset with its properties".
///
/// The first resource that asks for a fact gathers it; every other resource in the same run gets
/// the cached value, and concurrent requests share one gathering. The cache is cleared before the
/// verification pass that follows apply.
#[async_trait]
pub trait Fact: Send + Sync + 'static {
    /// What the fact yields.
    type Value: Send + Sync + 'static;

    /// A key unique across all providers, such as `zfs.datasets`.
    fn key(&self) -> String;

    /// Reads the host. Runs at most once per key per run.
    async fn gather(&self, host: &dyn Host) -> Result<Self::Value, BoxError>;
}

type Cached = Result<Arc<dyn Any + Send + Sync>, FactError>;

/// The per-run fact cache.
#[derive(Default)]
pub struct Facts {
    cells: Mutex<HashMap<String, Arc<OnceCell<Cached>>>>,
    /// The guests whose probe failed and which were observed as still to be made
    /// ([`crate::probe::observe`]): apply looks at them again once they run.
    unreached: Mutex<std::collections::BTreeSet<String>>,
}

impl std::fmt::Debug for Facts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n_cached = self
            .cells
            .lock()
            .map(|cells| cells.len())
            .unwrap_or_default();
        f.debug_struct("Facts")
            .field("n_cached", &n_cached)
            .finish()
    }
}

impl Facts {
    /// An empty cache.
    pub fn new() -> Facts {
        Facts::default()
    }

    /// Records that scope `name`'s probe failed and it was observed as still to be made.
    pub(crate) fn note_unreached(&self, name: String) {
        if let Ok(mut unreached) = self.unreached.lock() {
            unreached.insert(name);
        }
    }

    /// The scopes [`Facts::note_unreached`] recorded.
    pub(crate) fn unreached(&self) -> std::collections::BTreeSet<String> {
        self.unreached
            .lock()
            .map(|unreached| unreached.clone())
            .unwrap_or_default()
    }

    /// Gets a fact, gathering it on first use.
    pub async fn get<F: Fact>(
        &self,
        fact: &F,
        host: &dyn Host,
    ) -> Result<Arc<F::Value>, FactError> {
        let key = fact.key();
        let cell = {
            let mut cells = self
                .cells
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            Arc::clone(cells.entry(key.clone()).or_default())
        };
        let cached = cell
            .get_or_init(|| async {
                tracing::debug!(fact = %key, "gathering fact");
                match fact.gather(host).await {
                    Ok(value) => Ok(Arc::new(value) as Arc<dyn Any + Send + Sync>),
                    Err(source) => Err(FactError {
                        key: key.clone(),
                        source: Arc::from(source),
                    }),
                }
            })
            .await;
        match cached {
            Ok(value) => Arc::clone(value)
                .downcast::<F::Value>()
                .map_err(|_| FactError {
                    key: key.clone(),
                    source: Arc::from(BoxError::from(format!(
                        "fact key {key:?} is used by two facts with different value types"
                    ))),
                }),
            Err(err) => Err(err.clone()),
        }
    }

    /// Forgets everything, so the next request reads the host again.
    pub fn clear(&self) {
        self.cells
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }
}

/// A fact that could not be gathered. Cached like a value, so a failing read runs once.
#[derive(Debug, Clone)]
pub struct FactError {
    /// The fact's key.
    pub key: String,
    /// Why it failed.
    pub source: Arc<dyn std::error::Error + Send + Sync>,
}

impl std::fmt::Display for FactError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "gather fact {}", self.key)
    }
}

/// Written by hand rather than derived: the source is the error the fact returned, not the `Arc`
/// that shares it between cached readers, so callers can downcast it (to `Unsupported`, say).
impl std::error::Error for FactError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}

/// The simplest fact: the output of one read-only command, keyed by its argv.
#[derive(Debug, Clone)]
pub struct CommandFact(pub Cmd);

#[async_trait]
impl Fact for CommandFact {
    type Value = Output;

    fn key(&self) -> String {
        format!("cmd:{}", self.0)
    }

    async fn gather(&self, host: &dyn Host) -> Result<Output, BoxError> {
        Ok(host.run(&self.0).await?)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::host::{FileData, FileWrite, HostError};

    #[derive(Default)]
    struct CountingHost(AtomicUsize);

    #[async_trait]
    impl Host for CountingHost {
        async fn run(&self, _cmd: &Cmd) -> Result<Output, HostError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await;
            Ok(Output::new(Some(0), "out", ""))
        }
        async fn read_file(&self, _path: &Path) -> Result<Option<FileData>, HostError> {
            Ok(None)
        }
        async fn write_file(&self, _path: &Path, _file: &FileWrite) -> Result<(), HostError> {
            Ok(())
        }
        async fn remove_file(&self, _path: &Path) -> Result<(), HostError> {
            Ok(())
        }
        fn describe(&self) -> String {
            "counting".into()
        }
    }

    #[tokio::test]
    async fn concurrent_requests_share_one_gathering() {
        let host = CountingHost::default();
        let facts = Facts::new();
        let fact = CommandFact(Cmd::read("zfs", ["list"]));
        let results = futures::future::join_all((0..50).map(|_| facts.get(&fact, &host))).await;
        assert!(
            results
                .iter()
                .all(|r| r.as_ref().is_ok_and(|o| o.stdout == "out"))
        );
        assert_eq!(host.0.load(Ordering::SeqCst), 1);
        facts.clear();
        facts.get(&fact, &host).await.expect("gathers again");
        assert_eq!(host.0.load(Ordering::SeqCst), 2);
    }
}
