//! Call-site spans: a `tracer_site` keeps the markers of one tag, built once, so that
//! spans started from it (`TRACER_STATIC_SCOPE`, and `TRACER_SCOPE` through its cache)
//! only write them.

use std::ffi::c_char;
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};

use crate::error::Error;
use crate::{
    boxed, check_storage, cstr, guard, placed, root_span, tracer_span, tracer_span_storage,
};

/// A call site's span tag for `tracer_begin_site` / `TRACER_STATIC_SCOPE`: the span's
/// markers are built the first time a span starts from it and kept for the life of the
/// program, so later spans cost only their two `write(2)` calls. Define it `static`,
/// initialized with `TRACER_SITE_INIT("tag")`: the tag must stay valid and unchanged for
/// the life of the program (a string literal).
#[repr(C)]
pub struct tracer_site {
    /// The tag, a dot-separated path (NUL-terminated).
    pub tag: *const c_char,
    /// Opaque; zero-initialized (`TRACER_SITE_INIT` does it), then owned by the library.
    pub opaque: [u64; 2],
}

/// The atomic slot in a `tracer_site`'s opaque words: null until the library stores a
/// leaked `tag::Site` in it.
///
/// # Safety
/// `site` is valid; its `opaque` words are only ever accessed through this slot.
unsafe fn slot_of<'a>(site: *mut tracer_site) -> &'a AtomicPtr<tag::Site> {
    // SAFETY: `opaque` is 8-byte aligned, at least pointer-sized and zero-initialized
    // (= null), and only accessed atomically (the caller's promise).
    &*ptr::addr_of!((*site).opaque).cast::<AtomicPtr<tag::Site>>()
}

/// Stores a new site for `path` in `slot` unless another thread did first; returns the
/// site in the slot and whether it is ours.
fn install(slot: &AtomicPtr<tag::Site>, path: &'static [u8]) -> (&'static tag::Site, bool) {
    let new = Box::into_raw(Box::new(tag::Site::from_bytes(path)));
    match slot.compare_exchange(ptr::null_mut(), new, Ordering::AcqRel, Ordering::Acquire) {
        // SAFETY: `new` was just leaked and is never freed.
        Ok(_) => (unsafe { &*new }, true),
        Err(first) => {
            // SAFETY: `new` was not published; `first` is a leaked site, never freed.
            unsafe {
                drop(Box::from_raw(new));
                (&*first, false)
            }
        }
    }
}

/// The prepared span of `site`, built on first use (once: concurrent first uses agree
/// on one).
///
/// # Safety
/// `site` is NULL or a valid `tracer_site` whose `tag` stays valid and unchanged for
/// the life of the program and whose `opaque` was zero-initialized.
unsafe fn site_of(site: *mut tracer_site) -> Result<&'static tag::Site, Error> {
    if site.is_null() {
        return Err(Error::invalid("site is NULL"));
    }
    let slot = slot_of(site);
    let p = slot.load(Ordering::Acquire);
    if !p.is_null() {
        return Ok(&*p);
    }
    let t: &'static [u8] = cstr((*site).tag, "site tag")?;
    Ok(install(slot, t).0)
}

/// True when the NUL-terminated `tag` has exactly the bytes `path` (which holds no NUL).
///
/// # Safety
/// `tag` is a valid NUL-terminated string.
#[inline]
unsafe fn same_tag(path: &[u8], tag: *const c_char) -> bool {
    let tag = tag.cast::<u8>();
    for (i, &b) in path.iter().enumerate() {
        // Stops at the first difference, at the latest at `tag`'s NUL (`path` has none),
        // so nothing past the string is read.
        if *tag.add(i) != b {
            return false;
        }
    }
    *tag.add(path.len()) == 0
}

/// Begins a span on a call site's tag (see `tracer_site`): the same span as
/// `tracer_begin(site->tag, NULL, 0)`, with markers built only once per site. End it
/// with `tracer_end`. NULL on invalid arguments.
///
/// # Safety
/// `site` is a `tracer_site` as documented there.
#[no_mangle]
pub unsafe extern "C" fn tracer_begin_site(site: *mut tracer_site) -> *mut tracer_span {
    guard(ptr::null_mut(), || Ok(boxed(site_of(site)?.enter())))
}

/// Like `tracer_begin_site`, with the span in caller `storage` (no allocation): the
/// fastest span, as `TRACER_STATIC_SCOPE` uses it.
///
/// # Safety
/// As for `tracer_begin_site`; `storage` as for `tracer_begin_in`.
#[no_mangle]
pub unsafe extern "C" fn tracer_begin_site_in(
    storage: *mut tracer_span_storage,
    site: *mut tracer_site,
) -> *mut tracer_span {
    guard(ptr::null_mut(), || {
        check_storage(storage)?;
        Ok(placed(storage, site_of(site)?.enter()))
    })
}

/// Begins a span on `tag` in caller `storage` (as `tracer_begin_in(storage, tag, NULL,
/// 0)`), remembering in `cache` the markers of the first tag it sees: later calls with
/// the same tag bytes only write them. `cache` is a zero-initialized `static tracer_site`
/// (NULL `tag`) private to one call site; NULL is allowed (no caching). What
/// `TRACER_SPAN` and `TRACER_SCOPE` use. NULL on invalid arguments.
///
/// # Safety
/// `tag` is a NUL-terminated string; `storage` as for `tracer_begin_in`; `cache` is NULL
/// or such a site, only ever used with this function.
#[no_mangle]
pub unsafe extern "C" fn tracer_begin_cached_in(
    storage: *mut tracer_span_storage,
    cache: *mut tracer_site,
    tag: *const c_char,
) -> *mut tracer_span {
    guard(ptr::null_mut(), || {
        check_storage(storage)?;
        if tag.is_null() {
            return Err(Error::invalid("tag is NULL"));
        }
        if !cache.is_null() {
            let slot = slot_of(cache);
            let p = slot.load(Ordering::Acquire);
            let site = if p.is_null() {
                // First use: the site keeps its own copy of the tag (freed again when
                // another thread installed its site first).
                let copy: *mut [u8] = Box::into_raw(Box::<[u8]>::from(cstr(tag, "tag")?));
                let (site, ours) = install(slot, &*copy);
                if !ours {
                    drop(Box::from_raw(copy));
                }
                site
            } else {
                &*p
            };
            if same_tag(site.path(), tag) {
                return Ok(placed(storage, site.enter()));
            }
        }
        Ok(placed(storage, root_span(cstr(tag, "tag")?, &[])))
    })
}
