//! Per-thread recycling of plain `Tracer("tag")` objects.
//!
//! `with Tracer("x"):` makes one object per span. While nothing but this cache refers to
//! the last object made on this thread for the very same tag string, the next
//! `Tracer("x")` gets that object back, reset, instead of a new one (the class is final
//! and has no `__dict__` or weak references, so the reuse cannot be observed). The
//! object keeps its encoded marker prefix, so a recycled span encodes nothing.

use crate::ids::{unique_id, IdMode};
use crate::tags::Tags;
use crate::tracer::{refcnt, Tracer};
use pyo3::prelude::*;
use pyo3::types::PyString;
use std::cell::RefCell;
use std::sync::OnceLock;
use tracer_tag::Id;

const SLOTS: usize = 32;

/// A cache entry: the tag string and the object made for it.
type Slot = Option<(Py<PyString>, Py<Tracer>)>;

thread_local! {
    static CACHE: RefCell<Vec<Slot>> =
        const { RefCell::new(Vec::new()) };
}

/// A `Tracer(tag, id=id)` with no arguments: the cached object for this very tag
/// string if nothing else holds it, else a new one (which may enter the cache).
pub fn plain(
    py: Python<'_>,
    tag: Bound<'_, PyString>,
    id: Option<&Bound<'_, PyAny>>,
    auto: bool,
) -> PyResult<Py<Tracer>> {
    let make_tags = |s: Bound<'_, PyString>| {
        if auto {
            Tags::Single(s.unbind())
        } else {
            Tags::Path(s.unbind())
        }
    };
    let (mode, id_given) = match id {
        Some(i) if !i.is_none() => (IdMode::from_py(i)?, true),
        _ => (IdMode::Fixed(Id::Thread), false),
    };
    let slot = (tag.as_ptr() as usize >> 4) % SLOTS;
    let reused = CACHE.with(|c| {
        let c = c.borrow();
        match c.get(slot) {
            // Only the cache refers to the object: nobody can observe the reuse.
            Some(Some((s, t))) if s.is(&tag) && refcnt(t) == 1 => Some(t.clone_ref(py)),
            _ => None,
        }
    });
    if let Some(t) = reused {
        {
            let mut r = t.bind(py).borrow_mut();
            let same_tag = match &r.tags {
                Tags::Path(p) => !auto && p.is(&tag),
                Tags::Single(p) => auto && p.is(&tag),
                _ => false,
            };
            if !same_tag || r.mode != mode || mode == IdMode::Unique {
                r.tags = make_tags(tag);
                r.mode = mode;
                r.uid = if mode == IdMode::Unique {
                    unique_id()
                } else {
                    0
                };
                r.changed();
            }
            r.explicit_tag = !auto;
            r.id_given = id_given;
            if r.enter_args.is_some()
                || r.exit_args.is_some()
                || r.wrapped.is_some()
                || r.extra.is_some()
            {
                r.enter_args = None;
                r.exit_args = None;
                r.wrapped = None;
                r.extra = None;
            }
        }
        return Ok(t);
    }
    let fresh = Py::new(
        py,
        Tracer {
            tags: make_tags(tag.clone()),
            explicit_tag: !auto,
            mode,
            id_given,
            uid: if mode == IdMode::Unique {
                unique_id()
            } else {
                0
            },
            enter_args: None,
            exit_args: None,
            wrapped: None,
            extra: None,
            enc: OnceLock::new(),
            generation: 0,
            kid: None,
        },
    )?;
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.is_empty() {
            c.resize_with(SLOTS, || None);
        }
        let busy = matches!(&c[slot], Some((s, t)) if s.is(&tag) && refcnt(t) > 1);
        if !busy {
            // replacing drops the old entry (the object lives on if someone holds it)
            c[slot] = Some((tag.unbind(), fresh.clone_ref(py)));
        }
    });
    Ok(fresh)
}
