//! OpenTelemetry export of reconstructed tracer spans with the syscall I/O the kernel
//! saw inside them: one OTLP span per engine span (name = last tag, parent from tag
//! nesting, wall-clock times, process resource, args and `tracer.io.*` aggregates),
//! sent as OTLP/HTTP protobuf by a background exporter with a bounded queue, batching
//! and retries. See the crate README for the attribute mapping.
#![warn(missing_docs)]

pub mod attrs;
pub mod exporter;
pub mod ids;
pub mod mapping;

use tracer_core::engine::Consumer;
use tracer_core::event_view::EventView;
use tracer_core::spans::SpanRecord;

pub use exporter::{build_request, traces_url, ExportError, ExportStats, Exporter, ExporterConfig};
pub use ids::{salt_from, TraceParent};
pub use mapping::{ClockMap, ExportItem, MapperConfig, MapperStats, ProcessResource, SpanMapper};

/// An engine [`Consumer`] that maps every finished span and queues it on an
/// [`Exporter`] (never blocking the engine).
#[derive(Debug)]
pub struct OtlpConsumer<'e> {
    mapper: SpanMapper,
    exporter: &'e Exporter,
}

impl<'e> OtlpConsumer<'e> {
    /// Maps with `cfg` and submits to `exporter`.
    pub fn new(cfg: MapperConfig, exporter: &'e Exporter) -> Self {
        OtlpConsumer {
            mapper: SpanMapper::new(cfg),
            exporter,
        }
    }

    /// The mapper (for its counters).
    pub fn mapper(&self) -> &SpanMapper {
        &self.mapper
    }
}

impl Consumer for OtlpConsumer<'_> {
    fn event(&mut self, view: &EventView<'_>) {
        self.mapper.observe(view);
    }

    fn span(&mut self, span: &SpanRecord) {
        let item = self.mapper.map(span);
        self.exporter.submit(item);
    }
}
