//! Per-tag-path statistics: hits, duration total/avg/min/max and p50/p90/p99, child
//! hits, summed I/O. Memory grows with the number of distinct tag paths only.

use std::sync::Arc;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::correlate::{IoAcc, IoSummary};
use crate::fds::FdTables;
use rustc_hash::FxHashMap;

use crate::grammar::push_key_tag;

/// Accumulated statistics of one tag path.
#[derive(Debug, Clone, Default)]
pub struct PathStats {
    /// Enter markers with this path.
    pub enters: u64,
    /// Spans closed by their exit.
    pub hits: u64,
    /// Exit markers with no open record.
    pub unmatched_exits: u64,
    /// Spans still open at the end.
    pub never_closed: u64,
    /// Spans evicted from the open store.
    pub evicted: u64,
    /// Sum of the durations of closed spans, ns.
    pub total_ns: u128,
    /// Shortest duration (`u64::MAX` before the first hit).
    pub min_ns: u64,
    /// Longest duration.
    pub max_ns: u64,
    hist: Option<Histogram<u64>>,
    /// I/O of the spans (self attribution) with this path, added when they finish.
    pub io: IoAcc,
}

impl PathStats {
    /// Records a closed span's duration.
    #[inline]
    pub fn record(&mut self, d: u64) {
        self.hits += 1;
        self.total_ns += d as u128;
        if self.hits == 1 || d < self.min_ns {
            self.min_ns = d;
        }
        self.max_ns = self.max_ns.max(d);
        let h = self
            .hist
            .get_or_insert_with(|| Histogram::new(2).expect("2 significant figures is valid"));
        // Auto-resizing histogram: recording cannot fail for u64 values.
        let _ = h.record(d.max(1));
    }

    /// The duration at quantile `q` (0..1), ns; 0 without hits. Accurate to two
    /// significant figures, clamped into `[min, max]`.
    pub fn quantile(&self, q: f64) -> u64 {
        match &self.hist {
            Some(h) if self.hits > 0 => h.value_at_quantile(q).clamp(self.min_ns, self.max_ns),
            _ => 0,
        }
    }
}

/// One tag path's row in the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagRow {
    /// The tag path.
    #[serde(with = "crate::bytestr::list")]
    pub tags: Vec<Vec<u8>>,
    /// Enter markers.
    pub enters: u64,
    /// Closed spans.
    pub hits: u64,
    /// Unmatched exits.
    pub unmatched_exits: u64,
    /// Never-closed spans.
    pub never_closed: u64,
    /// Evicted spans.
    pub evicted: u64,
    /// Closed spans of deeper paths below this one.
    pub child_hits: u64,
    /// Sum of durations, ns.
    pub total_ns: u128,
    /// Mean duration, ns (0 without hits).
    pub avg_ns: u64,
    /// Minimum duration (0 without hits).
    pub min_ns: u64,
    /// Maximum duration.
    pub max_ns: u64,
    /// Median.
    pub p50_ns: u64,
    /// 90th percentile.
    pub p90_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
    /// Summed I/O of the spans themselves.
    pub io: IoSummary,
}

/// Tag-path interner plus per-path statistics. Paths are keyed by a flat byte key
/// (each tag as its 4-byte little-endian length, then its bytes), so the engine looks
/// a marker's path up straight from its decoded bytes.
#[derive(Debug, Default)]
pub struct TagTable {
    ids: FxHashMap<Vec<u8>, u32>,
    /// Shared with the open records of each path.
    paths: Vec<Arc<[Vec<u8>]>>,
    stats: Vec<PathStats>,
}

/// The flat key of a tag path.
fn key_of(tags: &[Vec<u8>]) -> Vec<u8> {
    let mut k = Vec::with_capacity(tags.iter().map(|t| t.len() + 4).sum());
    for t in tags {
        push_key_tag(&mut k, t);
    }
    k
}

impl TagTable {
    /// The id of a tag path, creating its (empty) stats when new.
    #[inline]
    pub fn intern(&mut self, tags: &[Vec<u8>]) -> u32 {
        let key = key_of(tags);
        self.intern_key(&key, || tags.to_vec())
    }

    /// The id of the path with flat key `key`; `tags` builds the path when it is new.
    #[inline]
    pub(crate) fn intern_key(&mut self, key: &[u8], tags: impl FnOnce() -> Vec<Vec<u8>>) -> u32 {
        if let Some(&id) = self.ids.get(key) {
            return id;
        }
        let id = self.paths.len() as u32;
        self.paths.push(tags().into());
        self.stats.push(PathStats::default());
        self.ids.insert(key.to_vec(), id);
        id
    }

    /// The id of the path with flat key `key`, if known.
    #[inline]
    pub(crate) fn get_key(&self, key: &[u8]) -> Option<u32> {
        self.ids.get(key).copied()
    }

    /// The id of a tag path if known.
    pub fn get(&self, tags: &[Vec<u8>]) -> Option<u32> {
        self.get_key(&key_of(tags))
    }

    /// The tags of a path id.
    pub fn tags(&self, id: u32) -> &[Vec<u8>] {
        &self.paths[id as usize]
    }

    /// The tags of a path id, shared (for open records).
    #[inline]
    pub(crate) fn shared_tags(&self, id: u32) -> &Arc<[Vec<u8>]> {
        &self.paths[id as usize]
    }

    /// Stats of a path.
    pub fn stats(&self, id: u32) -> &PathStats {
        &self.stats[id as usize]
    }

    /// Mutable stats of a path.
    #[inline]
    pub fn stats_mut(&mut self, id: u32) -> &mut PathStats {
        &mut self.stats[id as usize]
    }

    /// Number of distinct paths.
    pub fn len(&self) -> usize {
        self.stats.len()
    }

    /// True when no path was seen.
    pub fn is_empty(&self) -> bool {
        self.stats.is_empty()
    }

    /// All paths with their stats, in first-seen order.
    pub fn iter(&self) -> impl Iterator<Item = (&[Vec<u8>], &PathStats)> {
        self.paths.iter().map(|p| &**p).zip(self.stats.iter())
    }

    /// Report rows, in first-seen order; `child_hits` counts the closed spans of every
    /// longer path that starts with this one.
    pub fn rows(&self, fds: &FdTables) -> Vec<TagRow> {
        let mut child_hits = vec![0u64; self.stats.len()];
        for (i, s) in self.stats.iter().enumerate() {
            if s.hits == 0 {
                continue;
            }
            let tags = &self.paths[i];
            for n in 1..tags.len() {
                if let Some(p) = self.get(&tags[..n]) {
                    child_hits[p as usize] += s.hits;
                }
            }
        }
        self.stats
            .iter()
            .enumerate()
            .map(|(i, s)| TagRow {
                tags: self.paths[i].to_vec(),
                enters: s.enters,
                hits: s.hits,
                unmatched_exits: s.unmatched_exits,
                never_closed: s.never_closed,
                evicted: s.evicted,
                child_hits: child_hits[i],
                total_ns: s.total_ns,
                avg_ns: if s.hits > 0 {
                    (s.total_ns / s.hits as u128) as u64
                } else {
                    0
                },
                min_ns: if s.hits > 0 { s.min_ns } else { 0 },
                max_ns: s.max_ns,
                p50_ns: s.quantile(0.5),
                p90_ns: s.quantile(0.9),
                p99_ns: s.quantile(0.99),
                io: s.io.summary(fds),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_and_child_hits() {
        let mut t = TagTable::default();
        let a = t.intern(&[b"a".to_vec()]);
        let ab = t.intern(&[b"a".to_vec(), b"b".to_vec()]);
        for d in 1..=100u64 {
            t.stats_mut(a).record(d * 1000);
        }
        t.stats_mut(ab).record(5);
        let rows = t.rows(&FdTables::default());
        assert_eq!(rows[0].hits, 100);
        assert_eq!(rows[0].child_hits, 1);
        assert_eq!(rows[0].min_ns, 1000);
        assert_eq!(rows[0].max_ns, 100_000);
        assert_eq!(rows[0].avg_ns, 50_500);
        assert!(
            (49_000..=51_000).contains(&rows[0].p50_ns),
            "{}",
            rows[0].p50_ns
        );
        assert!((98_000..=100_000).contains(&rows[0].p99_ns));
        assert_eq!(rows[1].child_hits, 0);
    }
}
