//! Sensitive values: text that apply needs but that is shown nowhere (plans, JSON, saved plans,
//! logs, errors, diffs), and the keyed fingerprint that lets a saved plan still notice a changed
//! secret.
//!
//! A secret is never shown, not even as a plain hash: an unkeyed sha256 of a short password is the
//! password to anyone with a GPU. Where a plan must tell whether a secret changed (the stale-plan
//! check), core keys the digest with a host-local [`PlanKey`] (HMAC-SHA256).

use std::fmt;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::change::{Change, Step};

/// How a sensitive value of `bytes` bytes is shown: `(sensitive, 12 bytes)`.
pub fn describe(bytes: usize) -> String {
    format!("(sensitive, {bytes} bytes)")
}

/// How a sensitive value that differs from what the host has is shown:
/// `(sensitive, 12 bytes, changed)`.
pub fn describe_changed(bytes: usize) -> String {
    format!("(sensitive, {bytes} bytes, changed)")
}

/// Text a step carries (a file's content, a command's stdin): shown as it is, or, when sensitive,
/// only described as `(sensitive, N bytes)` by `Display`, `Debug` and serde.
///
/// A sensitive value read back from JSON (a saved plan) has no text: it can be compared and shown,
/// never run.
#[derive(Clone, PartialEq, Eq)]
pub struct Content {
    text: Option<String>,
    bytes: usize,
    sensitive: bool,
}

impl Content {
    /// Text that may be shown.
    pub fn plain(text: impl Into<String>) -> Content {
        let text = text.into();
        Content {
            bytes: text.len(),
            text: Some(text),
            sensitive: false,
        }
    }

    /// Text that is shown nowhere.
    pub fn sensitive(text: impl Into<String>) -> Content {
        Content {
            sensitive: true,
            ..Content::plain(text)
        }
    }

    /// `text`, sensitive or not.
    pub fn new(text: impl Into<String>, sensitive: bool) -> Content {
        Content {
            sensitive,
            ..Content::plain(text)
        }
    }

    /// Whether the text is shown nowhere.
    pub fn is_sensitive(&self) -> bool {
        self.sensitive
    }

    /// The length in bytes.
    pub fn len(&self) -> usize {
        self.bytes
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.bytes == 0
    }

    /// The text itself, for the host that writes or sends it; `None` for a sensitive value read
    /// back from a saved plan.
    pub fn reveal(&self) -> Option<&str> {
        self.text.as_deref()
    }

    /// The text for display: itself, or `(sensitive, N bytes)`.
    pub fn shown(&self) -> String {
        match (&self.text, self.sensitive) {
            (Some(text), false) => text.clone(),
            _ => describe(self.bytes),
        }
    }
}

impl From<String> for Content {
    fn from(text: String) -> Content {
        Content::plain(text)
    }
}

impl From<&str> for Content {
    fn from(text: &str) -> Content {
        Content::plain(text)
    }
}

impl fmt::Display for Content {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown())
    }
}

impl fmt::Debug for Content {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.sensitive {
            f.write_str(&describe(self.bytes))
        } else {
            fmt::Debug::fmt(&self.text, f)
        }
    }
}

/// The JSON form of a sensitive value.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Described {
    sensitive: bool,
    bytes: usize,
}

impl Serialize for Content {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match (&self.text, self.sensitive) {
            (Some(text), false) => s.serialize_str(text),
            _ => Described {
                sensitive: true,
                bytes: self.bytes,
            }
            .serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Content {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Content, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(text) => Ok(Content::plain(text)),
            other => {
                let described: Described =
                    serde_json::from_value(other).map_err(serde::de::Error::custom)?;
                Ok(Content {
                    text: None,
                    bytes: described.bytes,
                    sensitive: true,
                })
            }
        }
    }
}

/// A host-local secret that keys the fingerprints of changes holding sensitive values, so a saved
/// plan can be checked against a fresh one without carrying anything a GPU could reverse.
#[derive(Clone, PartialEq, Eq)]
pub struct PlanKey([u8; 32]);

impl PlanKey {
    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> PlanKey {
        PlanKey(bytes)
    }

    /// HMAC-SHA256 of `message` under this key (RFC 2104), as lowercase hex.
    pub fn hmac_hex(&self, message: &[u8]) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .expect("invariant: HMAC takes a key of any length");
        mac.update(message);
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

impl fmt::Debug for PlanKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlanKey(..)")
    }
}

/// Whether a change carries a sensitive value: a sensitive file content or stdin, or a command's
/// environment (where secrets go, always hidden).
pub fn has_sensitive(change: &Change) -> bool {
    change.steps.iter().any(|step| match step {
        Step::Run { cmd } => {
            !cmd.env.is_empty() || cmd.stdin.as_ref().is_some_and(Content::is_sensitive)
        }
        Step::WriteFile { content, .. } => content.is_sensitive(),
        _ => false,
    })
}

/// The keyed fingerprint of a change's steps with their sensitive values included; `None` when
/// the change carries none (its JSON already says everything) or a sensitive value has no text.
pub fn fingerprint(key: &PlanKey, change: &Change) -> Option<String> {
    if !has_sensitive(change) {
        return None;
    }
    let mut message = Vec::new();
    let mut add = |part: &[u8]| {
        message.extend_from_slice(&(part.len() as u64).to_le_bytes());
        message.extend_from_slice(part);
    };
    add(change.id.to_string().as_bytes());
    add(serde_json::to_string(&change.steps).ok()?.as_bytes());
    for step in &change.steps {
        match step {
            Step::Run { cmd } => {
                for (name, value) in &cmd.env {
                    add(name.as_bytes());
                    add(value.as_bytes());
                }
                if let Some(stdin) = &cmd.stdin {
                    add(stdin.reveal()?.as_bytes());
                }
            }
            Step::WriteFile { content, .. } => add(content.reveal()?.as_bytes()),
            _ => {}
        }
    }
    Some(key.hmac_hex(&message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_test_case_1() {
        // RFC 4231 test case 1 uses a 20-byte key; padded with zeros to 32 bytes it is the same
        // HMAC key (keys shorter than the block are zero-padded).
        let mut key = [0u8; 32];
        key[..20].copy_from_slice(&[0x0b; 20]);
        assert_eq!(
            PlanKey::from_bytes(key).hmac_hex(b"Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
    }

    #[test]
    fn sensitive_content_is_described_everywhere() {
        let secret = Content::sensitive("hunter2-canary");
        assert_eq!(secret.to_string(), "(sensitive, 14 bytes)");
        assert_eq!(format!("{secret:?}"), "(sensitive, 14 bytes)");
        let json = serde_json::to_string(&secret).expect("serialises");
        assert_eq!(json, r#"{"sensitive":true,"bytes":14}"#);
        let back: Content = serde_json::from_str(&json).expect("deserialises");
        assert!(back.is_sensitive() && back.reveal().is_none() && back.len() == 14);
        assert_eq!(secret.reveal(), Some("hunter2-canary"));
        let plain = Content::plain("hello");
        assert_eq!(serde_json::to_string(&plain).expect("json"), r#""hello""#);
        assert_eq!(
            serde_json::from_str::<Content>(r#""hello""#).expect("json"),
            plain
        );
    }
}
