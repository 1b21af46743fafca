//! Field extraction: the value of a field on one event line, as `-p` formats, chisels
//! and views see it (`None` = NULL). Filtering uses the same values except for
//! `evtin.*`, whose filter semantics differ (see [`super::eval`]).

use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::net::{IpAddr, SocketAddr};

use super::context::{EventSource, FdFacts, MarkerFacts, SpanFacts, ThreadFacts};
use super::errno;
use super::fields::{FieldArg, FieldKind, FieldRef, Scope, SpanProp};
use crate::event::{FdTarget, IoDir, L4Proto, SyscallKind};
use crate::grammar::Direction;
use crate::views::{format_span_time, format_time};

/// A field value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    /// Any numeric type.
    Num(i128),
    /// Text (bytes; markers need not be UTF-8).
    Str(Cow<'a, [u8]>),
    /// Boolean.
    Bool(bool),
    /// IP address.
    Ip(IpAddr),
}

impl<'a> Value<'a> {
    fn text(s: &'a str) -> Self {
        Value::Str(Cow::Borrowed(s.as_bytes()))
    }
    fn bytes(b: &'a [u8]) -> Self {
        Value::Str(Cow::Borrowed(b))
    }
    fn owned(s: String) -> Self {
        Value::Str(Cow::Owned(s.into_bytes()))
    }
}

impl fmt::Display for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Num(n) => write!(f, "{n}"),
            Value::Str(s) => f.write_str(&String::from_utf8_lossy(s)),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

fn join_tags(tags: &[Vec<u8>]) -> Vec<u8> {
    tags.join(&b'.')
}

fn join_args(args: &[(Vec<u8>, Vec<u8>)], sep: u8) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, (k, v)) in args.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(k);
        out.push(sep);
        out.extend_from_slice(v);
    }
    out
}

fn index<T>(items: &[T], i: i64) -> Option<&T> {
    let idx = if i < 0 {
        items.len().checked_sub(i.unsigned_abs() as usize)?
    } else {
        i as usize
    };
    items.get(idx)
}

fn arg_by<'a>(args: &'a [(Vec<u8>, Vec<u8>)], arg: &FieldArg) -> Option<&'a [u8]> {
    match arg {
        FieldArg::Index(i) => index(args, *i).map(|(_, v)| v.as_slice()),
        FieldArg::Name(n) => args.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_slice()),
        FieldArg::None => None,
    }
}

/// True when `rec` is in the event's `scope` (the thread facts are the event's).
pub fn in_scope(scope: Scope, rec: &SpanFacts<'_>, t: &ThreadFacts<'_>) -> bool {
    match scope {
        Scope::Thread => rec.writer_tid == t.tid,
        // C8: any thread of the writer's process.
        Scope::Process => rec.writer_pid == t.pid,
        // sysdig: the record's thread still exists and its pid is the event thread's
        // ptid; never the span's own thread.
        Scope::Children => rec.writer_alive && rec.writer_pid == t.ptid && rec.writer_tid != t.tid,
        Scope::Machine => true,
    }
}

/// [`span_prop`] for the properties whose value is borrowed (`tag`, `arg`): `Some(v)`
/// for those, `None` for the others (the same fast path as [`borrowed_text`]).
#[inline(always)]
pub fn span_prop_text<'a>(
    prop: SpanProp,
    arg: &FieldArg,
    rec: &SpanFacts<'a>,
) -> Option<Option<&'a [u8]>> {
    Some(match prop {
        SpanProp::Tag => match arg {
            FieldArg::Index(i) => index(rec.tags, *i).map(Vec::as_slice),
            _ => rec.tags.last().map(Vec::as_slice),
        },
        SpanProp::Arg => arg_by(rec.args, arg),
        _ => return None,
    })
}

/// The value of an `evtin` property on one span record.
pub fn span_prop<'a>(prop: SpanProp, arg: &FieldArg, rec: &SpanFacts<'a>) -> Option<Value<'a>> {
    Some(match prop {
        SpanProp::Id => Value::Num(rec.id.into()),
        SpanProp::Ntags => Value::Num(rec.tags.len() as i128),
        SpanProp::Nargs => Value::Num(rec.args.len() as i128),
        SpanProp::Tags => Value::Str(Cow::Owned(join_tags(rec.tags))),
        SpanProp::Tag => match arg {
            FieldArg::Index(i) => Value::bytes(index(rec.tags, *i)?),
            // sysdig: `.NAME` ignores NAME and returns the last tag (reproduced).
            _ => Value::bytes(rec.tags.last()?),
        },
        SpanProp::Args => Value::Str(Cow::Owned(join_args(rec.args, b':'))),
        // C9: by name, the first argument called NAME.
        SpanProp::Arg => Value::bytes(arg_by(rec.args, arg)?),
    })
}

/// sysdig's `fd.name` of an fd on an event line: the source's name, else the engine's
/// naming function [`crate::fds::fd_name`] of a known target. An fd sysdig does not
/// know (no target, or [`FdTarget::Unknown`]) has no name on an enter line and the
/// empty name on an exit line (sysdig's `fdbytes_by fd.name` groups I/O on unknown fds
/// under `""`).
pub fn fd_name<'a>(fd: &FdFacts<'a>, dir: super::context::EvtDir) -> Option<Cow<'a, str>> {
    match (fd.name, fd.target) {
        (Some(n), _) => Some(Cow::Borrowed(n)),
        (None, Some(t)) if *t != FdTarget::Unknown => Some(crate::fds::fd_name(t)),
        _ if dir == super::context::EvtDir::Exit => Some(Cow::Borrowed("")),
        _ => None,
    }
}

/// (client, server) endpoints of a socket.
fn client_server(target: &FdTarget) -> (Option<SocketAddr>, Option<SocketAddr>) {
    match target {
        FdTarget::Inet {
            local,
            remote,
            server,
            ..
        } => {
            if *server {
                (*remote, *local)
            } else {
                (*local, *remote)
            }
        }
        _ => (None, None),
    }
}

fn is_v6(target: &FdTarget, hint: bool) -> bool {
    match target {
        FdTarget::Inet { local, remote, .. } => local.or(*remote).map_or(hint, |a| a.is_ipv6()),
        _ => false,
    }
}

/// (`fd.type`, `fd.typechar`) of an fd.
fn fd_type(fd: FdFacts<'_>) -> Option<(&'static str, &'static str)> {
    let target = fd.target?;
    Some(match target {
        FdTarget::File(_) => ("file", "f"),
        FdTarget::Directory(_) => ("directory", "d"),
        FdTarget::Inet { .. } if is_v6(target, fd.v6) => ("ipv6", "6"),
        FdTarget::Inet { .. } => ("ipv4", "4"),
        FdTarget::Unix(_) => ("unix", "u"),
        FdTarget::Pipe => ("pipe", "p"),
        FdTarget::Other(s) => {
            let s = s.as_str();
            if s.contains("eventfd") {
                ("event", "e")
            } else if s.contains("signalfd") {
                ("signalfd", "s")
            } else if s.contains("eventpoll") || s.contains("epoll") {
                ("eventpoll", "l")
            } else if s.contains("inotify") {
                ("inotify", "i")
            } else if s.contains("timerfd") {
                ("timerfd", "t")
            } else if s.contains("netlink") {
                ("netlink", "n")
            } else {
                ("other", "o")
            }
        }
        FdTarget::Unknown => return None,
    })
}

fn split_path(p: &str) -> (&str, &str) {
    match p.rfind('/') {
        Some(0) => ("/", &p[1..]),
        Some(i) => (&p[..i], &p[i + 1..]),
        None => ("", p),
    }
}

fn marker_field<'a, E: EventSource>(
    ev: &'a E,
    m: &MarkerFacts<'a>,
    kind: FieldKind,
    arg: &FieldArg,
) -> Option<Value<'a>> {
    use FieldKind::*;
    let rec = m.record;
    let exit = m.dir == Direction::Exit;
    let duration = || {
        let r = rec?;
        exit.then(|| ev.ts().saturating_sub(r.enter_ts))
    };
    let ntags = m.tags.len() as i64;
    Some(match kind {
        SpanId => Value::Num(m.id.into()),
        // C10: the span's enter time on both enter and exit.
        SpanTime => Value::owned(format_span_time(rec?.enter_ts)),
        SpanNtags => Value::Num(m.tags.len() as i128),
        SpanNargs => Value::Num(rec?.args.len() as i128),
        SpanTags => Value::Str(Cow::Owned(join_tags(m.tags))),
        SpanTag => match arg {
            FieldArg::Index(i) => Value::bytes(index(m.tags, *i)?),
            _ => return None,
        },
        SpanArgs => {
            rec?;
            Value::Str(Cow::Owned(join_args(m.args, b'=')))
        }
        SpanArg => {
            rec?;
            Value::bytes(arg_by(m.args, arg)?)
        }
        SpanEnterArgs => Value::Str(Cow::Owned(join_args(rec?.args, b'='))),
        SpanEnterArg => Value::bytes(arg_by(rec?.args, arg)?),
        SpanDuration => Value::Num(duration()?.into()),
        SpanDurationHuman => Value::owned(format_time(duration()?)),
        // sysdig scales by the csysdig screen width, which is unset (-1) outside the
        // interactive UI, so every non-zero duration falls into bucket 1.
        SpanDurationQuantized => match duration()? {
            0 => return None,
            _ => Value::Num(1),
        },
        // C7: "for tag N" means exactly N tags (sysdig: N+1).
        SpanDurationFortag => match arg {
            FieldArg::Index(n) if ntags == *n => Value::Num(duration()?.into()),
            _ => return None,
        },
        SpanCount => Value::Num(exit.into()),
        SpanCountFortag => {
            let n = if let FieldArg::Index(n) = arg { *n } else { 0 };
            Value::Num((exit && ntags == n).into())
        }
        SpanChildcountFortag => {
            let n = if let FieldArg::Index(n) = arg { *n } else { 0 };
            Value::Num((exit && ntags > n).into())
        }
        SpanIdtag => {
            rec?;
            let FieldArg::Index(i) = arg else { return None };
            let tag = index(m.tags, *i)?;
            let mut s = m.id.to_string().into_bytes();
            s.extend_from_slice(tag);
            Value::Str(Cow::Owned(s))
        }
        SpanRawtime => Value::owned(rec?.enter_ts.to_string()),
        // C6: the most recent open record with the same id and exactly the tags minus
        // the last one.
        SpanRawparenttime => {
            rec?;
            let parent_tags = &m.tags[..m.tags.len().checked_sub(1)?];
            let p = ev
                .open_spans()
                .find(|r| r.id == m.id && r.tags == parent_tags)?;
            Value::owned(p.enter_ts.to_string())
        }
        _ => return None,
    })
}

/// Fast path for text fields whose value is borrowed from the event: `Some(value)` for
/// those fields (`value` as [`extract`] would give it), `None` for every other field.
/// Returning a plain slice (two registers) instead of a [`Value`] keeps the hot filter
/// path free of stack round trips.
#[inline(always)]
pub fn borrowed_text<E: EventSource>(kind: FieldKind, ev: &E) -> Option<Option<&[u8]>> {
    use FieldKind::*;
    Some(match kind {
        EvtType => Some(ev.type_name().as_bytes()),
        EvtDir => Some(ev.dir().as_str().as_bytes()),
        ProcName => Some(ev.thread().comm.as_bytes()),
        ProcExe => Some(ev.thread().exe.as_bytes()),
        FdName => match ev.fd().and_then(|f| f.name.map(Ok).or(f.target.map(Err))) {
            Some(Ok(name)) => Some(name.as_bytes()),
            Some(Err(FdTarget::File(p) | FdTarget::Directory(p) | FdTarget::Unix(p))) => {
                Some(p.as_bytes())
            }
            Some(Err(FdTarget::Other(p))) => Some(p.as_bytes()),
            _ => return None,
        },
        FdType => ev.fd().and_then(fd_type).map(|t| t.0.as_bytes()),
        _ => return None,
    })
}

/// Fast path for the common numeric fields: `Some(value)` for those fields (`value` as
/// [`extract`] would give it), `None` for every other field (see [`borrowed_text`]).
#[inline(always)]
pub fn plain_number<E: EventSource>(kind: FieldKind, ev: &E) -> Option<Option<i128>> {
    use FieldKind::*;
    let exit_sc = || {
        ev.syscall()
            .filter(|_| ev.dir() == super::context::EvtDir::Exit)
    };
    Some(match kind {
        EvtNum => Some(ev.num().into()),
        EvtRawTime => Some(ev.ts().into()),
        EvtLatency => Some(
            exit_sc()
                .map_or(0, |s| ev.ts().saturating_sub(s.enter_ts))
                .into(),
        ),
        EvtRawRes => exit_sc().map(|s| s.res.into()),
        FdNum => ev.fd().map(|f| f.num.into()),
        ProcPid => Some(ev.thread().pid.into()),
        ThreadTid => Some(ev.thread().tid.into()),
        ProcPpid => ev.thread().ppid.map(Into::into),
        SpanId => ev.marker().map(|m| m.id.into()),
        SpanNtags => ev.marker().map(|m| m.tags.len() as i128),
        _ => return None,
    })
}

/// [`span_prop`] for the numeric properties (`id`, `ntags`, `nargs`).
#[inline(always)]
pub fn span_prop_number(prop: SpanProp, rec: &SpanFacts<'_>) -> Option<i128> {
    match prop {
        SpanProp::Id => Some(rec.id.into()),
        SpanProp::Ntags => Some(rec.tags.len() as i128),
        SpanProp::Nargs => Some(rec.args.len() as i128),
        _ => None,
    }
}

/// The value of `field` on `ev`, as displayed (`None` = NULL).
#[inline]
pub fn extract<'a, E: EventSource>(field: &FieldRef, ev: &'a E) -> Option<Value<'a>> {
    use FieldKind::*;
    let arg = &field.arg;
    let sc = ev.syscall();
    let exit_sc = sc.filter(|_| ev.dir() == super::context::EvtDir::Exit);
    Some(match field.kind {
        EvtNum => Value::Num(ev.num().into()),
        EvtTime | EvtOutputTime => Value::owned(format_span_time(ev.ts())),
        EvtRawTime => Value::Num(ev.ts().into()),
        EvtType => Value::text(ev.type_name()),
        EvtDir => Value::text(ev.dir().as_str()),
        EvtLatency => Value::Num(
            exit_sc
                .map_or(0, |s| ev.ts().saturating_sub(s.enter_ts))
                .into(),
        ),
        EvtRes => {
            let res = exit_sc?.res;
            if res >= 0 {
                Value::text("SUCCESS")
            } else {
                match errno::name(-res) {
                    Some(n) => Value::text(n),
                    None => Value::owned(res.to_string()),
                }
            }
        }
        EvtRawRes => Value::Num(exit_sc?.res.into()),
        EvtFailed => Value::Bool(exit_sc.is_some_and(|s| s.res < 0)),
        // sysdig does not flag sendfile as I/O (its bytes still count in evt.buflen).
        EvtIsIo | EvtIsIoRead | EvtIsIoWrite => {
            let dir = sc.and_then(|s| crate::event_view::sysdig_io_dir(s.kind));
            Value::Bool(match field.kind {
                EvtIsIo => dir.is_some(),
                EvtIsIoRead => dir == Some(IoDir::In),
                _ => dir == Some(IoDir::Out),
            })
        }
        // sysdig: the byte count of an I/O exit (and 0 for a successful close).
        EvtBuflen => {
            let s = exit_sc?;
            if (s.kind.io_dir().is_none() && s.kind != SyscallKind::Close) || s.res < 0 {
                return None;
            }
            Value::Num(s.res.into())
        }
        EvtCpu => Value::Num(ev.cpu().unwrap_or(0).into()),
        EvtInfo => Value::owned(ev.info().unwrap_or_default()),
        FdNum => Value::Num(ev.fd()?.num.into()),
        FdName => match fd_name(&ev.fd()?, ev.dir())? {
            Cow::Borrowed(s) => Value::text(s),
            Cow::Owned(s) => Value::owned(s),
        },
        FdType => Value::text(fd_type(ev.fd()?)?.0),
        FdTypechar => {
            let fd = ev.fd()?;
            // sysdig: an fd it does not know is `o` (other), unless the event creates
            // an fd of a known type.
            Value::text(match fd.target {
                Some(t) if *t != FdTarget::Unknown => fd_type(fd)?.1,
                _ => fd.typechar_hint.unwrap_or("o"),
            })
        }
        FdDirectory | FdFilename => {
            let (dir, file) = match ev.fd()?.target? {
                FdTarget::File(p) => split_path(p),
                FdTarget::Directory(p) => (p.as_str(), ""),
                _ => return None,
            };
            Value::text(if field.kind == FdDirectory { dir } else { file })
        }
        FdCip | FdSip | FdCport | FdSport => {
            let (c, s) = client_server(ev.fd()?.target?);
            let a = if matches!(field.kind, FdCip | FdCport) {
                c
            } else {
                s
            }?;
            if matches!(field.kind, FdCip | FdSip) {
                Value::Ip(a.ip())
            } else {
                Value::Num(a.port().into())
            }
        }
        FdL4proto => match ev.fd()?.target? {
            // sysdig learns the protocol with the first address (connect, accept…).
            FdTarget::Inet {
                local: None,
                remote: None,
                ..
            } => Value::text("<NA>"),
            FdTarget::Inet { proto, .. } => Value::text(match proto {
                L4Proto::Tcp => "tcp",
                L4Proto::Udp => "udp",
                L4Proto::Other => "raw",
            }),
            // sysdig prints the placeholder <NA> for non-socket fds.
            FdTarget::Unknown => return None,
            _ => Value::text("<NA>"),
        },
        FdIsServer => match ev.fd()?.target? {
            FdTarget::Inet { server, .. } => Value::Bool(*server),
            FdTarget::Unknown => return None,
            _ => Value::Bool(false),
        },
        ProcPid => Value::Num(ev.thread().pid.into()),
        ThreadTid => Value::Num(ev.thread().tid.into()),
        ProcName => Value::text(ev.thread().comm),
        ProcExe => Value::text(ev.thread().exe),
        ProcCmdline => {
            let t = ev.thread();
            let mut s = t.comm.to_string();
            for a in t.args {
                s.push(' ');
                s.push_str(a);
            }
            Value::owned(s)
        }
        ProcPpid => Value::Num(ev.thread().ppid?.into()),
        Evtin(scope, prop) => {
            // Extraction (sysdig): NULL on marker events and on threads that never
            // wrote a marker; otherwise the first (innermost) record in scope.
            if ev.marker().is_some() {
                return None;
            }
            let t = ev.thread();
            if !t.wrote_marker {
                return None;
            }
            let rec = ev.open_spans().find(|r| in_scope(scope, r, &t))?;
            return span_prop(prop, arg, &rec);
        }
        kind => {
            let m = ev.marker()?;
            return marker_field(ev, &m, kind, arg);
        }
    })
}

/// Writes `v` for a `-p` line (bytes that are not UTF-8 are replaced).
pub fn write_value(out: &mut String, v: &Value<'_>) {
    let _ = write!(out, "{v}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations_match_sysdig_format_time() {
        for (ns, s) in [
            (0, "0ns"),
            (999, "999ns"),
            (1000, "1.00us"),
            (1509, "1.50us"),
            (2030, "2.03us"),
            (9999, "9.99us"),
            (10_000, "10us"),
            (999_999, "999us"),
            (1_000_000, "1.00ms"),
            (5_000_000, "5.00ms"),
            (10_000_000, "10ms"),
            (999_999_999, "999ms"),
            (1_000_000_000, "1.00s"),
            (59_990_000_000, "59.99s"),
            (99_000_000_000, "1:39"),
            (60_000_000_000, "1:0"),
            (3_600_000_000_000, "01:00:00"),
            (3_661_000_000_000, "01:01:01"),
        ] {
            assert_eq!(format_time(ns), s, "{ns}");
        }
    }

    #[test]
    fn clock() {
        assert_eq!(format_span_time(3030), "00:00:00.000003030");
        assert_eq!(
            format_span_time(1_000_000_000 * 80_000 + 1000),
            "22:13:20.000001000"
        );
    }

    #[test]
    fn helpers() {
        assert_eq!(index(&[1, 2, 3], -1), Some(&3));
        assert_eq!(index(&[1, 2, 3], -3), Some(&1));
        assert_eq!(index(&[1, 2, 3], -4), None);
        assert_eq!(index(&[1, 2, 3], 3), None);
        assert_eq!(split_path("/data/f.bin"), ("/data", "f.bin"));
        assert_eq!(split_path("/dev"), ("/", "dev"));
        assert_eq!(split_path("rel"), ("", "rel"));
        let args = vec![
            (b"a".to_vec(), b"1".to_vec()),
            (b"b".to_vec(), b"2".to_vec()),
        ];
        assert_eq!(join_args(&args, b'='), b"a=1,b=2");
        assert_eq!(join_args(&args, b':'), b"a:1,b:2");
        assert_eq!(join_tags(&[b"a".to_vec(), vec![], b"c".to_vec()]), b"a..c");
    }
}
