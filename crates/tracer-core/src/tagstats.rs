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
    /// Durations of closed spans, counted in the histogram layout (see
    /// [`DurationCounts`]).
    durations: DurationCounts,
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
        self.durations.record(d.max(1));
    }

    /// The duration at quantile `q` (0..1), ns; 0 without hits. Accurate to two
    /// significant figures, clamped into `[min, max]`.
    pub fn quantile(&self, q: f64) -> u64 {
        self.quantiles([q])[0]
    }

    /// [`PathStats::quantile`] of several quantiles (the histogram is built once).
    fn quantiles<const N: usize>(&self, qs: [f64; N]) -> [u64; N] {
        if self.hits == 0 {
            return [0; N];
        }
        let h = self.durations.histogram();
        qs.map(|q| h.value_at_quantile(q).clamp(self.min_ns, self.max_ns))
    }
}

/// Durations counted per bucket of an [`hdrhistogram`] histogram of two significant
/// figures (lowest discernible value 1, auto-resizing): the same counts the histogram
/// would hold, recorded with a shift and an add instead of the histogram's generic
/// path (a closed span records one value). [`DurationCounts::histogram`] builds the
/// real histogram from them, whose quantiles are then exactly those of a histogram
/// that recorded every value itself.
#[derive(Debug, Clone, Default)]
struct DurationCounts {
    /// Count per histogram index (grown on demand, like the auto-resizing histogram).
    counts: Vec<u64>,
}

/// log2 of half the sub-bucket count of a two-significant-figure histogram (its 256
/// sub-buckets give unit resolution up to 2 × 10²).
const HALF_MAGNITUDE: u32 = 7;
/// Largest value of bucket 0 (`sub_bucket_count - 1`).
const SUB_BUCKET_MASK: u64 = (1 << (HALF_MAGNITUDE + 1)) - 1;

impl DurationCounts {
    /// The histogram index of `v` (≥ 1): bucket `b` holds the values with `b` more
    /// significant bits than bucket 0's, at resolution `2^b`.
    #[inline]
    fn index(v: u64) -> usize {
        let bucket = (64 - (HALF_MAGNITUDE + 1)) - (v | SUB_BUCKET_MASK).leading_zeros();
        let sub = (v >> bucket) as usize;
        ((bucket as usize + 1) << HALF_MAGNITUDE) + sub - (1 << HALF_MAGNITUDE)
    }

    /// The lowest value counted at `index` (the inverse of [`DurationCounts::index`]).
    fn lowest_value(index: usize) -> u64 {
        let half = 1usize << HALF_MAGNITUDE;
        let bucket = index >> HALF_MAGNITUDE;
        let sub = (index & (half - 1)) + half;
        match bucket {
            0 => (sub - half) as u64,
            b => (sub as u64) << (b - 1),
        }
    }

    /// Counts one value (≥ 1).
    #[inline]
    fn record(&mut self, v: u64) {
        let i = Self::index(v);
        match self.counts.get_mut(i) {
            Some(c) => *c = c.saturating_add(1),
            None => self.grow_and_record(i),
        }
    }

    #[cold]
    fn grow_and_record(&mut self, i: usize) {
        self.counts.resize(i + 1, 0);
        self.counts[i] = 1;
    }

    /// The histogram holding these counts.
    fn histogram(&self) -> Histogram<u64> {
        let mut h = Histogram::new(2).expect("2 significant figures is valid");
        for (i, &c) in self.counts.iter().enumerate() {
            if c > 0 {
                // Auto-resizing histogram: recording cannot fail for u64 values.
                let _ = h.record_n(Self::lowest_value(i), c);
            }
        }
        h
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
            .map(|(i, s)| {
                let q = s.quantiles([0.5, 0.9, 0.99]);
                TagRow {
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
                    p50_ns: q[0],
                    p90_ns: q[1],
                    p99_ns: q[2],
                    io: s.io.summary(fds),
                }
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

    /// The counts give the quantiles of a histogram that recorded every value itself,
    /// from unit values to `u64::MAX`, across bucket edges.
    #[test]
    fn duration_counts_match_a_recording_histogram() {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let edges = [
            1u64,
            2,
            127,
            128,
            255,
            256,
            257,
            511,
            512,
            1000,
            1 << 40,
            u64::MAX,
        ];
        for round in 0..200 {
            let mut own = DurationCounts::default();
            let mut direct = Histogram::<u64>::new(2).unwrap();
            for k in 0..(1 + round % 37) {
                let v = match next() % 4 {
                    0 => edges[(next() % edges.len() as u64) as usize],
                    1 => 1 + next() % 300,
                    2 => 1 + (next() >> (next() % 64)),
                    _ => 1 + next() % (1 + k * 100_000),
                };
                own.record(v);
                direct.record(v).unwrap();
                let i = DurationCounts::index(v);
                assert_eq!(DurationCounts::lowest_value(i), direct.lowest_equivalent(v));
            }
            let built = own.histogram();
            assert_eq!(built.len(), direct.len());
            for q in [0.0, 0.01, 0.25, 0.5, 0.9, 0.99, 0.999, 1.0] {
                assert_eq!(
                    built.value_at_quantile(q),
                    direct.value_at_quantile(q),
                    "{q}"
                );
            }
        }
    }
}
