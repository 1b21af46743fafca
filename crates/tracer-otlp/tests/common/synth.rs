//! Synthesized events for one traced process: a thread with a running clock that opens
//! `/dev/null` for markers and does file and network I/O.

#![allow(dead_code)]

use std::net::SocketAddr;

use tracer_core::event::{
    Event, EventKind, L4Proto, Syscall, SyscallDetail, SyscallKind, ThreadInfo,
};

/// One thread's events.
pub struct Thread {
    pub tid: i64,
    pub pid: i64,
    pub now: u64,
    pub out: Vec<Event>,
}

impl Thread {
    /// A new main thread (snapshot + `/dev/null` on fd 3) starting at `now`.
    pub fn start(pid: i64, comm: &str, exe: &str, now: u64) -> Thread {
        let mut t = Thread {
            tid: pid,
            pid,
            now,
            out: Vec::new(),
        };
        t.out.push(Event {
            ts: now,
            tid: pid,
            pid,
            kind: EventKind::ThreadInfo(ThreadInfo {
                tid: pid,
                pid,
                ptid: 1,
                comm: comm.into(),
                exe: exe.into(),
                args: vec!["--port".into(), "80".into()],
                cwd: "/".into(),
            }),
        });
        t.sys(
            SyscallKind::Openat,
            -1,
            3,
            500,
            SyscallDetail::Open {
                path: "/dev/null".into(),
                dirfd: Some(-100),
                flags: 0o1,
                mode: 0,
            },
        );
        t
    }

    /// One syscall taking `cost` ns.
    pub fn sys(&mut self, kind: SyscallKind, fd: i64, res: i64, cost: u64, detail: SyscallDetail) {
        let enter = self.now;
        self.now += cost.max(1);
        let mut s = Syscall::new(kind, enter, res);
        s.fd = fd;
        s.detail = detail;
        if kind.io_dir().is_some() {
            s.size = res.max(0) as u64;
        }
        self.out.push(Event {
            ts: self.now,
            tid: self.tid,
            pid: self.pid,
            kind: EventKind::Syscall(s),
        });
        self.now += 200;
    }

    /// A marker write on fd 3.
    pub fn marker(&mut self, text: &str) {
        let enter = self.now;
        self.now += 300;
        let mut s = Syscall::new(SyscallKind::Write, enter, text.len() as i64);
        s.fd = 3;
        s.size = text.len() as u64;
        s.data = Some(text.as_bytes().to_vec());
        self.out.push(Event {
            ts: self.now,
            tid: self.tid,
            pid: self.pid,
            kind: EventKind::Syscall(s),
        });
        self.now += 100;
    }

    /// Opens `path` as `fd`.
    pub fn open(&mut self, path: &str, fd: i64) {
        self.sys(
            SyscallKind::Openat,
            -1,
            fd,
            1000,
            SyscallDetail::Open {
                path: path.into(),
                dirfd: Some(-100),
                flags: 0,
                mode: 0,
            },
        );
    }

    /// A TCP socket `fd` connected to `remote`.
    pub fn connect(&mut self, fd: i64, remote: &str) {
        self.sys(
            SyscallKind::Socket,
            -1,
            fd,
            500,
            SyscallDetail::Socket {
                domain: 2,
                sock_type: 1,
                protocol: 0,
            },
        );
        let remote: SocketAddr = remote.parse().unwrap();
        self.sys(
            SyscallKind::Connect,
            fd,
            0,
            5000,
            SyscallDetail::Sock {
                proto: L4Proto::Tcp,
                local: Some("10.0.0.1:40000".parse().unwrap()),
                remote: Some(remote),
                unix_path: None,
            },
        );
    }

    /// `read(fd)` of `n` bytes.
    pub fn read(&mut self, fd: i64, n: u64) {
        self.sys(
            SyscallKind::Read,
            fd,
            n as i64,
            1000 + n,
            SyscallDetail::None,
        );
    }

    /// `write(fd)` of `n` bytes.
    pub fn write(&mut self, fd: i64, n: u64) {
        self.sys(
            SyscallKind::Write,
            fd,
            n as i64,
            1000 + n,
            SyscallDetail::None,
        );
    }
}
