//! `BytesBy` follows sysdig's `fdbytes_by` exactly (checked against sysdig 0.29.3 on the
//! sample captures by `tracer-scap`'s `per_fd_bytes_match_sysdig`); these tests pin each
//! rule on a synthetic stream: `sendfile` is not `evt.is_io` (but is still charged to the
//! span), zero-byte and failed I/O create no row, I/O on an unknown fd is grouped under
//! the empty name, an unbound datagram socket is named from its first tuple with the
//! loopback local side inferred, and a reconnect keeps the first peer. The first stream
//! is also written as a capture and run through `sysdig -c fdbytes_by` (the oracle).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tracer_core::engine::{Engine, EngineConfig};
use tracer_core::event::{
    Event, EventKind, L4Proto, Syscall, SyscallDetail, SyscallKind, ThreadInfo,
};
use tracer_core::event_view::EventView;
use tracer_core::fds::FdKind;
use tracer_core::views::{ByField, BytesBy};
use tracer_scap::{ScapReader, ScapWriter, WriterOptions};

mod common;
use common::sysdig_output;

const TID: i64 = 50;
const BASE_TS: u64 = 1_700_000_000_000_000_000;

fn sys(ts: u64, kind: SyscallKind, fd: i64, res: i64, detail: SyscallDetail) -> Event {
    let ts = BASE_TS + ts * 1000;
    let mut s = Syscall::new(kind, ts - 500, res);
    s.fd = fd;
    s.detail = detail;
    if kind.io_dir().is_some() {
        s.size = res.max(0) as u64;
    }
    Event {
        ts,
        tid: TID,
        pid: TID,
        kind: EventKind::Syscall(s),
    }
}

fn open(ts: u64, path: &str, fd: i64) -> Event {
    sys(
        ts,
        SyscallKind::Openat,
        -1,
        fd,
        SyscallDetail::Open {
            path: path.into(),
            dirfd: Some(-100),
            flags: 0,
            mode: 0,
        },
    )
}

fn sock(local: Option<&str>, remote: &str) -> SyscallDetail {
    SyscallDetail::Sock {
        proto: L4Proto::Udp,
        local: local.map(|a| a.parse().unwrap()),
        remote: Some(remote.parse().unwrap()),
        unix_path: None,
    }
}

fn marker(ts: u64, text: &str) -> Event {
    let ts = BASE_TS + ts * 1000;
    let mut s = Syscall::new(SyscallKind::Write, ts - 500, text.len() as i64);
    s.fd = 3;
    s.data = Some(text.as_bytes().to_vec());
    Event {
        ts,
        tid: TID,
        pid: TID,
        kind: EventKind::Syscall(s),
    }
}

fn thread_info() -> Event {
    Event {
        ts: BASE_TS,
        tid: TID,
        pid: TID,
        kind: EventKind::ThreadInfo(ThreadInfo {
            tid: TID,
            pid: TID,
            ptid: 1,
            comm: "client".into(),
            exe: "/bin/client".into(),
            args: vec![],
            cwd: "/".into(),
        }),
    }
}

fn udp6_socket(ts: u64, fd: i64) -> Event {
    sys(
        ts,
        SyscallKind::Socket,
        -1,
        fd,
        SyscallDetail::Socket {
            domain: 10,
            sock_type: 2,
            protocol: 0,
        },
    )
}

fn table(b: &BytesBy) -> BTreeMap<String, u64> {
    b.table()
        .rows
        .iter()
        .map(|(k, n)| (String::from_utf8_lossy(&k.0).into_owned(), *n))
        .collect()
}

fn map(rows: &[(&str, u64)]) -> BTreeMap<String, u64> {
    rows.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[test]
fn io_rules_agree_with_sysdig() {
    use SyscallKind::*;
    let evs = vec![
        thread_info(),
        open(10, "/dev/null", 3),
        marker(20, ">:t:req::"),
        open(30, "/srv/file", 4),
        sys(40, Read, 4, 100, SyscallDetail::None),
        sys(50, Read, 4, 0, SyscallDetail::None), // EOF: no bytes
        open(60, "/srv/empty", 5),
        sys(70, Read, 5, 0, SyscallDetail::None), // no row for /srv/empty
        udp6_socket(80, 6),
        sys(90, Connect, 6, 0, sock(Some("[::1]:38255"), "[::1]:2345")),
        sys(100, Sendfile, 6, 4096, SyscallDetail::Sendfile { in_fd: 4 }),
        sys(110, Sendto, 6, 6, SyscallDetail::None),
        sys(120, Sendto, 6, -111, SyscallDetail::None), // failed: no bytes
        sys(130, Write, 2, 23, SyscallDetail::None),    // fd 2 never seen
        sys(140, Sendto, 6, 6, SyscallDetail::None),
    ];
    let mut names = BytesBy::new(ByField::FdName);
    let mut types = BytesBy::new(ByField::FdType);
    let report = Engine::new(EngineConfig::default()).run(&evs, &mut |v: &EventView<'_>| {
        names.add(v);
        types.add(v);
    });
    let want = map(&[("/srv/file", 100), ("::1:38255->::1:2345", 12), ("", 23)]);
    assert_eq!(table(&names), want);
    let (_dir, file) = capture(&evs);
    assert_eq!(sysdig_fdbytes(&file, "fd.name"), want, "sysdig disagrees");
    // The engine over the capture as read back gives the same table.
    let read: Vec<Event> = ScapReader::open(&file)
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let mut again = BytesBy::new(ByField::FdName);
    Engine::new(EngineConfig::default()).run(&read, &mut |v: &EventView<'_>| again.add(v));
    assert_eq!(table(&again), want, "read back");
    // fd.type is NULL on the unknown fd: those bytes have no row.
    let want = map(&[("file", 100), ("ipv6", 12)]);
    assert_eq!(table(&types), want);
    assert_eq!(sysdig_fdbytes(&file, "fd.type"), want, "sysdig disagrees");

    // The span still gets the sendfile bytes: 4096 read from the file, 4096 sent.
    let span = &report.never_closed[0];
    assert_eq!(span.io.files["/srv/file"].bytes_in, 100 + 4096);
    assert_eq!(span.io.by_kind[&FdKind::Ipv6].bytes_out, 4096 + 12);
}

/// The datagram naming rules seen in `public-libs-test_ipv6_client.scap` (compared with
/// sysdig by `tracer-scap`'s `per_fd_bytes_match_sysdig`): an unbound socket is named
/// from its first `sendto` tuple with the loopback local side inferred
/// (`::1:0->::1:2345`), and a second `connect` to another peer keeps the name.
///
/// Not compared with sysdig here: that capture's `connect` enter events carry no
/// address (an older driver). sysdig 0.29 sets the peer from the enter's address when
/// there is one (as in captures `tracer-scap` writes), so there a reconnect does rename
/// the fd; the event model does not tell the two apart and the engine follows the
/// sample captures.
#[test]
fn datagram_socket_naming() {
    use SyscallKind::*;
    let evs = vec![
        thread_info(),
        udp6_socket(10, 3),
        sys(20, Sendto, 3, 6, sock(None, "[::1]:2345")),
        sys(30, Connect, 3, 0, sock(Some("[::1]:38255"), "[::1]:2345")),
        sys(40, Sendto, 3, 6, SyscallDetail::None),
        sys(
            50,
            Connect,
            3,
            0,
            sock(Some("[::1]:38255"), "[2001:4860:4860::8888]:53"),
        ),
        sys(60, Sendto, 3, 6, SyscallDetail::None),
        udp6_socket(70, 4),
        // A non-loopback peer: the local side stays unknown (sysdig would pick the
        // capture machine's interface address, which events do not carry).
        sys(80, Sendto, 4, 9, sock(None, "[2001:db8::1]:53")),
    ];
    let mut names = BytesBy::new(ByField::FdName);
    Engine::new(EngineConfig::default()).run(&evs, &mut |v: &EventView<'_>| names.add(v));
    assert_eq!(
        table(&names),
        map(&[
            ("::1:0->::1:2345", 6),
            ("::1:38255->::1:2345", 12),
            ("2001:db8::1:53", 9)
        ])
    );
}

/// Writes `evs` as a capture (in a temporary directory, kept alive by the caller).
fn capture(evs: &[Event]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("client.scap");
    let mut w = ScapWriter::create(&file, WriterOptions::default()).unwrap();
    for e in evs {
        w.write_event(e).unwrap();
    }
    w.finish().unwrap();
    (dir, file)
}

/// `sysdig -r FILE -c fdbytes_by FIELD` as (key → bytes).
fn sysdig_fdbytes(file: &Path, field: &str) -> BTreeMap<String, u64> {
    let out = sysdig_output("sysdig", file, &["-j", "-c", "fdbytes_by", field]);
    assert!(out.status.success(), "sysdig failed: {out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r[0].as_str().unwrap().to_string(), r[1].as_u64().unwrap()))
        .collect()
}
