//! Engine spans → OTLP spans: names, parentage, trace identity, wall-clock times,
//! process resources, args and the `tracer.io.*` syscall aggregates.
//!
//! Trace context is assigned when a span is *entered* (spans finish child-first, so a
//! child must be able to find its trace before its parent finishes): a root span starts
//! a trace (or joins the caller's when it carries a W3C `traceparent` arg), a child
//! inherits its parent's trace. Span ids are derived from the engine's span numbers, so
//! a child knows its parent's id without waiting for it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::span::{Event as SpanEvent, SpanKind};
use opentelemetry_proto::tonic::trace::v1::Span;
use rustc_hash::FxHashMap;
use tracer_core::correlate::InOut;
use tracer_core::event_view::{EventClass, EventView};
use tracer_core::grammar::Direction;
use tracer_core::spans::{OpenRecord, SpanEnd, SpanRecord};
use tracer_core::threads::ThreadState;

use crate::attrs::{self, boolean, int, int_signed, string, strings, text, Capped};
use crate::ids::{span_id, trace_id, SpanId, TraceId, TraceParent};

/// Converts capture timestamps to Unix-epoch nanoseconds.
///
/// `.scap` files already hold wall-clock ns (identity); live probe events use the boot
/// clock and need `wall − boot` added (the CLI converts before the engine sees them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClockMap {
    /// Added to every capture timestamp.
    pub offset_ns: i64,
}

impl ClockMap {
    /// Timestamps are already wall-clock ns.
    pub const IDENTITY: ClockMap = ClockMap { offset_ns: 0 };

    /// Adds `offset_ns` to every timestamp.
    pub fn with_offset(offset_ns: i64) -> Self {
        ClockMap { offset_ns }
    }

    /// The wall-clock time of capture timestamp `ts` (clamped to ≥ 0).
    pub fn to_wall(self, ts: u64) -> u64 {
        let v = i128::from(ts) + i128::from(self.offset_ns);
        u64::try_from(v.max(0)).unwrap_or(u64::MAX)
    }
}

/// Mapping settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapperConfig {
    /// Salt for span and trace ids ([`crate::ids::salt_from`]); the same salt and
    /// capture give the same ids, so a re-export does not duplicate traces.
    pub salt: u64,
    /// Capture clock → wall clock.
    pub clock: ClockMap,
    /// `host.name` resource attribute (e.g. from the capture's machine info).
    pub host_name: Option<String>,
    /// `service.name` for every process (default: the executable's base name).
    pub service_name: Option<String>,
    /// How many files and peers are listed per span (events and `tracer.io.top_*`),
    /// at most 60 each so a span stays within 128 events.
    pub top_n: usize,
}

impl Default for MapperConfig {
    fn default() -> Self {
        MapperConfig {
            salt: 0,
            clock: ClockMap::IDENTITY,
            host_name: None,
            service_name: None,
            top_n: 10,
        }
    }
}

/// The OTLP resource of one traced process.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessResource {
    /// Process id.
    pub pid: i64,
    /// Resource attributes (`service.name`, `host.name`, `process.*`).
    pub attributes: Vec<KeyValue>,
}

/// One mapped span with the resource of its process.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportItem {
    /// The process resource (shared by the process's spans).
    pub resource: Arc<ProcessResource>,
    /// The span.
    pub span: Span,
}

/// Mapping counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct MapperStats {
    /// Spans mapped.
    pub spans: u64,
    /// Root spans that joined a caller's trace through a valid `traceparent` arg.
    pub joined_traces: u64,
    /// `traceparent` args on root spans that were not valid W3C values (ignored).
    pub invalid_traceparents: u64,
    /// Attributes dropped to stay within the 128-attribute limit.
    pub dropped_attributes: u64,
}

/// Trace context of an open span, fixed at enter time.
#[derive(Debug, Clone)]
struct TraceCtx {
    trace_id: TraceId,
    flags: u32,
    trace_state: String,
    /// The caller's span (roots joined through `traceparent`).
    remote_parent: Option<SpanId>,
    thread_name: String,
    resource: Arc<ProcessResource>,
}

/// Turns the engine's views and finished spans into [`ExportItem`]s.
///
/// Feed it every view ([`SpanMapper::observe`]) and map each finished span
/// ([`SpanMapper::map`]); [`crate::OtlpConsumer`] does both. Memory: one small entry
/// per open span plus one resource per traced process.
#[derive(Debug)]
pub struct SpanMapper {
    cfg: MapperConfig,
    open: FxHashMap<u64, TraceCtx>,
    processes: FxHashMap<i64, CachedProcess>,
    last_ts: u64,
    stats: MapperStats,
}

/// A process resource with what it was built from (rebuilt only when that changes).
#[derive(Debug)]
struct CachedProcess {
    comm: String,
    exe: String,
    args: Vec<String>,
    resource: Arc<ProcessResource>,
}

/// At most this many process resources are cached (then the cache restarts).
const PROCESS_CACHE: usize = 4096;

fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Entries sorted by total bytes (descending, then by name), at most `n`.
fn top(map: &BTreeMap<String, InOut>, n: usize) -> Vec<(&String, &InOut)> {
    let mut v: Vec<_> = map.iter().collect();
    v.sort_by(|a, b| b.1.total().cmp(&a.1.total()).then_with(|| a.0.cmp(b.0)));
    v.truncate(n);
    v
}

/// Splits a peer name (`10.0.0.2:5555`, `[::1]:80`) into address and port.
fn split_peer(peer: &str) -> (String, Option<u16>) {
    match peer.parse::<SocketAddr>() {
        Ok(a) => (a.ip().to_string(), Some(a.port())),
        Err(_) => (peer.to_string(), None),
    }
}

impl SpanMapper {
    /// A mapper with these settings.
    pub fn new(cfg: MapperConfig) -> Self {
        SpanMapper {
            cfg,
            open: FxHashMap::default(),
            processes: FxHashMap::default(),
            last_ts: 0,
            stats: MapperStats::default(),
        }
    }

    /// The settings.
    pub fn config(&self) -> &MapperConfig {
        &self.cfg
    }

    /// Counters so far.
    pub fn stats(&self) -> MapperStats {
        self.stats
    }

    /// Number of open spans whose trace context is held.
    pub fn open_spans(&self) -> usize {
        self.open.len()
    }

    /// Watches one engine view: remembers the time, and assigns the trace context of
    /// every newly entered span.
    pub fn observe(&mut self, view: &EventView<'_>) {
        self.last_ts = self.last_ts.max(view.event.ts);
        let EventClass::Tracer(t) = &view.class else {
            return;
        };
        if t.invalid || t.dir != Direction::Enter {
            return;
        }
        let Some(rec) = t.record else {
            return;
        };
        let ctx = self.enter_ctx(rec, view.thread);
        self.open.insert(rec.seq, ctx);
    }

    fn resource(&mut self, pid: i64, thread: Option<&ThreadState>) -> Arc<ProcessResource> {
        let (comm, exe, args) = match thread {
            Some(t) => (t.comm.as_str(), t.exe.as_str(), t.args.as_slice()),
            None => ("", "", &[][..]),
        };
        if let Some(c) = self.processes.get(&pid) {
            if c.comm == comm && c.exe == exe && c.args == args {
                return Arc::clone(&c.resource);
            }
        }
        let exe_name = if exe.is_empty() { comm } else { base_name(exe) };
        let mut a = Capped::new(attrs::MAX_ATTRIBUTES);
        let service = match (&self.cfg.service_name, exe_name) {
            (Some(s), _) => s.clone(),
            (None, "") => format!("unknown_service:pid{pid}"),
            (None, n) => n.to_string(),
        };
        a.push_new("service.name", string(service));
        if let Some(h) = &self.cfg.host_name {
            a.push_new("host.name", string(h.clone()));
        }
        a.push_new("process.pid", int_signed(pid));
        if !exe_name.is_empty() {
            a.push_new("process.executable.name", string(exe_name));
        }
        if exe.starts_with('/') {
            a.push_new("process.executable.path", string(exe));
        }
        if !exe.is_empty() {
            a.push_new("process.command", string(exe));
            a.push_new(
                "process.command_args",
                strings(std::iter::once(exe.to_string()).chain(args.iter().cloned())),
            );
        }
        a.push_new("telemetry.sdk.name", string("tracer"));
        a.push_new("telemetry.sdk.version", string(env!("CARGO_PKG_VERSION")));
        let r = Arc::new(ProcessResource {
            pid,
            attributes: a.list,
        });
        if self.processes.len() >= PROCESS_CACHE {
            self.processes.clear();
        }
        self.processes.insert(
            pid,
            CachedProcess {
                comm: comm.to_string(),
                exe: exe.to_string(),
                args: args.to_vec(),
                resource: Arc::clone(&r),
            },
        );
        r
    }

    fn enter_ctx(&mut self, rec: &OpenRecord, thread: Option<&ThreadState>) -> TraceCtx {
        let resource = self.resource(rec.writer_pid, thread);
        let thread_name = thread.map(|t| t.comm.clone()).unwrap_or_default();
        if let Some(parent) = rec.parent.and_then(|p| self.open.get(&p)) {
            return TraceCtx {
                trace_id: parent.trace_id,
                flags: parent.flags,
                trace_state: parent.trace_state.clone(),
                remote_parent: None,
                thread_name,
                resource,
            };
        }
        let mut ctx = TraceCtx {
            trace_id: match rec.parent {
                // Parent entered before this mapper started watching: one trace per
                // parent span number keeps siblings together.
                Some(p) => trace_id(self.cfg.salt, p, 0),
                None => trace_id(self.cfg.salt, rec.seq, rec.enter_ts),
            },
            flags: 1,
            trace_state: String::new(),
            remote_parent: None,
            thread_name,
            resource,
        };
        if rec.parent.is_none() {
            let arg = |name: &[u8]| {
                rec.args
                    .iter()
                    .find(|(k, _)| k.as_slice() == name)
                    .map(|(_, v)| text(v))
            };
            if let Some(tp) = arg(b"traceparent") {
                match TraceParent::parse(&tp) {
                    Some(tp) => {
                        ctx.trace_id = tp.trace_id;
                        ctx.flags = u32::from(tp.flags);
                        ctx.remote_parent = Some(tp.parent_id);
                        ctx.trace_state = arg(b"tracestate").unwrap_or_default();
                        self.stats.joined_traces += 1;
                    }
                    None => self.stats.invalid_traceparents += 1,
                }
            }
        }
        ctx
    }

    /// Maps one finished span (closed, evicted or never closed). Spans whose enter was
    /// not observed still map, with a trace derived from their parent's span number.
    pub fn map(&mut self, s: &SpanRecord) -> ExportItem {
        let ctx = match self.open.remove(&s.seq) {
            Some(c) => c,
            None => TraceCtx {
                trace_id: match s.parent {
                    Some(p) => trace_id(self.cfg.salt, p, 0),
                    None => trace_id(self.cfg.salt, s.seq, s.enter_ts),
                },
                flags: 1,
                trace_state: String::new(),
                remote_parent: None,
                thread_name: String::new(),
                resource: self.resource(s.writer_pid, None),
            },
        };
        let salt = self.cfg.salt;
        let clock = self.cfg.clock;
        let start = clock.to_wall(s.enter_ts);
        let end = clock.to_wall(s.exit_ts.unwrap_or(self.last_ts.max(s.enter_ts)));
        let parent_span_id = match (s.parent, ctx.remote_parent) {
            (Some(p), _) => span_id(salt, p).to_vec(),
            (None, Some(remote)) => remote.to_vec(),
            (None, None) => Vec::new(),
        };
        let name = s
            .tags
            .last()
            .map(|t| text(t))
            .unwrap_or_else(|| "(no tag)".to_string());
        let attributes = self.span_attributes(s, &ctx.thread_name);
        let events = self.io_events(s, end);
        self.stats.spans += 1;
        self.stats.dropped_attributes += u64::from(attributes.dropped);
        ExportItem {
            resource: ctx.resource,
            span: Span {
                trace_id: ctx.trace_id.to_vec(),
                span_id: span_id(salt, s.seq).to_vec(),
                trace_state: ctx.trace_state,
                parent_span_id,
                flags: ctx.flags,
                name,
                kind: SpanKind::Internal as i32,
                start_time_unix_nano: start,
                end_time_unix_nano: end,
                attributes: attributes.list,
                dropped_attributes_count: attributes.dropped,
                events,
                ..Default::default()
            },
        }
    }

    fn span_attributes(&self, s: &SpanRecord, thread_name: &str) -> Capped {
        let mut a = Capped::new(attrs::MAX_ATTRIBUTES);
        let path: Vec<String> = s.tags.iter().map(|t| text(t)).collect();
        a.push_new("tracer.span.tags", string(path.join(".")));
        a.push_new("thread.id", int_signed(s.writer_tid));
        if !thread_name.is_empty() {
            a.push_new("thread.name", string(thread_name));
        }
        a.push_new("tracer.span.id", int_signed(s.id));
        a.push_new("tracer.span.depth", int(u64::from(s.depth)));
        a.push_new("tracer.span.children", int(u64::from(s.children)));
        let end = match s.end {
            SpanEnd::Closed => "closed",
            SpanEnd::NeverClosed => "never_closed",
            SpanEnd::Evicted => "evicted",
        };
        a.push_new("tracer.span.end", string(end));
        if let Some(d) = s.duration_ns {
            a.push_new("tracer.span.duration_ns", int(d));
        }
        if let Some(n) = s.self_ns {
            a.push_new("tracer.span.self_ns", int(n));
        }
        if let Some(t) = s.exit_tid.filter(|&t| t != s.writer_tid) {
            a.push_new("tracer.span.exit_thread.id", int_signed(t));
        }
        if s.incomplete {
            a.push_new("tracer.span.incomplete", boolean(true));
        }
        let io = &s.io;
        a.push_new("tracer.io.syscall.count", int(io.syscalls));
        a.push_new("tracer.io.syscall.errors", int(io.errors));
        a.push_new("tracer.io.syscall.duration_ns", int(io.syscall_ns));
        a.push_new("tracer.io.bytes.read", int(io.total.bytes_in));
        a.push_new("tracer.io.bytes.written", int(io.total.bytes_out));
        a.push_new("tracer.io.inclusive.bytes.read", int(s.inclusive.bytes_in));
        a.push_new(
            "tracer.io.inclusive.bytes.written",
            int(s.inclusive.bytes_out),
        );
        for (kind, b) in &io.by_kind {
            let k = kind.name();
            a.push_new(format!("tracer.io.{k}.bytes.read"), int(b.bytes_in));
            a.push_new(format!("tracer.io.{k}.bytes.written"), int(b.bytes_out));
        }
        let n = self.cfg.top_n.min(60);
        let files = top(&io.files, n);
        if let Some((path, _)) = files.first() {
            a.push_new("file.path", string(path.as_str()));
            a.push_new("tracer.io.files.count", int(io.files.len() as u64));
            a.push_new(
                "tracer.io.top_files",
                strings(files.iter().map(|(p, _)| (*p).clone())),
            );
        }
        let peers = top(&io.peers, n);
        if let Some((peer, _)) = peers.first() {
            let (addr, port) = split_peer(peer);
            a.push_new("network.peer.address", string(addr));
            if let Some(p) = port {
                a.push_new("network.peer.port", int(u64::from(p)));
            }
            a.push_new("tracer.io.peers.count", int(io.peers.len() as u64));
            a.push_new(
                "tracer.io.top_peers",
                strings(peers.iter().map(|(p, _)| (*p).clone())),
            );
        }
        for (k, v) in &s.enter_args {
            a.push(format!("tracer.arg.{}", text(k)), string(text(v)));
        }
        for (k, v) in &s.exit_args {
            a.push(format!("tracer.exit_arg.{}", text(k)), string(text(v)));
        }
        a
    }

    /// One event per top file (`tracer.io.file`) and per top peer (`tracer.io.peer`),
    /// stamped at the span's end, with the bytes each way.
    fn io_events(&self, s: &SpanRecord, at: u64) -> Vec<SpanEvent> {
        let n = self.cfg.top_n.min(60);
        let mut out = Vec::new();
        for (path, b) in top(&s.io.files, n) {
            out.push(SpanEvent {
                time_unix_nano: at,
                name: "tracer.io.file".into(),
                attributes: vec![
                    attrs::kv("file.path", string(path.as_str())),
                    attrs::kv("tracer.io.bytes.read", int(b.bytes_in)),
                    attrs::kv("tracer.io.bytes.written", int(b.bytes_out)),
                ],
                dropped_attributes_count: 0,
            });
        }
        for (peer, b) in top(&s.io.peers, n) {
            let (addr, port) = split_peer(peer);
            let mut attributes = vec![attrs::kv("network.peer.address", string(addr))];
            if let Some(p) = port {
                attributes.push(attrs::kv("network.peer.port", int(u64::from(p))));
            }
            attributes.push(attrs::kv("tracer.io.bytes.read", int(b.bytes_in)));
            attributes.push(attrs::kv("tracer.io.bytes.written", int(b.bytes_out)));
            out.push(SpanEvent {
                time_unix_nano: at,
                name: "tracer.io.peer".into(),
                attributes,
                dropped_attributes_count: 0,
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_offsets_and_clamps() {
        assert_eq!(ClockMap::IDENTITY.to_wall(5), 5);
        assert_eq!(ClockMap::with_offset(10).to_wall(5), 15);
        assert_eq!(ClockMap::with_offset(-10).to_wall(5), 0);
        assert_eq!(ClockMap::with_offset(i64::MAX).to_wall(u64::MAX), u64::MAX);
    }

    #[test]
    fn peers_split_and_top_sorts_by_bytes() {
        assert_eq!(split_peer("10.0.0.2:5555"), ("10.0.0.2".into(), Some(5555)));
        assert_eq!(split_peer("[::1]:80"), ("::1".into(), Some(80)));
        assert_eq!(split_peer("/run/x.sock"), ("/run/x.sock".into(), None));
        let mut m = BTreeMap::new();
        let io = |i, o| InOut {
            bytes_in: i,
            bytes_out: o,
        };
        m.insert("a".to_string(), io(1, 1));
        m.insert("b".to_string(), io(10, 0));
        m.insert("c".to_string(), io(0, 10));
        let t: Vec<&str> = top(&m, 2).iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(t, ["b", "c"]);
    }
}
