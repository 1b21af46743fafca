//! Span arguments: the `Args` / `Kwds` / `ReturnValue` markers and the formatting of an
//! argument mapping into `name=value` byte pairs (`str()` of names and values, UTF-8).

use crate::tags::str_bytes;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};

/// Marker: positional argument `i` of the decorated call (index 0 is `self` for methods).
#[pyclass(module = "sysdig_tracer", frozen)]
pub struct Args {
    /// The position (negative counts from the end, as in Python indexing).
    #[pyo3(get)]
    i: isize,
}

#[pymethods]
impl Args {
    #[new]
    fn new(i: isize) -> Self {
        Args { i }
    }

    /// `args[i]` (the `sysdig_tracers` API).
    fn __call__<'py>(&self, args: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        args.get_item(self.i)
    }

    fn __repr__(&self) -> String {
        format!("Args({})", self.i)
    }
}

impl Args {
    fn pick<'py>(&self, args: &Bound<'py, PyTuple>) -> Option<Bound<'py, PyAny>> {
        let n = args.len() as isize;
        let i = if self.i < 0 { self.i + n } else { self.i };
        if (0..n).contains(&i) {
            args.get_item(i as usize).ok()
        } else {
            None
        }
    }
}

/// Marker: keyword argument `key` of the decorated call (omitted when not passed by
/// keyword).
#[pyclass(module = "sysdig_tracer", frozen)]
pub struct Kwds {
    /// The keyword.
    #[pyo3(get)]
    key: Py<PyAny>,
}

#[pymethods]
impl Kwds {
    #[new]
    fn new(key: Py<PyAny>) -> Self {
        Kwds { key }
    }

    /// `kwds[key]` (the `sysdig_tracers` API).
    fn __call__<'py>(&self, kwds: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        kwds.get_item(&self.key)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!("Kwds({})", self.key.bind(py).repr()?))
    }
}

/// Marker (the class itself): the return value of the decorated call, for `exit_args`.
#[pyclass(module = "sysdig_tracer", frozen)]
pub struct ReturnValue;

#[pymethods]
impl ReturnValue {
    #[new]
    fn new() -> Self {
        ReturnValue
    }

    fn __repr__(&self) -> &'static str {
        "ReturnValue"
    }
}

/// What a decorated call provides to resolve markers.
pub struct CallContext<'a, 'py> {
    /// Positional arguments.
    pub args: &'a Bound<'py, PyTuple>,
    /// Keyword arguments, if any.
    pub kwargs: Option<&'a Bound<'py, PyDict>>,
    /// The return value (exit only; `None` when the call raised).
    pub result: Option<&'a Bound<'py, PyAny>>,
}

/// Formatted arguments: every name and value stored back to back in one buffer.
#[derive(Default)]
pub struct ArgBuf {
    data: Vec<u8>,
    ends: Vec<(usize, usize)>,
}

impl ArgBuf {
    /// Whether no argument was added.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Adds one argument.
    pub fn push(&mut self, name: &[u8], value: &[u8]) {
        self.data.extend_from_slice(name);
        let n = self.data.len();
        self.data.extend_from_slice(value);
        self.ends.push((n, self.data.len()));
    }

    /// Adds every `(key, value)` of `mapping`, formatted with `str()`, resolving `Args`,
    /// `Kwds` and `ReturnValue` markers against `ctx` when given (an unresolvable marker
    /// is omitted). Without `ctx` (the `with` statement) markers are formatted with
    /// `str()` like any value, as `sysdig_tracers` does.
    pub fn extend_from(&mut self, mapping: &Bound<'_, PyAny>, ctx: Option<&CallContext<'_, '_>>) {
        if let Ok(d) = mapping.cast::<PyDict>() {
            for (k, v) in d.iter() {
                self.add_item(&k, &v, ctx);
            }
        } else if let Ok(items) = mapping.call_method0(pyo3::intern!(mapping.py(), "items")) {
            if let Ok(it) = items.try_iter() {
                for item in it.flatten() {
                    if let Ok((k, v)) = item.extract::<(Bound<'_, PyAny>, Bound<'_, PyAny>)>() {
                        self.add_item(&k, &v, ctx);
                    }
                }
            }
        }
    }

    fn add_item(
        &mut self,
        k: &Bound<'_, PyAny>,
        v: &Bound<'_, PyAny>,
        ctx: Option<&CallContext<'_, '_>>,
    ) {
        let start = self.data.len();
        push_str_of(&mut self.data, k);
        let n = self.data.len();
        let resolved;
        let value = match ctx {
            None => v,
            Some(ctx) => match resolve(v, ctx) {
                Resolved::Value(x) => {
                    resolved = x;
                    &resolved
                }
                Resolved::Literal => v,
                Resolved::Omit => {
                    self.data.truncate(start);
                    return;
                }
            },
        };
        push_str_of(&mut self.data, value);
        self.ends.push((n, self.data.len()));
    }

    /// Calls `f` with the arguments as `(name, value)` slices.
    pub fn with_pairs<R>(&self, f: impl FnOnce(&[(&[u8], &[u8])]) -> R) -> R {
        const INLINE: usize = 8;
        let mut start = 0;
        if self.ends.len() <= INLINE {
            let mut arr: [(&[u8], &[u8]); INLINE] = [(&[], &[]); INLINE];
            for (slot, &(n, e)) in arr.iter_mut().zip(&self.ends) {
                *slot = (&self.data[start..n], &self.data[n..e]);
                start = e;
            }
            f(&arr[..self.ends.len()])
        } else {
            let mut v = Vec::with_capacity(self.ends.len());
            for &(n, e) in &self.ends {
                v.push((&self.data[start..n], &self.data[n..e]));
                start = e;
            }
            f(&v)
        }
    }
}

enum Resolved<'py> {
    Value(Bound<'py, PyAny>),
    Literal,
    Omit,
}

fn resolve<'py>(v: &Bound<'py, PyAny>, ctx: &CallContext<'_, 'py>) -> Resolved<'py> {
    let py = v.py();
    if let Ok(a) = v.cast::<Args>() {
        return match a.get().pick(ctx.args) {
            Some(x) => Resolved::Value(x),
            None => Resolved::Omit,
        };
    }
    if let Ok(k) = v.cast::<Kwds>() {
        return match ctx
            .kwargs
            .and_then(|d| d.get_item(k.get().key.bind(py)).ok().flatten())
        {
            Some(x) => Resolved::Value(x),
            None => Resolved::Omit,
        };
    }
    if v.is(py.get_type::<ReturnValue>()) || v.is_instance_of::<ReturnValue>() {
        return match ctx.result {
            Some(r) => Resolved::Value(r.clone()),
            None => Resolved::Omit,
        };
    }
    Resolved::Literal
}

/// Appends the UTF-8 of `str(obj)`.
fn push_str_of(out: &mut Vec<u8>, obj: &Bound<'_, PyAny>) {
    if let Ok(s) = obj.cast_exact::<PyString>() {
        out.extend_from_slice(&str_bytes(s));
        return;
    }
    match obj.str() {
        Ok(s) => out.extend_from_slice(&str_bytes(&s)),
        Err(_) => {
            out.extend_from_slice(b"<unprintable ");
            if let Ok(name) = obj.get_type().name() {
                out.extend_from_slice(&str_bytes(&name));
            }
            out.push(b'>');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arg_buffer_pairs() {
        let mut b = ArgBuf::default();
        assert!(b.is_empty());
        for i in 0..10u8 {
            b.push(&[b'a' + i], &[b'0' + i]);
        }
        b.with_pairs(|p| {
            assert_eq!(p.len(), 10);
            assert_eq!(p[0], (&b"a"[..], &b"0"[..]));
            assert_eq!(p[9], (&b"j"[..], &b"9"[..]));
        });
    }

    #[test]
    fn markers_resolve_against_a_call() {
        Python::initialize();
        Python::attach(|py| {
            let args = PyTuple::new(py, [1, 2, 3]).unwrap();
            let kwargs = PyDict::new(py);
            kwargs.set_item("k", "v").unwrap();
            let result = 9i64.into_pyobject(py).unwrap().into_any();
            let ctx = CallContext {
                args: &args,
                kwargs: Some(&kwargs),
                result: Some(&result),
            };
            let m = PyDict::new(py);
            m.set_item("a", Py::new(py, Args::new(-1)).unwrap())
                .unwrap();
            m.set_item("b", Py::new(py, Args::new(5)).unwrap()).unwrap();
            m.set_item(
                "k",
                Py::new(
                    py,
                    Kwds::new("k".into_pyobject(py).unwrap().into_any().unbind()),
                )
                .unwrap(),
            )
            .unwrap();
            m.set_item("r", py.get_type::<ReturnValue>()).unwrap();
            m.set_item("l", 5).unwrap();
            let mut b = ArgBuf::default();
            b.extend_from(m.as_any(), Some(&ctx));
            b.with_pairs(|p| {
                let got: Vec<_> = p.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect();
                let want: Vec<(Vec<u8>, Vec<u8>)> =
                    [("a", "3"), ("k", "v"), ("r", "9"), ("l", "5")]
                        .iter()
                        .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
                        .collect();
                assert_eq!(got, want);
            });
        });
    }
}
