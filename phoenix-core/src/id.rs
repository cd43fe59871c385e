//! Resource identities: a dotted lowercase kind plus a name, ordered for determinism.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A resource kind such as `file` or `lxc.container`: dotted lowercase words.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Kind(String);

impl Kind {
    /// Builds a kind, checking that it is dotted lowercase (`[a-z0-9_]+(\.[a-z0-9_]+)*`).
    pub fn new(kind: impl Into<String>) -> Result<Kind, String> {
        let kind = kind.into();
        let valid = !kind.is_empty()
            && kind.split('.').all(|part| {
                !part.is_empty()
                    && part
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            });
        if valid {
            Ok(Kind(kind))
        } else {
            Err(format!(
                "invalid resource kind {kind:?}: expected dotted lowercase words"
            ))
        }
    }

    /// Builds a kind from a literal the caller knows is valid.
    ///
    /// # Panics
    /// When the literal is not dotted lowercase (a programming error, caught by any test).
    pub fn from_static(kind: &'static str) -> Kind {
        Kind::new(kind).expect("invariant: static kind literals are dotted lowercase")
    }

    /// The kind as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The identity of one resource: its kind and a name unique within that kind.
///
/// Displayed as `kind[name]`, for example `zfs.dataset[quickOS/vm-disks]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ResourceId {
    /// The kind, such as `file`.
    pub kind: Kind,
    /// The name within the kind, such as `/etc/motd`.
    pub name: String,
}

impl ResourceId {
    /// Builds an id from a kind and a name.
    pub fn new(kind: Kind, name: impl Into<String>) -> ResourceId {
        ResourceId {
            kind,
            name: name.into(),
        }
    }

    /// Parses the `kind[name]` form.
    pub fn parse(text: &str) -> Result<ResourceId, String> {
        let open = text.find('[').ok_or_else(|| {
            format!(
                "invalid resource id {}: expected kind[name]",
                crate::config::excerpt(text)
            )
        })?;
        let name = text[open + 1..].strip_suffix(']').ok_or_else(|| {
            format!(
                "invalid resource id {}: expected kind[name]",
                crate::config::excerpt(text)
            )
        })?;
        if name.is_empty() {
            return Err(format!(
                "invalid resource id {}: the name is empty",
                crate::config::excerpt(text)
            ));
        }
        Ok(ResourceId::new(Kind::new(&text[..open])?, name))
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}]", self.kind, self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_dotted_lowercase() {
        assert!(Kind::new("lxc.container").is_ok());
        assert!(Kind::new("file").is_ok());
        assert!(Kind::new("Lxc").is_err());
        assert!(Kind::new("lxc..x").is_err());
        assert!(Kind::new("").is_err());
    }

    #[test]
    fn ids_round_trip_through_text() {
        let id = ResourceId::new(Kind::from_static("zfs.dataset"), "quickOS/vm-disks");
        assert_eq!(id.to_string(), "zfs.dataset[quickOS/vm-disks]");
        assert_eq!(ResourceId::parse(&id.to_string()), Ok(id));
        assert!(ResourceId::parse("zfs.dataset").is_err());
        assert!(ResourceId::parse("zfs.dataset[]").is_err());
    }
}
