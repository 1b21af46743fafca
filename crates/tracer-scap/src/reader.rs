//! The streaming `.scap` reader.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead, BufReader, ErrorKind, Read};
use std::net::IpAddr;
use std::path::Path;

use flate2::read::MultiGzDecoder;
use rustc_hash::FxHashMap;
use tracer_core::event::{Event, EventKind, FdTarget, SyscallKind, ThreadInfo};

use crate::block::{classify, BlockKind, Cur, DF_TRACER, SHB, SHB_MAGIC};
use crate::decode::{self, file_kind, FdKind, Live, Meaning, OTHER_EVENT_BASE};
use crate::error::{ScapError, ScapWarning, WarningKind};
use crate::evtable::EVENT_MAX;
use crate::meta::{self, FdEntry, Interface, MachineInfo, ProcessEntry, UserEntry};
use crate::params::RawEvent;

/// Blocks larger than this are treated as corruption (sysdig's own limit for event
/// blocks is 64 KiB; metadata blocks of huge systems stay far below this).
const MAX_BLOCK: u64 = 256 << 20;

/// Counters of what the reader saw and skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Blocks read (all kinds).
    pub blocks: u64,
    /// Sections (section headers, plus metadata blocks after events).
    pub sections: u64,
    /// Event records parsed (enter and exit counted separately).
    pub raw_events: u64,
    /// Blocks of unknown type, skipped.
    pub unknown_blocks: u64,
    /// Events of unknown or unused type (≥ 336 or `NA`), skipped.
    pub unknown_events: u64,
    /// Events that are not syscalls (scheduler switches, signal deliveries…), skipped.
    pub non_syscall_events: u64,
    /// Events whose parameters could not be split (bad lengths), skipped.
    pub malformed_events: u64,
    /// Metadata entries that could not be parsed (the rest of their block was skipped).
    pub malformed_metadata: u64,
    /// Exit events without their enter (turned into syscalls with `enter_ts = ts`).
    /// Includes the child's side of every clone.
    pub exits_without_enter: u64,
    /// Enter events never followed by their exit on the same thread.
    pub enters_without_exit: u64,
    /// Exit events in `EVF` blocks carrying the tracer flag.
    pub tracer_flagged: u64,
    /// Raw event count per sysdig event type id (index = type id; enter and exit ids
    /// are distinct).
    pub by_type: Vec<u64>,
}

#[derive(Debug, Default)]
struct Pending {
    etype: u16,
    v2: bool,
    large: bool,
    live: bool,
    bytes: Vec<u8>,
}

/// Metadata of the current section.
#[derive(Debug, Default, Clone)]
struct Section {
    machine: Option<MachineInfo>,
    processes: Vec<ProcessEntry>,
    fds: Vec<FdEntry>,
    interfaces: Vec<Interface>,
    users: Vec<UserEntry>,
}

/// Reads a `.scap` file (plain or gzip) block by block and yields tracer-core
/// [`Event`]s in file order, with constant memory: one block buffer plus tables whose
/// size depends on the number of live threads and fds, never on the file size.
///
/// At the start of each section, the process list becomes [`EventKind::ThreadInfo`]
/// events and the fd lists [`EventKind::FdSnapshot`] events (timestamp = the first
/// event's). Enter and exit events are paired per thread into one
/// [`EventKind::Syscall`]; `procexit` becomes [`EventKind::ThreadExit`]. A damaged or
/// truncated tail ends the stream with a [`ScapWarning`] (see [`ScapReader::warnings`])
/// and a final [`EventKind::Lost`] event (tid -1).
///
/// Payload rule: an I/O syscall keeps its captured data buffer only when its exit is
/// flagged as a tracer write (`EVF` flag 2; then `null_dev` is set) or its fd is known
/// (from the fd list or an open event) as exactly `/dev/null` — the fds sysdig would
/// parse as tracers. All other payloads are dropped.
pub struct ScapReader {
    src: BufReader<Box<dyn Read + Send>>,
    gzip: bool,
    offset: u64,
    buf: Vec<u8>,
    queue: VecDeque<Event>,
    done: bool,
    in_events: bool,
    last_ts: u64,
    section: Section,
    live: Live,
    pending: FxHashMap<u64, Pending>,
    stats: ReadStats,
    warnings: Vec<ScapWarning>,
}

impl std::fmt::Debug for ScapReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScapReader")
            .field("gzip", &self.gzip)
            .field("offset", &self.offset)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

enum Damage {
    Truncated { expected: u64, got: u64 },
    Corrupt(String),
    Decompression(String),
}

impl ScapReader {
    /// Opens a capture file; gzip compression is detected from the magic bytes.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ScapError> {
        Self::from_reader(File::open(path)?)
    }

    /// Reads a capture from any byte source (gzip detected from the magic bytes).
    /// Fails when the source does not start with a valid section header.
    pub fn from_reader<R: Read + Send + 'static>(r: R) -> Result<Self, ScapError> {
        let mut peek = BufReader::with_capacity(1 << 16, r);
        let head = peek.fill_buf()?;
        let gzip = head.starts_with(&[0x1f, 0x8b]);
        let inner: Box<dyn Read + Send> =
            if gzip { Box::new(MultiGzDecoder::new(peek)) } else { Box::new(peek) };
        let mut rd = ScapReader {
            src: BufReader::with_capacity(1 << 18, inner),
            gzip,
            offset: 0,
            buf: Vec::with_capacity(1 << 16),
            queue: VecDeque::new(),
            done: false,
            in_events: false,
            last_ts: 0,
            section: Section::default(),
            live: Live::default(),
            pending: FxHashMap::default(),
            stats: ReadStats { by_type: vec![0; EVENT_MAX as usize], ..Default::default() },
            warnings: Vec::new(),
        };
        // The first block must be a section header.
        let mut hdr = [0u8; 8];
        let got = rd.fill(&mut hdr).map_err(ScapError::Io)?;
        if got < 8 {
            return Err(ScapError::TooShort(got as u64));
        }
        let id = u32::from_le_bytes(hdr[0..4].try_into().expect("4"));
        if id != SHB {
            return Err(ScapError::NotScap(id));
        }
        let len = u32::from_le_bytes(hdr[4..8].try_into().expect("4")) as u64;
        if !(28..=MAX_BLOCK).contains(&len) {
            return Err(ScapError::TooShort(len));
        }
        match rd.read_body(len, 8) {
            Ok(()) => {}
            Err(Damage::Truncated { got, .. }) => return Err(ScapError::TooShort(8 + got)),
            Err(Damage::Corrupt(m) | Damage::Decompression(m)) => {
                return Err(ScapError::Io(io::Error::new(ErrorKind::InvalidData, m)))
            }
        }
        rd.check_shb()?;
        rd.stats.blocks = 1;
        rd.stats.sections = 1;
        Ok(rd)
    }

    /// True when the file is gzip-compressed.
    pub fn is_gzip(&self) -> bool {
        self.gzip
    }

    /// Machine info of the current section, if the capture has one.
    pub fn machine_info(&self) -> Option<&MachineInfo> {
        self.section.machine.as_ref()
    }

    /// The process list of the current section (one entry per thread).
    pub fn processes(&self) -> &[ProcessEntry] {
        &self.section.processes
    }

    /// The fd lists of the current section.
    pub fn fd_table(&self) -> &[FdEntry] {
        &self.section.fds
    }

    /// Interface addresses of the current section.
    pub fn interfaces(&self) -> &[Interface] {
        &self.section.interfaces
    }

    /// Users and groups of the current section.
    pub fn users(&self) -> &[UserEntry] {
        &self.section.users
    }

    /// Counters (skipped blocks and events, unpaired events…).
    pub fn stats(&self) -> &ReadStats {
        &self.stats
    }

    /// Why reading stopped early, if it did (damaged or truncated tail).
    pub fn warnings(&self) -> &[ScapWarning] {
        &self.warnings
    }

    /// The next event, `Ok(None)` at the end (also after a damaged tail, which is
    /// reported in [`ScapReader::warnings`]). `Err` only for I/O errors of the source.
    pub fn next_event(&mut self) -> Result<Option<Event>, ScapError> {
        loop {
            if let Some(e) = self.queue.pop_front() {
                return Ok(Some(e));
            }
            if self.done {
                return Ok(None);
            }
            if let Err(e) = self.step() {
                self.done = true;
                return Err(e);
            }
        }
    }

    /// Reads into `out` until full or end of input; returns the bytes read.
    fn fill(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let mut got = 0;
        while got < out.len() {
            match self.src.read(&mut out[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.offset += got as u64;
        Ok(got)
    }

    fn damage_of(&self, e: io::Error) -> Result<Damage, ScapError> {
        match e.kind() {
            ErrorKind::UnexpectedEof | ErrorKind::InvalidData | ErrorKind::InvalidInput => {
                Ok(if self.gzip { Damage::Decompression(e.to_string()) } else { Damage::Corrupt(e.to_string()) })
            }
            _ => Err(ScapError::Io(e)),
        }
    }

    /// Reads the body (after the 8 header bytes) of a block of total length `len` into
    /// `self.buf` and checks its trailer.
    fn read_body(&mut self, len: u64, _hdr: u64) -> Result<(), Damage> {
        let body = (len - 8) as usize;
        self.buf.clear();
        let got = if body <= (1 << 20) {
            self.buf.resize(body, 0);
            let mut b = std::mem::take(&mut self.buf);
            let r = self.fill(&mut b);
            self.buf = b;
            match r {
                Ok(n) => n,
                Err(e) => return Err(self.damage_of(e).unwrap_or_else(|e| Damage::Corrupt(e.to_string()))),
            }
        } else {
            let mut b = std::mem::take(&mut self.buf);
            let r = (&mut self.src).take(body as u64).read_to_end(&mut b);
            self.buf = b;
            match r {
                Ok(n) => {
                    self.offset += n as u64;
                    n
                }
                Err(e) => return Err(self.damage_of(e).unwrap_or_else(|e| Damage::Corrupt(e.to_string()))),
            }
        };
        if got < body {
            return Err(Damage::Truncated { expected: len, got: 8 + got as u64 });
        }
        let t = &self.buf[body - 4..];
        let trailer = u32::from_le_bytes([t[0], t[1], t[2], t[3]]) as u64;
        if trailer != len {
            return Err(Damage::Corrupt(format!(
                "wrong block total length, header={len}, trailer={trailer}"
            )));
        }
        self.buf.truncate(body - 4);
        Ok(())
    }

    fn check_shb(&self) -> Result<(), ScapError> {
        let mut c = Cur::new(&self.buf);
        let magic = c.u32().unwrap_or(0);
        if magic != SHB_MAGIC {
            return Err(ScapError::BadMagic(magic));
        }
        let major = c.u16().unwrap_or(0);
        let minor = c.u16().unwrap_or(0);
        if major != 1 {
            return Err(ScapError::UnsupportedVersion { major, minor });
        }
        Ok(())
    }

    fn stop(&mut self, at: u64, d: Damage) {
        let kind = match d {
            Damage::Truncated { expected, got } => WarningKind::Truncated { expected, got },
            Damage::Corrupt(m) => WarningKind::Corrupt(m),
            Damage::Decompression(m) => WarningKind::Decompression(m),
        };
        self.warnings.push(ScapWarning { offset: at, kind });
        self.finish();
        self.queue.push_back(Event { ts: self.last_ts, tid: -1, pid: -1, kind: EventKind::Lost { count: 0 } });
    }

    fn finish(&mut self) {
        if !self.in_events {
            self.emit_snapshot(0);
        }
        self.stats.enters_without_exit += self.pending.values().filter(|p| p.live).count() as u64;
        self.pending.clear();
        self.done = true;
    }

    /// Reads and handles one block.
    fn step(&mut self) -> Result<(), ScapError> {
        let at = self.offset;
        let mut hdr = [0u8; 8];
        let got = match self.fill(&mut hdr) {
            Ok(n) => n,
            Err(e) => {
                let d = self.damage_of(e)?;
                self.stop(at, d);
                return Ok(());
            }
        };
        if got == 0 {
            self.finish();
            return Ok(());
        }
        if got < 8 {
            self.stop(at, Damage::Truncated { expected: 8, got: got as u64 });
            return Ok(());
        }
        let id = u32::from_le_bytes(hdr[0..4].try_into().expect("4"));
        let len = u32::from_le_bytes(hdr[4..8].try_into().expect("4")) as u64;
        if !(12..=MAX_BLOCK).contains(&len) {
            self.stop(at, Damage::Corrupt(format!("invalid block length {len} (block type {id:#x})")));
            return Ok(());
        }
        if let Err(d) = self.read_body(len, 8) {
            self.stop(at, d);
            return Ok(());
        }
        self.stats.blocks += 1;
        let kind = classify(id);
        match kind {
            BlockKind::Ev { v2, flags, large } => self.on_event_block(v2, flags, large),
            BlockKind::Unknown => self.stats.unknown_blocks += 1,
            BlockKind::Shb => {
                if self.check_shb().is_err() {
                    self.stop(at, Damage::Corrupt("invalid section header".into()));
                    return Ok(());
                }
                self.new_section();
            }
            _ => {
                if self.in_events {
                    self.new_section();
                }
                self.on_metadata(kind);
            }
        }
        Ok(())
    }

    /// A new section: state restarts as sysdig does for concatenated captures.
    fn new_section(&mut self) {
        if !self.in_events && self.stats.raw_events == 0 && self.stats.sections == 1 {
            // Still in the first section's metadata (e.g. a second SHB right away).
        }
        self.stats.sections += 1;
        self.stats.enters_without_exit += self.pending.values().filter(|p| p.live).count() as u64;
        self.pending.clear();
        self.live.clear();
        self.section = Section::default();
        self.in_events = false;
    }

    fn on_metadata(&mut self, kind: BlockKind) {
        let buf = std::mem::take(&mut self.buf);
        match kind {
            BlockKind::Mi => self.section.machine = meta::parse_mi(&buf),
            BlockKind::Pl(v) => {
                let first = self.section.processes.len();
                if !meta::parse_pl(&buf, v, &mut self.section.processes) {
                    self.stats.malformed_metadata += 1;
                }
                for p in &self.section.processes[first..] {
                    self.live.set_thread(p.tid, p.pid);
                }
            }
            BlockKind::Fdl(v) => {
                let ips: Vec<IpAddr> = self.section.interfaces.iter().map(|i| i.addr).collect();
                let first = self.section.fds.len();
                if !meta::parse_fdl(&buf, v, &ips, &mut self.section.fds) {
                    self.stats.malformed_metadata += 1;
                }
                for e in &self.section.fds[first..] {
                    let pid = self.live.pid_of(e.tid);
                    let k = match &e.target {
                        FdTarget::File(n) | FdTarget::Directory(n) => file_kind(n),
                        FdTarget::Other(n) if matches!(e.fd_type, 7 | 9..=15) => file_kind(n),
                        FdTarget::Inet { proto, .. } => FdKind::Sock(*proto),
                        _ => FdKind::Other,
                    };
                    self.live.set_fd(pid, e.fd, k);
                }
            }
            BlockKind::Il(v) => meta::parse_il(&buf, v, &mut self.section.interfaces),
            BlockKind::Ul(v) => meta::parse_ul(&buf, v, &mut self.section.users),
            _ => {}
        }
        self.buf = buf;
    }

    /// Emits the section's process and fd tables as snapshot events.
    fn emit_snapshot(&mut self, ts: u64) {
        for p in &self.section.processes {
            let exe = if p.exepath.is_empty() { p.exe.clone() } else { p.exepath.clone() };
            self.queue.push_back(Event {
                ts,
                tid: p.tid,
                pid: p.pid,
                kind: EventKind::ThreadInfo(ThreadInfo {
                    tid: p.tid,
                    pid: p.pid,
                    ptid: p.ptid,
                    comm: p.comm.clone(),
                    exe,
                    args: p.args.clone(),
                    cwd: p.cwd.clone(),
                }),
            });
        }
        for f in &self.section.fds {
            let pid = self.live.pid_of(f.tid);
            self.queue.push_back(Event {
                ts,
                tid: f.tid,
                pid,
                kind: EventKind::FdSnapshot { fd: f.fd, target: f.target.clone() },
            });
        }
    }

    fn on_event_block(&mut self, v2: bool, has_flags: bool, large: bool) {
        let buf = std::mem::take(&mut self.buf);
        self.handle_event(&buf, v2, has_flags, large);
        self.buf = buf;
    }

    fn handle_event(&mut self, payload: &[u8], v2: bool, has_flags: bool, large: bool) {
        let prefix = if has_flags { 6 } else { 2 };
        let dump_flags = if has_flags && payload.len() >= 6 {
            u32::from_le_bytes(payload[2..6].try_into().expect("4"))
        } else {
            0
        };
        let Some(ev) = payload.get(prefix..).and_then(|p| RawEvent::parse(p, v2, large)) else {
            self.stats.malformed_events += 1;
            return;
        };
        if !self.in_events {
            self.in_events = true;
            self.emit_snapshot(ev.ts);
        }
        self.stats.raw_events += 1;
        self.last_ts = self.last_ts.max(ev.ts);
        let et = ev.etype;
        if et < EVENT_MAX {
            self.stats.by_type[et as usize] += 1;
        }
        let m = decode::meaning(et);
        let tid = ev.tid as i64;
        match m {
            Meaning::Unknown => {
                self.stats.unknown_events += 1;
                return;
            }
            Meaning::NotSyscall => {
                self.stats.non_syscall_events += 1;
                return;
            }
            Meaning::ProcExit => {
                if et % 2 == 0 {
                    let pid = self.live.pid_of(tid);
                    let status = decode::thread_exit(&ev, tid, &mut self.live);
                    self.pending.remove(&ev.tid);
                    self.queue.push_back(Event { ts: ev.ts, tid, pid, kind: EventKind::ThreadExit { status } });
                } else {
                    self.stats.unknown_events += 1;
                }
                return;
            }
            _ => {}
        }
        if et % 2 == 0 {
            let p = self.pending.entry(ev.tid).or_default();
            if p.live {
                self.stats.enters_without_exit += 1;
            }
            p.etype = et;
            p.v2 = v2;
            p.large = large;
            p.live = true;
            p.bytes.clear();
            p.bytes.extend_from_slice(ev.bytes());
            return;
        }
        // Exit: pair with the enter of the same thread.
        let mut enter_bytes = None;
        if let Some(p) = self.pending.get_mut(&ev.tid) {
            if p.live && p.etype + 1 == et {
                p.live = false;
                enter_bytes = Some((std::mem::take(&mut p.bytes), p.v2, p.large));
            } else if p.live {
                // Another syscall's enter: sysdig would pair wrongly; we drop it.
                p.live = false;
                self.stats.enters_without_exit += 1;
            }
        }
        let enter = enter_bytes.as_ref().and_then(|(b, v2, large)| RawEvent::parse(b, *v2, *large));
        if enter.is_none() {
            self.stats.exits_without_enter += 1;
        }
        let tracer_flag = dump_flags & DF_TRACER != 0;
        if tracer_flag {
            self.stats.tracer_flagged += 1;
        }
        let enter_type = et - 1;
        let kind = match m {
            Meaning::Sys(k) => k,
            Meaning::Fcntl => decode::fcntl_kind(enter.as_ref(), enter_type),
            Meaning::Generic => decode::generic_kind(enter.as_ref()),
            _ => SyscallKind::Other(OTHER_EVENT_BASE + enter_type as u32),
        };
        let pid = self.live.pid_of(tid);
        let sc = decode::build_syscall(kind, enter.as_ref(), &ev, tid, pid, tracer_flag, &self.live);
        self.live.apply(&sc, pid);
        // The clone child / execve may have taught us the pid of this very thread.
        decode::learn_ids(kind, &ev, tid, &mut self.live);
        let pid = self.live.pid_of(tid);
        self.queue.push_back(Event { ts: ev.ts, tid, pid, kind: EventKind::Syscall(sc) });
        if let Some((b, _, _)) = enter_bytes {
            if let Some(p) = self.pending.get_mut(&ev.tid) {
                p.bytes = b;
            }
        }
    }
}

impl Iterator for ScapReader {
    type Item = Result<Event, ScapError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_event().transpose()
    }
}

/// The sysdig name and direction (`true` = enter) of an event type id.
pub fn event_type_name(etype: u16) -> Option<(&'static str, bool)> {
    crate::evtable::EVENT_TABLE.get(etype as usize).map(|e| (e.name, etype % 2 == 0))
}

#[cfg(test)]
#[path = "reader_tests.rs"]
mod tests;
