//! Filter evaluation cost per event line for a typical compound filter.
//!
//! Stream: one process, 4 threads, each repeating a `download_handler` span with a
//! nested `send` span around file reads, socket writes and other syscalls (about one
//! marker in six events), run through the engine and split into sysdig-style lines.
//!
//! Measured in one run (medians by criterion), per pass over the whole stream:
//! - `lines_only`: engine + line splitting, no predicate (the baseline);
//! - `hand_written`: the same, plus a hand-coded Rust predicate equivalent to the
//!   filter (reads the same `EventSource` accessors);
//! - `compiled_filter`: the same, plus `Filter::matches` on the compound filter.
//!
//! Filter cost per line = (compiled_filter − lines_only) / lines, compared with
//! (hand_written − lines_only) / lines. The bench prints both once at the end.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion, Throughput};
use tracer_core::engine::{Engine, EngineConfig};
use tracer_core::event::{Event, EventKind, FdTarget, L4Proto, Syscall, SyscallKind, ThreadInfo};
use tracer_core::event_view::EventView;
use tracer_core::filter::lines::{Line, LineSplitter};
use tracer_core::filter::{EventSource, Filter};

const FILTER: &str = "evt.type in (read, write, sendto) and evt.dir=< and fd.name contains /data \
                      and proc.name=webapp and evtin.span.tag[0]=download_handler";

fn stream() -> Vec<Event> {
    let mut out = Vec::new();
    let mut ts = 1_000u64;
    for t in 0..4 {
        out.push(Event {
            ts,
            tid: 100 + t,
            pid: 100,
            kind: EventKind::ThreadInfo(ThreadInfo {
                tid: 100 + t,
                pid: 100,
                ptid: 1,
                comm: "webapp".into(),
                exe: "/usr/bin/webapp".into(),
                ..Default::default()
            }),
        });
    }
    for fd in [3, 5] {
        for t in 0..4 {
            out.push(Event {
                ts,
                tid: 100 + t,
                pid: 100,
                kind: EventKind::FdSnapshot {
                    fd,
                    target: FdTarget::File(if fd == 3 { "/dev/null".into() } else { "/data/f.bin".into() }),
                },
            });
        }
    }
    out.push(Event {
        ts,
        tid: 100,
        pid: 100,
        kind: EventKind::FdSnapshot {
            fd: 6,
            target: FdTarget::Inet {
                proto: L4Proto::Tcp,
                local: Some("10.0.0.1:40000".parse().unwrap()),
                remote: Some("10.0.0.2:80".parse().unwrap()),
                server: false,
            },
        },
    });
    for round in 0..2_000 {
        for t in 0..4 {
            let tid = 100 + t;
            let mut push = |kind, fd, res, data: Option<&str>| {
                ts += 1_000;
                let mut s = Syscall::new(kind, ts - 300, res);
                s.fd = fd;
                s.data = data.map(|d| d.as_bytes().to_vec());
                out.push(Event { ts, tid, pid: 100, kind: EventKind::Syscall(s) });
            };
            let url = format!(">:t:download_handler:url=/f{round}:");
            push(SyscallKind::Write, 3, url.len() as i64, Some(&url));
            for _ in 0..4 {
                push(SyscallKind::Read, 5, 4096, None);
            }
            push(SyscallKind::Write, 3, 28, Some(">:t:download_handler.send::"));
            push(SyscallKind::Sendto, 6, 8192, None);
            push(SyscallKind::Other(7), -1, 0, None);
            push(SyscallKind::Write, 3, 28, Some("<:t:download_handler.send::"));
            push(SyscallKind::Other(7), -1, 0, None);
            push(SyscallKind::Write, 3, 23, Some("<:t:download_handler::"));
            push(SyscallKind::Read, 5, 100, None);
        }
    }
    out
}

fn hand_written<E: EventSource>(e: &E) -> bool {
    matches!(e.type_name(), "read" | "write" | "sendto")
        && e.dir().as_str() == "<"
        && e.fd().and_then(|f| f.target).is_some_and(|t| match t {
            FdTarget::File(p) => p.contains("/data"),
            _ => false,
        })
        && e.thread().comm == "webapp"
        && {
            let t = e.thread();
            let own = e.marker().filter(|m| m.dir == tracer_core::grammar::Direction::Enter);
            let own_key = own.and_then(|m| m.record).map(|r| r.key);
            e.open_spans()
                .filter(|r| r.writer_tid == t.tid)
                .find(|r| r.tags.first().is_some_and(|t| t == b"download_handler"))
                .is_some_and(|r| Some(r.key) != own_key)
        }
}

/// One pass: engine + lines, `pred` on every line; returns (lines, matches).
fn pass(events: &[Event], pred: &dyn Fn(&Line<'_, '_>) -> bool) -> (u64, u64) {
    let mut engine = Engine::new(EngineConfig::default());
    let mut splitter = LineSplitter::new();
    let (mut lines, mut hits) = (0u64, 0u64);
    let mut consumer = |v: &EventView<'_>| {
        for l in splitter.split(v) {
            lines += 1;
            hits += u64::from(pred(&l));
        }
    };
    for e in events {
        engine.process(e, &mut consumer);
    }
    (lines, hits)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn bench(c: &mut Criterion) {
    let events = stream();
    let filter = Filter::compile(FILTER).unwrap();
    let hand = |l: &Line<'_, '_>| hand_written(l);
    let (lines, hits_f) = pass(&events, &|l| filter.matches(l));
    let (_, hits_h) = pass(&events, &hand);
    assert_eq!(hits_f, hits_h, "the hand-written predicate must agree with the filter");
    assert!(hits_f > 0);

    let mut g = c.benchmark_group("filter");
    g.throughput(Throughput::Elements(lines));
    g.sample_size(20);
    g.bench_function("lines_only", |b| b.iter(|| black_box(pass(&events, &|_| true))));
    g.bench_function("hand_written", |b| b.iter(|| black_box(pass(&events, &hand))));
    g.bench_function("compiled_filter", |b| {
        b.iter(|| black_box(pass(&events, &|l| filter.matches(l))))
    });
    g.finish();

    // Summary with medians of our own timed runs (criterion's numbers are above).
    let time = |pred: &dyn Fn(&Line<'_, '_>) -> bool| {
        median(
            (0..15)
                .map(|_| {
                    let t = Instant::now();
                    black_box(pass(&events, pred));
                    t.elapsed()
                })
                .collect(),
        )
    };
    let base = time(&|_| true);
    let h = time(&hand);
    let f = time(&|l| filter.matches(l));
    let per = |d: Duration| (d.as_nanos() as f64 - base.as_nanos() as f64) / lines as f64;
    println!(
        "filter: {lines} lines, {hits_f} matches; per line: compiled filter {:.1} ns, \
         hand-written {:.1} ns (ratio {:.2}); pipeline baseline {:.1} ns/line",
        per(f),
        per(h),
        per(f) / per(h).max(0.1),
        base.as_nanos() as f64 / lines as f64
    );
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
