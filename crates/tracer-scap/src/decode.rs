//! Turning sysdig events into [`tracer_core::event`] events: what each event type
//! means, how an enter/exit pair becomes one [`Syscall`], and the reader's live
//! thread and fd bookkeeping (needed for pids and for the payload-retention rule).

use std::cell::Cell;
use std::sync::OnceLock;

use rustc_hash::FxHashMap;
use tracer_core::event::{L4Proto, Syscall, SyscallDetail, SyscallKind};

use crate::evtable::{EVENT_MAX, EVENT_TABLE};
use crate::flags;
use crate::meta::split_nul;
use crate::params::{parse_sockaddr, parse_tuple, Field, RawEvent, Tuple};

/// Named sysdig event types that tracer-core does not model are reported as
/// `SyscallKind::Other(OTHER_EVENT_BASE + enter event type id)`; generic `syscall`
/// events (types 0/1) as `Other(native syscall number)`.
pub const OTHER_EVENT_BASE: u32 = 0x1_0000;

/// What an event type means to the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Meaning {
    /// A syscall tracer-core models.
    Sys(SyscallKind),
    /// `fcntl`: a dup when `cmd` is `F_DUPFD`, otherwise `Other`.
    Fcntl,
    /// Generic `syscall` event (kind from the native syscall number).
    Generic,
    /// `procexit`.
    ProcExit,
    /// A syscall tracer-core does not model.
    OtherSys,
    /// Not a syscall (scheduler switch, signal delivery, container events…): skipped.
    NotSyscall,
    /// Unused slot or beyond the table: skipped and counted as unknown.
    Unknown,
}

fn meaning_of_name(id: u16, name: &str) -> Meaning {
    use SyscallKind::*;
    let k = match name {
        "read" => Read,
        "write" => Write,
        "pread" => Pread,
        "pwrite" => Pwrite,
        "readv" => Readv,
        "writev" => Writev,
        "preadv" => Preadv,
        "pwritev" => Pwritev,
        "send" => Send,
        "recv" => Recv,
        "sendto" => Sendto,
        "recvfrom" => Recvfrom,
        "sendmsg" => Sendmsg,
        "recvmsg" => Recvmsg,
        "sendfile" => Sendfile,
        "open" => Open,
        "openat" => Openat,
        "openat2" => Openat2,
        "creat" => Creat,
        "close" => Close,
        "dup" => Dup,
        "socket" => Socket,
        "connect" => Connect,
        // accept4 has its own ids but sysdig names it "accept".
        "accept" if matches!(id, 56 | 57 | 248 | 249) => Accept4,
        "accept" => Accept,
        "bind" => Bind,
        "listen" => Listen,
        "pipe" => Pipe,
        "clone" => Clone,
        "clone3" => Clone3,
        "fork" => Fork,
        "vfork" => Vfork,
        "execve" | "execveat" => Execve,
        "fcntl" => return Meaning::Fcntl,
        "syscall" => return Meaning::Generic,
        "procexit" => return Meaning::ProcExit,
        "container" | "cpu_hotplug" | "drop" | "infra" | "k8s" | "mesos" | "notification"
        | "page_fault" | "pluginevent" | "procinfo" | "signaldeliver" | "switch"
        | "sysdigevent" | "tracer" => return Meaning::NotSyscall,
        n if n.starts_with("NA") => return Meaning::Unknown,
        _ => return Meaning::OtherSys,
    };
    Meaning::Sys(k)
}

/// Meaning of an event type id (enter or exit).
pub(crate) fn meaning(etype: u16) -> Meaning {
    static M: OnceLock<Vec<Meaning>> = OnceLock::new();
    let m = M.get_or_init(|| {
        EVENT_TABLE
            .iter()
            .enumerate()
            .map(|(i, e)| meaning_of_name(i as u16, e.name))
            .collect()
    });
    if etype >= EVENT_MAX {
        Meaning::Unknown
    } else {
        m[etype as usize]
    }
}

/// What the reader knows about an open fd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FdKind {
    /// A file named exactly `/dev/null` (a marker candidate, as in sysdig).
    DevNull,
    /// Any other file-like fd.
    File,
    /// A socket of this protocol.
    Sock(L4Proto),
    /// Anything else.
    Other,
}

/// Live thread and fd tables, updated from the metadata blocks and the events.
/// Memory is proportional to the number of live threads and open fds, never to the
/// file size.
#[derive(Debug)]
pub(crate) struct Live {
    /// tid → pid.
    pids: FxHashMap<i64, i64>,
    /// pid → (fd → kind).
    fds: FxHashMap<i64, FxHashMap<i64, FdKind>>,
    /// Last (tid, pid) answered by `pid_of` (consecutive events share threads).
    last: Cell<(i64, i64)>,
}

impl Default for Live {
    fn default() -> Self {
        Live {
            pids: FxHashMap::default(),
            fds: FxHashMap::default(),
            last: Cell::new((i64::MIN, 0)),
        }
    }
}

impl Live {
    pub(crate) fn clear(&mut self) {
        self.pids.clear();
        self.fds.clear();
        self.last.set((i64::MIN, 0));
    }
    pub(crate) fn pid_of(&self, tid: i64) -> i64 {
        let (t, p) = self.last.get();
        if t == tid {
            return p;
        }
        let p = self.pids.get(&tid).copied().unwrap_or(tid);
        self.last.set((tid, p));
        p
    }
    pub(crate) fn set_thread(&mut self, tid: i64, pid: i64) {
        self.pids.insert(tid, pid);
        self.last.set((i64::MIN, 0));
    }
    pub(crate) fn set_fd(&mut self, pid: i64, fd: i64, k: FdKind) {
        self.fds.entry(pid).or_default().insert(fd, k);
    }
    pub(crate) fn fd(&self, pid: i64, fd: i64) -> Option<FdKind> {
        self.fds.get(&pid).and_then(|t| t.get(&fd)).copied()
    }
    /// Applies a syscall's effects on the fd and thread tables (shared by the reader
    /// and the writer, so both make the same payload decisions).
    pub(crate) fn apply(&mut self, sc: &Syscall, pid: i64) {
        use SyscallKind::*;
        let res = sc.res;
        match (&sc.kind, &sc.detail) {
            (Open | Openat | Openat2 | Creat, SyscallDetail::Open { path, .. }) if res >= 0 => {
                self.set_fd(pid, res, file_kind(path));
            }
            (Socket, d) if res >= 0 => {
                let k = match d {
                    SyscallDetail::Socket {
                        domain, sock_type, ..
                    } => sock_kind(*sock_type as i64, *domain as i64),
                    _ => FdKind::Other,
                };
                self.set_fd(pid, res, k);
            }
            (Accept | Accept4, d) if res >= 0 => {
                let k = match d {
                    SyscallDetail::Sock {
                        unix_path: Some(_), ..
                    } => FdKind::Other,
                    _ => FdKind::Sock(L4Proto::Tcp),
                };
                self.set_fd(pid, res, k);
            }
            (Pipe, SyscallDetail::Pipe { read_fd, write_fd }) if res >= 0 => {
                self.set_fd(pid, *read_fd, FdKind::Other);
                self.set_fd(pid, *write_fd, FdKind::Other);
            }
            (Dup | Dup2 | Dup3 | FcntlDup, _) if res >= 0 => {
                let k = self.fd(pid, sc.fd).unwrap_or(FdKind::Other);
                self.set_fd(pid, res, k);
            }
            (Close, _) if res >= 0 && sc.fd >= 0 => self.close_fd(pid, sc.fd),
            (Clone | Clone3 | Fork | Vfork, SyscallDetail::Clone { child_pid, .. }) if res > 0 => {
                self.set_thread(res, *child_pid);
                if *child_pid != pid {
                    self.fork_fds(pid, *child_pid);
                }
            }
            _ => {}
        }
    }

    fn close_fd(&mut self, pid: i64, fd: i64) {
        if let Some(t) = self.fds.get_mut(&pid) {
            t.remove(&fd);
        }
    }
    /// A new process inherits a copy of its parent's fd table.
    fn fork_fds(&mut self, parent: i64, child: i64) {
        if let Some(t) = self.fds.get(&parent).cloned() {
            self.fds.insert(child, t);
        }
    }
    fn exit_thread(&mut self, tid: i64) {
        let pid = self.pid_of(tid);
        self.pids.remove(&tid);
        self.last.set((i64::MIN, 0));
        if pid == tid {
            self.fds.remove(&pid);
        }
    }
}

/// The file kind of a path.
pub(crate) fn file_kind(path: &str) -> FdKind {
    if path == "/dev/null" {
        FdKind::DevNull
    } else {
        FdKind::File
    }
}

fn sock_kind(sock_type: i64, domain: i64) -> FdKind {
    match (domain as u8, sock_type & 0xf) {
        (crate::params::AF_INET | crate::params::AF_INET6, 1) => FdKind::Sock(L4Proto::Tcp),
        (crate::params::AF_INET | crate::params::AF_INET6, 2) => FdKind::Sock(L4Proto::Udp),
        (crate::params::AF_INET | crate::params::AF_INET6, _) => FdKind::Sock(L4Proto::Other),
        _ => FdKind::Other,
    }
}

fn sock_detail(t: Option<Tuple>, inbound: bool, proto: L4Proto) -> SyscallDetail {
    match t {
        Some(Tuple::Inet(s, d)) => {
            let (local, remote) = if inbound { (d, s) } else { (s, d) };
            SyscallDetail::Sock {
                proto,
                local,
                remote,
                unix_path: None,
            }
        }
        Some(Tuple::Unix(p)) => SyscallDetail::Sock {
            proto: L4Proto::Other,
            local: None,
            remote: None,
            unix_path: Some(p),
        },
        None => SyscallDetail::None,
    }
}

/// Builds the syscall of an exit event (and its enter, when paired) and decides
/// payload retention (the caller then applies [`Live::apply`]):
/// the exit's data buffer is kept only when the write is flagged as a tracer write
/// (`EVF` flag 2, then `null_dev` is set) or its fd is known as `/dev/null`.
pub(crate) fn build_syscall(
    sc: &mut Syscall,
    kind: SyscallKind,
    enter: Option<&RawEvent<'_>>,
    exit: &RawEvent<'_>,
    pid: i64,
    tracer_flag: bool,
    live: &Live,
) {
    use SyscallKind::*;
    let en = |f: Field| enter.and_then(|e| e.get(f));
    let en_int = |f: Field| enter.and_then(|e| e.int(f));
    let en_str = |f: Field| enter.and_then(|e| e.string(f));
    let enter_ts = enter.map_or(exit.ts, |e| e.ts.min(exit.ts));
    let res = exit.res().unwrap_or(0);
    // Every field is written: `sc` is reused from the previous event (in place, to
    // avoid moving the large event struct around).
    sc.kind = kind;
    sc.enter_ts = enter_ts;
    sc.res = res;
    sc.size = 0;
    sc.detail = SyscallDetail::None;
    sc.data = None;
    sc.null_dev = false;
    sc.fd = en_int(Field::Fd)
        .or_else(|| en_int(Field::OutFd))
        .unwrap_or(-1);
    if kind.io_dir().is_some() {
        sc.size = en_int(Field::Size)
            .or_else(|| exit.int(Field::Size))
            .unwrap_or(0)
            .max(0) as u64;
        let marker_fd = sc.fd >= 0 && live.fd(pid, sc.fd) == Some(FdKind::DevNull);
        if tracer_flag || marker_fd {
            sc.data = Some(exit.get(Field::Data).unwrap_or_default().to_vec());
        }
        sc.null_dev = tracer_flag;
    }
    let proto_of = |live: &Live, fd: i64| match live.fd(pid, fd) {
        Some(FdKind::Sock(p)) => p,
        _ => L4Proto::Other,
    };
    match kind {
        Open | Openat | Openat2 | Creat => {
            let path = exit
                .string(Field::Name)
                .or_else(|| en_str(Field::Name))
                .unwrap_or_default();
            let dirfd = if matches!(kind, Openat | Openat2) {
                Some(
                    exit.int(Field::Dirfd)
                        .or_else(|| en_int(Field::Dirfd))
                        .unwrap_or(-100),
                )
            } else {
                None
            };
            let flags = match exit.int(Field::Flags).or_else(|| en_int(Field::Flags)) {
                Some(f) => flags::open_flags_from_ppm(f as u32),
                None if kind == Creat => 0o1101, // O_CREAT|O_WRONLY|O_TRUNC
                None => 0,
            };
            let mode = exit
                .int(Field::Mode)
                .or_else(|| en_int(Field::Mode))
                .unwrap_or(0) as u32;
            sc.detail = SyscallDetail::Open {
                path,
                dirfd,
                flags,
                mode,
            };
        }
        Socket => {
            if let (Some(d), Some(t)) = (en_int(Field::Domain), en_int(Field::SockType)) {
                let p = en_int(Field::Proto).unwrap_or(0);
                sc.detail = SyscallDetail::Socket {
                    domain: d as u32,
                    sock_type: (t & 0xf) as u32,
                    protocol: p as u32,
                };
            }
        }
        Connect => {
            let proto = proto_of(live, sc.fd);
            let t = exit.get(Field::Tuple).and_then(parse_tuple);
            sc.detail = match t {
                Some(t) => sock_detail(Some(t), false, proto),
                None => match en(Field::Addr).and_then(parse_sockaddr) {
                    Some(Tuple::Inet(a, _)) => {
                        sock_detail(Some(Tuple::Inet(None, a)), false, proto)
                    }
                    other => sock_detail(other, false, proto),
                },
            };
        }
        Accept | Accept4 => {
            let t = exit.get(Field::Tuple).and_then(parse_tuple);
            sc.detail = sock_detail(t, true, L4Proto::Tcp);
        }
        Bind => {
            let proto = proto_of(live, sc.fd);
            sc.detail = match exit.get(Field::Addr).and_then(parse_sockaddr) {
                Some(Tuple::Inet(a, _)) => SyscallDetail::Sock {
                    proto,
                    local: a,
                    remote: None,
                    unix_path: None,
                },
                other => sock_detail(other, false, proto),
            };
        }
        Sendto | Sendmsg => {
            let proto = proto_of(live, sc.fd);
            sc.detail = sock_detail(en(Field::Tuple).and_then(parse_tuple), false, proto);
        }
        Recvfrom | Recvmsg => {
            let proto = proto_of(live, sc.fd);
            sc.detail = sock_detail(exit.get(Field::Tuple).and_then(parse_tuple), true, proto);
        }
        Pipe => {
            let (r, w) = (
                exit.int(Field::Fd1).unwrap_or(-1),
                exit.int(Field::Fd2).unwrap_or(-1),
            );
            sc.detail = SyscallDetail::Pipe {
                read_fd: r,
                write_fd: w,
            };
        }
        Sendfile => {
            sc.detail = SyscallDetail::Sendfile {
                in_fd: en_int(Field::InFd).unwrap_or(-1),
            };
        }
        Dup | Dup2 | Dup3 | FcntlDup => {
            sc.detail = SyscallDetail::Dup { oldfd: sc.fd };
        }
        Clone | Clone3 | Fork | Vfork => {
            let f = flags::clone_flags_from_ppm(exit.int(Field::Flags).unwrap_or(0) as u32);
            let own_pid = if res == 0 {
                exit.int(Field::Pid).unwrap_or(pid)
            } else {
                pid
            };
            let child_pid = if res > 0 && f & flags::CLONE_THREAD == 0 {
                res
            } else {
                own_pid
            };
            sc.detail = SyscallDetail::Clone {
                flags: f,
                child_pid,
            };
        }
        Execve => {
            let exe = exit.string(Field::Exe).unwrap_or_default();
            let filename = en_str(Field::Filename)
                .or_else(|| en_str(Field::Pathname))
                .unwrap_or_else(|| exe.clone());
            let mut argv = split_nul(exit.get(Field::Args).unwrap_or_default());
            if !(exe.is_empty() && argv.is_empty()) {
                argv.insert(0, exe);
            }
            sc.detail = SyscallDetail::Execve { filename, argv };
        }
        _ => {}
    }
}

/// Ids an exit event teaches about its own thread: the child side of a clone and a
/// successful execve carry the thread's pid.
/// Returns true when it learnt something.
pub(crate) fn learn_ids(kind: SyscallKind, exit: &RawEvent<'_>, tid: i64, live: &mut Live) -> bool {
    use SyscallKind::*;
    if matches!(kind, Clone | Clone3 | Fork | Vfork | Execve) && exit.res() == Some(0) {
        if let Some(p) = exit.int(Field::Pid) {
            live.set_thread(tid, p);
            return true;
        }
    }
    false
}

/// A procexit: the thread leaves the tables.
pub(crate) fn thread_exit(ev: &RawEvent<'_>, tid: i64, live: &mut Live) -> i64 {
    live.exit_thread(tid);
    ev.int(Field::Status).unwrap_or(0)
}

/// Kind of an `fcntl` pair (`F_DUPFD` = 1 in sysdig's `PPM_FCNTL_*` numbering).
pub(crate) fn fcntl_kind(enter: Option<&RawEvent<'_>>, enter_type: u16) -> SyscallKind {
    match enter.and_then(|e| e.int(Field::Cmd)) {
        Some(1) => SyscallKind::FcntlDup,
        _ => SyscallKind::Other(OTHER_EVENT_BASE + enter_type as u32),
    }
}

/// Kind of a generic `syscall` pair: the native syscall number from the enter event.
pub(crate) fn generic_kind(enter: Option<&RawEvent<'_>>) -> SyscallKind {
    SyscallKind::Other(enter.and_then(|e| e.int(Field::NativeId)).unwrap_or(0) as u32)
}
