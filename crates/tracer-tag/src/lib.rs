//! `tracer-tag`: emit span markers from Rust.
