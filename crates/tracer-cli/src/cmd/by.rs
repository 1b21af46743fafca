//! `tracer by FIELD`: sysdig's `fdbytes_by` generalised: I/O bytes (or event count, or
//! time in syscalls) grouped by the value of any field of the catalog.
//!
//! As in the chisel, `bytes` adds up `evt.rawres` of the exit lines with
//! `evt.is_io=true and evt.failed=false`, skipping 0-byte results (so a key whose I/O
//! moved no bytes gets no row); lines whose key is NULL are skipped. `count`
//! counts every result line (syscall exit, marker, procexit); `time` adds up the
//! latency of syscall exits.
//!
//! With `--span-min-duration D` a first pass over the capture finds, per writer
//! thread, the time windows of the spans that lasted at least D; the second pass counts
//! only events whose thread and (exit) timestamp fall inside one of those windows.

use anyhow::{bail, Result};
use rustc_hash::FxHashMap;
use serde::Serialize;
use tracer_core::engine::{Consumer, EngineConfig};
use tracer_core::event_view::EventView;
use tracer_core::filter::extract::extract;
use tracer_core::filter::fields::resolve;
use tracer_core::filter::lines::LineKind;
use tracer_core::filter::{EventSource, FieldRef, Filter};
use tracer_core::spans::SpanRecord;
use tracer_core::views::{ByField, BytesBy};

use crate::cli::{ByArgs, Metric};
use crate::cmd::collect::ClosedSpans;
use crate::output::Output;
use crate::pipeline::{compile_filter, replay, Lines};
use crate::render::human::{bytes, duration};
use crate::render::table::{Align, Table};

/// One group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// The field's value.
    pub key: String,
    /// Bytes, events or nanoseconds.
    pub value: u64,
}

/// The grouped table, as JSON.
#[derive(Debug, Clone, Serialize)]
pub struct Grouped {
    /// The field grouped on.
    pub field: String,
    /// `bytes`, `count` or `time` (ns).
    pub metric: &'static str,
    /// Groups, largest first (ties: first seen first).
    pub rows: Vec<Row>,
    /// Sum over all groups (before `--top`).
    pub total: u64,
    /// With `--span-min-duration`: the threshold, ns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span_min_duration_ns: Option<u64>,
    /// With `--span-min-duration`: how many closed spans lasted at least that long.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slow_spans: Option<usize>,
}

/// Per writer thread, the merged `[enter_ts, exit_ts]` windows of the closed spans that
/// lasted at least a threshold.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SlowWindows {
    by_tid: FxHashMap<i64, Vec<(u64, u64)>>,
    /// Number of spans that made the threshold.
    pub spans: usize,
}

impl SlowWindows {
    /// The windows of the closed `spans` with a duration of at least `min_ns`.
    pub fn new(spans: &[SpanRecord], min_ns: u64) -> Self {
        Self::from_windows(spans.iter().filter_map(|s| {
            let (exit, d) = (s.exit_ts?, s.duration_ns?);
            (d >= min_ns).then_some((s.writer_tid, s.enter_ts, exit))
        }))
    }

    /// Windows from `(tid, start, end)` triples, merged per thread.
    pub fn from_windows(windows: impl IntoIterator<Item = (i64, u64, u64)>) -> Self {
        let mut w = SlowWindows::default();
        for (tid, start, end) in windows {
            w.spans += 1;
            w.by_tid
                .entry(tid)
                .or_default()
                .push((start, end.max(start)));
        }
        for v in w.by_tid.values_mut() {
            v.sort_unstable();
            let mut merged: Vec<(u64, u64)> = Vec::with_capacity(v.len());
            for &(a, b) in v.iter() {
                match merged.last_mut() {
                    Some(last) if a <= last.1 => last.1 = last.1.max(b),
                    _ => merged.push((a, b)),
                }
            }
            *v = merged;
        }
        w
    }

    /// True when thread `tid` was inside a slow span at `ts` (bounds included).
    pub fn contains(&self, tid: i64, ts: u64) -> bool {
        let Some(v) = self.by_tid.get(&tid) else {
            return false;
        };
        // The last window starting at or before `ts`.
        let i = v.partition_point(|&(a, _)| a <= ts);
        i > 0 && ts <= v[i - 1].1
    }
}

fn metric_name(m: Metric) -> &'static str {
    match m {
        Metric::Bytes => "bytes",
        Metric::Count => "count",
        Metric::Time => "time",
    }
}

/// Sums per key, keeping first-seen order.
struct Grouper<'f> {
    lines: Lines<'f>,
    field: FieldRef,
    metric: Metric,
    slow: Option<&'f SlowWindows>,
    sums: FxHashMap<String, usize>,
    rows: Vec<Row>,
    /// Keys and values found in the current view (reused).
    found: Vec<(std::ops::Range<usize>, u64)>,
    /// Text of those keys, back to back (reused).
    text: String,
}

/// Adds `value` to the row of `key`, created (last) when new.
fn add_to(sums: &mut FxHashMap<String, usize>, rows: &mut Vec<Row>, key: &str, value: u64) {
    match sums.get(key) {
        Some(&i) => rows[i].value += value,
        None => {
            sums.insert(key.to_string(), rows.len());
            rows.push(Row {
                key: key.to_string(),
                value,
            });
        }
    }
}

impl Consumer for Grouper<'_> {
    fn event(&mut self, view: &EventView<'_>) {
        use std::fmt::Write;
        let (field, metric) = (&self.field, self.metric);
        let inside = self
            .slow
            .is_none_or(|w| w.contains(view.event.tid, view.event.ts));
        let (found, text) = (&mut self.found, &mut self.text);
        found.clear();
        text.clear();
        // Every view goes through the splitter so that event numbers stay right.
        self.lines.for_each(view, |line| {
            if !inside {
                return;
            }
            let value = match (metric, line.kind) {
                (Metric::Count, LineKind::SyscallExit | LineKind::Marker | LineKind::ProcExit) => 1,
                (Metric::Time, LineKind::SyscallExit) => line
                    .syscall()
                    .map_or(0, |s| line.ts().saturating_sub(s.enter_ts)),
                (Metric::Bytes, LineKind::SyscallExit) => {
                    let io = matches!(
                        extract(&IS_IO, line),
                        Some(tracer_core::filter::Value::Bool(true))
                    );
                    match line.syscall() {
                        // The chisel adds only values > 0.
                        Some(s) if io && s.res > 0 => s.res as u64,
                        _ => return,
                    }
                }
                _ => return,
            };
            if let Some(key) = extract(field, line) {
                let start = text.len();
                // Writing into a String cannot fail.
                let _ = write!(text, "{key}");
                found.push((start..text.len(), value));
            }
        });
        for (r, v) in self.found.drain(..) {
            add_to(&mut self.sums, &mut self.rows, &self.text[r], v);
        }
    }
    fn wants_spans(&self) -> bool {
        false
    }
}

/// The fast way to group bytes by a field [`BytesBy`] knows (no filter): the engine's
/// own table, keyed by interned ids, instead of a text key per event line. Gives the
/// same rows as the line-by-line [`Grouper`] (tested); `None` when a key is not valid
/// UTF-8 (the line path then merges keys by their displayed text).
struct FastBytes<'f> {
    table: BytesBy,
    slow: Option<&'f SlowWindows>,
}

impl Consumer for FastBytes<'_> {
    fn event(&mut self, view: &EventView<'_>) {
        if self
            .slow
            .is_none_or(|w| w.contains(view.event.tid, view.event.ts))
        {
            self.table.add(view);
        }
    }
    // The windows only narrow what the table adds: it needs what the table needs.
    fn wants_spans(&self) -> bool {
        self.table.wants_spans()
    }
    fn wants_tracer_views(&self) -> bool {
        self.table.wants_tracer_views()
    }
    fn wants_quiet_syscall_views(&self) -> bool {
        self.table.wants_quiet_syscall_views()
    }
}

impl FastBytes<'_> {
    /// The rows, largest first (ties: first seen first), or `None` for non-UTF-8 keys.
    fn rows(&self) -> Option<Vec<Row>> {
        self.table
            .table()
            .rows
            .into_iter()
            .map(|(k, value)| {
                Some(Row {
                    key: String::from_utf8(k.0).ok()?,
                    value,
                })
            })
            .collect()
    }
}

static IS_IO: std::sync::LazyLock<FieldRef> =
    std::sync::LazyLock::new(|| resolve("evt.is_io").expect("evt.is_io is in the catalog"));

/// Groups the views of a capture; with `span_min_ns`, only the events inside spans
/// that lasted at least that long (see [`SlowWindows`]).
pub fn group(
    path: &std::path::Path,
    field_name: &str,
    metric: Metric,
    filter: Option<&Filter>,
    span_min_ns: Option<u64>,
) -> Result<Grouped> {
    let field = match resolve(field_name) {
        Ok(f) => f,
        Err(e) => match e.suggestion {
            Some(s) => bail!(
                "unknown field {field_name:?}: {} (did you mean '{s}'?)",
                e.message
            ),
            None => bail!("unknown field {field_name:?}: {}", e.message),
        },
    };
    let slow = match span_min_ns {
        Some(min) => {
            let mut closed = ClosedSpans::new(None);
            replay(path, EngineConfig::default(), &mut closed)?;
            Some(SlowWindows::new(&closed.spans, min))
        }
        None => None,
    };
    let rows = match (metric, filter, ByField::parse(field_name)) {
        (Metric::Bytes, None, Some(by)) => {
            let mut fast = FastBytes {
                table: BytesBy::new(by),
                slow: slow.as_ref(),
            };
            replay(path, EngineConfig::default(), &mut fast)?;
            match fast.rows() {
                Some(rows) => rows,
                None => group_lines(path, field, metric, filter, slow.as_ref())?,
            }
        }
        _ => group_lines(path, field, metric, filter, slow.as_ref())?,
    };
    Ok(Grouped {
        field: field_name.to_string(),
        metric: metric_name(metric),
        total: rows.iter().map(|r| r.value).sum(),
        rows,
        span_min_duration_ns: span_min_ns,
        slow_spans: slow.map(|w| w.spans),
    })
}

/// Groups line by line (any field, metric and filter): rows largest first, ties in
/// first-seen order.
fn group_lines(
    path: &std::path::Path,
    field: FieldRef,
    metric: Metric,
    filter: Option<&Filter>,
    slow: Option<&SlowWindows>,
) -> Result<Vec<Row>> {
    let mut g = Grouper {
        lines: Lines::new(filter),
        field,
        metric,
        slow,
        sums: FxHashMap::default(),
        rows: Vec::new(),
        found: Vec::new(),
        text: String::new(),
    };
    replay(path, EngineConfig::default(), &mut g)?;
    let mut rows = g.rows;
    // Stable: ties keep first-seen order.
    rows.sort_by_key(|r| std::cmp::Reverse(r.value));
    Ok(rows)
}

/// The human table.
pub fn render(g: &Grouped, color: bool) -> String {
    let head = match g.metric {
        "bytes" => "BYTES",
        "count" => "EVENTS",
        _ => "TIME",
    };
    let mut t = Table::new([(head, Align::Right), (g.field.as_str(), Align::Left)]);
    for r in &g.rows {
        let v = match g.metric {
            "bytes" => bytes(r.value),
            "count" => r.value.to_string(),
            _ => duration(r.value),
        };
        t.push(vec![v, r.key.clone()]);
    }
    if t.is_empty() {
        match (g.slow_spans, g.span_min_duration_ns) {
            (Some(0), Some(min)) => format!("(no span lasted at least {})\n", duration(min)),
            _ => format!("(no events with a value of {})\n", g.field),
        }
    } else {
        t.render(color)
    }
}

/// `tracer by`.
pub fn run(args: ByArgs, out: &Output) -> Result<()> {
    let filter = compile_filter(args.input.filter.as_deref())?;
    let min = args
        .span_min_duration
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    let mut g = group(
        &args.input.read,
        &args.field,
        args.metric,
        filter.as_ref(),
        min,
    )?;
    if let Some(n) = args.top {
        g.rows.truncate(n);
    }
    if args.json {
        out.json(&g)
    } else {
        Ok(out.print(&render(&g, out.color))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_merge_per_thread_and_include_bounds() {
        let w = SlowWindows::from_windows([(1, 10, 20), (1, 15, 30), (1, 40, 50), (2, 100, 200)]);
        assert_eq!(w.spans, 4);
        assert_eq!(w.by_tid[&1], vec![(10, 30), (40, 50)]);
        for ts in [10, 25, 30, 40, 50] {
            assert!(w.contains(1, ts), "{ts}");
        }
        for ts in [0, 9, 31, 39, 51, 150] {
            assert!(!w.contains(1, ts), "{ts}");
        }
        assert!(w.contains(2, 150));
        assert!(!w.contains(2, 250));
        assert!(!w.contains(3, 15));
    }

    /// The fast `BytesBy` path gives exactly the rows of the line-by-line path, for
    /// every field it takes, on every sample capture (and with span windows).
    #[test]
    fn fast_bytes_equals_line_path_on_samples() {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/data/scap-samples"
        );
        let fields = [
            "fd.name",
            "fd.type",
            "proc.name",
            "evtin.span.tags",
            "evtin.span.id",
            "evtin.span.tag[0]",
            "evtin.span.tag[-1]",
            "evtin.span.p.tags",
            "evtin.span.s.tags",
            "evtin.span.m.tags",
            "evtin.span.m.tag[1]",
        ];
        let mut checked = 0;
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .expect("shared scap samples")
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "scap" || e == "gz"))
            .collect();
        entries.sort();
        for path in entries {
            let mut closed = ClosedSpans::new(None);
            replay(&path, EngineConfig::default(), &mut closed).unwrap();
            let windows = SlowWindows::new(&closed.spans, 1);
            for name in fields {
                let field = resolve(name).unwrap();
                for slow in [None, Some(&windows)] {
                    let mut fast = FastBytes {
                        table: BytesBy::new(ByField::parse(name).unwrap()),
                        slow,
                    };
                    replay(&path, EngineConfig::default(), &mut fast).unwrap();
                    let lines =
                        group_lines(&path, field.clone(), Metric::Bytes, None, slow).unwrap();
                    assert_eq!(
                        fast.rows().unwrap(),
                        lines,
                        "{} by {name} (windows: {})",
                        path.display(),
                        slow.is_some()
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked >= 100, "only {checked} comparisons");
        println!("checked {checked} (capture, field, windows) tables");
    }

    #[test]
    fn no_windows_contain_nothing() {
        let w = SlowWindows::from_windows([]);
        assert_eq!(w.spans, 0);
        assert!(!w.contains(1, 0));
    }
}
