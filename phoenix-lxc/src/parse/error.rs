//! `ParseError`: why a tool's output or a config file could not be read, and on which line.

/// A tool's output or a config file did not have the expected shape.
///
/// `line` is 1-based; 0 means the text as a whole, or a value that is not tied to a line (such as
/// a property string handed to a helper).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("parse line {line}: {reason}")]
#[non_exhaustive]
pub struct ParseError {
    /// The 1-based line the problem is on, or 0.
    pub line: usize,
    /// What was wrong, lowercase, without a trailing period.
    pub reason: String,
}

impl ParseError {
    /// A problem on `line` (1-based; 0 for no particular line).
    pub fn new(line: usize, reason: impl Into<String>) -> ParseError {
        ParseError {
            line,
            reason: reason.into(),
        }
    }
}
