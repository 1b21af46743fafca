//! The `fields` and `filters` expectations of `shared/spec/span-scenarios.json`, run
//! through the engine and the filter module (project expectations merged over sysdig's,
//! as `shared/spec/README.md` describes).

use std::collections::BTreeMap;

use serde_json::Value as Json;
use tracer_core::engine::{Engine, EngineConfig};
use tracer_core::event::{Event, EventKind, Syscall, SyscallKind, ThreadInfo};
use tracer_core::event_view::EventView;
use tracer_core::filter::extract::extract;
use tracer_core::filter::fields;
use tracer_core::filter::lines::{Line, LineKind, LineSplitter};
use tracer_core::filter::{Filter, Value};
use tracer_core::views::format_span_time;

mod common;
use common::SCENARIOS;

fn load() -> Vec<Json> {
    let text = std::fs::read_to_string(SCENARIOS)
        .unwrap_or_else(|e| panic!("cannot read {SCENARIOS}: {e}"));
    serde_json::from_str::<Json>(&text)
        .expect("scenario JSON")
        .as_array()
        .expect("array")
        .clone()
}

/// Expands `repeat` generators (only `{n}` and `{n:05d}` forms occur).
fn expand(events: &[Json]) -> Vec<Json> {
    let mut out = vec![];
    for e in events {
        if let Some(count) = e.get("repeat").and_then(Json::as_u64) {
            let start = e["ts_start"].as_u64().unwrap();
            let step = e["ts_step"].as_u64().unwrap();
            let tmpl = e["write"].as_str().unwrap();
            for n in 0..count {
                let text = tmpl
                    .replace("{n:05d}", &format!("{n:05}"))
                    .replace("{n}", &n.to_string());
                out.push(serde_json::json!({
                    "tid": e["tid"], "pid": e["pid"], "ts": start + n * step, "write": text
                }));
            }
        } else {
            out.push(e.clone());
        }
    }
    out
}

fn to_event(e: &Json, fd: i64) -> Event {
    let ts = e["ts"].as_u64().unwrap();
    let tid = e["tid"].as_i64().unwrap();
    let pid = e["pid"].as_i64().unwrap();
    let enter_ts = ts.saturating_sub(100);
    let sc = if let Some(w) = e.get("write").and_then(Json::as_str) {
        let data = w.as_bytes().to_vec();
        let mut sc = Syscall::new(SyscallKind::Write, enter_ts, data.len() as i64);
        sc.fd = fd;
        sc.size = data.len() as u64;
        sc.data = Some(data);
        sc
    } else if e.get("syscall").is_some() {
        Syscall::new(SyscallKind::Other(35), enter_ts, 0)
    } else {
        panic!("event kind not used by field/filter scenarios: {e}");
    };
    Event {
        ts,
        tid,
        pid,
        kind: EventKind::Syscall(sc),
    }
}

/// Merges `project_expected` entries over `sysdig_expected` for a keyed list.
fn merged(s: &Json, key: &str, id: &dyn Fn(&Json) -> String) -> Vec<Json> {
    let mut list: Vec<Json> = s["sysdig_expected"]
        .get(key)
        .and_then(Json::as_array)
        .cloned()
        .unwrap_or_default();
    if let Some(p) = s
        .get("project_expected")
        .and_then(|p| p.get(key))
        .and_then(Json::as_array)
    {
        for entry in p {
            match list.iter_mut().find(|e| id(e) == id(entry)) {
                Some(slot) => *slot = entry.clone(),
                None => list.push(entry.clone()),
            }
        }
    }
    list
}

/// Runs a scenario; calls `f(scenario_event_index, line)` for every line.
fn run(s: &Json, mut f: impl FnMut(usize, &Line<'_, '_>)) {
    let fd = s["setup"]["tracer_fd"].as_i64().unwrap();
    assert_eq!(s["setup"]["fd_state"], "warm", "{}", s["name"]);
    let events = expand(s["events"].as_array().unwrap());
    let mut prelude = vec![];
    for t in s
        .get("threads")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
    {
        let info = ThreadInfo {
            tid: t["tid"].as_i64().unwrap(),
            pid: t["pid"].as_i64().unwrap(),
            ptid: t["ptid"].as_i64().unwrap(),
            comm: t["name"].as_str().unwrap().to_string(),
            exe: t["name"].as_str().unwrap().to_string(),
            ..Default::default()
        };
        prelude.push(Event {
            ts: 0,
            tid: info.tid,
            pid: info.pid,
            kind: EventKind::ThreadInfo(info),
        });
    }
    let mut engine = Engine::new(EngineConfig::default());
    let mut splitter = LineSplitter::new();
    let mut consumer = |v: &EventView<'_>| {
        for line in splitter.split(v) {
            if let Some(i) = (v.input_index as usize).checked_sub(prelude.len()) {
                f(i, &line);
            }
        }
    };
    for p in &prelude {
        engine.process(p, &mut consumer);
    }
    for e in &events {
        if e.get("write").is_some() {
            engine.mark_tracer_fd(e["tid"].as_i64().unwrap(), e["pid"].as_i64().unwrap(), fd);
        }
    }
    for e in &events {
        engine.process(&to_event(e, fd), &mut consumer);
    }
}

/// The line that stands for a scenario event: the marker line of a marker write, the
/// exit line of a syscall.
fn representative(line: &Line<'_, '_>) -> bool {
    matches!(line.kind, LineKind::Marker | LineKind::SyscallExit)
}

fn expected_value(entry: &Json) -> Option<Value<'static>> {
    if let Some(ts) = entry.get("value_ts") {
        return Some(Value::Str(
            format_span_time(ts.as_u64().unwrap()).into_bytes().into(),
        ));
    }
    match &entry["value"] {
        Json::Null => None,
        Json::Number(n) => Some(Value::Num(n.as_i64().unwrap().into())),
        Json::String(s) => Some(Value::Str(s.clone().into_bytes().into())),
        other => panic!("unexpected value {other}"),
    }
}

#[test]
fn scenario_fields() {
    let mut checked = 0;
    for s in load() {
        let name = s["name"].as_str().unwrap().to_string();
        let entries = merged(&s, "fields", &|e| format!("{}/{}", e["event"], e["field"]));
        if entries.is_empty() {
            continue;
        }
        let mut got: BTreeMap<(usize, String), Option<Value<'static>>> = BTreeMap::new();
        run(&s, |i, line| {
            if !representative(line) {
                return;
            }
            for e in entries
                .iter()
                .filter(|e| e["event"].as_u64() == Some(i as u64))
            {
                let fname = e["field"].as_str().unwrap();
                let field = fields::resolve(fname).unwrap_or_else(|e| panic!("{fname}: {e:?}"));
                let v = extract(&field, line).map(|v| match v {
                    Value::Str(s) => Value::Str(s.into_owned().into()),
                    Value::Num(n) => Value::Num(n),
                    Value::Bool(b) => Value::Bool(b),
                    Value::Ip(ip) => Value::Ip(ip),
                });
                got.insert((i, fname.to_string()), v);
            }
        });
        for e in &entries {
            let i = e["event"].as_u64().unwrap() as usize;
            let fname = e["field"].as_str().unwrap().to_string();
            let actual = got
                .get(&(i, fname.clone()))
                .unwrap_or_else(|| panic!("{name}: no line for event {i}"));
            assert_eq!(
                actual,
                &expected_value(e),
                "{name}: field {fname} on event {i}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 45, "only {checked} field checks ran");
}

#[test]
fn scenario_filters() {
    let mut checked = 0;
    for s in load() {
        let name = s["name"].as_str().unwrap().to_string();
        let entries = merged(&s, "filters", &|e| {
            e["filter"].as_str().unwrap().to_string()
        });
        for e in &entries {
            let text = e["filter"].as_str().unwrap();
            if let Some(err) = e.get("error") {
                let res = Filter::compile(text);
                assert!(res.is_err(), "{name}: '{text}' should not compile ({err})");
                checked += 1;
                continue;
            }
            let filter = Filter::compile(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            let mut matched = vec![];
            let mut all = vec![];
            run(&s, |i, line| {
                if representative(line) {
                    all.push(i);
                    if filter.matches(line) {
                        matched.push(i);
                    }
                }
            });
            let idx = |k: &str| -> Option<Vec<usize>> {
                e.get(k).map(|v| {
                    v.as_array()
                        .unwrap()
                        .iter()
                        .map(|x| x.as_u64().unwrap() as usize)
                        .collect()
                })
            };
            if let Some(exact) = idx("matches") {
                assert_eq!(matched, exact, "{name}: filter '{text}'");
            }
            if let Some(inc) = idx("matches_include") {
                for i in inc {
                    assert!(
                        matched.contains(&i),
                        "{name}: '{text}' must match event {i}"
                    );
                }
            }
            if let Some(exc) = idx("matches_exclude") {
                for i in exc {
                    assert!(
                        !matched.contains(&i),
                        "{name}: '{text}' must not match event {i}"
                    );
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 8, "only {checked} filter checks ran");
}
