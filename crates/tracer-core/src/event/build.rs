//! Builders for synthetic events, for tests and tools that need an event stream without
//! a capture: one [`Timeline`] per thread keeps a running clock, so each call appends
//! one exit event (`ts` after the syscall's cost) and advances time.
//!
//! ```
//! use tracer_core::event::build::Timeline;
//! use tracer_core::event::SyscallKind;
//!
//! let mut t = Timeline::new(100, 100, 1_000);
//! t.marker(">:t:work::");
//! t.io(SyscallKind::Read, 4, 512, 2_000);
//! t.marker("<:t:work::");
//! assert_eq!(t.events.len(), 3);
//! assert!(t.events.windows(2).all(|w| w[0].ts < w[1].ts));
//! ```

use super::{Event, EventKind, Syscall, SyscallDetail, SyscallKind, ThreadInfo};

/// The fd a [`Timeline`] writes markers to (`/dev/null` opened by the application).
pub const MARKER_FD: i64 = 3;

/// How a [`Timeline`]'s clock advances, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    /// User-space time after each syscall.
    pub after_syscall_ns: u64,
    /// Time a marker write takes.
    pub marker_ns: u64,
    /// User-space time after a marker write.
    pub after_marker_ns: u64,
}

impl Default for Pace {
    fn default() -> Self {
        Pace {
            after_syscall_ns: 200,
            marker_ns: 300,
            after_marker_ns: 100,
        }
    }
}

/// One thread's synthetic events, with a running clock.
#[derive(Debug, Clone)]
pub struct Timeline {
    /// Thread id of every event.
    pub tid: i64,
    /// Process id of every event.
    pub pid: i64,
    /// The clock: the time the next syscall enters.
    pub now: u64,
    /// How the clock advances.
    pub pace: Pace,
    /// The events so far, in time order.
    pub events: Vec<Event>,
}

impl Timeline {
    /// An empty timeline for thread `tid` of process `pid`, starting at `now`.
    pub fn new(tid: i64, pid: i64, now: u64) -> Timeline {
        Timeline {
            tid,
            pid,
            now,
            pace: Pace::default(),
            events: Vec::new(),
        }
    }

    /// The same timeline with another pace.
    pub fn with_pace(mut self, pace: Pace) -> Timeline {
        self.pace = pace;
        self
    }

    /// Appends an event of this thread at the current time (the clock does not move).
    pub fn push(&mut self, kind: EventKind) {
        self.events.push(Event {
            ts: self.now,
            tid: self.tid,
            pid: self.pid,
            kind,
        });
    }

    /// Appends `s` as a syscall entering now and taking `cost` ns (at least 1); its
    /// `enter_ts` is set here.
    pub fn syscall(&mut self, mut s: Syscall, cost: u64) {
        s.enter_ts = self.now;
        self.now += cost.max(1);
        self.push(EventKind::Syscall(s));
        self.now += self.pace.after_syscall_ns;
    }

    /// A syscall `kind` on `fd` returning `res`; I/O syscalls transfer `res` bytes
    /// (none when negative).
    pub fn sys(&mut self, kind: SyscallKind, fd: i64, res: i64, cost: u64, detail: SyscallDetail) {
        let mut s = Syscall::new(kind, self.now, res);
        s.fd = fd;
        s.detail = detail;
        if kind.io_dir().is_some() {
            s.size = res.max(0) as u64;
        }
        self.syscall(s, cost);
    }

    /// An I/O syscall `kind` moving `bytes` on `fd`.
    pub fn io(&mut self, kind: SyscallKind, fd: i64, bytes: u64, cost: u64) {
        self.sys(kind, fd, bytes as i64, cost, SyscallDetail::None);
    }

    /// `openat(AT_FDCWD, path, O_RDONLY)` returning `fd`.
    pub fn open(&mut self, path: &str, fd: i64, cost: u64) {
        let detail = open_detail(path, 0);
        self.sys(SyscallKind::Openat, -1, fd, cost, detail);
    }

    /// A successful marker write of `text` on [`MARKER_FD`].
    pub fn marker(&mut self, text: &str) {
        let enter = self.now;
        self.now += self.pace.marker_ns;
        let mut s = Syscall::new(SyscallKind::Write, enter, text.len() as i64);
        s.fd = MARKER_FD;
        s.size = text.len() as u64;
        s.data = Some(text.as_bytes().to_vec());
        self.push(EventKind::Syscall(s));
        self.now += self.pace.after_marker_ns;
    }

    /// A thread-table entry for this thread (parent `ptid`), at the current time.
    pub fn thread_info(&mut self, ptid: i64, comm: &str, exe: &str, args: &[&str], cwd: &str) {
        let info = ThreadInfo {
            tid: self.tid,
            pid: self.pid,
            ptid,
            comm: comm.into(),
            exe: exe.into(),
            args: args.iter().map(|a| a.to_string()).collect(),
            cwd: cwd.into(),
        };
        self.push(EventKind::ThreadInfo(info));
    }
}

/// The detail of `openat(AT_FDCWD, path, flags)`.
pub fn open_detail(path: &str, flags: u32) -> SyscallDetail {
    SyscallDetail::Open {
        path: path.into(),
        dirfd: Some(-100),
        flags,
        mode: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_runs_through_syscalls_and_markers() {
        let mut t = Timeline::new(7, 5, 1000);
        t.open("/tmp/f", 4, 50);
        t.marker(">:t:a::");
        t.io(SyscallKind::Write, 4, 10, 20);
        let ts: Vec<u64> = t.events.iter().map(|e| e.ts).collect();
        assert_eq!(ts, [1050, 1250 + 300, 1650 + 20]);
        match &t.events[2].kind {
            EventKind::Syscall(s) => {
                assert_eq!((s.enter_ts, s.fd, s.size, s.res), (1650, 4, 10, 10));
            }
            k => panic!("{k:?}"),
        }
        assert!(t.events.iter().all(|e| (e.tid, e.pid) == (7, 5)));
        assert_eq!(t.now, 1670 + 200);
    }
}
