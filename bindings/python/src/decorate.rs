//! Decorator support for `Tracer`: wrapping a function, per-thread recursion depth, the
//! synchronous call path, and the `async def` wrapper made in Python
//! (`sysdig_tracer/_async.py`).

use crate::args::{ArgBuf, CallContext};
use crate::ids::{unique_id, IdMode};
use crate::tags::{str_bytes, Tags};
use crate::tracer::{push_error, Tracer};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple};
use std::cell::RefCell;
use tracer_tag::{Dir, Id};

/// The decorated function.
pub struct Wrapped {
    pub(crate) func: Py<PyAny>,
    pub(crate) is_async: bool,
    /// The `async def` wrapper made by `sysdig_tracer._async` (created on first use).
    pub(crate) async_wrapper: Option<Py<PyAny>>,
}

thread_local! {
    /// Per-thread recursion depth of decorated functions, keyed by the tracer's address.
    static DEPTH: RefCell<Vec<(usize, u32)>> = const { RefCell::new(Vec::new()) };
}

/// Increments this thread's depth for `key`; true if the call is the outermost one.
fn depth_enter(key: usize) -> bool {
    DEPTH.with(|d| {
        let mut d = d.borrow_mut();
        if let Some(e) = d.iter_mut().find(|e| e.0 == key) {
            e.1 += 1;
            false
        } else {
            d.push((key, 1));
            true
        }
    })
}

/// Decrements this thread's depth for `key`.
fn depth_exit(key: usize) {
    DEPTH.with(|d| {
        let mut d = d.borrow_mut();
        if let Some(pos) = d.iter().position(|e| e.0 == key) {
            if d[pos].1 <= 1 {
                d.swap_remove(pos);
            } else {
                d[pos].1 -= 1;
            }
        }
    })
}

pub(crate) fn method_type(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static METHOD_TYPE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    METHOD_TYPE.import(py, "types", "MethodType")
}

impl Tracer {
    /// Makes this tracer decorate `func`.
    pub(crate) fn wrap(&mut self, func: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = func.py();
        if !self.explicit_tag {
            let name = func
                .getattr(pyo3::intern!(py, "__name__"))
                .and_then(|n| n.str());
            if let Ok(name) = name {
                self.tags = Tags::single(&str_bytes(&name));
            }
        }
        static IS_CORO: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        let is_async = IS_CORO
            .import(py, "inspect", "iscoroutinefunction")?
            .call1((func,))?
            .is_truthy()?;
        if is_async && !self.id_given {
            self.mode = IdMode::Unique;
        }
        self.wrapped = Some(Wrapped {
            func: func.clone().unbind(),
            is_async,
            async_wrapper: None,
        });
        self.changed();
        Ok(())
    }

    /// The `async def` wrapper of an async decorated function.
    pub(crate) fn async_wrapper(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        if let Some(w) = slf
            .borrow()
            .wrapped
            .as_ref()
            .and_then(|w| w.async_wrapper.as_ref())
        {
            return Ok(w.clone_ref(py));
        }
        let func = match &slf.borrow().wrapped {
            Some(w) => w.func.clone_ref(py),
            None => return Err(PyTypeError::new_err("Tracer is not decorating a function")),
        };
        static FACTORY: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        let wrapper = FACTORY
            .import(py, "sysdig_tracer._async", "wrap")?
            .call1((slf, func))?
            .unbind();
        if let Some(w) = slf.borrow_mut().wrapped.as_mut() {
            w.async_wrapper = Some(wrapper.clone_ref(py));
        }
        Ok(wrapper)
    }

    /// Writes the enter marker of a decorated call; returns the id used.
    pub(crate) fn call_enter(&self, ctx: &CallContext<'_, '_>) -> Id {
        let py = ctx.args.py();
        let id = match self.mode {
            IdMode::Unique => Id::Explicit(unique_id()),
            IdMode::Fixed(id) => id,
        };
        let mut buf = ArgBuf::default();
        if let Some(m) = &self.enter_args {
            buf.extend_from(m.bind(py), Some(ctx));
        }
        self.put_id(py, Dir::Enter, id, Some(&buf));
        id
    }

    /// Writes the exit marker of a decorated call.
    pub(crate) fn call_exit(
        &self,
        id: Id,
        ctx: &CallContext<'_, '_>,
        error: Option<&Bound<'_, PyAny>>,
    ) {
        let py = ctx.args.py();
        let mut buf = ArgBuf::default();
        if let Some(m) = &self.exit_args {
            buf.extend_from(m.bind(py), Some(ctx));
        }
        if let Some(t) = error {
            push_error(&mut buf, t);
        }
        self.put_id(py, Dir::Exit, id, Some(&buf));
    }

    pub(crate) fn call_sync(
        slf: &Bound<'_, Self>,
        func: Py<PyAny>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let key = slf.as_ptr() as usize;
        let outer = depth_enter(key);
        let mut ctx = CallContext {
            args,
            kwargs,
            result: None,
        };
        let id = if outer {
            Some(slf.borrow().call_enter(&ctx))
        } else {
            None
        };
        let res = func.bind(py).call(args, kwargs);
        depth_exit(key);
        if let Some(id) = id {
            let this = slf.borrow();
            match &res {
                Ok(r) => {
                    ctx.result = Some(r);
                    this.call_exit(id, &ctx, None);
                }
                Err(e) => this.call_exit(id, &ctx, Some(e.get_type(py).as_any())),
            }
        }
        res.map(Bound::unbind)
    }
}
