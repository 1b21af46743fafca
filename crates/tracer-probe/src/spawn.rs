//! Starting a command paused, so that its pid can be selected before it runs.

use std::ffi::{CString, OsStr};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// A forked child that waits (on a pipe) before it executes its command. Create it,
/// select its pid in the probe (`Target::Command(pid)` or [`crate::Probe::add_pid`]),
/// then [`resume`](PausedChild::resume) it. Dropping it without resuming kills it.
#[derive(Debug)]
pub struct PausedChild {
    pid: i32,
    release_fd: i32,
}

/// A running child started by [`PausedChild`].
#[derive(Debug)]
pub struct TracedChild {
    pid: i32,
    reaped: bool,
}

fn cstring(s: &OsStr) -> io::Result<CString> {
    CString::new(s.as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL byte in argument"))
}

fn resolve(program: &OsStr) -> io::Result<PathBuf> {
    let p = Path::new(program);
    if p.as_os_str().as_bytes().contains(&b'/') {
        return Ok(p.to_path_buf());
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .map(|d| d.join(p))
        .find(|c| c.is_file())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("{}: command not found", p.display()),
            )
        })
}

impl PausedChild {
    /// Forks a child that will execute `argv[0]` (looked up in `PATH`) with `argv`
    /// once resumed. Stdio and environment are inherited.
    pub fn spawn<S: AsRef<OsStr>>(argv: &[S]) -> io::Result<PausedChild> {
        let first = argv
            .first()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty command"))?;
        let exe = cstring(resolve(first.as_ref())?.as_os_str())?;
        let args: Vec<CString> = argv
            .iter()
            .map(|a| cstring(a.as_ref()))
            .collect::<io::Result<_>>()?;
        let mut argp: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
        argp.push(std::ptr::null());
        let mut fds = [0i32; 2];
        // SAFETY: fds has room for the two descriptors pipe2 writes.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the child only calls async-signal-safe functions (read, close, execv,
        // _exit) on memory prepared before the fork.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            let e = io::Error::last_os_error();
            // SAFETY: closing our own pipe fds.
            unsafe {
                libc::close(fds[0]);
                libc::close(fds[1]);
            }
            return Err(e);
        }
        if pid == 0 {
            // SAFETY: see above; the child never returns from this block.
            unsafe {
                libc::close(fds[1]);
                let mut b = 0u8;
                let n = libc::read(fds[0], &mut b as *mut u8 as *mut libc::c_void, 1);
                if n != 1 {
                    libc::_exit(126); // the parent gave up
                }
                libc::close(fds[0]);
                libc::execv(exe.as_ptr(), argp.as_ptr());
                libc::_exit(127);
            }
        }
        // SAFETY: closing the read end in the parent.
        unsafe { libc::close(fds[0]) };
        Ok(PausedChild {
            pid,
            release_fd: fds[1],
        })
    }

    /// The child's pid (and tgid).
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Lets the child execute its command.
    pub fn resume(mut self) -> io::Result<TracedChild> {
        let b = 1u8;
        // SAFETY: writing one byte from a valid buffer to our pipe.
        let n = unsafe { libc::write(self.release_fd, &b as *const u8 as *const libc::c_void, 1) };
        let err = io::Error::last_os_error();
        // SAFETY: closing our pipe end once.
        unsafe { libc::close(self.release_fd) };
        self.release_fd = -1;
        let pid = self.pid;
        std::mem::forget(self);
        if n != 1 {
            return Err(err);
        }
        Ok(TracedChild { pid, reaped: false })
    }
}

impl Drop for PausedChild {
    fn drop(&mut self) {
        // SAFETY: kill and reap our own child, close our pipe end.
        unsafe {
            if self.release_fd >= 0 {
                libc::close(self.release_fd);
            }
            libc::kill(self.pid, libc::SIGKILL);
            libc::waitpid(self.pid, std::ptr::null_mut(), 0);
        }
    }
}

impl TracedChild {
    /// The child's pid.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Waits for the child; returns its exit code, or 128 + signal number.
    pub fn wait(&mut self) -> io::Result<i32> {
        let mut status = 0;
        loop {
            // SAFETY: waiting for our own child with a valid status pointer.
            let r = unsafe { libc::waitpid(self.pid, &mut status, 0) };
            if r == self.pid {
                break;
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
        self.reaped = true;
        Ok(if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            128 + libc::WTERMSIG(status)
        })
    }
}

impl Drop for TracedChild {
    fn drop(&mut self) {
        if !self.reaped {
            // SAFETY: reap our own child (non-blocking) so it does not linger as a zombie.
            unsafe { libc::waitpid(self.pid, std::ptr::null_mut(), libc::WNOHANG) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paused_child_runs_after_resume() {
        let c = PausedChild::spawn(&["sh", "-c", "exit 7"]).unwrap();
        assert!(c.pid() > 0);
        let mut t = c.resume().unwrap();
        assert_eq!(t.wait().unwrap(), 7);
    }

    #[test]
    fn dropped_paused_child_is_killed() {
        let c = PausedChild::spawn(&["true"]).unwrap();
        let pid = c.pid();
        drop(c);
        // SAFETY: probing whether the pid still exists.
        assert_ne!(unsafe { libc::kill(pid, 0) }, 0);
    }

    #[test]
    fn missing_command_is_an_error() {
        assert!(
            PausedChild::spawn(&["/nonexistent/xyz"]).is_ok(),
            "path given: checked at exec"
        );
        assert_eq!(
            PausedChild::spawn(&["no-such-command-xyz"])
                .unwrap_err()
                .kind(),
            io::ErrorKind::NotFound
        );
    }
}
