//! `tracer by FIELD`: sysdig's `fdbytes_by` generalised: I/O bytes (or event count, or
//! time in syscalls) grouped by the value of any field of the catalog.
//!
//! As in the chisel, `bytes` adds up `evt.rawres` of the exit lines with
//! `evt.is_io=true and evt.failed=false`, skipping 0-byte results (so a key whose I/O
//! moved no bytes gets no row); lines whose key is NULL are skipped. `count`
//! counts every result line (syscall exit, marker, procexit); `time` adds up the
//! latency of syscall exits.

use anyhow::{bail, Result};
use rustc_hash::FxHashMap;
use serde::Serialize;
use tracer_core::engine::{Consumer, EngineConfig};
use tracer_core::event_view::EventView;
use tracer_core::filter::extract::extract;
use tracer_core::filter::fields::resolve;
use tracer_core::filter::lines::LineKind;
use tracer_core::filter::{EventSource, FieldRef, Filter};

use crate::cli::{ByArgs, Metric};
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
    sums: FxHashMap<String, usize>,
    rows: Vec<Row>,
}

impl Grouper<'_> {
    fn add(&mut self, key: String, value: u64) {
        match self.sums.get(&key) {
            Some(&i) => self.rows[i].value += value,
            None => {
                self.sums.insert(key.clone(), self.rows.len());
                self.rows.push(Row { key, value });
            }
        }
    }
}

impl Consumer for Grouper<'_> {
    fn event(&mut self, view: &EventView<'_>) {
        let mut found: Vec<(String, u64)> = Vec::new();
        let (field, metric) = (&self.field, self.metric);
        self.lines.for_each(view, |line| {
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
                found.push((key.to_string(), value));
            }
        });
        for (k, v) in found {
            self.add(k, v);
        }
    }
}

static IS_IO: std::sync::LazyLock<FieldRef> =
    std::sync::LazyLock::new(|| resolve("evt.is_io").expect("evt.is_io is in the catalog"));

/// Groups the views of a capture.
pub fn group(
    path: &std::path::Path,
    field_name: &str,
    metric: Metric,
    filter: Option<&Filter>,
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
    let mut g = Grouper {
        lines: Lines::new(filter),
        field,
        metric,
        sums: FxHashMap::default(),
        rows: Vec::new(),
    };
    replay(path, EngineConfig::default(), &mut g)?;
    let mut rows = g.rows;
    // Stable: ties keep first-seen order.
    rows.sort_by_key(|r| std::cmp::Reverse(r.value));
    Ok(Grouped {
        field: field_name.to_string(),
        metric: metric_name(metric),
        total: rows.iter().map(|r| r.value).sum(),
        rows,
    })
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
        format!("(no events with a value of {})\n", g.field)
    } else {
        t.render(color)
    }
}

/// `tracer by`.
pub fn run(args: ByArgs, out: &Output) -> Result<()> {
    let filter = compile_filter(args.input.filter.as_deref())?;
    let mut g = group(&args.input.read, &args.field, args.metric, filter.as_ref())?;
    if let Some(n) = args.top {
        g.rows.truncate(n);
    }
    if args.json {
        out.json(&g)
    } else {
        Ok(out.print(&render(&g, out.color))?)
    }
}
