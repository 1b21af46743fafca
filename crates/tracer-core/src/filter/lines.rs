//! From the engine's [`EventView`]s to sysdig-style output *lines*, each an
//! [`EventSource`] that filters and formats read.
//!
//! sysdig shows a syscall as two events, its enter (`>`) and its exit (`<`), and numbers
//! every event it reads, shown or not. [`LineSplitter`] reproduces those conventions so
//! that `evt.num`, `evt.dir` and event counts agree with `sysdig -r`:
//! - an ordinary syscall → an enter line (enter timestamp) and an exit line; a clone
//!   exit in the child (`res = 0`) → only the exit line;
//! - a marker write → its write-enter line, shown only while the fd is not yet a
//!   decided marker fd (the first marker on an fd, or a flagged write on an fd the
//!   engine did not know), then one `tracer` line per marker (C2: several markers in
//!   one write take one number each);
//! - a write kept as a pending fragment → two numbers, no line (sysdig hides it);
//! - a thread exit → one `procexit` enter line;
//! - snapshots and loss notices → nothing (they are not events in sysdig's output).
//!
//! Enter lines show the state *before* the syscall, as sysdig does: the fd as it was
//! (a `connect` enter shows the unconnected socket), the identity before an `execve`,
//! and the open spans before a marker. fd-creating syscalls (open family, socket,
//! accept) have `fd.num = -1` and no fd name on their enter line; clone, execve, exit
//! and pipe lines and marker lines have no fd.

use std::rc::Rc;

use rustc_hash::FxHashMap;

use super::context::{EventSource, EvtDir, FdFacts, MarkerFacts, SpanFacts, ThreadFacts};
use crate::event::{EventKind, FdTarget, Syscall, SyscallKind};
use crate::event_view::{EventClass, EventView, TracerView};
use crate::fds::{FdInfo, FdKind};
use crate::grammar::Direction;
use crate::spans::OpenRecord;
use crate::threads::{ThreadState, ThreadTable};

/// What kind of line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// Enter of an ordinary syscall.
    SyscallEnter,
    /// Exit of an ordinary syscall.
    SyscallExit,
    /// The shown enter of a marker write.
    MarkerWriteEnter,
    /// A marker (`tracer`) event.
    Marker,
    /// A thread exit (`procexit`).
    ProcExit,
}

/// For [`SyscallKind::Other`] numbers: the sysdig event name and whether the event
/// operates on its `fd` argument (sysdig's `EF_USES_FD`), if known.
pub type TypeNames = fn(u32) -> Option<(&'static str, bool)>;

/// An fd as it was before an event.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FdState {
    target: FdTarget,
    v6: bool,
    /// `fd.name`, formatted once per change of the fd.
    name: Option<String>,
}

/// A thread's identity as it was before an event.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Ident {
    comm: String,
    exe: String,
    args: Vec<String>,
}

/// One output line over an engine view.
#[derive(Debug, Clone)]
pub struct Line<'v, 'a> {
    /// The engine's view this line comes from.
    pub view: &'v EventView<'a>,
    /// Line kind.
    pub kind: LineKind,
    /// sysdig-style event number.
    pub num: u64,
    other_names: Option<TypeNames>,
    /// Enter lines: the fd before the event (`None` = the fd was unknown).
    pre_fd: Option<Rc<FdState>>,
    /// Exit lines: the fd after the event (with its formatted name), when known.
    post_fd: Option<Rc<FdState>>,
    /// Enter line of an `execve`: the identity before it.
    pre_ident: Option<Rc<Ident>>,
    /// Exit line of a failed open: the path it tried (sysdig's `fd.name` then).
    creator_name: Option<String>,
}

/// Assigns sysdig-style numbers and splits views into lines; keep one per stream.
#[derive(Debug, Default)]
pub struct LineSplitter {
    next: u64,
    /// Last known state of every fd, by (pid, fd).
    fds: FxHashMap<(i64, i64), Rc<FdState>>,
    /// (pid, fd) of fds on which a marker has been seen (their write enters are hidden).
    marker_fds: FxHashMap<(i64, i64), ()>,
    /// Last known identity of every thread.
    idents: FxHashMap<i64, Rc<Ident>>,
    other_names: Option<TypeNames>,
}

fn v6_of(info: &FdInfo) -> bool {
    info.kind == FdKind::Ipv6
}

impl LineSplitter {
    /// A splitter whose first event is number 1.
    pub fn new() -> Self {
        LineSplitter {
            next: 1,
            ..Default::default()
        }
    }

    /// Uses `names` for [`SyscallKind::Other`] syscalls (a capture reader knows the
    /// real event names and flags).
    pub fn with_type_names(mut self, names: TypeNames) -> Self {
        self.other_names = Some(names);
        self
    }

    fn take(&mut self, n: u64) -> u64 {
        let first = self.next.max(1);
        self.next = first + n;
        first
    }

    /// Remembers the state after `view` for the enter lines of later events.
    fn remember(&mut self, view: &EventView<'_>) {
        let pid = view.event.pid;
        // A flagged marker write on an fd sysdig does not know leaves it unknown.
        let learn_fd = !matches!(view.class, EventClass::Tracer(_))
            || self.fds.contains_key(&(pid, view.fd_num));
        if let (Some(info), true) = (view.fd, view.fd_num >= 0 && learn_fd) {
            let key = (pid, view.fd_num);
            let same = self
                .fds
                .get(&key)
                .is_some_and(|s| s.target == info.target && s.v6 == v6_of(info));
            if !same {
                self.fds.insert(
                    key,
                    Rc::new(FdState {
                        // The engine's interned name; an fd whose target the engine
                        // never learnt is one sysdig does not know (no name).
                        name: (info.target != FdTarget::Unknown)
                            .then(|| view.fds.name(info.name_id).to_owned()),
                        target: info.target.clone(),
                        v6: v6_of(info),
                    }),
                );
            }
        }
        if let EventKind::Syscall(sc) = &view.event.kind {
            if let (true, crate::event::SyscallDetail::Pipe { read_fd, write_fd }) =
                (sc.kind == SyscallKind::Pipe && sc.res >= 0, &sc.detail)
            {
                for fd in [*read_fd, *write_fd] {
                    self.fds.insert((pid, fd), Rc::new(pipe_state()));
                }
            }
            if sc.kind == SyscallKind::Close && sc.res >= 0 {
                self.fds.remove(&(pid, sc.fd));
                self.marker_fds.remove(&(pid, sc.fd));
            }
        }
        if let Some(t) = view.thread {
            let same = self
                .idents
                .get(&t.tid)
                .is_some_and(|i| i.comm == t.comm && i.exe == t.exe && i.args == t.args);
            if !same {
                self.idents.insert(
                    t.tid,
                    Rc::new(Ident {
                        comm: t.comm.clone(),
                        exe: t.exe.clone(),
                        args: t.args.clone(),
                    }),
                );
            }
        }
        if matches!(view.class, EventClass::ThreadExit) {
            self.idents.remove(&view.event.tid);
        }
    }

    /// sysdig's `fd.name` on the exit of a failed open: the path it tried, resolved
    /// against the working directory (or the `dirfd` directory, when known).
    fn failed_open_name(&self, view: &EventView<'_>, sc: &Syscall) -> Option<String> {
        use SyscallKind::*;
        if sc.res >= 0 || !matches!(sc.kind, Open | Openat | Openat2 | Creat) {
            return None;
        }
        let crate::event::SyscallDetail::Open { path, dirfd, .. } = &sc.detail else {
            return None;
        };
        let base = match dirfd {
            _ if path.starts_with('/') => "",
            None | Some(-100) => view.thread.map_or("", |t| t.cwd.as_str()),
            Some(d) => match self.fds.get(&(view.event.pid, *d)).map(|s| &s.target) {
                Some(FdTarget::Directory(p) | FdTarget::File(p)) => p.as_str(),
                _ => "",
            },
        };
        Some(crate::fds::resolve_path(base, path))
    }

    /// The lines of one view, in order (at most two; nothing is allocated).
    pub fn split<'v, 'a>(&mut self, view: &'v EventView<'a>) -> SplitLines<'v, 'a> {
        self.split_array(view).into_iter().flatten()
    }

    fn split_array<'v, 'a>(&mut self, view: &'v EventView<'a>) -> [Option<Line<'v, 'a>>; 2] {
        let pid = view.event.pid;
        let sc_fd = match &view.event.kind {
            EventKind::Syscall(sc) => sc.fd,
            _ => -1,
        };
        let other_names = self.other_names;
        let line = move |kind, num| Line {
            view,
            kind,
            num,
            other_names,
            pre_fd: None,
            post_fd: None,
            pre_ident: None,
            creator_name: None,
        };
        let out = match &view.class {
            EventClass::Syscall(s) => {
                if child_clone_exit(s.syscall) {
                    [Some(line(LineKind::SyscallExit, self.take(1))), None]
                } else {
                    let n = self.take(2);
                    let mut enter = line(LineKind::SyscallEnter, n);
                    enter.pre_fd = self.fds.get(&(pid, sc_fd)).cloned();
                    if s.syscall.kind == SyscallKind::Execve {
                        enter.pre_ident = self.idents.get(&view.event.tid).cloned();
                    }
                    self.remember(view);
                    let mut exit = line(LineKind::SyscallExit, n + 1);
                    exit.post_fd = self.fds.get(&(pid, view.fd_num)).cloned();
                    exit.creator_name = self.failed_open_name(view, s.syscall);
                    return [Some(enter), Some(exit)];
                }
            }
            EventClass::Tracer(t) => {
                let mut enter_line = None;
                if t.index_in_write == 0 {
                    let n = self.take(1);
                    let key = (pid, sc_fd);
                    if !self.marker_fds.contains_key(&key) {
                        let mut enter = line(LineKind::MarkerWriteEnter, n);
                        enter.pre_fd = self.fds.get(&key).cloned();
                        enter_line = Some(enter);
                    }
                    // sysdig marks only fds it knows; a flagged write on an unknown fd
                    // keeps showing its enter.
                    if self.fds.contains_key(&key) && !t.invalid {
                        self.marker_fds.insert(key, ());
                    }
                }
                let marker = Some(line(LineKind::Marker, self.take(1)));
                match enter_line {
                    Some(e) => [Some(e), marker],
                    None => [marker, None],
                }
            }
            EventClass::HiddenWrite(_) => {
                self.take(2);
                [None, None]
            }
            EventClass::ThreadExit => [Some(line(LineKind::ProcExit, self.take(1))), None],
            EventClass::ThreadInfo(_) | EventClass::FdSnapshot | EventClass::Lost(_) => {
                [None, None]
            }
        };
        self.remember(view);
        out
    }
}

/// The lines of one view ([`LineSplitter::split`]): at most two, in order.
pub type SplitLines<'v, 'a> = std::iter::Flatten<std::array::IntoIter<Option<Line<'v, 'a>>, 2>>;

/// The state of a `pipe()` fd (sysdig names it with the empty string).
fn pipe_state() -> FdState {
    FdState {
        target: FdTarget::Pipe,
        v6: false,
        name: Some(String::new()),
    }
}

/// The target of every `pipe()` fd.
static PIPE: FdTarget = FdTarget::Pipe;

/// A clone-family exit in the child (res 0): sysdig shows only the exit.
fn child_clone_exit(sc: &Syscall) -> bool {
    matches!(
        sc.kind,
        SyscallKind::Clone | SyscallKind::Clone3 | SyscallKind::Fork | SyscallKind::Vfork
    ) && sc.res == 0
}

fn span_facts<'a>(r: &'a OpenRecord, threads: &ThreadTable) -> SpanFacts<'a> {
    SpanFacts {
        key: r.seq,
        id: r.id,
        tags: &r.tags,
        args: &r.args,
        enter_ts: r.enter_ts,
        writer_tid: r.writer_tid,
        writer_pid: r.writer_pid,
        writer_alive: threads.get(r.writer_tid).is_some(),
    }
}

/// Iterator over the open spans of a line.
pub struct OpenSpanIter<'s> {
    first: Option<SpanFacts<'s>>,
    skip_key: Option<u64>,
    inner: Box<dyn Iterator<Item = &'s OpenRecord> + 's>,
    threads: &'s ThreadTable,
}

impl<'s> Iterator for OpenSpanIter<'s> {
    type Item = SpanFacts<'s>;
    fn next(&mut self) -> Option<SpanFacts<'s>> {
        if let Some(f) = self.first.take() {
            return Some(f);
        }
        loop {
            let r = self.inner.next()?;
            if Some(r.seq) != self.skip_key {
                return Some(span_facts(r, self.threads));
            }
        }
    }
}

impl<'a> Line<'_, 'a> {
    fn raw_syscall(&self) -> Option<&'a Syscall> {
        match &self.view.event.kind {
            EventKind::Syscall(sc) => Some(sc),
            _ => None,
        }
    }

    fn tracer(&self) -> Option<&TracerView<'a>> {
        (self.kind == LineKind::Marker)
            .then(|| self.view.tracer())
            .flatten()
    }

    fn is_enter_line(&self) -> bool {
        matches!(
            self.kind,
            LineKind::SyscallEnter | LineKind::MarkerWriteEnter
        )
    }

    fn thread_state(&self) -> Option<&'a ThreadState> {
        self.view.thread
    }
}

impl<'a> EventSource for Line<'_, 'a> {
    type Spans<'s>
        = OpenSpanIter<'s>
    where
        Self: 's;

    fn num(&self) -> u64 {
        self.num
    }

    fn ts(&self) -> u64 {
        match (self.is_enter_line(), self.raw_syscall()) {
            (true, Some(sc)) => sc.enter_ts,
            _ => self.view.event.ts,
        }
    }

    fn dir(&self) -> EvtDir {
        match self.kind {
            LineKind::SyscallEnter | LineKind::MarkerWriteEnter | LineKind::ProcExit => {
                EvtDir::Enter
            }
            LineKind::SyscallExit => EvtDir::Exit,
            LineKind::Marker => match self.view.dir_char() {
                '>' => EvtDir::Enter,
                _ => EvtDir::Exit,
            },
        }
    }

    fn type_name(&self) -> &str {
        match self.kind {
            LineKind::Marker => "tracer",
            LineKind::ProcExit => "procexit",
            _ => match self.raw_syscall().map(|s| s.kind) {
                Some(SyscallKind::Other(n)) => match self.other_names.and_then(|f| f(n)) {
                    Some((name, _)) => name,
                    // A native syscall number (generic events, the probe's raw
                    // syscalls): its name, as sysdig shows it.
                    None => crate::syscall_names::x86_64_name(n).unwrap_or("other"),
                },
                // sysdig names the accept4 events "accept".
                Some(SyscallKind::Accept4) => "accept",
                Some(k) => k.name(),
                None => "other",
            },
        }
    }

    fn syscall(&self) -> Option<&Syscall> {
        match self.kind {
            LineKind::SyscallEnter | LineKind::SyscallExit | LineKind::MarkerWriteEnter => {
                self.raw_syscall()
            }
            _ => None,
        }
    }

    fn thread(&self) -> ThreadFacts<'_> {
        let ev = self.view.event;
        let threads = self.view.spans.threads;
        match self.thread_state() {
            Some(t) => {
                // proc.ppid: the parent of the process (its main thread's parent).
                let main = threads.get(t.pid).unwrap_or(t);
                let ppid =
                    (main.ptid >= 0).then(|| threads.get(main.ptid).map_or(main.ptid, |p| p.pid));
                let (comm, exe, args) = match &self.pre_ident {
                    Some(i) => (i.comm.as_str(), i.exe.as_str(), i.args.as_slice()),
                    None => (t.comm.as_str(), t.exe.as_str(), t.args.as_slice()),
                };
                ThreadFacts {
                    tid: t.tid,
                    pid: t.pid,
                    ptid: t.ptid,
                    ppid,
                    comm,
                    exe,
                    args,
                    wrote_marker: t.has_tracer_state,
                }
            }
            None => ThreadFacts {
                tid: ev.tid,
                pid: ev.pid,
                ptid: -1,
                ppid: None,
                comm: "",
                exe: "",
                args: &[],
                wrote_marker: false,
            },
        }
    }

    fn fd(&self) -> Option<FdFacts<'_>> {
        use SyscallKind::*;
        let sc = self.syscall()?;
        let enter = self.is_enter_line();
        let post = || match &self.post_fd {
            Some(st) => Some(FdFacts {
                num: self.view.fd_num,
                target: Some(&st.target),
                v6: st.v6,
                typechar_hint: None,
                name: st.name.as_deref(),
            }),
            None => self.view.fd.map(|f| FdFacts {
                num: self.view.fd_num,
                target: Some(&f.target),
                v6: v6_of(f),
                typechar_hint: None,
                name: (f.target != FdTarget::Unknown).then(|| self.view.fds.name(f.name_id)),
            }),
        };
        let pre = |num: i64| FdFacts {
            num,
            target: self.pre_fd.as_ref().map(|s| &s.target),
            v6: self.pre_fd.as_ref().is_some_and(|s| s.v6),
            typechar_hint: None,
            name: self.pre_fd.as_ref().and_then(|s| s.name.as_deref()),
        };
        match sc.kind {
            Clone | Clone3 | Fork | Vfork | Execve | Exit | ExitGroup => None,
            // sysdig: the enter has fd -1 and type `p`; the exit reports the write end.
            Pipe => Some(match &sc.detail {
                crate::event::SyscallDetail::Pipe { write_fd, .. } if !enter && sc.res >= 0 => {
                    FdFacts {
                        num: *write_fd,
                        target: Some(&PIPE),
                        v6: false,
                        typechar_hint: None,
                        name: Some(""),
                    }
                }
                _ => FdFacts {
                    num: -1,
                    target: None,
                    v6: false,
                    typechar_hint: Some("p"),
                    name: None,
                },
            }),
            Open | Openat | Openat2 | Creat | Socket | Accept | Accept4 => {
                let hint = match sc.kind {
                    Socket | Accept | Accept4 => "4",
                    _ => "f",
                };
                let bare = |num| FdFacts {
                    num,
                    target: None,
                    v6: false,
                    typechar_hint: Some(hint),
                    name: if enter {
                        None
                    } else {
                        self.creator_name.as_deref()
                    },
                };
                // sysdig: fd.num is -1 on the enter and on a failed exit.
                if enter || sc.res < 0 {
                    Some(bare(-1))
                } else {
                    post().or(Some(bare(sc.res)))
                }
            }
            Other(n) => {
                let uses_fd = self.other_names.and_then(|f| f(n)).map(|(_, u)| u);
                if uses_fd == Some(false) || (sc.fd < 0 && (enter || uses_fd.is_none())) {
                    return None;
                }
                // sysdig reads the fd from the enter event; when that has none
                // (setsockopt, getsockopt) the exit reports fd -1, an fd it does not know.
                if sc.fd < 0 {
                    return Some(pre(-1));
                }
                Some(if enter {
                    pre(sc.fd)
                } else {
                    post().unwrap_or(pre(sc.fd))
                })
            }
            _ if sc.fd >= 0 => Some(if enter {
                pre(sc.fd)
            } else {
                post().unwrap_or(pre(sc.fd))
            }),
            _ => None,
        }
    }

    fn is_marker(&self) -> bool {
        self.kind == LineKind::Marker
    }

    fn marker(&self) -> Option<MarkerFacts<'_>> {
        let t = self.tracer()?;
        let threads = self.view.spans.threads;
        Some(MarkerFacts {
            dir: t.dir,
            id: t.id,
            tags: t.tags,
            args: t.args,
            record: t.record.map(|r| span_facts(r, threads)),
        })
    }

    /// sysdig's `evt.info`, approximated as described in `filter/info.rs`.
    fn info(&self) -> Option<String> {
        Some(super::info::evt_info(self))
    }

    fn open_spans(&self) -> OpenSpanIter<'_> {
        let threads = self.view.spans.threads;
        let (mut first, mut skip_key) = (None, None);
        if self.kind == LineKind::MarkerWriteEnter {
            // Before the marker: its own enter record did not exist yet; the record an
            // exit closes was still open.
            if let Some(t) = self.view.tracer() {
                match (t.dir, t.record) {
                    (Direction::Enter, Some(r)) => skip_key = Some(r.seq),
                    (Direction::Exit, Some(r)) => first = Some(span_facts(r, threads)),
                    _ => {}
                }
            }
        }
        OpenSpanIter {
            first,
            skip_key,
            inner: Box::new(self.view.spans.iter()),
            threads,
        }
    }
}
