//! `tracer spectro`: the traces spectrogram, drawn in the terminal or written as a PNG
//! or SVG image.

use anyhow::Result;
use tracer_core::engine::{Consumer, EngineConfig};
use tracer_core::event_view::{EventClass, EventView};
use tracer_core::views::{Spectrogram, SpectrogramConfig};

use crate::cli::SpectroArgs;
use crate::output::Output;
use crate::pipeline::{compile_filter, replay, tag_prefix, Lines};
use crate::render::human::format_time;
use crate::render::image::{write_image, ImageFormat};
use crate::render::spectro::{render_terminal, SpectroGrid};

/// Default latency columns in the terminal and in images.
const TERMINAL_COLUMNS: u32 = 80;
const IMAGE_COLUMNS: u32 = 220;

/// Adds the spans closed by exits that pass the filter (memory: one row per non-empty
/// time slice, never the spans themselves).
struct Feed<'f> {
    lines: Lines<'f>,
    view: Spectrogram,
}

impl Consumer for Feed<'_> {
    fn event(&mut self, v: &EventView<'_>) {
        let pass = self.lines.result_passes(v);
        if let (EventClass::Tracer(t), true) = (&v.class, pass) {
            if let Some(span) = t.span {
                self.view.add(span);
            }
        }
    }
}

/// `tracer spectro`.
pub fn run(args: SpectroArgs, out: &Output) -> Result<()> {
    let filter = compile_filter(args.input.filter.as_deref())?;
    let prefix = tag_prefix(args.tag.as_deref());
    let image = match (&args.png, &args.svg) {
        (Some(p), _) => Some((p.clone(), ImageFormat::Png)),
        (None, Some(p)) => Some((p.clone(), ImageFormat::Svg)),
        (None, None) => None,
    };
    let columns = args.width.unwrap_or(if image.is_some() {
        IMAGE_COLUMNS
    } else {
        TERMINAL_COLUMNS
    });
    let slice_ns = args.interval.as_nanos().clamp(1, u64::MAX as u128) as u64;
    let mut feed = Feed {
        lines: Lines::new(filter.as_ref()),
        view: Spectrogram::new(
            SpectrogramConfig {
                slice_ns,
                columns,
                depth: prefix.len(),
            },
            prefix.clone(),
        ),
    };
    replay(&args.input.read, EngineConfig::default(), &mut feed)?;
    let view = feed.view;
    let grid = SpectroGrid::from_view(&view);
    if args.json {
        return out.json(&view);
    }
    let what = if prefix.is_empty() {
        "root spans".to_string()
    } else {
        let p: Vec<String> = prefix
            .iter()
            .map(|t| String::from_utf8_lossy(t).into_owned())
            .collect();
        format!("spans under {}", p.join("."))
    };
    let summary = format!(
        "{} {what}, {} slices of {}",
        grid.total(),
        grid.slices(),
        format_time(grid.interval_ns)
    );
    match image {
        Some((path, format)) => {
            let title = format!("Traces spectrogram: {summary}");
            let labelled = write_image(&grid, &path, format, args.size, &title)?;
            if !labelled {
                eprintln!(
                    "tracer: warning: no TrueType font found (install fonts-dejavu-core or set \
                     TRACER_FONT): the image has no labels"
                );
            }
            eprintln!(
                "wrote {} ({}x{} px): {summary}",
                path.display(),
                args.size.0,
                args.size.1
            );
            Ok(())
        }
        None => {
            let mut text = render_terminal(&grid, out.color);
            text.push_str(&format!("{summary}\n"));
            Ok(out.print(&text)?)
        }
    }
}
