//! csysdig/chisel-style views as data (rendered by the CLI): traces summary by depth
//! with drill-down, traces list with children, spans spectrogram, bytes-by-field, and
//! statsd timer payloads. Semantics follow tracers-spec §7 with the policy's fixes
//! (C7 `[%depth+1]` columns, C10 enter times, C11 honoured statsd destination).

mod bytes_by;
mod format;
mod spectrogram;
mod summary;

pub use bytes_by::{ByField, BytesBy, BytesByTable};
pub use format::{durations_by_tags, format_span_time, format_time, lua_number, statsd_timer};
pub use spectrogram::{SpectroRow, Spectrogram, SpectrogramConfig};
pub use summary::{traces_list, traces_summary, SummaryRow, TraceRow, TracesList, TracesSummary};
