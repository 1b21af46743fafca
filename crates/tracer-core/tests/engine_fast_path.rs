//! The engine's fast paths change nothing observable:
//! - a consumer that does not want finished spans ([`Consumer::wants_spans`] false,
//!   like `BytesBy`) sees the same views (apart from `TracerView::span`) and gets
//!   the same report as one that does;
//! - markers decoded from the cache of repeated writes equal a fresh parse of the
//!   write (`grammar::parse_all`), marker by marker;
//! - with `retain_spans` the report keeps exactly the spans a span consumer receives;
//! - a consumer that does not want marker views ([`Consumer::wants_tracer_views`] false,
//!   like `BytesBy`) sees every other view, with the same numbers, and the same report.
//!
//! The input mixes the synthetic workload (repeated markers, nested spans, file and
//! socket I/O, accept, clone, exits) with edge cases: evictions from a small store,
//! unmatched exits, invalid markers, fragments, several markers per write, lost events.

use tracer_core::engine::{Consumer, Engine, EngineConfig, Report};
use tracer_core::event::{Event, EventKind, Syscall, SyscallKind};
use tracer_core::event_view::{EventClass, EventView};
use tracer_core::grammar::parse_all;
use tracer_core::spans::SpanRecord;
use tracer_core::views::{ByField, BytesBy};
use tracer_scap::synth::{events, SynthConfig};

/// A marker view: invalid, id, tags, args, duration.
type TracerDigest = (
    bool,
    i64,
    Vec<Vec<u8>>,
    Vec<(Vec<u8>, Vec<u8>)>,
    Option<u64>,
);

/// What a view shows, in comparable form.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Digest {
    num: u64,
    input_index: u64,
    kind: &'static str,
    fd_num: i64,
    fd_name: Option<String>,
    tracer: Option<TracerDigest>,
    record: Option<(u64, u64, u32, Option<u64>)>,
    innermost: Option<(u64, Vec<Vec<u8>>)>,
    open: Vec<u64>,
    io: (u64, u64),
}

fn digest(v: &EventView<'_>) -> Digest {
    let t = v.tracer();
    Digest {
        num: v.num,
        input_index: v.input_index,
        kind: v.type_name(),
        fd_num: v.fd_num,
        fd_name: v.fd_name().map(str::to_string),
        tracer: t.map(|t| {
            (
                t.invalid,
                t.id,
                t.tags.to_vec(),
                t.args.to_vec(),
                t.duration_ns,
            )
        }),
        record: t
            .and_then(|t| t.record)
            .map(|r| (r.seq, r.enter_ts, r.depth, r.parent)),
        innermost: v
            .innermost(tracer_core::correlate::Scope::Thread)
            .map(|r| (r.seq, r.tags.to_vec())),
        open: v.spans.iter().map(|r| r.seq).collect(),
        io: (v.io_bytes(), v.latency_ns()),
    }
}

/// A consumer that wants spans.
#[derive(Default)]
struct WithSpans {
    views: Vec<Digest>,
    spans: Vec<SpanRecord>,
    exit_spans: Vec<SpanRecord>,
}

impl Consumer for WithSpans {
    fn event(&mut self, v: &EventView<'_>) {
        if let EventClass::Tracer(t) = &v.class {
            if let Some(s) = t.span {
                self.exit_spans.push(s.clone());
            }
        }
        self.views.push(digest(v));
    }
    fn span(&mut self, span: &SpanRecord) {
        self.spans.push(span.clone());
    }
}

fn marker_write(tid: i64, ts: u64, fd: i64, data: &[u8]) -> Event {
    let mut s = Syscall::new(SyscallKind::Write, ts - 100, data.len() as i64);
    s.fd = fd;
    s.size = data.len() as u64;
    s.data = Some(data.to_vec());
    Event {
        ts,
        tid,
        pid: 1000,
        kind: EventKind::Syscall(s),
    }
}

/// The synthetic workload plus edge cases on thread 1000 (marker fd 3).
fn input() -> Vec<Event> {
    let mut evs = events(&SynthConfig {
        iterations: 400,
        ..SynthConfig::default()
    });
    let mut ts = evs.last().map_or(0, |e| e.ts) + 1000;
    let writes: &[&[u8]] = &[
        b"<:t:nothing.open::",
        b">:t:a:: >:t:a.b:x=1: <:t:a.b::",
        b">:t:a.b",
        b".c::",
        b"not a marker",
        b">:t:deep.x::",
        b">:t:deep.x.y::",
        b">:t:deep.x.y::",
        b"<:t:deep.x.y:r=2:",
        b">:t:a.b",
        b">:t:a::",
        b"<:t:a::",
        b"[\">\", 12, [\"json\", \"tag\"], [{\"k\":\"v\"}]]",
        b"[\"<\", 12, [\"json\", \"tag\"], []]",
    ];
    for round in 0..3 {
        for w in writes {
            ts += 1000;
            evs.push(marker_write(1000, ts, 3, w));
            ts += 1000;
            let mut r = Syscall::new(SyscallKind::Read, ts - 100, 10 + round);
            r.fd = 4;
            evs.push(Event {
                ts,
                tid: 1000,
                pid: 1000,
                kind: EventKind::Syscall(r),
            });
        }
        ts += 1000;
        evs.push(Event {
            ts,
            tid: 1000,
            pid: 1000,
            kind: EventKind::Lost { count: 3 },
        });
    }
    evs
}

fn run_with_spans(evs: &[Event], config: EngineConfig) -> (WithSpans, Report) {
    let mut c = WithSpans::default();
    let report = Engine::new(config).run(evs, &mut c);
    (c, report)
}

/// A closure as a consumer that does not want finished spans.
struct EventsOnly<F>(F);

impl<F: FnMut(&EventView<'_>)> Consumer for EventsOnly<F> {
    fn event(&mut self, view: &EventView<'_>) {
        (self.0)(view)
    }
    fn wants_spans(&self) -> bool {
        false
    }
}

fn run_closure(evs: &[Event], config: EngineConfig) -> (Vec<Digest>, Report) {
    let mut views = Vec::new();
    let mut consumer = EventsOnly(|v: &EventView<'_>| {
        // Spans are built (and shown on exits) only when the report retains them.
        if !config.retain_spans {
            assert!(v.tracer().is_none_or(|t| t.span.is_none()));
        }
        views.push(digest(v));
    });
    let report = Engine::new(config).run(evs, &mut consumer);
    (views, report)
}

fn configs() -> [EngineConfig; 2] {
    let small = EngineConfig {
        open_span_capacity: 3,
        ..EngineConfig::default()
    };
    [EngineConfig::default(), small]
}

#[test]
fn span_free_consumers_see_the_same_views_and_report() {
    let evs = input();
    for config in configs() {
        let (with, report_with) = run_with_spans(&evs, config);
        let (views, report) = run_closure(&evs, config);
        assert_eq!(views.len(), with.views.len());
        for (a, b) in views.iter().zip(&with.views) {
            assert_eq!(a, b);
        }
        assert_eq!(report, report_with);
        assert!(report.counts.closed_spans > 1000);
        assert!(report.counts.unmatched_exits > 0);
        assert!(report.counts.invalid_markers > 0);
        assert!(report.counts.hidden_writes > 0);
        if config.open_span_capacity == 3 {
            assert!(report.counts.evicted > 0);
        }
        // Spans: every closed span came with its exit view, then through `span`.
        assert_eq!(with.exit_spans.len() as u64, report.counts.closed_spans);
        let finished = report.counts.closed_spans + report.counts.evicted;
        assert_eq!(
            with.spans.len() as u64,
            finished + report.counts.never_closed
        );
    }
}

#[test]
fn retained_spans_equal_the_spans_a_consumer_receives() {
    let evs = input();
    for config in configs() {
        let retain = EngineConfig {
            retain_spans: true,
            ..config
        };
        let (with, _) = run_with_spans(&evs, config);
        let (_, report) = run_closure(&evs, retain);
        let n = report.spans.len();
        assert_eq!(report.spans, with.spans[..n]);
        assert_eq!(report.never_closed, with.spans[n..]);
    }
}

/// A consumer of the views other than valid markers.
struct NoMarkerViews(Vec<Digest>);

impl Consumer for NoMarkerViews {
    fn event(&mut self, v: &EventView<'_>) {
        self.0.push(digest(v));
    }
    fn wants_spans(&self) -> bool {
        false
    }
    fn wants_tracer_views(&self) -> bool {
        false
    }
}

#[test]
fn consumers_without_marker_views_see_every_other_view() {
    let evs = input();
    for config in configs() {
        let (with, report_with) = run_with_spans(&evs, config);
        let mut c = NoMarkerViews(Vec::new());
        let report = Engine::new(config).run(&evs, &mut c);
        let expected: Vec<&Digest> = with
            .views
            .iter()
            .filter(|d| d.tracer.as_ref().is_none_or(|t| t.0))
            .collect();
        assert!(expected.len() < with.views.len());
        assert_eq!(c.0.iter().collect::<Vec<_>>(), expected);
        assert!(
            c.0.iter().any(|d| d.tracer.is_some()),
            "invalid markers shown"
        );
        assert_eq!(report, report_with);
    }
}

#[test]
fn cached_markers_equal_a_fresh_parse() {
    let evs = input();
    let mut checked = 0;
    let mut consumer = |v: &EventView<'_>| {
        let Some(t) = v.tracer() else { return };
        if t.invalid {
            return;
        }
        let EventKind::Syscall(sc) = &v.event.kind else {
            panic!("marker from a syscall")
        };
        // Writes that parse on their own (the cached ones) give exactly those markers.
        if let Ok(all) = parse_all(sc.data.as_deref().unwrap_or(&[])) {
            let m = &all[t.index_in_write as usize];
            assert_eq!(all.len() as u32, t.markers_in_write);
            assert_eq!(t.dir, m.dir);
            assert_eq!(t.tags, &m.tags[..]);
            assert_eq!(t.args, &m.args[..]);
            checked += 1;
        }
    };
    Engine::new(EngineConfig::default()).run(&evs, &mut consumer);
    assert!(checked > 3000, "{checked}");
}

#[test]
fn bytes_by_as_consumer_equals_bytes_by_in_a_closure() {
    let evs = input();
    let field = ByField::parse("evtin.span.tags").unwrap();
    let mut direct = BytesBy::new(field);
    Engine::new(EngineConfig::default()).run(&evs, &mut direct);
    let mut table = BytesBy::new(field);
    let mut with = WithSpans::default();
    let mut both = |v: &EventView<'_>| {
        table.add(v);
        with.event(v);
    };
    Engine::new(EngineConfig::default()).run(&evs, &mut both);
    assert_eq!(direct.table(), table.table());
    assert!(direct.table().rows.len() >= 4);
}
