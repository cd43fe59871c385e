//! `ParseError`: why a tool's output could not be read, and on which line.

/// A tool's output did not have the expected shape.
///
/// `line` is 1-based; 0 means the text as a whole (such as JSON that does not parse at all).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("parse line {line}: {reason}")]
#[non_exhaustive]
pub struct ParseError {
    /// The 1-based line the problem is on, or 0 for the whole text.
    pub line: usize,
    /// What was wrong, lowercase, without a trailing period.
    pub reason: String,
}

impl ParseError {
    /// A problem on `line` (1-based).
    pub fn new(line: usize, reason: impl Into<String>) -> ParseError {
        ParseError {
            line,
            reason: reason.into(),
        }
    }

    /// A JSON document that does not fit, located at serde_json's line.
    pub(crate) fn json(err: &serde_json::Error) -> ParseError {
        ParseError::new(err.line(), format!("invalid JSON: {err}"))
    }
}
