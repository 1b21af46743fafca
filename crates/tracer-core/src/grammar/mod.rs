//! The marker ("tracer") grammar: parse and encode.
//!
//! A marker is what an application writes to `/dev/null` to open or close a span:
//! the text form `DIR:ID:TAGS:ARGS:` (`>:t:download_handler::`) or the JSON form
//! (`[">", 12345, ["mysql", "query"], [{"k":"v"}]]`). The exact semantics follow
//! sysdig 0.29.3 (see `shared/docs/tracers-spec.md` §2–§4), with the compatibility
//! policy's fixes (C1–C3), documented on the items that implement them.
//!
//! Tags and argument names/values are byte strings: markers are not guaranteed UTF-8.
//!
//! This module has no I/O and no unsafe code.

use serde::{Deserialize, Serialize};

/// Direction of a marker: `>` opens a span, `<` closes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Direction {
    /// `>`: span enter.
    Enter,
    /// `<`: span exit.
    Exit,
}

impl Direction {
    /// The marker byte of this direction (`>` or `<`).
    pub fn as_byte(self) -> u8 {
        match self {
            Direction::Enter => b'>',
            Direction::Exit => b'<',
        }
    }
}

/// The ID *form* written in a marker. The span engine resolves it to a number with the
/// writer's identity ([`IdForm::resolve`]): the same bytes mean different ids in
/// different threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum IdForm {
    /// `t`: the writing thread's id.
    Thread,
    /// `p`: the writing process's id.
    Process,
    /// `pp`: the writer's parent (ptid as sysdig keeps it).
    Parent,
    /// `g` or empty: id 0, shared by everyone.
    Global,
    /// A signed decimal number (wrapping to 64 bits as sysdig does).
    Explicit(i64),
}

impl IdForm {
    /// Resolves the form to the concrete span id for a writer.
    pub fn resolve(self, tid: i64, pid: i64, ptid: i64) -> i64 {
        match self {
            IdForm::Thread => tid,
            IdForm::Process => pid,
            IdForm::Parent => ptid,
            IdForm::Global => 0,
            IdForm::Explicit(n) => n,
        }
    }
}

/// One successfully parsed marker.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Tracer {
    /// Enter or exit.
    pub dir: Direction,
    /// The id as written (resolved later with the writer's identity).
    pub id: IdForm,
    /// Ordered tags (`a.b.c` ⇒ `a`, `b`, `c`); empty tags are real tags.
    pub tags: Vec<Vec<u8>>,
    /// Ordered `(name, value)` pairs; duplicates kept.
    pub args: Vec<(Vec<u8>, Vec<u8>)>,
}
