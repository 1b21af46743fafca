//! Tag paths: parsing the `tag` argument, the automatic tag taken from the caller's
//! source position, and the wire form.

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};
use std::borrow::Cow;
use std::cell::RefCell;
use tracer_tag::{Dir, Id};

/// Tags of one span, outermost first, unescaped (escaping happens when a marker is
/// written).
pub enum Tags {
    /// A dot-separated path kept as the caller's `str` object: nothing is copied when the
    /// tracer is made, and the UTF-8 form cached by Python is used when writing.
    Path(Py<PyString>),
    /// The tags one by one (a tag may contain a dot).
    List(Vec<Box<[u8]>>),
    /// A parent's tags followed by a child's (made by `span()`; nothing is copied).
    Pair(Box<(Tags, Tags)>),
    /// One tag kept as a Python `str`, dots included (the automatic tag).
    Single(Py<PyString>),
}

/// Tag lists up to this length are passed to the emitter without allocating.
const INLINE_TAGS: usize = 8;

impl Tags {
    /// A dot-separated path: `a.b` is the two tags `a`, `b`; nothing else is special.
    pub fn dotted(s: &[u8]) -> Tags {
        Tags::List(s.split(|&b| b == b'.').map(Box::from).collect())
    }

    /// One tag, taken verbatim (dots included).
    pub fn single(s: &[u8]) -> Tags {
        Tags::List(vec![Box::from(s)])
    }

    /// No tags.
    pub fn empty() -> Tags {
        Tags::List(Vec::new())
    }

    /// A copy (sharing the Python strings).
    pub fn clone_ref(&self, py: Python<'_>) -> Tags {
        match self {
            Tags::Path(s) => Tags::Path(s.clone_ref(py)),
            Tags::List(c) => Tags::List(c.clone()),
            Tags::Pair(b) => Tags::Pair(Box::new((b.0.clone_ref(py), b.1.clone_ref(py)))),
            Tags::Single(s) => Tags::Single(s.clone_ref(py)),
        }
    }

    /// The tags as owned byte strings.
    pub fn components(&self, py: Python<'_>) -> Vec<Box<[u8]>> {
        match self {
            Tags::Pair(b) => {
                let mut c = b.0.components(py);
                c.extend(b.1.components(py));
                c
            }
            Tags::Path(s) => s
                .bind(py)
                .to_string_lossy()
                .as_bytes()
                .split(|&b| b == b'.')
                .map(Box::from)
                .collect(),
            Tags::List(c) => c.clone(),
            Tags::Single(s) => vec![Box::from(s.bind(py).to_string_lossy().as_bytes())],
        }
    }

    /// `self` followed by `child`'s tags (a nested span).
    pub fn join(&self, py: Python<'_>, child: Tags) -> Tags {
        Tags::Pair(Box::new((self.clone_ref(py), child)))
    }

    /// Writes one marker with these tags. Never fails.
    #[inline]
    pub fn emit(&self, py: Python<'_>, dir: Dir, id: Id, args: &[(&[u8], &[u8])]) {
        match self {
            Tags::Path(s) => match s.bind(py).to_str() {
                Ok(p) => tracer_tag::emit_path(dir, id, p.as_bytes(), args),
                Err(_) => {
                    let p = s.bind(py).to_string_lossy().into_owned();
                    tracer_tag::emit_path(dir, id, p.as_bytes(), args)
                }
            },
            Tags::List(c) => with_slices(c, |t| tracer_tag::emit(dir, id, t, args)),
            Tags::Pair(_) | Tags::Single(_) => {
                let c = self.components(py);
                with_slices(&c, |t| tracer_tag::emit(dir, id, t, args))
            }
        }
    }

    /// The escaped tag section exactly as it appears between the 2nd and 3rd `:` of a
    /// marker.
    pub fn wire(&self, py: Python<'_>) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Tags::Path(s) => {
                let p = s.bind(py).to_string_lossy();
                tracer_tag::encode_path(Dir::Enter, Id::Global, p.as_bytes(), &[], &mut out)
            }
            Tags::List(c) => with_slices(c, |t| {
                tracer_tag::encode(Dir::Enter, Id::Global, t, &[], &mut out)
            }),
            Tags::Single(_) => {
                let c = self.components(py);
                with_slices(&c, |t| {
                    tracer_tag::encode(Dir::Enter, Id::Global, t, &[], &mut out)
                })
            }
            Tags::Pair(b) => {
                let mut w = b.0.wire(py);
                let child = b.1.wire(py);
                // a leading `0` is escaped only at the very start of the tag section
                let child = child.strip_prefix(b"\\0").map_or(child.clone(), |rest| {
                    let mut v = vec![b'0'];
                    v.extend_from_slice(rest);
                    v
                });
                if !(w.is_empty() && b.0.components(py).is_empty()) {
                    w.push(b'.');
                }
                w.extend_from_slice(&child);
                return w;
            }
        }
        // ">:g:" + tags + "::"
        out.truncate(out.len().saturating_sub(2));
        out.split_off(4.min(out.len()))
    }

    /// Parses a `tag` argument that is not `None` and not a callable: a `str` (or `bytes`)
    /// is a dot-separated path; a tuple or list gives the tags one by one (so a tag may
    /// contain a dot); anything else is converted with `str()`.
    pub fn from_py(obj: &Bound<'_, PyAny>) -> PyResult<Tags> {
        if let Ok(s) = obj.cast_exact::<PyString>() {
            return Ok(Tags::Path(s.clone().unbind()));
        }
        if let Ok(b) = obj.cast::<PyBytes>() {
            return Ok(Tags::dotted(b.as_bytes()));
        }
        if obj.is_instance_of::<PyTuple>() || obj.is_instance_of::<PyList>() {
            let mut comps = Vec::new();
            for item in obj.try_iter()? {
                let item = item?;
                let s = item.str()?;
                comps.push(Box::from(str_bytes(&s).as_ref()));
            }
            return Ok(Tags::List(comps));
        }
        let s = obj.str()?;
        Ok(Tags::dotted(str_bytes(&s).as_ref()))
    }

    /// The automatic tag of `sysdig_tracers`: one tag
    /// `<last two components of the caller's file>:<line>(<function>)`, e.g.
    /// `app/main.py:17(<module>)` (written `app/main\.py\:17(\<module\>)`). The caller is
    /// the innermost Python frame, i.e. the code that called into this extension.
    pub fn auto(py: Python<'_>) -> Tags {
        Tags::Single(auto_str(py))
    }
}

/// Remembered automatic tags: (code object, line) → tag string. The code object is held,
/// so its address cannot be reused while cached.
const AUTO_SLOTS: usize = 64;

type AutoSlot = Option<(Py<PyAny>, i32, Py<PyString>)>;

thread_local! {
    static AUTO: RefCell<Vec<AutoSlot>> = const { RefCell::new(Vec::new()) };
}

/// The automatic tag of the innermost Python frame as a `str` (cached per code object
/// and line, so the same call site yields the very same string object).
pub fn auto_str(py: Python<'_>) -> Py<PyString> {
    // SAFETY: attached to the interpreter; a borrowed frame reference or NULL.
    let frame = unsafe { ffi::PyEval_GetFrame() };
    if frame.is_null() {
        return PyString::new(py, "<unknown>").unbind();
    }
    // SAFETY: `frame` is a live frame; PyFrame_GetCode returns a new reference.
    let (code, line) = unsafe {
        let code = ffi::PyFrame_GetCode(frame);
        let line = ffi::PyFrame_GetLineNumber(frame);
        (
            Bound::from_owned_ptr(py, code.cast::<ffi::PyObject>()),
            line,
        )
    };
    let slot = ((code.as_ptr() as usize >> 4) ^ (line as usize).wrapping_mul(31)) % AUTO_SLOTS;
    let hit = AUTO.with(|a| {
        a.borrow().get(slot).and_then(|e| match e {
            Some((c, l, s)) if c.is(&code) && *l == line => Some(s.clone_ref(py)),
            _ => None,
        })
    });
    if let Some(s) = hit {
        return s;
    }
    let text = match describe(&code, line) {
        Ok(t) => t,
        Err(_) => "<unknown>".to_owned(),
    };
    let s = PyString::new(py, &text).unbind();
    AUTO.with(|a| {
        let mut a = a.borrow_mut();
        if a.is_empty() {
            a.resize_with(AUTO_SLOTS, || None);
        }
        a[slot] = Some((code.unbind(), line, s.clone_ref(py)));
    });
    s
}

/// `<file>:<line>(<function>)` for a code object.
fn describe(code: &Bound<'_, PyAny>, line: i32) -> PyResult<String> {
    let py = code.py();
    let file = code.getattr(pyo3::intern!(py, "co_filename"))?.str()?;
    let func = code.getattr(pyo3::intern!(py, "co_name"))?.str()?;
    Ok(format!(
        "{}:{}({})",
        last_two_components(&file.to_string_lossy()),
        line,
        func.to_string_lossy()
    ))
}

/// Calls `f` with `comps` as a slice of byte slices.
#[inline]
fn with_slices<R>(comps: &[Box<[u8]>], f: impl FnOnce(&[&[u8]]) -> R) -> R {
    let n = comps.len();
    if n <= INLINE_TAGS {
        let mut arr: [&[u8]; INLINE_TAGS] = [&[]; INLINE_TAGS];
        for (slot, c) in arr.iter_mut().zip(comps) {
            *slot = c;
        }
        f(&arr[..n])
    } else {
        let v: Vec<&[u8]> = comps.iter().map(|c| &c[..]).collect();
        f(&v)
    }
}

/// The last two `/`-separated components of `path` (the whole path if it has fewer), as
/// `sysdig_tracers` 0.1.2 computes it.
pub fn last_two_components(path: &str) -> &str {
    match path.rfind('/') {
        None => path,
        Some(last) => match path[..last].rfind('/') {
            None => path,
            Some(prev) => &path[prev + 1..],
        },
    }
}

/// The UTF-8 bytes of a Python `str`; lone surrogates (which UTF-8 cannot carry) become
/// U+FFFD instead of raising.
pub fn str_bytes<'a>(s: &'a Bound<'_, PyString>) -> Cow<'a, [u8]> {
    match s.to_cow() {
        Ok(Cow::Borrowed(b)) => Cow::Borrowed(b.as_bytes()),
        Ok(Cow::Owned(o)) => Cow::Owned(o.into_bytes()),
        Err(_) => Cow::Owned(s.to_string_lossy().into_owned().into_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_trimming_matches_sysdig_tracers() {
        assert_eq!(last_two_components("/srv/app/main.py"), "app/main.py");
        assert_eq!(last_two_components("app/main.py"), "app/main.py");
        assert_eq!(last_two_components("main.py"), "main.py");
        assert_eq!(last_two_components("<stdin>"), "<stdin>");
    }

    #[test]
    fn dotted_and_wire() {
        Python::initialize();
        Python::attach(|py| {
            let t = Tags::dotted(b"a.b");
            assert_eq!(t.components(py).len(), 2);
            assert_eq!(t.wire(py), b"a.b");
            assert_eq!(
                Tags::single(b"x.py:1(<m>)").wire(py),
                b"x\\.py\\:1(\\<m\\>)"
            );
            assert_eq!(
                Tags::dotted(b"p").join(py, Tags::dotted(b"0c")).wire(py),
                b"p.0c"
            );
        });
    }
}
