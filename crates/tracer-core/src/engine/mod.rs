//! The one-pass engine: feed [`Event`]s in time order, get [`EventView`]s (every shown
//! event with its context) and finished [`SpanRecord`]s, then a [`Report`].
//!
//! Per event the engine (1) keeps the thread and fd tables up to date, (2) detects
//! marker writes with sysdig's per-fd state machine (tracers-spec §1, §4, §11; plus
//! [`Syscall::null_dev`], F13/F14), decodes them per thread with [`StreamDecoder`],
//! (3) pairs enters and exits (§5 with C4–C6), and (4) charges every other syscall, its
//! time and its bytes to the innermost open span of its thread.
//! Memory is O(open spans + live fds + distinct keys), never O(events).
//!
//! [`Event`]: crate::event::Event
//! [`EventView`]: crate::event_view::EventView
//! [`SpanRecord`]: crate::spans::SpanRecord
//! [`Report`]: crate::engine::Report
//! [`Syscall::null_dev`]: crate::event::Syscall::null_dev
//! [`StreamDecoder`]: crate::grammar::StreamDecoder

mod effects;
mod marker_cache;
mod markers;
mod report;

pub use report::{Consumer, Counts, EngineConfig, NoConsumer, Report};

use crate::correlate::{InOut, IoAcc};
use crate::event::{Event, EventKind, FdTarget, IoDir, Syscall, SyscallDetail};
use crate::event_view::{EventClass, EventView, OpenSpans, SyscallView};
use crate::fds::{FdInfo, FdKind, FdTables, MarkerState, NULL_DEVICE};
use crate::grammar::StreamDecoder;
use crate::spans::{SpanEnd, SpanRecord, SpanStore};
use crate::tagstats::{TagRow, TagTable};
use crate::threads::ThreadTable;

/// The span reconstruction and correlation engine.
#[derive(Debug)]
pub struct Engine {
    config: EngineConfig,
    threads: ThreadTable,
    fds: FdTables,
    spans: SpanStore,
    tags: TagTable,
    /// Marker decoder of each thread, by thread-table slot (reset when the thread
    /// exits, so a reused slot starts clean).
    decoders: Vec<StreamDecoder>,
    counts: Counts,
    retained: Vec<SpanRecord>,
    unattributed: IoAcc,
    /// Markers of the write being decoded (reused).
    decoded: marker_cache::Decoded,
    /// Marker writes decoded before (boxed: taken out while its entry is used, which
    /// moves a pointer only; `None` only then).
    cache: Option<Box<marker_cache::MarkerCache>>,
    /// Tag-path key of the marker being handled (reused).
    key_buf: Vec<u8>,
    /// The last tag path resolved for a decoded write.
    path_memo: marker_cache::PathMemo,
    /// Arguments of the exit marker being shown (reused).
    exit_args: crate::bytestr::ArgList,
    /// Spare argument pairs (for `fill_pairs`).
    byte_pool: Vec<(Vec<u8>, Vec<u8>)>,
    /// `(tid, thread-table slot, fd table)` of the thread of the last syscall (a
    /// thread's fd table is fixed when it is created; entries are dropped when their
    /// thread exits).
    cur: (i64, u32, u64),
    /// `(tid, slot, fd table)` of recently seen threads (`i64::MIN`: empty), to switch
    /// between a few busy threads without a hash lookup.
    recent: [(i64, u32, u64); RECENT_THREADS],
}

/// Threads remembered in `Engine::recent`.
const RECENT_THREADS: usize = 4;

impl Default for Engine {
    fn default() -> Self {
        Engine::new(EngineConfig::default())
    }
}

/// The exit side of a closed span.
struct ExitInfo {
    ts: u64,
    tid: i64,
    input_index: u64,
    args: crate::bytestr::ArgList,
    /// The exit marker's tags: equal to the record's (same interned path), moved into
    /// the finished span instead of cloning the record's.
    tags: Vec<Vec<u8>>,
}

/// How a marker-candidate write was classified.
enum Candidate {
    /// Not a candidate: ordinary syscall.
    No,
    /// Candidate; `warm` = the fd is already a tracer fd.
    Yes { warm: bool },
}

impl Engine {
    /// A new engine.
    pub fn new(config: EngineConfig) -> Self {
        Engine {
            spans: SpanStore::new(config.open_span_capacity),
            config,
            threads: ThreadTable::default(),
            fds: FdTables::default(),
            tags: TagTable::default(),
            decoders: Vec::new(),
            counts: Counts::default(),
            retained: Vec::new(),
            unattributed: IoAcc::default(),
            decoded: Default::default(),
            cache: Some(Box::default()),
            key_buf: Vec::new(),
            path_memo: marker_cache::PathMemo::default(),
            exit_args: Vec::new(),
            byte_pool: Vec::new(),
            cur: (i64::MIN, 0, 0),
            recent: [(i64::MIN, 0, 0); RECENT_THREADS],
        }
    }

    /// Settings.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Counters so far.
    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    /// The thread table.
    pub fn threads(&self) -> &ThreadTable {
        &self.threads
    }

    /// The fd tables (and name table).
    pub fn fds(&self) -> &FdTables {
        &self.fds
    }

    /// The open spans.
    pub fn open_spans(&self) -> &SpanStore {
        &self.spans
    }

    /// Per-tag-path statistics so far.
    pub fn tag_table(&self) -> &TagTable {
        &self.tags
    }

    /// Per-tag-path rows so far (for live summaries; [`Engine::finish`] gives the final
    /// ones in the report).
    pub fn tag_rows(&self) -> Vec<TagRow> {
        self.tags.rows(&self.fds)
    }

    /// Declares `fd` of the process of thread `tid` an already-detected marker fd
    /// (`/dev/null`, decided as tracer): state carried over from an earlier part of a
    /// stream, or test setup.
    pub fn mark_tracer_fd(&mut self, tid: i64, pid: i64, fd: i64) {
        let table = self.threads.ensure(tid, pid, &mut self.fds).fd_table;
        self.fds
            .open(table, fd, FdTarget::File(NULL_DEVICE.into()), false);
        if let Some(i) = self.fds.get_mut(table, fd) {
            i.marker = MarkerState::Tracer;
        }
    }

    /// What the engine knows about `fd` of the process of thread `tid`.
    pub fn fd_info(&self, tid: i64, fd: i64) -> Option<&FdInfo> {
        let t = self.threads.get(tid)?;
        self.fds.get(t.fd_table, fd)
    }

    /// Processes every event of `events` and finishes: a convenience for whole inputs.
    pub fn run<'e, C: Consumer>(
        mut self,
        events: impl IntoIterator<Item = &'e Event>,
        consumer: &mut C,
    ) -> Report {
        for ev in events {
            self.process(ev, consumer);
        }
        self.finish(consumer)
    }

    /// Processes one event (events must come in time order).
    pub fn process<C: Consumer>(&mut self, ev: &Event, consumer: &mut C) {
        // The input index is the number of events before this one.
        let idx = self.counts.events;
        self.counts.events += 1;
        match &ev.kind {
            EventKind::Syscall(sc) => self.syscall(ev, sc, idx, consumer),
            _ => self.non_syscall(ev, idx, consumer),
        }
    }

    /// [`Engine::process`] for the events that are not syscalls (rare: out of line).
    #[inline(never)]
    fn non_syscall<C: Consumer>(&mut self, ev: &Event, idx: u64, consumer: &mut C) {
        match &ev.kind {
            EventKind::Syscall(_) => {}
            EventKind::ThreadInfo(info) => {
                self.threads.apply_info(info, &mut self.fds);
                let num = self.bump();
                self.emit(
                    num,
                    ev,
                    idx,
                    EventClass::ThreadInfo(info),
                    None,
                    -1,
                    consumer,
                );
            }
            EventKind::FdSnapshot { fd, target } => {
                let table = self.threads.ensure(ev.tid, ev.pid, &mut self.fds).fd_table;
                self.fds.open(table, *fd, target.clone(), false);
                let num = self.bump();
                let info = self.fds.get(table, *fd);
                self.emit(num, ev, idx, EventClass::FdSnapshot, info, *fd, consumer);
            }
            EventKind::ThreadExit { .. } => {
                let slot = self.threads.ensure_slot(ev.tid, ev.pid, &mut self.fds);
                let num = self.bump();
                self.emit(num, ev, idx, EventClass::ThreadExit, None, -1, consumer);
                if let Some(d) = self.decoders.get_mut(slot as usize) {
                    if d.pending_len() > 0 {
                        self.counts.pending_fragments_discarded += 1;
                    }
                    d.reset();
                }
                self.threads.remove(ev.tid, &mut self.fds);
                if self.cur.0 == ev.tid {
                    self.cur = (i64::MIN, 0, 0);
                }
                for r in self.recent.iter_mut().filter(|r| r.0 == ev.tid) {
                    *r = (i64::MIN, 0, 0);
                }
            }
            EventKind::Lost { count } => {
                self.counts.lost_events += count;
                self.counts.loss_notices += 1;
                let tid = (ev.tid >= 0).then_some(ev.tid);
                self.spans.mark_incomplete(tid);
                if ev.tid >= 0 {
                    self.threads.ensure(ev.tid, ev.pid, &mut self.fds);
                }
                let num = self.bump();
                self.emit(num, ev, idx, EventClass::Lost(*count), None, -1, consumer);
            }
        }
    }

    /// Ends the input: open spans are reported as never closed (and passed to the
    /// consumer), pending fragments are counted, and the report is built.
    pub fn finish<C: Consumer>(mut self, consumer: &mut C) -> Report {
        let mut never_closed = Vec::new();
        for rec in self.spans.drain() {
            let span = self.finish_record(&rec, SpanEnd::NeverClosed, None);
            consumer.span(&span);
            never_closed.push(span);
        }
        self.counts.pending_fragments_discarded +=
            self.decoders.iter().filter(|d| d.pending_len() > 0).count() as u64;
        Report {
            config: self.config,
            tags: self.tags.rows(&self.fds),
            never_closed,
            spans: std::mem::take(&mut self.retained),
            unattributed: self.unattributed.summary(&self.fds),
            counts: self.counts,
        }
    }

    /// Reserves the next view number.
    fn bump(&mut self) -> u64 {
        self.counts.views += 1;
        self.counts.views
    }

    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn emit<C: Consumer>(
        &self,
        num: u64,
        ev: &Event,
        idx: u64,
        class: EventClass<'_>,
        fd: Option<&FdInfo>,
        fd_num: i64,
        consumer: &mut C,
    ) {
        let view = EventView {
            num,
            input_index: idx,
            event: ev,
            class,
            thread: self.thread(ev.tid),
            fd,
            fd_num,
            spans: OpenSpans {
                store: &self.spans,
                threads: &self.threads,
            },
            fds: &self.fds,
        };
        consumer.event(&view);
    }

    /// Decides whether a syscall is a marker candidate (and fixes the fd state for
    /// `null_dev` writes). `may_carry_marker` is the same decision without the fix,
    /// for the fast path: keep them in step.
    fn classify(&mut self, table: u64, sc: &Syscall) -> Candidate {
        let Some(dir) = sc.kind.io_dir() else {
            return Candidate::No;
        };
        if sc.fd < 0 {
            return Candidate::No;
        }
        let writes = dir == IoDir::Out;
        match self.fds.get(table, sc.fd) {
            Some(info) => match info.marker {
                MarkerState::Tracer => Candidate::Yes { warm: true },
                MarkerState::Undecided if writes => Candidate::Yes { warm: false },
                MarkerState::Undecided => Candidate::No,
                MarkerState::NotTracer => {
                    // The producer saw the null device although the table says
                    // otherwise (an fd change we missed): trust the producer.
                    if sc.null_dev && writes && !info.is_null_device() {
                        self.fds
                            .open(table, sc.fd, FdTarget::File(NULL_DEVICE.into()), false);
                        Candidate::Yes { warm: false }
                    } else {
                        Candidate::No
                    }
                }
            },
            None if sc.null_dev && writes => {
                // F13/F14: unknown fd, but the producer saw the null device.
                self.fds
                    .open(table, sc.fd, FdTarget::File(NULL_DEVICE.into()), false);
                Candidate::Yes { warm: false }
            }
            None => Candidate::No,
        }
    }

    /// The fd table of thread `tid` (created when new), whose slot and table are
    /// remembered for the next event.
    #[inline]
    fn thread_table(&mut self, tid: i64, pid: i64) -> u64 {
        if self.cur.0 != tid {
            self.switch_thread(tid, pid);
        }
        self.cur.2
    }

    /// Makes `tid` the current thread (out of line: consecutive syscalls mostly come
    /// from one thread).
    #[inline(never)]
    fn switch_thread(&mut self, tid: i64, pid: i64) {
        let cur = match self.recent.iter().find(|r| r.0 == tid && tid != i64::MIN) {
            Some(&r) => r,
            None => {
                let slot = self.threads.ensure_slot(tid, pid, &mut self.fds);
                let table = match self.threads.at(slot) {
                    Some(t) => t.fd_table,
                    None => self.threads.ensure(tid, pid, &mut self.fds).fd_table,
                };
                self.recent.rotate_right(1);
                self.recent[0] = (tid, slot, table);
                self.recent[0]
            }
        };
        self.cur = cur;
    }

    /// A live thread by tid (through the remembered slot when it is the current one).
    #[inline(always)]
    pub(super) fn thread(&self, tid: i64) -> Option<&crate::threads::ThreadState> {
        if self.cur.0 == tid {
            self.threads.at(self.cur.1)
        } else {
            self.threads.get(tid)
        }
    }

    fn syscall<C: Consumer>(&mut self, ev: &Event, sc: &Syscall, idx: u64, consumer: &mut C) {
        let table = self.thread_table(ev.tid, ev.pid);
        let candidate = match self.pure_io(ev, sc, idx, table, consumer) {
            IoPath::Done => return,
            // The fast path's lookup found a tracer fd: `classify` would say so again.
            IoPath::TracerFd => Candidate::Yes { warm: true },
            // Not a read or write: never a marker candidate (`classify` would say so).
            IoPath::NotIo => Candidate::No,
            IoPath::Other => self.classify(table, sc),
        };
        if let Candidate::Yes { warm } = candidate {
            if self.marker(ev, sc, idx, table, warm, consumer) {
                return;
            }
        }
        self.plain_syscall(ev, sc, idx, table, consumer);
    }

    fn plain_syscall<C: Consumer>(
        &mut self,
        ev: &Event,
        sc: &Syscall,
        idx: u64,
        table: u64,
        consumer: &mut C,
    ) {
        self.counts.syscalls += 1;
        let (view_fd, closed) = effects::apply(&mut self.threads, &mut self.fds, ev.tid, table, sc);
        let num = self.bump();
        let fd_info = match &closed {
            Some(c) => Some(c),
            None => self.fds.get(table, view_fd),
        };
        let acc = match self.spans.innermost_mut(ev.tid) {
            Some(rec) => &mut rec.io,
            None => &mut self.unattributed,
        };
        attribute(acc, &mut self.counts, &self.fds, table, ev, sc, fd_info);
        self.emit_syscall(num, ev, idx, sc, table, fd_info, view_fd, consumer);
        if let Some(c) = closed {
            self.fds.recycle(c);
        }
    }

    /// Fast path of an I/O syscall that leaves the fd tables alone, on an fd that
    /// cannot carry a marker: one fd lookup serves the marker check and the view.
    /// Returns [`IoPath::Done`] when it handled the syscall, [`IoPath::TracerFd`] for an
    /// I/O syscall on a tracer fd (a warm marker candidate), [`IoPath::NotIo`] for a
    /// syscall that is not I/O, [`IoPath::Other`] (nothing done) otherwise.
    #[inline]
    fn pure_io<C: Consumer>(
        &mut self,
        ev: &Event,
        sc: &Syscall,
        idx: u64,
        table: u64,
        consumer: &mut C,
    ) -> IoPath {
        let Some(dir) = sc.kind.io_dir() else {
            return IoPath::NotIo;
        };
        // Socket tuples may update the fd (effects::apply); fd < 0 is never a marker.
        if sc.fd < 0 || matches!(sc.detail, SyscallDetail::Sock { .. }) {
            return IoPath::Other;
        }
        let info = self.fds.get(table, sc.fd);
        if may_carry_marker(info, sc, dir == IoDir::Out) {
            return match info {
                Some(i) if i.marker == MarkerState::Tracer => IoPath::TracerFd,
                _ => IoPath::Other,
            };
        }
        self.counts.syscalls += 1;
        self.counts.views += 1;
        let num = self.counts.views;
        let acc = match self.spans.innermost_mut(ev.tid) {
            Some(rec) => &mut rec.io,
            None => &mut self.unattributed,
        };
        attribute(acc, &mut self.counts, &self.fds, table, ev, sc, info);
        self.emit_syscall(num, ev, idx, sc, table, info, sc.fd, consumer);
        IoPath::Done
    }

    /// Emits the view of a non-marker syscall.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn emit_syscall<C: Consumer>(
        &self,
        num: u64,
        ev: &Event,
        idx: u64,
        sc: &Syscall,
        table: u64,
        fd_info: Option<&FdInfo>,
        view_fd: i64,
        consumer: &mut C,
    ) {
        if !consumer.wants_quiet_syscall_views()
            && (sc.res <= 0 || crate::event_view::sysdig_io_dir(sc.kind).is_none())
        {
            return;
        }
        let in_fd = match sc.detail {
            SyscallDetail::Sendfile { in_fd } => self.fds.get(table, in_fd),
            _ => None,
        };
        let io_dir = sc.kind.io_dir();
        let class = EventClass::Syscall(SyscallView {
            syscall: sc,
            latency_ns: ev.ts.saturating_sub(sc.enter_ts),
            io_dir,
            io_bytes: io_bytes(io_dir, sc),
            in_fd,
        });
        self.emit(num, ev, idx, class, fd_info, view_fd, consumer);
    }
}

/// What [`Engine::pure_io`] did with a syscall.
enum IoPath {
    /// Handled (a plain I/O syscall).
    Done,
    /// An I/O syscall on a tracer fd: a warm marker candidate, left to the caller.
    TracerFd,
    /// Not an I/O syscall (no marker candidate), left to the caller.
    NotIo,
    /// Anything else, left to the caller.
    Other,
}

/// Whether a read/write on an fd in this state is a marker candidate (sysdig's per-fd
/// state machine, plus the producer's null-device flag; see `Engine::classify`).
#[inline]
fn may_carry_marker(info: Option<&FdInfo>, sc: &Syscall, writes: bool) -> bool {
    match info {
        Some(i) => match i.marker {
            MarkerState::Tracer => true,
            MarkerState::Undecided => writes,
            MarkerState::NotTracer => sc.null_dev && writes && !i.is_null_device(),
        },
        None => sc.null_dev && writes,
    }
}

/// Charges a non-marker syscall (its time, failure and bytes) to `acc`: the innermost
/// open span of its thread, or the unattributed accumulator.
#[inline(always)]
fn attribute(
    acc: &mut IoAcc,
    counts: &mut Counts,
    fds: &FdTables,
    table: u64,
    ev: &Event,
    sc: &Syscall,
    fd_info: Option<&FdInfo>,
) {
    acc.syscall(ev.ts.saturating_sub(sc.enter_ts), sc.res < 0);
    let dir = sc.kind.io_dir();
    let io_bytes = io_bytes(dir, sc);
    if io_bytes == 0 {
        return;
    }
    let io = match dir {
        Some(IoDir::In) => InOut {
            bytes_in: io_bytes,
            bytes_out: 0,
        },
        _ => InOut {
            bytes_in: 0,
            bytes_out: io_bytes,
        },
    };
    // The view fd is the syscall's fd for every I/O syscall.
    charge(acc, fd_info, io);
    counts.io.add(io);
    if let SyscallDetail::Sendfile { in_fd } = sc.detail {
        let io_in = InOut {
            bytes_in: io_bytes,
            bytes_out: 0,
        };
        charge(acc, fds.get(table, in_fd), io_in);
        counts.io.bytes_in += io_bytes;
    }
}

/// [`Syscall::io_bytes`] with the syscall's I/O direction already known.
#[inline(always)]
fn io_bytes(dir: Option<IoDir>, sc: &Syscall) -> u64 {
    if dir.is_some() && sc.res > 0 {
        sc.res as u64
    } else {
        0
    }
}

/// The fd of a syscall event (-1 otherwise).
fn sc_fd(ev: &Event) -> i64 {
    match &ev.kind {
        EventKind::Syscall(sc) => sc.fd,
        _ => -1,
    }
}

/// Adds bytes moved through `fd` to an accumulator.
#[inline(always)]
fn charge(acc: &mut IoAcc, fd: Option<&FdInfo>, io: InOut) {
    match fd {
        Some(info) => {
            let file = matches!(info.target, FdTarget::File(_) | FdTarget::Directory(_))
                .then_some(info.name_id);
            acc.bytes(info.kind, file, info.peer_id, io);
        }
        None => acc.bytes(FdKind::Other, None, None, io),
    }
}
