//! Native part of the `sysdig_tracer` Python SDK (module `sysdig_tracer._native`).
//!
//! Everything on the marker path (tag and argument escaping, formatting, the `write(2)`)
//! happens here, through `tracer-tag`; the Python package only re-exports these objects
//! and adds the `async def` wrapper.
#![warn(missing_docs)]

mod args;
mod decorate;
mod ids;
mod marker;
mod recycle;
mod tags;
mod tracer;

use pyo3::prelude::*;

/// The Python module `sysdig_tracer._native`.
#[pymodule]
mod _native {
    use pyo3::prelude::*;

    #[pymodule_export]
    use crate::args::{Args, Kwds, ReturnValue};
    #[pymodule_export]
    use crate::tracer::Tracer;

    /// Sends every later marker (all threads) to file descriptor `fd` (for example the
    /// write end of a pipe in tests). `None` or a negative fd restores `/dev/null`. The
    /// caller keeps ownership of `fd`.
    #[pyfunction]
    #[pyo3(signature = (fd))]
    fn set_sink_fd(fd: Option<i32>) {
        match fd {
            Some(fd) if fd >= 0 => tracer_tag::sink::set_fd(fd),
            _ => tracer_tag::sink::reset(),
        }
    }

    /// Sends later markers to `/dev/null` again.
    #[pyfunction]
    fn reset_sink() {
        tracer_tag::sink::reset()
    }

    /// The file descriptor markers are written to (opens `/dev/null` on first use; -1 if
    /// it cannot be opened).
    #[pyfunction]
    fn sink_fd() -> i32 {
        tracer_tag::sink::current_fd()
    }

    /// Number of markers that could not be written since the process started (write
    /// errors are never raised).
    #[pyfunction]
    fn error_count() -> u64 {
        tracer_tag::error_count() + crate::marker::short_writes()
    }

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add("__version__", env!("CARGO_PKG_VERSION"))
    }
}

#[allow(unused_imports)]
use _native as _;
