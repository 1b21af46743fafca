//! Turning sysdig events into [`tracer_core::event`] events: what each event type
//! means to the reader, which enters are kept whole for their exits, and the reader's
//! thread bookkeeping learnt from exits. How an enter/exit pair becomes one syscall
//! is in [`crate::build`].

use std::sync::OnceLock;

use tracer_core::event::SyscallKind;

use crate::build::has_detail;
use crate::evtable::{EVENT_MAX, EVENT_TABLE};
use crate::pairing::Stored;
use crate::params::{Field, RawEvent};
use crate::shape::{Loc, Shape};
pub(crate) use crate::spare::{recycle, Spare};

/// Named sysdig event types that tracer-core does not model are reported as
/// `SyscallKind::Other(OTHER_EVENT_BASE + enter event type id)`; generic `syscall`
/// events (types 0/1) as `Other(native syscall number)`.
pub const OTHER_EVENT_BASE: u32 = 0x1_0000;

/// What an event type means to the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Meaning {
    /// A syscall tracer-core models.
    Sys(SyscallKind),
    /// `fcntl`: a dup when `cmd` is `F_DUPFD`, otherwise `Other`.
    Fcntl,
    /// Generic `syscall` event (kind from the native syscall number).
    Generic,
    /// `procexit`.
    ProcExit,
    /// A syscall tracer-core does not model.
    OtherSys,
    /// Not a syscall (scheduler switch, signal delivery, container events…): skipped.
    NotSyscall,
    /// Unused slot or beyond the table: skipped and counted as unknown.
    Unknown,
}

fn meaning_of_name(id: u16, name: &str) -> Meaning {
    use SyscallKind::*;
    let k = match name {
        "read" => Read,
        "write" => Write,
        "pread" => Pread,
        "pwrite" => Pwrite,
        "readv" => Readv,
        "writev" => Writev,
        "preadv" => Preadv,
        "pwritev" => Pwritev,
        "send" => Send,
        "recv" => Recv,
        "sendto" => Sendto,
        "recvfrom" => Recvfrom,
        "sendmsg" => Sendmsg,
        "recvmsg" => Recvmsg,
        "sendfile" => Sendfile,
        "open" => Open,
        "openat" => Openat,
        "openat2" => Openat2,
        "creat" => Creat,
        "close" => Close,
        "dup" => Dup,
        "socket" => Socket,
        "connect" => Connect,
        // accept4 has its own ids but sysdig names it "accept".
        "accept" if matches!(id, 56 | 57 | 248 | 249) => Accept4,
        "accept" => Accept,
        "bind" => Bind,
        "listen" => Listen,
        "pipe" => Pipe,
        "clone" => Clone,
        "clone3" => Clone3,
        "fork" => Fork,
        "vfork" => Vfork,
        "execve" | "execveat" => Execve,
        "fcntl" => return Meaning::Fcntl,
        "syscall" => return Meaning::Generic,
        "procexit" => return Meaning::ProcExit,
        "container" | "cpu_hotplug" | "drop" | "infra" | "k8s" | "mesos" | "notification"
        | "page_fault" | "pluginevent" | "procinfo" | "signaldeliver" | "switch"
        | "sysdigevent" | "tracer" => return Meaning::NotSyscall,
        n if n.starts_with("NA") => return Meaning::Unknown,
        _ => return Meaning::OtherSys,
    };
    Meaning::Sys(k)
}

/// Meanings of all event type ids (index = id; `EVENT_MAX` entries), computed once.
/// Hot loops keep the returned reference.
pub(crate) fn meanings() -> &'static [Meaning; EVENT_MAX as usize] {
    static M: OnceLock<[Meaning; EVENT_MAX as usize]> = OnceLock::new();
    M.get_or_init(|| std::array::from_fn(|i| meaning_of_name(i as u16, EVENT_TABLE[i].name)))
}

/// What the reader needs to know about one event type id, from one table lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TypeInfo {
    /// What the type means.
    pub(crate) meaning: Meaning,
    /// The kind of the syscall of an exit of this type, when it does not depend on
    /// its enter (`Sys` and `OtherSys` meanings; `Other(0)` otherwise).
    pub(crate) kind: SyscallKind,
    /// The meaning is a syscall (`Sys`, `OtherSys`, `Fcntl` or `Generic`).
    pub(crate) syscall: bool,
    /// An enter of this type is stored whole for its exit: when the exit's syscall
    /// reads more of its enter than the fd and size ([`reads_enter`]).
    pub(crate) full_enter: bool,
    /// An exit of this type is a plain read or write ([`plain_io`]): no detail to build.
    pub(crate) plain: bool,
    /// An exit of this type may change the live tables or teach ids
    /// ([`changes_tables`] of any kind it can become).
    pub(crate) tables: bool,
    /// The fixed layout (see [`crate::shape`]) of the events the decoder handles
    /// without [`RawEvent`] when they have it: syscall enters not stored whole (whose
    /// `fd`, if any, is a fixed-size `fd` parameter), plain exits and the exits whose
    /// syscall has no size, payload or detail ([`build_bare`]).
    pub(crate) shape: Option<Shape>,
}

/// The [`TypeInfo`] of type ids beyond the table.
pub(crate) const UNKNOWN_TYPE: TypeInfo = TypeInfo {
    meaning: Meaning::Unknown,
    kind: SyscallKind::Other(0),
    syscall: false,
    full_enter: true,
    plain: false,
    tables: false,
    shape: None,
};

/// The [`TypeInfo`] of all event type ids (index = id), computed once.
pub(crate) fn type_infos() -> &'static [TypeInfo; EVENT_MAX as usize] {
    static T: OnceLock<[TypeInfo; EVENT_MAX as usize]> = OnceLock::new();
    T.get_or_init(|| {
        let m = meanings();
        let plain = |i: usize| matches!(m.get(i), Some(Meaning::Sys(k)) if plain_io(*k));
        let syscall = |i: usize| {
            matches!(
                m[i],
                Meaning::Sys(_) | Meaning::OtherSys | Meaning::Fcntl | Meaning::Generic
            )
        };
        // Exits whose syscall is only its common fields (see `build_bare`).
        let bare = |i: usize| match m[i] {
            Meaning::Sys(k) => !plain_io(k) && k.io_dir().is_none() && !has_detail(k),
            Meaning::OtherSys => true,
            _ => false,
        };
        // The exit of enter `i` is `i + 1` (pairs are checked).
        let full_enter = |i: usize| m.get(i + 1).is_none_or(|x| reads_enter(*x));
        let shape = |i: usize| {
            let info = &EVENT_TABLE[i];
            let s = Shape::of(info)?;
            let fits = if i.is_multiple_of(2) {
                // The enter's `fd`, else its `out_fd`, is stored, and its `size`: both
                // read as fixed-size integers (`Fixed::fixed_int`).
                let fd_ok = s.fd.is_fixed()
                    || (s.fd == Loc::ABSENT && info.params.iter().all(|(n, _)| *n != "out_fd"));
                let size_ok = s.size.is_fixed() || s.size == Loc::ABSENT;
                syscall(i) && !full_enter(i) && fd_ok && size_ok
            } else {
                // A plain exit's `res` and `size` are read as fixed-size integers
                // (`Fixed::fixed_int`, see `build::ExitParams`).
                let plain_ok = s.res.is_fixed() && s.size != Loc::VAR;
                (plain(i) && plain_ok) || bare(i)
            };
            fits.then_some(s)
        };
        std::array::from_fn(|i| TypeInfo {
            meaning: m[i],
            kind: match m[i] {
                Meaning::Sys(k) => k,
                Meaning::OtherSys if i % 2 == 1 => {
                    SyscallKind::Other(OTHER_EVENT_BASE + (i - 1) as u32)
                }
                _ => SyscallKind::Other(0),
            },
            syscall: syscall(i),
            full_enter: full_enter(i),
            plain: plain(i),
            tables: match m[i] {
                Meaning::Sys(k) => changes_tables(k),
                // `FcntlDup` or `Other`.
                Meaning::Fcntl => true,
                _ => false,
            },
            shape: shape(i),
        })
    })
}

/// True when the syscall of an exit of meaning `m` is built from more of its enter
/// than the fd, size and timestamp (see `build_other` and `build_detail` in [`crate::build`],
/// [`fcntl_kind`] and [`generic_kind`]); then the enter is stored whole.
fn reads_enter(m: Meaning) -> bool {
    use SyscallKind::*;
    match m {
        Meaning::Sys(k) => matches!(
            k,
            Open | Openat
                | Openat2
                | Creat
                | Socket
                | Connect
                | Sendfile
                | Execve
                | Sendto
                | Sendmsg
        ),
        Meaning::OtherSys => false,
        // Fcntl and Generic read theirs; the others are no syscalls (kept whole as
        // before, to be safe).
        _ => true,
    }
}

pub(crate) use crate::build::{build_bare, build_plain, build_syscall, ExitHead};
pub(crate) use crate::live::{file_kind, FdKind, Live};

/// Reads and writes without addresses: no detail, no effect on the live tables, nothing
/// learnt about ids (the fast path of the common case).
#[inline]
pub(crate) fn plain_io(kind: SyscallKind) -> bool {
    use SyscallKind::*;
    matches!(
        kind,
        Read | Write | Pread | Pwrite | Readv | Writev | Preadv | Pwritev | Send | Recv
    )
}

/// Syscalls that may change the live tables ([`Live::apply`]) or teach the ids of their
/// thread ([`learn_ids`]); the others leave both as they are.
#[inline]
pub(crate) fn changes_tables(kind: SyscallKind) -> bool {
    use SyscallKind::*;
    matches!(
        kind,
        Open | Openat
            | Openat2
            | Creat
            | Socket
            | Accept
            | Accept4
            | Pipe
            | Dup
            | Dup2
            | Dup3
            | FcntlDup
            | Close
            | Clone
            | Clone3
            | Fork
            | Vfork
            | Execve
    )
}

/// The kinds whose exits may teach ids ([`learn_ids`]): clones and execve.
#[inline(always)]
pub(crate) fn learns_ids(kind: SyscallKind) -> bool {
    use SyscallKind::*;
    matches!(kind, Clone | Clone3 | Fork | Vfork | Execve)
}

/// Ids an exit event teaches about its own thread: the child side of a clone and a
/// successful execve carry the thread's pid.
/// Returns true when it learnt something.
#[inline]
pub(crate) fn learn_ids(kind: SyscallKind, exit: &RawEvent<'_>, tid: i64, live: &mut Live) -> bool {
    if learns_ids(kind) && exit.res() == Some(0) {
        if let Some(p) = exit.int(Field::Pid) {
            live.set_thread(tid, p);
            return true;
        }
    }
    false
}

/// A procexit: the thread leaves the tables.
pub(crate) fn thread_exit(ev: &RawEvent<'_>, tid: i64, live: &mut Live) -> i64 {
    live.exit_thread(tid);
    ev.int(Field::Status).unwrap_or(0)
}

/// Kind of an `fcntl` pair (`F_DUPFD` = 1 in sysdig's `PPM_FCNTL_*` numbering).
pub(crate) fn fcntl_kind(enter: Option<Stored<'_>>, enter_type: u16) -> SyscallKind {
    match enter.and_then(|e| e.int(Field::Cmd)) {
        Some(1) => SyscallKind::FcntlDup,
        _ => SyscallKind::Other(OTHER_EVENT_BASE + enter_type as u32),
    }
}

/// The native syscall number of a generic `syscall` event whose number is unknown (its
/// enter is missing): no syscall has it, so it never gets a syscall's name.
pub const UNKNOWN_NATIVE: u32 = 0xFFFF;

/// Kind of a generic `syscall` pair: the native syscall number from the enter event
/// ([`UNKNOWN_NATIVE`] without it).
pub(crate) fn generic_kind(enter: Option<Stored<'_>>) -> SyscallKind {
    SyscallKind::Other(
        enter
            .and_then(|e| e.int(Field::NativeId))
            .map_or(UNKNOWN_NATIVE, |n| n as u32),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shaped_fields_read_as_fixed_integers_have_fixed_sizes() {
        for (i, t) in type_infos().iter().enumerate() {
            let Some(s) = &t.shape else { continue };
            if i % 2 == 0 {
                assert!(s.fd != Loc::VAR && s.size != Loc::VAR, "enter {i}");
            } else if t.plain {
                assert!(s.res.is_fixed() && s.size != Loc::VAR, "exit {i}");
            }
        }
        // The plain reads and writes have their shapes.
        for i in [6, 7, 8, 9, 112, 113] {
            assert!(type_infos()[i].shape.is_some(), "type {i}");
        }
    }

    #[test]
    fn the_one_bare_exit_that_changes_tables_is_close() {
        // (`Decoder::exit_bare` relies on it.)
        for (i, t) in type_infos().iter().enumerate() {
            if i % 2 == 1 && t.shape.is_some() && !t.plain && t.tables {
                assert_eq!(t.meaning, Meaning::Sys(SyscallKind::Close), "type {i}");
            }
        }
    }

    #[test]
    fn generic_exit_without_enter_is_unknown_not_read() {
        assert_eq!(generic_kind(None), SyscallKind::Other(UNKNOWN_NATIVE));
        assert_eq!(meanings()[0], Meaning::Generic);
        assert_eq!(meanings()[1], Meaning::Generic);
    }
}
