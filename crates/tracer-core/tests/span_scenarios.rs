//! Runs every scenario of `shared/spec/span-scenarios.json` through the engine and checks
//! the keys the engine covers (tracers, plain_writes, hidden, fd_state_after, spans,
//! unmatched_exits, dropped_fragments, evicted_enters, views, statsd, span.* and
//! evtin display fields, crash). `filters` belong to the filter module's tests.

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Map, Value};
use tracer_core::engine::{Consumer, Engine, EngineConfig};
use tracer_core::event::{Event, EventKind, FdTarget, SyscallKind, ThreadInfo};
use tracer_core::event_view::{EventClass, EventView};
use tracer_core::fds::MarkerState;
use tracer_core::grammar::Direction;
use tracer_core::spans::{SpanEnd, SpanRecord};
use tracer_core::views::{
    format_span_time, format_time, statsd_timer, traces_list, traces_summary,
};

mod common;
use common::{format_n, SCENARIOS};

#[path = "span_scenarios/fields.rs"]
mod fields;
#[path = "span_scenarios/input.rs"]
mod input;
use fields::fields_of;
use input::expand;

/// What the test keeps of one view.
#[derive(Debug, Clone)]
struct Seen {
    index: u64,
    class: &'static str,
    tracer: Option<Value>,
    exit_unmatched: bool,
    write: bool,
    fields: HashMap<String, Value>,
}

fn text(b: &[u8]) -> Value {
    Value::String(String::from_utf8_lossy(b).into_owned())
}

struct Collector {
    offset: u64,
    seen: Vec<Seen>,
    spans: Vec<SpanRecord>,
}

impl Consumer for Collector {
    fn event(&mut self, v: &EventView<'_>) {
        let index = v.input_index - self.offset;
        let (class, tracer, unmatched, write) = match &v.class {
            EventClass::Tracer(t) if t.invalid => (
                "tracer",
                Some(json!({"event": index, "invalid": String::from_utf8_lossy(&t.tags[0])})),
                false,
                false,
            ),
            EventClass::Tracer(t) => {
                let args: Vec<Value> = t
                    .args
                    .iter()
                    .map(|(k, v)| json!([text(k), text(v)]))
                    .collect();
                let tags: Vec<Value> = t.tags.iter().map(|x| text(x)).collect();
                let dir = if t.dir == Direction::Enter { ">" } else { "<" };
                (
                    "tracer",
                    Some(
                        json!({"event": index, "dir": dir, "id": t.id, "tags": tags, "args": args}),
                    ),
                    t.dir == Direction::Exit && t.record.is_none(),
                    false,
                )
            }
            EventClass::HiddenWrite(_) => ("hidden", None, false, false),
            EventClass::Syscall(s) => {
                ("syscall", None, false, s.syscall.kind == SyscallKind::Write)
            }
            _ => ("other", None, false, false),
        };
        self.seen.push(Seen {
            index,
            class,
            tracer,
            exit_unmatched: unmatched,
            write,
            fields: fields_of(v),
        });
    }
    fn span(&mut self, s: &SpanRecord) {
        self.spans.push(s.clone());
    }
}

struct Outcome {
    seen: Vec<Seen>,
    spans: Vec<SpanRecord>,
    report: tracer_core::engine::Report,
    fd_state: Option<MarkerState>,
    events: Vec<Event>,
}

fn run(scn: &Value, capacity: Option<usize>) -> Outcome {
    let (events, _) = expand(scn);
    let mut cfg = EngineConfig {
        retain_spans: true,
        ..EngineConfig::default()
    };
    if let Some(c) = capacity {
        cfg.open_span_capacity = c;
    }
    let mut eng = Engine::new(cfg);
    let tracer_fd = scn["setup"]["tracer_fd"].as_i64().unwrap_or(3);
    let state = scn["setup"]["fd_state"].as_str().unwrap_or("warm");
    // Prelude: threads (explicit list, else from the events), then the fd setup.
    let mut threads: BTreeMap<i64, (i64, i64, String)> = BTreeMap::new();
    if let Some(list) = scn["threads"].as_array() {
        for t in list {
            threads.insert(
                t["tid"].as_i64().unwrap(),
                (
                    t["pid"].as_i64().unwrap(),
                    t["ptid"].as_i64().unwrap(),
                    t["name"].as_str().unwrap_or("").into(),
                ),
            );
        }
    }
    for e in &events {
        threads.entry(e.tid).or_insert((e.pid, 1, "app".into()));
    }
    let mut prelude = Vec::new();
    for (tid, (pid, ptid, name)) in &threads {
        prelude.push(Event {
            ts: 0,
            tid: *tid,
            pid: *pid,
            kind: EventKind::ThreadInfo(ThreadInfo {
                tid: *tid,
                pid: *pid,
                ptid: *ptid,
                comm: name.clone(),
                exe: name.clone(),
                args: vec![],
                cwd: "/".into(),
            }),
        });
    }
    let mut pids: Vec<(i64, i64)> = threads.iter().map(|(t, (p, _, _))| (*t, *p)).collect();
    pids.sort_by_key(|x| x.1);
    pids.dedup_by_key(|x| x.1);
    if matches!(state, "fresh" | "fd_table") {
        for (tid, pid) in &pids {
            prelude.push(Event {
                ts: 0,
                tid: *tid,
                pid: *pid,
                kind: EventKind::FdSnapshot {
                    fd: tracer_fd,
                    target: FdTarget::File("/dev/null".into()),
                },
            });
        }
    }
    let mut c = Collector {
        offset: prelude.len() as u64,
        seen: Vec::new(),
        spans: Vec::new(),
    };
    for ev in &prelude {
        eng.process(ev, &mut |_: &EventView<'_>| {});
    }
    if state == "warm" {
        for (tid, pid) in &pids {
            eng.mark_tracer_fd(*tid, *pid, tracer_fd);
        }
    }
    for ev in &events {
        eng.process(ev, &mut c);
    }
    let first_tid = events[0].tid;
    let fd_state = eng.fd_info(first_tid, tracer_fd).map(|i| i.marker);
    let report = eng.finish(&mut c);
    Outcome {
        seen: c.seen,
        spans: c.spans,
        report,
        fd_state,
        events,
    }
}

/// Merges `project_expected` into `sysdig_expected` (spec/README.md rules).
fn merged(scn: &Value) -> Map<String, Value> {
    let mut m = scn["sysdig_expected"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let Some(p) = scn["project_expected"].as_object() else {
        return m;
    };
    for (k, v) in p {
        match k.as_str() {
            "fields" => {
                let mut list = m
                    .get("fields")
                    .and_then(|x| x.as_array())
                    .cloned()
                    .unwrap_or_default();
                for e in v.as_array().unwrap() {
                    list.retain(|o| !(o["event"] == e["event"] && o["field"] == e["field"]));
                    list.push(e.clone());
                }
                m.insert(k.clone(), Value::Array(list));
            }
            "filters" => {
                let mut list = m
                    .get("filters")
                    .and_then(|x| x.as_array())
                    .cloned()
                    .unwrap_or_default();
                for e in v.as_array().unwrap() {
                    list.retain(|o| o["filter"] != e["filter"]);
                    list.push(e.clone());
                }
                m.insert(k.clone(), Value::Array(list));
            }
            "views" => {
                let mut views = m
                    .get("views")
                    .and_then(|x| x.as_object())
                    .cloned()
                    .unwrap_or_default();
                for (vk, vv) in v.as_object().unwrap() {
                    views.insert(vk.clone(), vv.clone());
                }
                m.insert(k.clone(), Value::Object(views));
            }
            _ => {
                m.insert(k.clone(), v.clone());
            }
        }
    }
    m
}

fn index_list(v: &Value) -> Vec<u64> {
    match v {
        Value::Array(a) => a.iter().map(|x| x.as_u64().unwrap()).collect(),
        Value::Object(o) => (o["from"].as_u64().unwrap()..=o["to"].as_u64().unwrap()).collect(),
        _ => panic!("bad index list {v}"),
    }
}

fn expected_tracers(v: &Value, reps: &[Option<u64>]) -> Vec<Value> {
    let mut out = Vec::new();
    for t in v.as_array().unwrap() {
        if t.get("from").is_some() {
            let each = &t["each"];
            for i in t["from"].as_u64().unwrap()..=t["to"].as_u64().unwrap() {
                let n = reps[i as usize].expect("range over a repeat");
                let tags: Vec<Value> = each["tags"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| json!(format_n(x.as_str().unwrap(), n)))
                    .collect();
                out.push(json!({"event": i, "dir": each["dir"], "id": each["id"], "tags": tags, "args": each["args"]}));
            }
        } else {
            out.push(t.clone());
        }
    }
    out
}

fn span_key(s: &SpanRecord, offset: u64) -> Value {
    let tags: Vec<Value> = s.tags.iter().map(|x| text(x)).collect();
    json!({"tags": tags, "id": s.id, "enter": s.enter_event - offset, "exit": s.exit_event.unwrap() - offset, "duration_ns": s.duration_ns.unwrap()})
}

fn sorted(mut v: Vec<Value>) -> Vec<Value> {
    v.sort_by_key(|x| x.to_string());
    v
}

#[derive(Default)]
struct Tally {
    checks: BTreeMap<String, u32>,
    skipped: BTreeMap<String, u32>,
}

impl Tally {
    fn ok(&mut self, k: &str) {
        *self.checks.entry(k.to_string()).or_default() += 1;
    }
    fn skip(&mut self, k: &str) {
        *self.skipped.entry(k.to_string()).or_default() += 1;
    }
}

fn check_spans(
    name: &str,
    out: &Outcome,
    spans_exp: Option<&Value>,
    unmatched: Option<&Value>,
    evicted: Option<&Value>,
    tally: &mut Tally,
) {
    let offset = out.report.counts.events - out.events.len() as u64;
    if let Some(exp) = spans_exp {
        let got: Vec<Value> = out
            .spans
            .iter()
            .filter(|s| s.end == SpanEnd::Closed)
            .map(|s| span_key(s, offset))
            .collect();
        assert_eq!(
            sorted(got),
            sorted(exp.as_array().unwrap().clone()),
            "{name}: spans"
        );
        tally.ok("spans");
    }
    if let Some(exp) = unmatched {
        let got: Vec<u64> = out
            .seen
            .iter()
            .filter(|s| s.exit_unmatched)
            .map(|s| s.index)
            .collect();
        assert_eq!(got, index_list(exp), "{name}: unmatched_exits");
        tally.ok("unmatched_exits");
    }
    if let Some(exp) = evicted {
        let mut got: Vec<u64> = out
            .spans
            .iter()
            .filter(|s| s.end == SpanEnd::Evicted)
            .map(|s| s.enter_event - offset)
            .collect();
        got.sort();
        assert_eq!(got, index_list(exp), "{name}: evicted_enters");
        assert_eq!(out.report.counts.evicted, got.len() as u64);
        tally.ok("evicted_enters");
    }
}

fn check_scenario(scn: &Value, tally: &mut Tally) {
    let name = scn["name"].as_str().unwrap();
    let exp = merged(scn);
    let out = run(scn, None);
    let (_, reps) = expand(scn);
    let before: u32 = tally.checks.values().sum();
    for (key, val) in &exp {
        match key.as_str() {
            "tracers" => {
                let got: Vec<Value> = out.seen.iter().filter_map(|s| s.tracer.clone()).collect();
                let want = expected_tracers(val, &reps);
                assert_eq!(got.len(), want.len(), "{name}: number of tracers");
                for (g, w) in got.iter().zip(&want) {
                    assert_eq!(g, w, "{name}: tracer");
                }
                tally.ok("tracers");
            }
            "plain_writes" => {
                let got: Vec<u64> = out
                    .seen
                    .iter()
                    .filter(|s| s.write)
                    .map(|s| s.index)
                    .collect();
                assert_eq!(got, index_list(val), "{name}: plain_writes");
                tally.ok("plain_writes");
            }
            "hidden" => {
                let got: Vec<u64> = out
                    .seen
                    .iter()
                    .filter(|s| s.class == "hidden")
                    .map(|s| s.index)
                    .collect();
                assert_eq!(got, index_list(val), "{name}: hidden");
                tally.ok("hidden");
            }
            "fd_state_after" => {
                let want = match val.as_str().unwrap() {
                    "tracer" => MarkerState::Tracer,
                    "not_tracer" => MarkerState::NotTracer,
                    s => panic!("{s}"),
                };
                assert_eq!(out.fd_state, Some(want), "{name}: fd_state_after");
                tally.ok("fd_state_after");
            }
            "spans" => check_spans(name, &out, Some(val), None, None, tally),
            "unmatched_exits" => check_spans(name, &out, None, Some(val), None, tally),
            "evicted_enters" => check_spans(name, &out, None, None, Some(val), tally),
            "dropped_fragments" => {
                assert_eq!(
                    out.report.counts.dropped_fragments,
                    val.as_u64().unwrap(),
                    "{name}: dropped"
                );
                tally.ok("dropped_fragments");
            }
            "fields" => {
                for f in val.as_array().unwrap() {
                    let field = f["field"].as_str().unwrap();
                    let ev = f["event"].as_u64().unwrap();
                    let seen: Vec<&Seen> = out.seen.iter().filter(|s| s.index == ev).collect();
                    assert!(!seen.is_empty(), "{name}: no view for event {ev}");
                    let Some(got) = seen[0].fields.get(field) else {
                        tally.skip(&format!("field {field}"));
                        continue;
                    };
                    let want = match f.get("value_ts") {
                        Some(ts) => json!(format_span_time(ts.as_u64().unwrap())),
                        None => f["value"].clone(),
                    };
                    assert_eq!(got, &want, "{name}: field {field} on event {ev}");
                    tally.ok("fields");
                }
            }
            "views" => {
                for (view, rows) in val.as_object().unwrap() {
                    match view.as_str() {
                        "traces_summary" => {
                            let s = traces_summary(&out.report.tags, &[]);
                            let got: Vec<Value> = s
                                .rows
                                .iter()
                                .map(|r| json!({"tag": text(&r.tag), "hits": r.hits, "avg": format_time(r.avg_ns), "min": format_time(r.min_ns), "max": format_time(r.max_ns), "chd_hits": r.chd_hits}))
                                .collect();
                            assert_eq!(&Value::Array(got), rows, "{name}: traces_summary");
                        }
                        "traces_list" => {
                            let mut all = out.report.spans.clone();
                            all.extend(out.report.never_closed.iter().cloned());
                            let l = traces_list(&all, 0, None);
                            let got: Vec<Value> = l
                                .rows
                                .iter()
                                .map(|r| json!({"id": r.id, "time_ts": r.time_ns, "duration_ns": r.duration_ns, "tag": text(&r.tag), "args": text(&r.args)}))
                                .collect();
                            assert_eq!(&Value::Array(got), rows, "{name}: traces_list");
                        }
                        other => panic!("{name}: unknown view {other}"),
                    }
                    tally.ok("views");
                }
            }
            "statsd" => {
                let args = exp["statsd_args"].as_str().unwrap_or("127.0.0.1 8125");
                let mut it = args.split_whitespace();
                let dest = format!(
                    "{}:{}",
                    it.next().unwrap_or("127.0.0.1"),
                    it.next().unwrap_or("8125")
                );
                let got: Vec<Value> = out
                    .spans
                    .iter()
                    .filter(|s| s.end == SpanEnd::Closed)
                    .map(|s| json!({"dest": dest, "payload": statsd_timer(&s.tags, s.duration_ns.unwrap())}))
                    .collect();
                assert_eq!(&Value::Array(got), val, "{name}: statsd");
                tally.ok("statsd");
            }
            "crash" => {
                // The run above completed without a panic.
                assert_eq!(val, &json!(false), "{name}: the project must not crash");
                if let Some(rec) = exp.get("recommended") {
                    let got: Vec<Value> =
                        out.seen.iter().filter_map(|s| s.tracer.clone()).collect();
                    assert_eq!(
                        &Value::Array(got),
                        &rec["tracers"],
                        "{name}: recommended tracers"
                    );
                    let pw: Vec<u64> = out
                        .seen
                        .iter()
                        .filter(|s| s.write)
                        .map(|s| s.index)
                        .collect();
                    assert_eq!(
                        pw,
                        index_list(&rec["plain_writes"]),
                        "{name}: recommended plain writes"
                    );
                }
                tally.ok("crash");
            }
            "variants" => {
                for var in val.as_array().unwrap() {
                    let setup = &var["setup"];
                    let cap = match (
                        setup["open_span_capacity"].as_u64(),
                        setup["open_span_capacity_min"].as_u64(),
                    ) {
                        (Some(c), _) => c as usize,
                        (None, Some(m)) => {
                            (m as usize).max(EngineConfig::default().open_span_capacity)
                        }
                        _ => panic!("{name}: variant without capacity"),
                    };
                    let o = run(scn, Some(cap));
                    check_spans(
                        name,
                        &o,
                        var.get("spans"),
                        var.get("unmatched_exits"),
                        var.get("evicted_enters"),
                        tally,
                    );
                    if var.get("evicted_enters").is_none() {
                        assert_eq!(
                            o.report.counts.evicted, 0,
                            "{name}: nothing evicted at capacity {cap}"
                        );
                    }
                    // The minimum itself must work too.
                    if let Some(m) = setup["open_span_capacity_min"].as_u64() {
                        let o = run(scn, Some(m as usize));
                        check_spans(
                            name,
                            &o,
                            var.get("spans"),
                            var.get("unmatched_exits"),
                            None,
                            tally,
                        );
                    }
                }
            }
            "filters" => tally.skip("filters (filter module)"),
            "statsd_args" | "recommended" => {}
            other => panic!("{name}: unknown expectation key {other}"),
        }
    }
    // Keys replaced by `variants` must not be checked against the sysdig values.
    let after: u32 = tally.checks.values().sum();
    assert!(after > before, "{name}: no check ran");
}

#[test]
fn span_scenarios() {
    let text = std::fs::read_to_string(SCENARIOS).expect("shared/spec/span-scenarios.json");
    let all: Vec<Value> = serde_json::from_str(&text).unwrap();
    let mut tally = Tally::default();
    let mut ran = 0;
    for scn in &all {
        let mut scn = scn.clone();
        // S16: the sysdig `spans`/`unmatched_exits` are replaced by the variants.
        if scn["project_expected"].get("variants").is_some() {
            let se = scn["sysdig_expected"].as_object_mut().unwrap();
            se.remove("spans");
            se.remove("unmatched_exits");
        }
        check_scenario(&scn, &mut tally);
        ran += 1;
    }
    eprintln!(
        "span scenarios run: {ran}; checks: {:?}; skipped: {:?}",
        tally.checks, tally.skipped
    );
    assert!(ran > 0, "no scenario ran");
    assert!(ran == all.len());
    let total: u32 = tally.checks.values().sum();
    assert!(total > 0);
}
