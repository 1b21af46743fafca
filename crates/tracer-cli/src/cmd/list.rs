//! `tracer list`: csysdig's Traces List: one row per closed span at the drill-down
//! depth, slowest first, with its id, enter time, duration, tags and enter arguments.

use std::collections::HashMap;

use anyhow::Result;
use serde::Serialize;
use tracer_core::engine::EngineConfig;
use tracer_core::spans::SpanRecord;
use tracer_core::views::{traces_list, TraceRow};

use crate::cli::ListArgs;
use crate::cmd::collect::ClosedSpans;
use crate::output::Output;
use crate::pipeline::{compile_filter, replay, tag_prefix};
use crate::render::human::{duration, time_of_day};
use crate::render::table::{Align, Table};

/// One listed span.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// Span id.
    pub id: i64,
    /// Enter time, ns since the epoch (the drill-down key: `--parent`).
    pub enter_ns: u64,
    /// Duration, ns.
    pub duration_ns: u64,
    /// All tags, joined with `.`.
    pub tags: String,
    /// Enter arguments (`name=value,…`).
    pub args: String,
    /// Number of direct child spans.
    pub children: usize,
}

/// The listing, as JSON.
#[derive(Debug, Clone, Serialize)]
pub struct Listing {
    /// Depth of the rows.
    pub depth: usize,
    /// Rows, slowest first.
    pub rows: Vec<Row>,
}

/// Builds the listing: spans under the `prefix` path with exactly `prefix.len() + 1`
/// tags, or, with `parent`, the children of the span that entered at that time.
pub fn build(spans: &[SpanRecord], prefix: &[Vec<u8>], parent: Option<u64>) -> Listing {
    let under: Vec<SpanRecord> = spans
        .iter()
        .filter(|s| s.tags.len() > prefix.len() && s.tags[..prefix.len()] == *prefix)
        .cloned()
        .collect();
    let depth = match parent {
        // The children of one span sit one level below it.
        Some(t) => spans
            .iter()
            .find(|s| s.enter_ts == t)
            .map_or(prefix.len(), |p| p.tags.len()),
        None => prefix.len(),
    };
    let view = traces_list(&under, depth, parent);
    let by_seq: HashMap<u64, &SpanRecord> = under.iter().map(|s| (s.seq, s)).collect();
    let tags_of = |r: &TraceRow| -> String {
        by_seq
            .get(&r.seq)
            .map(|s| {
                s.tags
                    .iter()
                    .map(|t| String::from_utf8_lossy(t).into_owned())
                    .collect::<Vec<_>>()
                    .join(".")
            })
            .unwrap_or_else(|| String::from_utf8_lossy(&r.tag).into_owned())
    };
    Listing {
        depth: view.depth,
        rows: view
            .rows
            .iter()
            .map(|r| Row {
                id: r.id,
                enter_ns: r.time_ns,
                duration_ns: r.duration_ns,
                tags: tags_of(r),
                args: String::from_utf8_lossy(&r.args).into_owned(),
                children: r.children.len(),
            })
            .collect(),
    }
}

/// The human table.
pub fn render(l: &Listing, color: bool) -> String {
    let mut t = Table::new([
        ("ID", Align::Right),
        ("TIME", Align::Left),
        ("DURATION", Align::Right),
        ("CHD", Align::Right),
        ("ENTER_NS", Align::Right),
        ("TAGS", Align::Left),
        ("ARGS", Align::Left),
    ]);
    for r in &l.rows {
        t.push(vec![
            r.id.to_string(),
            time_of_day(r.enter_ns),
            duration(r.duration_ns),
            r.children.to_string(),
            r.enter_ns.to_string(),
            r.tags.clone(),
            r.args.clone(),
        ]);
    }
    if t.is_empty() {
        "(no spans)\n".to_string()
    } else {
        t.render(color)
    }
}

/// `tracer list`.
pub fn run(args: ListArgs, out: &Output) -> Result<()> {
    let filter = compile_filter(args.input.filter.as_deref())?;
    let prefix = tag_prefix(args.tag.as_deref());
    let mut c = ClosedSpans::new(filter.as_ref());
    replay(&args.input.read, EngineConfig::default(), &mut c)?;
    let mut listing = build(&c.spans, &prefix, args.parent);
    if let Some(n) = args.limit {
        listing.rows.truncate(n);
    }
    if args.json {
        out.json(&listing)
    } else {
        Ok(out.print(&render(&listing, out.color))?)
    }
}
