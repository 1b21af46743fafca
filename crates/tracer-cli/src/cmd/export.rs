//! `tracer export otlp`: replay a capture and send one OpenTelemetry span per
//! reconstructed span, with its syscall I/O, to an OTLP/HTTP (protobuf) collector.
//! Also the pieces `tracer capture --otlp` shares (settings, final report).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use serde::Serialize;
use tracer_core::engine::{Engine, EngineConfig};
use tracer_otlp::{
    salt_from, ExportStats, Exporter, ExporterConfig, MapperConfig, MapperStats, OtlpConsumer,
};

use crate::cli::parse_duration;
use crate::output::Output;
use crate::pipeline::open_capture;

/// `tracer export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Where to.
    #[command(subcommand)]
    pub to: ExportTo,
}

/// Export destinations.
#[derive(Debug, Subcommand)]
pub enum ExportTo {
    /// Send spans with their syscall I/O to an OpenTelemetry collector (OTLP/HTTP protobuf).
    Otlp(OtlpArgs),
}

/// `tracer export otlp`.
#[derive(Debug, Args)]
pub struct OtlpArgs {
    /// Read events from this .scap capture.
    #[arg(short = 'r', long = "read", value_name = "FILE")]
    pub read: PathBuf,
    /// Collector URL: a base (`/v1/traces` is appended) or the full traces URL. Default:
    /// `$OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, else `$OTEL_EXPORTER_OTLP_ENDPOINT`, else
    /// http://127.0.0.1:4318.
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Export settings.
    #[command(flatten)]
    pub opts: OtlpOptions,
    /// Print the delivery statistics as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// OTLP settings shared by `export otlp` and `capture --otlp`.
#[derive(Debug, Args, Clone)]
pub struct OtlpOptions {
    /// `service.name` of every span (default: each process's executable name).
    #[arg(long, value_name = "NAME")]
    pub service_name: Option<String>,
    /// Extra HTTP header for the collector, `NAME=VALUE` (repeatable).
    #[arg(long = "otlp-header", value_name = "NAME=VALUE", value_parser = parse_header)]
    pub headers: Vec<(String, String)>,
    /// Spans per request.
    #[arg(long, default_value_t = 512, value_name = "N")]
    pub batch_size: usize,
    /// Spans queued before new ones are dropped (and counted).
    #[arg(long, default_value_t = 8192, value_name = "N")]
    pub queue: usize,
    /// Attempts per batch before its spans count as failed.
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub attempts: u32,
    /// Timeout of one request.
    #[arg(long, value_parser = parse_duration, default_value = "10s", value_name = "DURATION")]
    pub request_timeout: Duration,
}

fn parse_header(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("expected NAME=VALUE, got {s:?}")),
    }
}

impl OtlpOptions {
    /// The defaults, for `capture --otlp` (which has no OTLP tuning flags).
    pub fn default_for_capture() -> Self {
        OtlpOptions {
            service_name: None,
            headers: Vec::new(),
            batch_size: 512,
            queue: 8192,
            attempts: 5,
            request_timeout: Duration::from_secs(10),
        }
    }

    /// The exporter settings for `endpoint`.
    pub fn exporter(&self, endpoint: &str) -> Result<ExporterConfig> {
        if self.batch_size == 0 || self.queue == 0 || self.attempts == 0 {
            bail!("--batch-size, --queue and --attempts must be at least 1");
        }
        Ok(ExporterConfig {
            endpoint: endpoint.to_string(),
            queue_capacity: self.queue,
            batch_size: self.batch_size,
            max_attempts: self.attempts,
            request_timeout: self.request_timeout,
            headers: self.headers.clone(),
            ..ExporterConfig::default()
        })
    }
}

/// The endpoint: the flag, else the standard OpenTelemetry environment variables, else
/// a local collector.
fn endpoint(flag: Option<&str>) -> String {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    flag.map(str::to_string)
        .or_else(|| env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
        .or_else(|| env("OTEL_EXPORTER_OTLP_ENDPOINT"))
        .unwrap_or_else(|| "http://127.0.0.1:4318".to_string())
}

/// This machine's host name (empty when unknown).
pub fn local_host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// What an export did, for `--json`.
#[derive(Debug, Serialize)]
pub struct ExportSummary {
    /// The traces URL.
    pub url: String,
    /// Delivery counters.
    pub delivery: ExportStats,
    /// Mapping counters.
    pub mapping: MapperStats,
}

/// Prints the outcome on stderr and turns undelivered spans into an error.
pub fn finish(summary: &ExportSummary) -> Result<()> {
    let d = &summary.delivery;
    let plural = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    eprintln!(
        "tracer: sent {} of {} spans to {} in {} ({})",
        d.sent,
        d.submitted,
        summary.url,
        plural(d.requests, "request", "requests"),
        plural(d.retries, "retry", "retries"),
    );
    if summary.mapping.invalid_traceparents > 0 {
        eprintln!(
            "tracer: warning: {} root spans had an invalid traceparent arg (started new traces)",
            summary.mapping.invalid_traceparents
        );
    }
    if summary.mapping.dropped_attributes > 0 {
        eprintln!(
            "tracer: warning: {} attributes dropped to stay within 128 per span",
            summary.mapping.dropped_attributes
        );
    }
    Exporter::check(d, &summary.url)?;
    Ok(())
}

/// `tracer export`.
pub fn run(args: ExportArgs, out: &Output) -> Result<()> {
    match args.to {
        ExportTo::Otlp(a) => otlp(a, out),
    }
}

fn otlp(args: OtlpArgs, out: &Output) -> Result<()> {
    let mut reader = open_capture(&args.read)?;
    let exporter = Exporter::start(args.opts.exporter(&endpoint(args.endpoint.as_deref()))?)?;
    let host = reader
        .machine_info()
        .map(|m| m.hostname.clone())
        .filter(|h| !h.is_empty());
    let read_err = |e| anyhow::anyhow!("cannot read {}: {e}", args.read.display());
    let first = reader.next_event().map_err(read_err)?;
    // Same capture → same ids, so exporting twice does not duplicate traces.
    let first_ts = first.as_ref().map_or(0, |e| e.ts);
    let salt = salt_from(format!("{}\0{first_ts}", host.as_deref().unwrap_or("")).as_bytes());
    let mut consumer = OtlpConsumer::new(
        MapperConfig {
            salt,
            host_name: host,
            service_name: args.opts.service_name.clone(),
            ..MapperConfig::default()
        },
        &exporter,
    );
    let mut engine = Engine::new(EngineConfig::default());
    let mut next = first;
    let mut failure = None;
    while let Some(ev) = next {
        engine.process(&ev, &mut consumer);
        next = match reader.next_event() {
            Ok(n) => n,
            Err(e) => {
                // Keep what was read: finish the engine and deliver those spans first.
                failure = Some(read_err(e));
                None
            }
        };
    }
    engine.finish(&mut consumer);
    for w in reader.warnings() {
        eprintln!("tracer: warning: {}: {w}", args.read.display());
    }
    let mapping = consumer.mapper().stats();
    drop(consumer);
    let url = exporter.url().to_string();
    let summary = ExportSummary {
        url,
        delivery: exporter.finish(),
        mapping,
    };
    if args.json {
        out.json(&summary)?;
    }
    finish(&summary)?;
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
