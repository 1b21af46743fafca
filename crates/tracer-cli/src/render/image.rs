//! The spectrogram as an image (PNG through plotters' bitmap backend, or SVG): latency on
//! a log axis (1 ns … 100 s) across, time slices down, cells coloured with csysdig's
//! palette on black.
//!
//! Column `x` is drawn over its latency range `[10^(11x/W), 10^(11(x+1)/W))`. Labels need a TrueType font: DejaVu Sans (or the file
//! named by `TRACER_FONT`) is loaded at run time; without one the image is drawn without
//! text and a warning says so.

use std::path::Path;
use std::sync::OnceLock;

use anyhow::{anyhow, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::human::format_time;
use super::spectro::{color_of, SpectroGrid, DECADES};

/// Image file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    /// PNG (bitmap backend).
    Png,
    /// SVG.
    Svg,
}

/// Places where a TrueType sans font is commonly installed (Debian's fonts-dejavu-core
/// first).
const FONT_PATHS: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf",
];

/// Registers a font with plotters once; `true` when labels can be drawn.
fn font_available() -> bool {
    static LOADED: OnceLock<bool> = OnceLock::new();
    *LOADED.get_or_init(|| {
        let env = std::env::var("TRACER_FONT").ok();
        let candidates = env
            .iter()
            .map(String::as_str)
            .chain(FONT_PATHS.iter().copied());
        for path in candidates {
            if let Ok(bytes) = std::fs::read(path) {
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
                    return true;
                }
            }
        }
        false
    })
}

/// The RGB value of a 256-colour index (xterm's default palette).
pub fn xterm_rgb(index: u8) -> (u8, u8, u8) {
    const SYSTEM: [(u8, u8, u8); 16] = [
        (0, 0, 0),
        (205, 0, 0),
        (0, 205, 0),
        (205, 205, 0),
        (0, 0, 238),
        (205, 0, 205),
        (0, 205, 205),
        (229, 229, 229),
        (127, 127, 127),
        (255, 0, 0),
        (0, 255, 0),
        (255, 255, 0),
        (92, 92, 255),
        (255, 0, 255),
        (0, 255, 255),
        (255, 255, 255),
    ];
    match index {
        0..=15 => SYSTEM[index as usize],
        16..=231 => {
            let i = index - 16;
            let level = |v: u8| if v == 0 { 0 } else { 55 + 40 * v };
            (level(i / 36), level((i / 6) % 6), level(i % 6))
        }
        _ => {
            let g = 8 + 10 * (index - 232);
            (g, g, g)
        }
    }
}

/// Writes the grid as an image of exactly `size` pixels (width, height). Returns whether
/// labels were drawn (false when no font was found).
pub fn write_image(
    grid: &SpectroGrid,
    path: &Path,
    format: ImageFormat,
    size: (u32, u32),
    title: &str,
) -> Result<bool> {
    let labels = font_available();
    match format {
        ImageFormat::Png => {
            let root = BitMapBackend::new(path, size).into_drawing_area();
            draw(&root, grid, title, labels)?;
            root.present()
                .map_err(|e| anyhow!("cannot write {}: {e}", path.display()))?;
        }
        ImageFormat::Svg => {
            let root = SVGBackend::new(path, size).into_drawing_area();
            draw(&root, grid, title, labels)?;
            root.present()
                .map_err(|e| anyhow!("cannot write {}: {e}", path.display()))?;
        }
    }
    Ok(labels)
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    grid: &SpectroGrid,
    title: &str,
    labels: bool,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("drawing the spectrogram: {e}");
    root.fill(&BLACK).map_err(err)?;
    let rows = grid.slices().max(1) as f64;
    let x_range = 0f64..DECADES as f64;
    // Time grows downwards, like csysdig's scrolling screen.
    let y_range = rows..0f64;
    let text = RGBColor(220, 220, 220);
    let mut builder = ChartBuilder::on(root);
    builder.margin(12);
    if labels {
        builder
            .caption(title, ("sans-serif", 18).into_font().color(&text))
            .x_label_area_size(36)
            .y_label_area_size(64);
    }
    let mut chart = builder.build_cartesian_2d(x_range, y_range).map_err(err)?;
    if labels {
        let interval = grid.interval_ns;
        let x_fmt = |v: &f64| format_time(10f64.powf(v.round()) as u64);
        let y_fmt = move |v: &f64| format_time((v * interval as f64) as u64);
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(DECADES as usize + 1)
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .x_desc("span latency")
            .y_desc("time")
            .axis_style(text)
            .label_style(("sans-serif", 13).into_font().color(&text))
            .axis_desc_style(("sans-serif", 14).into_font().color(&text))
            .draw()
            .map_err(err)?;
    }
    let w = grid.width as f64;
    let step = DECADES as f64 / w;
    let cells = grid.rows.iter().flat_map(|&(y, ref row)| {
        row.iter().enumerate().filter_map(move |(x, &count)| {
            let (r, g, b) = xterm_rgb(color_of(count)?);
            let x0 = x as f64 * step;
            Some(Rectangle::new(
                [(x0, y as f64), (x0 + step, y as f64 + 1.0)],
                RGBColor(r, g, b).filled(),
            ))
        })
    });
    chart.draw_series(cells).map_err(err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xterm_palette() {
        assert_eq!(xterm_rgb(1), (205, 0, 0));
        assert_eq!(xterm_rgb(16), (0, 0, 0));
        assert_eq!(xterm_rgb(22), (0, 95, 0));
        assert_eq!(xterm_rgb(208), (255, 135, 0));
        assert_eq!(xterm_rgb(231), (255, 255, 255));
        assert_eq!(xterm_rgb(232), (8, 8, 8));
        assert_eq!(xterm_rgb(255), (238, 238, 238));
    }

    fn png_size(path: &Path) -> (u32, u32) {
        let b = std::fs::read(path).unwrap();
        assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n");
        let be = |s: &[u8]| u32::from_be_bytes([s[0], s[1], s[2], s[3]]);
        (be(&b[16..20]), be(&b[20..24]))
    }

    /// 110 columns (10 per decade), three 500 ms slices.
    fn grid() -> SpectroGrid {
        let mut rows = vec![(0, vec![0u64; 110]), (1, vec![0; 110]), (2, vec![0; 110])];
        rows[0].1[30] = 2; // two spans of 1 µs
        rows[1].1[66] = 1; // one of 5 ms
        rows[2].1[19] = 1; // one of 80 ns
        SpectroGrid {
            width: 110,
            interval_ns: 500_000_000,
            start_ts: 0,
            rows,
        }
    }

    #[test]
    fn png_has_requested_size() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.png");
        write_image(&grid(), &p, ImageFormat::Png, (640, 360), "t").unwrap();
        assert_eq!(png_size(&p), (640, 360));
    }

    #[test]
    fn svg_has_requested_size_and_cells() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.svg");
        write_image(&grid(), &p, ImageFormat::Svg, (800, 400), "t").unwrap();
        let s = std::fs::read_to_string(&p).unwrap();
        assert!(s.contains(r#"width="800""#) && s.contains(r#"height="400""#));
        // Three non-empty cells: 2 spans at 1 µs (palette step 3 = colour 64), 1 at
        // 5 ms and 1 at 80 ns (step 2 = colour 28 = #008700).
        assert_eq!(s.matches("#008700").count(), 2, "{s}");
        assert_eq!(s.matches("#5F8700").count(), 1, "{s}");
    }
}
