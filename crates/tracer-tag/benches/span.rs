//! Cost of one enter+exit span with tracer-tag vs. two raw `write(2)` calls of the same
//! bytes to `/dev/null`, measured in the same run.
//!
//! Criterion reports each case; then a summary line compares medians of interleaved
//! batches: `tracer-tag span: X ns, raw 2×write: Y ns, ratio Z` (goal: ratio ≤ 1.1).

use std::hint::black_box;
use std::os::fd::RawFd;

use criterion::{criterion_group, Criterion};

const ENTER: &[u8] = b">:t:download_handler::";
const EXIT: &[u8] = b"<:t:download_handler::";

fn dev_null() -> RawFd {
    // SAFETY: valid C string; the fd lives for the whole benchmark.
    let fd = unsafe {
        libc::open(
            c"/dev/null".as_ptr(),
            libc::O_WRONLY | libc::O_NONBLOCK | libc::O_CLOEXEC,
        )
    };
    assert!(fd >= 0, "open /dev/null");
    fd
}

#[inline(never)]
fn raw_span(fd: RawFd) {
    // SAFETY: constant buffers, valid fd.
    unsafe {
        libc::write(fd, ENTER.as_ptr().cast(), ENTER.len());
        libc::write(fd, EXIT.as_ptr().cast(), EXIT.len());
    }
}

#[inline(never)]
fn tag_span() {
    let _s = tracer_tag::span(black_box("download_handler"));
}

#[inline(never)]
fn tag_span_args(n: u64) {
    let mut s = tracer_tag::span_builder("download_handler")
        .arg("n", n)
        .enter();
    s.set_exit_arg("bytes", 4096);
}

fn benches(c: &mut Criterion) {
    let fd = dev_null();
    tracer_tag::sink::reset();
    let mut g = c.benchmark_group("span");
    g.bench_function("raw_2x_write", |b| b.iter(|| raw_span(black_box(fd))));
    g.bench_function("tracer_tag", |b| b.iter(tag_span));
    g.bench_function("tracer_tag_args", |b| {
        b.iter(|| tag_span_args(black_box(42)))
    });
    g.bench_function("emit_pair", |b| {
        b.iter(|| {
            let t: [&[u8]; 1] = [black_box(b"download_handler")];
            tracer_tag::emit(tracer_tag::Dir::Enter, tracer_tag::Id::Thread, &t, &[]);
            tracer_tag::emit(tracer_tag::Dir::Exit, tracer_tag::Id::Thread, &t, &[]);
        })
    });
    g.finish();
}

/// This thread's CPU time in ns (not wall time: other processes on a shared machine
/// do not inflate it).
fn cpu_ns() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 * 1e9 + ts.tv_nsec as f64
}

/// Medians (ns per span) of interleaved batches, timed with thread CPU time; prints the
/// summary line.
fn summary() {
    let fd = dev_null();
    let batch = 2_000;
    let rounds = 301;
    let mut raw = Vec::with_capacity(rounds);
    let mut tag = Vec::with_capacity(rounds);
    for _ in 0..1000 {
        tag_span();
        raw_span(fd);
    }
    for r in 0..rounds {
        let time = |f: &dyn Fn()| {
            let t = cpu_ns();
            for _ in 0..batch {
                f();
            }
            (cpu_ns() - t) / batch as f64
        };
        // alternate the order so neither side always runs first
        if r % 2 == 0 {
            raw.push(time(&|| raw_span(black_box(fd))));
            tag.push(time(&tag_span));
        } else {
            tag.push(time(&tag_span));
            raw.push(time(&|| raw_span(black_box(fd))));
        }
    }
    let med = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    let mut ratios: Vec<f64> = tag.iter().zip(&raw).map(|(t, r)| t / r).collect();
    let (r, t, q) = (med(&mut raw), med(&mut tag), med(&mut ratios));
    assert_eq!(
        tracer_tag::error_count(),
        0,
        "writes failed during the benchmark"
    );
    println!(
        "tracer-tag span: {t:.1} ns, raw 2×write: {r:.1} ns, ratio {:.3} \
         (median of per-round ratios {q:.3}; thread CPU time, {rounds} interleaved rounds)",
        t / r
    );
}

criterion_group!(span_benches, benches);

fn main() {
    span_benches();
    Criterion::default().configure_from_args().final_summary();
    // not when profiling one benchmark (`--profile-time`) or listing them
    if !std::env::args().any(|a| a == "--profile-time" || a == "--list") {
        summary();
    }
}
