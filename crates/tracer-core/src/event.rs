//! The event model: what every producer (the eBPF probe, the `.scap` reader, synthetic
//! generators in tests) hands to the engine, in time order.
//!
//! Plain data, no I/O. Conventions:
//! - Timestamps are nanoseconds on one clock per stream (the probe uses the kernel's
//!   boot clock; captures use wall-clock ns since the epoch). For a syscall, [`Event::ts`]
//!   is the **exit** timestamp and [`Syscall::enter_ts`] the enter timestamp, so
//!   `latency = ts - enter_ts`. Marker timestamps are write-exit timestamps, as in sysdig.
//! - `tid` is the kernel thread id, `pid` the thread-group id (process id).
//! - File descriptors are `i64` (negative = none/unknown). Byte counts come from the
//!   syscall's return value; payloads ([`Syscall::data`]) are only captured for marker
//!   candidates (writes to the null device), never for ordinary I/O.

pub mod build;

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// One timestamped event of one thread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Nanoseconds; for syscalls the exit timestamp.
    pub ts: u64,
    /// Thread id of the thread the event happened on.
    pub tid: i64,
    /// Process id (thread-group id) of that thread.
    pub pid: i64,
    /// What happened.
    pub kind: EventKind,
}

/// The kinds of events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum EventKind {
    /// A completed syscall (enter + exit).
    Syscall(Syscall),
    /// A thread became known or changed (snapshot from `/proc` or a capture's process
    /// list, or an update after `execve`). Threads created during the stream are
    /// normally learnt from [`SyscallKind::Clone`] exits instead.
    ThreadInfo(ThreadInfo),
    /// An fd that exists at the start of the stream (from a `/proc` scan or a
    /// capture's fd table), belonging to the process `Event::pid`.
    FdSnapshot {
        /// The descriptor number.
        fd: i64,
        /// What it refers to.
        target: FdTarget,
    },
    /// The thread exited (procexit). Open spans of the thread stay open until their
    /// exit marker or the end of the stream; the engine reports them as never closed.
    ThreadExit {
        /// Exit status as reported by the producer.
        status: i64,
    },
    /// The producer lost `count` events of this thread (ring buffer full, truncated
    /// capture). `tid` is -1 when the thread is not known. Spans open on an affected
    /// thread are marked incomplete.
    Lost {
        /// How many events were lost (0 = unknown).
        count: u64,
    },
}

/// A thread or process as known to the producer.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ThreadInfo {
    /// Thread id.
    pub tid: i64,
    /// Process id.
    pub pid: i64,
    /// Parent thread id as sysdig keeps it (creating thread, or the parent process
    /// from `/proc`). Used for the `pp` marker id and `evtin.span.s.*`.
    pub ptid: i64,
    /// Short command name (`comm`, at most 15 bytes in the kernel).
    pub comm: String,
    /// Executable path or `argv[0]`.
    pub exe: String,
    /// Command-line arguments after `argv[0]`.
    pub args: Vec<String>,
    /// Working directory, when known (empty otherwise).
    pub cwd: String,
}

/// Which syscall (after folding variants a producer cannot or need not tell apart,
/// e.g. `pread64`/`pread`). The engine derives the meaning (I/O direction, fd effects)
/// from this plus [`Syscall::detail`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum SyscallKind {
    Read,
    Write,
    Pread,
    Pwrite,
    Readv,
    Writev,
    Preadv,
    Pwritev,
    Send,
    Recv,
    Sendto,
    Recvfrom,
    Sendmsg,
    Recvmsg,
    Sendfile,
    Open,
    Openat,
    Openat2,
    Creat,
    Close,
    Dup,
    Dup2,
    Dup3,
    /// `fcntl(fd, F_DUPFD | F_DUPFD_CLOEXEC, …)` only.
    FcntlDup,
    Socket,
    Connect,
    Accept,
    Accept4,
    Bind,
    Listen,
    Pipe,
    Clone,
    Clone3,
    Fork,
    Vfork,
    Execve,
    Exit,
    ExitGroup,
    /// Any other syscall (its number, when known): counted, never I/O.
    Other(u32),
}

/// Direction of an I/O syscall's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum IoDir {
    /// Bytes into the process (read, recv…).
    In,
    /// Bytes out of the process (write, send…).
    Out,
}

impl SyscallKind {
    /// The I/O direction of a read/write/send/recv-family syscall (`None` otherwise).
    /// For `sendfile` the bytes leave through `out_fd` (the syscall's `fd`) and are read
    /// from `in_fd` (see [`SyscallDetail::Sendfile`]).
    pub fn io_dir(self) -> Option<IoDir> {
        use SyscallKind::*;
        match self {
            Read | Pread | Readv | Preadv | Recv | Recvfrom | Recvmsg => Some(IoDir::In),
            Write | Pwrite | Writev | Pwritev | Send | Sendto | Sendmsg | Sendfile => {
                Some(IoDir::Out)
            }
            _ => None,
        }
    }

    /// True for syscalls whose successful return value is a new fd
    /// (open family, dup family, socket, accept).
    pub fn creates_fd(self) -> bool {
        use SyscallKind::*;
        matches!(
            self,
            Open | Openat
                | Openat2
                | Creat
                | Dup
                | Dup2
                | Dup3
                | FcntlDup
                | Socket
                | Accept
                | Accept4
        )
    }

    /// The sysdig `evt.type` name of this syscall (`pread` for pread64, `procexit`
    /// is not a syscall and has no name here).
    pub fn name(self) -> &'static str {
        use SyscallKind::*;
        match self {
            Read => "read",
            Write => "write",
            Pread => "pread",
            Pwrite => "pwrite",
            Readv => "readv",
            Writev => "writev",
            Preadv => "preadv",
            Pwritev => "pwritev",
            Send => "send",
            Recv => "recv",
            Sendto => "sendto",
            Recvfrom => "recvfrom",
            Sendmsg => "sendmsg",
            Recvmsg => "recvmsg",
            Sendfile => "sendfile",
            Open => "open",
            Openat => "openat",
            Openat2 => "openat2",
            Creat => "creat",
            Close => "close",
            Dup => "dup",
            Dup2 => "dup2",
            Dup3 => "dup3",
            FcntlDup => "fcntl",
            Socket => "socket",
            Connect => "connect",
            Accept => "accept",
            Accept4 => "accept4",
            Bind => "bind",
            Listen => "listen",
            Pipe => "pipe",
            Clone => "clone",
            Clone3 => "clone3",
            Fork => "fork",
            Vfork => "vfork",
            Execve => "execve",
            Exit => "exit",
            ExitGroup => "exit_group",
            Other(_) => "other",
        }
    }
}

/// Transport protocol of a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum L4Proto {
    /// TCP (stream).
    Tcp,
    /// UDP (datagram).
    Udp,
    /// Raw or unknown.
    Other,
}

/// What an fd refers to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FdTarget {
    /// A regular file (or any path-named object: device, directory…), by path.
    /// The null device is `File("/dev/null")`.
    File(String),
    /// A directory opened by path.
    Directory(String),
    /// An IPv4/IPv6 socket. `local`/`remote` are `None` while unknown (unconnected).
    Inet {
        /// TCP, UDP or other.
        proto: L4Proto,
        /// This process's side.
        local: Option<SocketAddr>,
        /// The peer.
        remote: Option<SocketAddr>,
        /// True when this side accepted the connection (or listens): the server side.
        server: bool,
    },
    /// A unix-domain socket (path, possibly empty).
    Unix(String),
    /// A pipe or FIFO.
    Pipe,
    /// Anything else the producer could name (eventfd, signalfd, epoll…).
    Other(String),
    /// Unknown.
    Unknown,
}

/// Kind-specific syscall arguments.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum SyscallDetail {
    /// Nothing beyond fd/res/size.
    #[default]
    None,
    /// open/openat/openat2/creat: the path as passed (relative paths are resolved by
    /// the engine against `dirfd` or the cwd when it can), Linux `O_*` flags, mode.
    Open {
        /// Path argument as given.
        path: String,
        /// `dirfd` for the `*at` variants (`AT_FDCWD` = -100).
        dirfd: Option<i64>,
        /// Linux `O_*` open flags (not sysdig's `PPM_O_*` numbering).
        flags: u32,
        /// Creation mode.
        mode: u32,
    },
    /// dup/dup2/dup3/fcntl(F_DUPFD): the new fd is the return value.
    Dup {
        /// The fd being duplicated (the syscall's `fd` is the same value).
        oldfd: i64,
    },
    /// socket(): the new fd is the return value.
    Socket {
        /// `AF_*` domain (Linux numbering).
        domain: u32,
        /// `SOCK_*` type (flags masked off).
        sock_type: u32,
        /// Protocol number.
        protocol: u32,
    },
    /// connect/accept/accept4/bind/sendto/recvfrom/sendmsg/recvmsg: the socket's
    /// endpoints as known at exit (for accept: of the new fd, the return value).
    Sock {
        /// Transport protocol.
        proto: L4Proto,
        /// Local side.
        local: Option<SocketAddr>,
        /// Remote side.
        remote: Option<SocketAddr>,
        /// Unix-domain path, if a unix socket.
        unix_path: Option<String>,
    },
    /// pipe/pipe2: the two new fds.
    Pipe {
        /// Read end.
        read_fd: i64,
        /// Write end.
        write_fd: i64,
    },
    /// sendfile(out_fd = `Syscall::fd`, in_fd, …): `res` bytes read from `in_fd` and
    /// written to `out_fd`.
    Sendfile {
        /// Source fd.
        in_fd: i64,
    },
    /// clone/clone3/fork/vfork in the parent: the child's tid is the return value.
    Clone {
        /// Linux `CLONE_*` flags (fork/vfork: 0 / `CLONE_VFORK|CLONE_VM`).
        flags: u64,
        /// The child's process id (= child tid unless `CLONE_THREAD`).
        child_pid: i64,
    },
    /// execve: what was executed (on success the thread's identity is updated).
    Execve {
        /// Filename argument.
        filename: String,
        /// argv (first entries).
        argv: Vec<String>,
    },
    /// exit/exit_group status.
    Exit {
        /// Exit code.
        status: i64,
    },
}

/// One completed syscall.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Syscall {
    /// Which syscall.
    pub kind: SyscallKind,
    /// Enter timestamp (ns); the exit timestamp is [`Event::ts`].
    pub enter_ts: u64,
    /// Return value (negative errno on failure; bytes for I/O; new fd for fd creators).
    pub res: i64,
    /// The fd operated on (`-1` when none).
    pub fd: i64,
    /// Requested size for I/O (the `count`/`len` argument), 0 when not applicable.
    pub size: u64,
    /// Kind-specific arguments.
    pub detail: SyscallDetail,
    /// Captured payload, for marker candidates only (writes to the null device),
    /// possibly truncated to the producer's snap length. `None` for ordinary I/O.
    pub data: Option<Vec<u8>>,
    /// The producer knows this write went to the null device (the probe checks the
    /// device in the kernel; a capture's EVF tracer flag). Such a write is parsed as a
    /// marker even when the engine has not seen the fd opened (fixes sysdig#1064).
    pub null_dev: bool,
}

impl Syscall {
    /// A syscall with no detail, payload or fd: a convenient base for producers.
    pub fn new(kind: SyscallKind, enter_ts: u64, res: i64) -> Self {
        Syscall {
            kind,
            enter_ts,
            res,
            fd: -1,
            size: 0,
            detail: SyscallDetail::None,
            data: None,
            null_dev: false,
        }
    }

    /// Bytes transferred by a successful I/O syscall (0 for errors and non-I/O).
    pub fn io_bytes(&self) -> u64 {
        if self.kind.io_dir().is_some() && self.res > 0 {
            self.res as u64
        } else {
            0
        }
    }

    /// True when the syscall failed (negative return value, errno style).
    pub fn failed(&self) -> bool {
        self.res < 0
    }
}
