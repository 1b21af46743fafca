//! Traces/spans summary (by depth, with drill-down) and traces list (with children).

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::bytestr::join_args;
use crate::spans::{SpanEnd, SpanRecord};
use crate::tagstats::TagRow;

/// One row of the traces/spans summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryRow {
    /// The tag at the view's depth (the key).
    #[serde(with = "serde_bytes_one")]
    pub tag: Vec<u8>,
    /// Exit markers of spans with exactly depth+1 tags (matched or not, as sysdig).
    pub hits: u64,
    /// Mean duration of the matched ones, ns (0 without any).
    pub avg_ns: u64,
    /// Minimum duration, ns.
    pub min_ns: u64,
    /// Maximum duration, ns.
    pub max_ns: u64,
    /// Exit markers of deeper spans under this key.
    pub chd_hits: u64,
    /// Bytes in+out charged to spans with exactly depth+1 tags under this key.
    pub bytes: u64,
}

mod serde_bytes_one {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::bytestr::ByteStr;

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        ByteStr(v.to_vec()).serialize(s)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        Ok(ByteStr::deserialize(d)?.0)
    }
}

/// The traces summary at one drill-down level (`traces_summary` at depth 0,
/// `spans_summary` below).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TracesSummary {
    /// Drill-down depth (0 = root tags).
    pub depth: usize,
    /// Tags selected above this level (length = depth).
    #[serde(with = "crate::bytestr::list")]
    pub prefix: Vec<Vec<u8>>,
    /// Rows, by hits descending (ties: first seen first).
    pub rows: Vec<SummaryRow>,
}

/// Builds the summary at `prefix.len()` depth from per-tag-path rows: every path with
/// more tags than the depth that starts with `prefix` contributes to the row of its tag
/// at that depth. Never-closed spans make their row appear with 0 hits.
pub fn traces_summary(tags: &[TagRow], prefix: &[Vec<u8>]) -> TracesSummary {
    let depth = prefix.len();
    let mut rows: Vec<SummaryRow> = Vec::new();
    let mut index: FxHashMap<&[u8], usize> = FxHashMap::default();
    let mut totals: Vec<(u128, u64)> = Vec::new();
    for t in tags {
        if t.tags.len() <= depth || t.tags[..depth] != *prefix {
            continue;
        }
        let key = t.tags[depth].as_slice();
        let i = *index.entry(key).or_insert_with(|| {
            rows.push(SummaryRow {
                tag: key.to_vec(),
                hits: 0,
                avg_ns: 0,
                min_ns: 0,
                max_ns: 0,
                chd_hits: 0,
                bytes: 0,
            });
            totals.push((0, 0));
            rows.len() - 1
        });
        let r = &mut rows[i];
        let exits = t.hits + t.unmatched_exits;
        if t.tags.len() == depth + 1 {
            r.hits += exits;
            r.bytes += t.io.total.total();
            if t.hits > 0 {
                if totals[i].1 == 0 || t.min_ns < r.min_ns {
                    r.min_ns = t.min_ns;
                }
                r.max_ns = r.max_ns.max(t.max_ns);
                totals[i].0 += t.total_ns;
                totals[i].1 += t.hits;
            }
        } else {
            r.chd_hits += exits;
        }
    }
    for (r, (sum, n)) in rows.iter_mut().zip(&totals) {
        if *n > 0 {
            r.avg_ns = (sum / *n as u128) as u64;
        }
    }
    // Stable sort keeps first-seen order among equal hits.
    rows.sort_by_key(|r| std::cmp::Reverse(r.hits));
    TracesSummary {
        depth,
        prefix: prefix.to_vec(),
        rows,
    }
}

/// One row of the traces list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceRow {
    /// Span number (for drill-down).
    pub seq: u64,
    /// Span id.
    pub id: i64,
    /// Enter time (C10), ns.
    pub time_ns: u64,
    /// Duration, ns.
    pub duration_ns: u64,
    /// Tag at the list's depth.
    #[serde(with = "serde_bytes_one")]
    pub tag: Vec<u8>,
    /// Enter arguments as `name=value` joined with `,`.
    #[serde(with = "serde_bytes_one")]
    pub args: Vec<u8>,
    /// Child spans (one tag deeper, parent = this span), same ordering.
    pub children: Vec<TraceRow>,
}

/// The traces list: closed spans with exactly `depth+1` tags, longest first, each with
/// its children (spans whose parent is that span) nested.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TracesList {
    /// Depth of the top rows.
    pub depth: usize,
    /// Rows.
    pub rows: Vec<TraceRow>,
}

/// Builds the traces list from finished spans (closed ones are used). With
/// `parent_time = Some(t)` only spans whose parent entered at `t` are listed (csysdig's
/// drill-down by `span.rawparenttime`).
pub fn traces_list(spans: &[SpanRecord], depth: usize, parent_time: Option<u64>) -> TracesList {
    let closed: Vec<&SpanRecord> = spans
        .iter()
        .filter(|s| s.end == SpanEnd::Closed && s.duration_ns.is_some())
        .collect();
    let mut by_parent: FxHashMap<u64, Vec<&SpanRecord>> = FxHashMap::default();
    for s in &closed {
        if let Some(p) = s.parent {
            by_parent.entry(p).or_default().push(s);
        }
    }
    fn row(s: &SpanRecord, depth: usize, by_parent: &FxHashMap<u64, Vec<&SpanRecord>>) -> TraceRow {
        let mut children: Vec<TraceRow> = by_parent
            .get(&s.seq)
            .map(|v| {
                v.iter()
                    .filter(|c| c.tags.len() == depth + 2)
                    .map(|c| row(c, depth + 1, by_parent))
                    .collect()
            })
            .unwrap_or_default();
        children.sort_by_key(|r| std::cmp::Reverse(r.duration_ns));
        TraceRow {
            seq: s.seq,
            id: s.id,
            time_ns: s.enter_ts,
            duration_ns: s.duration_ns.unwrap_or(0),
            tag: s.tags.get(depth).cloned().unwrap_or_default(),
            args: join_args(&s.enter_args, b'='),
            children,
        }
    }
    let mut rows: Vec<TraceRow> = closed
        .iter()
        .filter(|s| s.tags.len() == depth + 1)
        .filter(|s| parent_time.is_none_or(|t| s.parent_enter_ts == Some(t)))
        .map(|s| row(s, depth, &by_parent))
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.duration_ns));
    TracesList { depth, rows }
}
