//! Fork safety of the default `/dev/null` sink (own test binary: forking is done from a
//! process with as few threads as possible).

use std::os::fd::RawFd;

fn is_dev_null(fd: RawFd) -> bool {
    std::fs::read_link(format!("/proc/self/fd/{fd}"))
        .map(|p| p == std::path::Path::new("/dev/null"))
        .unwrap_or(false)
}

/// Runs `child` in a forked child and returns its exit status (its result code).
fn in_child(child: impl FnOnce() -> i32) -> i32 {
    // SAFETY: the child only uses libc calls and tracer-tag's (lock-free) marker path,
    // then leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        let code = child();
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert!(libc::WIFEXITED(status));
    libc::WEXITSTATUS(status)
}

#[test]
fn child_reuses_or_replaces_the_inherited_fd() {
    tracer_tag::sink::reset();
    drop(tracer_tag::span("parent"));
    let fd = tracer_tag::sink::current_fd();
    assert!(is_dev_null(fd));

    // 1. untouched fd: the child keeps using it (no leak, no reopen)
    let code = in_child(|| {
        drop(tracer_tag::span("child"));
        if tracer_tag::sink::current_fd() == fd {
            0
        } else {
            1
        }
    });
    assert_eq!(code, 0, "child should reuse the inherited /dev/null fd");

    // 2. the child closed the fd and the number now holds a regular file: markers must
    //    not land in that file, a fresh /dev/null fd is used
    let path = std::env::temp_dir().join(format!("tracer-tag-fork-{}", std::process::id()));
    let cpath = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    let code = in_child(|| unsafe {
        let f = libc::open(
            cpath.as_ptr(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC,
            0o600,
        );
        if f < 0 || libc::dup2(f, fd) != fd {
            return 2;
        }
        libc::close(f);
        let before = tracer_tag::error_count();
        drop(tracer_tag::span("child"));
        let now = tracer_tag::sink::current_fd();
        if now == fd || now < 0 {
            return 3;
        }
        if tracer_tag::error_count() != before {
            return 4;
        }
        0
    });
    let written = std::fs::read(&path).unwrap_or_default();
    let _ = std::fs::remove_file(&path);
    assert_eq!(code, 0, "child failed at step {code}");
    assert!(
        written.is_empty(),
        "markers leaked into a reused fd: {written:?}"
    );

    // parent unaffected
    assert_eq!(tracer_tag::sink::current_fd(), fd);

    // 3. someone closes our fd behind our back (no fork): the failed write is counted
    //    and the next marker goes to a freshly opened /dev/null
    // SAFETY: closing the fd tracer-tag opened; nothing else in this binary uses it.
    unsafe { libc::close(fd) };
    let before = tracer_tag::error_count();
    drop(tracer_tag::span("x"));
    assert_eq!(tracer_tag::error_count(), before + 1);
    let now = tracer_tag::sink::current_fd();
    assert!(now >= 0 && is_dev_null(now));
    drop(tracer_tag::span("y"));
    assert_eq!(tracer_tag::error_count(), before + 1);
}
