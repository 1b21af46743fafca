//! A deterministic synthetic workload for tests and benchmarks: three processes with
//! several threads, nested spans with arguments (markers on a `/dev/null` fd known from
//! the fd snapshot, and on an unknown fd flagged as null-device writes), file and
//! socket I/O, accept/connect, clone (fork and thread), execve and thread exits.
//!
//! The events are exactly what [`crate::ScapReader`] reads back from a capture written
//! by [`crate::ScapWriter`] (canonical forms: snapshot timestamps equal the first
//! syscall's enter, accept carries no listening fd, payloads only on marker writes).

use std::net::SocketAddr;

use tracer_core::event::{
    Event, EventKind, FdTarget, L4Proto, Syscall, SyscallDetail, SyscallKind, ThreadInfo,
};

/// Size and start of a synthetic workload.
#[derive(Debug, Clone, Copy)]
pub struct SynthConfig {
    /// Request iterations (19 syscalls, 38 sysdig events each).
    pub iterations: usize,
    /// Timestamp of the first event (ns since the epoch).
    pub start_ts: u64,
}

impl Default for SynthConfig {
    fn default() -> Self {
        SynthConfig {
            iterations: 3,
            start_ts: 1_700_000_000_000_000_000,
        }
    }
}

/// Linux flags used by the workload.
const O_WRONLY_CREAT_TRUNC: u32 = 0o1101;
const CLONE_THREAD_FLAGS: u64 =
    0x100 | 0x200 | 0x400 | 0x800 | 0x10000 | 0x40000 | 0x80000 | 0x100000 | 0x200000;

struct Gen<F: FnMut(Event)> {
    sink: F,
    t: u64,
}

impl<F: FnMut(Event)> Gen<F> {
    fn sc(&mut self, tid: i64, pid: i64, sc: Syscall) {
        (self.sink)(Event {
            ts: sc.enter_ts + 500,
            tid,
            pid,
            kind: EventKind::Syscall(sc),
        });
    }
    /// Next syscall base with 500 ns latency, 1 µs apart.
    fn base(&mut self, kind: SyscallKind, res: i64) -> Syscall {
        self.t += 1000;
        Syscall::new(kind, self.t, res)
    }
    fn io(&mut self, tid: i64, pid: i64, kind: SyscallKind, fd: i64, size: u64, res: i64) {
        let mut s = self.base(kind, res);
        s.fd = fd;
        s.size = size;
        self.sc(tid, pid, s);
    }
    fn marker(&mut self, tid: i64, pid: i64, fd: i64, text: &str, null_dev: bool) {
        let mut s = self.base(SyscallKind::Write, text.len() as i64);
        s.fd = fd;
        s.size = text.len() as u64;
        s.data = Some(text.as_bytes().to_vec());
        s.null_dev = null_dev;
        self.sc(tid, pid, s);
    }
    fn close(&mut self, tid: i64, pid: i64, fd: i64) {
        let mut s = self.base(SyscallKind::Close, 0);
        s.fd = fd;
        self.sc(tid, pid, s);
    }
}

fn addr(s: &str) -> Option<SocketAddr> {
    Some(s.parse().expect("valid address"))
}

/// Generates the workload, in time order, into `sink`.
pub fn generate(cfg: &SynthConfig, sink: impl FnMut(Event)) {
    let mut g = Gen {
        sink,
        t: cfg.start_ts,
    };
    let ts0 = cfg.start_ts + 1000; // the first syscall's enter: the capture's first event
    let (api_args, no_args): (&[&str], &[&str]) = (&["--port", "80"], &[]);
    let threads = [
        (1000, 1000, 1, "api", "/usr/bin/api", api_args, "/srv"),
        (1001, 1000, 1000, "api", "/usr/bin/api", api_args, "/srv"),
        (2000, 2000, 1, "server", "/usr/sbin/server", no_args, "/"),
    ];
    for (tid, pid, ptid, comm, exe, args, cwd) in threads {
        let info = ThreadInfo {
            tid,
            pid,
            ptid,
            comm: comm.into(),
            exe: exe.into(),
            args: args.iter().map(|a| a.to_string()).collect(),
            cwd: cwd.into(),
        };
        (g.sink)(Event {
            ts: ts0,
            tid,
            pid,
            kind: EventKind::ThreadInfo(info),
        });
    }
    let fds = [
        (1000, 1000, 3, FdTarget::File("/dev/null".into())),
        (1000, 1000, 4, FdTarget::File("/data/in.bin".into())),
        (
            1000,
            1000,
            5,
            FdTarget::Inet {
                proto: L4Proto::Tcp,
                local: addr("10.0.0.1:40000"),
                remote: addr("93.184.216.34:80"),
                server: false,
            },
        ),
        (2000, 2000, 3, FdTarget::File("/dev/null".into())),
        (
            2000,
            2000,
            6,
            FdTarget::Inet {
                proto: L4Proto::Tcp,
                local: addr("10.0.0.1:8080"),
                remote: None,
                server: true,
            },
        ),
    ];
    for (tid, pid, fd, target) in fds {
        (g.sink)(Event {
            ts: ts0,
            tid,
            pid,
            kind: EventKind::FdSnapshot { fd, target },
        });
    }
    use SyscallKind::*;
    for i in 0..cfg.iterations {
        // Process A, main thread: nested spans around file and socket I/O.
        g.marker(1000, 1000, 3, &format!(">:t:request:n={i}:"), false);
        g.marker(1000, 1000, 3, ">:t:request.db::", false);
        g.io(1000, 1000, Read, 4, 4096, 4096 - (i % 7) as i64);
        g.io(1000, 1000, Sendto, 5, 100, 100);
        g.io(1000, 1000, Recvfrom, 5, 2000, 1500);
        g.marker(1000, 1000, 3, "<:t:request.db::", false);
        let mut o = g.base(Openat, 7);
        o.detail = SyscallDetail::Open {
            path: "/tmp/out.bin".into(),
            dirfd: Some(-100),
            flags: O_WRONLY_CREAT_TRUNC,
            mode: 0o644,
        };
        g.sc(1000, 1000, o);
        g.io(1000, 1000, Write, 7, 1000, 1000);
        g.close(1000, 1000, 7);
        g.marker(1000, 1000, 3, "<:t:request:status=ok:", false);
        // Process A, worker thread: markers on an fd the capture does not know,
        // flagged as null-device writes (the EVF tracer-flag route).
        g.marker(1001, 1000, 9, ">:t:job::", true);
        g.io(1001, 1000, Pread, 4, 512, 512);
        g.marker(1001, 1000, 9, "<:t:job::", true);
        // Process B: accept a connection, serve it inside a span.
        let mut a = g.base(Accept4, 10);
        a.detail = SyscallDetail::Sock {
            proto: L4Proto::Tcp,
            local: addr("10.0.0.1:8080"),
            remote: Some(SocketAddr::new(
                [192, 168, 1, 5].into(),
                50000 + (i % 1000) as u16,
            )),
            unix_path: None,
        };
        g.sc(2000, 2000, a);
        g.marker(2000, 2000, 3, ">:t:serve::", false);
        g.io(2000, 2000, Read, 10, 1024, 300);
        g.io(2000, 2000, Write, 10, 2000, 2000);
        g.marker(2000, 2000, 3, "<:t:serve::", false);
        g.close(2000, 2000, 10);
        if i == 0 {
            lifecycle(&mut g);
        }
    }
}

/// Fork + execve + exit of a child, and a thread with a UDP exchange.
fn lifecycle<F: FnMut(Event)>(g: &mut Gen<F>) {
    use SyscallKind::*;
    let mut c = g.base(Clone, 3000);
    c.detail = SyscallDetail::Clone {
        flags: 0,
        child_pid: 3000,
    };
    g.sc(1000, 1000, c);
    let mut e = g.base(Execve, 0);
    e.detail = SyscallDetail::Execve {
        filename: "/bin/gzip".into(),
        argv: vec!["gzip".into(), "-9".into(), "/tmp/out.bin".into()],
    };
    g.sc(3000, 3000, e);
    g.io(3000, 3000, Write, 4, 100, 100);
    g.t += 1000;
    (g.sink)(Event {
        ts: g.t,
        tid: 3000,
        pid: 3000,
        kind: EventKind::ThreadExit { status: 0 },
    });
    let mut c = g.base(Clone, 1002);
    c.detail = SyscallDetail::Clone {
        flags: CLONE_THREAD_FLAGS,
        child_pid: 1000,
    };
    g.sc(1000, 1000, c);
    let mut s = g.base(Socket, 11);
    s.detail = SyscallDetail::Socket {
        domain: 2,
        sock_type: 2,
        protocol: 0,
    };
    g.sc(1002, 1000, s);
    let dns = SyscallDetail::Sock {
        proto: L4Proto::Udp,
        local: addr("10.0.0.1:5353"),
        remote: addr("10.0.0.53:53"),
        unix_path: None,
    };
    let mut c = g.base(Connect, 0);
    c.fd = 11;
    c.detail = dns.clone();
    g.sc(1002, 1000, c);
    g.marker(1002, 1000, 3, ">:t:dns:q=example.org:", false);
    g.io(1002, 1000, Sendto, 11, 40, 40);
    let mut r = g.base(Recvfrom, 120);
    r.fd = 11;
    r.size = 512;
    r.detail = dns;
    g.sc(1002, 1000, r);
    g.marker(1002, 1000, 3, "<:t:dns::", false);
    g.close(1002, 1000, 11);
    g.t += 1000;
    (g.sink)(Event {
        ts: g.t,
        tid: 1002,
        pid: 1000,
        kind: EventKind::ThreadExit { status: 0 },
    });
}

/// The workload as a vector.
pub fn events(cfg: &SynthConfig) -> Vec<Event> {
    let mut v = Vec::new();
    generate(cfg, |e| v.push(e));
    v
}
