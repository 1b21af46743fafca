//! The one-pass engine: feed [`Event`]s in time order, get [`EventView`]s (every shown
//! event with its context) and finished [`SpanRecord`]s, then a [`Report`].
//!
//! Per event the engine (1) keeps the thread and fd tables up to date, (2) detects
//! marker writes with sysdig's per-fd state machine (tracers-spec §1, §4, §11; plus
//! [`Syscall::null_dev`], F13/F14), decodes them per thread with
//! [`StreamDecoder`], (3) pairs enters and exits (§5 with C4–C6), and (4) charges every
//! other syscall, its time and its bytes to the innermost open span of its thread.
//! Memory is O(open spans + live fds + distinct keys), never O(events).

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::correlate::{InOut, IoAcc, IoSummary};
use crate::event::{Event, EventKind, FdTarget, IoDir, Syscall, SyscallDetail, SyscallKind};
use crate::event_view::{EventClass, EventView, OpenSpans, SyscallView, TracerView};
use crate::fds::{
    open_flags, resolve_path, FdInfo, FdKind, FdTables, MarkerState, SocketUpdate, NULL_DEVICE,
};
use crate::grammar::{invalid_tracer_tag, Decoded, Direction, StreamDecoder, Tracer};
use crate::spans::{OpenRecord, SpanEnd, SpanRecord, SpanStore, DEFAULT_OPEN_SPAN_CAPACITY};
use crate::tagstats::{TagRow, TagTable};
use crate::threads::ThreadTable;

/// Engine settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineConfig {
    /// Maximum number of open enter records (C4); when full the oldest is evicted.
    pub open_span_capacity: usize,
    /// Per-thread fragment cap in bytes (sysdig: 65536).
    pub fragment_cap: usize,
    /// Keep every finished span in the [`Report`] (memory O(spans)); off by default —
    /// consumers receive finished spans through [`Consumer::span`] either way.
    pub retain_spans: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            open_span_capacity: DEFAULT_OPEN_SPAN_CAPACITY,
            fragment_cap: crate::grammar::DEFAULT_FRAGMENT_CAP,
            retain_spans: false,
        }
    }
}

/// Receives what the engine produces. Closures `FnMut(&EventView)` implement it (and
/// ignore finished spans).
pub trait Consumer {
    /// One processed event (see [`EventView`]).
    fn event(&mut self, view: &EventView<'_>);
    /// A finished span: closed by its exit (called right after the exit's view),
    /// evicted (C4), or never closed (from [`Engine::finish`]).
    fn span(&mut self, _span: &SpanRecord) {}
}

impl<F: FnMut(&EventView<'_>)> Consumer for F {
    fn event(&mut self, view: &EventView<'_>) {
        self(view)
    }
}

/// A consumer that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoConsumer;

impl Consumer for NoConsumer {
    fn event(&mut self, _view: &EventView<'_>) {}
}

/// Event and span counters (nothing is dropped silently).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Input events processed.
    pub events: u64,
    /// Views emitted.
    pub views: u64,
    /// Non-marker syscalls.
    pub syscalls: u64,
    /// Valid enter markers.
    pub enters: u64,
    /// Valid exit markers.
    pub exits: u64,
    /// Invalid-tracer events (failed parse on a tracer fd).
    pub invalid_markers: u64,
    /// Writes kept as pending fragments (hidden).
    pub hidden_writes: u64,
    /// Marker candidates on undecided fds that did not parse (fd became non-tracer;
    /// the write stays a plain write).
    pub rejected_candidates: u64,
    /// Spans closed by their exit.
    pub closed_spans: u64,
    /// Exits with no open record.
    pub unmatched_exits: u64,
    /// Spans still open at the end.
    pub never_closed: u64,
    /// Open records evicted because the store was full (C4).
    pub evicted: u64,
    /// Fragments discarded (C3 or fragment cap).
    pub dropped_fragments: u64,
    /// Fragments still pending at the end of the input or at thread exit.
    pub pending_fragments_discarded: u64,
    /// Events the producer reported lost.
    pub lost_events: u64,
    /// Number of loss notices.
    pub loss_notices: u64,
    /// Highest number of simultaneously open spans.
    pub max_open_spans: u64,
    /// All I/O bytes seen (marker writes excluded).
    pub io: InOut,
}

/// The engine's final state, serializable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Settings used.
    pub config: EngineConfig,
    /// Counters.
    pub counts: Counts,
    /// Per-tag-path statistics, first-seen order.
    pub tags: Vec<TagRow>,
    /// Spans still open at the end (also counted in `counts.never_closed`).
    pub never_closed: Vec<SpanRecord>,
    /// Closed and evicted spans in finishing order, when
    /// [`EngineConfig::retain_spans`] is on (empty otherwise).
    pub spans: Vec<SpanRecord>,
    /// Syscalls and bytes that happened outside every span.
    pub unattributed: IoSummary,
}

/// The span reconstruction and correlation engine.
#[derive(Debug)]
pub struct Engine {
    config: EngineConfig,
    threads: ThreadTable,
    fds: FdTables,
    spans: SpanStore,
    tags: TagTable,
    decoders: FxHashMap<i64, StreamDecoder>,
    counts: Counts,
    next_input: u64,
    retained: Vec<SpanRecord>,
    unattributed: IoAcc,
}

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
            decoders: FxHashMap::default(),
            counts: Counts::default(),
            next_input: 0,
            retained: Vec::new(),
            unattributed: IoAcc::default(),
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
        let idx = self.next_input;
        self.next_input += 1;
        self.counts.events += 1;
        match &ev.kind {
            EventKind::Syscall(sc) => self.syscall(ev, sc, idx, consumer),
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
                self.threads.ensure(ev.tid, ev.pid, &mut self.fds);
                let num = self.bump();
                self.emit(num, ev, idx, EventClass::ThreadExit, None, -1, consumer);
                if let Some(d) = self.decoders.remove(&ev.tid) {
                    if d.pending_len() > 0 {
                        self.counts.pending_fragments_discarded += 1;
                    }
                }
                self.threads.remove(ev.tid, &mut self.fds);
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
        self.counts.pending_fragments_discarded += self
            .decoders
            .values()
            .filter(|d| d.pending_len() > 0)
            .count() as u64;
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
            thread: self.threads.get(ev.tid),
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
    /// `null_dev` writes).
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

    fn syscall<C: Consumer>(&mut self, ev: &Event, sc: &Syscall, idx: u64, consumer: &mut C) {
        let table = self.threads.ensure(ev.tid, ev.pid, &mut self.fds).fd_table;
        if let Candidate::Yes { warm } = self.classify(table, sc) {
            if self.marker(ev, sc, idx, table, warm, consumer) {
                return;
            }
        }
        self.plain_syscall(ev, sc, idx, table, consumer);
    }

    /// Handles a marker candidate; returns false when the write stays a plain write.
    fn marker<C: Consumer>(
        &mut self,
        ev: &Event,
        sc: &Syscall,
        idx: u64,
        table: u64,
        warm: bool,
        consumer: &mut C,
    ) -> bool {
        let data: &[u8] = sc.data.as_deref().unwrap_or(&[]);
        let (pid, ptid) = match self.threads.get_mut(ev.tid) {
            Some(t) => {
                t.has_tracer_state = true;
                (t.pid, t.ptid)
            }
            None => (ev.pid, -1),
        };
        let cap = self.config.fragment_cap;
        let dec = self
            .decoders
            .entry(ev.tid)
            .or_insert_with(|| StreamDecoder::with_cap(cap));
        let before = dec.dropped_fragments();
        let decoded = dec.feed(data);
        self.counts.dropped_fragments += dec.dropped_fragments() - before;
        match decoded {
            Decoded::Tracers(tracers) => {
                if let Some(info) = self.fds.get_mut(table, sc.fd) {
                    info.marker = MarkerState::Tracer;
                }
                let n = tracers.len() as u32;
                for (i, t) in tracers.into_iter().enumerate() {
                    self.tracer(ev, idx, t, pid, ptid, (i as u32, n), table, consumer);
                }
                true
            }
            Decoded::Pending => {
                self.counts.hidden_writes += 1;
                let num = self.bump();
                let info = self.fds.get(table, sc.fd);
                let class = EventClass::HiddenWrite(sc);
                self.emit(num, ev, idx, class, info, sc.fd, consumer);
                true
            }
            Decoded::Failed(_) if warm => {
                self.counts.invalid_markers += 1;
                let num = self.bump();
                let tags = vec![invalid_tracer_tag(data)];
                let class = EventClass::Tracer(TracerView {
                    dir: Direction::Enter,
                    id: 0,
                    tags: &tags,
                    args: &[],
                    invalid: true,
                    record: None,
                    span: None,
                    duration_ns: None,
                    index_in_write: 0,
                    markers_in_write: 1,
                });
                let info = self.fds.get(table, sc.fd);
                self.emit(num, ev, idx, class, info, sc.fd, consumer);
                true
            }
            Decoded::Failed(_) => {
                self.counts.rejected_candidates += 1;
                if let Some(info) = self.fds.get_mut(table, sc.fd) {
                    info.marker = MarkerState::NotTracer;
                }
                false
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn tracer<C: Consumer>(
        &mut self,
        ev: &Event,
        idx: u64,
        t: Tracer,
        pid: i64,
        ptid: i64,
        (index_in_write, markers_in_write): (u32, u32),
        table: u64,
        consumer: &mut C,
    ) {
        let id = t.id.resolve(ev.tid, pid, ptid);
        let path = self.tags.intern(&t.tags);
        match t.dir {
            Direction::Enter => {
                self.counts.enters += 1;
                self.tags.stats_mut(path).enters += 1;
                let parent = match t.tags.len() {
                    0 => None,
                    n => self
                        .tags
                        .get(&t.tags[..n - 1])
                        .and_then(|pp| self.spans.most_recent(id, pp)),
                };
                let (parent, parent_enter_ts, depth) = match parent {
                    Some(p) => (Some(p.seq), Some(p.enter_ts), p.depth + 1),
                    None => (None, None, 0),
                };
                let rec = OpenRecord {
                    seq: 0,
                    id,
                    path,
                    tags: t.tags,
                    args: t.args,
                    enter_ts: ev.ts,
                    writer_tid: ev.tid,
                    writer_pid: pid,
                    enter_event: idx,
                    parent,
                    parent_enter_ts,
                    depth,
                    io: IoAcc::default(),
                    child_bytes: InOut::default(),
                    child_ns: 0,
                    children: 0,
                    incomplete: false,
                };
                let (seq, evicted) = self.spans.open(rec);
                self.counts.max_open_spans =
                    self.counts.max_open_spans.max(self.spans.len() as u64);
                if let Some(old) = evicted {
                    let span = self.finish_record(&old, SpanEnd::Evicted, None);
                    consumer.span(&span);
                    self.keep(span);
                }
                let num = self.bump();
                let rec = self.spans.get(seq).expect("just opened");
                let class = EventClass::Tracer(TracerView {
                    dir: Direction::Enter,
                    id,
                    tags: &rec.tags,
                    args: &rec.args,
                    invalid: false,
                    record: Some(rec),
                    span: None,
                    duration_ns: None,
                    index_in_write,
                    markers_in_write,
                });
                self.emit(
                    num,
                    ev,
                    idx,
                    class,
                    self.fds.get(table, sc_fd(ev)),
                    sc_fd(ev),
                    consumer,
                );
            }
            Direction::Exit => {
                self.counts.exits += 1;
                match self.spans.close(ev.tid, id, path) {
                    Some(rec) => {
                        let duration = ev.ts.saturating_sub(rec.enter_ts);
                        let num = self.bump();
                        let span = self.finish_record(
                            &rec,
                            SpanEnd::Closed,
                            Some(ExitInfo {
                                ts: ev.ts,
                                tid: ev.tid,
                                input_index: idx,
                                args: t.args,
                            }),
                        );
                        let class = EventClass::Tracer(TracerView {
                            dir: Direction::Exit,
                            id,
                            tags: &span.tags,
                            args: &span.exit_args,
                            invalid: false,
                            record: Some(&rec),
                            span: Some(&span),
                            duration_ns: Some(duration),
                            index_in_write,
                            markers_in_write,
                        });
                        self.emit(
                            num,
                            ev,
                            idx,
                            class,
                            self.fds.get(table, sc_fd(ev)),
                            sc_fd(ev),
                            consumer,
                        );
                        consumer.span(&span);
                        self.keep(span);
                    }
                    None => {
                        self.counts.unmatched_exits += 1;
                        self.tags.stats_mut(path).unmatched_exits += 1;
                        let num = self.bump();
                        let class = EventClass::Tracer(TracerView {
                            dir: Direction::Exit,
                            id,
                            tags: &t.tags,
                            args: &t.args,
                            invalid: false,
                            record: None,
                            span: None,
                            duration_ns: None,
                            index_in_write,
                            markers_in_write,
                        });
                        self.emit(
                            num,
                            ev,
                            idx,
                            class,
                            self.fds.get(table, sc_fd(ev)),
                            sc_fd(ev),
                            consumer,
                        );
                    }
                }
            }
        }
    }

    fn keep(&mut self, span: SpanRecord) {
        if self.config.retain_spans {
            self.retained.push(span);
        }
    }

    /// Turns a removed open record into a finished span, updating counters, tag stats
    /// and the parent. `exit` = (ts, tid, input index, exit args) for closed spans.
    fn finish_record(
        &mut self,
        rec: &OpenRecord,
        end: SpanEnd,
        exit: Option<ExitInfo>,
    ) -> SpanRecord {
        let own = rec.io.totals();
        let inclusive = InOut {
            bytes_in: own.bytes_in + rec.child_bytes.bytes_in,
            bytes_out: own.bytes_out + rec.child_bytes.bytes_out,
        };
        let stats = self.tags.stats_mut(rec.path);
        stats.io.merge(&rec.io);
        let (exit_ts, exit_tid, exit_event, exit_args, duration) = match exit {
            Some(ExitInfo {
                ts,
                tid,
                input_index: ev_idx,
                args,
            }) => {
                let d = ts.saturating_sub(rec.enter_ts);
                (Some(ts), Some(tid), Some(ev_idx), args, Some(d))
            }
            None => (None, None, None, Vec::new(), None),
        };
        match end {
            SpanEnd::Closed => {
                let d = duration.unwrap_or(0);
                stats.record(d);
                self.counts.closed_spans += 1;
                if let Some(p) = rec.parent.and_then(|p| self.spans.get_mut(p)) {
                    p.child_ns += d;
                    p.children += 1;
                    p.child_bytes.bytes_in += inclusive.bytes_in;
                    p.child_bytes.bytes_out += inclusive.bytes_out;
                }
            }
            SpanEnd::NeverClosed => {
                stats.never_closed += 1;
                self.counts.never_closed += 1;
            }
            SpanEnd::Evicted => {
                stats.evicted += 1;
                self.counts.evicted += 1;
            }
        }
        SpanRecord {
            seq: rec.seq,
            id: rec.id,
            io: rec.io.summary(&self.fds),
            tags: rec.tags.clone(),
            enter_args: rec.args.clone(),
            exit_args,
            enter_ts: rec.enter_ts,
            exit_ts,
            duration_ns: duration,
            self_ns: duration.map(|d| d.saturating_sub(rec.child_ns)),
            writer_tid: rec.writer_tid,
            writer_pid: rec.writer_pid,
            exit_tid,
            enter_event: rec.enter_event,
            exit_event,
            parent: rec.parent,
            parent_enter_ts: rec.parent_enter_ts,
            depth: rec.depth,
            children: rec.children,
            end,
            incomplete: rec.incomplete,
            inclusive,
            path: rec.path,
        }
    }

    /// Applies fd-table effects of a syscall. Returns the fd the view should show (the
    /// new fd for creators) and, for close, the removed entry.
    fn fd_effects(&mut self, tid: i64, table: u64, sc: &Syscall) -> (i64, Option<FdInfo>) {
        use SyscallKind::*;
        let res = sc.res;
        match (sc.kind, &sc.detail) {
            (Open | Openat | Openat2 | Creat, d) if res >= 0 => {
                let target = match d {
                    SyscallDetail::Open {
                        path, dirfd, flags, ..
                    } => {
                        let base = if path.starts_with('/') {
                            String::new()
                        } else {
                            match dirfd {
                                Some(dfd) if *dfd >= 0 => self
                                    .fds
                                    .get(table, *dfd)
                                    .and_then(|i| i.path())
                                    .unwrap_or("")
                                    .to_string(),
                                _ => self
                                    .threads
                                    .get(tid)
                                    .map(|t| t.cwd.clone())
                                    .unwrap_or_default(),
                            }
                        };
                        let full = resolve_path(&base, path);
                        let (dir, cloexec) = open_flags(*flags);
                        let t = if dir {
                            FdTarget::Directory(full)
                        } else {
                            FdTarget::File(full)
                        };
                        (t, cloexec)
                    }
                    _ => (FdTarget::Unknown, false),
                };
                self.fds.open(table, res, target.0, target.1);
                (res, None)
            }
            (Close, _) if res >= 0 => (sc.fd, self.fds.close(table, sc.fd)),
            (Dup | Dup2 | Dup3 | FcntlDup, d) if res >= 0 => {
                let old = match d {
                    SyscallDetail::Dup { oldfd } => *oldfd,
                    _ => sc.fd,
                };
                if old != res {
                    self.fds.dup(table, old, res);
                }
                (res, None)
            }
            (
                Socket,
                SyscallDetail::Socket {
                    domain, sock_type, ..
                },
            ) if res >= 0 => {
                self.fds.open_socket(table, res, *domain, *sock_type);
                (res, None)
            }
            (
                Accept | Accept4,
                SyscallDetail::Sock {
                    proto,
                    local,
                    remote,
                    unix_path,
                },
            ) if res >= 0 => {
                self.fds.close(table, res);
                self.fds.update_socket(
                    table,
                    res,
                    SocketUpdate {
                        proto: Some(*proto),
                        local: *local,
                        remote: *remote,
                        unix_path: unix_path.as_deref(),
                        server: Some(true),
                    },
                );
                (res, None)
            }
            (
                Connect,
                SyscallDetail::Sock {
                    proto,
                    local,
                    remote,
                    unix_path,
                },
            ) if res >= 0 || res == -115 => {
                self.fds.update_socket(
                    table,
                    sc.fd,
                    SocketUpdate {
                        proto: Some(*proto),
                        local: *local,
                        remote: *remote,
                        unix_path: unix_path.as_deref(),
                        server: None,
                    },
                );
                (sc.fd, None)
            }
            (
                Bind | Sendto | Recvfrom | Sendmsg | Recvmsg,
                SyscallDetail::Sock {
                    proto,
                    local,
                    remote,
                    unix_path,
                },
            ) if res >= 0 && sc.fd >= 0 => {
                let known = self.fds.get(table, sc.fd);
                let needs = match known.map(|i| &i.target) {
                    None | Some(FdTarget::Unknown) => true,
                    Some(FdTarget::Inet {
                        local: l,
                        remote: r,
                        ..
                    }) => (l.is_none() && local.is_some()) || (r.is_none() && remote.is_some()),
                    Some(FdTarget::Unix(p)) => p.is_empty() && unix_path.is_some(),
                    _ => false,
                };
                if needs {
                    self.fds.update_socket(
                        table,
                        sc.fd,
                        SocketUpdate {
                            proto: Some(*proto),
                            local: *local,
                            remote: *remote,
                            unix_path: unix_path.as_deref(),
                            server: None,
                        },
                    );
                }
                (sc.fd, None)
            }
            (Listen, _) if res >= 0 => {
                if let Some(FdTarget::Inet { .. }) = self.fds.get(table, sc.fd).map(|i| &i.target) {
                    self.fds.update_socket(
                        table,
                        sc.fd,
                        SocketUpdate {
                            proto: None,
                            local: None,
                            remote: None,
                            unix_path: None,
                            server: Some(true),
                        },
                    );
                }
                (sc.fd, None)
            }
            (Pipe, SyscallDetail::Pipe { read_fd, write_fd }) if res >= 0 => {
                self.fds.open(table, *read_fd, FdTarget::Pipe, false);
                self.fds.open(table, *write_fd, FdTarget::Pipe, false);
                (*read_fd, None)
            }
            (Clone | Clone3 | Fork | Vfork, SyscallDetail::Clone { flags, child_pid })
                if res > 0 =>
            {
                self.threads
                    .clone_child(tid, res, *child_pid, *flags, &mut self.fds);
                (sc.fd, None)
            }
            (Execve, SyscallDetail::Execve { filename, argv }) if res == 0 => {
                self.threads.exec(tid, filename, argv, &mut self.fds);
                (sc.fd, None)
            }
            _ => (sc.fd, None),
        }
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
        let latency = ev.ts.saturating_sub(sc.enter_ts);
        let (view_fd, closed) = self.fd_effects(ev.tid, table, sc);
        let io_dir = sc.kind.io_dir();
        let io_bytes = sc.io_bytes();
        let num = self.bump();
        let fd_info = match &closed {
            Some(c) => Some(c),
            None => self.fds.get(table, view_fd),
        };
        // Attribution: innermost open span of the thread, else "unattributed".
        {
            let acc = match self.spans.innermost_mut(ev.tid) {
                Some(rec) => &mut rec.io,
                None => &mut self.unattributed,
            };
            acc.syscall(latency, sc.res < 0);
            if io_bytes > 0 {
                let io = match io_dir {
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
                self.counts.io.bytes_in += io.bytes_in;
                self.counts.io.bytes_out += io.bytes_out;
                if let SyscallDetail::Sendfile { in_fd } = sc.detail {
                    let io_in = InOut {
                        bytes_in: io_bytes,
                        bytes_out: 0,
                    };
                    charge(acc, self.fds.get(table, in_fd), io_in);
                    self.counts.io.bytes_in += io_bytes;
                }
            }
        }
        let in_fd = match sc.detail {
            SyscallDetail::Sendfile { in_fd } => self.fds.get(table, in_fd),
            _ => None,
        };
        let class = EventClass::Syscall(SyscallView {
            syscall: sc,
            latency_ns: latency,
            io_dir,
            io_bytes,
            in_fd,
        });
        self.emit(num, ev, idx, class, fd_info, view_fd, consumer);
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
#[inline]
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
