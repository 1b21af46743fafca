//! Test helper: capture markers through a `SOCK_SEQPACKET` socket pair, so every
//! `write(2)` arrives as one packet and "one write per marker" is checked exactly.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::{Mutex, MutexGuard};

/// The sink is process-wide: tests that redirect it run one at a time.
static LOCK: Mutex<()> = Mutex::new(());

/// A redirected sink; markers are read back with [`Capture::packets`].
pub struct Capture {
    rx: OwnedFd,
    _tx: OwnedFd,
    _guard: MutexGuard<'static, ()>,
}

impl Capture {
    /// Redirects the sink to a fresh socket pair.
    pub fn start() -> Capture {
        let guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let mut fds = [0; 2];
        // SAFETY: fds is a valid array of two ints.
        let rc = unsafe {
            libc::socketpair(
                libc::AF_UNIX,
                libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
                0,
                fds.as_mut_ptr(),
            )
        };
        assert_eq!(rc, 0, "socketpair: {}", std::io::Error::last_os_error());
        // SAFETY: both fds were just created and are owned here.
        let (rx, tx) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        let big = 4 << 20;
        // SAFETY: plain setsockopt with an int.
        unsafe {
            libc::setsockopt(
                tx.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_SNDBUF,
                (&big as *const i32).cast(),
                4,
            );
        }
        tracer_tag::sink::set_fd(tx.as_raw_fd());
        Capture {
            rx,
            _tx: tx,
            _guard: guard,
        }
    }

    /// All packets written so far, one per `write(2)`.
    pub fn packets(&self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            // SAFETY: buf is valid for its length.
            let n = unsafe {
                libc::recv(
                    self.rx.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    libc::MSG_DONTWAIT,
                )
            };
            if n < 0 {
                break;
            }
            out.push(buf[..n as usize].to_vec());
        }
        out
    }

    /// Packets as strings (lossy), for readable assertions.
    #[allow(dead_code)] // not every test binary uses it
    pub fn strings(&self) -> Vec<String> {
        self.packets()
            .into_iter()
            .map(|p| String::from_utf8_lossy(&p).into_owned())
            .collect()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        tracer_tag::sink::reset();
    }
}
