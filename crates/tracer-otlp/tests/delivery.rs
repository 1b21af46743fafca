//! Delivery behaviour of the exporter: batching, retries with backoff, a downed
//! endpoint (clear error, undelivered count, capture unaffected), queue overflow
//! (counted, never blocking) and collector-side rejections.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::synth::{self, Traffic};
use common::{dead_endpoint, Receiver, Script};
use opentelemetry_proto::tonic::trace::v1::Span;
use tracer_core::engine::{Engine, EngineConfig, NoConsumer};
use tracer_core::event::Event;
use tracer_otlp::{
    ExportError, ExportItem, Exporter, ExporterConfig, MapperConfig, OtlpConsumer, ProcessResource,
};

fn item(i: u64) -> ExportItem {
    ExportItem {
        resource: Arc::new(ProcessResource {
            pid: 1,
            attributes: Vec::new(),
        }),
        span: Span {
            trace_id: vec![1; 16],
            span_id: (i + 1).to_be_bytes().to_vec(),
            name: format!("s{i}"),
            start_time_unix_nano: 10,
            end_time_unix_nano: 20,
            ..Default::default()
        },
    }
}

fn fast(endpoint: String) -> ExporterConfig {
    ExporterConfig {
        endpoint,
        max_attempts: 3,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        request_timeout: Duration::from_secs(5),
        ..Default::default()
    }
}

fn received_names(rx: &Receiver) -> Vec<String> {
    rx.requests()
        .iter()
        .flat_map(|r| r.request.clone().unwrap().resource_spans)
        .flat_map(|rs| rs.scope_spans)
        .flat_map(|ss| ss.spans)
        .map(|s| s.name)
        .collect()
}

#[test]
fn batches_by_size() {
    let rx = Receiver::start(Script::default());
    let ex = Exporter::start(ExporterConfig {
        batch_size: 2,
        batch_timeout: Duration::from_secs(60),
        ..fast(rx.endpoint())
    })
    .unwrap();
    for i in 0..5 {
        assert!(ex.submit(item(i)));
    }
    let st = ex.finish();
    assert_eq!(st.submitted, 5);
    assert_eq!(st.sent, 5);
    assert_eq!(st.requests, 3, "2 + 2 + the final partial batch");
    assert_eq!(received_names(&rx), ["s0", "s1", "s2", "s3", "s4"]);
    // One resource group per request: the items share one process.
    for r in rx.requests() {
        assert_eq!(r.request.unwrap().resource_spans.len(), 1);
    }
}

#[test]
fn partial_batch_goes_out_after_the_timeout() {
    let rx = Receiver::start(Script::default());
    let ex = Exporter::start(ExporterConfig {
        batch_timeout: Duration::from_millis(20),
        ..fast(rx.endpoint())
    })
    .unwrap();
    ex.submit(item(0));
    // Wait (bounded) for the timer-driven flush, without finishing the exporter.
    for _ in 0..500 {
        if ex.stats().sent == 1 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(ex.stats().sent, 1, "sent before finish()");
    assert_eq!(ex.finish().requests, 1);
}

#[test]
fn retries_transient_errors_then_delivers() {
    let rx = Receiver::start(Script {
        statuses: vec![503, 429],
        ..Default::default()
    });
    let ex = Exporter::start(fast(rx.endpoint())).unwrap();
    for i in 0..3 {
        ex.submit(item(i));
    }
    let st = ex.finish();
    assert_eq!(st.sent, 3);
    assert_eq!(st.requests, 3);
    assert_eq!(st.retries, 2);
    assert_eq!(st.undelivered(), 0);
    assert!(Exporter::check(&st, "x").is_ok());
}

#[test]
fn non_retryable_status_fails_the_batch_at_once() {
    let rx = Receiver::start(Script {
        statuses: vec![400],
        ..Default::default()
    });
    let ex = Exporter::start(fast(rx.endpoint())).unwrap();
    ex.submit(item(0));
    let st = ex.finish();
    assert_eq!(st.failed, 1);
    assert_eq!(st.requests, 1);
    assert!(st.last_error.as_deref().unwrap().contains("HTTP 400"));
}

#[test]
fn collector_rejections_are_counted() {
    let rx = Receiver::start(Script {
        rejected: 1,
        ..Default::default()
    });
    let ex = Exporter::start(fast(rx.endpoint())).unwrap();
    ex.submit(item(0));
    ex.submit(item(1));
    let st = ex.finish();
    assert_eq!((st.sent, st.rejected), (1, 1));
    let err = Exporter::check(&st, "http://c/v1/traces").unwrap_err();
    assert!(
        err.to_string().contains("1 rejected by the collector"),
        "{err}"
    );
}

/// Events of a process doing 300 small spans with I/O.
fn busy_capture() -> Vec<Event> {
    let mut t = synth::start(1000, "busy", "/bin/busy", 1_000_000_000);
    t.open_file("/tmp/data", 5);
    for i in 0..300 {
        t.marker(&format!(">:t:job:n={i}:"));
        t.read(5, 100);
        t.marker("<:t:job::");
    }
    t.events
}

#[test]
fn endpoint_down_retries_then_reports_undelivered_and_capture_is_unaffected() {
    let events = busy_capture();
    // The engine's result without any export.
    let mut plain = Engine::new(EngineConfig::default());
    for ev in &events {
        plain.process(ev, &mut NoConsumer);
    }
    let plain = plain.finish(&mut NoConsumer);

    let endpoint = dead_endpoint();
    let ex = Exporter::start(ExporterConfig {
        batch_size: 100,
        ..fast(endpoint.clone())
    })
    .unwrap();
    let url = ex.url().to_string();
    let mut c = OtlpConsumer::new(MapperConfig::default(), &ex);
    let mut engine = Engine::new(EngineConfig::default());
    for ev in &events {
        engine.process(ev, &mut c);
    }
    let report = engine.finish(&mut c);
    drop(c);
    assert_eq!(
        report, plain,
        "exporting does not change what the engine computes"
    );
    assert_eq!(report.counts.closed_spans, 300);

    let st = ex.finish();
    assert_eq!(st.submitted, 300);
    assert_eq!(st.sent, 0);
    assert_eq!(st.undelivered(), 300, "{st:?}");
    assert_eq!(st.failed + st.dropped, 300);
    // The first batch used every attempt; once the endpoint is known down, later
    // batches get one attempt each until one succeeds.
    assert!(st.retries >= 2, "{st:?}");
    let batches = st.failed.div_ceil(100);
    assert_eq!(st.requests, 3 + batches.saturating_sub(1), "{st:?}");
    let err = Exporter::check(&st, &url).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(
        err,
        ExportError::Undelivered {
            undelivered: 300,
            ..
        }
    ));
    assert!(
        msg.starts_with("300 of 300 spans were not delivered to http://"),
        "{msg}"
    );
    assert!(msg.contains("/v1/traces"), "{msg}");
    assert!(
        msg.contains("attempt 1 of 1") || msg.contains("attempt 3 of 3"),
        "{msg}"
    );
}

#[test]
fn full_queue_drops_and_counts_without_blocking() {
    // A slow collector: every answer takes 300 ms; one span per request.
    let rx = Receiver::start(Script {
        delay: Duration::from_millis(300),
        ..Default::default()
    });
    let ex = Exporter::start(ExporterConfig {
        queue_capacity: 2,
        batch_size: 1,
        ..fast(rx.endpoint())
    })
    .unwrap();
    let accepted = (0..50).filter(|&i| ex.submit(item(i))).count() as u64;
    let st = ex.finish();
    assert_eq!(st.submitted, 50);
    assert_eq!(st.dropped, 50 - accepted);
    assert!(st.dropped >= 40, "{st:?}");
    assert_eq!(st.sent, accepted);
    assert_eq!(st.sent + st.dropped, 50);
}

#[test]
fn bad_endpoints_are_refused_up_front() {
    for bad in [
        "localhost:4318",
        "https://collector:4318",
        "http:///v1/traces",
    ] {
        let err = Exporter::start(fast(bad.into())).unwrap_err();
        assert!(
            matches!(err, ExportError::InvalidEndpoint(..)),
            "{bad}: {err}"
        );
    }
}

#[test]
fn a_collector_that_never_answers_times_out_and_fails() {
    // Accepts connections (the kernel backlog does) but never reads or answers.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", l.local_addr().unwrap());
    let ex = Exporter::start(ExporterConfig {
        max_attempts: 2,
        request_timeout: Duration::from_millis(200),
        ..fast(endpoint)
    })
    .unwrap();
    for i in 0..3 {
        assert!(
            ex.submit(item(i)),
            "submitting never waits for the collector"
        );
    }
    let st = ex.finish();
    drop(l);
    assert_eq!((st.sent, st.failed, st.requests), (0, 3, 2), "{st:?}");
    let err = st.last_error.unwrap().to_lowercase();
    assert!(
        err.contains("timeout") || err.contains("timed out"),
        "{err}"
    );
}
