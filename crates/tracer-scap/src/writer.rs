//! The `.scap` writer: captures that sysdig 0.29.3 reads.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use rustc_hash::FxHashMap;
use tracer_core::event::{Event, EventKind, FdTarget, ThreadInfo};

use crate::block::{BlockBuf, FDL_V2, PL_V9, SHB, SHB_MAGIC};
use crate::decode::{file_kind, FdKind, Live};
use crate::meta::{self, Interface, MachineInfo, ProcessEntry};

mod events;

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
                self.write_procexit(ev.ts, ev.tid, *status);
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
        meta::encode_ul(&mut self.pending, &meta::root_users());
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
                    crate::fdlist::encode_fd_entry(&mut self.pending, *fd, target, flags);
                }
            }
            self.pending.finish();
            self.stats.blocks += 1;
        }
        self.snap_threads.clear();
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
