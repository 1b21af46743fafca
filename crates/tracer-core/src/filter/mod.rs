//! Filters and output formats over events, compatible with sysdig's filter language for
//! the fields Tracer knows (`span.*`, `evtin.*`, `evt.*`, `fd.*`, `proc.*`,
//! `thread.tid`). [`fields::catalog`] lists them with type and one-line description
//! (what `tracer fields` prints, see [`fields::listing`]).
//!
//! ```
//! use tracer_core::filter::Filter;
//! let f = Filter::compile("evt.type in (read, write) and not fd.name contains /proc")?;
//! assert!(Filter::compile("evt.typ=read").unwrap_err().to_string().contains("evt.type"));
//! # Ok::<(), tracer_core::filter::FilterError>(())
//! ```
//!
//! Pipeline: [`lexer`] (scanning) → [`parser`] (AST with resolved fields and typed
//! literals) → [`eval`] (compiled predicate) over an [`EventSource`]; [`format`] renders
//! `-p` formats with the same field values ([`extract`]). [`lines`] turns the engine's
//! views into sysdig-style enter/exit lines (numbering, pre-event state).
//!
//! Differences from sysdig 0.29.3, all deliberate:
//! - numeric literals may carry units on time and byte fields (`span.duration > 1.5ms`,
//!   `evt.buflen >= 10KB`, powers of 1024); sysdig accepts plain numbers only (still
//!   accepted);
//! - negative literals on unsigned fields are errors (sysdig silently wraps them);
//! - errors carry a position, a caret line and a "did you mean" suggestion;
//! - `span.*.fortag[N]` mean "exactly N tags" / "more than N tags" (C7),
//!   `span.time` is the enter time on exits (C10), `span.rawparenttime` uses the exact
//!   tag prefix (C6), `evtin.span.p.*` is process-wide (C8) and `evtin.span.arg.NAME`
//!   honours NAME (C9);
//! - `evt.buflen` filters on the value `-p` displays (every I/O exit; sysdig's filter
//!   only sees it on some syscalls);
//! - span records always exist (the engine always tracks spans), so `span.nargs` has a
//!   value even when no field that requests tracking is in use;
//! - times print in UTC (sysdig prints local time: compare with `TZ=UTC`); `evt.cpu` is
//!   0 unless the source records CPUs; `evt.info` is exact for markers and abridged for
//!   syscalls (fd, size, path or result only).
//!
//! [`fields::catalog`]: crate::filter::fields::catalog
//! [`fields::listing`]: crate::filter::fields::listing
//! [`lexer`]: crate::filter::lexer
//! [`parser`]: crate::filter::parser
//! [`eval`]: crate::filter::eval
//! [`format`]: crate::filter::format
//! [`extract`]: crate::filter::extract
//! [`lines`]: crate::filter::lines
//! [`EventSource`]: crate::filter::EventSource

mod catalog;
pub mod context;
pub mod errno;
pub mod eval;
pub mod extract;
pub mod fields;
pub mod format;
mod info;
pub mod lexer;
pub mod lines;
pub mod literal;
pub mod parser;

pub use context::{EventSource, EvtDir, FdFacts, MarkerFacts, SpanFacts, ThreadFacts};
pub use extract::Value;
pub use fields::{FieldDef, FieldRef};
pub use format::{Format, DEFAULT_FORMAT};

use std::fmt;

/// A filter or format that does not compile: what, where, and a likely fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct FilterError {
    /// The text that failed.
    pub filter: String,
    /// Byte offset of the problem (0-based).
    pub pos: usize,
    /// What is wrong.
    pub message: String,
    /// A close valid spelling (`evt.type` for `evt.typ`), if any.
    pub suggestion: Option<String>,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "filter error at position {}: {}",
            self.pos + 1,
            self.message
        )?;
        if let Some(s) = &self.suggestion {
            write!(f, " (did you mean '{s}'?)")?;
        }
        Ok(())
    }
}

impl FilterError {
    /// Two lines: the text and a caret under the offending position.
    pub fn pointer(&self) -> String {
        let col = self.filter[..self.pos.min(self.filter.len())]
            .chars()
            .count();
        format!("  {}\n  {}^", self.filter, " ".repeat(col))
    }
}

/// A compiled filter.
#[derive(Debug, Clone)]
pub struct Filter {
    source: String,
    expr: parser::Expr,
    node: eval::Node,
}

impl Filter {
    /// Parses and compiles a filter.
    pub fn compile(src: &str) -> Result<Filter, FilterError> {
        let expr = parser::parse(src)?;
        let node = eval::compile(&expr);
        Ok(Filter {
            source: src.to_string(),
            expr,
            node,
        })
    }

    /// True when the event line passes the filter.
    #[inline]
    pub fn matches<E: EventSource>(&self, ev: &E) -> bool {
        self.node.eval(ev)
    }

    /// The filter text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The AST.
    pub fn expr(&self) -> &parser::Expr {
        &self.expr
    }

    /// True when the filter uses a field that needs open-span records
    /// (the engine must track spans for it).
    pub fn needs_span_tracking(&self) -> bool {
        let mut needs = false;
        self.expr
            .visit_fields(&mut |f| needs |= f.needs_span_tracking());
        needs
    }
}

#[cfg(test)]
mod tests;
