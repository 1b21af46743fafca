//! Engine cost per syscall on the `tracer_scap::synth` workload (the issue #4 stream:
//! nested spans with arguments, file and socket I/O, accept, close; 19 syscalls per
//! iteration of which 8 are marker writes).
//!
//! The events are generated once and held in memory, so only the engine path is timed:
//! `Engine::process` + `BytesBy(evtin.span.tags)` (as `tracer by` and the read bench use
//! it), and for reference the engine with a consumer that wants finished spans. The
//! baseline in the same run is a plain pass over the same events (summing `res`).
//! Medians of wall and CPU time are printed as ns per syscall, plus the ratios.
//!
//! `TRACER_BENCH_ITERATIONS` (default 40000) and `TRACER_BENCH_RUNS` (default 5) size it;
//! `TRACER_BENCH_PROFILE=1` only runs the bytes-by path (for a profiler);
//! `TRACER_BENCH_DUMP=file` writes the report and table as JSON instead (to compare
//! engine versions).

use std::hint::black_box;
use std::time::Instant;

use tracer_core::engine::{Consumer, Engine, EngineConfig};
use tracer_core::event::{Event, EventKind};
use tracer_core::event_view::EventView;
use tracer_core::spans::SpanRecord;
use tracer_core::views::{ByField, BytesBy};
use tracer_scap::synth::{events, SynthConfig};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// CPU time of this thread so far, seconds.
fn cpu_time() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(f64::NAN, |ns| ns / 1e9)
}

/// Median (wall, CPU) seconds of `n` runs (and the fastest wall time, printed: on a
/// shared machine it is the least disturbed run).
fn median(n: usize, mut f: impl FnMut()) -> (f64, f64) {
    let (mut wall, mut cpu) = (Vec::new(), Vec::new());
    for _ in 0..n {
        let c0 = cpu_time();
        let t = Instant::now();
        f();
        wall.push(t.elapsed().as_secs_f64());
        cpu.push(cpu_time() - c0);
    }
    wall.sort_by(|a, b| a.total_cmp(b));
    cpu.sort_by(|a, b| a.total_cmp(b));
    print!("  [fastest {:6.1} ms] ", wall[0] * 1e3);
    (wall[n / 2], cpu[n / 2])
}

fn baseline(evs: &[Event]) -> i64 {
    let mut sum = 0i64;
    for ev in evs {
        if let EventKind::Syscall(s) = &ev.kind {
            sum = sum.wrapping_add(black_box(s.res));
        }
    }
    sum
}

/// Engine + bytes by `evtin.span.tags`, the table as the consumer (events only).
fn bytes_by(evs: &[Event]) -> usize {
    let mut engine = Engine::new(EngineConfig::default());
    let mut table = BytesBy::new(ByField::parse("evtin.span.tags").expect("valid field"));
    for ev in evs {
        engine.process(ev, &mut table);
    }
    let report = engine.finish(&mut table);
    black_box(&report);
    table.table().rows.len()
}

/// A consumer that also wants every finished span (exporters, `tracer list`).
struct WithSpans {
    table: BytesBy,
    spans: u64,
    bytes: u64,
}

impl Consumer for WithSpans {
    fn event(&mut self, v: &EventView<'_>) {
        self.table.add(v);
    }
    fn span(&mut self, span: &SpanRecord) {
        self.spans += 1;
        self.bytes += span.inclusive.total();
    }
}

fn with_spans(evs: &[Event]) -> u64 {
    let mut engine = Engine::new(EngineConfig::default());
    let mut c = WithSpans {
        table: BytesBy::new(ByField::parse("evtin.span.tags").expect("valid field")),
        spans: 0,
        bytes: 0,
    };
    for ev in evs {
        engine.process(ev, &mut c);
    }
    black_box(engine.finish(&mut c));
    c.spans + c.bytes
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let iterations = env_usize("TRACER_BENCH_ITERATIONS", 40_000);
    let runs = env_usize("TRACER_BENCH_RUNS", 5).max(1);
    let evs = events(&SynthConfig {
        iterations,
        ..SynthConfig::default()
    });
    let syscalls = evs
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Syscall(_)))
        .count();
    let markers = evs
        .iter()
        .filter(|e| matches!(&e.kind, EventKind::Syscall(s) if s.data.is_some()))
        .count();
    println!(
        "engine_synth: {} events, {syscalls} syscalls ({markers} marker writes), median of {runs}",
        evs.len()
    );
    let per = |s: f64| s * 1e9 / syscalls as f64;
    if let Ok(path) = std::env::var("TRACER_BENCH_DUMP") {
        // The report and table as JSON, to compare engine versions on this workload.
        let mut engine = Engine::new(EngineConfig::default());
        let mut c = WithSpans {
            table: BytesBy::new(ByField::parse("evtin.span.tags").expect("valid field")),
            spans: 0,
            bytes: 0,
        };
        for ev in &evs {
            engine.process(ev, &mut c);
        }
        let report = engine.finish(&mut c);
        let out = serde_json::json!({
            "report": report,
            "table": c.table.table(),
            "spans": c.spans,
            "span_bytes": c.bytes,
        });
        std::fs::write(&path, serde_json::to_vec_pretty(&out).expect("json")).expect("write");
        return;
    }
    if std::env::var("TRACER_BENCH_PROFILE").is_ok() {
        // For profilers: the bytes-by path only, over and over.
        for _ in 0..runs {
            black_box(bytes_by(&evs));
        }
        return;
    }
    let (bw, bc) = median(runs, || {
        black_box(baseline(&evs));
    });
    println!(
        "  baseline plain pass:          {:7.1} ms wall {:7.1} ms CPU  {:6.1} ns/syscall (CPU)",
        bw * 1e3,
        bc * 1e3,
        per(bc)
    );
    let (ew, ec) = median(runs, || {
        black_box(bytes_by(&evs));
    });
    println!(
        "  engine + bytes_by(span.tags): {:7.1} ms wall {:7.1} ms CPU  {:6.1} ns/syscall (CPU), \
         {:.1} ns/syscall (wall); ratio to baseline (CPU) {:.1}x",
        ew * 1e3,
        ec * 1e3,
        per(ec),
        per(ew),
        ec / bc
    );
    let (sw, sc) = median(runs, || {
        black_box(with_spans(&evs));
    });
    println!(
        "  engine + bytes_by + spans:    {:7.1} ms wall {:7.1} ms CPU  {:6.1} ns/syscall (CPU), \
         {:.1} ns/syscall (wall); ratio to baseline (CPU) {:.1}x",
        sw * 1e3,
        sc * 1e3,
        per(sc),
        per(sw),
        sc / bc
    );
}
