//! The `Tracer` class: context manager, decorator, `start()`/`stop()` and child spans.

use crate::args::{ArgBuf, CallContext};
use crate::ids::{unique_id, IdMode};
use crate::tags::{self, str_bytes, Tags};
use crate::{marker, recycle};
use pyo3::exceptions::{PyAttributeError, PyTypeError};
use pyo3::gc::PyVisit;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple, PyType};
use pyo3::PyTraverseError;
use std::sync::OnceLock;
use tracer_tag::{Dir, Id};

/// A span: `with Tracer("name"):`, `@Tracer`, `t.start()` / `t.stop()`.
///
/// Plain `Tracer("tag")` objects are recycled per thread: while nothing else refers to
/// the last one made for the same tag string, the next `Tracer("tag")` reuses it, reset
/// (the class is final and has no `__dict__` or weak references, so nobody can tell).
#[pyclass(module = "sysdig_tracer")]
pub struct Tracer {
    pub(crate) tags: Tags,
    /// Whether the tag came from the user (a decorator then keeps it).
    pub(crate) explicit_tag: bool,
    pub(crate) mode: IdMode,
    /// Whether `id=` was passed (async functions default to unique ids otherwise).
    pub(crate) id_given: bool,
    /// The id of this span in `IdMode::Unique`.
    pub(crate) uid: i64,
    pub(crate) enter_args: Option<Py<PyAny>>,
    pub(crate) exit_args: Option<Py<PyAny>>,
    pub(crate) wrapped: Option<Wrapped>,
    /// `>:ID:TAGS:` for `tags` and the span's id, encoded on first use; reset whenever
    /// either changes.
    pub(crate) enc: OnceLock<Box<[u8]>>,
    /// Bumped whenever tags or id change (invalidates `kid`).
    pub(crate) generation: u64,
    /// The last plain child made by `span(tag)`, reused while nothing else holds it.
    pub(crate) kid: Option<Box<Kid>>,
    /// Attributes set by user code (for example by other decorators on a decorated
    /// function), since the class has no `__dict__`.
    pub(crate) extra: Option<Py<PyDict>>,
}

/// A recyclable child span of a [`Tracer`].
pub(crate) struct Kid {
    tag: Py<PyString>,
    child: Py<Tracer>,
    /// The parent's `generation` when the child was made.
    generation: u64,
}

/// `error=<exception type name>`, appended to the exit arguments of a failed span.
pub(crate) fn push_error(buf: &mut ArgBuf, exc_type: &Bound<'_, PyAny>) {
    let name = exc_type
        .cast::<PyType>()
        .ok()
        .and_then(|t| t.name().ok())
        .map(|n| str_bytes(&n).into_owned())
        .unwrap_or_else(|| b"Exception".to_vec());
    buf.push(b"error", &name);
}

/// Formats an optional argument mapping (no markers resolved).
fn plain_args(py: Python<'_>, mapping: Option<&Py<PyAny>>) -> Option<ArgBuf> {
    let m = mapping?.bind(py);
    if m.is_none() {
        return None;
    }
    let mut buf = ArgBuf::default();
    buf.extend_from(m, None);
    Some(buf)
}

pub(crate) use crate::decorate::{method_type, Wrapped};

/// The reference count of `obj`.
pub(crate) fn refcnt<T>(obj: &Py<T>) -> isize {
    // SAFETY: `obj` is a live object and the caller is attached to the interpreter.
    unsafe { pyo3::ffi::Py_REFCNT(obj.as_ptr()) }
}

impl Tracer {
    /// Writes one marker of this span with its own id. Never fails.
    #[inline]
    fn put(&self, py: Python<'_>, dir: Dir, args: Option<&ArgBuf>) {
        self.put_id(py, dir, self.wire_id(), args)
    }

    /// Writes one marker of this span with id `id`. Never fails.
    #[inline]
    pub(crate) fn put_id(&self, py: Python<'_>, dir: Dir, id: Id, args: Option<&ArgBuf>) {
        if id == self.wire_id() {
            let prefix = self.enc.get_or_init(|| marker::prefix(py, id, &self.tags));
            marker::write(py, dir, prefix, args, (id, &self.tags));
        } else {
            let prefix = marker::prefix(py, id, &self.tags);
            marker::write(py, dir, &prefix, args, (id, &self.tags));
        }
    }

    /// Drops the encoded prefix after a change of tags or id.
    pub(crate) fn changed(&mut self) {
        self.enc = OnceLock::new();
        self.generation = self.generation.wrapping_add(1);
        self.kid = None;
    }

    /// The id written in markers of this span.
    #[inline]
    pub(crate) fn wire_id(&self) -> Id {
        match self.mode {
            IdMode::Fixed(id) => id,
            IdMode::Unique => Id::Explicit(self.uid),
        }
    }

    fn build(
        tags: Tags,
        explicit_tag: bool,
        id: Option<&Bound<'_, PyAny>>,
        enter_args: Option<Bound<'_, PyAny>>,
        exit_args: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Tracer> {
        let (mode, id_given) = match id {
            Some(i) if !i.is_none() => (IdMode::from_py(i)?, true),
            _ => (IdMode::Fixed(Id::Thread), false),
        };
        let mut t = Tracer {
            tags,
            explicit_tag,
            mode,
            id_given,
            uid: 0,
            enter_args: enter_args.filter(|a| !a.is_none()).map(Bound::unbind),
            exit_args: exit_args.filter(|a| !a.is_none()).map(Bound::unbind),
            wrapped: None,
            extra: None,
            enc: OnceLock::new(),
            generation: 0,
            kid: None,
        };
        if t.mode == IdMode::Unique {
            t.uid = unique_id();
        }
        Ok(t)
    }
}

#[pymethods]
impl Tracer {
    /// `Tracer(tag=None, enter_args=None, exit_args=None, *, id=None)`.
    #[new]
    #[pyo3(signature = (tag=None, enter_args=None, exit_args=None, *, id=None))]
    fn new(
        py: Python<'_>,
        tag: Option<Bound<'_, PyAny>>,
        enter_args: Option<Bound<'_, PyAny>>,
        exit_args: Option<Bound<'_, PyAny>>,
        id: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Py<Tracer>> {
        let no_args = enter_args.as_ref().is_none_or(|a| a.is_none())
            && exit_args.as_ref().is_none_or(|a| a.is_none());
        let tracer = match tag {
            Some(t) if t.is_exact_instance_of::<PyString>() => {
                let s = t.cast_into_exact::<PyString>()?;
                if no_args {
                    return recycle::plain(py, s, id.as_ref(), false);
                }
                Tracer::build(
                    Tags::Path(s.unbind()),
                    true,
                    id.as_ref(),
                    enter_args,
                    exit_args,
                )?
            }
            Some(t) if !t.is_none() && t.is_callable() && !t.is_instance_of::<PyString>() => {
                // `@Tracer` without parentheses
                let mut tr =
                    Tracer::build(Tags::empty(), false, id.as_ref(), enter_args, exit_args)?;
                tr.wrap(&t)?;
                tr
            }
            Some(t) if !t.is_none() => {
                let tags = Tags::from_py(&t)?;
                Tracer::build(tags, true, id.as_ref(), enter_args, exit_args)?
            }
            _ if no_args => {
                return recycle::plain(py, tags::auto_str(py).into_bound(py), id.as_ref(), true)
            }
            _ => Tracer::build(Tags::auto(py), false, id.as_ref(), enter_args, exit_args)?,
        };
        Py::new(py, tracer)
    }

    fn __enter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        let py = slf.py();
        let args = plain_args(py, slf.enter_args.as_ref());
        slf.put(py, Dir::Enter, args.as_ref());
        slf
    }

    fn __exit__(
        &self,
        py: Python<'_>,
        exc_type: Option<Bound<'_, PyAny>>,
        exc_value: Option<Bound<'_, PyAny>>,
        traceback: Option<Bound<'_, PyAny>>,
    ) -> bool {
        let _ = (exc_value, traceback);
        match exc_type {
            Some(t) if !t.is_none() => {
                let mut buf = plain_args(py, self.exit_args.as_ref()).unwrap_or_default();
                push_error(&mut buf, &t);
                self.put(py, Dir::Exit, Some(&buf));
            }
            _ => {
                let args = plain_args(py, self.exit_args.as_ref());
                self.put(py, Dir::Exit, args.as_ref());
            }
        }
        false
    }

    /// Decorator use: `Tracer(...)(func)` wraps `func`; calling a decorating tracer
    /// calls the function inside a span.
    #[pyo3(signature = (*args, **kwargs))]
    fn __call__(
        slf: &Bound<'_, Self>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let state = slf
            .borrow()
            .wrapped
            .as_ref()
            .map(|w| (w.func.clone_ref(py), w.is_async));
        match state {
            Some((func, false)) => Tracer::call_sync(slf, func, args, kwargs),
            Some((_, true)) => Ok(Tracer::async_wrapper(slf)?
                .bind(py)
                .call(args, kwargs)?
                .unbind()),
            None => {
                let kw_empty = kwargs.is_none_or(|k| k.is_empty());
                if args.len() == 1 && kw_empty {
                    let f = args.get_item(0)?;
                    if f.is_callable() {
                        slf.borrow_mut().wrap(&f)?;
                        return Ok(slf.clone().into_any().unbind());
                    }
                }
                Err(PyTypeError::new_err(
                    "a Tracer that decorates nothing takes exactly one function to decorate",
                ))
            }
        }
    }

    /// Binds a decorated function to an instance (decorated methods).
    fn __get__(
        slf: &Bound<'_, Self>,
        obj: Option<Bound<'_, PyAny>>,
        owner: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let _ = owner;
        let py = slf.py();
        match obj {
            Some(o) if !o.is_none() && slf.borrow().wrapped.is_some() => {
                Ok(method_type(py)?.call1((slf, o))?.unbind())
            }
            _ => Ok(slf.clone().into_any().unbind()),
        }
    }

    /// Attributes of the decorated function (`__name__`, `__wrapped__`, …) are visible on
    /// a decorating tracer.
    fn __getattr__(slf: &Bound<'_, Self>, name: &Bound<'_, PyString>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        if let Some(extra) = &slf.borrow().extra {
            if let Some(v) = extra.bind(py).get_item(name)? {
                return Ok(v.unbind());
            }
        }
        let (func, is_async) = match &slf.borrow().wrapped {
            Some(w) => (w.func.clone_ref(py), w.is_async),
            None => {
                return Err(PyAttributeError::new_err(format!(
                    "'Tracer' object has no attribute '{}'",
                    name.to_string_lossy()
                )))
            }
        };
        if name.to_cow()? == "__wrapped__" {
            return Ok(func);
        }
        if is_async {
            if let Ok(v) = Tracer::async_wrapper(slf)?.bind(py).getattr(name) {
                return Ok(v.unbind());
            }
        }
        Ok(func.bind(py).getattr(name)?.unbind())
    }

    /// Properties (`tag`, `enter_args`, `exit_args`) are set as usual; any other attribute
    /// is kept aside (other decorators set attributes on the functions they wrap).
    fn __setattr__(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyString>,
        value: Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let py = slf.py();
        if matches!(&*name.to_cow()?, "tag" | "enter_args" | "exit_args") {
            // SAFETY: valid object, name and value; the interpreter is attached.
            let rc = unsafe {
                pyo3::ffi::PyObject_GenericSetAttr(slf.as_ptr(), name.as_ptr(), value.as_ptr())
            };
            return if rc == 0 {
                Ok(())
            } else {
                Err(PyErr::fetch(py))
            };
        }
        let mut this = slf.borrow_mut();
        let extra = this.extra.get_or_insert_with(|| PyDict::new(py).unbind());
        extra.bind(py).set_item(name, value)
    }

    fn __delattr__(slf: &Bound<'_, Self>, name: &Bound<'_, PyString>) -> PyResult<()> {
        let py = slf.py();
        if let Some(extra) = &slf.borrow().extra {
            if extra.bind(py).contains(name)? {
                return extra.bind(py).del_item(name);
            }
        }
        Err(PyAttributeError::new_err(format!(
            "cannot delete attribute '{}' of 'Tracer' object",
            name.to_string_lossy()
        )))
    }

    /// Writes an enter marker. As in `sysdig_tracers`, `tag` replaces this tracer's tag
    /// (`None` = the automatic tag of the calling line) and `args` are the enter
    /// arguments.
    #[pyo3(signature = (tag=None, args=None))]
    fn start(
        &mut self,
        py: Python<'_>,
        tag: Option<Bound<'_, PyAny>>,
        args: Option<Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        self.tags = match tag {
            Some(t) if !t.is_none() => Tags::from_py(&t)?,
            _ => Tags::auto(py),
        };
        self.changed();
        let buf = args.filter(|a| !a.is_none()).map(|a| {
            let mut b = ArgBuf::default();
            b.extend_from(&a, None);
            b
        });
        self.put(py, Dir::Enter, buf.as_ref());
        Ok(())
    }

    /// Writes an exit marker with `args`.
    #[pyo3(signature = (args=None))]
    fn stop(&self, py: Python<'_>, args: Option<Bound<'_, PyAny>>) {
        let buf = args.filter(|a| !a.is_none()).map(|a| {
            let mut b = ArgBuf::default();
            b.extend_from(&a, None);
            b
        });
        self.put(py, Dir::Exit, buf.as_ref());
    }

    /// A child span: tags `<this tag>.<tag>` (`None` = the automatic tag of the calling
    /// line), same id as this span unless `id=` is given.
    #[pyo3(signature = (tag=None, enter_args=None, exit_args=None, *, id=None))]
    fn span(
        slf: &Bound<'_, Self>,
        tag: Option<Bound<'_, PyAny>>,
        enter_args: Option<Bound<'_, PyAny>>,
        exit_args: Option<Bound<'_, PyAny>>,
        id: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Py<Tracer>> {
        let py = slf.py();
        let plain = enter_args.as_ref().is_none_or(|a| a.is_none())
            && exit_args.as_ref().is_none_or(|a| a.is_none())
            && id.as_ref().is_none_or(|a| a.is_none());
        let tag_str = match &tag {
            Some(t) if plain => t.cast_exact::<PyString>().ok(),
            _ => None,
        };
        if let Some(s) = tag_str {
            let this = slf.borrow();
            if let Some(k) = &this.kid {
                // only this parent refers to its cached child: reuse it
                if k.tag.is(s) && k.generation == this.generation && refcnt(&k.child) == 1 {
                    return Ok(k.child.clone_ref(py));
                }
            }
        }
        let child = match &tag {
            Some(t) if !t.is_none() => Tags::from_py(t)?,
            _ => Tags::auto(py),
        };
        let this = slf.borrow();
        let mut t = Tracer::build(
            this.tags.join(py, child),
            true,
            id.as_ref(),
            enter_args,
            exit_args,
        )?;
        if !t.id_given {
            t.mode = IdMode::Fixed(this.wire_id());
        }
        let generation = this.generation;
        drop(this);
        let t = Py::new(py, t)?;
        if let Some(s) = tag_str {
            if let Ok(mut this) = slf.try_borrow_mut() {
                let busy = this
                    .kid
                    .as_ref()
                    .is_some_and(|k| k.tag.is(s) && refcnt(&k.child) > 1);
                if !busy {
                    this.kid = Some(Box::new(Kid {
                        tag: s.clone().unbind(),
                        child: t.clone_ref(py),
                        generation,
                    }));
                }
            }
        }
        Ok(t)
    }

    /// The tag section as written in markers (escaped, levels joined by `.`).
    #[getter]
    fn tag(&self, py: Python<'_>) -> String {
        String::from_utf8_lossy(&self.tags.wire(py)).into_owned()
    }

    /// Replaces the tag (a dot-separated path, or a tuple of tags).
    #[setter]
    fn set_tag(&mut self, tag: Bound<'_, PyAny>) -> PyResult<()> {
        self.tags = Tags::from_py(&tag)?;
        self.explicit_tag = true;
        self.changed();
        Ok(())
    }

    /// The tags, unescaped, outermost first.
    #[getter]
    fn tags<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let items: Vec<String> = self
            .tags
            .components(py)
            .iter()
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect();
        PyTuple::new(py, items)
    }

    /// The id mode (`"t"`, `"p"`, `"pp"`, `"g"`, `"unique"` or an int).
    #[getter]
    fn id<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.mode.to_py(py)
    }

    /// The number written as id by this span (unique mode or explicit id), else `None`.
    #[getter]
    fn span_id(&self) -> Option<i64> {
        match self.wire_id() {
            Id::Explicit(n) => Some(n),
            _ => None,
        }
    }

    /// Enter arguments (a dict; values formatted with `str()`).
    #[getter]
    fn enter_args(&mut self, py: Python<'_>) -> Py<PyAny> {
        self.enter_args
            .get_or_insert_with(|| PyDict::new(py).into_any().unbind())
            .clone_ref(py)
    }

    #[setter]
    fn set_enter_args(&mut self, v: Option<Py<PyAny>>) {
        self.enter_args = v;
    }

    /// Exit arguments (a dict; values formatted with `str()`).
    #[getter]
    fn exit_args(&mut self, py: Python<'_>) -> Py<PyAny> {
        self.exit_args
            .get_or_insert_with(|| PyDict::new(py).into_any().unbind())
            .clone_ref(py)
    }

    #[setter]
    fn set_exit_args(&mut self, v: Option<Py<PyAny>>) {
        self.exit_args = v;
    }

    /// For the async wrapper: writes the enter marker of one call; returns the id token
    /// to pass to `_call_exit`.
    #[pyo3(signature = (args, kwargs=None))]
    fn _call_enter(&self, args: &Bound<'_, PyTuple>, kwargs: Option<&Bound<'_, PyDict>>) -> i64 {
        let ctx = CallContext {
            args,
            kwargs,
            result: None,
        };
        match self.call_enter(&ctx) {
            Id::Explicit(n) => n,
            _ => 0,
        }
    }

    /// For the async wrapper: writes the exit marker of one call.
    #[pyo3(signature = (token, args, kwargs, result, exc_type=None))]
    fn _call_exit(
        &self,
        token: i64,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
        result: Option<Bound<'_, PyAny>>,
        exc_type: Option<Bound<'_, PyAny>>,
    ) {
        let id = match self.mode {
            IdMode::Unique => Id::Explicit(token),
            IdMode::Fixed(id) => id,
        };
        let failed = exc_type.filter(|e| !e.is_none());
        let ctx = CallContext {
            args,
            kwargs,
            result: if failed.is_some() {
                None
            } else {
                result.as_ref()
            },
        };
        self.call_exit(id, &ctx, failed.as_ref());
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "<Tracer tag={:?}>",
            String::from_utf8_lossy(&self.tags.wire(py))
        )
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.enter_args)?;
        visit.call(&self.exit_args)?;
        if let Some(w) = &self.wrapped {
            visit.call(&w.func)?;
            visit.call(&w.async_wrapper)?;
        }
        if let Some(k) = &self.kid {
            visit.call(&k.child)?;
        }
        visit.call(&self.extra)?;
        Ok(())
    }

    fn __clear__(&mut self) {
        self.kid = None;
        self.extra = None;
        self.enter_args = None;
        self.exit_args = None;
        self.wrapped = None;
    }
}
