//! A top-level key of a config document with its value: the unit that providers claim and decode.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::decode::decode;
use super::document::Document;
use super::path::JsonPath;
use crate::diag::{Diagnostic, Location};

/// One top-level key of one document, such as `zfs` in `phoenix_hypervisor_config.json`.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Section<'a> {
    /// The top-level key.
    pub key: &'a str,
    /// Its value.
    pub value: &'a Value,
    /// The document it is in.
    pub document: &'a Document,
}

impl<'a> Section<'a> {
    pub(crate) fn new(key: &'a str, value: &'a Value, document: &'a Document) -> Section<'a> {
        Section {
            key,
            value,
            document,
        }
    }

    /// The path of this section in its document: just the key.
    pub fn path(&self) -> JsonPath {
        JsonPath::root().key(self.key)
    }

    /// Where this section's value starts.
    pub fn location(&self) -> Location {
        self.document.location(&self.path())
    }

    /// Where the value at `path` starts. `path` is rooted at the document, as
    /// `section.path().key(..)` builds it and as [`decode`] takes it. See [`Document::location`].
    pub fn location_of(&self, path: &JsonPath) -> Location {
        self.document.location(path)
    }

    /// Decodes this section's value into `T`; see [`decode`].
    #[expect(
        clippy::result_large_err,
        reason = "a diagnostic is built once, on the failure path; boxing it would burden every caller"
    )]
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, Diagnostic> {
        decode(self.document, &self.path(), self.value)
    }
}
