//! Synthesized events for one traced process: a thread ([`Timeline`]) that opens
//! `/dev/null` for markers and does file and network I/O.

#![allow(dead_code)]

use std::net::SocketAddr;

use tracer_core::event::build::{open_detail, Timeline, MARKER_FD};
use tracer_core::event::{L4Proto, SyscallDetail, SyscallKind};

/// A new main thread (snapshot + `/dev/null` on fd 3) starting at `now`.
pub fn start(pid: i64, comm: &str, exe: &str, now: u64) -> Timeline {
    let mut t = Timeline::new(pid, pid, now);
    t.thread_info(1, comm, exe, &["--port", "80"], "/");
    let dev_null = open_detail("/dev/null", 0o1);
    t.sys(SyscallKind::Openat, -1, MARKER_FD, 500, dev_null);
    t
}

/// The file and network I/O the tests do.
pub trait Traffic {
    /// Opens `path` as `fd`.
    fn open_file(&mut self, path: &str, fd: i64);
    /// A TCP socket `fd` connected to `remote`.
    fn connect(&mut self, fd: i64, remote: &str);
    /// `read(fd)` of `n` bytes.
    fn read(&mut self, fd: i64, n: u64);
    /// `write(fd)` of `n` bytes.
    fn write(&mut self, fd: i64, n: u64);
}

impl Traffic for Timeline {
    fn open_file(&mut self, path: &str, fd: i64) {
        self.open(path, fd, 1000);
    }

    fn connect(&mut self, fd: i64, remote: &str) {
        let socket = SyscallDetail::Socket {
            domain: 2,
            sock_type: 1,
            protocol: 0,
        };
        self.sys(SyscallKind::Socket, -1, fd, 500, socket);
        let remote: SocketAddr = remote.parse().unwrap();
        let sock = SyscallDetail::Sock {
            proto: L4Proto::Tcp,
            local: Some("10.0.0.1:40000".parse().unwrap()),
            remote: Some(remote),
            unix_path: None,
        };
        self.sys(SyscallKind::Connect, fd, 0, 5000, sock);
    }

    fn read(&mut self, fd: i64, n: u64) {
        self.io(SyscallKind::Read, fd, n, 1000 + n);
    }

    fn write(&mut self, fd: i64, n: u64) {
        self.io(SyscallKind::Write, fd, n, 1000 + n);
    }
}
