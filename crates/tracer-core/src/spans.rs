//! Open span records and finished spans (tracers-spec §5 with the policy's fixes C4–C6).
//!
//! The store keeps every open enter record, ordered by enter (most recent first when
//! iterated), indexed by `(id, tag path)` for exit matching and by writer thread for
//! attribution. Capacity is configurable; when full, the **oldest** record is evicted and
//! reported (C4), and the new enter is always recorded.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::correlate::{InOut, IoAcc, IoSummary};

mod keys;
mod store;

pub use store::SpanStore;

/// Default open-record capacity.
pub const DEFAULT_OPEN_SPAN_CAPACITY: usize = 65536;

/// An open enter record (sysdig's enter record plus attribution state).
#[derive(Debug, Clone, Default)]
pub struct OpenRecord {
    /// Span number: unique, increasing in enter order.
    pub seq: u64,
    /// Resolved span id.
    pub id: i64,
    /// Interned id of the tag path (engine-internal key).
    pub path: u32,
    /// Tags of the enter marker (shared with the engine's tag-path table: every record
    /// of a path holds the same tags).
    pub tags: Arc<[Vec<u8>]>,
    /// Arguments of the enter marker.
    pub args: Vec<(Vec<u8>, Vec<u8>)>,
    /// Enter timestamp (the enter marker's write-exit timestamp), ns.
    pub enter_ts: u64,
    /// Thread that wrote the enter.
    pub writer_tid: i64,
    /// Process of that thread.
    pub writer_pid: i64,
    /// Input index of the enter event.
    pub enter_event: u64,
    /// Parent span (C6: most recent open record with the same id and tags t1…t(n−1),
    /// looked up at enter time).
    pub parent: Option<u64>,
    /// The parent's enter timestamp (`span.rawparenttime`).
    pub parent_enter_ts: Option<u64>,
    /// Number of ancestors.
    pub depth: u32,
    /// Syscalls and I/O attributed to this span itself (thread scope, innermost).
    pub io: IoAcc,
    /// Bytes of finished descendant spans.
    pub child_bytes: InOut,
    /// Summed durations of finished direct children, ns.
    pub child_ns: u64,
    /// Number of finished direct children.
    pub children: u32,
    /// Events of the writer thread were lost while the span was open.
    pub incomplete: bool,
}

/// How a span ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpanEnd {
    /// Closed by its exit marker.
    Closed,
    /// Still open at the end of the input.
    NeverClosed,
    /// Evicted from the full open-record store (C4).
    Evicted,
}

/// A finished (closed, never-closed or evicted) span.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpanRecord {
    /// Span number (enter order).
    pub seq: u64,
    /// Resolved id.
    pub id: i64,
    /// Tags.
    #[serde(with = "crate::bytestr::list")]
    pub tags: Vec<Vec<u8>>,
    /// Enter arguments.
    #[serde(with = "crate::bytestr::pairs")]
    pub enter_args: Vec<(Vec<u8>, Vec<u8>)>,
    /// Exit arguments (empty unless closed).
    #[serde(with = "crate::bytestr::pairs")]
    pub exit_args: Vec<(Vec<u8>, Vec<u8>)>,
    /// Enter timestamp, ns.
    pub enter_ts: u64,
    /// Exit timestamp when closed.
    pub exit_ts: Option<u64>,
    /// exit − enter (clamped ≥ 0) when closed.
    pub duration_ns: Option<u64>,
    /// Duration minus the durations of finished direct children (clamped ≥ 0).
    pub self_ns: Option<u64>,
    /// Writer of the enter.
    pub writer_tid: i64,
    /// Process of the writer.
    pub writer_pid: i64,
    /// Thread that wrote the exit.
    pub exit_tid: Option<i64>,
    /// Input index of the enter event.
    pub enter_event: u64,
    /// Input index of the exit event.
    pub exit_event: Option<u64>,
    /// Parent span number.
    pub parent: Option<u64>,
    /// Parent's enter timestamp.
    pub parent_enter_ts: Option<u64>,
    /// Number of ancestors.
    pub depth: u32,
    /// Finished direct children.
    pub children: u32,
    /// How the span ended.
    pub end: SpanEnd,
    /// Events were lost on the writer thread while it was open.
    pub incomplete: bool,
    /// Syscalls and bytes charged to this span itself.
    pub io: IoSummary,
    /// Bytes of this span plus all finished descendants.
    pub inclusive: InOut,
    /// Interned tag-path id (engine-internal).
    #[serde(skip)]
    pub path: u32,
}
