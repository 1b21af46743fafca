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

mod source;
pub use source::OpenSpanIter;

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
