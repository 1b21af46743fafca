//! `tracer summary`: csysdig's Traces Summary (and Spans Summary after `--tag`), one row
//! per tag at the drill-down depth, with latency quantiles and the spans' own I/O.

use std::collections::HashMap;

use anyhow::Result;
use serde::Serialize;
use tracer_core::engine::{EngineConfig, NoConsumer};
use tracer_core::tagstats::TagRow;
use tracer_core::views::{traces_summary, TracesSummary};

use crate::cli::SummaryArgs;
use crate::cmd::collect::FilteredTags;
use crate::output::Output;
use crate::pipeline::{compile_filter, replay, tag_prefix};
use crate::render::human::{bytes, duration};
use crate::render::table::{Align, Table};

/// One summary row, as printed and as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// Tag at this depth.
    pub tag: String,
    /// Exits of spans with exactly depth+1 tags under this key.
    pub hits: u64,
    /// Mean duration, ns.
    pub avg_ns: u64,
    /// Shortest, ns.
    pub min_ns: u64,
    /// Longest, ns.
    pub max_ns: u64,
    /// Median, ns.
    pub p50_ns: u64,
    /// 99th percentile, ns.
    pub p99_ns: u64,
    /// Exits of deeper spans under this key.
    pub chd_hits: u64,
    /// Spans still open at the end.
    pub never_closed: u64,
    /// Bytes read/received inside these spans (their own, not their children's).
    pub bytes_in: u64,
    /// Bytes written/sent.
    pub bytes_out: u64,
    /// Syscalls charged to these spans.
    pub syscalls: u64,
    /// Time inside those syscalls, ns.
    pub syscall_ns: u64,
}

/// The whole summary, as JSON.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Drill-down depth (0 = root tags).
    pub depth: usize,
    /// The tag path drilled into.
    pub prefix: Vec<String>,
    /// Rows, by hits descending.
    pub rows: Vec<Row>,
}

/// Joins the view's rows with the per-path statistics (quantiles, I/O).
pub fn build(tags: &[TagRow], prefix: &[Vec<u8>]) -> Summary {
    let view: TracesSummary = traces_summary(tags, prefix);
    let by_path: HashMap<&[Vec<u8>], &TagRow> =
        tags.iter().map(|t| (t.tags.as_slice(), t)).collect();
    let rows = view
        .rows
        .iter()
        .map(|r| {
            let mut path = prefix.to_vec();
            path.push(r.tag.clone());
            let stats = by_path.get(path.as_slice());
            let io = stats.map(|s| &s.io);
            Row {
                tag: String::from_utf8_lossy(&r.tag).into_owned(),
                hits: r.hits,
                avg_ns: r.avg_ns,
                min_ns: r.min_ns,
                max_ns: r.max_ns,
                p50_ns: stats.map_or(0, |s| s.p50_ns),
                p99_ns: stats.map_or(0, |s| s.p99_ns),
                chd_hits: r.chd_hits,
                never_closed: stats.map_or(0, |s| s.never_closed),
                bytes_in: io.map_or(0, |io| io.total.bytes_in),
                bytes_out: io.map_or(0, |io| io.total.bytes_out),
                syscalls: io.map_or(0, |io| io.syscalls),
                syscall_ns: io.map_or(0, |io| io.syscall_ns),
            }
        })
        .collect();
    Summary {
        depth: view.depth,
        prefix: prefix
            .iter()
            .map(|t| String::from_utf8_lossy(t).into_owned())
            .collect(),
        rows,
    }
}

/// The human table.
pub fn render(s: &Summary, color: bool) -> String {
    let mut t = Table::new([
        ("HITS", Align::Right),
        ("AVG TIME", Align::Right),
        ("MIN TIME", Align::Right),
        ("MAX TIME", Align::Right),
        ("P50", Align::Right),
        ("P99", Align::Right),
        ("CHD HITS", Align::Right),
        ("IN", Align::Right),
        ("OUT", Align::Right),
        ("TAG", Align::Left),
    ]);
    for r in &s.rows {
        t.push(vec![
            r.hits.to_string(),
            duration(r.avg_ns),
            duration(r.min_ns),
            duration(r.max_ns),
            duration(r.p50_ns),
            duration(r.p99_ns),
            r.chd_hits.to_string(),
            bytes(r.bytes_in),
            bytes(r.bytes_out),
            r.tag.clone(),
        ]);
    }
    let title = if s.prefix.is_empty() {
        "Traces Summary".to_string()
    } else {
        format!("Spans Summary: {}", s.prefix.join("."))
    };
    let mut out = format!("{title}\n");
    if t.is_empty() {
        out.push_str("(no spans)\n");
    } else {
        out.push_str(&t.render(color));
    }
    out
}

/// `tracer summary`.
pub fn run(args: SummaryArgs, out: &Output) -> Result<()> {
    if args.input.live {
        return crate::cmd::live::summary(args, out);
    }
    let path = args
        .input
        .read
        .as_deref()
        .expect("clap requires -r without --live");
    let filter = compile_filter(args.filter.as_deref())?;
    let prefix = tag_prefix(args.tag.as_deref());
    let tags = match &filter {
        None => {
            replay(path, EngineConfig::default(), &mut NoConsumer)?
                .report
                .tags
        }
        Some(f) => {
            let mut c = FilteredTags::new(Some(f));
            replay(path, EngineConfig::default(), &mut c)?;
            c.finish()
        }
    };
    let summary = build(&tags, &prefix);
    if args.json {
        out.json(&summary)
    } else {
        Ok(out.print(&render(&summary, out.color))?)
    }
}
