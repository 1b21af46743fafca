//! Unit tests over a hand-built [`EventSource`]: every catalog field's extraction here;
//! filter evaluation, operators and formats in [`eval`].

mod eval;

use std::net::SocketAddr;

use super::context::*;
use super::extract::extract;
use super::fields::{self, catalog, FieldKind};
use super::Filter;
use crate::event::{FdTarget, L4Proto, Syscall, SyscallKind};
use crate::grammar::Direction;

#[derive(Clone)]
struct Rec {
    key: u64,
    id: i64,
    tags: Vec<Vec<u8>>,
    args: Vec<(Vec<u8>, Vec<u8>)>,
    enter_ts: u64,
    tid: i64,
    pid: i64,
    alive: bool,
}

impl Rec {
    fn new(key: u64, tags: &str, args: &[(&str, &str)], enter_ts: u64, tid: i64, pid: i64) -> Rec {
        Rec {
            key,
            id: tid,
            tags: tags.split('.').map(|t| t.as_bytes().to_vec()).collect(),
            args: args
                .iter()
                .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
                .collect(),
            enter_ts,
            tid,
            pid,
            alive: true,
        }
    }
    fn facts(&self) -> SpanFacts<'_> {
        SpanFacts {
            key: self.key,
            id: self.id,
            tags: &self.tags,
            args: &self.args,
            enter_ts: self.enter_ts,
            writer_tid: self.tid,
            writer_pid: self.pid,
            writer_alive: self.alive,
        }
    }
}

#[derive(Clone)]
struct Mock {
    num: u64,
    ts: u64,
    dir: EvtDir,
    type_name: String,
    syscall: Option<Syscall>,
    tid: i64,
    pid: i64,
    ptid: i64,
    wrote_marker: bool,
    args: Vec<String>,
    fd: Option<(i64, Option<FdTarget>, bool)>,
    marker: Option<(Direction, Rec, Option<Rec>)>,
    open: Vec<Rec>,
}

impl EventSource for Mock {
    type Spans<'s> = Box<dyn Iterator<Item = SpanFacts<'s>> + 's>;
    fn num(&self) -> u64 {
        self.num
    }
    fn ts(&self) -> u64 {
        self.ts
    }
    fn dir(&self) -> EvtDir {
        self.dir
    }
    fn type_name(&self) -> &str {
        &self.type_name
    }
    fn syscall(&self) -> Option<&Syscall> {
        self.syscall.as_ref()
    }
    fn thread(&self) -> ThreadFacts<'_> {
        ThreadFacts {
            tid: self.tid,
            pid: self.pid,
            ptid: self.ptid,
            ppid: Some(1),
            comm: "webapp",
            exe: "/usr/bin/webapp",
            args: &self.args,
            wrote_marker: self.wrote_marker,
        }
    }
    fn fd(&self) -> Option<FdFacts<'_>> {
        self.fd.as_ref().map(|(num, t, v6)| FdFacts {
            num: *num,
            target: t.as_ref(),
            v6: *v6,
            typechar_hint: Some("f"),
            name: None,
        })
    }
    fn marker(&self) -> Option<MarkerFacts<'_>> {
        self.marker.as_ref().map(|(dir, own, rec)| MarkerFacts {
            dir: *dir,
            id: own.id,
            tags: &own.tags,
            args: &own.args,
            record: rec.as_ref().map(Rec::facts),
        })
    }
    fn open_spans(&self) -> Self::Spans<'_> {
        Box::new(self.open.iter().map(Rec::facts))
    }
}

fn sock(s: &str) -> Option<SocketAddr> {
    Some(s.parse().unwrap())
}

/// A `read` exit on a TCP socket accepted by the process, inside span `a.b` of its
/// thread (and `a` outside it).
fn read_exit() -> Mock {
    let mut sc = Syscall::new(SyscallKind::Read, 1_000_000_500, 700);
    sc.fd = 11;
    Mock {
        num: 61,
        ts: 80_000 * 1_000_000_000 + 3_046_500,
        dir: EvtDir::Exit,
        type_name: "read".into(),
        syscall: Some(Syscall {
            enter_ts: 80_000 * 1_000_000_000 + 3_046_000,
            ..sc
        }),
        tid: 2000,
        pid: 2000,
        ptid: 1,
        wrote_marker: true,
        args: vec!["--port".into(), "8080".into()],
        fd: Some((
            11,
            Some(FdTarget::Inet {
                proto: L4Proto::Tcp,
                local: sock("10.0.0.1:8080"),
                remote: sock("192.168.1.5:51000"),
                server: true,
            }),
            false,
        )),
        marker: None,
        open: vec![
            Rec::new(2, "a.b", &[("z", "3")], 500, 2000, 2000),
            Rec::new(1, "a", &[("x", "1"), ("y", "2")], 100, 2000, 2000),
        ],
    }
}

/// The exit marker of span `a.b` (entered at 500, args z=3), with `a` still open.
fn marker_exit() -> Mock {
    let own = Rec::new(9, "a.b", &[("r", "ok")], 0, 2000, 2000);
    let rec = Rec::new(2, "a.b", &[("z", "3")], 500, 2000, 2000);
    Mock {
        num: 70,
        ts: 3_500,
        dir: EvtDir::Exit,
        type_name: "tracer".into(),
        syscall: None,
        fd: None,
        marker: Some((Direction::Exit, own, Some(rec))),
        open: vec![Rec::new(1, "a", &[("x", "1"), ("y", "2")], 100, 2000, 2000)],
        ..read_exit()
    }
}

fn val(field: &str, ev: &Mock) -> Option<String> {
    let f = fields::resolve(field).unwrap_or_else(|e| panic!("{field}: {e:?}"));
    extract(&f, ev).map(|v| v.to_string())
}

fn m(filter: &str, ev: &Mock) -> bool {
    Filter::compile(filter)
        .unwrap_or_else(|e| panic!("{e}"))
        .matches(ev)
}

#[test]
fn every_catalog_field_is_tested_here() {
    // Each field appears in at least one expectation below; keep this list in sync.
    let covered = [
        "evt.num",
        "evt.time",
        "evt.outputtime",
        "evt.rawtime",
        "evt.type",
        "evt.dir",
        "evt.latency",
        "evt.res",
        "evt.rawres",
        "evt.failed",
        "evt.is_io",
        "evt.is_io_read",
        "evt.is_io_write",
        "evt.buflen",
        "evt.cpu",
        "evt.info",
        "fd.num",
        "fd.name",
        "fd.type",
        "fd.typechar",
        "fd.directory",
        "fd.filename",
        "fd.cip",
        "fd.sip",
        "fd.cport",
        "fd.sport",
        "fd.l4proto",
        "fd.is_server",
        "proc.pid",
        "proc.name",
        "proc.exe",
        "proc.cmdline",
        "proc.ppid",
        "thread.tid",
        "span.id",
        "span.time",
        "span.ntags",
        "span.nargs",
        "span.tags",
        "span.tag",
        "span.args",
        "span.arg",
        "span.enterargs",
        "span.enterarg",
        "span.duration",
        "span.duration.human",
        "span.duration.quantized",
        "span.duration.fortag",
        "span.count",
        "span.count.fortag",
        "span.childcount.fortag",
        "span.idtag",
        "span.rawtime",
        "span.rawparenttime",
    ];
    for d in catalog() {
        if matches!(d.kind, FieldKind::Evtin(..)) {
            continue; // all 28 are exercised by `evtin_fields_*`
        }
        assert!(covered.contains(&d.name.as_str()), "{} has no test", d.name);
    }
}

#[test]
fn syscall_fields() {
    let e = read_exit();
    let expect = [
        ("evt.num", Some("61")),
        ("evt.time", Some("22:13:20.003046500")),
        ("evt.outputtime", Some("22:13:20.003046500")),
        ("evt.rawtime", Some("80000003046500")),
        ("evt.type", Some("read")),
        ("evt.dir", Some("<")),
        ("evt.latency", Some("500")),
        ("evt.res", Some("SUCCESS")),
        ("evt.rawres", Some("700")),
        ("evt.failed", Some("false")),
        ("evt.is_io", Some("true")),
        ("evt.is_io_read", Some("true")),
        ("evt.is_io_write", Some("false")),
        ("evt.buflen", Some("700")),
        ("evt.cpu", Some("0")),
        ("evt.info", Some("")),
        ("fd.num", Some("11")),
        ("fd.name", Some("192.168.1.5:51000->10.0.0.1:8080")),
        ("fd.type", Some("ipv4")),
        ("fd.typechar", Some("4")),
        ("fd.directory", None),
        ("fd.filename", None),
        ("fd.cip", Some("192.168.1.5")),
        ("fd.sip", Some("10.0.0.1")),
        ("fd.cport", Some("51000")),
        ("fd.sport", Some("8080")),
        ("fd.l4proto", Some("tcp")),
        ("fd.is_server", Some("true")),
        ("proc.pid", Some("2000")),
        ("proc.name", Some("webapp")),
        ("proc.exe", Some("/usr/bin/webapp")),
        ("proc.cmdline", Some("webapp --port 8080")),
        ("proc.ppid", Some("1")),
        ("thread.tid", Some("2000")),
        // span.* exist only on marker events
        ("span.id", None),
        ("span.count", None),
        ("span.tags", None),
    ];
    for (f, v) in expect {
        assert_eq!(val(f, &e).as_deref(), v, "{f}");
    }
}

#[test]
fn enter_lines_failures_files_and_ipv6() {
    let mut e = read_exit();
    e.dir = EvtDir::Enter;
    assert_eq!(val("evt.latency", &e).as_deref(), Some("0"));
    assert_eq!(val("evt.res", &e), None);
    assert_eq!(val("evt.rawres", &e), None);
    assert_eq!(val("evt.buflen", &e), None);
    assert_eq!(val("evt.failed", &e).as_deref(), Some("false"));
    assert_eq!(val("evt.is_io", &e).as_deref(), Some("true"));

    let mut e = read_exit();
    e.syscall.as_mut().unwrap().res = -2;
    assert_eq!(val("evt.res", &e).as_deref(), Some("ENOENT"));
    assert_eq!(val("evt.rawres", &e).as_deref(), Some("-2"));
    assert_eq!(val("evt.failed", &e).as_deref(), Some("true"));
    assert_eq!(val("evt.buflen", &e), None);
    e.syscall.as_mut().unwrap().res = -4095;
    assert_eq!(val("evt.res", &e).as_deref(), Some("-4095"));

    let mut e = read_exit();
    e.fd = Some((5, Some(FdTarget::File("/data/file1.bin".into())), false));
    assert_eq!(val("fd.name", &e).as_deref(), Some("/data/file1.bin"));
    assert_eq!(val("fd.type", &e).as_deref(), Some("file"));
    assert_eq!(val("fd.typechar", &e).as_deref(), Some("f"));
    assert_eq!(val("fd.directory", &e).as_deref(), Some("/data"));
    assert_eq!(val("fd.filename", &e).as_deref(), Some("file1.bin"));
    assert_eq!(val("fd.l4proto", &e).as_deref(), Some("<NA>"));
    assert_eq!(val("fd.is_server", &e).as_deref(), Some("false"));
    assert_eq!(val("fd.cip", &e), None);

    e.fd = Some((
        4,
        Some(FdTarget::Inet {
            proto: L4Proto::Udp,
            local: None,
            remote: None,
            server: false,
        }),
        true,
    ));
    assert_eq!(val("fd.type", &e).as_deref(), Some("ipv6"));
    assert_eq!(val("fd.name", &e).as_deref(), Some(""));
    assert_eq!(val("fd.l4proto", &e).as_deref(), Some("<NA>"));
    e.fd = Some((
        4,
        Some(FdTarget::Inet {
            proto: L4Proto::Udp,
            local: sock("[::1]:5000"),
            remote: sock("[2001:db8::1]:53"),
            server: false,
        }),
        true,
    ));
    assert_eq!(
        val("fd.name", &e).as_deref(),
        Some("::1:5000->2001:db8::1:53")
    );
    assert_eq!(val("fd.typechar", &e).as_deref(), Some("6"));
    assert_eq!(val("fd.l4proto", &e).as_deref(), Some("udp"));
    assert!(m(
        "fd.sip=2001:db8::1 and fd.sport=53 and fd.cport=5000",
        &e
    ));

    // An fd sysdig does not know: the empty name on an exit line (sysdig's
    // `fdbytes_by fd.name` groups such I/O under ""), NULL on an enter line.
    e.fd = Some((7, None, false));
    assert_eq!(val("fd.name", &e).as_deref(), Some(""));
    e.fd = Some((7, Some(FdTarget::Unknown), false));
    assert_eq!(val("fd.name", &e).as_deref(), Some(""));
    e.dir = EvtDir::Enter;
    assert_eq!(val("fd.name", &e), None);
    // A lone endpoint (a bound socket) is named `ip:port`, as the engine names it.
    e.fd = Some((
        4,
        Some(FdTarget::Inet {
            proto: L4Proto::Tcp,
            local: sock("127.0.0.1:8080"),
            remote: None,
            server: true,
        }),
        false,
    ));
    assert_eq!(val("fd.name", &e).as_deref(), Some("127.0.0.1:8080"));

    // An fd-creating syscall's enter: fd.num -1, no target, typechar from the hint.
    e.fd = Some((-1, None, false));
    assert_eq!(val("fd.num", &e).as_deref(), Some("-1"));
    assert_eq!(val("fd.name", &e), None);
    assert_eq!(val("fd.typechar", &e).as_deref(), Some("f"));
    e.dir = EvtDir::Exit;
    e.fd = None;
    for f in [
        "fd.num",
        "fd.name",
        "fd.type",
        "fd.typechar",
        "fd.is_server",
    ] {
        assert_eq!(val(f, &e), None, "{f}");
    }

    // sendfile is not flagged as I/O in sysdig but counts in evt.buflen.
    let mut e = read_exit();
    e.syscall.as_mut().unwrap().kind = SyscallKind::Sendfile;
    assert_eq!(val("evt.is_io", &e).as_deref(), Some("false"));
    assert_eq!(val("evt.buflen", &e).as_deref(), Some("700"));
}

#[test]
fn marker_fields_on_exit() {
    let e = marker_exit();
    let expect = [
        ("span.id", Some("2000")),
        ("span.time", Some("00:00:00.000000500")), // C10: enter time
        ("span.ntags", Some("2")),
        ("span.nargs", Some("1")), // the enter's count
        ("span.tags", Some("a.b")),
        ("span.tag[0]", Some("a")),
        ("span.tag[-1]", Some("b")),
        ("span.tag[-3]", None),
        ("span.tag[2]", None),
        ("span.args", Some("r=ok")),
        ("span.arg[0]", Some("ok")),
        ("span.arg.r", Some("ok")),
        ("span.arg.z", None),
        ("span.enterargs", Some("z=3")),
        ("span.enterarg.z", Some("3")),
        ("span.enterarg[-1]", Some("3")),
        ("span.duration", Some("3000")),
        ("span.duration.human", Some("3.00us")),
        ("span.duration.quantized", Some("1")),
        ("span.duration.fortag[2]", Some("3000")), // C7: exactly N tags
        ("span.duration.fortag[1]", None),
        ("span.count", Some("1")),
        ("span.count.fortag[2]", Some("1")),
        ("span.count.fortag[1]", Some("0")),
        ("span.childcount.fortag[1]", Some("1")),
        ("span.childcount.fortag[2]", Some("0")),
        ("span.idtag[1]", Some("2000b")),
        ("span.rawtime", Some("500")),
        ("span.rawparenttime", Some("100")), // C6: exact prefix `a`
        ("evt.type", Some("tracer")),
        ("evt.latency", Some("0")),
        ("evt.is_io", Some("false")),
        ("evt.res", None),
        ("fd.num", None),
        ("evtin.span.tags", None), // extraction: NULL on marker events
    ];
    for (f, v) in expect {
        assert_eq!(val(f, &e).as_deref(), v, "{f}");
    }
}

#[test]
fn marker_fields_on_enter_and_unmatched_exit() {
    let mut e = marker_exit();
    let own = Rec::new(3, "a.b", &[("z", "3")], 3_500, 2000, 2000);
    e.marker = Some((Direction::Enter, own.clone(), Some(own.clone())));
    e.open.insert(0, own);
    e.dir = EvtDir::Enter;
    assert_eq!(val("span.duration", &e), None);
    assert_eq!(val("span.duration.human", &e), None);
    assert_eq!(val("span.duration.quantized", &e), None);
    assert_eq!(val("span.count", &e).as_deref(), Some("0"));
    assert_eq!(val("span.count.fortag[2]", &e).as_deref(), Some("0"));
    assert_eq!(val("span.time", &e).as_deref(), Some("00:00:00.000003500"));
    assert_eq!(val("span.args", &e).as_deref(), Some("z=3"));
    assert_eq!(val("span.rawparenttime", &e).as_deref(), Some("100"));
    assert_eq!(val("evt.dir", &e).as_deref(), Some(">"));

    // Unmatched exit: id/tags/ntags/count present; duration, args, time NULL.
    let mut e = marker_exit();
    if let Some((_, _, rec)) = e.marker.as_mut() {
        *rec = None;
    }
    for (f, v) in [
        ("span.id", Some("2000")),
        ("span.tags", Some("a.b")),
        ("span.ntags", Some("2")),
        ("span.count", Some("1")),
        ("span.duration", None),
        ("span.args", None),
        ("span.arg[0]", None),
        ("span.enterargs", None),
        ("span.nargs", None),
        ("span.time", None),
        ("span.rawtime", None),
        ("span.idtag[0]", None),
        ("span.rawparenttime", None),
    ] {
        assert_eq!(val(f, &e).as_deref(), v, "{f}");
    }
}

#[test]
fn evtin_fields_extraction() {
    let e = read_exit();
    // innermost (first) span of the thread
    for (f, v) in [
        ("evtin.span.id", Some("2000")),
        ("evtin.span.ntags", Some("2")),
        ("evtin.span.nargs", Some("1")),
        ("evtin.span.tags", Some("a.b")),
        ("evtin.span.tag[0]", Some("a")),
        ("evtin.span.tag[-1]", Some("b")),
        ("evtin.span.tag.anything", Some("b")),
        ("evtin.span.args", Some("z:3")),
        ("evtin.span.arg[0]", Some("3")),
        ("evtin.span.arg.z", Some("3")),
        ("evtin.span.arg.x", None), // C9: only the first span in scope is displayed
    ] {
        assert_eq!(val(f, &e).as_deref(), v, "{f}");
        for scope in ["p", "m"] {
            let g = f.replacen("evtin.span.", &format!("evtin.span.{scope}."), 1);
            assert_eq!(val(&g, &e).as_deref(), v, "{g}");
        }
        // the event's thread is not a child of the span's process
        let g = f.replacen("evtin.span.", "evtin.span.s.", 1);
        assert_eq!(val(&g, &e), None, "{g}");
    }
    // A thread that never wrote a marker displays nothing, whatever the scope.
    let mut e = read_exit();
    e.wrote_marker = false;
    assert_eq!(val("evtin.span.m.tags", &e), None);
}
