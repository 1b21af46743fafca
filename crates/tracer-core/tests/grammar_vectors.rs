//! Runs every single-write vector of `shared/spec/tracer-vectors.json` (tracers-spec
//! §9.1, §9.2) against the grammar: the `project` expectation where present, else the
//! `sysdig` one.

use serde_json::Value;
use tracer_core::grammar::{
    invalid_tracer_tag, parse, parse_all, Decoded, Direction, ParseError, StreamDecoder, Tracer,
};

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/spec/tracer-vectors.json"
);

// Writer identity used to resolve id forms.
const TID: i64 = 1001;
const PID: i64 = 1002;
const PTID: i64 = 1003;

fn expected_id(v: &Value) -> i64 {
    match v {
        Value::String(s) => match s.as_str() {
            "tid" => TID,
            "pid" => PID,
            "ptid" => PTID,
            other => panic!("unknown id name {other:?}"),
        },
        Value::Number(n) => n.as_i64().expect("id must be an i64"),
        other => panic!("bad id {other}"),
    }
}

fn bytes(v: &Value) -> Vec<u8> {
    v.as_str().expect("string").as_bytes().to_vec()
}

fn check_ok(r: &str, exp: &Value, t: &Tracer) {
    let dir = match exp["dir"].as_str().expect("dir") {
        ">" => Direction::Enter,
        "<" => Direction::Exit,
        d => panic!("{r}: bad dir {d}"),
    };
    assert_eq!(t.dir, dir, "{r}: dir");
    assert_eq!(
        t.id.resolve(TID, PID, PTID),
        expected_id(&exp["id"]),
        "{r}: id ({:?})",
        t.id
    );
    let tags: Vec<Vec<u8>> = exp["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .map(bytes)
        .collect();
    assert_eq!(t.tags, tags, "{r}: tags");
    let args: Vec<(Vec<u8>, Vec<u8>)> = exp["args"]
        .as_array()
        .expect("args")
        .iter()
        .map(|p| (bytes(&p[0]), bytes(&p[1])))
        .collect();
    assert_eq!(t.args, args, "{r}: args");
}

#[test]
fn every_vector() {
    let text = std::fs::read_to_string(VECTORS).unwrap_or_else(|e| {
        panic!("cannot read {VECTORS}: {e} (shared/ must be a sibling of the repo)")
    });
    let vectors: Vec<Value> = serde_json::from_str(&text).expect("vectors are a JSON array");
    assert!(!vectors.is_empty(), "no vectors in {VECTORS}");

    let mut checked = 0usize;
    let mut counts = [0usize; 3]; // ok, truncated, failed
    for v in &vectors {
        let r = v["ref"].as_str().expect("ref");
        let input = v["input"].as_str().expect("input").as_bytes();
        let exp = v.get("project").unwrap_or(&v["sysdig"]);
        let single = parse(input);
        let all = parse_all(input);
        match exp["result"].as_str().expect("result") {
            "ok" => {
                counts[0] += 1;
                let t = single.unwrap_or_else(|e| panic!("{r}: expected ok, got {e}"));
                check_ok(r, exp, &t);
                let all = all.unwrap_or_else(|e| panic!("{r}: parse_all: {e}"));
                assert_eq!(all[0], t, "{r}: parse_all first");
                let more = exp.get("more").and_then(Value::as_array);
                let more_len = more.map_or(0, Vec::len);
                assert_eq!(all.len(), 1 + more_len, "{r}: number of tracers (C2)");
                for (i, m) in more.into_iter().flatten().enumerate() {
                    assert_eq!(m["result"], "ok", "{r}: more[{i}]");
                    check_ok(&format!("{r} more[{i}]"), m, &all[1 + i]);
                }
            }
            "truncated" => {
                counts[1] += 1;
                assert!(
                    matches!(single, Err(ParseError::Truncated { .. })),
                    "{r}: expected truncated, got {single:?}"
                );
                assert_eq!(
                    all.map_err(|e| e.is_truncated()),
                    Err(true),
                    "{r}: parse_all"
                );
                if exp.get("forever") == Some(&Value::Bool(true)) {
                    // The write is kept, and a following write that is not a marker on
                    // its own (and, for JSON, carries no closing quote) cannot complete it.
                    let mut d = StreamDecoder::new();
                    assert_eq!(d.feed(input), Decoded::Pending, "{r}");
                    assert_eq!(d.feed(b"::]]"), Decoded::Pending, "{r}: forever");
                }
            }
            "failed" => {
                counts[2] += 1;
                assert!(
                    matches!(single, Err(ParseError::Failed { .. })),
                    "{r}: expected failed, got {single:?}"
                );
                assert_eq!(
                    all.map_err(|e| e.is_truncated()),
                    Err(false),
                    "{r}: parse_all"
                );
            }
            other => panic!("{r}: unknown result {other}"),
        }
        if let Some(tag) = exp.get("invalid_tracer_tag") {
            assert_eq!(
                invalid_tracer_tag(input),
                bytes(tag),
                "{r}: invalid tracer tag"
            );
        }
        checked += 1;
    }
    assert_eq!(checked, vectors.len());
    println!(
        "checked {checked} vectors ({} ok, {} truncated, {} failed)",
        counts[0], counts[1], counts[2]
    );
    eprintln!("checked {checked} vectors");
}
