//! `ParseError`: why a tool's output or a config file could not be read, and on which line.
//!
//! Providers' parsers are pure functions `&str -> Result<T, ParseError>`; they share this one
//! error type (providers do not depend on each other) and re-export it from their `parse` module.

/// A tool's output or a config file did not have the expected shape.
///
/// `line` is 1-based; 0 means the text as a whole (such as JSON that does not parse at all), or a
/// value that is not tied to a line (such as a property string handed to a helper).
///
/// ```
/// # use phoenix_core::parse::ParseError;
/// let err = ParseError::new(3, "expected 4 tab-separated fields, found 2");
/// assert_eq!(err.to_string(), "parse line 3: expected 4 tab-separated fields, found 2");
/// ```
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

    /// A JSON document that does not fit, located at serde_json's line.
    pub fn json(err: &serde_json::Error) -> ParseError {
        ParseError::new(err.line(), format!("invalid JSON: {err}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_errors_keep_serde_json_s_line() {
        let err = serde_json::from_str::<serde_json::Value>("{\n  \"a\": 1,\n  oops\n}")
            .expect_err("not JSON");
        let parsed = ParseError::json(&err);
        assert_eq!(parsed.line, 3);
        assert!(parsed.reason.starts_with("invalid JSON: "), "{parsed}");
    }
}
