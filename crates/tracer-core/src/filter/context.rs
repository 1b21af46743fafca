//! What a filter reads from an event: the [`EventSource`] trait and the plain views it
//! hands out. The engine's per-event view implements it (through an adapter); tests can
//! implement it directly.
//!
//! One source value is one *output line* in sysdig's sense: a syscall is seen twice,
//! as its enter and its exit, and a marker write is seen once, as a `tracer` event.

use crate::event::{FdTarget, Syscall};
use crate::grammar::Direction;

/// Enter or exit line of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EvtDir {
    /// `>`.
    Enter,
    /// `<`.
    Exit,
}

impl EvtDir {
    /// `">"` or `"<"`.
    pub fn as_str(self) -> &'static str {
        match self {
            EvtDir::Enter => ">",
            EvtDir::Exit => "<",
        }
    }
}

/// The thread (and its process) an event happened on.
#[derive(Debug, Clone, Copy)]
pub struct ThreadFacts<'a> {
    /// Thread id.
    pub tid: i64,
    /// Process id.
    pub pid: i64,
    /// Parent thread id, as sysdig keeps it (used by `evtin.span.s.*`).
    pub ptid: i64,
    /// Parent process id (`proc.ppid`), when known.
    pub ppid: Option<i64>,
    /// Command name.
    pub comm: &'a str,
    /// Executable.
    pub exe: &'a str,
    /// Arguments after `argv[0]`.
    pub args: &'a [String],
    /// True once this thread has written a marker (sysdig's per-thread tracer state;
    /// `evtin.*` *extraction* is NULL on threads without it).
    pub wrote_marker: bool,
}

/// The fd an event operates on.
#[derive(Debug, Clone, Copy)]
pub struct FdFacts<'a> {
    /// Its number (-1 when the event names none but sysdig still reports one).
    pub num: i64,
    /// What it refers to, when known.
    pub target: Option<&'a FdTarget>,
    /// The socket is IPv6 (known from `socket()` even before it has an address).
    pub v6: bool,
    /// `fd.typechar` when there is no target: sysdig reports the fd type the event
    /// creates on the enter line of an fd-creating syscall (`f` for open, `4` for
    /// socket and accept).
    pub typechar_hint: Option<&'static str>,
    /// `fd.name` already formatted by the source (sockets need formatting), if it has
    /// it; otherwise it is derived from `target`.
    pub name: Option<&'a str>,
}

/// An open span record (or the record a marker matched).
#[derive(Debug, Clone, Copy)]
pub struct SpanFacts<'a> {
    /// Identity of the record (unique per stream), to recognise a marker's own record.
    pub key: u64,
    /// Span id.
    pub id: i64,
    /// Enter tags.
    pub tags: &'a [Vec<u8>],
    /// Enter arguments.
    pub args: &'a [(Vec<u8>, Vec<u8>)],
    /// Enter timestamp (ns).
    pub enter_ts: u64,
    /// Thread that wrote the enter marker.
    pub writer_tid: i64,
    /// Its process.
    pub writer_pid: i64,
    /// True while the writer thread still exists (sysdig's `.s` scope requires it).
    pub writer_alive: bool,
}

/// A marker (`tracer`) event.
#[derive(Debug, Clone, Copy)]
pub struct MarkerFacts<'a> {
    /// Enter or exit marker.
    pub dir: Direction,
    /// Resolved span id.
    pub id: i64,
    /// This marker's tags.
    pub tags: &'a [Vec<u8>],
    /// This marker's arguments.
    pub args: &'a [(Vec<u8>, Vec<u8>)],
    /// Enter marker: its own new record; exit marker: the enter record it matched
    /// (`None` for an unmatched exit or without span tracking).
    pub record: Option<SpanFacts<'a>>,
}

/// Everything the filter and formatter read from one event line.
pub trait EventSource {
    /// Iterator over the open span records.
    type Spans<'s>: Iterator<Item = SpanFacts<'s>>
    where
        Self: 's;

    /// `evt.num`: the event's number in the stream.
    fn num(&self) -> u64;
    /// This line's timestamp (enter time for an enter line, exit time otherwise).
    fn ts(&self) -> u64;
    /// Enter or exit line.
    fn dir(&self) -> EvtDir;
    /// `evt.type`: syscall name, `tracer`, `procexit`…
    fn type_name(&self) -> &str;
    /// The syscall behind a syscall line (`None` for markers and non-syscall events).
    fn syscall(&self) -> Option<&Syscall>;
    /// The event's thread.
    fn thread(&self) -> ThreadFacts<'_>;
    /// The fd the event operates on, if any.
    fn fd(&self) -> Option<FdFacts<'_>>;
    /// The marker, for `tracer` events.
    fn marker(&self) -> Option<MarkerFacts<'_>>;
    /// All currently open span records, most recently entered first. On an enter
    /// marker this includes its own new record; on an exit marker the matched record
    /// is already removed.
    fn open_spans(&self) -> Self::Spans<'_>;
    /// True for marker events (a cheap test; the default asks [`EventSource::marker`]).
    fn is_marker(&self) -> bool {
        self.marker().is_some()
    }
    /// `evt.cpu`, when the source records it.
    fn cpu(&self) -> Option<u32> {
        None
    }
    /// `evt.info`, when the source renders it.
    fn info(&self) -> Option<String> {
        None
    }
}
