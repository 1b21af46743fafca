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

pub mod event;
pub mod grammar;
