//! The engine's settings, its consumer interface, its counters and its final report.

use serde::{Deserialize, Serialize};

use crate::correlate::{InOut, IoSummary};
use crate::event_view::EventView;
use crate::spans::{SpanRecord, DEFAULT_OPEN_SPAN_CAPACITY};
use crate::tagstats::TagRow;

/// Engine settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineConfig {
    /// Maximum number of open enter records (C4); when full the oldest is evicted.
    pub open_span_capacity: usize,
    /// Per-thread fragment cap in bytes (sysdig: 65536).
    pub fragment_cap: usize,
    /// Keep every finished span in the [`Report`] (memory O(spans)); off by default —
    /// consumers receive finished spans through [`Consumer::span`] either way.
    pub retain_spans: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            open_span_capacity: DEFAULT_OPEN_SPAN_CAPACITY,
            fragment_cap: crate::grammar::DEFAULT_FRAGMENT_CAP,
            retain_spans: false,
        }
    }
}

/// Receives what the engine produces. Closures `FnMut(&EventView)` implement it (and
/// ignore [`Consumer::span`] calls).
pub trait Consumer {
    /// One processed event (see [`EventView`]).
    fn event(&mut self, view: &EventView<'_>);
    /// A finished span: closed by its exit (called right after the exit's view),
    /// evicted (C4), or never closed (from [`Engine::finish`](crate::engine::Engine::finish)).
    fn span(&mut self, _span: &SpanRecord) {}
    /// Whether this consumer looks at finished spans ([`Consumer::span`] and
    /// [`TracerView::span`](crate::event_view::TracerView::span)). When it returns false
    /// (and [`EngineConfig::retain_spans`] is off) the engine does not build
    /// [`SpanRecord`]s for closed and evicted spans: `span` is not called for them and
    /// exit views carry no span — tag statistics, counters, parents and the [`Report`]
    /// are the same either way (never-closed spans are always built for the report).
    /// Asked once per finished span; the default is true.
    fn wants_spans(&self) -> bool {
        true
    }
    /// Whether this consumer looks at the views of valid markers
    /// ([`EventClass::Tracer`](crate::event_view::EventClass::Tracer) views of enters and
    /// exits). When it returns false the engine does not build them — spans, counters
    /// and view numbers are the same either way (the skipped views keep their numbers),
    /// and invalid-tracer and hidden-write views are still passed on. Asked once per
    /// marker; the default is true.
    fn wants_tracer_views(&self) -> bool {
        true
    }
    /// Whether this consumer looks at the views of syscalls that move no bytes for
    /// sysdig: not I/O ([`sysdig_io_dir`](crate::event_view::sysdig_io_dir) is `None`)
    /// or returning `<= 0`. When it returns false the engine does not build them —
    /// everything else is the same (the skipped views keep their numbers). The default
    /// is true.
    fn wants_quiet_syscall_views(&self) -> bool {
        true
    }
}

/// Closures look at events only (they get no [`Consumer::span`] calls), but their exit
/// views carry the finished span like any consumer's. Implement [`Consumer`] on a type
/// whose `wants_spans` is false (such as [`BytesBy`](crate::views::BytesBy)) to let the
/// engine skip building spans.
impl<F: FnMut(&EventView<'_>)> Consumer for F {
    fn event(&mut self, view: &EventView<'_>) {
        self(view)
    }
}

/// A consumer that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoConsumer;

impl Consumer for NoConsumer {
    fn event(&mut self, _view: &EventView<'_>) {}
    fn wants_spans(&self) -> bool {
        false
    }
    fn wants_tracer_views(&self) -> bool {
        false
    }
    fn wants_quiet_syscall_views(&self) -> bool {
        false
    }
}

/// Event and span counters (nothing is dropped silently).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Input events processed.
    pub events: u64,
    /// Views emitted.
    pub views: u64,
    /// Non-marker syscalls.
    pub syscalls: u64,
    /// Valid enter markers.
    pub enters: u64,
    /// Valid exit markers.
    pub exits: u64,
    /// Invalid-tracer events (failed parse on a tracer fd).
    pub invalid_markers: u64,
    /// Writes kept as pending fragments (hidden).
    pub hidden_writes: u64,
    /// Marker candidates on undecided fds that did not parse (fd became non-tracer;
    /// the write stays a plain write).
    pub rejected_candidates: u64,
    /// Spans closed by their exit.
    pub closed_spans: u64,
    /// Exits with no open record.
    pub unmatched_exits: u64,
    /// Spans still open at the end.
    pub never_closed: u64,
    /// Open records evicted because the store was full (C4).
    pub evicted: u64,
    /// Fragments discarded (C3 or fragment cap).
    pub dropped_fragments: u64,
    /// Fragments still pending at the end of the input or at thread exit.
    pub pending_fragments_discarded: u64,
    /// Events the producer reported lost.
    pub lost_events: u64,
    /// Number of loss notices.
    pub loss_notices: u64,
    /// Highest number of simultaneously open spans.
    pub max_open_spans: u64,
    /// All I/O bytes seen (marker writes excluded).
    pub io: InOut,
}

/// The engine's final state, serializable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Settings used.
    pub config: EngineConfig,
    /// Counters.
    pub counts: Counts,
    /// Per-tag-path statistics, first-seen order.
    pub tags: Vec<TagRow>,
    /// Spans still open at the end (also counted in `counts.never_closed`).
    pub never_closed: Vec<SpanRecord>,
    /// Closed and evicted spans in finishing order, when
    /// [`EngineConfig::retain_spans`] is on (empty otherwise).
    pub spans: Vec<SpanRecord>,
    /// Syscalls and bytes that happened outside every span.
    pub unattributed: IoSummary,
}
