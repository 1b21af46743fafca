//! Cost of one enter+exit span with tracer-tag vs. two raw `write(2)` calls of the same
//! bytes to `/dev/null`, measured in the same run.
//!
//! Criterion reports each case; then a summary line compares medians of interleaved
//! batches: `tracer-tag span: X ns, static_span!: S ns, raw 2×write: Y ns, ratio Z`
//! (goal: ratio ≤ 1.1). `static_span!` is the call-site form (markers built once).

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
fn static_span() {
    let _s = tracer_tag::static_span!("download_handler");
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
    g.bench_function("static_span", |b| b.iter(static_span));
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
    // raw, span(), static_span!
    let mut t: [Vec<f64>; 3] = Default::default();
    for _ in 0..1000 {
        tag_span();
        static_span();
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
        // rotate the order so no variant always runs first
        for k in 0..3 {
            let which = (r + k) % 3;
            let ns = match which {
                0 => time(&|| raw_span(black_box(fd))),
                1 => time(&tag_span),
                _ => time(&static_span),
            };
            t[which].push(ns);
        }
    }
    let med = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    let ratio_med = |i: usize, t: &[Vec<f64>; 3]| {
        let mut r: Vec<f64> = t[i].iter().zip(&t[0]).map(|(x, r)| x / r).collect();
        med(&mut r)
    };
    let (q1, q2) = (ratio_med(1, &t), ratio_med(2, &t));
    let [mut raw, mut tag, mut fixed] = t;
    let (r, s, f) = (med(&mut raw), med(&mut tag), med(&mut fixed));
    assert_eq!(
        tracer_tag::error_count(),
        0,
        "writes failed during the benchmark"
    );
    println!(
        "tracer-tag span: {s:.1} ns, static_span!: {f:.1} ns, raw 2×write: {r:.1} ns, \
         ratio {:.3} (static_span! {:.3}; median of per-round ratios {q1:.3} / {q2:.3}; \
         thread CPU time, {rounds} interleaved rounds)",
        s / r,
        f / r
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
