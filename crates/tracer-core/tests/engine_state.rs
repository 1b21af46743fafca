//! Engine state tracking: fd tables (open/dup/close/clone/exec/sendfile), thread table,
//! marker detection corner cases, loss and exit handling, event views and scopes.

use tracer_core::correlate::Scope;
use tracer_core::engine::{Consumer, Engine, EngineConfig, NoConsumer};
use tracer_core::event::{
    Event, EventKind, FdTarget, L4Proto, Syscall, SyscallDetail, SyscallKind, ThreadInfo,
};
use tracer_core::event_view::{EventClass, EventView};
use tracer_core::fds::{FdKind, MarkerState};
use tracer_core::spans::{SpanEnd, SpanRecord};

fn ev(ts: u64, tid: i64, pid: i64, kind: EventKind) -> Event {
    Event { ts, tid, pid, kind }
}

fn sc(kind: SyscallKind, ts: u64, res: i64, fd: i64, detail: SyscallDetail) -> EventKind {
    let mut s = Syscall::new(kind, ts.saturating_sub(10), res);
    s.fd = fd;
    s.detail = detail;
    if kind.io_dir().is_some() {
        s.size = res.max(0) as u64;
    }
    EventKind::Syscall(s)
}

fn write(ts: u64, tid: i64, pid: i64, fd: i64, text: &str, null_dev: bool) -> Event {
    let mut s = Syscall::new(SyscallKind::Write, ts - 10, text.len() as i64);
    s.fd = fd;
    s.data = Some(text.as_bytes().to_vec());
    s.null_dev = null_dev;
    ev(ts, tid, pid, EventKind::Syscall(s))
}

fn open(ts: u64, tid: i64, pid: i64, path: &str, dirfd: i64, fd: i64, flags: u32) -> Event {
    ev(
        ts,
        tid,
        pid,
        sc(
            SyscallKind::Openat,
            ts,
            fd,
            -1,
            SyscallDetail::Open {
                path: path.into(),
                dirfd: Some(dirfd),
                flags,
                mode: 0,
            },
        ),
    )
}

fn info(tid: i64, pid: i64, ptid: i64, cwd: &str) -> Event {
    ev(
        0,
        tid,
        pid,
        EventKind::ThreadInfo(ThreadInfo {
            tid,
            pid,
            ptid,
            comm: "app".into(),
            exe: "/bin/app".into(),
            args: vec![],
            cwd: cwd.into(),
        }),
    )
}

#[derive(Default)]
struct Rec {
    views: Vec<(u64, &'static str, Option<String>, Option<String>)>,
    spans: Vec<SpanRecord>,
}

impl Consumer for Rec {
    fn event(&mut self, v: &EventView<'_>) {
        let tags = v.tracer().map(|t| {
            let s: Vec<String> = t
                .tags
                .iter()
                .map(|x| String::from_utf8_lossy(x).into_owned())
                .collect();
            format!("{}{}", v.dir_char(), s.join("."))
        });
        self.views.push((
            v.input_index,
            v.type_name(),
            v.fd_name().map(String::from),
            tags,
        ));
    }
    fn span(&mut self, s: &SpanRecord) {
        self.spans.push(s.clone());
    }
}

#[test]
fn paths_dup_close_and_exec() {
    let mut eng = Engine::new(EngineConfig::default());
    let mut r = Rec::default();
    let evs = vec![
        info(10, 10, 1, "/home/u"),
        open(100, 10, 10, "data/../in.txt", -100, 5, 0o2000000), // O_CLOEXEC
        open(110, 10, 10, "/var", -100, 6, 0o200000),            // O_DIRECTORY
        open(120, 10, 10, "log/x.log", 6, 7, 0),
        ev(
            130,
            10,
            10,
            sc(
                SyscallKind::Dup2,
                130,
                9,
                7,
                SyscallDetail::Dup { oldfd: 7 },
            ),
        ),
        open(140, 10, 10, "/dev/null", -100, 3, 1),
        ev(
            150,
            10,
            10,
            sc(SyscallKind::Dup, 150, 4, 3, SyscallDetail::Dup { oldfd: 3 }),
        ),
        write(160, 10, 10, 4, ">:t:a::", false), // through the dup: marker
        ev(
            170,
            10,
            10,
            sc(SyscallKind::Close, 170, 0, 9, SyscallDetail::None),
        ),
        ev(
            180,
            10,
            10,
            sc(
                SyscallKind::Execve,
                180,
                0,
                -1,
                SyscallDetail::Execve {
                    filename: "/usr/bin/worker".into(),
                    argv: vec!["worker".into(), "-v".into()],
                },
            ),
        ),
    ];
    for e in &evs {
        eng.process(e, &mut r);
    }
    assert_eq!(eng.fd_info(10, 7).unwrap().path(), Some("/var/log/x.log"));
    assert!(
        eng.fd_info(10, 5).is_none(),
        "O_CLOEXEC fd dropped at execve"
    );
    assert_eq!(
        eng.fd_info(10, 6).unwrap().target,
        FdTarget::Directory("/var".into())
    );
    assert!(eng.fd_info(10, 9).is_none());
    assert_eq!(eng.fd_info(4, 4).map(|i| i.marker), None); // tid 4 unknown
    assert_eq!(eng.fd_info(10, 4).unwrap().marker, MarkerState::Tracer);
    assert_eq!(eng.fd_info(10, 3).unwrap().marker, MarkerState::Undecided);
    let t = eng.threads().get(10).unwrap();
    assert_eq!(
        (t.comm.as_str(), t.args.clone()),
        ("worker", vec!["-v".to_string()])
    );
    // Views: the open of in.txt shows the resolved new fd; close shows what was closed.
    assert_eq!(r.views[1].2.as_deref(), Some("/home/u/in.txt"));
    assert_eq!(r.views[8].1, "close");
    assert_eq!(r.views[8].2.as_deref(), Some("/var/log/x.log"));
    assert_eq!(r.views[7].3.as_deref(), Some(">a"));
    let report = eng.finish(&mut r);
    assert_eq!(report.counts.never_closed, 1);
    assert_eq!(r.spans[0].end, SpanEnd::NeverClosed);
}

#[test]
fn clone_copies_or_shares_fds_and_ids_resolve() {
    let mut eng = Engine::new(EngineConfig::default());
    let mut r = Rec::default();
    let clone = |ts, tid, pid, child, child_pid, flags| {
        ev(
            ts,
            tid,
            pid,
            sc(
                SyscallKind::Clone,
                ts,
                child,
                -1,
                SyscallDetail::Clone { flags, child_pid },
            ),
        )
    };
    let evs = vec![
        info(10, 10, 1, "/"),
        open(100, 10, 10, "/dev/null", -100, 3, 1),
        write(110, 10, 10, 3, ">:p:job::", false),
        clone(120, 10, 10, 11, 10, 0x10000 | 0x400), // thread
        clone(130, 10, 10, 20, 20, 0),               // process: copy
        write(140, 11, 10, 3, "<:p:job::", false),   // p across threads
        write(150, 20, 20, 3, ">:pp:child::", false), // copied fd state: tracer
        write(160, 20, 20, 3, "<:pp:child::", false),
        ev(
            170,
            20,
            20,
            sc(SyscallKind::Close, 170, 0, 3, SyscallDetail::None),
        ),
        write(180, 10, 10, 3, ">:t:still::", false), // parent's fd unaffected
    ];
    for e in &evs {
        eng.process(e, &mut r);
    }
    let closed: Vec<(String, i64, i64)> = r
        .spans
        .iter()
        .map(|s| {
            (
                String::from_utf8_lossy(&s.tags[0]).into_owned(),
                s.id,
                s.exit_tid.unwrap(),
            )
        })
        .collect();
    assert_eq!(
        closed,
        vec![("job".into(), 10, 11), ("child".into(), 10, 20)],
        "p = pid across threads; pp of the forked child = creating thread"
    );
    assert_eq!(eng.threads().get(11).unwrap().pid, 10);
    assert_eq!(eng.threads().get(20).unwrap().ptid, 10);
    assert!(eng.fd_info(20, 3).is_none());
    assert_eq!(eng.fd_info(10, 3).unwrap().marker, MarkerState::Tracer);
    assert_eq!(eng.counts().enters, 3);
}

#[test]
fn two_markers_in_one_write_and_invalid_and_null_dev() {
    let mut eng = Engine::new(EngineConfig::default());
    eng.mark_tracer_fd(10, 10, 3);
    let mut r = Rec::default();
    let evs = vec![
        write(100, 10, 10, 3, ">:t:a::>:t:a.b::", false), // C2
        write(110, 10, 10, 3, "nonsense", false),         // warm: invalid tracer
        write(120, 10, 10, 3, "<:t:a.b::\n<:t:a::", false),
        // fd 8 unknown; the producer saw /dev/null (F13): parsed.
        write(130, 10, 10, 8, ">:t:flagged::", true),
        // fd 9 is a regular file in the table, but the probe says /dev/null.
        open(135, 10, 10, "/tmp/f", -100, 9, 1),
        write(140, 10, 10, 9, "<:t:flagged::", true),
        write(150, 10, 10, 9, "plain", false),
    ];
    for e in &evs {
        eng.process(e, &mut r);
    }
    let kinds: Vec<(u64, Option<&str>)> = r.views.iter().map(|v| (v.0, v.3.as_deref())).collect();
    assert_eq!(
        kinds,
        vec![
            (0, Some(">a")),
            (0, Some(">a.b")),
            (1, Some(">invalid tracer nonsense, len8")),
            (2, Some("<a.b")),
            (2, Some("<a")),
            (3, Some(">flagged")),
            (4, None),
            (5, Some("<flagged")),
            // fd 9 is a tracer fd now: an unparseable write is an invalid tracer.
            (6, Some(">invalid tracer plain, len5")),
        ]
    );
    let report = eng.finish(&mut NoConsumer);
    assert_eq!(report.counts.invalid_markers, 2);
    assert_eq!(report.counts.closed_spans, 3);
    assert_eq!(r.spans[0].parent, Some(r.spans[1].seq));
    assert_eq!(r.spans[1].children, 1);
}

#[test]
fn sockets_sendfile_loss_exit_and_scopes() {
    let mut eng = Engine::new(EngineConfig {
        retain_spans: true,
        ..EngineConfig::default()
    });
    let sock = |ts, fd, proto_domain: u32| {
        ev(
            ts,
            10,
            10,
            sc(
                SyscallKind::Socket,
                ts,
                fd,
                -1,
                SyscallDetail::Socket {
                    domain: proto_domain,
                    sock_type: 1,
                    protocol: 0,
                },
            ),
        )
    };
    let connect = ev(
        130,
        10,
        10,
        sc(
            SyscallKind::Connect,
            130,
            -115,
            5,
            SyscallDetail::Sock {
                proto: L4Proto::Tcp,
                local: Some("[::1]:5000".parse().unwrap()),
                remote: Some("[::1]:80".parse().unwrap()),
                unix_path: None,
            },
        ),
    );
    let evs = vec![
        info(10, 10, 1, "/"),
        info(11, 10, 1, "/"),
        info(30, 30, 10, "/"),
        open(100, 10, 10, "/dev/null", -100, 3, 1),
        write(110, 10, 10, 3, ">:t:req::", false),
        sock(120, 5, 10),
        connect,
        open(140, 10, 10, "/srv/file", -100, 6, 0),
        ev(
            150,
            10,
            10,
            sc(
                SyscallKind::Sendfile,
                150,
                4096,
                5,
                SyscallDetail::Sendfile { in_fd: 6 },
            ),
        ),
        ev(
            160,
            10,
            10,
            sc(SyscallKind::Read, 160, -11, 6, SyscallDetail::None),
        ),
        ev(170, 10, 10, EventKind::Lost { count: 3 }),
        ev(
            175,
            11,
            10,
            sc(SyscallKind::Other(1), 175, 0, -1, SyscallDetail::None),
        ),
        ev(
            176,
            30,
            30,
            sc(SyscallKind::Other(1), 176, 0, -1, SyscallDetail::None),
        ),
        write(177, 10, 10, 3, ">:t:dangling", false), // pending fragment
        ev(180, 10, 10, EventKind::ThreadExit { status: 0 }),
    ];
    let mut scopes = Vec::new();
    for e in &evs {
        eng.process(e, &mut |v: &EventView<'_>| {
            if let (EventClass::Syscall(_), Some(t)) = (&v.class, v.thread) {
                if t.tid != 10 {
                    let s: Vec<bool> = [
                        Scope::Thread,
                        Scope::Process,
                        Scope::Children,
                        Scope::Machine,
                    ]
                    .iter()
                    .map(|&s| v.spans.candidates(s, t).next().is_some())
                    .collect();
                    scopes.push((t.tid, s));
                }
            }
        });
    }
    assert_eq!(
        scopes,
        vec![
            (11, vec![false, true, false, true]),
            (30, vec![false, false, true, true])
        ]
    );
    let i = eng.fd_info(11, 5).unwrap();
    assert_eq!(i.kind, FdKind::Ipv6);
    // sysdig's fd.name: IPv6 endpoints without brackets.
    assert_eq!(eng.fds().name(i.name_id), "::1:5000->::1:80");
    assert!(eng.threads().get(10).is_none(), "exited thread forgotten");
    assert!(eng.threads().get(11).is_some());
    let report = eng.finish(&mut NoConsumer);
    let s = &report.never_closed[0];
    assert!(s.incomplete, "events were lost while open");
    assert_eq!(s.end, SpanEnd::NeverClosed);
    assert_eq!(s.io.files["/srv/file"].bytes_in, 4096);
    assert_eq!(s.io.by_kind[&FdKind::Ipv6].bytes_out, 4096);
    // Peers keep the unambiguous bracketed form (they are not sysdig fd names).
    assert_eq!(s.io.peers["[::1]:80"].bytes_out, 4096);
    // connect's EINPROGRESS and read's EAGAIN are errors.
    assert_eq!((s.io.syscalls, s.io.errors), (5, 2));
    assert_eq!(report.counts.pending_fragments_discarded, 1);
    assert_eq!(report.counts.loss_notices, 1);
    assert_eq!(report.counts.lost_events, 3);
}
