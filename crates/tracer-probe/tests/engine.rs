//! The probe feeding tracer-core's engine: per-span bytes, per file and per peer, for a
//! real workload (root only; prints SKIP otherwise).

use tracer_core::bytestr::join_tags;
use tracer_core::engine::{Engine, EngineConfig, NoConsumer};
use tracer_core::event::Event;
use tracer_probe::{Probe, ProbeConfig, Target};

mod common;
use common::{poll_until_exit, root_or_skip, Workload};

fn tags(s: &tracer_core::spans::SpanRecord) -> String {
    String::from_utf8_lossy(&join_tags(&s.tags)).into_owned()
}

#[test]
fn engine_charges_bytes_to_spans() {
    if !root_or_skip("engine_charges_bytes_to_spans") {
        return;
    }
    let Workload { tmp, data, mut py } = Workload::start();
    let cfg = ProbeConfig {
        target: Target::Command(py.pid()),
        attach: common::attach(),
        ..ProbeConfig::default()
    };
    let mut probe = Probe::load(cfg).expect("probe loads as root");
    let mut events: Vec<Event> = probe.snapshot();
    let first_live = events.len();
    py.go();
    poll_until_exit(&mut probe, &mut py.child, &mut events);
    probe.finish(&mut |e| events.push(e)).unwrap();
    let facts = py.facts();
    let (port, uport) = (facts[2], facts[3]);
    // the probe hands events out in timestamp order (the engine needs time order)
    assert!(events[first_live..].is_sorted_by_key(|e| e.ts));

    let report = Engine::new(EngineConfig {
        retain_spans: true,
        ..EngineConfig::default()
    })
    .run(events.iter(), &mut NoConsumer);
    let span = |t: &str| {
        report
            .spans
            .iter()
            .find(|s| tags(s) == t)
            .unwrap_or_else(|| panic!("span {t} in {:?}", report.spans))
    };
    let io = span("io");
    let inner = span("io.inner");
    let rx = span("rx");
    assert!(span("shspan").exit_ts.is_some());
    assert_eq!(report.counts.never_closed, 0);
    assert!(!io.incomplete);
    let data_path = data.to_str().unwrap();
    let out_path = tmp.path().join("out.bin");
    assert_eq!(
        io.io.files.get(data_path).map(|b| b.bytes_in),
        Some(1 << 20),
        "{:?}",
        io.io
    );
    let tcp = format!("127.0.0.1:{port}");
    let udp = format!("127.0.0.1:{uport}");
    let peer_out = |s: &tracer_core::spans::SpanRecord, p: &str| {
        s.io.peers
            .iter()
            .filter(|(k, _)| k.contains(p))
            .map(|(_, v)| v.bytes_out)
            .sum::<u64>()
    };
    assert_eq!(peer_out(io, &tcp), 102400, "{:?}", io.io.peers);
    assert_eq!(peer_out(io, &udp), 1000, "{:?}", io.io.peers);
    let rx_in: u64 = rx.io.peers.values().map(|v| v.bytes_in).sum();
    assert_eq!(rx_in, 102400, "{:?}", rx.io);
    let out_bytes = inner
        .io
        .files
        .get(out_path.to_str().unwrap())
        .map(|b| b.bytes_out);
    assert_eq!(out_bytes, Some(300 + 50000), "{:?}", inner.io);
    assert_eq!(inner.parent, Some(io.seq), "io.inner nests in io");
}
