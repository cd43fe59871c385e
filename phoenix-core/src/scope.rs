//! Scopes: where a resource runs, the node itself or a guest such as container 101 (`ct:101`).
//!
//! Core names no provider: the provider that manages a class of guests registers a
//! [`GuestTransport`] (through [`crate::Provider::guest_transports`]) that turns a command into
//! the node command running it inside a guest. A scoped resource builds every command for its
//! scope with [`Scope::command`], so its plan steps show where they run.
//!
//! A scope also keeps the inventory of what its primitives (packages, units, paths) want to
//! observe, so one probe per scope per run serves all of them (see `probe`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use crate::cmd::{Cmd, Output};
use crate::resource::Capability;

/// Runs commands inside guests of one class (such as `ct`), through the node.
#[async_trait::async_trait]
pub trait GuestTransport: Send + Sync + fmt::Debug {
    /// The class of guests, the part of a scope name before `:` (such as `ct`).
    fn class(&self) -> &str;

    /// The node command that runs `cmd` inside guest `guest` (the part after `:`), with the same
    /// effect, stdin and timeout. Environment variables must reach the command without their
    /// values appearing where a plan shows them, or the transport must refuse to carry them.
    fn exec(&self, guest: &str, cmd: &Cmd) -> Cmd;

    /// Whether [`GuestTransport::batch`] probes many guests in one command. `false` (the
    /// default) probes each guest with its own [`GuestTransport::exec`] command.
    fn batches(&self) -> bool {
        false
    }

    /// One read-only node command that runs `sh -c script NAME ARGS...` inside each of `guests`
    /// (each with its own arguments, none holding a newline), in one round trip, so probing
    /// every guest of the class costs one command whatever their number; `None` when this
    /// transport has no such command (see [`GuestTransport::batches`]).
    fn batch(&self, script: &str, name: &str, guests: &[(String, Vec<String>)]) -> Option<Cmd> {
        let _ = (script, name, guests);
        None
    }

    /// Each guest's standard output from the output of a [`GuestTransport::batch`] command, or
    /// why that guest's run failed; an error for the whole output when it cannot be read.
    fn split_batch(&self, output: &Output) -> Result<BatchOutput, String> {
        let _ = output;
        Err("this transport has no batch command".to_owned())
    }

    /// Whether guest `guest` is *settled* ([`crate::settle`]): not running, and left as the
    /// resources of its scope want it, which the transport's provider proves by the
    /// `fingerprint` it recorded when it froze the guest. A settled guest's scoped resources are
    /// not inspected and plan nothing. `false` by default: every guest is inspected.
    async fn settled(
        &self,
        cx: &crate::resource::Ctx<'_>,
        guest: &str,
        fingerprint: &str,
    ) -> Result<bool, crate::error::BoxError> {
        let _ = (cx, guest, fingerprint);
        Ok(false)
    }

    /// Whether this target can reach guests of the class at all (`Ok`), or why not: an
    /// [`crate::error::Unsupported`] error (a missing tool) makes every resource of a guest the
    /// probe could not reach "not managed here", where otherwise a guest this run creates would
    /// be observed as empty and its resources planned. Read through `cx`'s facts, so it costs
    /// nothing the transport's provider does not read anyway. `Ok` by default.
    async fn reachable(&self, cx: &crate::resource::Ctx<'_>) -> Result<(), crate::error::BoxError> {
        let _ = cx;
        Ok(())
    }
}

/// What a batch command reported, by guest: its standard output, or why its run failed.
pub type BatchOutput = BTreeMap<String, Result<String, String>>;

/// Where a resource runs. Cheap to clone; two clones share one inventory.
#[derive(Clone)]
pub struct Scope {
    inner: Arc<Inner>,
}

struct Inner {
    /// `None` for the node; otherwise `(class, guest)`.
    guest: Option<(String, String)>,
    transport: Option<Arc<dyn GuestTransport>>,
    inventory: Mutex<Inventory>,
    /// Every scope of the same decode (a weak link: the decode's `Scopes` owns them).
    siblings: Weak<Mutex<BTreeMap<String, Scope>>>,
}

/// What the primitives of one scope want to observe.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    /// Debian package names.
    pub packages: BTreeSet<String>,
    /// systemd unit names (`nginx.service`).
    pub units: BTreeSet<String>,
    /// Absolute paths of directories and files.
    pub paths: BTreeSet<String>,
    /// Read-only commands whose output and status the probe reports, by query name; see
    /// [`Inventory::query`].
    pub queries: BTreeMap<String, Vec<String>>,
}

/// Why a query cannot be added to a scope's probe.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// The name is not `[A-Za-z0-9._-]+`.
    #[error("query name {0:?}: expected letters, digits, `.`, `_` or `-`")]
    BadName(String),
    /// The argv is empty, or an element is empty or holds a tab or newline.
    #[error("query {name:?}: every argument must be non-empty, without tab or newline: {argv:?}")]
    BadArgv {
        /// The query's name.
        name: String,
        /// The argv as given.
        argv: Vec<String>,
    },
    /// The name is taken by another command.
    #[error("query {name:?} is registered twice, as {first:?} and as {second:?}")]
    Conflict {
        /// The query's name.
        name: String,
        /// The command registered first.
        first: Vec<String>,
        /// The other command.
        second: Vec<String>,
    },
}

impl Inventory {
    /// Whether nothing is to be observed.
    pub fn is_empty(&self) -> bool {
        self.packages.is_empty()
            && self.units.is_empty()
            && self.paths.is_empty()
            && self.queries.is_empty()
    }

    /// Adds a read-only command to the probe: its standard output and error and its exit status
    /// come back as [`crate::probe::ScopeFacts::queries`]`[name]`. A provider registers its
    /// queries at decode, so a no-op plan runs no command of its own. Registering the same name
    /// with the same argv again is fine (several resources may share a query).
    pub fn query<S: Into<String>>(
        &mut self,
        name: &str,
        argv: impl IntoIterator<Item = S>,
    ) -> Result<(), QueryError> {
        let argv: Vec<String> = argv.into_iter().map(Into::into).collect();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(QueryError::BadName(name.to_owned()));
        }
        if argv.is_empty()
            || argv
                .iter()
                .any(|arg| arg.is_empty() || arg.contains(['\t', '\n']))
        {
            return Err(QueryError::BadArgv {
                name: name.to_owned(),
                argv,
            });
        }
        match self.queries.get(name) {
            Some(first) if *first != argv => Err(QueryError::Conflict {
                name: name.to_owned(),
                first: first.clone(),
                second: argv,
            }),
            Some(_) => Ok(()),
            None => {
                self.queries.insert(name.to_owned(), argv);
                Ok(())
            }
        }
    }
}

impl Scope {
    /// The node itself, with an inventory of its own (use [`Scopes::node`] to share one).
    pub fn node() -> Scope {
        Scope::build(None, None)
    }

    fn build(guest: Option<(String, String)>, transport: Option<Arc<dyn GuestTransport>>) -> Scope {
        Scope::build_in(guest, transport, Weak::new())
    }

    fn build_in(
        guest: Option<(String, String)>,
        transport: Option<Arc<dyn GuestTransport>>,
        siblings: Weak<Mutex<BTreeMap<String, Scope>>>,
    ) -> Scope {
        Scope {
            inner: Arc::new(Inner {
                guest,
                transport,
                inventory: Mutex::new(Inventory::default()),
                siblings,
            }),
        }
    }

    /// The guest's class (`ct`), `None` for the node.
    pub fn class(&self) -> Option<&str> {
        self.inner.guest.as_ref().map(|(class, _)| class.as_str())
    }

    /// The guest's name within its class (`101`), `None` for the node.
    pub fn guest(&self) -> Option<&str> {
        self.inner.guest.as_ref().map(|(_, guest)| guest.as_str())
    }

    /// The transport of a guest scope.
    pub fn transport(&self) -> Option<&Arc<dyn GuestTransport>> {
        self.inner.transport.as_ref()
    }

    /// Every guest scope of the same class made by the same [`Scopes`] (this one included),
    /// whose inventory is not empty, by name; for a scope made on its own, just itself.
    pub fn class_mates(&self) -> Vec<Scope> {
        let Some(class) = self.class() else {
            return vec![self.clone()];
        };
        let Some(siblings) = self.inner.siblings.upgrade() else {
            return vec![self.clone()];
        };
        let siblings = siblings.lock().unwrap_or_else(PoisonError::into_inner);
        siblings
            .values()
            .filter(|scope| scope.class() == Some(class) && !scope.inventory().is_empty())
            .cloned()
            .collect()
    }

    /// Whether this is the node.
    pub fn is_node(&self) -> bool {
        self.inner.guest.is_none()
    }

    /// The scope's name: `node`, or `class:guest` such as `ct:101`.
    pub fn name(&self) -> String {
        match &self.inner.guest {
            None => "node".to_owned(),
            Some((class, guest)) => format!("{class}:{guest}"),
        }
    }

    /// The node command that runs `cmd` in this scope.
    pub fn command(&self, cmd: Cmd) -> Cmd {
        match (&self.inner.guest, &self.inner.transport) {
            (Some((_, guest)), Some(transport)) => transport.exec(guest, &cmd),
            _ => cmd,
        }
    }

    /// A resource name in this scope: `name` on the node, `ct:101:name` in a guest.
    pub fn qualify(&self, name: &str) -> String {
        if self.is_node() {
            name.to_owned()
        } else {
            format!("{}:{name}", self.name())
        }
    }

    /// What makes the guest exist and run (its provider provides it); `None` for the node.
    pub fn ready(&self) -> Option<Capability> {
        (!self.is_node()).then(|| Capability::named("scope", &self.name()))
    }

    /// What every resource in the guest provides, so the guest's final snapshot (which requires
    /// it) comes after all of them; `None` for the node.
    pub fn settled(&self) -> Option<Capability> {
        (!self.is_node()).then(|| Capability::named("scope-settled", &self.name()))
    }

    /// The lock domain of the scope's package manager.
    pub fn package_lock(&self) -> String {
        format!("dpkg:{}", self.name())
    }

    /// Adds to what the scope's one probe observes.
    pub fn observe(&self, add: impl FnOnce(&mut Inventory)) {
        add(&mut self
            .inner
            .inventory
            .lock()
            .unwrap_or_else(PoisonError::into_inner));
    }

    /// What the scope's probe observes.
    pub fn inventory(&self) -> Inventory {
        self.inner
            .inventory
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl PartialEq for Scope {
    fn eq(&self, other: &Scope) -> bool {
        self.inner.guest == other.inner.guest
    }
}

impl Eq for Scope {}

/// The scopes of one decode: the same name always gives the same scope (one inventory), and a
/// guest scope needs a transport for its class.
#[derive(Debug, Default)]
pub struct Scopes {
    transports: BTreeMap<String, Arc<dyn GuestTransport>>,
    known: Arc<Mutex<BTreeMap<String, Scope>>>,
}

/// A scope name that does not name the node or a guest of a registered class.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    /// Not `node` and not `class:guest`.
    #[error("expected a scope such as \"node\" or \"ct:101\", found {0:?}")]
    Malformed(String),
    /// No registered provider runs commands in guests of this class.
    #[error("no registered provider runs commands in guests of class {class:?} (scope {scope:?})")]
    UnknownClass {
        /// The class.
        class: String,
        /// The scope as given.
        scope: String,
    },
}

impl Scopes {
    /// Scopes over `transports`, one per guest class (a later one of a class replaces an earlier).
    pub fn new(transports: impl IntoIterator<Item = Arc<dyn GuestTransport>>) -> Scopes {
        Scopes {
            transports: transports
                .into_iter()
                .map(|t| (t.class().to_owned(), t))
                .collect(),
            known: Arc::default(),
        }
    }

    /// The node's scope.
    pub fn node(&self) -> Scope {
        self.get("node")
            .expect("invariant: the node is always a scope")
    }

    /// The scope called `name`: `node` or `class:guest`.
    pub fn get(&self, name: &str) -> Result<Scope, ScopeError> {
        let mut known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(scope) = known.get(name) {
            return Ok(scope.clone());
        }
        let scope = if name == "node" {
            Scope::node()
        } else {
            let (class, guest) = name
                .split_once(':')
                .filter(|(c, g)| valid_part(c) && valid_part(g))
                .ok_or_else(|| ScopeError::Malformed(name.to_owned()))?;
            let transport = self
                .transports
                .get(class)
                .ok_or_else(|| ScopeError::UnknownClass {
                    class: class.to_owned(),
                    scope: name.to_owned(),
                })?;
            Scope::build_in(
                Some((class.to_owned(), guest.to_owned())),
                Some(Arc::clone(transport)),
                Arc::downgrade(&self.known),
            )
        };
        known.insert(name.to_owned(), scope.clone());
        Ok(scope)
    }
}

/// A class or guest name: letters, digits, `-`, `_` and `.`.
fn valid_part(part: &str) -> bool {
    !part.is_empty()
        && part
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

#[cfg(test)]
pub(crate) mod testing {
    //! A transport for tests: `guest-exec <id> -- argv`.

    use super::*;

    #[derive(Debug)]
    pub(crate) struct TestTransport;

    impl GuestTransport for TestTransport {
        fn class(&self) -> &str {
            "ct"
        }
        fn exec(&self, guest: &str, cmd: &Cmd) -> Cmd {
            let mut wrapped = cmd.clone();
            wrapped.program = "guest-exec".to_owned();
            wrapped.args = [guest.to_owned(), "--".to_owned()]
                .into_iter()
                .chain(cmd.argv())
                .collect();
            wrapped
        }
    }

    pub(crate) fn scopes() -> Scopes {
        Scopes::new([Arc::new(TestTransport) as Arc<dyn GuestTransport>])
    }

    /// A primitive's delta as the table tests compare it: each field as `field: before -> after`,
    /// then each step.
    pub(crate) fn render_delta(delta: &crate::change::Delta) -> String {
        let mut out: Vec<String> = delta
            .fields
            .iter()
            .map(|f| format!("{}: {:?} -> {:?}", f.field, f.before, f.after))
            .collect();
        out.extend(delta.steps.iter().map(ToString::to_string));
        out.join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_name_is_one_scope_and_guests_need_a_transport() {
        let scopes = testing::scopes();
        let a = scopes.get("ct:101").expect("a guest");
        a.observe(|inv| {
            inv.packages.insert("nginx".into());
        });
        let b = scopes.get("ct:101").expect("the same guest");
        assert!(b.inventory().packages.contains("nginx"));
        assert_eq!(
            b.command(Cmd::write("systemctl", ["reload", "nginx.service"]))
                .to_string(),
            "guest-exec 101 -- systemctl reload nginx.service"
        );
        assert_eq!(
            scopes
                .node()
                .command(Cmd::read("true", [""; 0]))
                .to_string(),
            "true"
        );
        assert_eq!(
            scopes.get("vm:7").map(|_| ()),
            Err(ScopeError::UnknownClass {
                class: "vm".into(),
                scope: "vm:7".into()
            })
        );
        assert_eq!(
            scopes.get("ct:").map(|_| ()),
            Err(ScopeError::Malformed("ct:".into()))
        );
        assert_eq!(
            a.ready().map(|c| c.to_string()),
            Some("scope:ct:101".into())
        );
        assert_eq!(
            a.settled().map(|c| c.to_string()),
            Some("scope-settled:ct:101".into())
        );
        assert_eq!(scopes.node().ready(), None);
    }
}
