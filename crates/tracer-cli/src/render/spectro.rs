//! The traces spectrogram (csysdig `spectro_traces`): time slices as rows, 11 decades of
//! latency (1 ns … 100 s) across `W` columns, colour = span count on csysdig's 20-step
//! 256-colour palette (tracers-spec.md §7.5).
//!
//! The data comes from [`tracer_core::views::Spectrogram`]: column `x` holds the spans
//! with `floor(min(log10 d, 11) × W / 11) = x`, i.e. latencies in
//! `[10^(11x/W), 10^(11(x+1)/W))`. The terminal draws column `x` at screen column `x`
//! under an axis whose ticks are exact (csysdig's own screen is one column off:
//! its quantized field adds 1 and its axis does not).

use anstyle::{Ansi256Color, Color, Style};

use tracer_core::views::Spectrogram;

use super::human::format_time;

/// csysdig's spectrogram palette (256-colour indexes), coldest first.
pub const PALETTE: [u8; 20] = [
    22, 28, 64, 34, 2, 76, 46, 118, 154, 191, 227, 226, 11, 220, 209, 208, 202, 197, 9, 1,
];

/// Decades on the latency axis (1 ns … 10^11 ns = 100 s).
pub const DECADES: u32 = 11;

/// Glyphs used instead of colours when colour is off, coldest first (index 1 … 19 are
/// spread over them).
const RAMP: [char; 9] = ['.', ':', '-', '=', '+', '*', '#', '%', '@'];

/// The palette step (1 … 19) of a cell with `count` spans; `None` for an empty cell:
/// `floor(log10(2·count + 1) / log10(1.6))` clamped to 1 … 19.
pub fn color_step(count: u64) -> Option<usize> {
    if count == 0 {
        return None;
    }
    let v = ((count as f64 * 2.0 + 1.0).log10() / 1.6f64.log10()).floor() as i64;
    Some(v.clamp(1, 19) as usize)
}

/// The 256-colour index of a cell with `count` spans (`palette[step − 1]`).
pub fn color_of(count: u64) -> Option<u8> {
    color_step(count).map(|s| PALETTE[s - 1])
}

/// A spectrogram: for each non-empty time slice, the span counts per latency column.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SpectroGrid {
    /// Number of latency columns (`W`).
    pub width: usize,
    /// Length of one time slice (ns).
    pub interval_ns: u64,
    /// Start of the first slice (timestamp, ns).
    pub start_ts: u64,
    /// Non-empty slices in time order: `(slice number from the first, counts)`, each
    /// `width` counts long.
    pub rows: Vec<(u64, Vec<u64>)>,
}

impl SpectroGrid {
    /// The grid of a core spectrogram (whose rows are the non-empty slices).
    pub fn from_view(view: &Spectrogram) -> SpectroGrid {
        let slice = view.config.slice_ns.max(1);
        let start_ts = view.rows.first().map_or(0, |r| r.start_ns);
        SpectroGrid {
            width: view.config.columns as usize,
            interval_ns: slice,
            start_ts,
            rows: view
                .rows
                .iter()
                .map(|r| ((r.start_ns - start_ts) / slice, r.counts.clone()))
                .collect(),
        }
    }

    /// Total number of spans in the grid.
    pub fn total(&self) -> u64 {
        self.rows.iter().flat_map(|r| &r.1).sum()
    }

    /// Number of slices from the first to the last non-empty one.
    pub fn slices(&self) -> u64 {
        self.rows.last().map_or(0, |r| r.0 + 1)
    }
}

/// Runs of more empty slices than this are drawn as one `⋮` line.
const MAX_EMPTY_LINES: u64 = 3;

/// Width of the left margin holding each slice's offset from the start.
const GUTTER: usize = 9;

/// The axis line: `|` + `format_time(10^k)` wherever `floor(11·x/W)` changes; a label
/// that would overwrite the previous one (or not fit) is skipped.
pub fn axis_line(width: usize) -> String {
    let mut line = vec![' '; width];
    let mut free_from = 0;
    let mut last_decade = None;
    for x in 0..width {
        let k = (DECADES as usize * x) / width;
        if last_decade == Some(k) {
            continue;
        }
        last_decade = Some(k);
        let label: Vec<char> = format!("|{}", format_time(10u64.pow(k as u32)))
            .chars()
            .collect();
        if x < free_from || x + label.len() > width {
            continue;
        }
        line[x..x + label.len()].copy_from_slice(&label);
        free_from = x + label.len();
    }
    let s: String = line.into_iter().collect();
    s.trim_end().to_string()
}

/// Renders the grid for a terminal: an axis line, then one line per slice prefixed with
/// the slice's offset from the start. With `color`, cells are 256-colour backgrounds
/// (empty cells blank); without, cells are glyphs from `.` (few) to `@` (many).
pub fn render_terminal(grid: &SpectroGrid, color: bool) -> String {
    let mut out = String::new();
    out.push_str(&" ".repeat(GUTTER));
    out.push_str(&axis_line(grid.width));
    out.push('\n');
    let gutter = |slice: u64| {
        let offset = format_time(slice * grid.interval_ns);
        format!("{offset:>w$} ", w = GUTTER - 1)
    };
    let mut next = 0;
    for (slice, row) in &grid.rows {
        let gap = slice - next;
        if gap > MAX_EMPTY_LINES {
            out.push_str(&format!("{:>w$} {gap} empty slices\n", "⋮", w = GUTTER - 1));
        } else {
            for s in next..*slice {
                out.push_str(gutter(s).trim_end());
                out.push('\n');
            }
        }
        next = slice + 1;
        let mut line = gutter(*slice);
        for &count in row {
            match color_step(count) {
                None => line.push(' '),
                Some(step) if color => {
                    let style = Style::new()
                        .bg_color(Some(Color::Ansi256(Ansi256Color(PALETTE[step - 1]))));
                    line.push_str(&format!("{style} {style:#}"));
                }
                Some(step) => line.push(RAMP[(step - 1) * RAMP.len() / 19]),
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_steps_follow_the_log_scale() {
        assert_eq!(color_step(0), None);
        assert_eq!(color_step(1), Some(2)); // log10(3)/log10(1.6) = 2.33
        assert_eq!(color_of(1), Some(28));
        assert_eq!(color_step(2), Some(3));
        assert_eq!(color_step(10), Some(6));
        assert_eq!(color_step(1000), Some(16));
        assert_eq!(color_step(1_000_000), Some(19));
        // Step 19 is the highest: the last palette entry (1) is never used.
        assert_eq!(color_of(1_000_000), Some(9));
    }

    #[test]
    fn grid_from_core_view() {
        use tracer_core::views::{SpectroRow, SpectrogramConfig};
        let view = Spectrogram {
            config: SpectrogramConfig {
                slice_ns: 500,
                columns: 3,
                depth: 0,
            },
            prefix: vec![],
            rows: vec![
                SpectroRow {
                    start_ns: 1000,
                    counts: vec![0, 2, 0],
                },
                SpectroRow {
                    start_ns: 1500,
                    counts: vec![1, 0, 0],
                },
            ],
        };
        let g = SpectroGrid::from_view(&view);
        assert_eq!((g.width, g.interval_ns, g.start_ts), (3, 500, 1000));
        assert_eq!(g.rows, vec![(0, vec![0, 2, 0]), (1, vec![1, 0, 0])]);
        assert_eq!(g.slices(), 2);
        assert_eq!(g.total(), 3);
    }

    #[test]
    fn axis_labels_each_decade() {
        assert_eq!(
            axis_line(88),
            "|1ns    |10ns   |100ns  |1.00us |10us   |100us  |1.00ms |10ms   |100ms  |1.00s  |10.00s"
        );
        // Too narrow for every label: overlapping ones are skipped.
        assert_eq!(axis_line(22), "|1ns|100ns|100us|100ms");
    }

    /// 22 counts, zero except at the given columns.
    fn cells(set: &[(usize, u64)]) -> Vec<u64> {
        let mut v = vec![0; 22];
        for &(x, n) in set {
            v[x] = n;
        }
        v
    }

    /// Snapshot of the terminal rendering of a fixed small grid.
    #[test]
    fn terminal_snapshot_plain() {
        let g = SpectroGrid {
            width: 22,
            interval_ns: 500_000_000,
            start_ts: 0,
            rows: vec![
                (0, cells(&[(6, 1), (7, 2)])),
                (
                    2,
                    cells(&[(6, 10), (7, 100), (8, 1000), (13, 1_000_000), (21, 3)]),
                ),
                (9, vec![1; 22]),
            ],
        };
        let want = concat!(
            "         |1ns|100ns|100us|100ms\n",
            "     0ns       ..\n",
            "   500ms\n",
            "   1.00s       -+%    @       :\n",
            "       ⋮ 6 empty slices\n",
            "   4.50s ......................\n",
        );
        assert_eq!(render_terminal(&g, false), want);
    }

    #[test]
    fn terminal_snapshot_colour() {
        let g = SpectroGrid {
            width: 4,
            interval_ns: 500_000_000,
            start_ts: 0,
            rows: vec![(0, vec![0, 1, 1000, 0])],
        };
        let want = concat!(
            "         |1ns\n",
            "     0ns  \x1b[48;5;28m \x1b[0m\x1b[48;5;208m \x1b[0m\n",
        );
        assert_eq!(render_terminal(&g, true), want);
    }
}
