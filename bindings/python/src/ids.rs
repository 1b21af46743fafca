//! Span id choice: the `id=` argument of `Tracer`, and the per-span numeric ids of the
//! `"unique"` mode used for asyncio.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyInt, PyString};
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::sync::Once;
use tracer_tag::Id;

/// How a tracer picks the id written in its markers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdMode {
    /// One of the wire forms `t`, `p`, `pp`, `g` or an explicit number.
    Fixed(Id),
    /// A fresh process-unique number per span (asyncio: tasks sharing one thread never
    /// pair with each other's markers).
    Unique,
}

impl IdMode {
    /// Parses the Python `id=` argument: `"t"`, `"p"`, `"pp"`, `"g"`, `"unique"` (alias
    /// `"async"`) or an int. `None` is handled by the caller (it means "default").
    pub fn from_py(obj: &Bound<'_, PyAny>) -> PyResult<IdMode> {
        if let Ok(s) = obj.cast::<PyString>() {
            let s = s.to_cow()?;
            return match &*s {
                "t" => Ok(IdMode::Fixed(Id::Thread)),
                "p" => Ok(IdMode::Fixed(Id::Process)),
                "pp" => Ok(IdMode::Fixed(Id::Parent)),
                "g" => Ok(IdMode::Fixed(Id::Global)),
                "unique" | "async" => Ok(IdMode::Unique),
                other => match other.parse::<i64>() {
                    Ok(n) => Ok(IdMode::Fixed(Id::Explicit(n))),
                    Err(_) => Err(PyValueError::new_err(format!(
                        "invalid tracer id {other:?}: use \"t\", \"p\", \"pp\", \"g\", \"unique\" or an int"
                    ))),
                },
            };
        }
        if obj.is_instance_of::<PyInt>() && !obj.is_instance_of::<PyBool>() {
            let n: i64 = obj.extract().map_err(|_| {
                PyValueError::new_err("tracer id does not fit in a signed 64-bit integer")
            })?;
            return Ok(IdMode::Fixed(Id::Explicit(n)));
        }
        Err(PyTypeError::new_err(
            "tracer id must be a str (\"t\", \"p\", \"pp\", \"g\", \"unique\") or an int",
        ))
    }

    /// The Python-visible form of this mode (`"t"`, `"p"`, `"pp"`, `"g"`, `"unique"` or the
    /// number as an int).
    pub fn to_py<'py>(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(match self {
            IdMode::Fixed(Id::Thread) => PyString::new(py, "t").into_any(),
            IdMode::Fixed(Id::Process) => PyString::new(py, "p").into_any(),
            IdMode::Fixed(Id::Parent) => PyString::new(py, "pp").into_any(),
            IdMode::Fixed(Id::Global) => PyString::new(py, "g").into_any(),
            IdMode::Fixed(Id::Explicit(n)) => n.into_pyobject(py)?.into_any(),
            IdMode::Unique => PyString::new(py, "unique").into_any(),
        })
    }
}

/// The pid shifted into the upper half of unique ids (0 = not yet read in this process).
static PID_HIGH: AtomicI64 = AtomicI64::new(0);
/// Counter for the lower half of unique ids.
static NEXT: AtomicU32 = AtomicU32::new(1);
static ATFORK: Once = Once::new();

extern "C" fn after_fork_child() {
    PID_HIGH.store(0, Ordering::Relaxed);
    NEXT.store(1, Ordering::Relaxed);
}

/// A fresh id, unique on this host among live processes: `pid << 32 | counter`. It is
/// never 0 (the shared "global" id) and never written with a leading `0`.
pub fn unique_id() -> i64 {
    let mut high = PID_HIGH.load(Ordering::Relaxed);
    if high == 0 {
        ATFORK.call_once(|| {
            // SAFETY: registering a plain extern "C" callback with no captured state.
            unsafe { libc::pthread_atfork(None, None, Some(after_fork_child)) };
        });
        // SAFETY: getpid has no preconditions.
        high = i64::from(unsafe { libc::getpid() }) << 32;
        PID_HIGH.store(high, Ordering::Relaxed);
    }
    let low = NEXT.fetch_add(1, Ordering::Relaxed);
    high | i64::from(if low == 0 { 1 } else { low })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_ids_carry_the_pid_and_never_repeat() {
        let a = unique_id();
        let b = unique_id();
        assert_ne!(a, b);
        assert!(a > 0 && b > 0);
        // SAFETY: getpid has no preconditions.
        assert_eq!(a >> 32, i64::from(unsafe { libc::getpid() }));
    }

    #[test]
    fn id_parsing() {
        Python::initialize();
        Python::attach(|py| {
            let parse = |s: &str| IdMode::from_py(PyString::new(py, s).as_any());
            assert_eq!(parse("t").unwrap(), IdMode::Fixed(Id::Thread));
            assert_eq!(parse("pp").unwrap(), IdMode::Fixed(Id::Parent));
            assert_eq!(parse("async").unwrap(), IdMode::Unique);
            assert_eq!(parse("-12").unwrap(), IdMode::Fixed(Id::Explicit(-12)));
            assert!(parse("x").is_err());
            let n = 7i64.into_pyobject(py).unwrap();
            assert_eq!(
                IdMode::from_py(n.as_any()).unwrap(),
                IdMode::Fixed(Id::Explicit(7))
            );
            assert!(IdMode::from_py(PyBool::new(py, true).as_any()).is_err());
        });
    }
}
