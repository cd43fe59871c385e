//! The `Resource` trait for provider authors, its object-safe erasure for the engine, and `Ctx`.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;

use crate::change::{Change, Delta, Ensure, Step};
use crate::cmd::{Cmd, Output};
use crate::error::BoxError;
use crate::facts::{CommandFact, Fact, FactError, Facts};
use crate::host::{FileWrite, Host, HostError, run_checked};
use crate::id::ResourceId;
use crate::memory::RunMemory;

/// Something Phoenix converges: inspect the host, diff against the desired spec, apply the steps.
///
/// `diff` is pure and synchronous, so every plan can be snapshot-tested without a host.
#[async_trait]
pub trait Resource: fmt::Debug + Send + Sync + 'static {
    /// What inspection observes.
    type State: fmt::Debug + PartialEq + Serialize + Send + Sync + 'static;

    /// The resource's identity.
    fn id(&self) -> ResourceId;

    /// Resources that must converge first.
    fn depends_on(&self) -> Vec<ResourceId> {
        Vec::new()
    }

    /// Capabilities this resource makes available (a mounted path, a storage id).
    fn provides(&self) -> Vec<Capability> {
        Vec::new()
    }

    /// Capabilities this resource needs; core derives an edge to whichever resource provides them.
    fn requires(&self) -> Vec<Capability> {
        Vec::new()
    }

    /// Lock domains: two changes that share a domain never run at the same time.
    fn locks(&self) -> Vec<String> {
        vec![self.id().to_string()]
    }

    /// Whether the config wants the resource to exist.
    fn ensure(&self) -> Ensure {
        Ensure::Present
    }

    /// Reads the live state; `None` when the resource does not exist.
    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<Self::State>, BoxError>;

    /// Compares the desired spec with the observed state. Pure: no host, no await.
    fn diff(&self, observed: Option<&Self::State>) -> Delta;

    /// Applies a planned change. The default runs the change's steps in order.
    async fn apply(&self, change: &Change, cx: &Ctx<'_>) -> Result<(), BoxError> {
        run_steps(&change.steps, cx).await
    }

    /// Resources whose change in this run triggers this one (a service's files). They must also
    /// be dependencies, so the trigger runs after the last of them.
    fn triggered_by(&self) -> Vec<ResourceId> {
        Vec::new()
    }

    /// What a trigger adds to the plan when some of `by` (from [`Resource::triggered_by`]) have
    /// changes: fields and steps (such as `systemctl reload nginx.service`). Pure. The resource's
    /// `apply` runs those steps only for triggers that did change ([`Ctx::changed`]).
    fn when_triggered(&self, by: &[ResourceId]) -> Delta {
        let _ = by;
        Delta::none()
    }
}

/// An observed state with its type erased, as the engine holds it.
pub trait AnyState: Any + fmt::Debug + Send + Sync {
    /// The state as `Any`, for downcasting.
    fn as_any(&self) -> &dyn Any;
    /// The state as JSON, for reports.
    fn to_json(&self) -> serde_json::Value;
}

impl<T: Any + fmt::Debug + Serialize + Send + Sync> AnyState for T {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// The object-safe form of [`Resource`] the engine works with. Every `Resource` is one.
#[async_trait]
pub trait DynResource: fmt::Debug + Send + Sync {
    /// See [`Resource::id`].
    fn id(&self) -> ResourceId;
    /// See [`Resource::depends_on`].
    fn depends_on(&self) -> Vec<ResourceId>;
    /// See [`Resource::provides`].
    fn provides(&self) -> Vec<Capability>;
    /// See [`Resource::requires`].
    fn requires(&self) -> Vec<Capability>;
    /// See [`Resource::locks`].
    fn locks(&self) -> Vec<String>;
    /// See [`Resource::ensure`].
    fn ensure(&self) -> Ensure;
    /// See [`Resource::inspect`].
    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<Box<dyn AnyState>>, BoxError>;
    /// See [`Resource::diff`]; fails only when handed a state of another resource type.
    fn diff(&self, observed: Option<&dyn AnyState>) -> Result<Delta, BoxError>;
    /// See [`Resource::apply`].
    async fn apply(&self, change: &Change, cx: &Ctx<'_>) -> Result<(), BoxError>;
    /// See [`Resource::triggered_by`].
    fn triggered_by(&self) -> Vec<ResourceId>;
    /// See [`Resource::when_triggered`].
    fn when_triggered(&self, by: &[ResourceId]) -> Delta;
}

#[async_trait]
impl<R: Resource> DynResource for R {
    fn id(&self) -> ResourceId {
        Resource::id(self)
    }
    fn depends_on(&self) -> Vec<ResourceId> {
        Resource::depends_on(self)
    }
    fn provides(&self) -> Vec<Capability> {
        Resource::provides(self)
    }
    fn requires(&self) -> Vec<Capability> {
        Resource::requires(self)
    }
    fn locks(&self) -> Vec<String> {
        Resource::locks(self)
    }
    fn ensure(&self) -> Ensure {
        Resource::ensure(self)
    }
    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<Box<dyn AnyState>>, BoxError> {
        Ok(Resource::inspect(self, cx)
            .await?
            .map(|state| Box::new(state) as Box<dyn AnyState>))
    }
    fn diff(&self, observed: Option<&dyn AnyState>) -> Result<Delta, BoxError> {
        let typed = match observed {
            None => None,
            Some(state) => Some(state.as_any().downcast_ref::<R::State>().ok_or_else(|| {
                BoxError::from(format!(
                    "{}: observed state has the wrong type",
                    Resource::id(self)
                ))
            })?),
        };
        Ok(Resource::diff(self, typed))
    }
    async fn apply(&self, change: &Change, cx: &Ctx<'_>) -> Result<(), BoxError> {
        Resource::apply(self, change, cx).await
    }
    fn triggered_by(&self) -> Vec<ResourceId> {
        Resource::triggered_by(self)
    }
    fn when_triggered(&self, by: &[ResourceId]) -> Delta {
        Resource::when_triggered(self, by)
    }
}

/// Something one resource provides and another requires, from which core derives an edge.
///
/// `path:` capabilities match by prefix: a resource requiring `path:/quickOS/shared/ssl` depends
/// on the resource providing the longest ancestor, such as `path:/quickOS/shared`. Others match
/// exactly.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Capability(String);

impl Capability {
    /// A filesystem path (a mountpoint, a directory).
    pub fn path(path: impl AsRef<str>) -> Capability {
        let path = path.as_ref().trim_end_matches('/');
        Capability(format!("path:{}", if path.is_empty() { "/" } else { path }))
    }

    /// A named thing of some class, such as `named("pve.storage", "quickOS-lxc-disks")`.
    pub fn named(class: &str, name: &str) -> Capability {
        Capability(format!("{class}:{name}"))
    }

    /// The capability as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// For a `path:` capability, the path.
    pub fn as_path(&self) -> Option<&str> {
        self.0.strip_prefix("path:")
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a resource sees of the run: the host and the fact cache.
#[non_exhaustive]
pub struct Ctx<'a> {
    host: &'a dyn Host,
    facts: Arc<Facts>,
    provided: Arc<std::collections::BTreeSet<Capability>>,
    memory: Arc<RunMemory>,
    guests: Arc<crate::settle::GuestIndex>,
}

impl fmt::Debug for Ctx<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ctx")
            .field("host", &self.host.describe())
            .finish_non_exhaustive()
    }
}

impl<'a> Ctx<'a> {
    /// A context over `host` with a fresh fact cache.
    pub fn new(host: &'a dyn Host) -> Ctx<'a> {
        Ctx::with_facts(host, Arc::new(Facts::new()))
    }

    /// The run's fact cache.
    pub(crate) fn facts_cache(&self) -> &Arc<Facts> {
        &self.facts
    }

    /// This context with another fact cache (the same host, capabilities, memory and guests).
    pub(crate) fn with_cache(&self, facts: Arc<Facts>) -> Ctx<'a> {
        Ctx {
            host: self.host,
            facts,
            provided: Arc::clone(&self.provided),
            memory: Arc::clone(&self.memory),
            guests: Arc::clone(&self.guests),
        }
    }

    /// A context sharing an existing fact cache.
    pub fn with_facts(host: &'a dyn Host, facts: Arc<Facts>) -> Ctx<'a> {
        Ctx {
            host,
            facts,
            provided: Arc::default(),
            memory: Arc::default(),
            guests: Arc::default(),
        }
    }

    /// The same context, knowing the run's guests and their fingerprints.
    pub fn knowing(mut self, guests: Arc<crate::settle::GuestIndex>) -> Ctx<'a> {
        self.guests = guests;
        self
    }

    /// The fingerprint of the resources this run has in guest scope `guest` (`ct:901`), for the
    /// guest's provider to record when it freezes the guest ([`crate::settle`]); `None` when the
    /// run has no resource there.
    pub fn guest_fingerprint(&self, guest: &str) -> Option<&str> {
        self.guests.fingerprint(guest)
    }

    /// The same context, sharing the apply's memory of what changed and what ran once.
    pub fn remembering(mut self, memory: Arc<RunMemory>) -> Ctx<'a> {
        self.memory = memory;
        self
    }

    /// Whether `id`'s change was applied earlier in this run (a service asks about its files).
    pub fn changed(&self, id: &ResourceId) -> bool {
        self.memory.changed(id)
    }

    /// Runs `action` once per run for `key`; later callers share its outcome (see
    /// [`RunMemory::once`]).
    pub async fn once<F>(&self, key: &str, action: F) -> Result<(), BoxError>
    where
        F: std::future::Future<Output = Result<(), BoxError>>,
    {
        self.memory.once(key, action).await
    }

    /// The same context, knowing which capabilities the run's resources provide.
    pub fn providing(mut self, provided: Arc<std::collections::BTreeSet<Capability>>) -> Ctx<'a> {
        self.provided = provided;
        self
    }

    /// Whether a resource of this run provides `capability` (a `path:` capability counts when an
    /// ancestor path is provided). A resource uses it to tell "missing on the host, but created
    /// by this run" from "missing": the second is a plan error, not a failed apply.
    pub fn is_provided(&self, capability: &Capability) -> bool {
        match capability.as_path() {
            Some(path) => {
                let mut current = path;
                loop {
                    if self.provided.contains(&Capability::path(current)) {
                        return true;
                    }
                    match current.rfind('/') {
                        Some(0) if current.len() > 1 => current = "/",
                        Some(i) if i > 0 => current = &current[..i],
                        _ => return false,
                    }
                }
            }
            None => self.provided.contains(capability),
        }
    }

    /// The host.
    pub fn host(&self) -> &'a dyn Host {
        self.host
    }

    /// Runs a command; a non-zero exit is an error carrying argv, status and stderr.
    pub async fn run(&self, cmd: &Cmd) -> Result<Output, HostError> {
        run_checked(self.host, cmd).await
    }

    /// Gets a fact through the run's cache.
    pub async fn fact<F: Fact>(&self, fact: &F) -> Result<Arc<F::Value>, FactError> {
        self.facts.get(fact, self.host).await
    }

    /// Runs a read-only command once per run, whatever its exit status, and shares its output.
    pub async fn read_cached(&self, cmd: Cmd) -> Result<Arc<Output>, FactError> {
        self.fact(&CommandFact(cmd)).await
    }
}

/// Runs steps in order, stopping at the first failure.
pub async fn run_steps(steps: &[Step], cx: &Ctx<'_>) -> Result<(), BoxError> {
    for step in steps {
        match step {
            Step::Run { cmd } => {
                cx.run(cmd).await?;
            }
            Step::WriteFile {
                path,
                content,
                mode,
                owner,
            } => {
                let text = content.reveal().ok_or_else(|| {
                    BoxError::from(format!(
                        "write {}: the sensitive content is not kept in a saved plan",
                        path.display()
                    ))
                })?;
                let mut write = FileWrite::new(text, *mode);
                if let Some(owner) = owner {
                    write = write.owner(owner.clone());
                }
                cx.host().write_file(path, &write).await?;
            }
            Step::RemoveFile { path } => cx.host().remove_file(path).await?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::sync::Arc;

    use super::*;
    use crate::host::LocalHost;

    #[test]
    fn provided_capabilities_match_by_name_and_by_ancestor_path() {
        let host = LocalHost::new();
        let provided: BTreeSet<Capability> = [
            Capability::named("pve.storage", "quickOS-lxc-disks"),
            Capability::path("/fastData/shared-bulk-data"),
        ]
        .into();
        let cx = Ctx::new(&host).providing(Arc::new(provided));
        assert!(cx.is_provided(&Capability::named("pve.storage", "quickOS-lxc-disks")));
        assert!(!cx.is_provided(&Capability::named("pve.storage", "quickOS-lxc-disk")));
        assert!(cx.is_provided(&Capability::path("/fastData/shared-bulk-data/vllm_models")));
        assert!(cx.is_provided(&Capability::path("/fastData/shared-bulk-data")));
        assert!(!cx.is_provided(&Capability::path("/fastData/shared-bulk")));
        assert!(!cx.is_provided(&Capability::path("/fastData")));
        assert!(!Ctx::new(&host).is_provided(&Capability::path("/")));
    }
}
