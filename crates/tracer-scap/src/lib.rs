//! `tracer-scap`: read and write sysdig `.scap` capture files as
//! [`tracer_core::event::Event`] streams.
//!
//! - [`ScapReader`] streams any capture sysdig ever wrote (plain or gzip; process list
//!   v1–v9, fd list v1–v2, event blocks v1/v2 with and without flags), pairs enter and
//!   exit events into syscalls, and survives damaged files: everything before the
//!   damage is returned, with a warning naming the byte offset.
//! - [`ThreadedReader`] runs a [`ScapReader`] on a background thread and hands the
//!   same events over in batches (decoding overlaps with the consumer).
//! - [`ScapWriter`] writes captures that sysdig 0.29.3 reads, including tracer
//!   (marker) writes recognised by `sysdig`/`csysdig` span views.
//!
//! The file format is described in `shared/docs/scap-format.md`. This crate holds all
//! capture-file I/O so that `tracer-core` stays free of I/O.

#![deny(unsafe_code)]
#![warn(missing_docs)]

mod block;
mod build;
mod decode;
mod decoder;
mod error;
pub mod evtable;
mod fdlist;
pub mod flags;
mod framing;
mod live;
mod meta;
mod pairing;
mod params;
mod reader;
mod shape;
mod sockaddr;
mod spare;
pub mod synth;
mod threaded;
mod writer;

pub use block::{DF_TRACER, MAX_EVENT_PAYLOAD};
pub use decode::{OTHER_EVENT_BASE, UNKNOWN_NATIVE};
pub use error::{ScapError, ScapWarning, WarningKind};
pub use fdlist::FdEntry;
pub use meta::{Interface, MachineInfo, ProcessEntry, UserEntry};
pub use reader::{event_type_name, ReadStats, ScapReader};
pub use threaded::ThreadedReader;
pub use writer::{ScapWriter, WriteStats, WriterOptions};
