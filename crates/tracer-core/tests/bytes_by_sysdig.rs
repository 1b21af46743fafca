//! `BytesBy` follows sysdig's `fdbytes_by` exactly (checked against sysdig 0.29.3 on the
//! sample captures by `tracer-scap`'s `per_fd_bytes_match_sysdig`); these tests pin each
//! rule on a synthetic stream: `sendfile` is not `evt.is_io` (but is still charged to the
//! span), zero-byte and failed I/O create no row, I/O on an unknown fd is grouped under
//! the empty name, an unbound datagram socket is named from its first tuple with the
//! loopback local side inferred, and a reconnect keeps the first peer.

use std::collections::BTreeMap;

use tracer_core::engine::{Engine, EngineConfig};
use tracer_core::event::{Event, EventKind, L4Proto, Syscall, SyscallDetail, SyscallKind};
use tracer_core::event_view::EventView;
use tracer_core::fds::FdKind;
use tracer_core::views::{ByField, BytesBy};

const TID: i64 = 50;

fn sys(ts: u64, kind: SyscallKind, fd: i64, res: i64, detail: SyscallDetail) -> Event {
    let mut s = Syscall::new(kind, ts - 5, res);
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
    let mut s = Syscall::new(SyscallKind::Write, ts - 5, text.len() as i64);
    s.fd = 3;
    s.data = Some(text.as_bytes().to_vec());
    Event {
        ts,
        tid: TID,
        pid: TID,
        kind: EventKind::Syscall(s),
    }
}

#[test]
fn bytes_by_fd_name_follows_fdbytes_by() {
    use SyscallKind::*;
    let evs = vec![
        open(10, "/dev/null", 3),
        marker(20, ">:t:req::"),
        open(30, "/srv/file", 4),
        sys(40, Read, 4, 100, SyscallDetail::None),
        sys(50, Read, 4, 0, SyscallDetail::None), // EOF: no bytes
        open(60, "/srv/empty", 5),
        sys(70, Read, 5, 0, SyscallDetail::None), // no row for /srv/empty
        sys(
            80,
            Socket,
            -1,
            6,
            SyscallDetail::Socket {
                domain: 10,
                sock_type: 2,
                protocol: 0,
            },
        ),
        sys(90, Sendfile, 6, 4096, SyscallDetail::Sendfile { in_fd: 4 }),
        // Unbound socket: the tuple names the peer only.
        sys(100, Sendto, 6, 6, sock(None, "[::1]:2345")),
        sys(110, Connect, 6, 0, sock(Some("[::1]:38255"), "[::1]:2345")),
        sys(120, Sendto, 6, 6, SyscallDetail::None),
        // Reconnect elsewhere: sysdig keeps the first peer in the name.
        sys(
            130,
            Connect,
            6,
            0,
            sock(Some("[::1]:38255"), "[2001:4860:4860::8888]:53"),
        ),
        sys(140, Sendto, 6, -111, SyscallDetail::None), // failed: no bytes
        sys(150, Write, 2, 23, SyscallDetail::None),    // fd 2 never seen
        sys(160, Sendto, 6, 6, SyscallDetail::None),
    ];
    let mut names = BytesBy::new(ByField::FdName);
    let mut types = BytesBy::new(ByField::FdType);
    let mut consumer = |v: &EventView<'_>| {
        names.add(v);
        types.add(v);
    };
    let report = Engine::new(EngineConfig::default()).run(&evs, &mut consumer);
    let table = |b: &BytesBy| -> BTreeMap<String, u64> {
        b.table()
            .rows
            .iter()
            .map(|(k, n)| (String::from_utf8_lossy(&k.0).into_owned(), *n))
            .collect()
    };
    let want: BTreeMap<String, u64> = [
        ("/srv/file", 100),
        ("::1:0->::1:2345", 6),
        ("::1:38255->::1:2345", 12),
        ("", 23),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(table(&names), want);
    // fd.type is NULL on the unknown fd: those bytes have no row.
    let want: BTreeMap<String, u64> = [("file", 100), ("ipv6", 18)]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    assert_eq!(table(&types), want);

    // The span still gets the sendfile bytes: 4096 read from the file, 4096 sent.
    let span = &report.never_closed[0];
    assert_eq!(span.io.files["/srv/file"].bytes_in, 100 + 4096);
    assert_eq!(span.io.by_kind[&FdKind::Ipv6].bytes_out, 4096 + 18);
}
