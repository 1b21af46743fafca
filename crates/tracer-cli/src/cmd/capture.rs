//! `tracer capture`: run the probe (optionally on a launched command and its children),
//! write a `.scap` capture, show a live status line, end with a one-screen summary.

use std::cell::{Cell, RefCell};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tracer_core::engine::{Engine, EngineConfig, NoConsumer};
use tracer_core::event::Event;
use tracer_otlp::{salt_from, Exporter, MapperConfig, OtlpConsumer};
use tracer_probe::{ProbeConfig, Target};
use tracer_scap::{ScapWriter, WriterOptions};

use crate::cli::CaptureArgs;
use crate::cmd::live::{run_probe, stop_flag, RunSpec};
use crate::cmd::{export, summary};
use crate::output::Output;
use crate::render::human::{bytes, rate};

/// Rows of the traces summary shown at the end.
const SUMMARY_ROWS: usize = 10;

/// Chooses what to record from the arguments.
fn target(args: &CaptureArgs) -> Result<Target> {
    let t = &args.target;
    let selectors =
        usize::from(!t.pid.is_empty()) + usize::from(t.comm.is_some()) + usize::from(t.all);
    if !args.cmd.is_empty() {
        if selectors > 0 {
            bail!("give either a command after `--` or one of --pid/--comm/--all, not both");
        }
        // Replaced by the launched command's pid.
        return Ok(Target::All);
    }
    if !t.pid.is_empty() {
        return Ok(Target::Pids(t.pid.clone()));
    }
    if let Some(c) = &t.comm {
        return Ok(Target::Comm(c.clone()));
    }
    if t.all {
        return Ok(Target::All);
    }
    bail!("say what to capture: `-- COMMAND ARGS…`, --pid PID, --comm NAME or --all")
}

/// `tracer capture`.
pub fn run(args: CaptureArgs, out: &Output) -> Result<()> {
    // Before anything slow: Ctrl+C during start-up must still end cleanly.
    stop_flag()?;
    let target = target(&args)?;
    let snaplen = args.snaplen.unwrap_or(4096) as usize;
    if !(1..=4096).contains(&snaplen) {
        bail!("--snaplen must be between 1 and 4096 bytes (got {snaplen})");
    }
    let mut writer = ScapWriter::create(
        &args.write,
        WriterOptions {
            marker_limit: snaplen,
            ..WriterOptions::default()
        },
    )
    .with_context(|| format!("cannot create {}", args.write.display()))?;
    // Live OTLP export (validated before the probe starts); spans only, never blocking.
    let exporter = match &args.otlp {
        Some(url) => Some(Exporter::start(
            export::OtlpOptions::default_for_capture().exporter(url)?,
        )?),
        None => None,
    };
    let mut otlp = exporter.as_ref().map(|ex| {
        let host = export::local_host_name();
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        OtlpConsumer::new(
            MapperConfig {
                salt: salt_from(format!("{host}\0{started}").as_bytes()),
                host_name: Some(host).filter(|h| !h.is_empty()),
                ..MapperConfig::default()
            },
            ex,
        )
    });
    let spec = RunSpec {
        probe: ProbeConfig {
            target,
            spans_only: args.spans_only,
            payload_max: snaplen,
            ..ProbeConfig::default()
        },
        cmd: args.cmd.clone(),
        duration: args.duration,
        tick: Duration::from_millis(250),
    };
    let status = if args.quiet {
        ProgressBar::hidden()
    } else {
        let pb = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        pb.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("valid template"));
        pb
    };
    let engine = RefCell::new(Engine::new(EngineConfig::default()));
    let mut events: u64 = 0;
    let last_tick = Cell::new((0u64, Duration::ZERO));
    let mut write_err: Option<std::io::Error> = None;
    let result = run_probe(
        spec,
        &mut |e: Event| {
            events += 1;
            match otlp.as_mut() {
                Some(c) => engine.borrow_mut().process(&e, c),
                None => engine.borrow_mut().process(&e, &mut NoConsumer),
            }
            if write_err.is_none() {
                if let Err(err) = writer.write_event(&e) {
                    write_err = Some(err);
                }
            }
        },
        &mut |probe, elapsed| {
            let engine = engine.borrow();
            let c = engine.counts();
            // Rate over the last tick, not since the start.
            let (n0, t0) = last_tick.replace((c.events, elapsed));
            let dt = (elapsed - t0).as_secs_f64().max(1e-3);
            let otlp_status = exporter.as_ref().map_or(String::new(), |ex| {
                let st = ex.stats();
                format!(
                    " · otlp {} sent / {} not delivered",
                    st.sent,
                    st.undelivered()
                )
            });
            status.set_message(format!(
                "{:.1}s · {} events ({}/s) · spans {} open / {} closed · {} dropped{otlp_status}",
                elapsed.as_secs_f64(),
                c.events,
                rate(c.events.saturating_sub(n0) as f64 / dt),
                engine.open_spans().len(),
                c.closed_spans,
                probe.stats().dropped
            ));
            status.tick();
        },
    );
    status.finish_and_clear();
    let end = match result {
        Ok(end) => end,
        Err(e) => {
            // Nothing useful was recorded: do not leave a broken file behind.
            drop(writer);
            let _ = std::fs::remove_file(&args.write);
            return Err(e);
        }
    };
    if let Some(e) = write_err {
        return Err(e).with_context(|| format!("cannot write {}", args.write.display()));
    }
    let (_, wstats) = writer
        .finish()
        .with_context(|| format!("cannot write {}", args.write.display()))?;
    let report = match otlp.as_mut() {
        Some(c) => engine.into_inner().finish(c),
        None => engine.into_inner().finish(&mut NoConsumer),
    };
    let mapping = otlp.map(|c| c.mapper().stats());
    let otlp_summary = exporter.map(|ex| export::ExportSummary {
        url: ex.url().to_string(),
        delivery: ex.finish(),
        mapping: mapping.unwrap_or_default(),
    });
    let c = &report.counts;
    let size = std::fs::metadata(&args.write)
        .map(|m| m.len())
        .unwrap_or(wstats.bytes);
    let secs = end.elapsed.as_secs_f64().max(1e-3);
    let mut text = format!(
        "Capture stopped: {} after {:.2}s\n\
         events   {} ({}/s), {} written, {} dropped by the kernel ring buffer\n\
         spans    {} closed, {} still open, {} unmatched exits, {} invalid markers\n\
         file     {} ({})\n",
        end.reason,
        end.elapsed.as_secs_f64(),
        events,
        rate(events as f64 / secs),
        wstats.events,
        end.stats.dropped,
        c.closed_spans,
        c.never_closed,
        c.unmatched_exits,
        c.invalid_markers,
        args.write.display(),
        bytes(size),
    );
    let mut s = summary::build(&report.tags, &[]);
    if !s.rows.is_empty() {
        let more = s.rows.len().saturating_sub(SUMMARY_ROWS);
        s.rows.truncate(SUMMARY_ROWS);
        text.push('\n');
        text.push_str(&summary::render(&s, out.color));
        if more > 0 {
            text.push_str(&format!("… and {more} more tags\n"));
        }
    }
    text.push_str(&format!(
        "\nNext: tracer summary -r {0} | tracer list -r {0} | tracer by evtin.span.tags -r {0}\n",
        args.write.display()
    ));
    out.print(&text)?;
    if let super::live::StopReason::CommandExited(code) = end.reason {
        if code != 0 {
            eprintln!("tracer: note: the traced command exited with status {code}");
        }
    }
    // The capture is complete either way; undelivered spans are reported last.
    if let Some(summary) = &otlp_summary {
        export::finish(summary)?;
    }
    Ok(())
}
