//! Where markers go: a process-wide file descriptor, `/dev/null` by default.
//!
//! The default fd is opened lazily (`O_WRONLY|O_NONBLOCK|O_CLOEXEC`) by the first marker
//! and shared by all threads. [`set_fd`] redirects markers to any fd (a pipe in tests);
//! [`reset`] goes back to `/dev/null`. No locks are taken on the marker path, so a
//! `fork()` from another thread can never leave the child blocked here.
//!
//! Fork: a child inherits the fd. The first marker written in the child checks that the
//! inherited default fd is still `/dev/null` (the child may have closed it and reused the
//! number); if not, a fresh one is opened (never closing the number, which is no longer
//! ours). If a write reports `EBADF` on the default fd, it is reopened for the next marker.

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::Once;

/// The fd markers are written to; `-1` = "the default, not (yet/any more) resolved".
static CURRENT: AtomicI32 = AtomicI32::new(-1);
/// The fd we opened on `/dev/null`, `-1` when none; `-2` after a fork (must be verified).
static DEFAULT: AtomicI32 = AtomicI32::new(-1);
/// The inherited default fd waiting for verification in a forked child.
static INHERITED: AtomicI32 = AtomicI32::new(-1);
/// Markers that could not be written.
static ERRORS: AtomicU64 = AtomicU64::new(0);
/// Whether a redirection set by [`set_fd`] is active (read only on slow paths).
static USER_FD: AtomicI32 = AtomicI32::new(-1);

static ATFORK: Once = Once::new();

/// Redirects every later marker (all threads) to `fd`. The caller keeps ownership of
/// `fd`: it is never closed here. A negative `fd` is the same as [`reset`].
pub fn set_fd(fd: RawFd) {
    if fd < 0 {
        return reset();
    }
    USER_FD.store(fd, Ordering::Release);
    CURRENT.store(fd, Ordering::Release);
}

/// Sends later markers to `/dev/null` again (the lazily opened default fd).
pub fn reset() {
    USER_FD.store(-1, Ordering::Release);
    CURRENT.store(-1, Ordering::Release);
}

/// The fd the next marker goes to (opening `/dev/null` if needed); `-1` if `/dev/null`
/// cannot be opened.
pub fn current_fd() -> RawFd {
    let fd = CURRENT.load(Ordering::Acquire);
    if fd >= 0 {
        fd
    } else {
        resolve_default()
    }
}

/// Number of markers that could not be written (failed or short `write(2)`, or no
/// `/dev/null`) since the process started.
pub fn error_count() -> u64 {
    ERRORS.load(Ordering::Relaxed)
}

#[cold]
fn count_error() {
    ERRORS.fetch_add(1, Ordering::Relaxed);
}

/// Writes one marker with one `write(2)`; retries once on `EINTR`. Never fails.
#[inline]
pub(crate) fn write(buf: &[u8]) {
    let fd = CURRENT.load(Ordering::Acquire);
    let fd = if fd >= 0 { fd } else { resolve_default() };
    if fd < 0 {
        count_error();
        return;
    }
    // SAFETY: `buf` is a valid slice for the duration of the call.
    let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
    if n != buf.len() as isize {
        write_failed(fd, buf, n);
    }
}

#[cold]
fn write_failed(fd: RawFd, buf: &[u8], n: isize) {
    if n < 0 {
        let err = std::io::Error::last_os_error().raw_os_error();
        if err == Some(libc::EINTR) {
            // SAFETY: as in `write`.
            let n2 = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
            if n2 == buf.len() as isize {
                return;
            }
        } else if err == Some(libc::EBADF) && DEFAULT.load(Ordering::Acquire) == fd {
            // Someone closed our /dev/null fd: open a new one for the next marker.
            if DEFAULT
                .compare_exchange(fd, -1, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                let _ = CURRENT.compare_exchange(fd, -1, Ordering::AcqRel, Ordering::Acquire);
            }
        }
    }
    count_error();
}

/// Slow path: find (or open) the default `/dev/null` fd and make it current.
#[cold]
fn resolve_default() -> RawFd {
    let mut fd = DEFAULT.load(Ordering::Acquire);
    if fd == -2 {
        // forked child: reuse the inherited fd if it is still /dev/null
        let inherited = INHERITED.load(Ordering::Acquire);
        let new = if is_dev_null(inherited) {
            inherited
        } else {
            open_dev_null()
        };
        fd = match DEFAULT.compare_exchange(-2, new, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => new,
            Err(other) => {
                if new != inherited {
                    close(new);
                }
                other
            }
        };
    }
    if fd < 0 {
        let new = open_dev_null();
        if new < 0 {
            return -1;
        }
        fd = match DEFAULT.compare_exchange(-1, new, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => new,
            Err(other) => {
                // another thread won the race: use its fd
                close(new);
                other
            }
        };
        if fd < 0 {
            return -1;
        }
    }
    // Become current unless a user fd was set meanwhile.
    if USER_FD.load(Ordering::Acquire) < 0 {
        let _ = CURRENT.compare_exchange(-1, fd, Ordering::AcqRel, Ordering::Acquire);
    }
    fd
}

fn open_dev_null() -> RawFd {
    ATFORK.call_once(|| {
        // SAFETY: registering a plain `extern "C"` handler that only touches atomics.
        unsafe {
            libc::pthread_atfork(None, None, Some(after_fork_child));
        }
    });
    // SAFETY: the path is a valid NUL-terminated string.
    let fd = unsafe {
        libc::open(
            c"/dev/null".as_ptr(),
            libc::O_WRONLY | libc::O_NONBLOCK | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        count_error();
    }
    fd
}

fn close(fd: RawFd) {
    if fd >= 0 {
        // SAFETY: `fd` was opened by us and never published.
        unsafe {
            libc::close(fd);
        }
    }
}

/// `fd` is open, write-only or read-write, and is the character device 1:3.
fn is_dev_null(fd: RawFd) -> bool {
    if fd < 0 {
        return false;
    }
    // SAFETY: fstat writes into the zeroed struct we own.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return false;
    }
    // SAFETY: F_GETFL has no side effects.
    let fl = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    (st.st_mode & libc::S_IFMT) == libc::S_IFCHR
        && st.st_rdev == libc::makedev(1, 3)
        && fl >= 0
        && (fl & libc::O_ACCMODE) != libc::O_RDONLY
}

/// In a forked child: the default fd must be verified before reuse (atomics only, so
/// async-signal-safe).
extern "C" fn after_fork_child() {
    let fd = DEFAULT.swap(-2, Ordering::AcqRel);
    INHERITED.store(fd, Ordering::Release);
    if USER_FD.load(Ordering::Acquire) < 0 {
        CURRENT.store(-1, Ordering::Release);
    }
}
