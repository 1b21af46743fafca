//! Running the eBPF probe: target selection, the boot-clock → wall-clock conversion,
//! the poll loop with its stop conditions (Ctrl+C/SIGTERM, `--duration`, the traced
//! command exiting), and the live modes (`summary --live`, `statsd --live`).

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use rustix::time::{clock_gettime, ClockId};
use tracer_core::engine::{Engine, EngineConfig, NoConsumer};
use tracer_core::event::{Event, EventKind};
use tracer_probe::{PausedChild, Probe, ProbeConfig, ProbeStats, Target};

use crate::cli::{StatsdArgs, SummaryArgs};
use crate::cmd::collect::FilteredTags;
use crate::cmd::statsd::{report, StatsdSender};
use crate::cmd::summary;
use crate::output::Output;
use crate::pipeline::{compile_filter, tag_prefix};

/// Adds `wall clock − boot clock` to probe timestamps (captures store wall-clock ns).
#[derive(Debug, Clone, Copy)]
pub struct ClockShift(i128);

impl ClockShift {
    /// Measures the offset now.
    pub fn now() -> ClockShift {
        let ns = |t: rustix::time::Timespec| t.tv_sec as i128 * 1_000_000_000 + t.tv_nsec as i128;
        let boot = ns(clock_gettime(ClockId::Boottime));
        let real = ns(clock_gettime(ClockId::Realtime));
        ClockShift(real - boot)
    }

    fn shift(self, ts: u64) -> u64 {
        (ts as i128 + self.0).clamp(0, u64::MAX as i128) as u64
    }

    /// Converts an event's timestamps (also a syscall's enter time).
    pub fn apply(self, e: &mut Event) {
        e.ts = self.shift(e.ts);
        if let EventKind::Syscall(sc) = &mut e.kind {
            sc.enter_ts = self.shift(sc.enter_ts);
        }
    }
}

/// Why a probe run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// Ctrl+C or SIGTERM.
    Signal,
    /// `--duration` elapsed.
    Duration,
    /// The traced command exited with this code (128 + signal when killed).
    CommandExited(i32),
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopReason::Signal => f.write_str("interrupted"),
            StopReason::Duration => f.write_str("duration reached"),
            StopReason::CommandExited(c) => write!(f, "command exited with status {c}"),
        }
    }
}

/// What a probe run did.
#[derive(Debug, Clone)]
pub struct RunEnd {
    /// Why it stopped.
    pub reason: StopReason,
    /// How long it ran.
    pub elapsed: Duration,
    /// Probe counters.
    pub stats: ProbeStats,
}

/// How to run the probe.
#[derive(Debug, Clone)]
pub struct RunSpec {
    /// Probe settings (the target is replaced by the command's pid when `cmd` is set).
    pub probe: ProbeConfig,
    /// A command to launch and follow.
    pub cmd: Vec<String>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Call `tick` this often.
    pub tick: Duration,
}

impl RunSpec {
    /// Markers of the whole machine (no command), for `duration` (or until stopped),
    /// ticking every `tick`.
    pub fn machine_spans(duration: Option<Duration>, tick: Duration) -> RunSpec {
        RunSpec {
            probe: ProbeConfig {
                target: Target::All,
                spans_only: true,
                ..ProbeConfig::default()
            },
            cmd: Vec::new(),
            duration,
            tick,
        }
    }
}

/// The flag set by SIGINT and SIGTERM, installed once per process (the first signal of
/// each kind only sets it; a second one kills the process the default way, in case
/// stopping hangs). Call it early so that a signal during start-up is not fatal.
pub fn stop_flag() -> Result<Arc<AtomicBool>> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    if let Some(f) = FLAG.get() {
        return Ok(Arc::clone(f));
    }
    let flag = Arc::new(AtomicBool::new(false));
    for sig in [SIGINT, SIGTERM] {
        signal_hook::flag::register_conditional_default(sig, Arc::clone(&flag))
            .context("cannot install the signal handler")?;
        signal_hook::flag::register(sig, Arc::clone(&flag))
            .context("cannot install the signal handler")?;
    }
    Ok(Arc::clone(FLAG.get_or_init(|| flag)))
}

/// Loads the probe, feeds `on_event` the /proc snapshot and then every event (with
/// wall-clock timestamps) until a stop condition, calls `tick` regularly, and drains
/// the probe at the end.
pub fn run_probe(
    spec: RunSpec,
    on_event: &mut dyn FnMut(Event),
    tick: &mut dyn FnMut(&Probe, Duration),
) -> Result<RunEnd> {
    let stop = stop_flag()?;
    let mut cfg = spec.probe;
    let paused = if spec.cmd.is_empty() {
        None
    } else {
        let child = PausedChild::spawn(&spec.cmd)
            .with_context(|| format!("cannot start {:?}", spec.cmd.join(" ")))?;
        cfg.target = Target::Command(child.pid());
        Some(child)
    };
    // On error the paused child is dropped, which kills it.
    let mut probe = Probe::load(cfg).map_err(|e| anyhow!("cannot start the eBPF probe: {e}"))?;
    let clock = ClockShift::now();
    let mut deliver = |mut e: Event| {
        clock.apply(&mut e);
        on_event(e);
    };
    for e in probe.snapshot() {
        deliver(e);
    }
    let exited = Arc::new(AtomicBool::new(false));
    let code = Arc::new(AtomicI32::new(0));
    if let Some(child) = paused {
        let mut child = child
            .resume()
            .with_context(|| format!("cannot start {:?}", spec.cmd.join(" ")))?;
        let (exited, code) = (Arc::clone(&exited), Arc::clone(&code));
        std::thread::spawn(move || {
            let c = child.wait().unwrap_or(-1);
            code.store(c, Ordering::SeqCst);
            exited.store(true, Ordering::SeqCst);
        });
    }
    let start = Instant::now();
    let mut last_tick = start;
    let reason = loop {
        if let Err(e) = probe.poll(Duration::from_millis(50), &mut deliver) {
            // A signal interrupts the wait (EINTR): ours means stop, others are retried.
            if stop.load(Ordering::SeqCst) {
                break StopReason::Signal;
            }
            if !e.to_string().contains("Interrupted system call") {
                return Err(anyhow!("reading the probe: {e}"));
            }
        }
        let now = Instant::now();
        if now - last_tick >= spec.tick {
            last_tick = now;
            tick(&probe, now - start);
        }
        if stop.load(Ordering::SeqCst) {
            break StopReason::Signal;
        }
        if exited.load(Ordering::SeqCst) {
            break StopReason::CommandExited(code.load(Ordering::SeqCst));
        }
        if spec.duration.is_some_and(|d| now - start >= d) {
            break StopReason::Duration;
        }
    };
    let elapsed = start.elapsed();
    let stats = probe
        .finish(&mut deliver)
        .map_err(|e| anyhow!("stopping the probe: {e}"))?;
    Ok(RunEnd {
        reason,
        elapsed,
        stats,
    })
}

/// `tracer summary --live`: the whole machine, the table refreshed in place.
pub fn summary(args: SummaryArgs, out: &Output) -> Result<()> {
    let filter = compile_filter(args.filter.as_deref())?;
    let prefix = tag_prefix(args.tag.as_deref());
    let spec = RunSpec::machine_spans(args.duration, args.interval);
    let engine = RefCell::new(Engine::new(EngineConfig::default()));
    let tags = RefCell::new(FilteredTags::new(filter.as_ref()));
    let draw = |final_table: bool| -> Result<()> {
        let rows = match &filter {
            None => {
                let eng = engine.borrow();
                eng.tag_table().rows(eng.fds())
            }
            Some(_) => tags.borrow().rows(),
        };
        let s = summary::build(&rows, &prefix);
        if args.json {
            return out.json(&s);
        }
        let mut text = String::new();
        if out.tty && !final_table {
            // Home + clear: redraw in place.
            text.push_str("\x1b[H\x1b[2J");
        }
        text.push_str(&summary::render(&s, out.color));
        if !out.tty {
            text.push('\n');
        }
        Ok(out.print(&text)?)
    };
    let mut draw_err = None;
    let end = run_probe(
        spec,
        &mut |e| match &filter {
            None => engine.borrow_mut().process(&e, &mut NoConsumer),
            Some(_) => engine.borrow_mut().process(&e, &mut *tags.borrow_mut()),
        },
        &mut |_, _| {
            if let Err(e) = draw(false) {
                draw_err.get_or_insert(e);
            }
        },
    )?;
    if let Some(e) = draw_err {
        return Err(e);
    }
    draw(true)?;
    eprintln!(
        "tracer: {} after {:.1}s, {} events dropped",
        end.reason,
        end.elapsed.as_secs_f64(),
        end.stats.dropped
    );
    Ok(())
}

/// `tracer statsd --live`: a timer per span as spans finish on this machine.
pub fn statsd(args: StatsdArgs, out: &Output) -> Result<()> {
    let _ = out;
    let filter = compile_filter(args.filter.as_deref())?;
    let mut sender = StatsdSender::new(args.to, args.prefix.clone(), filter.as_ref())?;
    sender.echo_json = args.json;
    let mut engine = Engine::new(EngineConfig::default());
    let spec = RunSpec::machine_spans(args.duration, Duration::from_secs(3600));
    run_probe(
        spec,
        &mut |e| engine.process(&e, &mut sender),
        &mut |_, _| {},
    )?;
    engine.finish(&mut sender);
    report(&sender);
    Ok(())
}
