//! Building the syscall of an exit event and its stored enter: the fields every
//! syscall has, payload retention, and the kind-specific details. Which events are
//! syscalls, and their effects on the live tables, are in [`crate::decode`].

use std::net::SocketAddr;

use tracer_core::event::{L4Proto, Syscall, SyscallDetail, SyscallKind};

use crate::decode::{FdKind, Live, Spare};
use crate::flags;
use crate::meta::split_nul;
use crate::pairing::Stored;
use crate::params::{Field, RawEvent};
use crate::shape::Fixed;
use crate::sockaddr::{parse_sockaddr, parse_tuple, parse_tuple4, Tuple};
use crate::spare::{owns_nothing, recycle_detail};

/// Appends `b` (a path parameter, NUL-terminated or not) to `out`, lossily decoded.
/// The last valid path decoded is kept in `spare`: a repeated path (the common case)
/// is copied without being validated again.
fn push_path(out: &mut String, b: &[u8], spare: &mut Spare) {
    let b = b.strip_suffix(&[0]).unwrap_or(b);
    if b == spare.last_path.as_bytes() {
        out.push_str(&spare.last_path);
        return;
    }
    match std::str::from_utf8(b) {
        Ok(s) => {
            out.push_str(s);
            spare.remember_path(s);
        }
        Err(_) => out.push_str(&String::from_utf8_lossy(b)),
    }
}

/// The detail of an inet socket tuple `s` → `d` (source → destination as captured;
/// `inbound`: the destination is this side).
#[inline(always)]
fn inet_detail(
    s: Option<SocketAddr>,
    d: Option<SocketAddr>,
    inbound: bool,
    proto: L4Proto,
) -> SyscallDetail {
    let (local, remote) = if inbound { (d, s) } else { (s, d) };
    SyscallDetail::Sock {
        proto,
        local,
        remote,
        unix_path: None,
    }
}

fn sock_detail(t: Option<Tuple>, inbound: bool, proto: L4Proto) -> SyscallDetail {
    match t {
        Some(Tuple::Inet(s, d)) => inet_detail(s, d, inbound, proto),
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
        Some((s, d)) => inet_detail(s, d, inbound, proto),
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
    // (Only plain exits are built from a `Fixed`: their `res` and `size` are not
    // variable-size, see `decode::type_infos`.)
    #[inline(always)]
    fn res(&self) -> Option<i64> {
        self.fixed_int(self.shape().res)
    }
    #[inline(always)]
    fn size(&self) -> Option<i64> {
        self.fixed_int(self.shape().size)
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
/// `plain`: the exit's type is a plain read or write ([`crate::decode::TypeInfo::plain`]).
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
        build_other(sc, enter, exit, pid, tracer_flag, live, spare);
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
    sc.fd = enter.map_or(-1, |e| e.fd());
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

/// The timestamp and return value of an exit, all [`build_bare`] takes from it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ExitHead {
    pub(crate) ts: u64,
    pub(crate) res: Option<i64>,
}

impl<'a> ExitParams<'a> for ExitHead {
    #[inline(always)]
    fn ts(&self) -> u64 {
        self.ts
    }
    #[inline(always)]
    fn res(&self) -> Option<i64> {
        self.res
    }
    #[inline(always)]
    fn size(&self) -> Option<i64> {
        None
    }
    #[inline(always)]
    fn data(&self) -> Option<&'a [u8]> {
        None
    }
}

/// [`build_syscall`] of a syscall without I/O direction or detail (closes, listens,
/// the syscalls tracer-core does not model): what [`build_other`] makes of it.
#[inline(always)]
pub(crate) fn build_bare(
    sc: &mut Syscall,
    kind: SyscallKind,
    enter: Option<Stored<'_>>,
    exit: ExitHead,
    spare: &mut Spare,
) {
    set_common(sc, kind, enter, &exit);
    sc.size = 0;
    sc.null_dev = false;
    set_data(sc, false, &exit, spare);
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

/// [`build_syscall`] of the syscalls that are not plain reads or writes, after
/// [`set_common`] (the kind is `sc.kind`: one argument fewer to pass).
#[inline(never)]
fn build_other(
    sc: &mut Syscall,
    enter: Option<Stored<'_>>,
    exit: &RawEvent<'_>,
    pid: i64,
    tracer_flag: bool,
    live: &Live,
    spare: &mut Spare,
) {
    use SyscallKind::*;
    let kind = sc.kind;
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
        if t.is_none_or(<[u8]>::is_empty) {
            // What `tuple_detail` makes of no tuple (common for sends on connected
            // sockets), written as a constant: only the variant changes.
            put_detail(&mut sc.detail, SyscallDetail::None);
        } else {
            put_detail(&mut sc.detail, tuple_detail(t, !send, proto));
        }
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
pub(crate) fn has_detail(kind: SyscallKind) -> bool {
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

/// Sets the detail of a slot whose detail owns nothing (callers recycle an owning one
/// first, see [`owns_nothing`]): the old detail is overwritten without being read or
/// dropped (neither the drop glue an assignment would call nor its check).
#[inline(always)]
fn put_detail(slot: &mut SyscallDetail, d: SyscallDetail) {
    debug_assert!(owns_nothing(slot));
    std::mem::forget(std::mem::replace(slot, d));
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
                push_path(&mut path, b, spare);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_decode_alike_whether_remembered_or_not() {
        let mut spare = Spare::default();
        let long = vec![b'a'; 5000];
        let cases: [&[u8]; 8] = [
            b"/tmp/out.bin\0",
            b"/tmp/out.bin",
            b"/tmp/out.bin\0",
            b"",
            b"/bad/\xff\xfe\0",
            b"/bad/\xff\xfe",
            &long,
            &long,
        ];
        for b in cases {
            let mut got = String::from("x");
            push_path(&mut got, b, &mut spare);
            let b = b.strip_suffix(&[0]).unwrap_or(b);
            assert_eq!(got, format!("x{}", String::from_utf8_lossy(b)));
        }
        // The empty path was the last valid one: invalid and long paths are not kept.
        assert_eq!(spare.last_path, "");
    }
}
