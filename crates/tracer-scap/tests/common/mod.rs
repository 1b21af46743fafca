//! Shared helpers of the integration tests: sample paths, running sysdig (the oracle),
//! reading captures and running the engine.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use tracer_core::engine::{Engine, EngineConfig, Report};
use tracer_core::event::Event;
use tracer_core::event_view::EventView;
use tracer_core::views::{ByField, BytesBy};
use tracer_scap::{ReadStats, ScapReader, ScapWarning};

/// The sample directory (`shared/` is a sibling of the repository).
pub fn samples_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/scap-samples"
    ))
}

/// Every sample file, sorted.
pub fn samples() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(samples_dir())
        .expect("shared/data/scap-samples must exist next to the repository")
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    assert!(
        v.len() >= 11,
        "expected the 11 documented samples, found {}",
        v.len()
    );
    v
}

/// Runs `sysdig` (or `csysdig`) with `TZ=UTC`; panics loudly when it is missing.
pub fn run_tool(tool: &str, args: &[&str]) -> String {
    let out = Command::new(tool)
        .args(args)
        .env("TZ", "UTC")
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "\n\n*** `{tool}` could not be run ({e}). These tests use sysdig 0.29.3 as the \
             oracle; install it (Debian: apt-get install sysdig). ***\n\n"
            )
        });
    assert!(
        out.status.success(),
        "{tool} {args:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `sysdig -r FILE ARGS…`.
pub fn sysdig(file: &Path, args: &[&str]) -> String {
    let f = file.to_str().unwrap();
    let mut a = vec!["-r", f];
    a.extend_from_slice(args);
    run_tool("sysdig", &a)
}

/// `sysdig -r FILE -j -c fdbytes_by FIELD` as (key → bytes); sysdig keeps the top 30.
pub fn sysdig_fdbytes(file: &Path, field: &str) -> Vec<(String, u64)> {
    let out = sysdig(file, &["-j", "-c", "fdbytes_by", field]);
    let v: serde_json::Value = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("sysdig JSON unparsable ({e}): {out}"));
    v["data"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|r| {
                    (
                        r[0].as_str().unwrap_or_default().to_string(),
                        r[1].as_u64().unwrap(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Everything a read produced.
pub struct Read {
    pub events: Vec<Event>,
    pub stats: ReadStats,
    pub warnings: Vec<ScapWarning>,
}

/// Reads a whole capture (panics on an I/O error, not on damage).
pub fn read_all(path: &Path) -> Read {
    let mut r = ScapReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut events = Vec::new();
    while let Some(e) = r.next_event().unwrap() {
        events.push(e);
    }
    Read {
        events,
        stats: r.stats().clone(),
        warnings: r.warnings().to_vec(),
    }
}

/// The engine over `events`, with bytes-by tables for `fields`.
pub fn engine_bytes(events: &[Event], fields: &[&str]) -> (Vec<BTreeMap<String, u64>>, Report) {
    let mut tables: Vec<BytesBy> = fields
        .iter()
        .map(|f| BytesBy::new(ByField::parse(f).expect("known field")))
        .collect();
    let mut consumer = |v: &EventView<'_>| {
        for t in tables.iter_mut() {
            t.add(v);
        }
    };
    let report = Engine::new(EngineConfig {
        retain_spans: true,
        ..Default::default()
    })
    .run(events, &mut consumer);
    let maps = tables
        .iter()
        .map(|t| {
            t.table()
                .rows
                .iter()
                .map(|(k, b)| (String::from_utf8_lossy(&k.0).into_owned(), *b))
                .collect()
        })
        .collect();
    (maps, report)
}

/// Checks our full table against sysdig's top-30 table: every sysdig row must match
/// ours; when sysdig shows fewer than 30 rows, the tables must be equal.
pub fn assert_bytes_agree(what: &str, ours: &BTreeMap<String, u64>, sysdig: &[(String, u64)]) {
    for (k, b) in sysdig {
        assert_eq!(
            ours.get(k),
            Some(b),
            "{what}: key {k:?}: sysdig {b}, ours {:?}\nours: {ours:?}",
            ours.get(k)
        );
    }
    if sysdig.len() < 30 {
        assert_eq!(
            ours.len(),
            sysdig.len(),
            "{what}: ours {ours:?}\nsysdig {sysdig:?}"
        );
    }
}
