//! `tracer export otlp`: spans of a sample capture reach a local OTLP/HTTP endpoint;
//! a dead endpoint gives retries, a clear error and the undelivered count. (The
//! protobuf content is checked in `crates/tracer-otlp/tests`.)

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use common::{cannot_probe, failed, json, sample, tracer};
use tracer_core::engine::{Engine, EngineConfig, NoConsumer};
use tracer_scap::ScapReader;

/// (path, content type, body length) of each request; every answer is 200.
type Seen = Arc<Mutex<Vec<(String, String, usize)>>>;

fn receiver() -> (String, Seen) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let seen: Seen = Arc::default();
    let s = Arc::clone(&seen);
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(conn) = conn else { continue };
            let s = Arc::clone(&s);
            std::thread::spawn(move || {
                let mut out = conn.try_clone().unwrap();
                let mut r = BufReader::new(conn);
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                    let (mut len, mut ctype) = (0usize, String::new());
                    loop {
                        let mut h = String::new();
                        if r.read_line(&mut h).unwrap_or(0) == 0 {
                            return;
                        }
                        let h = h.trim_end().to_ascii_lowercase();
                        if h.is_empty() {
                            break;
                        }
                        if let Some(v) = h.strip_prefix("content-length:") {
                            len = v.trim().parse().unwrap();
                        } else if let Some(v) = h.strip_prefix("content-type:") {
                            ctype = v.trim().to_string();
                        }
                    }
                    let mut body = vec![0; len];
                    r.read_exact(&mut body).unwrap();
                    s.lock().unwrap().push((path, ctype, len));
                    out.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                        .unwrap();
                }
            });
        }
    });
    (format!("http://{addr}"), seen)
}

fn engine_spans(name: &str) -> u64 {
    let mut r = ScapReader::open(sample(name)).unwrap();
    let mut e = Engine::new(EngineConfig::default());
    while let Some(ev) = r.next_event().unwrap() {
        e.process(&ev, &mut NoConsumer);
    }
    let c = e.finish(&mut NoConsumer).counts;
    c.closed_spans + c.never_closed + c.evicted
}

#[test]
fn export_otlp_delivers_every_span() {
    let (endpoint, seen) = receiver();
    let file = sample("generated-full.scap");
    let v = json([
        "export".as_ref(),
        "otlp".as_ref(),
        "-r".as_ref(),
        file.as_os_str(),
        "--endpoint".as_ref(),
        endpoint.as_ref(),
        "--json".as_ref(),
    ]);
    let n = engine_spans("generated-full.scap");
    assert!(n >= 2);
    assert_eq!(v["delivery"]["submitted"], n);
    assert_eq!(v["delivery"]["sent"], n);
    assert_eq!(v["delivery"]["failed"], 0);
    assert_eq!(v["mapping"]["spans"], n);
    assert_eq!(v["url"], format!("{endpoint}/v1/traces"));
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].0, "/v1/traces");
    assert_eq!(seen[0].1, "application/x-protobuf");
    assert!(seen[0].2 > 100);
}

#[test]
fn export_otlp_to_a_dead_endpoint_fails_clearly() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", l.local_addr().unwrap());
    drop(l);
    let file = sample("generated-full.scap");
    let out = tracer([
        "export".as_ref(),
        "otlp".as_ref(),
        "-r".as_ref(),
        file.as_os_str(),
        "--endpoint".as_ref(),
        endpoint.as_ref(),
        "--attempts".as_ref(),
        "2".as_ref(),
    ]);
    let err = failed(&out);
    let n = engine_spans("generated-full.scap");
    assert!(
        err.contains(&format!(
            "error: {n} of {n} spans were not delivered to {endpoint}/v1/traces"
        )),
        "{err}"
    );
    assert!(err.contains("in 2 requests (1 retry)"), "{err}");
    assert!(err.contains("Connection refused"), "{err}");
}

#[test]
fn export_otlp_refuses_bad_endpoints_and_missing_files() {
    let file = sample("generated-full.scap");
    for bad in ["ftp://x", "localhost:4318", "https://collector:4318"] {
        let out = tracer([
            "export".as_ref(),
            "otlp".as_ref(),
            "-r".as_ref(),
            file.as_os_str(),
            "--endpoint".as_ref(),
            bad.as_ref(),
        ]);
        let err = failed(&out);
        assert!(err.contains("invalid OTLP endpoint"), "{err}");
    }
    let out = tracer(["export", "otlp", "-r", "/nonexistent.scap"]);
    let err = failed(&out);
    assert!(err.contains("cannot open /nonexistent.scap"), "{err}");
}

/// `capture --otlp` sends the spans live; exporting the written file afterwards sends
/// the same number.
#[test]
fn capture_with_otlp_sends_spans_live() {
    if let Some(why) = cannot_probe() {
        eprintln!("SKIPPED capture_with_otlp_sends_spans_live: {why}; the eBPF probe cannot run");
        return;
    }
    let (endpoint, seen) = receiver();
    let dir = tempfile::tempdir().unwrap();
    let cap = dir.path().join("t.scap");
    let script = "m = open('/dev/null', 'wb', buffering=0)\n\
                  for i in range(3):\n    m.write(b'>:t:job::')\n    \
                  open('/etc/services', 'rb').read()\n    m.write(b'<:t:job::')\n";
    let out = tracer([
        "capture".as_ref(),
        "-q".as_ref(),
        "-w".as_ref(),
        cap.as_os_str(),
        "--otlp".as_ref(),
        endpoint.as_ref(),
        "--".as_ref(),
        "python3".as_ref(),
        "-c".as_ref(),
        script.as_ref(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("tracer: sent 3 of 3 spans to"), "{err}");
    assert!(!seen.lock().unwrap().is_empty());
    let v = json([
        "export".as_ref(),
        "otlp".as_ref(),
        "-r".as_ref(),
        cap.as_os_str(),
        "--endpoint".as_ref(),
        endpoint.as_ref(),
        "--json".as_ref(),
    ]);
    assert_eq!(v["delivery"]["sent"], 3);
}

#[test]
fn export_otlp_takes_the_endpoint_from_the_otel_environment() {
    let (endpoint, seen) = receiver();
    let file = sample("generated-minimal.scap");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tracer"))
        .args([
            "export".as_ref(),
            "otlp".as_ref(),
            "-r".as_ref(),
            file.as_os_str(),
        ])
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(&format!("sent 1 of 1 spans to {endpoint}/v1/traces")),
        "{err}"
    );
    assert_eq!(seen.lock().unwrap().len(), 1);
}
