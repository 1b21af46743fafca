//! [`EventView`]: one processed event together with its context, as the engine hands
//! it to consumers (filters, `-p`-style formatters, bytes-by tables, exporters).
//!
//! The engine calls its consumer once per *shown* event, after the event has updated the
//! engine's state:
//! - a marker write becomes one [`EventClass::Tracer`] view per parsed marker (C2: a
//!   write with two markers yields two views, same timestamp, write order), or one
//!   invalid-tracer view (failed parse on a tracer fd, §4);
//! - a write whose bytes were kept as a pending fragment becomes
//!   [`EventClass::HiddenWrite`] (sysdig hides it; consumers normally skip it);
//! - every other syscall, including plain writes to `/dev/null`, is
//!   [`EventClass::Syscall`];
//! - snapshots, thread exits and loss notices have their own classes.
//!
//! A consumer whose [`Consumer::wants_tracer_views`] is false is not given the views of
//! valid markers (their numbers are still used up, so the other views keep theirs).
//!
//! Views borrow the engine; copy what you need to keep.
//!
//! [`EventView`]: crate::event_view::EventView
//! [`EventClass::Tracer`]: crate::event_view::EventClass::Tracer
//! [`EventClass::HiddenWrite`]: crate::event_view::EventClass::HiddenWrite
//! [`EventClass::Syscall`]: crate::event_view::EventClass::Syscall
//! [`Consumer::wants_tracer_views`]: crate::engine::Consumer::wants_tracer_views

use crate::correlate::Scope;
use crate::event::{Event, IoDir, Syscall, SyscallKind, ThreadInfo};
use crate::fds::{FdInfo, FdTables};
use crate::grammar::Direction;
use crate::spans::{OpenRecord, SpanRecord, SpanStore};
use crate::threads::{ThreadState, ThreadTable};

/// The I/O direction sysdig 0.29 gives a syscall: `evt.is_io`, `evt.is_io_read`,
/// `evt.is_io_write` (events flagged `EF_READS_FROM_FD` / `EF_WRITES_TO_FD`). That is
/// [`SyscallKind::io_dir`] minus `sendfile`, which sysdig flags neither way (its bytes
/// are real I/O and the engine charges them to spans, but sysdig's `fdbytes_by`,
/// `evt.is_io` filters and csysdig I/O views leave them out). Every sysdig-compatible
/// view and the filter's `evt.is_io` should use this one definition.
///
/// [`SyscallKind::io_dir`]: crate::event::SyscallKind::io_dir
pub fn sysdig_io_dir(kind: SyscallKind) -> Option<IoDir> {
    match kind {
        SyscallKind::Sendfile => None,
        k => k.io_dir(),
    }
}

/// One processed event with its context.
#[derive(Debug, Clone, Copy)]
pub struct EventView<'a> {
    /// Number of this view: starts at 1, increases by one per view (sysdig `evt.num`).
    pub num: u64,
    /// 0-based index of the input [`Event`] this view comes from (several views share an
    /// index when one write carried several markers).
    pub input_index: u64,
    /// The input event.
    pub event: &'a Event,
    /// What the event is after marker detection.
    pub class: EventClass<'a>,
    /// The event's thread (`None` only for loss notices of an unknown thread).
    pub thread: Option<&'a ThreadState>,
    /// The fd the event operated on, resolved **before** the event changed the fd table
    /// (a `close` still shows what was closed). For fd-creating syscalls (open family,
    /// socket, accept, dup family) it is the **new** fd. `None` when unknown or none.
    pub fd: Option<&'a FdInfo>,
    /// The fd number [`EventView::fd`] refers to (-1 when none).
    pub fd_num: i64,
    /// The open spans after this event was applied (for an enter marker its own new
    /// record is included; for an exit marker its record is already removed and is
    /// available as [`TracerView::record`]).
    pub spans: OpenSpans<'a>,
    /// Name tables (fd names and peers are interned).
    pub fds: &'a FdTables,
}

/// The class of a processed event.
#[derive(Debug, Clone, Copy)]
pub enum EventClass<'a> {
    /// An ordinary syscall (anything that is not a marker or a hidden fragment).
    Syscall(SyscallView<'a>),
    /// A marker (sysdig `tracer` event), valid or invalid.
    Tracer(TracerView<'a>),
    /// A marker-candidate write kept as a pending fragment (hidden by sysdig).
    HiddenWrite(&'a Syscall),
    /// A thread snapshot/update.
    ThreadInfo(&'a ThreadInfo),
    /// An initial fd-table entry (see [`EventView::fd`]).
    FdSnapshot,
    /// The thread exited (sysdig `procexit`).
    ThreadExit,
    /// The producer lost this many events (0 = unknown).
    Lost(u64),
}

/// A non-marker syscall.
#[derive(Debug, Clone, Copy)]
pub struct SyscallView<'a> {
    /// The syscall.
    pub syscall: &'a Syscall,
    /// exit − enter timestamp, ns (`evt.latency`).
    pub latency_ns: u64,
    /// I/O direction for read/write-family syscalls as the engine accounts them
    /// ([`SyscallKind::io_dir`]: includes `sendfile`, unlike sysdig's `evt.is_io`, see
    /// [`sysdig_io_dir`]).
    ///
    /// [`SyscallKind::io_dir`]: crate::event::SyscallKind::io_dir
    pub io_dir: Option<IoDir>,
    /// Bytes moved (`res` of a successful I/O syscall, else 0; `sendfile` included).
    pub io_bytes: u64,
    /// For `sendfile`: the source fd (`in_fd`).
    pub in_fd: Option<&'a FdInfo>,
}

/// A marker event (`evt.type = tracer`).
#[derive(Debug, Clone, Copy)]
pub struct TracerView<'a> {
    /// Enter (`>`) or exit (`<`). Invalid tracers are enters.
    pub dir: Direction,
    /// Resolved id (`t` → tid, `p` → pid, `pp` → ptid, `g`/empty → 0); 0 for invalid.
    pub id: i64,
    /// Tags of this marker (invalid: the single tag `invalid tracer <data>, len<n>`).
    pub tags: &'a [Vec<u8>],
    /// Arguments of this marker (its own, also on exits).
    pub args: &'a [(Vec<u8>, Vec<u8>)],
    /// True for an invalid-tracer event (failed parse on a tracer fd, §4): no span
    /// bookkeeping happened.
    pub invalid: bool,
    /// The enter record: on an enter the record just created (open); on an exit the
    /// record it closed (already removed from the open list). `None` for an unmatched
    /// exit or an invalid tracer.
    pub record: Option<&'a OpenRecord>,
    /// On a matched exit: the finished span — built only for consumers that want
    /// spans ([`Consumer::wants_spans`], true by default) or when the
    /// report retains them; `None` otherwise.
    ///
    /// [`Consumer::wants_spans`]: crate::engine::Consumer::wants_spans
    pub span: Option<&'a SpanRecord>,
    /// On a matched exit: exit − enter, ns.
    pub duration_ns: Option<u64>,
    /// Position of this marker in its write (0-based) and number of markers in it.
    pub index_in_write: u32,
    /// Number of markers the write carried.
    pub markers_in_write: u32,
}

/// Read access to the open span records, for `evtin`-style scopes.
#[derive(Debug, Clone, Copy)]
pub struct OpenSpans<'a> {
    /// The store.
    pub store: &'a SpanStore,
    /// Live threads (scope [`Scope::Children`] needs the writer to exist).
    pub threads: &'a ThreadTable,
}

impl<'a> OpenSpans<'a> {
    /// Every open record, most recently entered first.
    pub fn iter(&self) -> impl Iterator<Item = &'a OpenRecord> + 'a {
        self.store.iter()
    }

    /// Open records that enclose an event of `thread` under `scope`, most recent first
    /// (sysdig's candidate list).
    pub fn candidates(
        &self,
        scope: Scope,
        thread: &'a ThreadState,
    ) -> impl Iterator<Item = &'a OpenRecord> + 'a {
        let threads = self.threads;
        self.store
            .iter()
            .filter(move |r| scope.admits(r, thread, threads))
    }

    /// The first candidate (most recent enclosing span) under `scope`; for
    /// [`Scope::Thread`] this is the innermost span of the thread.
    #[inline(always)]
    pub fn innermost(&self, scope: Scope, thread: &'a ThreadState) -> Option<&'a OpenRecord> {
        match scope {
            Scope::Thread => self.store.innermost(thread.tid),
            _ => self.innermost_wider(scope, thread),
        }
    }

    /// [`OpenSpans::innermost`] for the scopes wider than the thread (out of line: the
    /// thread scope is the hot one).
    #[inline(never)]
    fn innermost_wider(&self, scope: Scope, thread: &'a ThreadState) -> Option<&'a OpenRecord> {
        self.candidates(scope, thread).next()
    }

    /// Number of open records.
    pub fn len(&self) -> usize {
        self.store.len()
    }

    /// True when no span is open.
    pub fn is_empty(&self) -> bool {
        self.store.is_empty()
    }
}

impl<'a> EventView<'a> {
    /// The tracer part, for marker events.
    pub fn tracer(&self) -> Option<&TracerView<'a>> {
        match &self.class {
            EventClass::Tracer(t) => Some(t),
            _ => None,
        }
    }

    /// The syscall part, for ordinary syscalls.
    pub fn syscall(&self) -> Option<&SyscallView<'a>> {
        match &self.class {
            EventClass::Syscall(s) => Some(s),
            _ => None,
        }
    }

    /// sysdig `evt.type`: `tracer` for markers, the syscall name (`write` for hidden
    /// fragments), `procexit`, `threadinfo`, `fdsnapshot`, `drop`.
    pub fn type_name(&self) -> &'static str {
        match &self.class {
            EventClass::Syscall(s) => s.syscall.kind.name(),
            EventClass::Tracer(_) => "tracer",
            EventClass::HiddenWrite(s) => s.kind.name(),
            EventClass::ThreadInfo(_) => "threadinfo",
            EventClass::FdSnapshot => "fdsnapshot",
            EventClass::ThreadExit => "procexit",
            EventClass::Lost(_) => "drop",
        }
    }

    /// sysdig `evt.dir`: `>` for enter markers, `<` otherwise (syscall views are exits).
    pub fn dir_char(&self) -> char {
        match &self.class {
            EventClass::Tracer(t) if t.dir == Direction::Enter => '>',
            _ => '<',
        }
    }

    /// `evt.latency`: syscall duration, 0 for markers and non-syscalls.
    pub fn latency_ns(&self) -> u64 {
        self.syscall().map_or(0, |s| s.latency_ns)
    }

    /// sysdig `evt.is_io` (see [`sysdig_io_dir`]: `sendfile` is not I/O for sysdig).
    pub fn is_io(&self) -> bool {
        self.sysdig_io_dir().is_some()
    }

    /// sysdig `evt.is_io_read`.
    pub fn is_io_read(&self) -> bool {
        self.sysdig_io_dir() == Some(IoDir::In)
    }

    /// sysdig `evt.is_io_write`.
    pub fn is_io_write(&self) -> bool {
        self.sysdig_io_dir() == Some(IoDir::Out)
    }

    fn sysdig_io_dir(&self) -> Option<IoDir> {
        self.syscall().and_then(|s| sysdig_io_dir(s.syscall.kind))
    }

    /// Bytes moved by an I/O syscall (0 otherwise).
    pub fn io_bytes(&self) -> u64 {
        self.syscall().map_or(0, |s| s.io_bytes)
    }

    /// `evt.rawarg.res` for syscalls.
    pub fn res(&self) -> Option<i64> {
        self.syscall().map(|s| s.syscall.res)
    }

    /// `evt.failed`.
    pub fn failed(&self) -> bool {
        self.syscall().is_some_and(|s| s.syscall.res < 0)
    }

    /// sysdig `proc.ppid`: the process id of the thread's parent (`ptid`), when that
    /// thread is known.
    pub fn ppid(&self) -> Option<i64> {
        let t = self.thread?;
        self.spans.threads.get(t.ptid).map(|p| p.pid)
    }

    /// sysdig `fd.name` of the event's fd ([`crate::fds::fd_name`], interned once per
    /// change of the fd). `None` when the engine does not know the fd: sysdig prints
    /// `""` on the exit of an I/O syscall then (as [`crate::views::BytesBy`] groups it).
    pub fn fd_name(&self) -> Option<&'a str> {
        self.fd.map(|f| self.fds.name(f.name_id))
    }

    /// The innermost open span enclosing this event under `scope` (see
    /// [`OpenSpans::innermost`]); `None` without a thread.
    pub fn innermost(&self, scope: Scope) -> Option<&'a OpenRecord> {
        self.spans.innermost(scope, self.thread?)
    }
}
