//! Marker handling: candidate writes through the thread's [`StreamDecoder`], enter
//! records, exit matching (C5), parent lookup by exact tag prefix (C6), eviction (C4),
//! and turning finished records into [`SpanRecord`]s with their statistics.
//!
//! [`StreamDecoder`]: crate::grammar::StreamDecoder
//! [`SpanRecord`]: crate::spans::SpanRecord

use super::{sc_fd, Consumer, Engine, ExitInfo};
use crate::correlate::{InOut, IoAcc};
use crate::event::{Event, Syscall};
use crate::event_view::{EventClass, TracerView};
use crate::fds::MarkerState;
use crate::grammar::{invalid_tracer_tag, Decoded, Direction, StreamDecoder, Tracer};
use crate::spans::{OpenRecord, SpanEnd, SpanRecord};

impl Engine {
    /// Handles a marker candidate; returns false when the write stays a plain write.
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
                        self.emit_tracer(num, ev, idx, table, view, consumer);
                        consumer.span(&span);
                        self.keep(span);
                    }
                    None => {
                        self.counts.unmatched_exits += 1;
                        self.tags.stats_mut(path).unmatched_exits += 1;
                        let num = self.bump();
                        let view = TracerView {
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
                        };
                        self.emit_tracer(num, ev, idx, table, view, consumer);
                    }
                }
            }
        }
    }

    pub(super) fn keep(&mut self, span: SpanRecord) {
        if self.config.retain_spans {
            self.retained.push(span);
        }
    }

    /// Turns a removed open record into a finished span, updating counters, tag stats
    /// and the parent. `exit` = (ts, tid, input index, exit args) for closed spans.
    pub(super) fn finish_record(
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
        let (exit_ts, exit_tid, exit_event, exit_args, duration, tags) = match exit {
            Some(ExitInfo {
                ts,
                tid,
                input_index: ev_idx,
                args,
                tags,
            }) => {
                debug_assert_eq!(tags, rec.tags, "exit matched by interned tag path");
                let d = ts.saturating_sub(rec.enter_ts);
                (Some(ts), Some(tid), Some(ev_idx), args, Some(d), tags)
            }
            None => (None, None, None, Vec::new(), None, rec.tags.clone()),
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
