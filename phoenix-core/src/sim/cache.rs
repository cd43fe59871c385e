//! `ToolCache`: tool-state namespaces kept deserialised between commands.
//!
//! An emulator whose state is large (hundreds of containers, each with a file tree) would spend
//! most of each command parsing its namespace out of JSON and printing it back
//! ([`SimSys::load`](super::SimSys::load) and [`SimSys::store`](super::SimSys::store)). With
//! [`SimSys::load_cached`](super::SimSys::load_cached) the node keeps the typed value instead, and
//! brings the JSON in `SimState::tools` up to date only when somebody reads it: `SimNode::state`,
//! `SimNode::save`, or an emulator that reads the namespace as JSON. The JSON it writes is what
//! `store` would have written, so the state file is the same either way.

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt::Debug;

use serde::Serialize;
use serde_json::Value;

/// A cached namespace's value, with its type erased.
pub(crate) trait Kept: Any + Debug + Send + Sync {
    /// The value as the state file holds it.
    fn to_json(&self) -> Value;

    /// Whether `other` is a value of the same type and equal to this one.
    fn same_as(&self, other: &dyn Kept) -> bool;

    /// For downcasting.
    fn as_any(&self) -> &dyn Any;
}

impl<T: Serialize + PartialEq + Any + Debug + Send + Sync> Kept for T {
    fn to_json(&self) -> Value {
        serde_json::to_value(self).expect(
            "invariant: a cached tool state serialises (SimSys::load_cached documents the requirement)",
        )
    }

    fn same_as(&self, other: &dyn Kept) -> bool {
        other
            .as_any()
            .downcast_ref::<T>()
            .is_some_and(|other| other == self)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// One cached namespace.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) value: Box<dyn Kept>,
    /// Whether `SimState::tools` holds an older JSON of the namespace than `value`.
    pub(crate) stale: bool,
}

/// The namespaces a node keeps deserialised, by name.
#[derive(Debug, Default)]
pub(crate) struct ToolCache {
    entries: BTreeMap<String, Entry>,
}

impl ToolCache {
    /// The namespace `ns`, if it is cached as a `T`.
    pub(crate) fn get<T: Any>(&self, ns: &str) -> Option<&T> {
        self.entries.get(ns)?.value.as_any().downcast_ref::<T>()
    }

    /// The entry of `ns`, whatever its type.
    pub(crate) fn entry(&self, ns: &str) -> Option<&Entry> {
        self.entries.get(ns)
    }

    /// Whether the JSON of `ns` is out of date.
    pub(crate) fn is_stale(&self, ns: &str) -> bool {
        self.entries.get(ns).is_some_and(|entry| entry.stale)
    }

    /// Caches `value` as namespace `ns` and returns the entry it replaces.
    pub(crate) fn insert(&mut self, ns: &str, value: Box<dyn Kept>, stale: bool) -> Option<Entry> {
        self.entries.insert(ns.to_owned(), Entry { value, stale })
    }

    /// Marks `ns` as up to date (or not) in JSON.
    pub(crate) fn set_stale(&mut self, ns: &str, stale: bool) {
        if let Some(entry) = self.entries.get_mut(ns) {
            entry.stale = stale;
        }
    }

    /// Brings the JSON of `ns` up to date in `tools`. A value that serialises to `null` leaves no
    /// namespace, as an emptied one is dropped at the end of a command.
    pub(crate) fn flush(&mut self, ns: &str, tools: &mut BTreeMap<String, Value>) {
        if let Some(entry) = self.entries.get_mut(ns).filter(|entry| entry.stale) {
            write_json(tools, ns, entry.value.to_json());
            entry.stale = false;
        }
    }

    /// Brings the JSON of every namespace up to date in `tools`.
    pub(crate) fn flush_all(&mut self, tools: &mut BTreeMap<String, Value>) {
        for (ns, entry) in self.entries.iter_mut().filter(|(_, entry)| entry.stale) {
            write_json(tools, ns, entry.value.to_json());
            entry.stale = false;
        }
    }

    /// Flushes `ns` and stops caching it, for an emulator that works on its JSON directly.
    pub(crate) fn forget(&mut self, ns: &str, tools: &mut BTreeMap<String, Value>) -> bool {
        self.flush(ns, tools);
        self.entries.remove(ns).is_some()
    }
}

/// Sets namespace `ns` to `json`, or removes it when `json` is `null`.
pub(crate) fn write_json(tools: &mut BTreeMap<String, Value>, ns: &str, json: Value) {
    if json.is_null() {
        tools.remove(ns);
    } else {
        tools.insert(ns.to_owned(), json);
    }
}
