//! Cost of OTLP mapping on top of the engine, as ratios to a plain engine pass over the
//! same events (medians of 11 runs, same process).
//!
//! Stream: one process, 4 interleaved threads, each doing requests with a nested child
//! span, a file read and a socket write per span (~1 marker in 4 events). Variants:
//! `engine` (no consumer), `engine+map` ([`SpanMapper`] on every view and span) and
//! `engine+map+encode` (plus grouping into requests of 512 spans and protobuf encoding,
//! i.e. everything the exporter thread does except HTTP).

use std::hint::black_box;
use std::time::{Duration, Instant};

use prost::Message;
use tracer_core::engine::{Consumer, Engine, EngineConfig, NoConsumer};
use tracer_core::event::{Event, EventKind, L4Proto, Syscall, SyscallDetail, SyscallKind};
use tracer_core::event_view::EventView;
use tracer_core::spans::SpanRecord;
use tracer_otlp::{build_request, ExportItem, MapperConfig, SpanMapper};

const REQUESTS_PER_THREAD: u64 = 5_000;
const THREADS: i64 = 4;

fn events() -> Vec<Event> {
    let mut out = Vec::new();
    let mut ts = 1_000u64;
    let mut push = |out: &mut Vec<Event>,
                    tid: i64,
                    kind: SyscallKind,
                    fd: i64,
                    res: i64,
                    detail,
                    data: Option<String>| {
        ts += 500;
        let mut s = Syscall::new(kind, ts - 200, res);
        s.fd = fd;
        s.detail = detail;
        if kind.io_dir().is_some() {
            s.size = res.max(0) as u64;
        }
        s.data = data.map(String::into_bytes);
        out.push(Event {
            ts,
            tid,
            pid: 1000,
            kind: EventKind::Syscall(s),
        });
    };
    for t in 0..THREADS {
        let tid = 1000 + t;
        push(
            &mut out,
            tid,
            SyscallKind::Openat,
            -1,
            3,
            SyscallDetail::Open {
                path: "/dev/null".into(),
                dirfd: Some(-100),
                flags: 1,
                mode: 0,
            },
            None,
        );
        push(
            &mut out,
            tid,
            SyscallKind::Openat,
            -1,
            10 + t,
            SyscallDetail::Open {
                path: format!("/srv/blob{t}"),
                dirfd: Some(-100),
                flags: 0,
                mode: 0,
            },
            None,
        );
        push(
            &mut out,
            tid,
            SyscallKind::Socket,
            -1,
            20 + t,
            SyscallDetail::Socket {
                domain: 2,
                sock_type: 1,
                protocol: 0,
            },
            None,
        );
        push(
            &mut out,
            tid,
            SyscallKind::Connect,
            20 + t,
            0,
            SyscallDetail::Sock {
                proto: L4Proto::Tcp,
                local: None,
                remote: Some(format!("10.0.0.{t}:80").parse().unwrap()),
                unix_path: None,
            },
            None,
        );
    }
    for r in 0..REQUESTS_PER_THREAD {
        for t in 0..THREADS {
            let tid = 1000 + t;
            let m = |s: &str| Some(s.to_string());
            push(
                &mut out,
                tid,
                SyscallKind::Write,
                3,
                20,
                SyscallDetail::None,
                Some(format!(">:t:req:n={r}:")),
            );
            push(
                &mut out,
                tid,
                SyscallKind::Write,
                3,
                20,
                SyscallDetail::None,
                m(">:t:req.load::"),
            );
            push(
                &mut out,
                tid,
                SyscallKind::Read,
                10 + t,
                4096,
                SyscallDetail::None,
                None,
            );
            push(
                &mut out,
                tid,
                SyscallKind::Write,
                3,
                20,
                SyscallDetail::None,
                m("<:t:req.load::"),
            );
            push(
                &mut out,
                tid,
                SyscallKind::Write,
                20 + t,
                4096,
                SyscallDetail::None,
                None,
            );
            push(
                &mut out,
                tid,
                SyscallKind::Write,
                3,
                20,
                SyscallDetail::None,
                m("<:t:req::"),
            );
        }
    }
    out
}

struct Map {
    mapper: SpanMapper,
    items: Vec<ExportItem>,
    encode: bool,
    bytes: usize,
}

impl Consumer for Map {
    fn event(&mut self, v: &EventView<'_>) {
        self.mapper.observe(v);
    }
    fn span(&mut self, s: &SpanRecord) {
        let item = self.mapper.map(s);
        if self.encode {
            self.items.push(item);
            if self.items.len() == 512 {
                self.bytes += build_request(std::mem::take(&mut self.items))
                    .encode_to_vec()
                    .len();
            }
        } else {
            black_box(item);
        }
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time(runs: usize, events: &[Event], mut run: impl FnMut(&[Event])) -> Duration {
    median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                run(events);
                t.elapsed()
            })
            .collect(),
    )
}

fn main() {
    // `cargo test --benches` passes --bench-less args; run a tiny smoke pass then.
    let quick = !std::env::args().any(|a| a == "--bench");
    let mut evs = events();
    let runs = if quick { 1 } else { 11 };
    if quick {
        evs.truncate(10_000);
    }
    let spans = REQUESTS_PER_THREAD * THREADS as u64 * 2;
    let base = time(runs, &evs, |e| {
        let mut eng = Engine::new(EngineConfig::default());
        for ev in e {
            eng.process(ev, &mut NoConsumer);
        }
        black_box(eng.finish(&mut NoConsumer));
    });
    let variant = |encode: bool| {
        time(runs, &evs, |e| {
            let mut c = Map {
                mapper: SpanMapper::new(MapperConfig::default()),
                items: Vec::new(),
                encode,
                bytes: 0,
            };
            let mut eng = Engine::new(EngineConfig::default());
            for ev in e {
                eng.process(ev, &mut c);
            }
            eng.finish(&mut c);
            if encode {
                c.bytes += build_request(std::mem::take(&mut c.items))
                    .encode_to_vec()
                    .len();
            }
            black_box(c.bytes);
        })
    };
    let map = variant(false);
    let enc = variant(true);
    let n = evs.len() as f64;
    println!(
        "events {} spans {} (medians of {runs} runs)",
        evs.len(),
        if quick { 0 } else { spans }
    );
    for (name, d) in [
        ("engine", base),
        ("engine+map", map),
        ("engine+map+encode", enc),
    ] {
        println!(
            "{name:<20} {:>9.2} ms  {:>6.2} M events/s  ratio to engine {:.2}",
            d.as_secs_f64() * 1e3,
            n / d.as_secs_f64() / 1e6,
            d.as_secs_f64() / base.as_secs_f64()
        );
    }
}
