//! `tracer statsd` and `tracer events`.

mod common;

use std::net::UdpSocket;
use std::time::Duration;

use common::{ok, sample, shared, tracer, Gen};
use serde_json::Value;

fn scenario(name: &str) -> Value {
    let text = std::fs::read_to_string(shared("spec/span-scenarios.json")).unwrap();
    let all: Vec<Value> = serde_json::from_str(&text).unwrap();
    all.into_iter().find(|s| s["name"] == name).unwrap()
}

/// S19: one timer per span, to the given host and port (C11), sysdig's payloads.
#[test]
fn statsd_sends_s19_payloads_to_the_given_port() {
    let s = scenario("S19");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s19.scap");
    let mut g = Gen::new(100, "app");
    for e in s["events"].as_array().unwrap() {
        let ts = e["ts"].as_u64().unwrap();
        match e["write"].as_str() {
            Some(w) => g.marker(ts, 100, w),
            None => g.other(ts, 100),
        }
    }
    g.write(&path);

    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    server
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let port = server.local_addr().unwrap().port();
    let to = format!("127.0.0.1:{port}");
    let out = tracer(["statsd", "-r", path.to_str().unwrap(), "--to", &to]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut got = Vec::new();
    let mut buf = [0u8; 1500];
    for _ in 0..2 {
        let (n, _) = server.recv_from(&mut buf).expect("datagram");
        got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    let want: Vec<String> = s["project_expected"]["statsd"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["payload"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(got, want);
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("sent 2 statsd timers to {to}")));
}

#[test]
fn statsd_prefix_and_filter() {
    let path = sample("generated-full.scap");
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = server.local_addr().unwrap().to_string();
    let out = ok([
        "statsd",
        "-r",
        path.to_str().unwrap(),
        "--to",
        &to,
        "--prefix",
        "web",
        "--json",
        "span.tag[0]=serve",
    ]);
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{out}");
    assert_eq!(lines[0]["payload"], "web.serve:0.0135|ms");
    assert_eq!(lines[0]["dest"], to);
}

/// Event numbers and the -p format agree with `sysdig -r` on the sample.
#[test]
fn events_format_and_numbering() {
    let path = sample("generated-full.scap");
    let p = path.to_str().unwrap();
    let out = ok([
        "events",
        "-r",
        p,
        "evt.type=tracer",
        "-p",
        "%evt.num %evt.dir %span.tags %span.duration",
    ]);
    // sysdig 0.29.3 prints the same three lines: enters have no span.duration, and a
    // line with a NULL field is not printed.
    assert_eq!(
        out,
        "33 < download_handler.send 13500\n55 < download_handler 3037500\n75 < serve 13500\n"
    );
    let out = ok([
        "events",
        "-r",
        p,
        "evt.type=tracer",
        "-p",
        "*%evt.num %span.duration",
    ]);
    assert_eq!(
        out,
        "5 <NA>\n15 <NA>\n33 13500\n55 3037500\n57 <NA>\n75 13500\n"
    );
}

#[test]
fn events_count_limit_and_json() {
    let path = sample("generated-full.scap");
    let p = path.to_str().unwrap();
    let out = ok(["events", "-r", p, "-n", "3"]);
    assert_eq!(out.lines().count(), 3);
    assert!(out.starts_with("1 "), "{out}");
    let out = ok(["events", "-r", p, "--json", "evt.type=openat and evt.dir=<"]);
    let v: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(v["evt.num"], 7);
    assert_eq!(v["fd.name"], "/data/file1.bin");
    assert_eq!(v["evtin.span.tags"], "download_handler");
}
