//! Engine throughput: events/s through marker grammar + span engine + correlation +
//! a bytes-by-field table (`evtin.span.tags`) on a synthetic server-like stream.
//!
//! The stream is a block of events from 8 interleaved request threads (about 1 marker
//! in 8 events; file reads, socket writes, other syscalls), replayed until 10M events
//! went through one engine. Baseline in the same run: a plain pass over the same events
//! (summing `res`), so the engine's cost is reported as a ratio too. Peak memory
//! (VmHWM) is printed at the end.

use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, Criterion, Throughput};
use tracer_core::engine::{Engine, EngineConfig, NoConsumer};
use tracer_core::event::{Event, EventKind, FdTarget, L4Proto, Syscall, SyscallKind};
use tracer_core::event_view::EventView;
use tracer_core::views::{ByField, BytesBy};

const TOTAL: u64 = 10_000_000;
const THREADS: i64 = 8;

fn block() -> Vec<Event> {
    let mut per_thread: Vec<Vec<Event>> = Vec::new();
    for t in 0..THREADS {
        let tid = 1000 + t;
        let mut ts = 1_000 + t as u64;
        let mut out = Vec::new();
        let mut push =
            |kind: SyscallKind, fd: i64, res: i64, data: Option<&str>, out: &mut Vec<Event>| {
                ts += 1_000;
                let mut s = Syscall::new(kind, ts - 400, res);
                s.fd = fd;
                s.size = res.max(0) as u64;
                s.data = data.map(|d| d.as_bytes().to_vec());
                out.push(Event {
                    ts,
                    tid,
                    pid: 1000,
                    kind: EventKind::Syscall(s),
                });
            };
        for r in 0..50 {
            let file_fd = 10 + t;
            let sock_fd = 100 + t;
            push(
                SyscallKind::Write,
                3,
                22,
                Some(">:t:download_handler::"),
                &mut out,
            );
            push(
                SyscallKind::Write,
                3,
                39,
                Some(">:t:download_handler.download_headers::"),
                &mut out,
            );
            push(SyscallKind::Write, sock_fd, 150, None, &mut out);
            push(
                SyscallKind::Write,
                3,
                39,
                Some("<:t:download_handler.download_headers::"),
                &mut out,
            );
            push(
                SyscallKind::Write,
                3,
                38,
                Some(">:t:download_handler.download_writes:n=1:"),
                &mut out,
            );
            for _ in 0..20 {
                push(SyscallKind::Read, file_fd, 65536, None, &mut out);
                push(SyscallKind::Write, sock_fd, 65536, None, &mut out);
                push(SyscallKind::Other(232), -1, 1, None, &mut out); // epoll_wait
            }
            push(SyscallKind::Read, file_fd, 0, None, &mut out);
            push(
                SyscallKind::Write,
                3,
                38,
                Some("<:t:download_handler.download_writes::"),
                &mut out,
            );
            push(
                SyscallKind::Write,
                3,
                22,
                Some("<:t:download_handler::"),
                &mut out,
            );
            if r % 5 == 0 {
                push(SyscallKind::Other(0), -1, -11, None, &mut out); // EAGAIN
            }
        }
        per_thread.push(out);
    }
    // Round-robin interleave.
    let mut all = Vec::new();
    let longest = per_thread.iter().map(Vec::len).max().unwrap_or(0);
    for i in 0..longest {
        for t in &per_thread {
            if let Some(e) = t.get(i) {
                all.push(e.clone());
            }
        }
    }
    all
}

fn setup(eng: &mut Engine) {
    let sink = &mut NoConsumer;
    for t in 0..THREADS {
        let tid = 1000 + t;
        eng.mark_tracer_fd(tid, 1000, 3);
        let snap = |fd: i64, target: FdTarget| Event {
            ts: 0,
            tid,
            pid: 1000,
            kind: EventKind::FdSnapshot { fd, target },
        };
        eng.process(
            &snap(10 + t, FdTarget::File(format!("/tmp/blob.bin.{t}"))),
            sink,
        );
        eng.process(
            &snap(
                100 + t,
                FdTarget::Inet {
                    proto: L4Proto::Tcp,
                    local: Some("127.0.0.1:8888".parse().unwrap()),
                    remote: Some(format!("127.0.0.1:{}", 40000 + t).parse().unwrap()),
                    server: true,
                },
            ),
            sink,
        );
    }
}

/// Runs `total` events through a fresh engine with a bytes-by table; returns the table
/// size (to keep the work observable).
fn run_engine(block: &[Event], total: u64, bytes_by: bool) -> usize {
    let mut eng = Engine::new(EngineConfig::default());
    setup(&mut eng);
    let mut by = BytesBy::new(ByField::SpanTags(tracer_core::correlate::Scope::Thread));
    let mut done = 0u64;
    'outer: loop {
        for ev in block {
            if bytes_by {
                eng.process(ev, &mut |v: &EventView<'_>| by.add(v));
            } else {
                eng.process(ev, &mut NoConsumer);
            }
            done += 1;
            if done == total {
                break 'outer;
            }
        }
    }
    let report = eng.finish(&mut NoConsumer);
    black_box(&report);
    by.table().rows.len() + report.tags.len()
}

fn baseline(block: &[Event], total: u64) -> i64 {
    let mut sum = 0i64;
    let mut done = 0u64;
    'outer: loop {
        for ev in block {
            if let EventKind::Syscall(s) = &ev.kind {
                sum = sum.wrapping_add(black_box(s.res));
            }
            done += 1;
            if done == total {
                break 'outer;
            }
        }
    }
    sum
}

fn vm_hwm_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn bench(c: &mut Criterion) {
    let block = block();
    let mut g = c.benchmark_group("engine");
    g.sample_size(10);
    g.throughput(Throughput::Elements(TOTAL));
    g.bench_function("baseline_iterate_10M", |b| {
        b.iter(|| baseline(&block, TOTAL))
    });
    g.bench_function("engine_10M", |b| {
        b.iter(|| run_engine(&block, TOTAL, false))
    });
    g.bench_function("engine_bytes_by_10M", |b| {
        b.iter(|| run_engine(&block, TOTAL, true))
    });
    g.finish();
}

/// CPU time of this thread so far, seconds (`/proc/thread-self/schedstat`, ns
/// resolution); unaffected by waiting for a CPU on a loaded machine.
fn cpu_time() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns / 1e9)
}

/// Median (wall, CPU) time of `n` runs, seconds.
fn median(n: usize, mut f: impl FnMut()) -> (f64, f64) {
    let mut wall = Vec::new();
    let mut cpu = Vec::new();
    for _ in 0..n {
        let c0 = cpu_time();
        let t = Instant::now();
        f();
        wall.push(t.elapsed().as_secs_f64());
        let c = match (c0, cpu_time()) {
            (Some(a), Some(b)) => b - a,
            _ => f64::NAN,
        };
        cpu.push(c);
    }
    wall.sort_by(|a, b| a.total_cmp(b));
    cpu.sort_by(|a, b| a.total_cmp(b));
    (wall[n / 2], cpu[n / 2])
}

fn summary() {
    let block = block();
    let (base_wall, base_cpu) = median(3, || {
        black_box(baseline(&block, TOTAL));
    });
    let (eng_wall, eng_cpu) = median(3, || {
        black_box(run_engine(&block, TOTAL, true));
    });
    println!(
        "summary: {TOTAL} events (block of {}), grammar+engine+bytes_by(evtin.span.tags), \
         median of 3: {:.2} M events/s by CPU time ({:.3} s CPU), {:.2} M events/s by wall \
         time ({:.3} s); baseline plain pass: {:.3} s CPU; ratio engine/baseline (CPU): \
         {:.1}x; peak memory VmHWM: {} KiB",
        block.len(),
        TOTAL as f64 / eng_cpu / 1e6,
        eng_cpu,
        TOTAL as f64 / eng_wall / 1e6,
        eng_wall,
        base_cpu,
        eng_cpu / base_cpu,
        vm_hwm_kib().map_or("?".into(), |k| k.to_string())
    );
    let _ = base_wall;
}

criterion_group!(benches, bench);

fn main() {
    summary();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
