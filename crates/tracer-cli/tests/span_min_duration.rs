//! `tracer by --span-min-duration`: only the I/O done inside spans that lasted at least
//! the threshold, on the span's own thread, counts.

mod common;

use common::{json, ok, tracer, Gen};
use serde_json::Value;

const MS: u64 = 1_000_000;
const T0: u64 = 1_700_000_000_000_000_000;

/// Thread 100 runs a slow `download_handler` span (800 ms) reading `/data/a.bin`;
/// meanwhile thread 101 runs a fast one (50 ms) reading `/data/b.bin`. Outside their
/// spans both threads read a little more of their files.
fn capture(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let mut g = Gen::new(100, "app");
    g.thread(101, "app");
    g.marker(T0, 100, ">:t:download_handler::");
    g.open(T0 + MS, 100, "/data/a.bin", 5);
    g.io(T0 + 2 * MS, 100, 5, 4096, false, 1000);
    g.marker(T0 + 100 * MS, 101, ">:t:download_handler::");
    g.open(T0 + 101 * MS, 101, "/data/b.bin", 6);
    g.io(T0 + 120 * MS, 101, 6, 777, false, 1000);
    g.marker(T0 + 150 * MS, 101, "<:t:download_handler::");
    // Thread 101 outside its (fast) span while thread 100's slow span is open.
    g.io(T0 + 200 * MS, 101, 6, 55, false, 1000);
    g.io(T0 + 300 * MS, 100, 5, 1000, false, 1000);
    g.marker(T0 + 800 * MS, 100, "<:t:download_handler::");
    // Thread 100 after its slow span closed.
    g.io(T0 + 900 * MS, 100, 5, 333, false, 1000);
    let path = dir.path().join("slow.scap");
    g.write(&path);
    path
}

fn rows(v: &Value) -> Vec<(String, u64)> {
    v["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["key"].as_str().expect("key").to_string(),
                r["value"].as_u64().expect("value"),
            )
        })
        .collect()
}

const FILTER: &str = "evtin.span.tag[0]=download_handler and fd.type=file";

fn file_rows(v: &Value) -> Vec<(String, u64)> {
    rows(v)
        .into_iter()
        .filter(|(k, _)| k.starts_with("/data/"))
        .collect()
}

#[test]
fn only_the_slow_span_bytes_count() {
    let dir = tempfile::tempdir().unwrap();
    let cap = capture(&dir);
    let p = cap.to_str().unwrap();

    let all = json(["by", "fd.name", "-r", p, "--json"]);
    assert_eq!(
        file_rows(&all),
        vec![
            ("/data/a.bin".to_string(), 4096 + 1000 + 333),
            ("/data/b.bin".to_string(), 777 + 55),
        ]
    );
    assert!(all.get("span_min_duration_ns").is_none());

    let in_spans = json(["by", "fd.name", "-r", p, FILTER, "--json"]);
    assert_eq!(
        rows(&in_spans),
        vec![
            ("/data/a.bin".to_string(), 4096 + 1000),
            ("/data/b.bin".to_string(), 777),
        ]
    );

    let slow = json([
        "by",
        "fd.name",
        "-r",
        p,
        "--span-min-duration",
        "500ms",
        FILTER,
        "--json",
    ]);
    assert_eq!(rows(&slow), vec![("/data/a.bin".to_string(), 4096 + 1000)]);
    assert_eq!(slow["total"], 4096 + 1000);
    assert_eq!(slow["span_min_duration_ns"], 500 * MS);
    assert_eq!(slow["slow_spans"], 1);

    // Without a filter: still only thread 100's I/O between its enter and exit.
    let slow_unfiltered = json([
        "by",
        "fd.name",
        "-r",
        p,
        "--span-min-duration",
        "500ms",
        "--json",
    ]);
    assert_eq!(
        file_rows(&slow_unfiltered),
        vec![("/data/a.bin".to_string(), 4096 + 1000)]
    );

    // A threshold both spans meet brings B back; the boundary is inclusive (50 ms).
    let both = json([
        "by",
        "fd.name",
        "-r",
        p,
        "--span-min-duration",
        "50ms",
        FILTER,
        "--json",
    ]);
    assert_eq!(
        rows(&both),
        vec![
            ("/data/a.bin".to_string(), 4096 + 1000),
            ("/data/b.bin".to_string(), 777),
        ]
    );
}

#[test]
fn works_with_metric_top_and_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let cap = capture(&dir);
    let p = cap.to_str().unwrap();
    let base = [
        "by",
        "fd.name",
        "-r",
        p,
        "--span-min-duration",
        "0.5",
        FILTER,
    ];

    let count = json(base.iter().copied().chain(["--metric", "count", "--json"]));
    assert_eq!(count["metric"], "count");
    // The openat exit and the two reads inside the slow span.
    assert_eq!(rows(&count), vec![("/data/a.bin".to_string(), 3)]);

    let time = json(base.iter().copied().chain(["--metric", "time", "--json"]));
    // openat took 1 ns, each read 1000 ns.
    assert_eq!(rows(&time), vec![("/data/a.bin".to_string(), 2001)]);

    let top = json(
        [
            "by",
            "fd.name",
            "-r",
            p,
            "--span-min-duration",
            "50ms",
            FILTER,
        ]
        .into_iter()
        .chain(["--top", "1", "--json"]),
    );
    assert_eq!(rows(&top), vec![("/data/a.bin".to_string(), 5096)]);
    assert_eq!(top["total"], 5096 + 777);

    let table = ok(base);
    assert!(table.contains("/data/a.bin"), "{table}");
    assert!(!table.contains("/data/b.bin"), "{table}");

    let none = ok([
        "by",
        "fd.name",
        "-r",
        p,
        "--span-min-duration",
        "1s",
        FILTER,
    ]);
    assert!(none.contains("no span lasted at least"), "{none}");
}

#[test]
fn bad_duration_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let cap = capture(&dir);
    let out = tracer([
        "by",
        "fd.name",
        "-r",
        cap.to_str().unwrap(),
        "--span-min-duration",
        "slowish",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad duration"), "{err}");
}

#[test]
fn help_documents_the_option() {
    let help = ok(["by", "--help"]);
    assert!(help.contains("--span-min-duration"), "{help}");
}
