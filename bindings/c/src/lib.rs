//! C bindings for `tracer-tag` (`libtracer_tag.so` / `libtracer_tag.a`, header
//! `include/tracer.h`).
//!
//! Every exported symbol starts with `tracer_`. No function unwinds into C or aborts the
//! host: panics are caught at the boundary and reported as [`TRACER_ERR_INTERNAL`]; bad
//! arguments return [`TRACER_ERR_INVALID`] (or NULL) and set the thread-local message
//! read with [`tracer_last_error`]. Write failures are never returned: they are counted
//! ([`tracer_error_count`]), as in the Rust crate.
#![warn(missing_docs)]
#![allow(non_camel_case_types)]

mod error;
mod site;

use std::ffi::{c_char, c_int, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use error::{set_last, Error};
pub use error::{
    tracer_last_error, tracer_strerror, TRACER_ERR_INTERNAL, TRACER_ERR_INVALID, TRACER_OK,
};
pub use site::{tracer_begin_cached_in, tracer_begin_site, tracer_begin_site_in, tracer_site};
use tag::{Dir, Id, Span};

/// Id kind: the writing thread's id (`t`, the default).
pub const TRACER_ID_THREAD: i32 = 0;
/// Id kind: the writing process's id (`p`): enter and exit may be on different threads.
pub const TRACER_ID_PROCESS: i32 = 1;
/// Id kind: the writer's parent (`pp`).
pub const TRACER_ID_PARENT: i32 = 2;
/// Id kind: id 0 shared by everyone (`g`).
pub const TRACER_ID_GLOBAL: i32 = 3;
/// Id kind: the explicit number given with it (cross-thread / cross-process spans).
pub const TRACER_ID_EXPLICIT: i32 = 4;

/// Marker direction for `tracer_emit`: span begins (`>`).
pub const TRACER_ENTER: i32 = 0;
/// Marker direction for `tracer_emit`: span ends (`<`).
pub const TRACER_EXIT: i32 = 1;

/// An open span. Created by `tracer_begin*` / `tracer_child*`, released by `tracer_end*`
/// (which writes the exit marker).
pub struct tracer_span {
    span: Span,
    /// Allocated by the library (freed by `tracer_end`), or placed in caller storage.
    on_heap: bool,
}

/// Caller-provided memory for one span (`tracer_begin_in`, `tracer_child_in`): lets a
/// span live on the caller's stack with no allocation, as `TRACER_SCOPE` does. Opaque;
/// it must stay in place until the span is ended.
#[repr(C)]
pub struct tracer_span_storage {
    /// Opaque; do not touch.
    pub opaque: [u64; 20],
}

const _: () = assert!(
    std::mem::size_of::<tracer_span>() <= std::mem::size_of::<tracer_span_storage>()
        && std::mem::align_of::<tracer_span>() <= std::mem::align_of::<tracer_span_storage>()
);

/// A heap handle for `span`.
#[inline]
fn boxed(span: Span) -> *mut tracer_span {
    Box::into_raw(Box::new(tracer_span {
        span,
        on_heap: true,
    }))
}

/// A handle for `span` placed in `storage`.
///
/// # Safety
/// `storage` is valid, writable and not holding a live span.
#[inline]
unsafe fn placed(storage: *mut tracer_span_storage, span: Span) -> *mut tracer_span {
    let p = storage.cast::<tracer_span>();
    p.write(tracer_span {
        span,
        on_heap: false,
    });
    p
}

/// Ends the span of a handle (writes its exit marker) and frees a heap handle.
///
/// # Safety
/// `p` is a live handle, not used again afterwards.
#[inline]
unsafe fn finish(p: *mut tracer_span) {
    if (*p).on_heap {
        drop(Box::from_raw(p));
    } else {
        ptr::drop_in_place(p);
    }
}

/// A NUL-terminated argument: `name=value`.
#[repr(C)]
pub struct tracer_arg {
    /// Argument name (NUL-terminated).
    pub name: *const c_char,
    /// Argument value (NUL-terminated).
    pub value: *const c_char,
}

/// A length-delimited argument (bytes, may contain anything but NUL, which is dropped).
#[repr(C)]
pub struct tracer_arg_len {
    /// Argument name bytes (may be NULL when `name_len` is 0).
    pub name: *const c_char,
    /// Length of `name` in bytes.
    pub name_len: usize,
    /// Argument value bytes (may be NULL when `value_len` is 0).
    pub value: *const c_char,
    /// Length of `value` in bytes.
    pub value_len: usize,
}

/// Runs `f`, turning errors and panics into `fail` + last error.
#[inline]
fn guard<T>(fail: T, f: impl FnOnce() -> Result<T, Error>) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            set_last(e);
            fail
        }
        Err(_) => {
            set_last(Error {
                code: TRACER_ERR_INTERNAL,
                msg: "internal error (panic caught at the C boundary)".into(),
            });
            fail
        }
    }
}

/// Like [`guard`] for functions returning a status code.
#[inline]
fn guard_code(f: impl FnOnce() -> Result<(), Error>) -> c_int {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => TRACER_OK,
        Ok(Err(e)) => set_last(e),
        Err(_) => set_last(Error {
            code: TRACER_ERR_INTERNAL,
            msg: "internal error (panic caught at the C boundary)".into(),
        }),
    }
}

/// # Safety
/// `p` is NULL or a valid NUL-terminated string.
unsafe fn cstr<'a>(p: *const c_char, what: &str) -> Result<&'a [u8], Error> {
    if p.is_null() {
        return Err(Error::invalid(format!("{what} is NULL")));
    }
    Ok(CStr::from_ptr(p).to_bytes())
}

/// # Safety
/// `p` is NULL (then `len` must be 0) or valid for `len` bytes.
unsafe fn bytes<'a>(p: *const c_char, len: usize, what: &str) -> Result<&'a [u8], Error> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(Error::invalid(format!(
            "{what} is NULL but its length is {len}"
        )));
    }
    Ok(std::slice::from_raw_parts(p.cast(), len))
}

fn id_of(kind: i32, value: i64) -> Result<Id, Error> {
    Ok(match kind {
        TRACER_ID_THREAD => Id::Thread,
        TRACER_ID_PROCESS => Id::Process,
        TRACER_ID_PARENT => Id::Parent,
        TRACER_ID_GLOBAL => Id::Global,
        TRACER_ID_EXPLICIT => Id::Explicit(value),
        k => return Err(Error::invalid(format!("unknown id kind {k}"))),
    })
}

/// Decoded argument list (borrowed from the caller).
type Args<'a> = Vec<(&'a [u8], &'a [u8])>;

/// Decodes `n` argument entries with `entry` (given the index and the entry).
///
/// # Safety
/// `args` is NULL with `n == 0`, or points to `n` valid entries.
unsafe fn arg_list<'a, T: 'a>(
    args: *const T,
    n: usize,
    entry: impl Fn(usize, &'a T) -> Result<(&'a [u8], &'a [u8]), Error>,
) -> Result<Args<'a>, Error> {
    if n == 0 {
        return Ok(Vec::new());
    }
    if args.is_null() {
        return Err(Error::invalid(format!("args is NULL but nargs is {n}")));
    }
    std::slice::from_raw_parts(args, n)
        .iter()
        .enumerate()
        .map(|(i, a)| entry(i, a))
        .collect()
}

/// # Safety
/// `args` is NULL with `n == 0`, or points to `n` valid entries.
unsafe fn args_c<'a>(args: *const tracer_arg, n: usize) -> Result<Args<'a>, Error> {
    arg_list(args, n, |i, a: &'a tracer_arg| {
        Ok((
            cstr(a.name, &format!("args[{i}].name"))?,
            cstr(a.value, &format!("args[{i}].value"))?,
        ))
    })
}

/// # Safety
/// `args` is NULL with `n == 0`, or points to `n` valid entries.
unsafe fn args_len<'a>(args: *const tracer_arg_len, n: usize) -> Result<Args<'a>, Error> {
    arg_list(args, n, |i, a: &'a tracer_arg_len| {
        Ok((
            bytes(a.name, a.name_len, &format!("args[{i}].name"))?,
            bytes(a.value, a.value_len, &format!("args[{i}].value"))?,
        ))
    })
}

/// Adds `args` to the builder and enters the span.
fn enter_with(b: &mut tag::SpanBuilder, args: &[(&[u8], &[u8])]) -> Span {
    for (k, v) in args {
        b.arg_bytes(k, v);
    }
    b.enter()
}

/// A root span on tag `path` with `args` (a plain enter when there are none).
fn root_span(path: &[u8], args: &[(&[u8], &[u8])]) -> Span {
    match args {
        [] => tag::span(path),
        _ => enter_with(&mut tag::span_builder(path), args),
    }
}

/// A child span of `parent` on `tag` with `args` (a plain enter when there are none).
fn child_span(parent: &Span, tag: &[u8], args: &[(&[u8], &[u8])]) -> Span {
    match args {
        [] => parent.child(tag),
        _ => enter_with(&mut parent.child_builder(tag), args),
    }
}

/// Fails on a NULL caller-provided span storage.
fn check_storage(storage: *mut tracer_span_storage) -> Result<(), Error> {
    if storage.is_null() {
        return Err(Error::invalid("storage is NULL"));
    }
    Ok(())
}

/// [`enter_with`] in a heap handle.
fn start(b: &mut tag::SpanBuilder, args: &[(&[u8], &[u8])]) -> *mut tracer_span {
    boxed(enter_with(b, args))
}

/// Begins a span with the thread id: writes `>:t:<tag>:<args>:` now. `tag` is a
/// dot-separated path. `args` may be NULL when `nargs` is 0. Returns the span handle
/// (end it with `tracer_end`), or NULL on invalid arguments (see `tracer_last_error`).
///
/// # Safety
/// `tag` is a NUL-terminated string; `args` points to `nargs` valid entries.
#[no_mangle]
pub unsafe extern "C" fn tracer_begin(
    tag: *const c_char,
    args: *const tracer_arg,
    nargs: usize,
) -> *mut tracer_span {
    guard(ptr::null_mut(), || {
        let t = cstr(tag, "tag")?;
        let a = args_c(args, nargs)?;
        Ok(boxed(root_span(t, &a)))
    })
}

/// Like `tracer_begin`, but the span lives in `storage` (no allocation): the returned
/// handle points into it, and `storage` must stay in place until `tracer_end`. NULL on
/// invalid arguments (including a NULL `storage`).
///
/// # Safety
/// `storage` is writable and holds no live span; otherwise as for `tracer_begin`.
#[no_mangle]
pub unsafe extern "C" fn tracer_begin_in(
    storage: *mut tracer_span_storage,
    tag: *const c_char,
    args: *const tracer_arg,
    nargs: usize,
) -> *mut tracer_span {
    guard(ptr::null_mut(), || {
        check_storage(storage)?;
        let t = cstr(tag, "tag")?;
        let a = args_c(args, nargs)?;
        Ok(placed(storage, root_span(t, &a)))
    })
}

/// Begins a span with a chosen id: `id_kind` is a `TRACER_ID_*` constant; `id` is used
/// only with `TRACER_ID_EXPLICIT`. Otherwise like `tracer_begin`.
///
/// # Safety
/// As for `tracer_begin`.
#[no_mangle]
pub unsafe extern "C" fn tracer_begin_id(
    id_kind: c_int,
    id: i64,
    tag: *const c_char,
    args: *const tracer_arg,
    nargs: usize,
) -> *mut tracer_span {
    guard(ptr::null_mut(), || {
        let i = id_of(id_kind, id)?;
        let t = cstr(tag, "tag")?;
        let a = args_c(args, nargs)?;
        Ok(start(tag::span_builder(t).with_id(i), &a))
    })
}

/// Length-delimited variant of `tracer_begin_id`: `tag` is `tag_len` bytes (NULL allowed
/// when 0), arguments are `tracer_arg_len`.
///
/// # Safety
/// `tag` is valid for `tag_len` bytes; `args` points to `nargs` valid entries.
#[no_mangle]
pub unsafe extern "C" fn tracer_begin_len(
    id_kind: c_int,
    id: i64,
    tag: *const c_char,
    tag_len: usize,
    args: *const tracer_arg_len,
    nargs: usize,
) -> *mut tracer_span {
    guard(ptr::null_mut(), || {
        let i = id_of(id_kind, id)?;
        let t = bytes(tag, tag_len, "tag")?;
        let a = args_len(args, nargs)?;
        Ok(start(tag::span_builder(t).with_id(i), &a))
    })
}

/// # Safety
/// `parent` is NULL or a live handle.
unsafe fn parent_ref<'a>(parent: *const tracer_span) -> Result<&'a Span, Error> {
    parent
        .as_ref()
        .map(|p| &p.span)
        .ok_or_else(|| Error::invalid("parent span is NULL"))
}

/// Begins a child span: its tag is the parent's tag, `.`, then `tag`; same id as the
/// parent. Returns NULL on invalid arguments (including a NULL parent).
///
/// # Safety
/// `parent` is a live handle; `tag` NUL-terminated; `args` points to `nargs` entries.
#[no_mangle]
pub unsafe extern "C" fn tracer_child(
    parent: *const tracer_span,
    tag: *const c_char,
    args: *const tracer_arg,
    nargs: usize,
) -> *mut tracer_span {
    guard(ptr::null_mut(), || {
        let p = parent_ref(parent)?;
        let t = cstr(tag, "tag")?;
        let a = args_c(args, nargs)?;
        Ok(boxed(child_span(p, t, &a)))
    })
}

/// Like `tracer_child`, but the span lives in `storage` (see `tracer_begin_in`).
///
/// # Safety
/// `storage` is writable and holds no live span; otherwise as for `tracer_child`.
#[no_mangle]
pub unsafe extern "C" fn tracer_child_in(
    storage: *mut tracer_span_storage,
    parent: *const tracer_span,
    tag: *const c_char,
    args: *const tracer_arg,
    nargs: usize,
) -> *mut tracer_span {
    guard(ptr::null_mut(), || {
        check_storage(storage)?;
        let p = parent_ref(parent)?;
        let t = cstr(tag, "tag")?;
        let a = args_c(args, nargs)?;
        Ok(placed(storage, child_span(p, t, &a)))
    })
}

/// Length-delimited variant of `tracer_child`.
///
/// # Safety
/// `parent` is a live handle; `tag` valid for `tag_len` bytes; `args` has `nargs` entries.
#[no_mangle]
pub unsafe extern "C" fn tracer_child_len(
    parent: *const tracer_span,
    tag: *const c_char,
    tag_len: usize,
    args: *const tracer_arg_len,
    nargs: usize,
) -> *mut tracer_span {
    guard(ptr::null_mut(), || {
        let p = parent_ref(parent)?;
        let t = bytes(tag, tag_len, "tag")?;
        let a = args_len(args, nargs)?;
        Ok(start(&mut p.child_builder(t), &a))
    })
}

/// Adds an argument to the span's exit marker. Returns `TRACER_OK` or a negative code.
///
/// # Safety
/// `span` is a live handle; `name` and `value` are NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn tracer_set_exit_arg(
    span: *mut tracer_span,
    name: *const c_char,
    value: *const c_char,
) -> c_int {
    guard_code(|| {
        let s = span
            .as_mut()
            .ok_or_else(|| Error::invalid("span is NULL"))?;
        let (n, v) = (cstr(name, "name")?, cstr(value, "value")?);
        s.span.set_exit_arg_bytes(n, v);
        Ok(())
    })
}

/// Length-delimited variant of `tracer_set_exit_arg`.
///
/// # Safety
/// `span` is a live handle; `name`/`value` are valid for their lengths.
#[no_mangle]
pub unsafe extern "C" fn tracer_set_exit_arg_len(
    span: *mut tracer_span,
    name: *const c_char,
    name_len: usize,
    value: *const c_char,
    value_len: usize,
) -> c_int {
    guard_code(|| {
        let s = span
            .as_mut()
            .ok_or_else(|| Error::invalid("span is NULL"))?;
        let n = bytes(name, name_len, "name")?;
        let v = bytes(value, value_len, "value")?;
        s.span.set_exit_arg_bytes(n, v);
        Ok(())
    })
}

/// Ends the span (writes its exit marker with the exit args set so far) and frees the
/// handle. NULL is accepted and ignored (returns `TRACER_OK`), so the result of a failed
/// begin can be passed here.
///
/// # Safety
/// `span` is NULL or a live handle, not used again afterwards.
#[no_mangle]
pub unsafe extern "C" fn tracer_end(span: *mut tracer_span) -> c_int {
    if span.is_null() {
        return TRACER_OK;
    }
    guard_code(|| {
        finish(span);
        Ok(())
    })
}

/// Adds `args` to the exit marker, then ends the span like `tracer_end` (NULL is
/// ignored). On invalid arguments the span is still ended (without the args) and freed.
///
/// # Safety
/// As for `tracer_end`; `args` points to `nargs` valid entries.
#[no_mangle]
pub unsafe extern "C" fn tracer_end_args(
    span: *mut tracer_span,
    args: *const tracer_arg,
    nargs: usize,
) -> c_int {
    if span.is_null() {
        return TRACER_OK;
    }
    guard_code(|| {
        let added = args_c(args, nargs).map(|a| {
            for (k, v) in a {
                (*span).span.set_exit_arg_bytes(k, v);
            }
        });
        finish(span);
        added
    })
}

/// Writes one marker directly (no handle): `dir` is `TRACER_ENTER` or `TRACER_EXIT`,
/// `tag` a dot-separated path.
///
/// # Safety
/// `tag` is NUL-terminated; `args` points to `nargs` valid entries.
#[no_mangle]
pub unsafe extern "C" fn tracer_emit(
    dir: c_int,
    id_kind: c_int,
    id: i64,
    tag: *const c_char,
    args: *const tracer_arg,
    nargs: usize,
) -> c_int {
    guard_code(|| {
        let d = dir_of(dir)?;
        let i = id_of(id_kind, id)?;
        let t = cstr(tag, "tag")?;
        let a = args_c(args, nargs)?;
        tag::emit_path(d, i, t, &a);
        Ok(())
    })
}

/// Length-delimited variant of `tracer_emit`.
///
/// # Safety
/// `tag` is valid for `tag_len` bytes; `args` points to `nargs` valid entries.
#[no_mangle]
pub unsafe extern "C" fn tracer_emit_len(
    dir: c_int,
    id_kind: c_int,
    id: i64,
    tag: *const c_char,
    tag_len: usize,
    args: *const tracer_arg_len,
    nargs: usize,
) -> c_int {
    guard_code(|| {
        let d = dir_of(dir)?;
        let i = id_of(id_kind, id)?;
        let t = bytes(tag, tag_len, "tag")?;
        let a = args_len(args, nargs)?;
        tag::emit_path(d, i, t, &a);
        Ok(())
    })
}

fn dir_of(dir: i32) -> Result<Dir, Error> {
    match dir {
        TRACER_ENTER => Ok(Dir::Enter),
        TRACER_EXIT => Ok(Dir::Exit),
        d => Err(Error::invalid(format!("unknown direction {d}"))),
    }
}

/// Sends all later markers (all threads) to `fd` instead of /dev/null; the caller keeps
/// ownership of `fd`. A negative `fd` goes back to /dev/null. Returns `TRACER_OK`.
#[no_mangle]
pub extern "C" fn tracer_set_sink_fd(fd: c_int) -> c_int {
    tag::sink::set_fd(fd);
    TRACER_OK
}

/// The fd markers currently go to (opening /dev/null if needed), or -1 if none.
#[no_mangle]
pub extern "C" fn tracer_sink_fd() -> c_int {
    tag::sink::current_fd()
}

/// Number of markers that could not be written since the process started.
#[no_mangle]
pub extern "C" fn tracer_error_count() -> u64 {
    tag::error_count()
}

#[cfg(test)]
mod header_test;
