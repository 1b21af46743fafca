//! Filter evaluation cost per event line for a typical compound filter.
//!
//! Stream: one process, 4 threads, each repeating a `download_handler` span with a
//! nested `send` span around file reads, socket writes and other syscalls (about one
//! marker in six events), run through the engine and split into sysdig-style lines.
//!
//! The lines are copied out once (owned), then timed in one run (criterion medians):
//! - `baseline_evt_num`: a trivial predicate (`evt.num % 7 == 0`) over every line;
//! - `hand_written`: a hand-coded Rust predicate equivalent to the filter, reading the
//!   same `EventSource` accessors;
//! - `compiled_filter`: `Filter::matches` with the compound filter below.
//!
//! The ratio compiled / hand-written is printed at the end (from medians of 31 runs).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion, Throughput};
use tracer_core::engine::{Engine, EngineConfig};
use tracer_core::event::{Event, EventKind, FdTarget, L4Proto, Syscall, SyscallKind, ThreadInfo};
use tracer_core::event_view::EventView;
use tracer_core::filter::lines::{Line, LineSplitter};
use tracer_core::filter::{
    EventSource, EvtDir, FdFacts, Filter, MarkerFacts, SpanFacts, ThreadFacts,
};
use tracer_core::grammar::Direction;

const FILTER: &str = "evt.type in (read, write, sendto) and evt.dir=< and fd.name contains /data \
                      and proc.name=webapp and evtin.span.tag[0]=download_handler";

/// Rounds of the 4-thread pattern: few enough that the copied lines stay in cache, so
/// the bench measures evaluation, not memory traffic.
const ROUNDS: usize = 5;

/// Passes over the lines per measured iteration.
const PASSES: usize = 400;

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
                    target: FdTarget::File(if fd == 3 {
                        "/dev/null".into()
                    } else {
                        "/data/f.bin".into()
                    }),
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
    for round in 0..ROUNDS {
        for t in 0..4 {
            let tid = 100 + t;
            let mut push = |kind, fd, res, data: Option<&str>| {
                ts += 1_000;
                let mut s = Syscall::new(kind, ts - 300, res);
                s.fd = fd;
                s.data = data.map(|d| d.as_bytes().to_vec());
                out.push(Event {
                    ts,
                    tid,
                    pid: 100,
                    kind: EventKind::Syscall(s),
                });
            };
            let url = format!(">:t:download_handler:url=/f{round}:");
            push(SyscallKind::Write, 3, url.len() as i64, Some(&url));
            for _ in 0..4 {
                push(SyscallKind::Read, 5, 4096, None);
            }
            push(
                SyscallKind::Write,
                3,
                28,
                Some(">:t:download_handler.send::"),
            );
            push(SyscallKind::Sendto, 6, 8192, None);
            push(SyscallKind::Other(7), -1, 0, None);
            push(
                SyscallKind::Write,
                3,
                28,
                Some("<:t:download_handler.send::"),
            );
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
            let own = e.marker().filter(|m| m.dir == Direction::Enter);
            let own_key = own.and_then(|m| m.record).map(|r| r.key);
            e.open_spans()
                .filter(|r| r.writer_tid == t.tid)
                .find(|r| r.tags.first().is_some_and(|t| t == b"download_handler"))
                .is_some_and(|r| Some(r.key) != own_key)
        }
}

/// A line copied out of the engine (owned), so filter evaluation can be timed alone.
struct Owned {
    num: u64,
    ts: u64,
    dir: EvtDir,
    type_name: String,
    syscall: Option<Syscall>,
    tid: i64,
    pid: i64,
    ptid: i64,
    comm: String,
    wrote_marker: bool,
    fd: Option<(i64, Option<FdTarget>, Option<String>)>,
    marker: Option<OwnedMarker>,
    open: Vec<OwnedSpan>,
}

/// dir, id, tags, args, matched record.
type OwnedMarker = (
    Direction,
    i64,
    Vec<Vec<u8>>,
    Vec<(Vec<u8>, Vec<u8>)>,
    Option<OwnedSpan>,
);

#[derive(Clone)]
struct OwnedSpan {
    key: u64,
    id: i64,
    tags: Vec<Vec<u8>>,
    args: Vec<(Vec<u8>, Vec<u8>)>,
    enter_ts: u64,
    tid: i64,
    pid: i64,
}

impl OwnedSpan {
    fn of(r: SpanFacts<'_>) -> Self {
        OwnedSpan {
            key: r.key,
            id: r.id,
            tags: r.tags.to_vec(),
            args: r.args.to_vec(),
            enter_ts: r.enter_ts,
            tid: r.writer_tid,
            pid: r.writer_pid,
        }
    }
    fn facts(&self) -> SpanFacts<'_> {
        SpanFacts {
            key: self.key,
            id: self.id,
            tags: &self.tags,
            args: &self.args,
            enter_ts: self.enter_ts,
            writer_tid: self.tid,
            writer_pid: self.pid,
            writer_alive: true,
        }
    }
}

impl Owned {
    fn of(l: &Line<'_, '_>) -> Self {
        let t = l.thread();
        Owned {
            num: l.num(),
            ts: l.ts(),
            dir: l.dir(),
            type_name: l.type_name().to_string(),
            syscall: l.syscall().cloned(),
            tid: t.tid,
            pid: t.pid,
            ptid: t.ptid,
            comm: t.comm.to_string(),
            wrote_marker: t.wrote_marker,
            fd: l
                .fd()
                .map(|f| (f.num, f.target.cloned(), f.name.map(str::to_string))),
            marker: l.marker().map(|m| {
                (
                    m.dir,
                    m.id,
                    m.tags.to_vec(),
                    m.args.to_vec(),
                    m.record.map(OwnedSpan::of),
                )
            }),
            open: l.open_spans().map(OwnedSpan::of).collect(),
        }
    }
}

impl EventSource for Owned {
    type Spans<'s> =
        std::iter::Map<std::slice::Iter<'s, OwnedSpan>, fn(&OwnedSpan) -> SpanFacts<'_>>;
    fn num(&self) -> u64 {
        self.num
    }
    fn ts(&self) -> u64 {
        self.ts
    }
    fn dir(&self) -> EvtDir {
        self.dir
    }
    fn type_name(&self) -> &str {
        &self.type_name
    }
    fn syscall(&self) -> Option<&Syscall> {
        self.syscall.as_ref()
    }
    fn thread(&self) -> ThreadFacts<'_> {
        ThreadFacts {
            tid: self.tid,
            pid: self.pid,
            ptid: self.ptid,
            ppid: Some(1),
            comm: &self.comm,
            exe: "",
            args: &[],
            wrote_marker: self.wrote_marker,
        }
    }
    fn fd(&self) -> Option<FdFacts<'_>> {
        self.fd.as_ref().map(|(num, t, name)| FdFacts {
            num: *num,
            target: t.as_ref(),
            v6: false,
            typechar_hint: None,
            name: name.as_deref(),
        })
    }
    fn is_marker(&self) -> bool {
        self.marker.is_some()
    }
    fn marker(&self) -> Option<MarkerFacts<'_>> {
        self.marker
            .as_ref()
            .map(|(dir, id, tags, args, rec)| MarkerFacts {
                dir: *dir,
                id: *id,
                tags,
                args,
                record: rec.as_ref().map(OwnedSpan::facts),
            })
    }
    fn open_spans(&self) -> Self::Spans<'_> {
        self.open
            .iter()
            .map(OwnedSpan::facts as fn(&OwnedSpan) -> SpanFacts<'_>)
    }
}

/// Runs the engine once and copies every line out.
fn owned_lines(events: &[Event]) -> Vec<Owned> {
    let mut engine = Engine::new(EngineConfig::default());
    let mut splitter = LineSplitter::new();
    let mut out = Vec::new();
    let mut consumer = |v: &EventView<'_>| {
        for l in splitter.split(v) {
            out.push(Owned::of(&l));
        }
    };
    for e in events {
        engine.process(e, &mut consumer);
    }
    out
}

fn count(lines: &[Owned], pred: impl Fn(&Owned) -> bool) -> usize {
    (0..PASSES)
        .map(|_| lines.iter().filter(|l| pred(black_box(l))).count())
        .sum()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn bench(c: &mut Criterion) {
    let lines = owned_lines(&stream());
    // FILTER_EXPR=… times another filter (the hand-written comparison then does not apply).
    let custom = std::env::var("FILTER_EXPR").ok().filter(|f| !f.is_empty());
    let filter = Filter::compile(custom.as_deref().unwrap_or(FILTER)).unwrap();
    let n = (lines.len() * PASSES) as u64;
    let hits = count(&lines, |l| filter.matches(l));
    if custom.is_none() {
        assert_eq!(
            hits,
            count(&lines, hand_written),
            "hand-written predicate must agree"
        );
        assert!(hits > 0);
    }

    let mut g = c.benchmark_group("filter");
    g.throughput(Throughput::Elements(n));
    g.bench_function("baseline_evt_num", |b| {
        b.iter(|| count(&lines, |l| l.num() % 7 == 0))
    });
    g.bench_function("hand_written", |b| b.iter(|| count(&lines, hand_written)));
    g.bench_function("compiled_filter", |b| {
        b.iter(|| count(&lines, |l| filter.matches(l)))
    });
    g.finish();

    // One summary line from medians of our own runs in the same process.
    let time = |f: &dyn Fn() -> usize| {
        median(
            (0..31)
                .map(|_| {
                    let t = Instant::now();
                    black_box(f());
                    t.elapsed()
                })
                .collect(),
        )
    };
    let base = time(&|| count(&lines, |l| l.num() % 7 == 0));
    let hand = time(&|| count(&lines, hand_written));
    let comp = time(&|| count(&lines, |l| filter.matches(l)));
    let per = |d: Duration| d.as_nanos() as f64 / n as f64;
    println!(
        "filter summary: {n} lines, {hits} matches; ns/line: compiled {:.1}, hand-written {:.1}, \
         baseline {:.1}; compiled/hand-written = {:.2}",
        per(comp),
        per(hand),
        per(base),
        per(comp) / per(hand)
    );
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
