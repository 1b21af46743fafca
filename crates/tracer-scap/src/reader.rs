//! The streaming `.scap` reader.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufReader, ErrorKind, Read};
use std::net::IpAddr;
use std::path::Path;

use flate2::read::MultiGzDecoder;
use tracer_core::event::{Event, EventKind, FdTarget, SyscallKind, ThreadInfo};

use crate::block::{classify, BlockKind, Cur, DF_TRACER, SHB, SHB_MAGIC};
use crate::decode::{self, file_kind, FdKind, Live, Meaning, OTHER_EVENT_BASE};
use crate::error::{ScapError, ScapWarning, WarningKind};
use crate::evtable::EVENT_MAX;
use crate::fdlist::FdEntry;
use crate::framing::{BlockSource, Damage};
use crate::meta::{self, Interface, MachineInfo, ProcessEntry, UserEntry};
use crate::pairing::Pairing;
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
    io: BlockSource,
    queue: VecDeque<Event>,
    /// The event handed out by [`ScapReader::next_ref`], rebuilt in place.
    current: Event,
    done: bool,
    in_events: bool,
    last_ts: u64,
    section: Section,
    live: Live,
    pending: Pairing,
    stats: ReadStats,
    warnings: Vec<ScapWarning>,
}

impl std::fmt::Debug for ScapReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScapReader")
            .field("gzip", &self.io.gzip)
            .field("offset", &self.io.offset())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl ScapReader {
    /// Opens a capture file; gzip compression is detected from the magic bytes.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ScapError> {
        Self::from_reader(File::open(path)?)
    }

    /// Reads a capture from any byte source (gzip detected from the magic bytes).
    /// Fails when the source does not start with a valid section header.
    pub fn from_reader<R: Read + Send + 'static>(r: R) -> Result<Self, ScapError> {
        let mut r = r;
        let mut head = [0u8; 2];
        let mut got = 0;
        while got < 2 {
            match r.read(&mut head[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        let gzip = head[..got] == [0x1f, 0x8b];
        let chained = io::Cursor::new(head[..got].to_vec()).chain(r);
        let src: Box<dyn Read + Send> = if gzip {
            Box::new(MultiGzDecoder::new(BufReader::with_capacity(
                1 << 16,
                chained,
            )))
        } else {
            Box::new(chained)
        };
        let mut rd = ScapReader {
            io: BlockSource::new(src, gzip),
            queue: VecDeque::new(),
            current: Event {
                ts: 0,
                tid: 0,
                pid: 0,
                kind: EventKind::Lost { count: 0 },
            },
            done: false,
            in_events: false,
            last_ts: 0,
            section: Section::default(),
            live: Live::default(),
            pending: Pairing::default(),
            stats: ReadStats {
                by_type: vec![0; EVENT_MAX as usize],
                ..Default::default()
            },
            warnings: Vec::new(),
        };
        // The first block must be a section header.
        let got = rd.io.fill_to(8)?;
        if got < 8 {
            return Err(ScapError::TooShort(got as u64));
        }
        let (id, len) = rd.io.block_header();
        if id != SHB {
            return Err(ScapError::NotScap(id));
        }
        if !(28..=MAX_BLOCK).contains(&len) {
            return Err(ScapError::TooShort(len));
        }
        match rd.io.read_block(len) {
            Ok(()) => {}
            Err(Damage::Truncated { got, .. }) => return Err(ScapError::TooShort(got)),
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
        self.io.gzip
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
        Ok(self.next_ref()?.cloned())
    }

    /// Like [`ScapReader::next_event`] but lends the event instead of returning it: the
    /// reader rebuilds one event in place, which avoids moving the (large) event struct
    /// and reuses its allocations. The fastest way to feed an engine.
    pub fn next_ref(&mut self) -> Result<Option<&Event>, ScapError> {
        loop {
            if let Some(e) = self.queue.pop_front() {
                self.current = e;
                return Ok(Some(&self.current));
            }
            if self.done {
                return Ok(None);
            }
            match self.step() {
                // The common case: a syscall built in `current`, nothing queued before it.
                Ok(true) if self.queue.is_empty() => return Ok(Some(&self.current)),
                Ok(true) => {
                    let ev = std::mem::replace(
                        &mut self.current,
                        Event {
                            ts: 0,
                            tid: 0,
                            pid: 0,
                            kind: EventKind::Lost { count: 0 },
                        },
                    );
                    self.queue.push_back(ev);
                }
                Ok(false) => {}
                Err(e) => {
                    self.done = true;
                    return Err(e);
                }
            }
        }
    }

    fn check_shb(&self) -> Result<(), ScapError> {
        let mut c = Cur::new(self.io.body());
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
        self.queue.push_back(Event {
            ts: self.last_ts,
            tid: -1,
            pid: -1,
            kind: EventKind::Lost { count: 0 },
        });
    }

    fn finish(&mut self) {
        if !self.in_events {
            self.emit_snapshot(0);
        }
        self.stats.enters_without_exit += self.pending.clear();
        self.done = true;
    }

    /// Reads and handles one block.
    fn step(&mut self) -> Result<bool, ScapError> {
        let at = self.io.offset();
        let got = match self.io.fill_to(8) {
            Ok(n) => n,
            Err(e) => {
                let d = self.io.damage_of(e)?;
                self.stop(at, d);
                return Ok(false);
            }
        };
        if got == 0 {
            self.finish();
            return Ok(false);
        }
        if got < 8 {
            self.stop(
                at,
                Damage::Truncated {
                    expected: 8,
                    got: got as u64,
                },
            );
            return Ok(false);
        }
        let (id, len) = self.io.block_header();
        if !(12..=MAX_BLOCK).contains(&len) {
            self.stop(
                at,
                Damage::Corrupt(format!("invalid block length {len} (block type {id:#x})")),
            );
            return Ok(false);
        }
        if let Err(d) = self.io.read_block(len) {
            self.stop(at, d);
            return Ok(false);
        }
        self.stats.blocks += 1;
        let kind = classify(id);
        match kind {
            BlockKind::Ev { v2, flags, large } => return Ok(self.on_event_block(v2, flags, large)),
            BlockKind::Unknown => self.stats.unknown_blocks += 1,
            BlockKind::Shb => {
                if self.check_shb().is_err() {
                    self.stop(at, Damage::Corrupt("invalid section header".into()));
                    return Ok(false);
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
        Ok(false)
    }

    /// A new section: state restarts as sysdig does for concatenated captures.
    fn new_section(&mut self) {
        if !self.in_events && self.stats.raw_events == 0 && self.stats.sections == 1 {
            // Still in the first section's metadata (e.g. a second SHB right away).
        }
        self.stats.sections += 1;
        self.stats.enters_without_exit += self.pending.clear();
        self.live.clear();
        self.section = Section::default();
        self.in_events = false;
    }

    fn on_metadata(&mut self, kind: BlockKind) {
        let win = std::mem::take(&mut self.io.win);
        let buf = &win[self.io.body.0..self.io.body.1];
        match kind {
            BlockKind::Mi => self.section.machine = meta::parse_mi(buf),
            BlockKind::Pl(v) => {
                let first = self.section.processes.len();
                if !meta::parse_pl(buf, v, &mut self.section.processes) {
                    self.stats.malformed_metadata += 1;
                }
                for p in &self.section.processes[first..] {
                    self.live.set_thread(p.tid, p.pid);
                }
            }
            BlockKind::Fdl(v) => {
                let ips: Vec<IpAddr> = self.section.interfaces.iter().map(|i| i.addr).collect();
                let first = self.section.fds.len();
                if !crate::fdlist::parse_fdl(buf, v, &ips, &mut self.section.fds) {
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
            BlockKind::Il(v) => meta::parse_il(buf, v, &mut self.section.interfaces),
            BlockKind::Ul(v) => meta::parse_ul(buf, v, &mut self.section.users),
            _ => {}
        }
        self.io.win = win;
    }

    /// Emits the section's process and fd tables as snapshot events.
    fn emit_snapshot(&mut self, ts: u64) {
        for p in &self.section.processes {
            let exe = if p.exepath.is_empty() {
                p.exe.clone()
            } else {
                p.exepath.clone()
            };
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
                kind: EventKind::FdSnapshot {
                    fd: f.fd,
                    target: f.target.clone(),
                },
            });
        }
    }

    fn on_event_block(&mut self, v2: bool, has_flags: bool, large: bool) -> bool {
        let win = std::mem::take(&mut self.io.win);
        let ev = self.handle_event(&win[self.io.body.0..self.io.body.1], v2, has_flags, large);
        self.io.win = win;
        ev
    }

    fn handle_event(&mut self, payload: &[u8], v2: bool, has_flags: bool, large: bool) -> bool {
        let prefix = if has_flags { 6 } else { 2 };
        let dump_flags = if has_flags && payload.len() >= 6 {
            u32::from_le_bytes(payload[2..6].try_into().expect("4"))
        } else {
            0
        };
        let Some(ev) = payload
            .get(prefix..)
            .and_then(|p| RawEvent::parse(p, v2, large))
        else {
            self.stats.malformed_events += 1;
            return false;
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
                return false;
            }
            Meaning::NotSyscall => {
                self.stats.non_syscall_events += 1;
                return false;
            }
            Meaning::ProcExit => {
                if et.is_multiple_of(2) {
                    let pid = self.live.pid_of(tid);
                    let status = decode::thread_exit(&ev, tid, &mut self.live);
                    self.pending.forget(ev.tid);
                    self.current = Event {
                        ts: ev.ts,
                        tid,
                        pid,
                        kind: EventKind::ThreadExit { status },
                    };
                    return true;
                } else {
                    self.stats.unknown_events += 1;
                }
                return false;
            }
            _ => {}
        }
        if et.is_multiple_of(2) {
            if self.pending.enter(ev.tid, et, v2, large, ev.bytes()) {
                self.stats.enters_without_exit += 1;
            }
            return false;
        }
        // Exit: pair with the enter of the same thread.
        // Another syscall's live enter is dropped (sysdig would mis-pair it).
        let (enter_bytes, dropped) = self.pending.take(ev.tid, et);
        if dropped {
            self.stats.enters_without_exit += 1;
        }
        let enter = enter_bytes
            .as_ref()
            .and_then(|e| RawEvent::parse(&e.bytes, e.v2, e.large));
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
        let cur = &mut self.current;
        if !matches!(cur.kind, EventKind::Syscall(_)) {
            cur.kind = EventKind::Syscall(tracer_core::event::Syscall::new(kind, 0, 0));
        }
        let EventKind::Syscall(sc) = &mut cur.kind else {
            unreachable!("just set")
        };
        decode::build_syscall(sc, kind, enter.as_ref(), &ev, pid, tracer_flag, &self.live);
        self.live.apply(sc, pid);
        // The clone child / execve may have taught us the pid of this very thread.
        let pid = if decode::learn_ids(kind, &ev, tid, &mut self.live) {
            self.live.pid_of(tid)
        } else {
            pid
        };
        cur.ts = ev.ts;
        cur.tid = tid;
        cur.pid = pid;
        if let Some(e) = enter_bytes {
            self.pending.give_back(ev.tid, e.bytes);
        }
        true
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
    crate::evtable::EVENT_TABLE
        .get(etype as usize)
        .map(|e| (e.name, etype.is_multiple_of(2)))
}

#[cfg(test)]
#[path = "reader_tests.rs"]
mod tests;
