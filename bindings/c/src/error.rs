//! Error codes and the thread-local last-error message.

use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};

/// Success.
pub const TRACER_OK: i32 = 0;
/// An argument was invalid (NULL pointer, bad id kind or direction, length without data).
pub const TRACER_ERR_INVALID: i32 = -1;
/// An internal error was caught at the library boundary (a bug; the host is unaffected).
pub const TRACER_ERR_INTERNAL: i32 = -2;

/// An error to report to the C caller.
#[derive(Debug)]
pub(crate) struct Error {
    pub(crate) code: i32,
    pub(crate) msg: String,
}

impl Error {
    /// An invalid-argument error.
    pub(crate) fn invalid(msg: impl Into<String>) -> Error {
        Error {
            code: TRACER_ERR_INVALID,
            msg: msg.into(),
        }
    }
}

thread_local! {
    static LAST: RefCell<CString> = RefCell::new(CString::default());
}

/// Records `e` as this thread's last error and returns its code.
pub(crate) fn set_last(e: Error) -> i32 {
    let msg = CString::new(e.msg.replace('\0', "")).unwrap_or_default();
    let _ = LAST.try_with(|l| *l.borrow_mut() = msg);
    e.code
}

/// The message of the last failed call on the calling thread, or `""` if no call has
/// failed on this thread. The pointer stays valid until the next failing call on this
/// thread; never NULL.
#[no_mangle]
pub extern "C" fn tracer_last_error() -> *const c_char {
    static EMPTY: &CStr = c"";
    LAST.try_with(|l| l.borrow().as_ptr())
        .unwrap_or(EMPTY.as_ptr())
}

/// A static description of a `TRACER_*` return code; never NULL.
#[no_mangle]
pub extern "C" fn tracer_strerror(code: std::ffi::c_int) -> *const c_char {
    match code {
        TRACER_OK => c"success",
        TRACER_ERR_INVALID => c"invalid argument",
        TRACER_ERR_INTERNAL => c"internal error",
        _ => c"unknown error code",
    }
    .as_ptr()
}
