//! The reader's state between blocks: the current section's metadata, the live thread
//! and fd tables, enter events waiting for their exits, counters, and the events
//! built but not yet handed out. Turns block payloads into [`Event`]s.

use std::collections::VecDeque;
use std::net::IpAddr;

use tracer_core::event::{Event, EventKind, FdTarget, Syscall, SyscallKind, ThreadInfo};

use crate::block::{BlockKind, DF_TRACER};
use crate::decode::{
    self, file_kind, ExitHead, FdKind, Live, Meaning, Spare, TypeInfo, OTHER_EVENT_BASE,
    UNKNOWN_TYPE,
};
use crate::error::{ScapWarning, WarningKind};
use crate::evtable::EVENT_MAX;
use crate::fdlist::FdEntry;
use crate::framing::Damage;
use crate::meta::{self, Interface, MachineInfo, ProcessEntry, UserEntry};
use crate::pairing::{Pairing, Stored};
use crate::params::{layouts, Layouts, RawEvent};
use crate::reader::ReadStats;

/// Metadata of the current section.
#[derive(Debug, Default, Clone)]
pub(crate) struct Section {
    pub(crate) machine: Option<MachineInfo>,
    pub(crate) processes: Vec<ProcessEntry>,
    pub(crate) fds: Vec<FdEntry>,
    pub(crate) interfaces: Vec<Interface>,
    pub(crate) users: Vec<UserEntry>,
}

/// A placeholder event (replaced before it is handed out).
pub(crate) fn blank_event() -> Event {
    Event {
        ts: 0,
        tid: 0,
        pid: 0,
        kind: EventKind::Lost { count: 0 },
    }
}

/// What handling a block did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Handled {
    /// An event was built in the caller's `out` (maybe behind queued events).
    Built,
    /// An event was built in the caller's `out`, and (as for [`Handled::Quiet`]) the
    /// decoder is among events with nothing queued: it is the next event.
    Fresh,
    /// Nothing was built, and the decoder is among the events of a section with
    /// nothing queued and not stopped: the caller goes on with the next block.
    Quiet,
    /// Nothing was built; the caller looks at the decoder's state.
    Nothing,
}

/// Everything the reader keeps besides its input.
#[derive(Debug)]
pub(crate) struct Decoder {
    /// Events to hand out before anything else (snapshots, the final `Lost`).
    pub(crate) queue: VecDeque<Event>,
    pub(crate) done: bool,
    in_events: bool,
    last_ts: u64,
    pub(crate) section: Section,
    live: Live,
    pending: Pairing,
    pub(crate) stats: ReadStats,
    pub(crate) warnings: Vec<ScapWarning>,
    types: &'static [TypeInfo; EVENT_MAX as usize],
    layouts: &'static Layouts,
    spare: Spare,
}

impl Decoder {
    pub(crate) fn new() -> Self {
        Decoder {
            queue: VecDeque::new(),
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
            types: decode::type_infos(),
            layouts: layouts(),
            spare: Spare::default(),
        }
    }

    /// True once the current section's first event was seen.
    pub(crate) fn in_events(&self) -> bool {
        self.in_events
    }

    /// True when the reader may go on with the next block without looking at the
    /// decoder: among the events of a section, nothing queued, not stopped (what
    /// [`Handled::Quiet`] promises).
    #[inline(always)]
    pub(crate) fn quiet(&self) -> bool {
        self.in_events && self.queue.is_empty() && !self.done
    }

    /// Reading stops at damage at stream offset `at`: a warning and a final `Lost`.
    pub(crate) fn stop(&mut self, at: u64, d: Damage) {
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

    /// The end of the input.
    pub(crate) fn finish(&mut self) {
        if !self.in_events {
            self.emit_snapshot(0);
        }
        self.stats.enters_without_exit += self.pending.clear();
        self.done = true;
    }

    /// A new section: state restarts as sysdig does for concatenated captures.
    pub(crate) fn new_section(&mut self) {
        self.stats.sections += 1;
        self.stats.enters_without_exit += self.pending.clear();
        self.live.clear();
        self.section = Section::default();
        self.in_events = false;
    }

    /// A metadata block (`buf` = its payload).
    pub(crate) fn on_metadata(&mut self, kind: BlockKind, buf: &[u8]) {
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

    /// An event block's payload. Returns [`Handled::Fresh`] or [`Handled::Built`] when
    /// an event was built in `out` (which holds an earlier event whose allocations are
    /// reused).
    #[inline(always)]
    pub(crate) fn handle_event(
        &mut self,
        payload: &[u8],
        v2: bool,
        has_flags: bool,
        large: bool,
        out: &mut Event,
    ) -> Handled {
        let prefix = if has_flags { 6 } else { 2 };
        let dump_flags = if has_flags && payload.len() >= 6 {
            u32::from_le_bytes([payload[2], payload[3], payload[4], payload[5]])
        } else {
            0
        };
        // The common events, once among the events of a section: plain reads and
        // writes of the table's shape.
        if v2 && !large && self.in_events {
            if let Some(p) = payload.get(prefix..) {
                if let Some(h) = self.handle_fixed(p, dump_flags, out) {
                    return h;
                }
            }
        }
        let Some(ev) = payload
            .get(prefix..)
            .and_then(|p| RawEvent::parse_with(p, v2, large, self.layouts))
        else {
            self.stats.malformed_events += 1;
            return Handled::Nothing;
        };
        // Nothing is queued before the section's first event is handled (callers hand
        // queued events out before the next block), and the decoder is not stopped.
        let quiet = if self.in_events {
            Handled::Quiet
        } else {
            self.in_events = true;
            self.emit_snapshot(ev.ts);
            Handled::Nothing
        };
        self.stats.raw_events += 1;
        self.last_ts = self.last_ts.max(ev.ts);
        let et = ev.etype;
        // `by_type` has one counter per entry of `types`.
        let info = match self.types.get(et as usize) {
            Some(info) => {
                if let Some(n) = self.stats.by_type.get_mut(et as usize) {
                    *n += 1;
                }
                info
            }
            None => &UNKNOWN_TYPE,
        };
        let m = info.meaning;
        let tid = ev.tid as i64;
        // Syscalls (the common case) go on below; scheduler switches and other
        // non-syscall events (common in real captures) are only counted.
        if !info.syscall {
            if m == Meaning::NotSyscall {
                self.stats.non_syscall_events += 1;
                return quiet;
            }
            return if self.not_syscall(m, &ev, out) {
                Handled::Built
            } else {
                Handled::Nothing
            };
        }
        if et.is_multiple_of(2) {
            if self.pending.enter(&ev, info.full_enter) {
                self.stats.enters_without_exit += 1;
            }
            return quiet;
        }
        let (enter, tracer_flag) =
            pair_exit(&mut self.pending, &mut self.stats, ev.tid, et, dump_flags);
        let enter_type = et - 1;
        let kind = match m {
            Meaning::Sys(k) => k,
            Meaning::Fcntl => decode::fcntl_kind(enter, enter_type),
            Meaning::Generic => decode::generic_kind(enter),
            _ => SyscallKind::Other(OTHER_EVENT_BASE + enter_type as u32),
        };
        let pid = self.live.pid_of(tid);
        let sc = syscall_slot(out);
        decode::build_syscall(
            sc,
            kind,
            enter,
            &ev,
            pid,
            tracer_flag,
            info.plain,
            &self.live,
            &mut self.spare,
        );
        // Reads, writes and most others change nothing (the common case).
        let pid = if info.tables {
            self.apply_syscall(sc, &ev, pid)
        } else {
            pid
        };
        out.ts = ev.ts;
        out.tid = tid;
        out.pid = pid;
        if quiet == Handled::Quiet {
            Handled::Fresh
        } else {
            Handled::Built
        }
    }

    /// [`Decoder::handle_event`] of an event (`ev`: v2 header, u16 lengths) whose type
    /// has a [`crate::shape::Shape`] (syscall enters not stored whole, plain exits),
    /// when the event has it and the decoder is among events: the same counts, pairing
    /// and event, without [`RawEvent`]. `None` (and nothing done) otherwise.
    #[inline(always)]
    fn handle_fixed(&mut self, ev: &[u8], dump_flags: u32, out: &mut Event) -> Option<Handled> {
        // (As long as [`crate::shape::Shape::view`] needs.)
        let h = ev.first_chunk::<38>()?;
        let et = u16::from_le_bytes([h[20], h[21]]);
        let info = self.types.get(et as usize)?;
        let shape = info.shape.as_ref()?;
        let enter = et.is_multiple_of(2);
        let ev = shape.view(ev)?;
        self.stats.raw_events += 1;
        let ts = ev.ts();
        if ts > self.last_ts {
            self.last_ts = ts;
        }
        if let Some(n) = self.stats.by_type.get_mut(et as usize) {
            *n += 1;
        }
        let tid = ev.tid();
        let s = ev.shape();
        if enter {
            // Shaped enters are syscalls not kept whole (with their fd in `fd`, if any).
            if self
                .pending
                .enter_io(tid, ts, et, ev.fixed_int(s.fd), ev.fixed_int(s.size))
            {
                self.stats.enters_without_exit += 1;
            }
            return Some(Handled::Quiet);
        }
        // Shaped exits are plain reads and writes, and bare exits (see
        // `decode::build_bare`), of syscalls whose kind is the type's.
        let kind = info.kind;
        if !info.plain {
            return Some(self.exit_bare(ts, ev.int(s.res), tid, et, info, dump_flags, out));
        }
        let (enter, tracer_flag) =
            pair_exit(&mut self.pending, &mut self.stats, tid, et, dump_flags);
        let tid = tid as i64;
        let pid = self.live.pid_of(tid);
        // (Set before the build: one value fewer held across it.)
        out.pid = pid;
        let sc = syscall_slot(out);
        // Plain reads and writes change no tables.
        decode::build_plain(
            sc,
            kind,
            enter,
            &ev,
            pid,
            tracer_flag,
            &self.live,
            &mut self.spare,
        );
        out.ts = ts;
        out.tid = tid;
        Some(Handled::Fresh)
    }

    /// [`Decoder::handle_fixed`] of a bare exit (see [`decode::build_bare`]) of type
    /// `et` (`info`; its exit's `ts` and `res`): the same pairing, counts and event as
    /// [`Decoder::handle_event`]. (Few, small arguments: the call costs little.)
    #[allow(clippy::too_many_arguments)]
    #[inline(never)]
    fn exit_bare(
        &mut self,
        ts: u64,
        res: Option<i64>,
        tid: u64,
        et: u16,
        info: &TypeInfo,
        dump_flags: u32,
        out: &mut Event,
    ) -> Handled {
        let exit = ExitHead { ts, res };
        let (kind, tables) = (info.kind, info.tables);
        let (enter, _) = pair_exit(&mut self.pending, &mut self.stats, tid, et, dump_flags);
        let tid = tid as i64;
        let pid = self.live.pid_of(tid);
        let sc = syscall_slot(out);
        decode::build_bare(sc, kind, enter, exit, &mut self.spare);
        // The one bare kind that changes the tables is `Close` (no bare kind teaches
        // ids: see `Decoder::apply_syscall`): what `Live::apply` does for it.
        if tables {
            debug_assert_eq!(kind, SyscallKind::Close);
            self.live.apply_close(sc, pid);
        }
        out.ts = exit.ts;
        out.tid = tid;
        out.pid = pid;
        Handled::Fresh
    }

    /// A syscall's effects on the live tables; the pid of its thread afterwards.
    #[inline(always)]
    fn apply_syscall(&mut self, sc: &Syscall, ev: &RawEvent<'_>, pid: i64) -> i64 {
        if decode::learns_ids(sc.kind) {
            self.apply_and_learn(sc, ev, pid)
        } else {
            self.live.apply(sc, pid);
            pid
        }
    }

    /// [`Decoder::apply_syscall`] of the syscalls that may teach ids.
    #[inline(never)]
    fn apply_and_learn(&mut self, sc: &Syscall, ev: &RawEvent<'_>, pid: i64) -> i64 {
        let tid = ev.tid as i64;
        self.live.apply(sc, pid);
        // The clone child / execve may have taught us the pid of this very thread.
        if decode::learn_ids(sc.kind, ev, tid, &mut self.live) {
            self.live.pid_of(tid)
        } else {
            pid
        }
    }

    /// An event whose meaning `m` is neither a syscall nor another non-syscall event:
    /// counted as unknown, or a thread exit built in `out` (true) for a `procexit`.
    #[cold]
    #[inline(never)]
    fn not_syscall(&mut self, m: Meaning, ev: &RawEvent<'_>, out: &mut Event) -> bool {
        match m {
            Meaning::ProcExit => self.proc_exit(ev, out),
            Meaning::NotSyscall => {
                self.stats.non_syscall_events += 1;
                false
            }
            _ => {
                self.stats.unknown_events += 1;
                false
            }
        }
    }

    /// A `procexit` event (`ev`): a thread exit built in `out` (true) for an enter
    /// event; an exit event of that type is unknown.
    #[cold]
    #[inline(never)]
    fn proc_exit(&mut self, ev: &RawEvent<'_>, out: &mut Event) -> bool {
        if !ev.etype.is_multiple_of(2) {
            self.stats.unknown_events += 1;
            return false;
        }
        let tid = ev.tid as i64;
        let pid = self.live.pid_of(tid);
        let status = decode::thread_exit(ev, tid, &mut self.live);
        self.pending.forget(ev.tid);
        if let EventKind::Syscall(sc) = &mut out.kind {
            // Keep the syscall's buffers for later events.
            decode::recycle(sc, &mut self.spare);
        }
        *out = Event {
            ts: ev.ts,
            tid,
            pid,
            kind: EventKind::ThreadExit { status },
        };
        true
    }
}

/// Pairs the exit of type `et` on `tid` with its thread's enter (consumed) and counts
/// what is unpaired; also whether the exit is flagged as a tracer write.
#[inline(always)]
fn pair_exit<'p>(
    pending: &'p mut Pairing,
    stats: &mut ReadStats,
    tid: u64,
    et: u16,
    dump_flags: u32,
) -> (Option<Stored<'p>>, bool) {
    // Another syscall's live enter is dropped (sysdig would mis-pair it).
    let (enter, dropped) = pending.take(tid, et);
    if dropped {
        stats.enters_without_exit += 1;
    }
    if enter.is_none() {
        stats.exits_without_enter += 1;
    }
    let tracer_flag = dump_flags & DF_TRACER != 0;
    if tracer_flag {
        stats.tracer_flagged += 1;
    }
    (enter, tracer_flag)
}

/// Makes `out` a syscall event (its fields are all set by the caller).
/// The syscall of the output slot `out`, made one first when the slot holds another
/// kind of event (kept: its buffers are reused).
#[inline(always)]
fn syscall_slot(out: &mut Event) -> &mut Syscall {
    if !matches!(out.kind, EventKind::Syscall(_)) {
        make_syscall(out);
    }
    match &mut out.kind {
        EventKind::Syscall(sc) => sc,
        _ => unreachable!("just set"),
    }
}

#[cold]
#[inline(never)]
fn make_syscall(out: &mut Event) {
    out.kind = EventKind::Syscall(Syscall::new(SyscallKind::Read, 0, 0));
}
