//! `tracer-tag`: emit span markers from Rust.
//!
//! An application marks a span by writing a tiny string to `/dev/null`: `>:t:download::`
//! when it starts and `<:t:download::` when it ends (the sysdig tracers text format,
//! `shared/docs/tracers-spec.md` §2). A probe that sees the `write(2)` rebuilds the spans;
//! nobody listening costs one cheap syscall per marker.
//!
//! ```
//! {
//!     let handler = tracer_tag::span("download_handler"); // writes >:t:download_handler::
//!     let mut w = handler.child("download_write");          // >:t:download_handler.download_write::
//!     w.set_exit_arg("bytes", 4096);
//! } // <:t:download_handler.download_write:bytes=4096:  then  <:t:download_handler::
//!
//! let _s = tracer_tag::span!("query", table = "users", n = 3); // >:t:query:table=users,n=3:
//! ```
//!
//! Guarantees: one `write(2)` per marker on a process-wide fd; no heap allocation for
//! markers up to 256 bytes; `EINTR` is retried once; nothing here panics or returns an
//! error to the caller — failed writes are counted ([`error_count`]).
//!
//! Escaping: in tags `\` `.` `:` `>` `<` `=` and LF are backslash-escaped; in argument
//! names `\` `=` `,` `:` `>` `<` LF; in argument values `\` `,` `:` `=` LF. A leading `0` of
//! the first tag is written `\0` and `Explicit(0)` as `-0`, which every reader decodes to
//! the same value and which sidesteps sysdig 0.29.3's "leading 0" bug. **NUL bytes are
//! dropped** from tags, names and values: readers treat a marker as a C string, so a NUL
//! cannot be carried. A tag list made of one empty tag is indistinguishable from no tags
//! (both are written `::`).
#![warn(missing_docs)]

mod buf;
mod escape;
pub mod sink;
mod site;
mod span;

pub use sink::error_count;
pub use site::Site;
pub use span::{span, span_builder, Span, SpanBuilder};

/// Which span id a marker carries. Enter and exit pair only when their ids (and tags)
/// are equal, so the id decides who may close a span.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Id {
    /// `t`: the writing thread's id (the default; enter and exit on the same thread).
    Thread,
    /// `p`: the writing process's id (enter and exit may be on different threads).
    Process,
    /// `pp`: the writer's parent.
    Parent,
    /// `g`: id 0, shared by all writers.
    Global,
    /// An explicit number (cross-thread and cross-process spans).
    Explicit(i64),
}

/// Marker direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dir {
    /// `>`: the span starts.
    Enter,
    /// `<`: the span ends.
    Exit,
}

impl Dir {
    /// The marker's first byte: `>` or `<`.
    pub fn as_byte(self) -> u8 {
        match self {
            Dir::Enter => b'>',
            Dir::Exit => b'<',
        }
    }
}

/// Markers up to this many bytes are built on the stack.
const STACK_MARKER: usize = 256;

/// Whether markers are written at all: the single "is anyone listening" check every
/// emit goes through. Today always `true`.
#[inline(always)]
pub fn enabled() -> bool {
    true
}

/// Escapes and writes one marker with one `write(2)` to the current sink
/// ([`sink::set_fd`]). Never panics; failures are counted in [`error_count`].
#[inline]
pub fn emit(dir: Dir, id: Id, tags: &[&[u8]], args: &[(&[u8], &[u8])]) {
    if !enabled() {
        return;
    }
    let mut buf = buf::SmallBuf::<STACK_MARKER>::new();
    escape::marker_raw(&mut buf, dir, id, tags, args);
    sink::write(buf.as_slice());
}

/// Like [`emit`], but `path` is a dot-separated tag path (`a.b` = tags `a`, `b`); each
/// component is escaped.
#[inline]
pub fn emit_path(dir: Dir, id: Id, path: &[u8], args: &[(&[u8], &[u8])]) {
    if !enabled() {
        return;
    }
    let mut buf = buf::SmallBuf::<STACK_MARKER>::new();
    escape::marker_path(&mut buf, dir, id, path, args);
    sink::write(buf.as_slice());
}

/// Appends the marker [`emit`] would write to `out`, without writing it.
pub fn encode(dir: Dir, id: Id, tags: &[&[u8]], args: &[(&[u8], &[u8])], out: &mut Vec<u8>) {
    escape::marker_raw(out, dir, id, tags, args);
}

/// Appends the marker [`emit_path`] would write to `out`, without writing it.
pub fn encode_path(dir: Dir, id: Id, path: &[u8], args: &[(&[u8], &[u8])], out: &mut Vec<u8>) {
    escape::marker_path(out, dir, id, path, args);
}
