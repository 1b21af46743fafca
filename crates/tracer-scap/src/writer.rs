//! The `.scap` writer: captures that sysdig 0.29.3 reads.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant};

use rustc_hash::FxHashMap;
use tracer_core::event::{
    Event, EventKind, FdTarget, Syscall, SyscallDetail, SyscallKind, ThreadInfo,
};

use crate::block::{
    BlockBuf, DF_TRACER, EVF_V2, EV_V2, FDL_V2, MAX_EVENT_PAYLOAD, PL_V9, SHB, SHB_MAGIC,
};
use crate::decode::{file_kind, FdKind, Live};
use crate::evtable::EVENT_TABLE;
use crate::flags;
use crate::meta::{self, Interface, MachineInfo, ProcessEntry, UserEntry};
use crate::params::{encode_sockaddr, encode_tuple, encode_unix_tuple};

/// Options of [`ScapWriter`].
#[derive(Debug, Clone)]
pub struct WriterOptions {
    /// Bytes of an ordinary I/O payload stored when `store_payloads` is on (sysdig's
    /// default snaplen is 80). The true byte count always stays in the result.
    pub snaplen: usize,
    /// Bytes of a marker write stored (the probe captures at most 4096).
    pub marker_limit: usize,
    /// Store ordinary I/O payloads (truncated to `snaplen`). Off by default: only
    /// marker payloads are stored, other I/O keeps just its sizes (privacy).
    pub store_payloads: bool,
    /// Machine info: host name.
    pub hostname: String,
    /// Machine info: number of CPUs.
    pub num_cpus: u32,
    /// Interface addresses to list in addition to the local sides of the snapshot's
    /// sockets and 127.0.0.1 (sysdig uses them to tell local from remote).
    pub interfaces: Vec<Interface>,
    /// Write buffered blocks to the file once this many bytes are pending.
    pub flush_bytes: usize,
    /// … or once this much time passed since the last write.
    pub flush_interval: Duration,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            snaplen: 80,
            marker_limit: 4096,
            store_payloads: false,
            hostname: std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_string())
                .unwrap_or_default(),
            num_cpus: std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
            interfaces: Vec::new(),
            flush_bytes: 64 << 10,
            flush_interval: Duration::from_secs(1),
        }
    }
}

/// Counters of a write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteStats {
    /// Events accepted.
    pub events: u64,
    /// Blocks written (metadata and events).
    pub blocks: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Events with no representation in a capture (`Lost`, thread/fd snapshots after
    /// the first syscall), not written.
    pub dropped: u64,
    /// Marker writes stored as `EVF` blocks with the tracer flag.
    pub flagged_markers: u64,
    /// Payloads cut to `snaplen` / `marker_limit`.
    pub truncated_payloads: u64,
}

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

/// What the writer remembers about a thread (for clone/execve parameters).
#[derive(Debug, Clone, Default)]
struct ThreadMeta {
    ptid: i64,
    comm: String,
    exe: String,
    args: Vec<String>,
    cwd: String,
}

/// Writes tracer-core events as a `.scap` capture for sysdig 0.29.3.
///
/// Layout: section header (28 bytes), machine info, interface list, user list,
/// process list v9 (from the leading [`EventKind::ThreadInfo`] events), one fd list v2
/// per thread that has fds (from the leading [`EventKind::FdSnapshot`] events), then
/// the events in the order given (callers pass them in time order): each syscall as an
/// adjacent enter (`enter_ts`) / exit (`ts`) pair on its thread, `ThreadExit` as
/// `procexit`. Marker writes (`null_dev`, or an fd known as `/dev/null`) keep their
/// payload (up to `marker_limit`); a `null_dev` marker is stored as `EVF` with the
/// tracer flag. Open flags and clone flags are converted to sysdig's numbering.
///
/// Only whole blocks reach the file, flushed every `flush_bytes` or `flush_interval`,
/// so a capture cut short by a crash stays readable up to its last flushed block.
pub struct ScapWriter<W: Write = File> {
    /// `None` only after [`ScapWriter::finish`].
    out: Option<W>,
    opts: WriterOptions,
    pending: BlockBuf,
    scratch: Vec<u8>,
    lens: Vec<u16>,
    started: bool,
    snap_threads: Vec<ThreadInfo>,
    snap_fds: Vec<(i64, i64, i64, FdTarget)>,
    threads: FxHashMap<i64, ThreadMeta>,
    live: Live,
    stats: WriteStats,
    last_flush: Instant,
    since_check: u32,
}

impl<W: Write> std::fmt::Debug for ScapWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScapWriter")
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl ScapWriter<File> {
    /// Creates (or truncates) `path` with mode 0600 and writes the section header.
    pub fn create(path: impl AsRef<Path>, opts: WriterOptions) -> std::io::Result<Self> {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)?;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        Ok(Self::new(f, opts))
    }
}

impl<W: Write> ScapWriter<W> {
    /// A writer into any byte sink; the section header is buffered immediately.
    pub fn new(out: W, mut opts: WriterOptions) -> Self {
        opts.snaplen = opts.snaplen.min(65000);
        opts.marker_limit = opts.marker_limit.min(65000);
        let mut w = ScapWriter {
            out: Some(out),
            opts,
            pending: BlockBuf::default(),
            scratch: Vec::new(),
            lens: Vec::new(),
            started: false,
            snap_threads: Vec::new(),
            snap_fds: Vec::new(),
            threads: FxHashMap::default(),
            live: Live::default(),
            stats: WriteStats::default(),
            last_flush: Instant::now(),
            since_check: 0,
        };
        let b = &mut w.pending;
        b.begin(SHB);
        b.u32(SHB_MAGIC);
        b.u16(1);
        b.u16(2);
        b.u64(u64::MAX);
        b.finish();
        w.stats.blocks += 1;
        w
    }

    /// Counters so far.
    pub fn stats(&self) -> &WriteStats {
        &self.stats
    }

    /// Adds one event.
    pub fn write_event(&mut self, ev: &Event) -> std::io::Result<()> {
        self.stats.events += 1;
        match &ev.kind {
            EventKind::ThreadInfo(t) => {
                self.threads.insert(t.tid, thread_meta(t));
                if self.started {
                    self.stats.dropped += 1;
                } else {
                    self.live.set_thread(t.tid, t.pid);
                    self.snap_threads.push(t.clone());
                }
                return Ok(());
            }
            EventKind::FdSnapshot { fd, target } => {
                if self.started {
                    self.stats.dropped += 1;
                } else {
                    self.live.set_fd(ev.pid, *fd, target_kind(target));
                    self.snap_fds.push((ev.tid, ev.pid, *fd, target.clone()));
                }
                return Ok(());
            }
            EventKind::Lost { .. } => {
                self.stats.dropped += 1;
                return Ok(());
            }
            _ => {}
        }
        if !self.started {
            self.write_metadata();
        }
        match &ev.kind {
            EventKind::Syscall(sc) => self.write_syscall(ev, sc),
            EventKind::ThreadExit { status } => {
                let s = *status;
                self.emit_event(None, ev.ts, ev.tid, 186, |_, name| match name {
                    "status" => Val::Int(s),
                    "ret" => Val::Int((s >> 8) & 0xff),
                    "sig" => Val::Int(s & 0x7f),
                    "core" => Val::Int(((s & 0x80) != 0) as i64),
                    _ => Val::Default,
                });
                self.threads.remove(&ev.tid);
            }
            _ => {}
        }
        self.maybe_flush()
    }

    /// Writes everything still buffered (including the metadata when no syscall
    /// came yet) and returns the sink and the counters.
    pub fn finish(mut self) -> std::io::Result<(W, WriteStats)> {
        if !self.started {
            self.write_metadata();
        }
        self.flush()?;
        let out = self.out.take().expect("finish runs once");
        Ok((out, self.stats.clone()))
    }

    /// Writes the buffered whole blocks to the sink.
    pub fn flush(&mut self) -> std::io::Result<()> {
        let Some(out) = self.out.as_mut() else {
            return Ok(());
        };
        if !self.pending.buf.is_empty() {
            out.write_all(&self.pending.buf)?;
            self.stats.bytes += self.pending.buf.len() as u64;
            self.pending.buf.clear();
        }
        out.flush()?;
        self.last_flush = Instant::now();
        Ok(())
    }

    fn maybe_flush(&mut self) -> std::io::Result<()> {
        if self.pending.buf.len() >= self.opts.flush_bytes {
            return self.flush();
        }
        self.since_check += 1;
        if self.since_check >= 1024 {
            self.since_check = 0;
            if self.last_flush.elapsed() >= self.opts.flush_interval {
                return self.flush();
            }
        }
        Ok(())
    }

    fn write_metadata(&mut self) {
        self.started = true;
        let mi = MachineInfo {
            num_cpus: self.opts.num_cpus,
            memory_bytes: 0,
            max_pid: 4_194_304,
            hostname: self.opts.hostname.clone(),
        };
        meta::encode_mi(&mut self.pending, &mi);
        let mut ifs = vec![Interface {
            name: "lo".into(),
            addr: IpAddr::from([127, 0, 0, 1]),
        }];
        ifs.extend(self.opts.interfaces.iter().cloned());
        for (_, _, _, t) in &self.snap_fds {
            if let FdTarget::Inet { local: Some(a), .. } = t {
                if !ifs.iter().any(|i| i.addr == a.ip()) {
                    ifs.push(Interface {
                        name: "eth0".into(),
                        addr: a.ip(),
                    });
                }
            }
        }
        meta::encode_il(&mut self.pending, &ifs);
        let users = [
            UserEntry::User {
                uid: 0,
                gid: 0,
                name: "root".into(),
                home: "/root".into(),
                shell: "/bin/sh".into(),
            },
            UserEntry::Group {
                gid: 0,
                name: "root".into(),
            },
        ];
        meta::encode_ul(&mut self.pending, &users);
        self.stats.blocks += 3;
        // Process list: the snapshot threads, plus a stub for any fd owner not listed.
        let mut procs: Vec<ProcessEntry> = self.snap_threads.iter().map(process_entry).collect();
        for (tid, pid, _, _) in &self.snap_fds {
            if !procs.iter().any(|p| p.tid == *tid) {
                procs.push(ProcessEntry {
                    tid: *tid,
                    pid: *pid,
                    vtid: *tid,
                    vpid: *pid,
                    fdlimit: 1024,
                    ..Default::default()
                });
            }
        }
        if !procs.is_empty() {
            self.pending.begin(PL_V9);
            for p in &procs {
                meta::encode_pl_entry(&mut self.pending, p);
            }
            self.pending.finish();
            self.stats.blocks += 1;
        }
        // One FDL per thread, in order of first appearance.
        let mut order: Vec<i64> = Vec::new();
        for (tid, ..) in &self.snap_fds {
            if !order.contains(tid) {
                order.push(*tid);
            }
        }
        let fds = std::mem::take(&mut self.snap_fds);
        for tid in order {
            self.pending.begin(FDL_V2);
            self.pending.u64(tid as u64);
            for (t, _, fd, target) in &fds {
                if *t == tid {
                    let flags = if matches!(target, FdTarget::File(n) if n == "/dev/null") {
                        1
                    } else {
                        2
                    };
                    meta::encode_fd_entry(&mut self.pending, *fd, target, flags);
                }
            }
            self.pending.finish();
            self.stats.blocks += 1;
        }
        self.snap_threads.clear();
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

    fn write_syscall<'a>(&mut self, ev: &Event, sc: &'a Syscall) {
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
            Exit | ExitGroup | Other(_) => 0,
        };
        let native = match sc.kind {
            Exit => 60,
            ExitGroup => 231,
            Other(n) => n as i64,
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
                ("cmd", _) => Val::Int(1), // PPM_FCNTL_F_DUPFD
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

impl<W: Write> Drop for ScapWriter<W> {
    fn drop(&mut self) {
        // Best effort: whole blocks only, so a partial write is impossible here.
        let _ = self.flush();
    }
}

/// `PPM_CL_CLONE_FILES | FS | SIGHAND | THREAD | VM`.
const PPM_CL_THREAD_FLAGS: u32 = 1 | 2 | (1 << 11) | (1 << 13) | (1 << 15);

type SockParts<'a> = (Option<SocketAddr>, Option<SocketAddr>, Option<&'a str>);

fn tuple_val(sock: Option<SockParts<'_>>, inbound: bool) -> Val<'_> {
    match sock {
        Some((_, _, Some(p))) => Val::Unix(p),
        Some((l, r, None)) if inbound => Val::Tuple(r, l),
        Some((l, r, None)) => Val::Tuple(l, r),
        None => Val::Default,
    }
}

fn thread_meta(t: &ThreadInfo) -> ThreadMeta {
    ThreadMeta {
        ptid: t.ptid,
        comm: t.comm.clone(),
        exe: t.exe.clone(),
        args: t.args.clone(),
        cwd: t.cwd.clone(),
    }
}

fn process_entry(t: &ThreadInfo) -> ProcessEntry {
    ProcessEntry {
        tid: t.tid,
        pid: t.pid,
        ptid: t.ptid,
        comm: t.comm.clone(),
        exe: t.exe.clone(),
        exepath: t.exe.clone(),
        args: t.args.clone(),
        cwd: t.cwd.clone(),
        fdlimit: 1024,
        // Threads other than the main one share the process's fd table in sysdig
        // only with CLONE_FILES (plus the usual thread flags) in their PL entry.
        flags: if t.tid != t.pid {
            PPM_CL_THREAD_FLAGS
        } else {
            0
        },
        uid: 0,
        gid: 0,
        vtid: t.tid,
        vpid: t.pid,
    }
}

fn target_kind(t: &FdTarget) -> FdKind {
    match t {
        FdTarget::File(n) | FdTarget::Directory(n) => file_kind(n),
        FdTarget::Inet { proto, .. } => FdKind::Sock(*proto),
        _ => FdKind::Other,
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
