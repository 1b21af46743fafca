//! Probe overhead benchmark (root; `cargo bench -p tracer-probe` or `make bench-probe`).
//!
//! A forked child (pinned to the last CPU) times tight loops of syscalls while the
//! bench process (pinned to CPU 0) loads the probe and drains the ring. Rows, all in one
//! run, medians of `TRACER_BENCH_RUNS` (default 5) runs of `TRACER_BENCH_N` (default
//! 2,000,000) syscalls each:
//! - `none`: no probe; `noop`: no-op programs on sys_enter/sys_exit (the floor);
//! - `other`: the real probe, child not selected;
//! - `outside`: child selected, spans-only, no span open;
//! - `inside`: child selected and inside a span (one record per syscall);
//! - `marker`: 14-byte markers written to /dev/null (payload copied).
//!
//! Then a sustained run (`TRACER_BENCH_SUSTAIN_S`, default 10 s; 0 skips it): two
//! children write inside a span until each has used that much CPU time; events/s and drops are printed.

use std::time::Duration;

use tracer_probe::{AttachKind, Probe, ProbeConfig, ProbeStats, Target};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Loop {
    Write,
    Getppid,
    NullNonTracer,
    Marker,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Setup {
    None,
    Noop,
    Other,
    Outside,
    Inside,
}

const ENTER: &[u8] = b">:t:bench.op::";
const EXIT: &[u8] = b"<:t:bench.op::";

/// CPU time of the calling thread: robust against other load on the machine (time
/// spent preempted is not counted; the syscalls and the BPF programs they run are).
fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid timespec pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn pin(cpu: usize) {
    // SAFETY: a zeroed cpu_set_t is valid; CPU_SET writes inside it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

struct Worker {
    pid: i32,
    go: i32,
    result: i32,
}

/// Forks a child that waits for `go`, runs `n` iterations of `lp` (or until
/// `deadline_ns` of run time when non-zero) and reports `(elapsed ns, iterations)`.
fn fork_worker(lp: Loop, n: u64, inside: bool, cpu: Option<usize>, run_ns: u64) -> Worker {
    let null = c"/dev/null";
    let zero = c"/dev/zero";
    // SAFETY: plain fd syscalls; the child only uses async-signal-safe calls and
    // memory prepared before the fork, and leaves with _exit.
    unsafe {
        let nfd = libc::open(null.as_ptr(), libc::O_WRONLY);
        let zfd = libc::open(zero.as_ptr(), libc::O_WRONLY);
        let mut go = [0i32; 2];
        let mut res = [0i32; 2];
        libc::pipe(go.as_mut_ptr());
        libc::pipe(res.as_mut_ptr());
        let pid = libc::fork();
        if pid == 0 {
            if let Some(c) = cpu {
                pin(c);
            }
            libc::close(go[1]);
            libc::close(res[0]);
            let mut b = 0u8;
            libc::read(go[0], &mut b as *mut u8 as *mut libc::c_void, 1);
            // fault the buffers in, as an application that builds its markers does
            // (bpf_probe_read_user cannot fault, and fork does not copy the parent's
            // page-table entries of file-backed pages)
            let x = b"x";
            let inside_marker = b">:t:bench::";
            for p in [
                x.as_ptr(),
                ENTER.as_ptr(),
                EXIT.as_ptr(),
                inside_marker.as_ptr(),
            ] {
                std::ptr::read_volatile(p);
            }
            if inside {
                libc::write(nfd, inside_marker.as_ptr() as *const libc::c_void, 11);
            }
            let t0 = now_ns();
            let mut i = 0u64;
            loop {
                match lp {
                    Loop::Write => {
                        libc::syscall(libc::SYS_write, zfd, x.as_ptr(), 1);
                    }
                    Loop::Getppid => {
                        libc::syscall(libc::SYS_getppid);
                    }
                    Loop::NullNonTracer => {
                        libc::syscall(libc::SYS_write, nfd, x.as_ptr(), 1);
                    }
                    Loop::Marker => {
                        let m = if i & 1 == 0 { ENTER } else { EXIT };
                        libc::syscall(libc::SYS_write, nfd, m.as_ptr(), m.len());
                    }
                }
                i += 1;
                if run_ns > 0 {
                    if i & 1023 == 0 && now_ns() - t0 >= run_ns {
                        break;
                    }
                } else if i >= n {
                    break;
                }
            }
            let out = [now_ns() - t0, i];
            libc::write(res[1], out.as_ptr() as *const libc::c_void, 16);
            libc::_exit(0);
        }
        libc::close(go[0]);
        libc::close(res[1]);
        libc::close(nfd);
        libc::close(zfd);
        Worker {
            pid,
            go: go[1],
            result: res[0],
        }
    }
}

impl Worker {
    fn start(&self) {
        // SAFETY: writing one byte to our pipe.
        unsafe { libc::write(self.go, b"g".as_ptr() as *const libc::c_void, 1) };
    }
    fn try_result(&self) -> Option<(u64, u64)> {
        let mut pfd = libc::pollfd {
            fd: self.result,
            events: libc::POLLIN,
            revents: 0,
        };
        let mut out = [0u64; 2];
        // SAFETY: valid pollfd and buffer.
        unsafe {
            if libc::poll(&mut pfd, 1, 0) != 1 {
                return None;
            }
            libc::read(self.result, out.as_mut_ptr() as *mut libc::c_void, 16);
            libc::waitpid(self.pid, std::ptr::null_mut(), 0);
            libc::close(self.go);
            libc::close(self.result);
        }
        Some((out[0], out[1]))
    }
}

fn probe_for(setup: Setup, pids: &[i32]) -> Option<Probe> {
    let cfg = match setup {
        Setup::None => return None,
        Setup::Noop => ProbeConfig {
            attach: AttachKind::Noop,
            target: Target::Pids(vec![1]),
            ..Default::default()
        },
        Setup::Other => ProbeConfig {
            target: Target::Pids(vec![1]),
            ..Default::default()
        },
        Setup::Outside | Setup::Inside => ProbeConfig {
            target: Target::Pids(pids.to_vec()),
            ..Default::default()
        },
    };
    Some(Probe::load(cfg).unwrap_or_else(|e| {
        eprintln!("bench: {e}");
        std::process::exit(1)
    }))
}

/// Runs workers to completion under `setup`; returns per-worker (ns, iterations) and stats.
fn measure(
    setup: Setup,
    lp: Loop,
    n: u64,
    workers: usize,
    run_ns: u64,
) -> (Vec<(u64, u64)>, ProbeStats, u64, f64) {
    let ncpu = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let cpu = |i: usize| {
        if workers == 1 && ncpu > 1 {
            Some(ncpu - 1)
        } else {
            (ncpu > 1).then_some((i + 1) % ncpu)
        }
    };
    let ws: Vec<Worker> = (0..workers)
        .map(|i| fork_worker(lp, n, setup == Setup::Inside, cpu(i), run_ns))
        .collect();
    let pids: Vec<i32> = ws.iter().map(|w| w.pid).collect();
    let mut probe = probe_for(setup, &pids);
    std::thread::sleep(Duration::from_millis(100));
    let wall = std::time::Instant::now();
    ws.iter().for_each(Worker::start);
    let mut results = vec![None; ws.len()];
    let mut received = 0u64;
    while results.iter().any(Option::is_none) {
        match probe.as_mut() {
            Some(p) => {
                p.poll(Duration::from_millis(50), &mut |_| received += 1)
                    .expect("poll");
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
        for (w, r) in ws.iter().zip(results.iter_mut()) {
            if r.is_none() {
                *r = w.try_result();
            }
        }
    }
    let wall_s = wall.elapsed().as_secs_f64();
    let stats = match probe {
        Some(p) => {
            if std::env::var_os("TRACER_BENCH_BPF_STATS").is_some() {
                for (name, runs, ns) in p.program_run_stats() {
                    println!(
                        "  bpf_stats {setup:?}/{lp:?} {name}: {runs} runs, {:.0} ns/run",
                        ns as f64 / runs.max(1) as f64
                    );
                }
            }
            p.finish(&mut |_| received += 1).expect("finish")
        }
        None => ProbeStats::default(),
    };
    let results = results.into_iter().map(Option::unwrap).collect();
    (results, stats, received, wall_s)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        println!("SKIP probe_overhead: needs root (eBPF)");
        return;
    }
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    if std::env::var_os("TRACER_BENCH_BPF_STATS").is_some() {
        // in-program time per invocation (the kernel's BPF statistics), one run per row
        let _ = std::fs::write("/proc/sys/kernel/bpf_stats_enabled", "1");
        pin(0);
        for (setup, lp) in [
            (Setup::Noop, Loop::Write),
            (Setup::Other, Loop::Write),
            (Setup::Outside, Loop::Write),
            (Setup::Outside, Loop::NullNonTracer),
            (Setup::Inside, Loop::Write),
            (Setup::Outside, Loop::Marker),
        ] {
            measure(setup, lp, 500_000, 1, 0);
        }
        let _ = std::fs::write("/proc/sys/kernel/bpf_stats_enabled", "0");
        return;
    }
    let n = env_or("TRACER_BENCH_N", 2_000_000);
    let runs = env_or("TRACER_BENCH_RUNS", 5).max(1) as usize;
    let sustain_s = env_or("TRACER_BENCH_SUSTAIN_S", 10);
    pin(0);
    let rows: &[(Setup, Loop)] = &[
        (Setup::None, Loop::Write),
        (Setup::None, Loop::Getppid),
        (Setup::Noop, Loop::Write),
        (Setup::Noop, Loop::Getppid),
        (Setup::Other, Loop::Write),
        (Setup::Other, Loop::Getppid),
        (Setup::Outside, Loop::Write),
        (Setup::Outside, Loop::Getppid),
        (Setup::Outside, Loop::NullNonTracer),
        (Setup::Inside, Loop::Write),
        (Setup::Outside, Loop::Marker),
    ];
    // TRACER_BENCH_ROWS=noop,outside keeps only those setups (plus `none`)
    let keep: Option<Vec<String>> = std::env::var("TRACER_BENCH_ROWS")
        .ok()
        .map(|v| v.split(',').map(str::to_string).collect());
    let rows: Vec<(Setup, Loop)> = rows
        .iter()
        .copied()
        .filter(|(s, _)| {
            let name = format!("{s:?}").to_lowercase();
            name == "none" || keep.as_ref().is_none_or(|k| k.contains(&name))
        })
        .collect();
    let rows = &rows[..];
    let mut samples: Vec<Vec<f64>> = vec![vec![]; rows.len()];
    let mut last_stats = vec![(ProbeStats::default(), 0u64); rows.len()];
    println!("probe_overhead: {runs} runs x {n} syscalls per row (medians)");
    for run in 0..runs {
        for (i, &(setup, lp)) in rows.iter().enumerate() {
            let (r, stats, received, _) = measure(setup, lp, n, 1, 0);
            samples[i].push(r[0].0 as f64 / r[0].1 as f64);
            last_stats[i] = (stats, received);
        }
        eprintln!("run {}/{runs} done", run + 1);
    }
    let med: Vec<f64> = samples.iter_mut().map(|s| median(s)).collect();
    let find = |s: Setup, l: Loop| {
        rows.iter()
            .position(|r| *r == (s, l))
            .map(|i| med[i])
            .unwrap_or(f64::NAN)
    };
    println!(
        "{:<9} {:<14} {:>9} {:>10} {:>10} {:>9}  records / drops",
        "setup", "loop", "ns/call", "+vs none", "+vs floor", "x floor"
    );
    for (i, &(setup, lp)) in rows.iter().enumerate() {
        let base_loop = if lp == Loop::Getppid {
            Loop::Getppid
        } else {
            Loop::Write
        };
        let none = find(Setup::None, base_loop);
        let floor = find(Setup::Noop, base_loop);
        let (st, received) = last_stats[i];
        println!(
            "{:<9} {:<14} {:>9.0} {:>+10.0} {:>+10.0} {:>9.2}  {} / {}",
            format!("{setup:?}").to_lowercase(),
            format!("{lp:?}").to_lowercase(),
            med[i],
            med[i] - none,
            med[i] - floor,
            med[i] / floor,
            received,
            st.dropped
        );
    }
    println!("goals: other <= 1.10x floor; outside <= 1.20x floor; inside write <= +450 ns; marker <= +600 ns");
    if sustain_s > 0 {
        let (r, stats, received, wall_s) =
            measure(Setup::Inside, Loop::Write, 0, 2, sustain_s * 1_000_000_000);
        let iters: u64 = r.iter().map(|x| x.1).sum();
        println!(
            "sustained: 2 writers inside a span, {wall_s:.1} s wall: {:.0} events/s, \
             {received} records received, {} submitted, {} dropped ({iters} syscalls)",
            iters as f64 / wall_s,
            stats.submitted,
            stats.dropped,
        );
    }
}
