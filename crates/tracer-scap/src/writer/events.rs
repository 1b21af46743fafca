//! Encoding of single events: the generic parameter encoder driven by the event
//! table, and the enter/exit pair of every syscall kind.

use std::io::Write;
use std::net::SocketAddr;

use tracer_core::event::{Event, Syscall, SyscallDetail, SyscallKind};

use super::ScapWriter;
use crate::block::{DF_TRACER, EVF_V2, EV_V2, MAX_EVENT_PAYLOAD};
use crate::decode::FdKind;
use crate::evtable::EVENT_TABLE;
use crate::flags;
use crate::meta;
use crate::sockaddr::{encode_sockaddr, encode_tuple, encode_unix_tuple};

/// A parameter value handed to the generic event encoder.
enum Val<'a> {
    Int(i64),
    Str(&'a str),
    Bytes(&'a [u8]),
    Tuple(Option<SocketAddr>, Option<SocketAddr>),
    Unix(&'a str),
    Addr(SocketAddr),
    Default,
}

impl<W: Write> ScapWriter<W> {
    /// `procexit` (an enter-only event).
    pub(super) fn write_procexit(&mut self, ts: u64, tid: i64, s: i64) {
        self.emit_event(None, ts, tid, 186, |_, name| match name {
            "status" => Val::Int(s),
            "ret" => Val::Int((s >> 8) & 0xff),
            "sig" => Val::Int(s & 0x7f),
            "core" => Val::Int(((s & 0x80) != 0) as i64),
            _ => Val::Default,
        });
    }

    /// Encodes one event block; `val(index, name)` supplies each parameter of the
    /// event table's list (missing ones get a zero/empty value of the right type).
    fn emit_event<'a>(
        &mut self,
        dump_flags: Option<u32>,
        ts: u64,
        tid: i64,
        etype: u16,
        mut val: impl FnMut(usize, &str) -> Val<'a>,
    ) {
        let info = &EVENT_TABLE[etype as usize];
        self.scratch.clear();
        self.lens.clear();
        for (i, &(name, pt)) in info.params.iter().enumerate() {
            let start = self.scratch.len();
            encode_param(&mut self.scratch, pt, val(i, name));
            self.lens.push((self.scratch.len() - start) as u16);
        }
        let n = self.lens.len();
        let ev_len = 26 + 2 * n + self.scratch.len();
        let b = &mut self.pending;
        b.begin(if dump_flags.is_some() { EVF_V2 } else { EV_V2 });
        b.u16(0); // cpu
        if let Some(f) = dump_flags {
            b.u32(f);
        }
        b.u64(ts);
        b.u64(tid as u64);
        b.u32(ev_len as u32);
        b.u16(etype);
        b.u32(n as u32);
        for l in &self.lens {
            b.u16(*l);
        }
        b.bytes(&self.scratch);
        debug_assert!(b.current_len() - 8 <= MAX_EVENT_PAYLOAD);
        b.finish();
        self.stats.blocks += 1;
    }

    pub(super) fn write_syscall<'a>(&mut self, ev: &Event, sc: &'a Syscall) {
        use SyscallKind::*;
        let (tid, pid) = (ev.tid, ev.pid);
        let enter_ts = sc.enter_ts.min(ev.ts);
        let enter_type: u16 = match sc.kind {
            Read => 6,
            Write => 8,
            Pread => 112,
            Pwrite => 114,
            Readv => 116,
            Writev => 118,
            Preadv => 120,
            Pwritev => 122,
            Send => 28,
            Recv => 32,
            Sendto => 30,
            Recvfrom => 34,
            Sendmsg => 48,
            Recvmsg => 52,
            Sendfile => 188,
            Open => 2,
            Openat => 306,
            Openat2 => 326,
            Creat => 58,
            Close => 4,
            Dup | Dup2 | Dup3 => 124,
            FcntlDup => 150,
            Socket => 18,
            Connect => 22,
            Accept => 246,
            Accept4 => 248,
            Bind => 20,
            Listen => 24,
            Pipe => 60,
            Clone => 222,
            Clone3 => 334,
            Fork => 224,
            Vfork => 226,
            Execve => 292,
            // A named sysdig event read from a capture (see `OTHER_EVENT_BASE`) goes
            // back to its own type; anything else becomes a generic `syscall` event.
            Other(n) if named_other(n).is_some() => named_other(n).unwrap_or(0),
            Exit | ExitGroup | Other(_) => 0,
        };
        let native = match sc.kind {
            Exit => 60,
            ExitGroup => 231,
            Other(n) if n <= u16::MAX as u32 => n as i64,
            // A number that is not a native one (a named event that does not exist in
            // sysdig's table): written as unknown, never as syscall 0 (`read`).
            Other(_) => crate::decode::UNKNOWN_NATIVE as i64,
            _ => 0,
        };
        // Payload decision, on the fd table as it is before this syscall.
        let is_io = sc.kind.io_dir().is_some();
        let marker = is_io && (sc.null_dev || self.live.fd(pid, sc.fd) == Some(FdKind::DevNull));
        let raw = sc.data.as_deref().unwrap_or_default();
        let limit = if marker {
            self.opts.marker_limit
        } else if self.opts.store_payloads {
            self.opts.snaplen
        } else {
            0
        };
        let data = &raw[..raw.len().min(limit)];
        if data.len() < raw.len() && (marker || self.opts.store_payloads) {
            self.stats.truncated_payloads += 1;
        }
        // The tracer flag makes sysdig parse the write even on an fd it does not know;
        // a flagged write that does not parse crashes sysdig 0.29.3 (tracers-spec F14),
        // so only writes that parse as markers are flagged.
        let flag = marker
            && sc.null_dev
            && matches!(sc.kind, Write | Pwrite | Writev | Pwritev)
            && tracer_core::grammar::parse(data).is_ok();
        if flag {
            self.stats.flagged_markers += 1;
        }
        let t = self.threads.get(&tid).cloned().unwrap_or_default();
        let open = match &sc.detail {
            SyscallDetail::Open {
                path,
                dirfd,
                flags,
                mode,
            } => Some((
                path.as_str(),
                dirfd.unwrap_or(-100),
                flags::open_flags_to_ppm(*flags),
                *mode,
            )),
            _ => None,
        };
        let inbound = matches!(sc.kind, Accept | Accept4 | Recvfrom | Recvmsg);
        let sock = match &sc.detail {
            SyscallDetail::Sock {
                local,
                remote,
                unix_path,
                ..
            } => Some((*local, *remote, unix_path.as_deref())),
            _ => None,
        };
        let tuple = |sock: Option<SockParts<'a>>| tuple_val(sock, inbound);
        let sc_fd = match &sc.detail {
            SyscallDetail::Dup { oldfd } => *oldfd,
            _ => sc.fd,
        };
        // Enter event.
        let detail = &sc.detail;
        let sock_e = if matches!(sc.kind, Sendto | Sendmsg) {
            sock
        } else {
            None
        };
        self.emit_event(None, enter_ts, tid, enter_type, |_, name| {
            match (name, detail) {
                ("fd" | "out_fd", _) => Val::Int(sc_fd),
                ("size", _) => Val::Int(sc.size as i64),
                ("in_fd", SyscallDetail::Sendfile { in_fd }) => Val::Int(*in_fd),
                ("name", _) => open.map_or(Val::Default, |o| Val::Str(o.0)),
                ("dirfd", _) => open.map_or(Val::Default, |o| Val::Int(o.1)),
                ("flags", _) => open.map_or(Val::Default, |o| Val::Int(o.2 as i64)),
                ("mode", _) => open.map_or(Val::Default, |o| Val::Int(o.3 as i64)),
                ("domain", SyscallDetail::Socket { domain, .. }) => Val::Int(*domain as i64),
                ("type", SyscallDetail::Socket { sock_type, .. }) => Val::Int(*sock_type as i64),
                ("proto", SyscallDetail::Socket { protocol, .. }) => Val::Int(*protocol as i64),
                (
                    "addr",
                    SyscallDetail::Sock {
                        remote: Some(r), ..
                    },
                ) => Val::Addr(*r),
                ("tuple", _) => tuple(sock_e),
                ("filename", SyscallDetail::Execve { filename, .. }) => Val::Str(filename),
                ("cmd", _) if sc.kind == FcntlDup => Val::Int(1), // PPM_FCNTL_F_DUPFD
                ("nativeID", _) => Val::Int(native),
                _ => Val::Default,
            }
        });
        // Exit event.
        let (exe, args) = match detail {
            SyscallDetail::Execve { filename, argv } => (
                argv.first()
                    .map_or(filename.as_str(), |s| s.as_str())
                    .to_string(),
                argv.iter().skip(1).cloned().collect(),
            ),
            _ => (t.exe.clone(), t.args.clone()),
        };
        let comm = match detail {
            SyscallDetail::Execve { filename, .. } => {
                let base = filename.rsplit('/').next().unwrap_or(filename);
                base[..base.len().min(15)].to_string()
            }
            _ => t.comm.clone(),
        };
        let args_b = meta::join_nul(&args);
        let args_b = &args_b[..args_b.len().min(4096)];
        let sock_x = if matches!(sc.kind, Sendto | Sendmsg) {
            None
        } else {
            sock
        };
        let clone_flags = match detail {
            SyscallDetail::Clone { flags, .. } => flags::clone_flags_to_ppm(*flags) as i64,
            _ => 0,
        };
        let is_clone = matches!(sc.kind, Clone | Clone3 | Fork | Vfork);
        let dump = flag.then_some(DF_TRACER);
        self.emit_event(dump, ev.ts, tid, enter_type + 1, |i, name| {
            match (i, name, detail) {
                (0, ..) => Val::Int(sc.res),
                (_, "data", _) => Val::Bytes(data),
                (_, "size", _) => Val::Int(sc.size as i64),
                (_, "tuple", _) => tuple(sock_x),
                (_, "addr", SyscallDetail::Sock { local: Some(l), .. }) => Val::Addr(*l),
                (_, "name", _) => open.map_or(Val::Default, |o| Val::Str(o.0)),
                (_, "dirfd", _) => open.map_or(Val::Default, |o| Val::Int(o.1)),
                (_, "flags", _) if is_clone => Val::Int(clone_flags),
                (_, "flags", _) => open.map_or(Val::Default, |o| Val::Int(o.2 as i64)),
                (_, "mode", _) => open.map_or(Val::Default, |o| Val::Int(o.3 as i64)),
                (_, "fd1", SyscallDetail::Pipe { read_fd, .. }) => Val::Int(*read_fd),
                (_, "fd2", SyscallDetail::Pipe { write_fd, .. }) => Val::Int(*write_fd),
                (_, "exe", _) => Val::Str(&exe),
                (_, "args", _) => Val::Bytes(args_b),
                (_, "tid" | "vtid", _) => Val::Int(tid),
                (_, "pid" | "vpid" | "pgid", _) => Val::Int(pid),
                (_, "ptid", _) => Val::Int(t.ptid),
                (_, "cwd", _) => Val::Str(&t.cwd),
                (_, "fdlimit", _) => Val::Int(1024),
                (_, "comm", _) => Val::Str(&comm),
                (_, "loginuid", _) => Val::Int(u32::MAX as i64),
                (_, "queuemax", _) => Val::Int(128),
                _ => Val::Default,
            }
        });
        // Bookkeeping after the syscall.
        self.live.apply(sc, pid);
        if let SyscallDetail::Clone { child_pid, .. } = detail {
            if sc.res > 0 {
                let mut child = t.clone();
                child.ptid = tid;
                let _ = child_pid;
                self.threads.insert(sc.res, child);
            }
        }
        if let (SyscallDetail::Execve { filename, argv }, 0) = (detail, sc.res) {
            let e = self.threads.entry(tid).or_default();
            e.exe = argv.first().cloned().unwrap_or_else(|| filename.clone());
            e.args = argv.iter().skip(1).cloned().collect();
            e.comm = comm;
        }
    }
}

/// The sysdig enter event type encoded in `Other(OTHER_EVENT_BASE + type)`, when it
/// is a valid, used enter type with an exit.
fn named_other(n: u32) -> Option<u16> {
    let t = n.checked_sub(crate::OTHER_EVENT_BASE)?;
    let t = u16::try_from(t).ok()?;
    let used = |t: u16| {
        EVENT_TABLE
            .get(t as usize)
            .is_some_and(|e| !e.name.starts_with("NA"))
    };
    (t.is_multiple_of(2) && t > 1 && used(t) && used(t + 1)).then_some(t)
}

type SockParts<'a> = (Option<SocketAddr>, Option<SocketAddr>, Option<&'a str>);

fn tuple_val(sock: Option<SockParts<'_>>, inbound: bool) -> Val<'_> {
    match sock {
        Some((_, _, Some(p))) => Val::Unix(p),
        Some((l, r, None)) if inbound => Val::Tuple(r, l),
        Some((l, r, None)) => Val::Tuple(l, r),
        None => Val::Default,
    }
}

/// Encodes one parameter of sysdig type `pt` (`PT_*` id).
fn encode_param(out: &mut Vec<u8>, pt: u8, v: Val<'_>) {
    let width = match pt {
        1 | 5 | 19 | 23 | 24 | 28 => 1,
        2 | 6 | 18 | 22 | 29 => 2,
        3 | 7 | 25 | 26 | 30 | 31 | 32 | 34 | 42 => 4,
        4 | 8 | 11 | 14 | 15 | 20 | 21 | 33 => 8,
        _ => 0,
    };
    match (v, pt) {
        (Val::Int(i), _) if width > 0 => out.extend_from_slice(&i.to_le_bytes()[..width]),
        (Val::Default, _) if width > 0 => out.extend(std::iter::repeat_n(0u8, width)),
        // Strings: CHARBUF, FSPATH, FSRELPATH carry their NUL.
        (Val::Str(s), 9 | 17 | 43) => {
            out.extend_from_slice(&s.as_bytes()[..s.len().min(4096)]);
            out.push(0);
        }
        (Val::Default, 9 | 17 | 43) => out.push(0),
        (Val::Bytes(b), _) => out.extend_from_slice(b),
        (Val::Tuple(s, d), 13) => encode_tuple(out, s, d),
        (Val::Unix(p), 13) => encode_unix_tuple(out, p),
        (Val::Addr(a), 12) => encode_sockaddr(out, a),
        (Val::Default, 16) => out.extend_from_slice(&[0, 0]), // empty FDLIST
        _ => {}
    }
}
