//! Turning sysdig events into [`tracer_core::event`] events: what each event type
//! means, how an enter/exit pair becomes one [`Syscall`], and the reader's live
//! thread and fd bookkeeping (needed for pids and for the payload-retention rule).

use std::sync::OnceLock;

use tracer_core::event::{L4Proto, Syscall, SyscallDetail, SyscallKind};

use crate::evtable::{EVENT_MAX, EVENT_TABLE};
use crate::flags;
use crate::meta::split_nul;
use crate::pairing::Stored;
use crate::params::{Field, RawEvent};
use crate::shape::{Fixed, Loc, Shape};
use crate::sockaddr::{parse_sockaddr, parse_tuple, parse_tuple4, Tuple};
use crate::spare::{owns_nothing, recycle_detail};
pub(crate) use crate::spare::{recycle, Spare};

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

/// Meanings of all event type ids (index = id; `EVENT_MAX` entries), computed once.
/// Hot loops keep the returned reference.
pub(crate) fn meanings() -> &'static [Meaning; EVENT_MAX as usize] {
    static M: OnceLock<[Meaning; EVENT_MAX as usize]> = OnceLock::new();
    M.get_or_init(|| std::array::from_fn(|i| meaning_of_name(i as u16, EVENT_TABLE[i].name)))
}

/// What the reader needs to know about one event type id, from one table lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TypeInfo {
    /// What the type means.
    pub(crate) meaning: Meaning,
    /// The meaning is a syscall (`Sys`, `OtherSys`, `Fcntl` or `Generic`).
    pub(crate) syscall: bool,
    /// An enter of this type is stored whole for its exit: when the exit's syscall
    /// reads more of its enter than the fd and size ([`reads_enter`]).
    pub(crate) full_enter: bool,
    /// An exit of this type is a plain read or write ([`plain_io`]): no detail to build.
    pub(crate) plain: bool,
    /// An exit of this type may change the live tables or teach ids
    /// ([`changes_tables`] of any kind it can become).
    pub(crate) tables: bool,
    /// The fixed layout (see [`crate::shape`]) of the events the decoder handles
    /// without [`RawEvent`] when they have it: syscall enters not stored whole (whose
    /// `fd`, if any, is a fixed-size `fd` parameter) and plain exits.
    pub(crate) shape: Option<Shape>,
}

/// The [`TypeInfo`] of type ids beyond the table.
pub(crate) const UNKNOWN_TYPE: TypeInfo = TypeInfo {
    meaning: Meaning::Unknown,
    syscall: false,
    full_enter: true,
    plain: false,
    tables: false,
    shape: None,
};

/// The [`TypeInfo`] of all event type ids (index = id), computed once.
pub(crate) fn type_infos() -> &'static [TypeInfo; EVENT_MAX as usize] {
    static T: OnceLock<[TypeInfo; EVENT_MAX as usize]> = OnceLock::new();
    T.get_or_init(|| {
        let m = meanings();
        let plain = |i: usize| matches!(m.get(i), Some(Meaning::Sys(k)) if plain_io(*k));
        let syscall = |i: usize| {
            matches!(
                m[i],
                Meaning::Sys(_) | Meaning::OtherSys | Meaning::Fcntl | Meaning::Generic
            )
        };
        // The exit of enter `i` is `i + 1` (pairs are checked).
        let full_enter = |i: usize| m.get(i + 1).is_none_or(|x| reads_enter(*x));
        let shape = |i: usize| {
            let info = &EVENT_TABLE[i];
            let s = Shape::of(info)?;
            let fits = if i.is_multiple_of(2) {
                // The enter's `fd`, else its `out_fd`, is stored.
                let fd_ok = s.fd.is_fixed()
                    || (s.fd == Loc::ABSENT && info.params.iter().all(|(n, _)| *n != "out_fd"));
                syscall(i) && !full_enter(i) && fd_ok
            } else {
                plain(i)
            };
            fits.then_some(s)
        };
        std::array::from_fn(|i| TypeInfo {
            meaning: m[i],
            syscall: syscall(i),
            full_enter: full_enter(i),
            plain: plain(i),
            tables: match m[i] {
                Meaning::Sys(k) => changes_tables(k),
                // `FcntlDup` or `Other`.
                Meaning::Fcntl => true,
                _ => false,
            },
            shape: shape(i),
        })
    })
}

/// True when the syscall of an exit of meaning `m` is built from more of its enter
/// than the fd, size and timestamp (see [`build_other`], [`build_detail`],
/// [`fcntl_kind`] and [`generic_kind`]); then the enter is stored whole.
fn reads_enter(m: Meaning) -> bool {
    use SyscallKind::*;
    match m {
        Meaning::Sys(k) => matches!(
            k,
            Open | Openat
                | Openat2
                | Creat
                | Socket
                | Connect
                | Sendfile
                | Execve
                | Sendto
                | Sendmsg
        ),
        Meaning::OtherSys => false,
        // Fcntl and Generic read theirs; the others are no syscalls (kept whole as
        // before, to be safe).
        _ => true,
    }
}

/// Appends `b` (a string parameter, NUL-terminated or not) to `out`, lossily decoded.
fn push_lossy(out: &mut String, b: &[u8]) {
    let b = b.strip_suffix(&[0]).unwrap_or(b);
    match std::str::from_utf8(b) {
        Ok(s) => out.push_str(s),
        Err(_) => out.push_str(&String::from_utf8_lossy(b)),
    }
}

pub(crate) use crate::live::{file_kind, FdKind, Live};

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

/// The detail of a syscall whose socket tuple parameter is `b` ([`sock_detail`] of
/// its [`parse_tuple`]), IPv4 tuples (the common case) decoded in place.
#[inline(always)]
fn tuple_detail(b: Option<&[u8]>, inbound: bool, proto: L4Proto) -> SyscallDetail {
    match b.and_then(parse_tuple4) {
        Some((s, d)) => {
            let (local, remote) = if inbound { (d, s) } else { (s, d) };
            SyscallDetail::Sock {
                proto,
                local,
                remote,
                unix_path: None,
            }
        }
        // No tuple, or an empty one (common for sends on connected sockets): none.
        None if b.is_none_or(<[u8]>::is_empty) => SyscallDetail::None,
        None => other_tuple_detail(b, inbound, proto),
    }
}

/// [`tuple_detail`] of tuples other than IPv4 ones (or none).
#[inline(never)]
fn other_tuple_detail(b: Option<&[u8]>, inbound: bool, proto: L4Proto) -> SyscallDetail {
    sock_detail(b.and_then(parse_tuple), inbound, proto)
}

/// What building a syscall takes from its exit event besides its type (the plain
/// reads and writes take nothing else): from a [`RawEvent`], or from an event of a
/// fixed shape ([`Fixed`]).
pub(crate) trait ExitParams<'a> {
    /// The event's timestamp.
    fn ts(&self) -> u64;
    /// The return value (parameter 0).
    fn res(&self) -> Option<i64>;
    /// The `size` parameter.
    fn size(&self) -> Option<i64>;
    /// The `data` parameter.
    fn data(&self) -> Option<&'a [u8]>;
}

impl<'a> ExitParams<'a> for RawEvent<'a> {
    #[inline(always)]
    fn ts(&self) -> u64 {
        self.ts
    }
    #[inline(always)]
    fn res(&self) -> Option<i64> {
        RawEvent::res(self)
    }
    #[inline(always)]
    fn size(&self) -> Option<i64> {
        self.int(Field::Size)
    }
    #[inline(always)]
    fn data(&self) -> Option<&'a [u8]> {
        self.get(Field::Data)
    }
}

impl<'a> ExitParams<'a> for Fixed<'a> {
    #[inline(always)]
    fn ts(&self) -> u64 {
        Fixed::ts(self)
    }
    #[inline(always)]
    fn res(&self) -> Option<i64> {
        self.int(self.shape().res)
    }
    #[inline(always)]
    fn size(&self) -> Option<i64> {
        self.int(self.shape().size)
    }
    #[inline(always)]
    fn data(&self) -> Option<&'a [u8]> {
        self.get(self.shape().data)
    }
}

/// Builds the syscall of an exit event (and its enter, when paired) and decides
/// payload retention (the caller then applies [`Live::apply`]):
/// the exit's data buffer is kept only when the write is flagged as a tracer write
/// (`EVF` flag 2, then `null_dev` is set) or its fd is known as `/dev/null`.
/// `plain`: the exit's type is a plain read or write ([`TypeInfo::plain`]).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn build_syscall(
    sc: &mut Syscall,
    kind: SyscallKind,
    enter: Option<Stored<'_>>,
    exit: &RawEvent<'_>,
    pid: i64,
    tracer_flag: bool,
    plain: bool,
    live: &Live,
    spare: &mut Spare,
) {
    if plain {
        build_plain(sc, kind, enter, exit, pid, tracer_flag, live, spare);
    } else {
        set_common(sc, kind, enter, exit);
        build_other(sc, kind, enter, exit, pid, tracer_flag, live, spare);
    }
}

/// Sets the fields every syscall has from its enter and exit.
#[inline(always)]
fn set_common<'a>(
    sc: &mut Syscall,
    kind: SyscallKind,
    enter: Option<Stored<'_>>,
    exit: &impl ExitParams<'a>,
) {
    let ts = exit.ts();
    let enter_ts = enter.map_or(ts, |e| e.ts().min(ts));
    let res = exit.res().unwrap_or(0);
    // Every field is written: `sc` is reused from the previous event (in place, to
    // avoid moving the large event struct around).
    sc.kind = kind;
    sc.enter_ts = enter_ts;
    sc.res = res;
    sc.fd = enter.and_then(|e| e.fd()).unwrap_or(-1);
}

/// [`build_syscall`] of a read or write without addresses (the common case): no
/// detail.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn build_plain<'a>(
    sc: &mut Syscall,
    kind: SyscallKind,
    enter: Option<Stored<'_>>,
    exit: &impl ExitParams<'a>,
    pid: i64,
    tracer_flag: bool,
    live: &Live,
    spare: &mut Spare,
) {
    set_common(sc, kind, enter, exit);
    sc.size = io_size(enter, exit);
    sc.null_dev = tracer_flag;
    let keep_data = tracer_flag || (sc.fd >= 0 && live.fd(pid, sc.fd) == Some(FdKind::DevNull));
    set_data(sc, keep_data, exit, spare);
    if !matches!(sc.detail, SyscallDetail::None) {
        recycle_detail(sc, spare);
    }
}

/// The `size` of an I/O syscall: the enter's, else the exit's.
#[inline(always)]
fn io_size<'a>(enter: Option<Stored<'_>>, exit: &impl ExitParams<'a>) -> u64 {
    let size = match enter.and_then(|e| e.size()) {
        Some(s) => s,
        None => exit.size().unwrap_or(0),
    };
    size.max(0) as u64
}

/// Refills the previous event's payload buffer in place with the exit's data
/// (`keep`), or keeps the buffer for later.
#[inline(always)]
fn set_data<'a>(sc: &mut Syscall, keep: bool, exit: &impl ExitParams<'a>, spare: &mut Spare) {
    if keep {
        let d = match &mut sc.data {
            Some(d) => d,
            none => none.insert(spare.take_data()),
        };
        d.clear();
        d.extend_from_slice(exit.data().unwrap_or_default());
    } else if let Some(d) = sc.data.take() {
        spare.keep_data(d);
    }
}

/// [`build_syscall`] of the syscalls that are not plain reads or writes.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn build_other(
    sc: &mut Syscall,
    kind: SyscallKind,
    enter: Option<Stored<'_>>,
    exit: &RawEvent<'_>,
    pid: i64,
    tracer_flag: bool,
    live: &Live,
    spare: &mut Spare,
) {
    use SyscallKind::*;
    sc.size = 0;
    sc.null_dev = false;
    // Reads and writes with addresses: their tuple's protocol is the fd's (looked up
    // once for it and the payload rule).
    let sock_io = matches!(kind, Sendto | Sendmsg | Recvfrom | Recvmsg);
    let mut fd_kind = None;
    let mut keep_data = false;
    if kind.io_dir().is_some() {
        sc.size = io_size(enter, exit);
        if sock_io || (!tracer_flag && sc.fd >= 0) {
            fd_kind = live.fd(pid, sc.fd);
        }
        keep_data = tracer_flag || (sc.fd >= 0 && fd_kind == Some(FdKind::DevNull));
        sc.null_dev = tracer_flag;
    }
    set_data(sc, keep_data, exit, spare);
    if sock_io {
        // The previous detail is overwritten in place unless it holds buffers.
        if !owns_nothing(&sc.detail) {
            recycle_detail(sc, spare);
        }
        let proto = match fd_kind {
            Some(FdKind::Sock(p)) => p,
            _ => L4Proto::Other,
        };
        // A send's tuple is its enter's, a receive's its exit's.
        let send = matches!(kind, Sendto | Sendmsg);
        let t = if send {
            enter.and_then(|e| e.get(Field::Tuple))
        } else {
            exit.get(Field::Tuple)
        };
        put_detail(&mut sc.detail, tuple_detail(t, !send, proto));
    } else {
        if !matches!(sc.detail, SyscallDetail::None) {
            recycle_detail(sc, spare);
        }
        // (Closes, listens and the syscalls tracer-core does not model have none.)
        if has_detail(kind) {
            build_detail(sc, kind, enter, exit, pid, live, spare);
        }
    }
}

/// The kinds [`build_detail`] gives a detail (it leaves the others' `None`).
#[inline(always)]
fn has_detail(kind: SyscallKind) -> bool {
    use SyscallKind::*;
    matches!(
        kind,
        Open | Openat
            | Openat2
            | Creat
            | Socket
            | Connect
            | Accept
            | Accept4
            | Bind
            | Pipe
            | Sendfile
            | Dup
            | Dup2
            | Dup3
            | FcntlDup
            | Clone
            | Clone3
            | Fork
            | Vfork
            | Execve
    )
}

/// Sets a detail that owns nothing (as its recycling caller leaves it, see
/// [`owns_nothing`]) without the call of the drop glue an assignment would make.
#[inline(always)]
fn put_detail(slot: &mut SyscallDetail, d: SyscallDetail) {
    let old = std::mem::replace(slot, d);
    if owns_nothing(&old) {
        std::mem::forget(old);
    } else {
        drop(old);
    }
}

/// The kind-specific part of [`build_syscall`] (`sc.detail`, `None` on entry).
#[inline(never)]
fn build_detail(
    sc: &mut Syscall,
    kind: SyscallKind,
    enter: Option<Stored<'_>>,
    exit: &RawEvent<'_>,
    pid: i64,
    live: &Live,
    spare: &mut Spare,
) {
    use SyscallKind::*;
    let res = sc.res;
    let en = |f: Field| enter.and_then(|e| e.get(f));
    let en_int = |f: Field| enter.and_then(|e| e.int(f));
    let en_str = |f: Field| enter.and_then(|e| e.string(f));
    let proto_of = |live: &Live, fd: i64| match live.fd(pid, fd) {
        Some(FdKind::Sock(p)) => p,
        _ => L4Proto::Other,
    };
    match kind {
        Open | Openat | Openat2 | Creat => {
            let mut path = spare.take_path();
            path.clear();
            if let Some(b) = exit.get(Field::Name).or_else(|| en(Field::Name)) {
                push_lossy(&mut path, b);
            }
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
            put_detail(
                &mut sc.detail,
                SyscallDetail::Open {
                    path,
                    dirfd,
                    flags,
                    mode,
                },
            );
        }
        Socket => {
            if let (Some(d), Some(t)) = (en_int(Field::Domain), en_int(Field::SockType)) {
                let p = en_int(Field::Proto).unwrap_or(0);
                put_detail(
                    &mut sc.detail,
                    SyscallDetail::Socket {
                        domain: d as u32,
                        sock_type: (t & 0xf) as u32,
                        protocol: p as u32,
                    },
                );
            }
        }
        Connect => {
            let proto = proto_of(live, sc.fd);
            let t = exit.get(Field::Tuple).and_then(parse_tuple);
            put_detail(
                &mut sc.detail,
                match t {
                    Some(t) => sock_detail(Some(t), false, proto),
                    None => match en(Field::Addr).and_then(parse_sockaddr) {
                        Some(Tuple::Inet(a, _)) => {
                            sock_detail(Some(Tuple::Inet(None, a)), false, proto)
                        }
                        other => sock_detail(other, false, proto),
                    },
                },
            );
        }
        Accept | Accept4 => {
            let t = exit.get(Field::Tuple);
            put_detail(&mut sc.detail, tuple_detail(t, true, L4Proto::Tcp));
        }
        Bind => {
            let proto = proto_of(live, sc.fd);
            put_detail(
                &mut sc.detail,
                match exit.get(Field::Addr).and_then(parse_sockaddr) {
                    Some(Tuple::Inet(a, _)) => SyscallDetail::Sock {
                        proto,
                        local: a,
                        remote: None,
                        unix_path: None,
                    },
                    other => sock_detail(other, false, proto),
                },
            );
        }
        Pipe => {
            let (r, w) = (
                exit.int(Field::Fd1).unwrap_or(-1),
                exit.int(Field::Fd2).unwrap_or(-1),
            );
            put_detail(
                &mut sc.detail,
                SyscallDetail::Pipe {
                    read_fd: r,
                    write_fd: w,
                },
            );
        }
        Sendfile => {
            put_detail(
                &mut sc.detail,
                SyscallDetail::Sendfile {
                    in_fd: en_int(Field::InFd).unwrap_or(-1),
                },
            );
        }
        Dup | Dup2 | Dup3 | FcntlDup => {
            put_detail(&mut sc.detail, SyscallDetail::Dup { oldfd: sc.fd });
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
            put_detail(
                &mut sc.detail,
                SyscallDetail::Clone {
                    flags: f,
                    child_pid,
                },
            );
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
            put_detail(&mut sc.detail, SyscallDetail::Execve { filename, argv });
        }
        _ => {}
    }
}

/// Reads and writes without addresses: no detail, no effect on the live tables, nothing
/// learnt about ids (the fast path of the common case).
#[inline]
pub(crate) fn plain_io(kind: SyscallKind) -> bool {
    use SyscallKind::*;
    matches!(
        kind,
        Read | Write | Pread | Pwrite | Readv | Writev | Preadv | Pwritev | Send | Recv
    )
}

/// Syscalls that may change the live tables ([`Live::apply`]) or teach the ids of their
/// thread ([`learn_ids`]); the others leave both as they are.
#[inline]
pub(crate) fn changes_tables(kind: SyscallKind) -> bool {
    use SyscallKind::*;
    matches!(
        kind,
        Open | Openat
            | Openat2
            | Creat
            | Socket
            | Accept
            | Accept4
            | Pipe
            | Dup
            | Dup2
            | Dup3
            | FcntlDup
            | Close
            | Clone
            | Clone3
            | Fork
            | Vfork
            | Execve
    )
}

/// The kinds whose exits may teach ids ([`learn_ids`]): clones and execve.
#[inline(always)]
pub(crate) fn learns_ids(kind: SyscallKind) -> bool {
    use SyscallKind::*;
    matches!(kind, Clone | Clone3 | Fork | Vfork | Execve)
}

/// Ids an exit event teaches about its own thread: the child side of a clone and a
/// successful execve carry the thread's pid.
/// Returns true when it learnt something.
#[inline]
pub(crate) fn learn_ids(kind: SyscallKind, exit: &RawEvent<'_>, tid: i64, live: &mut Live) -> bool {
    if learns_ids(kind) && exit.res() == Some(0) {
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
pub(crate) fn fcntl_kind(enter: Option<Stored<'_>>, enter_type: u16) -> SyscallKind {
    match enter.and_then(|e| e.int(Field::Cmd)) {
        Some(1) => SyscallKind::FcntlDup,
        _ => SyscallKind::Other(OTHER_EVENT_BASE + enter_type as u32),
    }
}

/// The native syscall number of a generic `syscall` event whose number is unknown (its
/// enter is missing): no syscall has it, so it never gets a syscall's name.
pub const UNKNOWN_NATIVE: u32 = 0xFFFF;

/// Kind of a generic `syscall` pair: the native syscall number from the enter event
/// ([`UNKNOWN_NATIVE`] without it).
pub(crate) fn generic_kind(enter: Option<Stored<'_>>) -> SyscallKind {
    SyscallKind::Other(
        enter
            .and_then(|e| e.int(Field::NativeId))
            .map_or(UNKNOWN_NATIVE, |n| n as u32),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generic_exit_without_enter_is_unknown_not_read() {
        assert_eq!(generic_kind(None), SyscallKind::Other(UNKNOWN_NATIVE));
        assert_eq!(meanings()[0], Meaning::Generic);
        assert_eq!(meanings()[1], Meaning::Generic);
    }
}
