//! The `span.*` and `evtin.*` display fields of a view, as the scenarios' expectations
//! name them.

use std::collections::HashMap;

use serde_json::{json, Value};
use tracer_core::bytestr::{join_args, join_tags};
use tracer_core::correlate::Scope;
use tracer_core::event_view::{EventClass, EventView};
use tracer_core::grammar::Direction;
use tracer_core::views::format_span_time;

use crate::text;

/// span.* and evtin display fields computable from a view.
pub fn fields_of(v: &EventView<'_>) -> HashMap<String, Value> {
    let mut f = HashMap::new();
    let mut put = |k: &str, val: Value| {
        f.insert(k.to_string(), val);
    };
    match &v.class {
        EventClass::Tracer(t) => {
            let rec = t.record;
            put("span.id", json!(t.id));
            put("span.tags", text(&join_tags(t.tags)));
            put("span.ntags", json!(t.tags.len()));
            put(
                "span.nargs",
                rec.map_or(Value::Null, |r| json!(r.args.len())),
            );
            put(
                "span.args",
                rec.map_or(Value::Null, |_| text(&join_args(t.args, b'='))),
            );
            put(
                "span.enterargs",
                rec.map_or(Value::Null, |r| text(&join_args(&r.args, b'='))),
            );
            put(
                "span.duration",
                t.duration_ns.map_or(Value::Null, |d| json!(d)),
            );
            put(
                "span.time",
                rec.map_or(Value::Null, |r| json!(format_span_time(r.enter_ts))),
            );
            put(
                "span.rawtime",
                rec.map_or(Value::Null, |r| json!(r.enter_ts.to_string())),
            );
            put(
                "span.rawparenttime",
                rec.and_then(|r| r.parent_enter_ts)
                    .map_or(Value::Null, |p| json!(p.to_string())),
            );
            let n = t.tags.len();
            for depth in 0..4usize {
                let exit = t.dir == Direction::Exit;
                let d = if exit && n == depth {
                    t.duration_ns
                } else {
                    None
                };
                put(
                    &format!("span.duration.fortag[{depth}]"),
                    d.map_or(Value::Null, |d| json!(d)),
                );
                put(
                    &format!("span.count.fortag[{depth}]"),
                    json!((exit && n == depth) as u64),
                );
                put(
                    &format!("span.childcount.fortag[{depth}]"),
                    json!((exit && n > depth) as u64),
                );
            }
            for scope in ["", "p.", "s.", "m."] {
                put(&format!("evtin.span.{scope}tags"), Value::Null);
                put(&format!("evtin.span.{scope}args"), Value::Null);
            }
        }
        _ => {
            for (scope, name) in [
                (Scope::Thread, ""),
                (Scope::Process, "p."),
                (Scope::Children, "s."),
                (Scope::Machine, "m."),
            ] {
                let rec = v
                    .thread
                    .filter(|t| t.has_tracer_state)
                    .and_then(|_| v.innermost(scope));
                put(
                    &format!("evtin.span.{name}tags"),
                    rec.map_or(Value::Null, |r| text(&join_tags(&r.tags))),
                );
                put(
                    &format!("evtin.span.{name}args"),
                    rec.map_or(Value::Null, |r| text(&join_args(&r.args, b':'))),
                );
            }
        }
    }
    f
}
