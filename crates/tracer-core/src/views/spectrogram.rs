//! Latency spectrogram of spans (`spectro_traces`).

use serde::{Deserialize, Serialize};

use crate::spans::SpanRecord;

/// Spectrogram settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpectrogramConfig {
    /// Time slice per row, ns (csysdig: 500 ms).
    pub slice_ns: u64,
    /// Latency columns spanning 11 decades (1 ns … 100 s); csysdig uses the screen width.
    pub columns: u32,
    /// Only spans with exactly `depth+1` tags (and the prefix) count.
    pub depth: usize,
}

impl Default for SpectrogramConfig {
    fn default() -> Self {
        SpectrogramConfig {
            slice_ns: 500_000_000,
            columns: 110,
            depth: 0,
        }
    }
}

/// One time slice of the spectrogram.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpectroRow {
    /// Start of the slice, ns.
    pub start_ns: u64,
    /// Span counts per latency column.
    pub counts: Vec<u64>,
}

/// Latency spectrogram of spans (`spectro_traces`): rows are time slices (by exit
/// time), columns log10-quantized durations: column = floor(min(log10(d), 11) × W / 11).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spectrogram {
    /// Settings.
    pub config: SpectrogramConfig,
    /// Tag prefix selected (length = depth).
    #[serde(with = "crate::bytestr::list")]
    pub prefix: Vec<Vec<u8>>,
    /// Non-empty slices in time order (a renderer fills the gaps with empty lines; no
    /// memory is spent on idle time).
    pub rows: Vec<SpectroRow>,
}

impl Spectrogram {
    /// An empty spectrogram.
    pub fn new(config: SpectrogramConfig, prefix: Vec<Vec<u8>>) -> Self {
        let config = SpectrogramConfig {
            columns: config.columns.max(1),
            slice_ns: config.slice_ns.max(1),
            ..config
        };
        Spectrogram {
            config,
            prefix,
            rows: Vec::new(),
        }
    }

    /// The column of a duration (`None` for 0, which sysdig leaves out).
    pub fn column(&self, duration_ns: u64) -> Option<usize> {
        if duration_ns == 0 {
            return None;
        }
        let w = self.config.columns as f64;
        let l = (duration_ns as f64).log10().min(11.0);
        let x = (l * w / 11.0).floor() as usize;
        Some(x.min(self.config.columns as usize - 1))
    }

    /// The lower bound (ns) of a column: 10^(11·x/W).
    pub fn column_floor_ns(&self, x: usize) -> f64 {
        10f64.powf(11.0 * x as f64 / self.config.columns as f64)
    }

    /// Adds a finished span (ignored unless closed, at the right depth and prefix).
    pub fn add(&mut self, s: &SpanRecord) {
        let (Some(d), Some(exit)) = (s.duration_ns, s.exit_ts) else {
            return;
        };
        let depth = self.config.depth;
        if s.tags.len() != depth + 1 || s.tags[..depth] != self.prefix[..] {
            return;
        }
        let Some(col) = self.column(d) else {
            return;
        };
        let slice = self.config.slice_ns;
        let start = exit - exit % slice;
        let cols = self.config.columns as usize;
        // Spans finish in time order, so the row is normally the last one; rows stay
        // sorted by start even when a consumer feeds spans out of order.
        let pos = match self.rows.last() {
            Some(last) if last.start_ns == start => self.rows.len() - 1,
            Some(last) if last.start_ns < start => {
                self.rows.push(SpectroRow {
                    start_ns: start,
                    counts: vec![0; cols],
                });
                self.rows.len() - 1
            }
            _ => match self.rows.binary_search_by_key(&start, |r| r.start_ns) {
                Ok(i) => i,
                Err(i) => {
                    self.rows.insert(
                        i,
                        SpectroRow {
                            start_ns: start,
                            counts: vec![0; cols],
                        },
                    );
                    i
                }
            },
        };
        let row = &mut self.rows[pos];
        row.counts[col] += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spectrogram_columns() {
        let s = Spectrogram::new(
            SpectrogramConfig {
                slice_ns: 10,
                columns: 11,
                depth: 0,
            },
            vec![],
        );
        assert_eq!(s.column(0), None);
        assert_eq!(s.column(1), Some(0));
        assert_eq!(s.column(10), Some(1));
        assert_eq!(s.column(999), Some(2));
        assert_eq!(s.column(1000), Some(3));
        assert_eq!(s.column(u64::MAX), Some(10));
    }
}
