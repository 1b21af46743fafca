//! The command line: clap definitions only (no behaviour).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Capture application spans (sysdig tracers markers) with eBPF and see where their
/// time, file and network bytes go.
#[derive(Debug, Parser)]
#[command(name = "tracer", version, about, propagate_version = true)]
pub struct Cli {
    /// When to use colours: auto (only on a terminal, unless NO_COLOR is set), always, never.
    #[arg(long, value_enum, global = true, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// `--color` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal and NO_COLOR is not set.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the probe (optionally on a command) and write a .scap capture.
    Capture(CaptureArgs),
    /// Traces Summary: per tag at a depth, hits and latency, plus I/O (csysdig traces_summary).
    Summary(SummaryArgs),
    /// Traces List: one row per span, slowest first (csysdig traces_list).
    List(ListArgs),
    /// Traces Spectrogram: latency over time, in the terminal or as a PNG/SVG image.
    Spectro(SpectroArgs),
    /// Bytes (or count, or time) grouped by any field (sysdig fdbytes_by).
    By(ByArgs),
    /// List events, optionally with a sysdig-style -p format.
    Events(EventsArgs),
    /// The field catalog usable in filters, `by` and `-p` formats.
    Fields(FieldsArgs),
    /// Send a statsd timer per finished span (sysdig tracers_2_statsd).
    Statsd(StatsdArgs),
    /// Export spans with their syscall I/O (OpenTelemetry OTLP).
    Export(crate::cmd::export::ExportArgs),
}

/// What to trace during a capture.
#[derive(Debug, Args)]
#[group(required = false, multiple = false)]
pub struct Target {
    /// Trace these processes (and their children).
    #[arg(long, num_args = 1.., value_name = "PID")]
    pub pid: Vec<i32>,
    /// Trace processes with this command name (comm).
    #[arg(long, value_name = "NAME")]
    pub comm: Option<String>,
    /// Trace the whole machine.
    #[arg(long)]
    pub all: bool,
}

/// `tracer capture`.
#[derive(Debug, Args)]
pub struct CaptureArgs {
    /// Write the capture to this .scap file.
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    pub write: PathBuf,
    /// Which processes to trace (default: the command after `--`, else the whole machine).
    #[command(flatten)]
    pub target: Target,
    /// Stop after this long (e.g. 30s, 2m, 500ms).
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub duration: Option<Duration>,
    /// Bytes of payload kept per marker write (the probe's snap length).
    #[arg(long, value_name = "N")]
    pub snaplen: Option<u32>,
    /// Keep only marker writes and the I/O done while a span is open in the same process
    /// (its own thread's or another's: worker threads are kept).
    #[arg(long)]
    pub spans_only: bool,
    /// No live status line.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Also send finished spans, live, to this OpenTelemetry collector (OTLP/HTTP protobuf;
    /// `/v1/traces` is appended to a base URL). Never blocks the capture: overflow is counted.
    #[arg(long, value_name = "URL")]
    pub otlp: Option<String>,
    /// Command to launch and follow (with its children); the capture stops when it exits.
    #[arg(last = true, value_name = "CMD")]
    pub cmd: Vec<String>,
}

/// Where events come from: a capture file or the live probe.
#[derive(Debug, Args, Clone)]
pub struct Input {
    /// Read events from this .scap capture.
    #[arg(
        short = 'r',
        long = "read",
        value_name = "FILE",
        required_unless_present = "live"
    )]
    pub read: Option<PathBuf>,
    /// Run the probe on the whole machine instead of reading a file.
    #[arg(long, conflicts_with = "read")]
    pub live: bool,
}

/// A capture file and an optional filter on its events.
#[derive(Debug, Args, Clone)]
pub struct FileInput {
    /// Read events from this .scap capture.
    #[arg(short = 'r', long = "read", value_name = "FILE")]
    pub read: PathBuf,
    /// Filter expression.
    #[arg(value_name = "FILTER")]
    pub filter: Option<String>,
}

/// `tracer summary`.
#[derive(Debug, Args)]
pub struct SummaryArgs {
    /// Events source.
    #[command(flatten)]
    pub input: Input,
    /// Filter expression (sysdig syntax), e.g. `proc.name=nginx`.
    #[arg(value_name = "FILTER")]
    pub filter: Option<String>,
    /// Drill down: show the children of this tag path (dotted, e.g. `download_handler`).
    #[arg(long, value_name = "TAGS")]
    pub tag: Option<String>,
    /// Live mode: refresh interval.
    #[arg(long, value_parser = parse_duration, default_value = "2s", value_name = "DURATION")]
    pub interval: Duration,
    /// Live mode: stop after this long.
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub duration: Option<Duration>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `tracer list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Events source and filter.
    #[command(flatten)]
    pub input: FileInput,
    /// Drill down: list the child spans of this tag path.
    #[arg(long, value_name = "TAGS")]
    pub tag: Option<String>,
    /// Drill down into one span: list the children of the span that entered at this
    /// time (the ENTER_NS column of a previous listing).
    #[arg(long, value_name = "ENTER_NS")]
    pub parent: Option<u64>,
    /// Show at most N rows.
    #[arg(long, short = 'n', value_name = "N")]
    pub limit: Option<usize>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `tracer spectro`.
#[derive(Debug, Args)]
pub struct SpectroArgs {
    /// Events source and filter.
    #[command(flatten)]
    pub input: FileInput,
    /// Drill down: the spans one level below this tag path (default: root spans).
    #[arg(long, value_name = "TAGS")]
    pub tag: Option<String>,
    /// Length of one time slice (one row).
    #[arg(long, value_parser = parse_duration, default_value = "500ms", value_name = "DURATION")]
    pub interval: Duration,
    /// Latency columns (default: 80 in the terminal, 220 in images).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(2..=4096))]
    pub width: Option<u32>,
    /// Write a PNG image instead of drawing in the terminal.
    #[arg(long, value_name = "FILE", conflicts_with = "svg")]
    pub png: Option<PathBuf>,
    /// Write an SVG image instead of drawing in the terminal.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
    /// Image size in pixels, WIDTHxHEIGHT.
    #[arg(long, value_parser = parse_size, default_value = "1200x700", value_name = "WxH")]
    pub size: (u32, u32),
    /// Print the grid as JSON.
    #[arg(long)]
    pub json: bool,
}

/// What `tracer by` adds up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Metric {
    /// File and network bytes (read + written).
    Bytes,
    /// Number of events.
    Count,
    /// Time spent in syscalls.
    Time,
}

/// `tracer by`.
#[derive(Debug, Args)]
pub struct ByArgs {
    /// Field to group by, e.g. `evtin.span.tags`, `fd.name`, `proc.name`.
    #[arg(value_name = "FIELD")]
    pub field: String,
    /// Events source and filter.
    #[command(flatten)]
    pub input: FileInput,
    /// What to add up.
    #[arg(long, value_enum, default_value_t = Metric::Bytes)]
    pub metric: Metric,
    /// Show only the N largest groups.
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,
    /// Count only events done inside a span lasting at least this long (e.g. 500ms), on
    /// the span's writer thread between its enter and exit (thread scope, like
    /// `evtin.span.*`). Reads the capture twice.
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub span_min_duration: Option<Duration>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `tracer events`.
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Events source and filter.
    #[command(flatten)]
    pub input: FileInput,
    /// Output format with %field tokens, sysdig style (e.g. `%evt.num %proc.name %span.tags`).
    #[arg(short = 'p', long = "print", value_name = "FORMAT")]
    pub format: Option<String>,
    /// Stop after N events.
    #[arg(short = 'n', long, value_name = "N")]
    pub count: Option<usize>,
    /// One JSON object per line (the main fields; NULL ones left out).
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
}

/// `tracer fields`.
#[derive(Debug, Args)]
pub struct FieldsArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `tracer statsd`.
#[derive(Debug, Args)]
pub struct StatsdArgs {
    /// Events source.
    #[command(flatten)]
    pub input: Input,
    /// Filter expression (applied to the span exits).
    #[arg(value_name = "FILTER")]
    pub filter: Option<String>,
    /// statsd server.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8125", value_parser = parse_addr)]
    pub to: SocketAddr,
    /// Prefix for every metric name (a `.` is added).
    #[arg(long, value_name = "P")]
    pub prefix: Option<String>,
    /// Live mode: stop after this long.
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub duration: Option<Duration>,
    /// Print each datagram as JSON after sending it.
    #[arg(long)]
    pub json: bool,
}

/// Parses `30s`, `500ms`, `2m`, `1h30m`; a bare number means seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Ok(Duration::from_secs_f64(secs));
        }
    }
    humantime::parse_duration(s).map_err(|e| format!("bad duration {s:?}: {e}"))
}

/// Largest image area accepted (pixels): 32 Mpx, about 96 MiB of bitmap.
const MAX_PIXELS: u64 = 32 << 20;

/// Parses `WIDTHxHEIGHT` (each side 16 … 8192, at most 32 Mpx in all).
pub fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("bad size {s:?}: expected WIDTHxHEIGHT, e.g. 1200x700"))?;
    let p = |v: &str| -> Result<u32, String> {
        let n: u32 = v.trim().parse().map_err(|_| format!("bad size {s:?}"))?;
        if (16..=8192).contains(&n) {
            Ok(n)
        } else {
            Err(format!("bad size {s:?}: each side must be 16…8192 pixels"))
        }
    };
    let (w, h) = (p(w)?, p(h)?);
    if w as u64 * h as u64 > MAX_PIXELS {
        return Err(format!(
            "bad size {s:?}: at most {MAX_PIXELS} pixels in all"
        ));
    }
    Ok((w, h))
}

/// Parses `HOST:PORT` (resolving the host name).
pub fn parse_addr(s: &str) -> Result<SocketAddr, String> {
    use std::net::ToSocketAddrs;
    s.to_socket_addrs()
        .map_err(|e| format!("bad address {s:?}: {e}"))?
        .next()
        .ok_or_else(|| format!("bad address {s:?}: no address found"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn sizes_and_addresses() {
        assert_eq!(parse_size("640x360").unwrap(), (640, 360));
        assert!(parse_size("640").is_err());
        assert!(parse_size("0x10").is_err());
        assert!(parse_size("8192x8192").is_err());
        assert_eq!(parse_size("8192x4096").unwrap(), (8192, 4096));
        assert_eq!(
            parse_addr("127.0.0.1:9125").unwrap(),
            "127.0.0.1:9125".parse().unwrap()
        );
        assert!(parse_addr("nohost").is_err());
    }

    #[test]
    fn capture_command_after_double_dash() {
        let cli = Cli::try_parse_from([
            "tracer", "capture", "-w", "t.scap", "--", "sh", "-c", "true",
        ])
        .unwrap();
        let Command::Capture(c) = cli.command else {
            panic!()
        };
        assert_eq!(c.cmd, ["sh", "-c", "true"]);
        assert!(
            Cli::try_parse_from(["tracer", "capture", "-w", "x", "--all", "--comm", "a"]).is_err()
        );
    }

    #[test]
    fn by_takes_field_then_filter() {
        let cli = Cli::try_parse_from([
            "tracer",
            "by",
            "fd.name",
            "-r",
            "c.scap",
            "fd.type=file",
            "--top",
            "3",
        ])
        .unwrap();
        let Command::By(b) = cli.command else {
            panic!()
        };
        assert_eq!(b.field, "fd.name");
        assert_eq!(b.input.filter.as_deref(), Some("fd.type=file"));
        assert_eq!(b.top, Some(3));
        assert!(Cli::try_parse_from(["tracer", "summary"]).is_err());
    }
}
