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
//!
//! # API
//! - [`parse`] / [`parse_prefix`]: one marker from the start of a buffer.
//! - [`parse_all`]: every marker of one write (C2).
//! - [`StreamDecoder`]: per-thread fragments across writes (§4, C3); [`Decoded`].
//! - [`invalid_tracer_tag`]: the tag of sysdig's invalid-tracer event.
//! - [`encode`] / [`encode_into`] / [`encode_checked`]: write a [`Tracer`] as a marker.
//!
//! # sysdig 0.29.3 bugs fixed here
//! - **C1**: an ID or a first tag starting with the digit `0` was always truncated (and
//!   swallowed ~64 KiB of the thread's later markers). Here `0` is an ordinary digit and
//!   tag byte: `>:0:a::` is id 0, `>:007:a::` id 7, `>:t:0a::` has the tag `0a`.
//! - **C2**: only one marker per write was read. [`parse_all`] reads further markers
//!   after ASCII whitespace when the rest starts with `>`, `<` or `[`; a rest that does
//!   not, or does not parse, is still ignored.
//! - **C3**: a pending fragment was prefixed to the next write whatever it was, corrupting
//!   or swallowing a valid marker, and after the 64 KiB drop a stale copy came back.
//!   [`StreamDecoder`] discards a pending fragment (counted) when the new write parses
//!   on its own, and a fragment dropped at the cap is gone for good. The cap is applied
//!   as soon as the fragment would exceed it, so it never holds more than the cap.
//! - **Out-of-bounds reads**: the `t`, `p`, `pp`, `g` shortcuts skip the following byte
//!   without looking at it; sysdig read past the end of its buffer for `>:t`, `>:g`,
//!   `>:p` (and the JSON `"t` etc.). Here those are truncated (what 0.29.3 showed).
//! - **JSON quoted ids**: after an unknown quoted id (`""`, `"12"`, `"x"`) sysdig goes on
//!   with a stale length and a stale id (undefined: `""` and `"12"` failed, others were
//!   accepted with the thread's previous id); here they always fail. A quote at the very
//!   end of the data (`[">", "`) is truncated.
//!
//! # Quirks kept (same input, same meaning)
//! - C-string semantics: parsing stops at the first NUL. A fragment that is extended and
//!   still truncated is kept cut at its first NUL (verified with sysdig 0.29.3; see
//!   [`StreamDecoder`]).
//! - The shortcut letters skip one byte blindly: `>:tx:a::` parses as if `x` were the
//!   separator (and then fails).
//! - Numeric ids wrap in 64 bits (`18446744073709551615` is −1); `-` alone is 0.
//! - An empty tag section is zero tags (`>:t:::`); empty tags between dots are kept.
//! - Unescaped `>`, `<`, `=`, LF fail in tags; `>`, `<`, LF fail in argument names;
//!   `=` separates arguments like `,` (`x=1=y=2:`); an argument name ending in `:` at
//!   the end of data fails ("argument without value"). Escapes (`\x`) work in tags and
//!   arguments but not in the id; escaped and plain forms are indistinguishable after
//!   parsing (tag `a\.b` is the one tag `a.b`).
//! - Everything after a complete marker that is not a further marker (C2) is ignored.
//! - JSON form: a scanner, not a JSON parser. Strings are raw (escapes kept, a string
//!   ends at the first `"` not preceded by `\`, so `"a\\"` never ends); any type string
//!   not starting with `>` means exit; commas between tags are optional; exactly one
//!   pair per argument object; `[` must be followed directly by `"`; leading spaces
//!   (0x20 only) allowed; the arguments list is mandatory; a non-string byte right
//!   after the tags' `[` is skipped (`[x]` is no tags); `{}` is no arguments; braces
//!   between argument objects are counted loosely; `":` as id is id 0.
//!
//! `tests/grammar_sysdig.rs` replays ~5500 generated writes through `sysdig -r` 0.29.3
//! and checks that every result equals [`parse`] apart from C1 and the quoted ids.
//! - The invalid-tracer tag uses only the current write's bytes and ends at a NUL.

mod buf;
mod encode;
mod error;
mod json;
mod parse;
mod stream;
mod text;

pub use encode::{encode, encode_checked, encode_into};
pub use error::{EncodeError, ParseError};
pub use parse::{parse, parse_all, parse_prefix};
pub use stream::{invalid_tracer_tag, Decoded, StreamDecoder, DEFAULT_FRAGMENT_CAP};

pub(crate) use buf::{fill_pairs, push_key_tag, MarkerBuf, MarkerRef};
pub(crate) use parse::at;
#[cfg(test)]
pub(crate) use parse::parse_all_into;
pub(crate) use stream::Outcome;
pub(crate) use text::{guess_head_len, parse_head, parse_with_head};

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
