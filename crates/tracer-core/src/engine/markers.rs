//! Marker handling: candidate writes through the thread's [`StreamDecoder`], enter
//! records, exit matching (C5), parent lookup by exact tag prefix (C6), eviction (C4),
//! and turning finished records into [`SpanRecord`]s with their statistics.
//!
//! [`StreamDecoder`]: crate::grammar::StreamDecoder
//! [`SpanRecord`]: crate::spans::SpanRecord

use std::sync::Arc;

use super::marker_cache::{hash_of, Decoded, MAX_CACHED_WRITE};
use super::{sc_fd, Consumer, Counts, Engine, ExitInfo};
use crate::correlate::InOut;
use crate::event::{Event, Syscall};
use crate::event_view::{EventClass, TracerView};
use crate::fds::MarkerState;
use crate::grammar::{
    fill_pairs, invalid_tracer_tag, Direction, MarkerRef, Outcome, StreamDecoder,
};
use crate::tagstats::TagTable;

use crate::spans::{OpenRecord, SpanEnd, SpanRecord};

impl Engine {
    /// Handles a marker candidate; returns false when the write stays a plain write.
    /// Inlined into `syscall`: a call of its own (frame set up per marker write) costs
    /// more than its code adds to the path of other syscalls.
    #[inline(always)]
    pub(super) fn marker<C: Consumer>(
        &mut self,
        ev: &Event,
        sc: &Syscall,
        idx: u64,
        table: u64,
        warm: bool,
        consumer: &mut C,
    ) -> bool {
        let data: &[u8] = sc.data.as_deref().unwrap_or(&[]);
        // `syscall` made `ev.tid` the current thread.
        debug_assert_eq!(self.cur.0, ev.tid);
        let t = self.threads.at_mut(self.cur.1);
        let (pid, ptid) = match t {
            Some(t) => {
                t.has_tracer_state = true;
                (t.pid, t.ptid)
            }
            None => (ev.pid, -1),
        };
        let slot = self.cur.1 as usize;
        if slot >= self.decoders.len() {
            let cap = self.config.fragment_cap;
            self.decoders
                .resize_with(slot + 1, || StreamDecoder::with_cap(cap));
        }
        // The write's cache hash, computed once for the lookup and the offer.
        let mut hash = 0;
        if self.decoders[slot].pending_len() == 0 && data.len() <= MAX_CACHED_WRITE {
            // Decoded alone: a write seen before is taken from the cache.
            hash = hash_of(data);
            if let Some(mut cache) = self.cache.take() {
                if let Some(d) = cache.get_mut_hashed(data, hash) {
                    d.refresh(&self.tags, &mut self.key_buf);
                    if !warm {
                        self.set_marker_state(table, sc.fd, MarkerState::Tracer);
                    }
                    self.tracers(ev, idx, d, (pid, ptid), table, consumer);
                    self.cache = Some(cache);
                    return true;
                }
                // A marker whose head was seen before: only its arguments are scanned.
                if cache.decode_by_head_scratch(data, &self.tags, &mut self.key_buf) {
                    if !warm {
                        self.set_marker_state(table, sc.fd, MarkerState::Tracer);
                    }
                    cache.offer_scratch(data, hash);
                    self.tracers(ev, idx, &cache.scratch, (pid, ptid), table, consumer);
                    self.cache = Some(cache);
                    return true;
                }
                self.cache = Some(cache);
            }
        }
        self.marker_decode(ev, sc, idx, table, warm, (pid, ptid), hash, consumer)
    }

    /// [`Engine::marker`] for a write the marker cache does not know: decoded by the
    /// thread's stream decoder (out of line: rare once the cache is warm). `hash` is
    /// the write's cache hash (when it was decoded alone).
    #[allow(clippy::too_many_arguments)]
    #[inline(never)]
    fn marker_decode<C: Consumer>(
        &mut self,
        ev: &Event,
        sc: &Syscall,
        idx: u64,
        table: u64,
        warm: bool,
        (pid, ptid): (i64, i64),
        hash: u64,
        consumer: &mut C,
    ) -> bool {
        let data: &[u8] = sc.data.as_deref().unwrap_or(&[]);
        let slot = self.cur.1 as usize;
        let dec = &mut self.decoders[slot];
        let alone = dec.pending_len() == 0;
        let before = dec.dropped_fragments();
        let outcome = dec.feed_into(data, &mut self.decoded.buf);
        self.counts.dropped_fragments += dec.dropped_fragments() - before;
        match outcome {
            Outcome::Tracers => {
                if !warm {
                    self.set_marker_state(table, sc.fd, MarkerState::Tracer);
                }
                let mut d = std::mem::take(&mut self.decoded);
                d.resolve(&mut self.tags, &mut self.key_buf, &mut self.path_memo);
                if alone && data.len() <= MAX_CACHED_WRITE {
                    if let Some(c) = self.cache.as_mut() {
                        c.offer_hashed(data, hash, &d);
                        c.offer_head(data, &d);
                    }
                }
                self.tracers(ev, idx, &d, (pid, ptid), table, consumer);
                self.decoded = d;
                true
            }
            Outcome::Pending => {
                self.counts.hidden_writes += 1;
                let num = self.bump();
                let info = self.fds.get(table, sc.fd);
                let class = EventClass::HiddenWrite(sc);
                self.emit(num, ev, idx, class, info, sc.fd, consumer);
                true
            }
            Outcome::Failed(_) if warm => {
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
            Outcome::Failed(_) => {
                self.counts.rejected_candidates += 1;
                self.set_marker_state(table, sc.fd, MarkerState::NotTracer);
                false
            }
        }
    }

    fn set_marker_state(&mut self, table: u64, fd: i64, state: MarkerState) {
        if let Some(info) = self.fds.get_mut(table, fd) {
            info.marker = state;
        }
    }

    /// Handles the decoded markers of one write, in order (inlined into `marker`: no
    /// call per write).
    #[inline(always)]
    fn tracers<C: Consumer>(
        &mut self,
        ev: &Event,
        idx: u64,
        d: &Decoded,
        writer: (i64, i64),
        table: u64,
        consumer: &mut C,
    ) {
        for i in 0..d.paths.len() {
            self.tracer(ev, idx, d, i, writer, table, consumer);
        }
    }

    /// Handles marker `i` of the decoded write `d`, written by `(pid, ptid)`.
    #[allow(clippy::too_many_arguments)]
    fn tracer<C: Consumer>(
        &mut self,
        ev: &Event,
        idx: u64,
        d: &Decoded,
        i: usize,
        (pid, ptid): (i64, i64),
        table: u64,
        consumer: &mut C,
    ) {
        let (buf, (path, parent_path)) = (&d.buf, d.paths[i]);
        let m: &MarkerRef = buf.marker_ref(i);
        let (index_in_write, markers_in_write) = (i as u32, buf.len() as u32);
        let id = m.id.resolve(ev.tid, pid, ptid);
        match m.dir {
            Direction::Enter => {
                self.counts.enters += 1;
                self.tags.stats_mut(path).enters += 1;
                let parent = parent_path.and_then(|pp| self.spans.most_recent_near(id, pp, ev.tid));
                let (parent, parent_enter_ts, depth) = match parent {
                    Some(p) => (Some(p.seq), Some(p.enter_ts), p.depth + 1),
                    None => (None, None, 0),
                };
                let evicted = self.spans.evict_if_full();
                if let Some(old) = evicted {
                    self.evicted(old, consumer);
                }
                let tags = self.tags.shared_tags(path);
                let byte_pool = &mut self.byte_pool;
                let (_, slot) = self.spans.open_with(path, |rec| {
                    // Every field is set (the slot holds an old record): destructured
                    // without `..` so a new field cannot be forgotten.
                    let OpenRecord {
                        seq: _,
                        id: r_id,
                        path: r_path,
                        tags: r_tags,
                        args: r_args,
                        enter_ts,
                        writer_tid,
                        writer_pid,
                        enter_event,
                        parent: r_parent,
                        parent_enter_ts: r_parent_ts,
                        depth: r_depth,
                        io,
                        child_bytes,
                        child_ns,
                        children,
                        incomplete,
                    } = rec;
                    *r_id = id;
                    *r_path = path;
                    // The slot's old record often had the same path: no reference
                    // count traffic then.
                    if !Arc::ptr_eq(r_tags, tags) {
                        *r_tags = Arc::clone(tags);
                    }
                    fill_pairs(r_args, buf.args(m), byte_pool);
                    *enter_ts = ev.ts;
                    *writer_tid = ev.tid;
                    *writer_pid = pid;
                    *enter_event = idx;
                    *r_parent = parent;
                    *r_parent_ts = parent_enter_ts;
                    *r_depth = depth;
                    io.clear();
                    *child_bytes = InOut::default();
                    *child_ns = 0;
                    *children = 0;
                    *incomplete = false;
                });
                self.counts.max_open_spans =
                    self.counts.max_open_spans.max(self.spans.len() as u64);
                let num = self.bump();
                if !consumer.wants_tracer_views() {
                    return;
                }
                let rec = self.spans.slot(slot);
                let view = TracerView {
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
                };
                self.emit_tracer(num, ev, idx, table, view, consumer);
            }
            Direction::Exit => {
                self.counts.exits += 1;
                match self.spans.close_detached(ev.tid, id, path) {
                    Some(slot) if !self.wants_spans(consumer) => {
                        let duration = self.account_slot(slot, SpanEnd::Closed, Some(ev.ts));
                        let num = self.bump();
                        if !consumer.wants_tracer_views() {
                            self.spans.release(slot);
                            return;
                        }
                        fill_pairs(&mut self.exit_args, buf.args(m), &mut self.byte_pool);
                        let rec = self.spans.slot(slot);
                        let view = TracerView {
                            dir: Direction::Exit,
                            id,
                            tags: &rec.tags,
                            args: &self.exit_args,
                            invalid: false,
                            record: Some(rec),
                            span: None,
                            duration_ns: duration,
                            index_in_write,
                            markers_in_write,
                        };
                        self.emit_tracer(num, ev, idx, table, view, consumer);
                        self.spans.release(slot);
                    }
                    Some(slot) => {
                        let rec = self.spans.take_detached(slot).expect("detached record");
                        let t = buf.to_tracer(m);
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
                                tags: t.tags,
                            }),
                        );
                        let view = TracerView {
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
                        };
                        if consumer.wants_tracer_views() {
                            self.emit_tracer(num, ev, idx, table, view, consumer);
                        }
                        consumer.span(&span);
                        self.keep(span);
                    }
                    None => {
                        self.counts.unmatched_exits += 1;
                        self.tags.stats_mut(path).unmatched_exits += 1;
                        let num = self.bump();
                        if !consumer.wants_tracer_views() {
                            return;
                        }
                        fill_pairs(&mut self.exit_args, buf.args(m), &mut self.byte_pool);
                        let view = TracerView {
                            dir: Direction::Exit,
                            id,
                            tags: self.tags.tags(path),
                            args: &self.exit_args,
                            invalid: false,
                            record: None,
                            span: None,
                            duration_ns: None,
                            index_in_write,
                            markers_in_write,
                        };
                        self.emit_tracer(num, ev, idx, table, view, consumer);
                    }
                }
            }
        }
    }

    /// Accounts a record evicted from the full store (C4).
    #[cold]
    fn evicted<C: Consumer>(&mut self, old: OpenRecord, consumer: &mut C) {
        if self.wants_spans(consumer) {
            let span = self.finish_record(&old, SpanEnd::Evicted, None);
            consumer.span(&span);
            self.keep(span);
        } else {
            self.account(&old, SpanEnd::Evicted, None);
        }
    }

    pub(super) fn keep(&mut self, span: SpanRecord) {
        if self.config.retain_spans {
            self.retained.push(span);
        }
    }

    /// True when finished spans must be built: the consumer wants them or the report
    /// retains them.
    #[inline]
    pub(super) fn wants_spans<C: Consumer>(&self, consumer: &C) -> bool {
        self.config.retain_spans || consumer.wants_spans()
    }

    /// The bookkeeping of a record leaving the store (counters, tag stats, parent),
    /// without building a [`SpanRecord`]. `exit_ts` is the exit's timestamp for closed
    /// spans. Returns the inclusive bytes and the duration (closed spans).
    pub(super) fn account(
        &mut self,
        rec: &OpenRecord,
        end: SpanEnd,
        exit_ts: Option<u64>,
    ) -> (InOut, Option<u64>) {
        let duration = tally(&mut self.tags, &mut self.counts, rec, end, exit_ts);
        let r = (inclusive(rec), duration);
        self.credit_parent(rec.parent, rec.writer_tid, end, r);
        r
    }

    /// [`Engine::account`] for a record detached in its store slot; returns the
    /// duration (closed spans). Its inclusive bytes are added up only when a parent
    /// takes them.
    #[inline]
    fn account_slot(&mut self, slot: u32, end: SpanEnd, exit_ts: Option<u64>) -> Option<u64> {
        let rec = self.spans.slot(slot);
        let duration = tally(&mut self.tags, &mut self.counts, rec, end, exit_ts);
        if end == SpanEnd::Closed && rec.parent.is_some() {
            let (parent, tid) = (rec.parent, rec.writer_tid);
            let r = (inclusive(rec), duration);
            self.credit_parent(parent, tid, end, r);
        }
        duration
    }

    /// A closed span's duration and bytes go to its parent, when still open (`tid`:
    /// the span's writer, whose innermost open span the parent mostly is).
    #[inline]
    fn credit_parent(
        &mut self,
        parent: Option<u64>,
        tid: i64,
        end: SpanEnd,
        (bytes, d): (InOut, Option<u64>),
    ) {
        if end != SpanEnd::Closed {
            return;
        }
        if let Some(p) = parent.and_then(|p| self.spans.get_mut_near(p, tid)) {
            p.child_ns += d.unwrap_or(0);
            p.children += 1;
            p.child_bytes.add(bytes);
        }
    }

    /// Turns a removed open record into a finished span, updating counters, tag stats
    /// and the parent ([`Engine::account`]). `exit` is set for closed spans.
    pub(super) fn finish_record(
        &mut self,
        rec: &OpenRecord,
        end: SpanEnd,
        exit: Option<ExitInfo>,
    ) -> SpanRecord {
        let (inclusive, duration) = self.account(rec, end, exit.as_ref().map(|e| e.ts));
        let (exit_ts, exit_tid, exit_event, exit_args, tags) = match exit {
            Some(ExitInfo {
                ts,
                tid,
                input_index: ev_idx,
                args,
                tags,
            }) => {
                debug_assert_eq!(tags[..], rec.tags[..], "exit matched by interned tag path");
                (Some(ts), Some(tid), Some(ev_idx), args, tags)
            }
            None => (None, None, None, Vec::new(), rec.tags.to_vec()),
        };
        SpanRecord {
            seq: rec.seq,
            id: rec.id,
            io: rec.io.summary(&self.fds),
            tags,
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

    /// Emits a tracer event for `ev`'s marker fd, as seen in fd table `table`.
    fn emit_tracer<C: Consumer>(
        &self,
        num: u64,
        ev: &Event,
        idx: u64,
        table: u64,
        view: TracerView<'_>,
        consumer: &mut C,
    ) {
        let fd = sc_fd(ev);
        let info = self.fds.get(table, fd);
        self.emit(num, ev, idx, EventClass::Tracer(view), info, fd, consumer);
    }
}

/// A record's bytes plus those of its finished descendants.
#[inline]
fn inclusive(rec: &OpenRecord) -> InOut {
    let mut b = rec.io.totals();
    b.add(rec.child_bytes);
    b
}

/// Counters and tag statistics of a record leaving the store; returns its (closed)
/// duration.
#[inline]
fn tally(
    tags: &mut TagTable,
    counts: &mut Counts,
    rec: &OpenRecord,
    end: SpanEnd,
    exit_ts: Option<u64>,
) -> Option<u64> {
    let duration = exit_ts.map(|ts| ts.saturating_sub(rec.enter_ts));
    let stats = tags.stats_mut(rec.path);
    stats.io.merge(&rec.io);
    match end {
        SpanEnd::Closed => {
            stats.record(duration.unwrap_or(0));
            counts.closed_spans += 1;
        }
        SpanEnd::NeverClosed => {
            stats.never_closed += 1;
            counts.never_closed += 1;
        }
        SpanEnd::Evicted => {
            stats.evicted += 1;
            counts.evicted += 1;
        }
    }
    duration
}
