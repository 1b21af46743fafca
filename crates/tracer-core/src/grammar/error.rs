//! Errors of the marker grammar.

use thiserror::Error;

/// Why a buffer is not a complete, valid marker.
///
/// The two kinds mirror sysdig's parse results: a [`ParseError::Truncated`] buffer is a
/// valid beginning of a marker that ended too early (the stream keeps it as a fragment
/// and prefixes it to the thread's next write, see [`super::StreamDecoder`]); a
/// [`ParseError::Failed`] buffer can never become a marker (on a warm tracer fd it
/// becomes an invalid-tracer event, see [`super::invalid_tracer_tag`]).
///
/// `offset` is the byte position in the parsed buffer where the problem was detected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Error)]
pub enum ParseError {
    /// The buffer ended (or reached a NUL byte) before the marker was complete.
    #[error("truncated marker at byte {offset}: {reason}")]
    Truncated {
        /// Byte position where the data ended.
        offset: usize,
        /// What was still expected.
        reason: &'static str,
    },
    /// The buffer can never be completed into a valid marker.
    #[error("failed to parse marker at byte {offset}: {reason}")]
    Failed {
        /// Byte position of the offending byte.
        offset: usize,
        /// What was wrong.
        reason: &'static str,
    },
}

impl ParseError {
    /// `true` for [`ParseError::Truncated`].
    pub fn is_truncated(&self) -> bool {
        matches!(self, ParseError::Truncated { .. })
    }

    /// The byte position where the problem was detected.
    pub fn offset(&self) -> usize {
        match *self {
            ParseError::Truncated { offset, .. } | ParseError::Failed { offset, .. } => offset,
        }
    }

    /// The human-readable reason.
    pub fn reason(&self) -> &'static str {
        match *self {
            ParseError::Truncated { reason, .. } | ParseError::Failed { reason, .. } => reason,
        }
    }
}

/// Why a [`super::Tracer`] cannot be written as a marker without changing its meaning
/// (returned by [`super::encode_checked`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Error)]
pub enum EncodeError {
    /// A tag, argument name or argument value contains a NUL byte. Parsers stop at the
    /// first NUL (C-string semantics), so no marker can carry one.
    #[error("{field} contains a NUL byte, which no marker can carry")]
    Nul {
        /// `"tag"`, `"argument name"` or `"argument value"`.
        field: &'static str,
    },
    /// The tracer has exactly one tag and it is empty. The text form cannot express
    /// that (`>:t:::` means zero tags), and the JSON fallback cannot carry one of the
    /// argument strings (it contains a `"` not preceded by `\`, or ends with `\`).
    #[error("a single empty tag needs the JSON form, but an argument cannot be written in it")]
    SingleEmptyTag,
}

pub(crate) fn truncated(offset: usize, reason: &'static str) -> ParseError {
    ParseError::Truncated { offset, reason }
}

pub(crate) fn failed(offset: usize, reason: &'static str) -> ParseError {
    ParseError::Failed { offset, reason }
}
