//! `tracer events`: the events of a capture as sysdig prints them (`%field` formats,
//! sysdig's numbering and enter/exit lines), or as JSON lines.

use std::cell::RefCell;
use std::io::{self, BufWriter, Write};

use anyhow::{bail, Result};
use serde_json::{Map, Value as Json};
use tracer_core::engine::{Consumer, EngineConfig};
use tracer_core::event_view::EventView;
use tracer_core::filter::extract::extract;
use tracer_core::filter::fields::resolve;
use tracer_core::filter::{FieldRef, Format, Value, DEFAULT_FORMAT};

use crate::cli::EventsArgs;
use crate::output::Output;
use crate::pipeline::{compile_filter, replay_until, Lines};

/// Fields of a `--json` line (NULL ones are left out).
const JSON_FIELDS: &[&str] = &[
    "evt.num",
    "evt.rawtime",
    "evt.dir",
    "evt.type",
    "proc.pid",
    "thread.tid",
    "proc.name",
    "fd.num",
    "fd.type",
    "fd.name",
    "evt.rawres",
    "evt.latency",
    "span.id",
    "span.tags",
    "span.args",
    "span.duration",
    "evtin.span.id",
    "evtin.span.tags",
];

/// A field value as JSON: numbers as numbers (as strings beyond 64 bits), text as text.
pub fn to_json(v: &Value<'_>) -> Json {
    match v {
        Value::Num(n) => i64::try_from(*n)
            .map(Json::from)
            .or_else(|_| u64::try_from(*n).map(Json::from))
            .unwrap_or_else(|_| Json::String(n.to_string())),
        Value::Bool(b) => Json::Bool(*b),
        other => Json::String(other.to_string()),
    }
}

enum Printer {
    Text(Format),
    Json(Vec<(&'static str, FieldRef)>),
}

struct EventPrinter<'f, W: Write> {
    lines: Lines<'f>,
    printer: Printer,
    out: W,
    remaining: Option<usize>,
    error: Option<io::Error>,
}

impl<W: Write> Consumer for EventPrinter<'_, W> {
    fn event(&mut self, view: &EventView<'_>) {
        let texts = RefCell::new(Vec::new());
        let printer = &self.printer;
        self.lines.for_each(view, |line| {
            let text = match printer {
                Printer::Text(f) => f.render(line),
                Printer::Json(fields) => {
                    let mut m = Map::new();
                    for (name, f) in fields {
                        if let Some(v) = extract(f, line) {
                            m.insert((*name).to_string(), to_json(&v));
                        }
                    }
                    Some(Json::Object(m).to_string())
                }
            };
            if let Some(t) = text {
                texts.borrow_mut().push(t);
            }
        });
        for t in texts.into_inner() {
            if self.error.is_some() || self.remaining == Some(0) {
                return;
            }
            if let Some(n) = &mut self.remaining {
                *n -= 1;
            }
            if let Err(e) = writeln!(self.out, "{t}") {
                self.error = Some(e);
            }
        }
    }
    fn wants_spans(&self) -> bool {
        false
    }
}

/// `tracer events`.
pub fn run(args: EventsArgs, out: &Output) -> Result<()> {
    let _ = out;
    let filter = compile_filter(args.input.filter.as_deref())?;
    let printer = if args.json {
        Printer::Json(
            JSON_FIELDS
                .iter()
                .map(|n| {
                    (
                        *n,
                        resolve(n).expect("built-in JSON fields are in the catalog"),
                    )
                })
                .collect(),
        )
    } else {
        let src = args.format.as_deref().unwrap_or(DEFAULT_FORMAT);
        match Format::compile(src) {
            Ok(f) => Printer::Text(f),
            Err(e) => bail!("bad format {src:?}: {e}"),
        }
    };
    let stdout = io::stdout();
    let mut p = EventPrinter {
        lines: Lines::new(filter.as_ref()),
        printer,
        out: BufWriter::new(stdout.lock()),
        remaining: args.count,
        error: None,
    };
    replay_until(&args.input.read, EngineConfig::default(), &mut p, |p| {
        p.remaining == Some(0) || p.error.is_some()
    })?;
    if let Some(e) = p.error {
        return Err(e.into());
    }
    p.out.flush()?;
    Ok(())
}
