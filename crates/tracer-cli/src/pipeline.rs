//! Events in, engine views out: opens a capture, runs every event through the
//! [`Engine`], hands the views to a consumer, reports reader warnings, and shows a
//! progress spinner on a terminal for long files.

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tracer_core::engine::{Consumer, Engine, EngineConfig, Report};
use tracer_core::event::Event;
use tracer_core::event_view::EventView;
use tracer_core::filter::lines::{Line, LineSplitter};
use tracer_core::filter::Filter;
use tracer_scap::evtable::EVENT_TABLE;
use tracer_scap::{ScapError, ScapReader, ScapWarning, ThreadedReader, OTHER_EVENT_BASE};

/// Opens a capture file with a clear error when it is missing or not a capture.
pub fn open_capture(path: &Path) -> Result<ScapReader> {
    if !path.exists() {
        bail!("cannot open {}: no such file", path.display());
    }
    if path.is_dir() {
        bail!("cannot read {}: it is a directory", path.display());
    }
    ScapReader::open(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Compiles the optional filter argument; the error is one line with the position and a
/// suggestion.
pub fn compile_filter(text: Option<&str>) -> Result<Option<Filter>> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    match Filter::compile(text) {
        Ok(f) => Ok(Some(f)),
        Err(e) => bail!("bad filter {text:?}: {e}"),
    }
}

/// A capture being read: decoded on a second thread when the machine has more than one
/// CPU (the engine then runs alongside the decoding), else in line.
#[allow(clippy::large_enum_variant)] // one per replay, never moved in a loop
enum Source {
    Inline(ScapReader),
    Threaded(ThreadedReader),
}

impl Source {
    fn new(reader: ScapReader) -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        if cpus > 1 {
            Source::Threaded(reader.into_threaded())
        } else {
            Source::Inline(reader)
        }
    }

    fn next_ref(&mut self) -> Result<Option<&Event>, ScapError> {
        match self {
            Source::Inline(r) => r.next_ref(),
            Source::Threaded(r) => r.next_ref(),
        }
    }

    /// Damage notices (complete once the end was reached).
    fn warnings(&self) -> &[ScapWarning] {
        match self {
            Source::Inline(r) => r.warnings(),
            Source::Threaded(r) => r.warnings(),
        }
    }
}

/// For syscalls the event model has no kind for (`SyscallKind::Other`, numbered
/// [`OTHER_EVENT_BASE`] + the capture's enter event type): sysdig's event name and
/// whether the event uses its fd argument (`EF_USES_FD`), so that `evt.type` and
/// `fd.*` of those lines read as in `sysdig -r`.
fn capture_event(n: u32) -> Option<(&'static str, bool)> {
    /// sysdig's `EF_USES_FD` event flag.
    const EF_USES_FD: u32 = 1 << 2;
    let t = u16::try_from(n.checked_sub(OTHER_EVENT_BASE)?).ok()?;
    let info = EVENT_TABLE.get(usize::from(t))?;
    let exit_flags = EVENT_TABLE.get(usize::from(t) + 1).map_or(0, |e| e.flags);
    Some((info.name, (info.flags | exit_flags) & EF_USES_FD != 0))
}

/// Turns engine views into sysdig-style lines (numbered like `sysdig -r`) and applies
/// the user's filter to them. Feed it every view, in order.
#[derive(Debug)]
pub struct Lines<'f> {
    filter: Option<&'f Filter>,
    splitter: LineSplitter,
}

impl<'f> Lines<'f> {
    /// A splitter applying `filter` (none: every line passes).
    pub fn new(filter: Option<&'f Filter>) -> Self {
        Lines {
            filter,
            splitter: LineSplitter::new().with_type_names(capture_event),
        }
    }

    /// Calls `f` for every line of `view` that passes the filter.
    pub fn for_each(&mut self, view: &EventView<'_>, mut f: impl FnMut(&Line<'_, '_>)) {
        for line in self.splitter.split(view) {
            if self.filter.is_none_or(|flt| flt.matches(&line)) {
                f(&line);
            }
        }
    }

    /// True when the line carrying the view's result (the marker line of a marker, the
    /// exit line of a syscall) passes the filter. Without a filter always true.
    pub fn result_passes(&mut self, view: &EventView<'_>) -> bool {
        let Some(flt) = self.filter else {
            return true;
        };
        self.splitter
            .split(view)
            .last()
            .is_some_and(|line| flt.matches(&line))
    }
}

/// What a replay produced besides the consumer's own results.
#[derive(Debug)]
pub struct Replay {
    /// The engine's report.
    pub report: Report,
    /// Damage notices from the reader (already printed on stderr).
    #[allow(dead_code)]
    pub warnings: Vec<String>,
}

/// Runs every event of the capture at `path` through a fresh engine and `consumer`.
pub fn replay<C: Consumer>(path: &Path, config: EngineConfig, consumer: &mut C) -> Result<Replay> {
    replay_until(path, config, consumer, |_| false)
}

/// [`replay`], stopping early once `done(consumer)` is true (checked after each event).
pub fn replay_until<C: Consumer>(
    path: &Path,
    config: EngineConfig,
    consumer: &mut C,
    done: impl Fn(&C) -> bool,
) -> Result<Replay> {
    let mut reader = Source::new(open_capture(path)?);
    let spinner = spinner(path);
    let mut engine = Engine::new(config);
    let mut n: u64 = 0;
    while let Some(ev) = reader
        .next_ref()
        .with_context(|| format!("cannot read {}", path.display()))?
    {
        engine.process(ev, consumer);
        n += 1;
        if n.is_multiple_of(65_536) {
            spinner.set_message(format!("{n} events"));
        }
        if done(consumer) {
            break;
        }
    }
    spinner.finish_and_clear();
    let report = engine.finish(consumer);
    let warnings: Vec<String> = reader.warnings().iter().map(|w| w.to_string()).collect();
    for w in &warnings {
        eprintln!("tracer: warning: {}: {w}", path.display());
    }
    Ok(Replay { report, warnings })
}

/// A spinner on stderr (hidden unless stderr is a terminal).
fn spinner(path: &Path) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    pb.set_style(
        ProgressStyle::with_template("{spinner} reading {prefix}: {msg} ({elapsed})")
            .expect("valid template"),
    );
    pb.set_prefix(path.display().to_string());
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}

/// Splits a dotted tag path (`a.b`) into tags; empty → no prefix.
pub fn tag_prefix(tags: Option<&str>) -> Vec<Vec<u8>> {
    match tags {
        None | Some("") => Vec::new(),
        Some(t) => t.split('.').map(|s| s.as_bytes().to_vec()).collect(),
    }
}
