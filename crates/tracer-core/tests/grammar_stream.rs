//! Decoder-level checks of the fragment scenarios of `shared/spec/span-scenarios.json`
//! (tracers-spec §9.3, F1–F7 and F12): one [`StreamDecoder`] per writer thread, the fd's
//! tracer/non-tracer decision modelled minimally (fresh fd: first OK ⇒ tracer, first
//! FAILED ⇒ plain writes). The span engine's own tests run the full scenarios.

use std::collections::{BTreeSet, HashMap};

use serde_json::{Map, Value};
use tracer_core::grammar::{invalid_tracer_tag, Decoded, Direction, StreamDecoder};

mod common;
use common::{format_n, SCENARIOS};

const NAMES: [&str; 8] = ["F1", "F2", "F3", "F4", "F5", "F6", "F7", "F12"];

/// One expanded input event: writer, bytes, and the `repeat` counter if generated.
struct Write {
    tid: i64,
    pid: i64,
    data: Vec<u8>,
    n: Option<u64>,
}

fn expand(events: &[Value]) -> Vec<Write> {
    let mut out = Vec::new();
    for e in events {
        let tid = e["tid"].as_i64().expect("tid");
        let pid = e["pid"].as_i64().expect("pid");
        if let Some(count) = e.get("repeat") {
            let template = e["write"].as_str().expect("template");
            for n in 0..count.as_u64().expect("count") {
                out.push(Write {
                    tid,
                    pid,
                    data: format_n(template, n).into_bytes(),
                    n: Some(n),
                });
            }
        } else if let Some(w) = e.get("write") {
            out.push(Write {
                tid,
                pid,
                data: w.as_str().expect("write").as_bytes().to_vec(),
                n: None,
            });
        } else if e.get("syscall").and_then(Value::as_str) == Some("read") {
            // F12: a read on the tracer fd is parsed like a write
            out.push(Write {
                tid,
                pid,
                data: e["data"].as_str().expect("data").as_bytes().to_vec(),
                n: None,
            });
        } else {
            panic!("unsupported event {e}");
        }
    }
    out
}

/// A produced or expected marker event, comparable.
#[derive(Debug, PartialEq, Eq)]
enum Out {
    Tracer {
        event: usize,
        dir: Direction,
        id: i64,
        tags: Vec<Vec<u8>>,
        args: Vec<(Vec<u8>, Vec<u8>)>,
    },
    Invalid {
        event: usize,
        tag: Vec<u8>,
    },
}

fn expected_tracer(event: usize, spec: &Value, n: Option<u64>) -> Out {
    let text = |v: &Value| -> Vec<u8> {
        let s = v.as_str().expect("string");
        match n {
            Some(n) => format_n(s, n).into_bytes(),
            None => s.as_bytes().to_vec(),
        }
    };
    Out::Tracer {
        event,
        dir: if spec["dir"] == ">" {
            Direction::Enter
        } else {
            Direction::Exit
        },
        id: spec["id"].as_i64().expect("id"),
        tags: spec["tags"]
            .as_array()
            .expect("tags")
            .iter()
            .map(text)
            .collect(),
        args: spec["args"]
            .as_array()
            .expect("args")
            .iter()
            .map(|p| (text(&p[0]), text(&p[1])))
            .collect(),
    }
}

fn index_set(v: Option<&Value>) -> BTreeSet<usize> {
    match v {
        None => BTreeSet::new(),
        Some(Value::Array(a)) => a.iter().map(|i| i.as_u64().unwrap() as usize).collect(),
        Some(Value::Object(o)) => {
            (o["from"].as_u64().unwrap() as usize..=o["to"].as_u64().unwrap() as usize).collect()
        }
        Some(other) => panic!("bad index set {other}"),
    }
}

fn merged(s: &Value) -> Map<String, Value> {
    let mut m = s["sysdig_expected"]
        .as_object()
        .expect("sysdig_expected")
        .clone();
    if let Some(p) = s.get("project_expected").and_then(Value::as_object) {
        for (k, v) in p {
            m.insert(k.clone(), v.clone());
        }
    }
    m
}

fn run(s: &Value) {
    let name = s["name"].as_str().unwrap();
    let fresh = match s["setup"]["fd_state"].as_str().unwrap() {
        "warm" => false,
        "fresh" => true,
        other => panic!("{name}: fd state {other} is the engine's business"),
    };
    let writes = expand(s["events"].as_array().unwrap());
    let exp = merged(s);

    let mut decoders: HashMap<i64, StreamDecoder> = HashMap::new();
    let mut fd_tracer = !fresh;
    let mut fd_not_tracer = false;
    let (mut outs, mut hidden, mut plain) = (Vec::new(), BTreeSet::new(), BTreeSet::new());
    for (i, w) in writes.iter().enumerate() {
        if fd_not_tracer {
            plain.insert(i);
            continue;
        }
        match decoders.entry(w.tid).or_default().feed(&w.data) {
            Decoded::Tracers(ts) => {
                fd_tracer = true;
                for t in ts {
                    outs.push(Out::Tracer {
                        event: i,
                        dir: t.dir,
                        id: t.id.resolve(w.tid, w.pid, 0),
                        tags: t.tags,
                        args: t.args,
                    });
                }
            }
            Decoded::Pending => {
                hidden.insert(i);
            }
            Decoded::Failed(_) if fd_tracer => outs.push(Out::Invalid {
                event: i,
                tag: invalid_tracer_tag(&w.data),
            }),
            Decoded::Failed(_) => {
                fd_not_tracer = true;
                plain.insert(i);
            }
        }
    }

    let mut want = Vec::new();
    for t in exp["tracers"].as_array().unwrap() {
        if let Some(tag) = t.get("invalid") {
            want.push(Out::Invalid {
                event: t["event"].as_u64().unwrap() as usize,
                tag: tag.as_str().unwrap().as_bytes().to_vec(),
            });
        } else if let Some(each) = t.get("each") {
            let (from, to) = (t["from"].as_u64().unwrap(), t["to"].as_u64().unwrap());
            for (e, w) in writes
                .iter()
                .enumerate()
                .take(to as usize + 1)
                .skip(from as usize)
            {
                want.push(expected_tracer(e, each, w.n));
            }
        } else {
            let e = t["event"].as_u64().unwrap() as usize;
            want.push(expected_tracer(e, t, None));
        }
    }
    assert_eq!(outs.len(), want.len(), "{name}: number of marker events");
    assert_eq!(outs, want, "{name}: marker events");
    assert_eq!(
        hidden,
        index_set(exp.get("hidden")),
        "{name}: hidden writes"
    );
    assert_eq!(
        plain,
        index_set(exp.get("plain_writes")),
        "{name}: plain writes"
    );
    if let Some(state) = exp.get("fd_state_after").and_then(Value::as_str) {
        let got = if fd_not_tracer {
            "not_tracer"
        } else if fd_tracer {
            "tracer"
        } else {
            "undecided"
        };
        assert_eq!(got, state, "{name}: fd state after");
    }
    let dropped: u64 = decoders
        .values()
        .map(StreamDecoder::dropped_fragments)
        .sum();
    let want_dropped = exp
        .get("dropped_fragments")
        .map_or(0, |v| v.as_u64().unwrap());
    assert_eq!(dropped, want_dropped, "{name}: dropped fragments");
    for d in decoders.values() {
        assert!(d.pending_len() <= d.cap(), "{name}: fragment beyond cap");
    }
    println!(
        "{name}: {} writes, {} marker events, {} hidden",
        writes.len(),
        outs.len(),
        hidden.len()
    );
}

#[test]
fn fragment_scenarios() {
    let text = std::fs::read_to_string(SCENARIOS)
        .unwrap_or_else(|e| panic!("cannot read {SCENARIOS}: {e}"));
    let all: Vec<Value> = serde_json::from_str(&text).expect("scenarios are a JSON array");
    let mut ran = 0;
    for name in NAMES {
        let s = all
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("scenario {name} missing from {SCENARIOS}"));
        run(s);
        ran += 1;
    }
    assert_eq!(ran, NAMES.len());
    println!("checked {ran} fragment scenarios");
}

/// F7 as sysdig 0.29.3 saw it can no longer happen (C1), but the same flood after a
/// fragment that never completes must not swallow anything either (C3).
#[test]
fn never_completing_fragment_swallows_nothing() {
    let mut d = StreamDecoder::new();
    assert_eq!(d.feed(b">:t:a\0b::"), Decoded::Pending);
    for n in 0..7000u32 {
        let w = format!(">:t:x{n:05}::");
        match d.feed(w.as_bytes()) {
            Decoded::Tracers(ts) => assert_eq!(ts.len(), 1),
            other => panic!("write {n}: {other:?}"),
        }
    }
    assert_eq!(d.dropped_fragments(), 1);
    assert_eq!(d.pending_len(), 0);
}

/// Pieces that never complete grow the fragment to the cap, which is then dropped for
/// good (no stale copy comes back).
#[test]
fn cap_bounds_the_fragment() {
    let mut d = StreamDecoder::new();
    assert_eq!(d.feed(b">:t:"), Decoded::Pending);
    let piece = [b'a'; 1000];
    let mut writes = 1usize;
    while d.dropped_fragments() == 0 {
        assert_eq!(d.feed(&piece), Decoded::Pending);
        assert!(d.pending_len() <= 65536);
        writes += 1;
        assert!(writes < 100, "cap never reached");
    }
    // 4 + 65 * 1000 = 65004 kept; the 66th piece would make 66004 > 65536
    assert_eq!(writes, 67);
    assert_eq!(d.pending_len(), 0);
    // the next piece is parsed alone (JSON path: fails), nothing resurrected
    assert!(matches!(d.feed(b"a::"), Decoded::Failed(_)));
    assert_eq!(d.pending_len(), 0);
}

/// Embedded NUL, as sysdig 0.29.3 really behaves (checked by replaying a generated
/// capture with `sysdig -r`: writes `>:t:w::`, `>:t:a\0b::`, `c::`, `d::` gave the
/// enter `w`, two hidden writes, then the enter `ad`): the first truncated write is kept
/// whole, and an extended fragment that is still truncated is kept cut at its NUL.
#[test]
fn embedded_nul_fragment_is_cut_when_extended() {
    let mut d = StreamDecoder::new();
    assert_eq!(d.feed(b">:t:a\0b::"), Decoded::Pending);
    assert_eq!(d.pending_len(), 9);
    assert_eq!(d.feed(b"c::"), Decoded::Pending);
    assert_eq!(d.pending_len(), 5); // ">:t:a"
    match d.feed(b"d::") {
        Decoded::Tracers(ts) => assert_eq!(ts[0].tags, vec![b"ad".to_vec()]),
        other => panic!("expected the tag ad, got {other:?}"),
    }
    assert_eq!(d.dropped_fragments(), 0);
}
