//! Consumers shared by the analysis subcommands: finished spans and per-tag-path rows,
//! both restricted to the marker events that pass the user's filter.

use rustc_hash::FxHashMap;
use tracer_core::correlate::IoSummary;
use tracer_core::engine::Consumer;
use tracer_core::event_view::{EventClass, EventView};
use tracer_core::filter::Filter;
use tracer_core::grammar::Direction;
use tracer_core::spans::SpanRecord;
use tracer_core::tagstats::TagRow;

use crate::pipeline::Lines;

/// Collects the spans closed by an exit marker that passes the filter.
#[derive(Debug)]
pub struct ClosedSpans<'f> {
    lines: Lines<'f>,
    /// The spans, in closing order.
    pub spans: Vec<SpanRecord>,
}

impl<'f> ClosedSpans<'f> {
    /// A collector applying `filter` to the exit markers.
    pub fn new(filter: Option<&'f Filter>) -> Self {
        ClosedSpans {
            lines: Lines::new(filter),
            spans: Vec::new(),
        }
    }
}

impl Consumer for ClosedSpans<'_> {
    fn event(&mut self, view: &EventView<'_>) {
        // Every view goes through the splitter so that event numbers stay right.
        let pass = self.lines.result_passes(view);
        if let EventClass::Tracer(t) = &view.class {
            if let Some(span) = t.span {
                if pass {
                    self.spans.push(span.clone());
                }
            }
        }
    }
}

/// Per-tag-path rows (the engine's [`TagRow`] shape) built from the marker events that
/// pass the filter: enters create the row, matched exits add a hit with its duration
/// and the span's I/O, unmatched exits count as such. Quantiles are exact.
#[derive(Debug)]
pub struct FilteredTags<'f> {
    lines: Lines<'f>,
    index: FxHashMap<Vec<Vec<u8>>, usize>,
    rows: Vec<TagRow>,
    durations: Vec<Vec<u64>>,
}

impl<'f> FilteredTags<'f> {
    /// A collector applying `filter` to the marker events.
    pub fn new(filter: Option<&'f Filter>) -> Self {
        FilteredTags {
            lines: Lines::new(filter),
            index: FxHashMap::default(),
            rows: Vec::new(),
            durations: Vec::new(),
        }
    }

    fn row(&mut self, tags: &[Vec<u8>]) -> usize {
        if let Some(&i) = self.index.get(tags) {
            return i;
        }
        self.rows.push(TagRow {
            tags: tags.to_vec(),
            enters: 0,
            hits: 0,
            unmatched_exits: 0,
            never_closed: 0,
            evicted: 0,
            child_hits: 0,
            total_ns: 0,
            avg_ns: 0,
            min_ns: 0,
            max_ns: 0,
            p50_ns: 0,
            p90_ns: 0,
            p99_ns: 0,
            io: IoSummary::default(),
        });
        self.durations.push(Vec::new());
        self.index.insert(tags.to_vec(), self.rows.len() - 1);
        self.rows.len() - 1
    }

    /// The rows so far (for live views), as [`FilteredTags::finish`] would return them.
    pub fn rows(&self) -> Vec<TagRow> {
        FilteredTags {
            lines: Lines::new(None),
            index: self.index.clone(),
            rows: self.rows.clone(),
            durations: self.durations.clone(),
        }
        .finish()
    }

    /// The rows in first-seen order, with averages, quantiles and child hits filled in.
    pub fn finish(mut self) -> Vec<TagRow> {
        for (row, d) in self.rows.iter_mut().zip(self.durations.iter_mut()) {
            d.sort_unstable();
            if !d.is_empty() {
                row.avg_ns = (row.total_ns / d.len() as u128) as u64;
                row.min_ns = d[0];
                row.max_ns = d[d.len() - 1];
                row.p50_ns = nearest_rank(d, 0.50);
                row.p90_ns = nearest_rank(d, 0.90);
                row.p99_ns = nearest_rank(d, 0.99);
            }
        }
        let hits: Vec<(Vec<Vec<u8>>, u64)> =
            self.rows.iter().map(|r| (r.tags.clone(), r.hits)).collect();
        for (tags, h) in hits {
            for n in 1..tags.len() {
                if let Some(&p) = self.index.get(&tags[..n]) {
                    self.rows[p].child_hits += h;
                }
            }
        }
        self.rows
    }
}

/// The nearest-rank quantile of sorted, non-empty values.
pub fn nearest_rank(sorted: &[u64], q: f64) -> u64 {
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

impl Consumer for FilteredTags<'_> {
    fn event(&mut self, view: &EventView<'_>) {
        let pass = self.lines.result_passes(view);
        let EventClass::Tracer(t) = &view.class else {
            return;
        };
        if t.invalid || !pass {
            return;
        }
        let i = self.row(t.tags);
        let row = &mut self.rows[i];
        match (t.dir, t.span) {
            (Direction::Enter, _) => row.enters += 1,
            (Direction::Exit, Some(span)) => {
                let d = span.duration_ns.unwrap_or(0);
                row.hits += 1;
                row.total_ns += d as u128;
                row.io.merge(&span.io);
                self.durations[i].push(d);
            }
            (Direction::Exit, None) => row.unmatched_exits += 1,
        }
    }

    fn span(&mut self, span: &SpanRecord) {
        use tracer_core::spans::SpanEnd;
        let Some(&i) = self.index.get(&span.tags) else {
            return;
        };
        match span.end {
            SpanEnd::NeverClosed => self.rows[i].never_closed += 1,
            SpanEnd::Evicted => self.rows[i].evicted += 1,
            SpanEnd::Closed => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(nearest_rank(&v, 0.5), 50);
        assert_eq!(nearest_rank(&v, 0.99), 99);
        assert_eq!(nearest_rank(&v, 1.0), 100);
        assert_eq!(nearest_rank(&[7], 0.5), 7);
        assert_eq!(nearest_rank(&[1, 2], 0.0), 1);
    }
}
