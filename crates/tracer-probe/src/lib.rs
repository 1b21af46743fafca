//! `tracer-probe`: the eBPF probe that feeds Tracer (libbpf-rs, CO-RE, x86-64).
//!
//! BPF programs on the raw syscall tracepoints (`tp_btf`, falling back to `raw_tp`)
//! record, for the selected processes, the syscalls the engine needs (I/O sizes,
//! fd-table changes with paths and socket tuples, clone/execve/exit) and the marker
//! writes to the null device (char 1:3, recognised in the kernel by the file's device,
//! so fds opened before the capture work too). Records are decoded into
//! [`tracer_core::event::Event`]s.
//!
//! ```no_run
//! use std::time::Duration;
//! use tracer_probe::{Probe, ProbeConfig, Target, PausedChild};
//!
//! let child = PausedChild::spawn(&["python3", "app.py"])?;
//! let cfg = ProbeConfig { target: Target::Command(child.pid()), ..ProbeConfig::default() };
//! let mut probe = Probe::load(cfg)?;
//! let mut events = probe.snapshot();
//! let mut child = child.resume()?;
//! // ... poll in a loop until the child is done:
//! probe.poll(Duration::from_millis(100), &mut |e| events.push(e))?;
//! child.wait()?;
//! let stats = probe.finish(&mut |e| events.push(e))?;
//! println!("{} events, {} dropped", events.len(), stats.dropped);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

mod config;
mod error;
mod probe;
mod procfs;
mod record;
mod spawn;
mod syscalls;

#[allow(clippy::all, missing_docs, dead_code, unused, unsafe_op_in_unsafe_fn)]
mod skel {
    include!(concat!(env!("OUT_DIR"), "/probe.skel.rs"));
}

pub use config::{AttachKind, ProbeConfig, ProbeStats, Target};
pub use error::ProbeError;
pub use probe::Probe;
pub use spawn::{PausedChild, TracedChild};
