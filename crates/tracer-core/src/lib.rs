//! `tracer-core`: the library behind Tracer.
//!
//! Applications mark spans by writing tiny strings ("markers", sysdig tracers) to
//! `/dev/null`. This crate turns a time-ordered stream of [`event::Event`]s (marker
//! writes and the syscalls around them) into spans, and charges every file and network
//! byte, and the time spent in syscalls, to the span it happened in.
//!
//! Layers (data flows one way):
//! - [`grammar`]: the marker grammar (text and JSON forms), parse and encode. No I/O.
//! - [`event`]: the event model every producer (probe, capture reader) emits.
//!
//! The crate has no I/O in its core types and builds with no BPF toolchain.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

/// Byte-string serde helpers and tag/arg joining.
pub mod bytestr;
/// Syscall-to-span correlation: I/O accumulation and `evtin` scopes.
pub mod correlate;
/// The one-pass span/correlation engine and its report.
pub mod engine;
pub mod event;
/// Processed events with context, for consumers (filters, views).
pub mod event_view;
/// Per-process fd tables and marker fd states.
pub mod fds;
/// sysdig-compatible filter language, field catalog and `-p` output formats.
pub mod filter;
pub mod grammar;
/// Dense ids for distinct keys.
pub mod intern;
/// Open span records and finished spans.
pub mod spans;
/// x86-64 syscall names by native number (for syscalls outside the event model).
pub mod syscall_names;
/// Per-tag-path statistics.
pub mod tagstats;
/// Thread/process table.
pub mod threads;
/// Views as data: traces summary/list, spectrogram, bytes-by-field, statsd payloads.
pub mod views;
