//! The OTLP/HTTP (protobuf) exporter: a background thread fed through a bounded queue
//! (never blocks the producer; overflow is counted), batching by size or age, retries
//! with capped exponential backoff, and delivery statistics.

use std::sync::mpsc::{self, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};
use prost::Message;

use crate::mapping::ExportItem;

/// Exporter errors.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The endpoint is not a usable `http://` URL.
    #[error("invalid OTLP endpoint {0:?}: {1}")]
    InvalidEndpoint(String, &'static str),
    /// The exporter thread could not be started.
    #[error("cannot start the OTLP exporter thread: {0}")]
    Spawn(#[from] std::io::Error),
    /// Some spans did not reach the collector.
    #[error(
        "{undelivered} of {total} spans were not delivered to {endpoint} \
         ({failed} failed after retries, {dropped} dropped on a full queue, {rejected} rejected by the collector){}",
        last_error.as_deref().map(|e| format!(": {e}")).unwrap_or_default()
    )]
    Undelivered {
        /// Spans not delivered.
        undelivered: u64,
        /// Spans submitted.
        total: u64,
        /// Of which failed after all attempts.
        failed: u64,
        /// Of which dropped on a full queue.
        dropped: u64,
        /// Of which rejected by the collector (partial success).
        rejected: u64,
        /// The traces URL.
        endpoint: String,
        /// The last error seen.
        last_error: Option<String>,
    },
}

/// Exporter settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExporterConfig {
    /// Collector URL: a base (`http://host:4318`, `/v1/traces` is appended) or the full
    /// traces URL (ending in `/v1/traces`).
    pub endpoint: String,
    /// Spans the queue holds before new ones are dropped (and counted).
    pub queue_capacity: usize,
    /// Spans per request.
    pub batch_size: usize,
    /// A partial batch is sent once its oldest span waited this long.
    pub batch_timeout: Duration,
    /// Attempts per batch (first try included), at least 1.
    pub max_attempts: u32,
    /// Backoff before the first retry; doubled per retry.
    pub initial_backoff: Duration,
    /// Upper bound of one backoff (and of an honoured `Retry-After`).
    pub max_backoff: Duration,
    /// Timeout of one HTTP request (connect + send + response).
    pub request_timeout: Duration,
    /// Extra HTTP headers (e.g. authentication for a hosted collector).
    pub headers: Vec<(String, String)>,
}

impl Default for ExporterConfig {
    fn default() -> Self {
        ExporterConfig {
            endpoint: "http://127.0.0.1:4318".into(),
            queue_capacity: 8192,
            batch_size: 512,
            batch_timeout: Duration::from_secs(1),
            max_attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            headers: Vec::new(),
        }
    }
}

/// Delivery statistics (a snapshot, or the final figures from [`Exporter::finish`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ExportStats {
    /// Spans offered to [`Exporter::submit`].
    pub submitted: u64,
    /// Spans accepted by the collector.
    pub sent: u64,
    /// Spans the collector reported as rejected (OTLP partial success).
    pub rejected: u64,
    /// Spans whose batch failed every attempt (or got a non-retryable answer).
    pub failed: u64,
    /// Spans dropped because the queue was full (or the exporter had stopped).
    pub dropped: u64,
    /// HTTP requests made, retries included.
    pub requests: u64,
    /// Of which retries.
    pub retries: u64,
    /// The most recent error.
    pub last_error: Option<String>,
}

impl ExportStats {
    /// Spans that did not reach the collector.
    pub fn undelivered(&self) -> u64 {
        self.rejected + self.failed + self.dropped
    }
}

/// Normalises the endpoint to the traces URL; only plain `http://` is supported.
pub fn traces_url(endpoint: &str) -> Result<String, ExportError> {
    let e = endpoint.trim();
    let bad = |why| ExportError::InvalidEndpoint(endpoint.to_string(), why);
    if e.starts_with("https://") {
        return Err(bad(
            "https is not supported; send to a local collector over http://",
        ));
    }
    let Some(rest) = e.strip_prefix("http://") else {
        return Err(bad("expected a URL like http://127.0.0.1:4318"));
    };
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(bad("the URL has no host"));
    }
    if e.ends_with("/v1/traces") {
        Ok(e.to_string())
    } else {
        Ok(format!("{}/v1/traces", e.trim_end_matches('/')))
    }
}

/// Groups spans by process resource into one OTLP request.
pub fn build_request(items: Vec<ExportItem>) -> ExportTraceServiceRequest {
    let mut groups: Vec<(Arc<crate::mapping::ProcessResource>, Vec<_>)> = Vec::new();
    for item in items {
        match groups
            .iter_mut()
            .find(|(r, _)| Arc::ptr_eq(r, &item.resource) || **r == *item.resource)
        {
            Some((_, spans)) => spans.push(item.span),
            None => groups.push((item.resource, vec![item.span])),
        }
    }
    ExportTraceServiceRequest {
        resource_spans: groups
            .into_iter()
            .map(|(r, spans)| ResourceSpans {
                resource: Some(Resource {
                    attributes: r.attributes.clone(),
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope {
                        name: "tracer".into(),
                        version: env!("CARGO_PKG_VERSION").into(),
                        ..Default::default()
                    }),
                    spans,
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            })
            .collect(),
    }
}

/// Exports spans on a background thread. Dropping it without [`Exporter::finish`]
/// still flushes (the thread drains the queue), but the statistics are lost.
#[derive(Debug)]
pub struct Exporter {
    tx: Option<SyncSender<ExportItem>>,
    handle: Option<JoinHandle<()>>,
    stats: Arc<Mutex<ExportStats>>,
    url: String,
}

/// What one send attempt decided.
enum Outcome {
    /// Delivered; the count of spans the collector rejected.
    Done(u64),
    /// Worth another attempt (after at least this long, if the server said so).
    Retry(String, Option<Duration>),
    /// Not worth retrying.
    Fatal(String),
}

struct Worker {
    cfg: ExporterConfig,
    url: String,
    agent: ureq::Agent,
    stats: Arc<Mutex<ExportStats>>,
    /// The last batch failed every attempt: try later batches once until one succeeds,
    /// so a dead endpoint does not stall the flush for minutes.
    down: bool,
}

fn lock(s: &Mutex<ExportStats>) -> std::sync::MutexGuard<'_, ExportStats> {
    s.lock().unwrap_or_else(|p| p.into_inner())
}

impl Worker {
    fn attempt(&self, body: &[u8]) -> Outcome {
        let mut req = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/x-protobuf");
        for (k, v) in &self.cfg.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let mut resp = match req.send(body) {
            Ok(r) => r,
            Err(e) => return Outcome::Retry(format!("POST {}: {e}", self.url), None),
        };
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(1 << 20)
            .read_to_vec()
            .unwrap_or_default();
        match status {
            200..=299 => {
                let rejected = ExportTraceServiceResponse::decode(bytes.as_slice())
                    .ok()
                    .and_then(|r| r.partial_success)
                    .map(|p| u64::try_from(p.rejected_spans).unwrap_or(0))
                    .unwrap_or(0);
                Outcome::Done(rejected)
            }
            429 | 502 | 503 | 504 => {
                Outcome::Retry(format!("POST {}: HTTP {status}", self.url), retry_after)
            }
            _ => {
                let msg = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned();
                Outcome::Fatal(format!("POST {}: HTTP {status} {}", self.url, msg.trim()))
            }
        }
    }

    fn send(&mut self, batch: Vec<ExportItem>) {
        if batch.is_empty() {
            return;
        }
        let n = batch.len() as u64;
        let body = build_request(batch).encode_to_vec();
        let attempts = if self.down {
            1
        } else {
            self.cfg.max_attempts.max(1)
        };
        let mut backoff = self.cfg.initial_backoff;
        for attempt in 1..=attempts {
            let outcome = self.attempt(&body);
            let mut st = lock(&self.stats);
            st.requests += 1;
            if attempt > 1 {
                st.retries += 1;
            }
            match outcome {
                Outcome::Done(rejected) => {
                    let rejected = rejected.min(n);
                    st.sent += n - rejected;
                    st.rejected += rejected;
                    if rejected > 0 {
                        st.last_error = Some(format!("collector rejected {rejected} spans"));
                    }
                    self.down = false;
                    return;
                }
                Outcome::Fatal(e) => {
                    st.failed += n;
                    st.last_error = Some(e);
                    return;
                }
                Outcome::Retry(e, after) => {
                    st.last_error = Some(format!("{e} (attempt {attempt} of {attempts})"));
                    drop(st);
                    if attempt < attempts {
                        let wait = after.unwrap_or(backoff).min(self.cfg.max_backoff);
                        std::thread::sleep(wait);
                        backoff = (backoff * 2).min(self.cfg.max_backoff);
                    }
                }
            }
        }
        lock(&self.stats).failed += n;
        self.down = true;
    }

    fn run(mut self, rx: mpsc::Receiver<ExportItem>) {
        let size = self.cfg.batch_size.max(1);
        let mut batch: Vec<ExportItem> = Vec::with_capacity(size.min(4096));
        let mut deadline: Option<Instant> = None;
        loop {
            let got = match deadline {
                None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
                Some(d) => rx.recv_timeout(d.saturating_duration_since(Instant::now())),
            };
            match got {
                Ok(item) => {
                    if batch.is_empty() {
                        deadline = Some(Instant::now() + self.cfg.batch_timeout);
                    }
                    batch.push(item);
                    if batch.len() >= size {
                        self.send(std::mem::take(&mut batch));
                        deadline = None;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    self.send(std::mem::take(&mut batch));
                    deadline = None;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    self.send(std::mem::take(&mut batch));
                    return;
                }
            }
        }
    }
}

impl Exporter {
    /// Validates the endpoint and starts the exporter thread.
    pub fn start(cfg: ExporterConfig) -> Result<Exporter, ExportError> {
        let url = traces_url(&cfg.endpoint)?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(cfg.request_timeout))
            .http_status_as_error(false)
            .build()
            .into();
        let stats = Arc::new(Mutex::new(ExportStats::default()));
        let (tx, rx) = mpsc::sync_channel(cfg.queue_capacity.max(1));
        let worker = Worker {
            cfg,
            url: url.clone(),
            agent,
            stats: Arc::clone(&stats),
            down: false,
        };
        let handle = std::thread::Builder::new()
            .name("otlp-export".into())
            .spawn(move || worker.run(rx))?;
        Ok(Exporter {
            tx: Some(tx),
            handle: Some(handle),
            stats,
            url,
        })
    }

    /// The traces URL requests go to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Queues one span without blocking; returns false (and counts it as dropped) when
    /// the queue is full.
    pub fn submit(&self, item: ExportItem) -> bool {
        let ok = match &self.tx {
            Some(tx) => match tx.try_send(item) {
                Ok(()) => true,
                Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
            },
            None => false,
        };
        let mut st = lock(&self.stats);
        st.submitted += 1;
        if !ok {
            st.dropped += 1;
        }
        ok
    }

    /// Current statistics (spans still queued or in flight are in none of the
    /// delivered/undelivered counts yet).
    pub fn stats(&self) -> ExportStats {
        lock(&self.stats).clone()
    }

    /// Sends what is queued (with retries), stops the thread and returns the final
    /// statistics.
    pub fn finish(mut self) -> ExportStats {
        self.shutdown();
        self.stats()
    }

    fn shutdown(&mut self) {
        self.tx = None;
        if let Some(h) = self.handle.take() {
            if h.join().is_err() {
                lock(&self.stats).last_error = Some("the OTLP exporter thread panicked".into());
            }
        }
    }

    /// [`ExportStats`] as a result: an [`ExportError::Undelivered`] when any span did
    /// not reach the collector.
    pub fn check(stats: &ExportStats, url: &str) -> Result<(), ExportError> {
        if stats.undelivered() == 0 {
            return Ok(());
        }
        Err(ExportError::Undelivered {
            undelivered: stats.undelivered(),
            total: stats.submitted,
            failed: stats.failed,
            dropped: stats.dropped,
            rejected: stats.rejected,
            endpoint: url.to_string(),
            last_error: stats.last_error.clone(),
        })
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_normalise() {
        assert_eq!(
            traces_url("http://127.0.0.1:4318").unwrap(),
            "http://127.0.0.1:4318/v1/traces"
        );
        assert_eq!(
            traces_url("http://c:4318/").unwrap(),
            "http://c:4318/v1/traces"
        );
        assert_eq!(
            traces_url("http://c:4318/v1/traces").unwrap(),
            "http://c:4318/v1/traces"
        );
        for bad in ["", "c:4318", "https://c", "http://", "ftp://x"] {
            assert!(traces_url(bad).is_err(), "{bad}");
        }
    }
}
