//! The blog's download server (tracers-spec §8.3), synthesized as events: request
//! threads run `download_handler` (children `download_headers`, `download_writes`)
//! reading `/tmp/blob.bin.{1..4}` and writing them to TCP sockets, plus `fib_handler`
//! and `empty_handler` requests. Checks exact per-span and per-file bytes, the
//! bytes-by tables, the summary views, and that the slow spans served blob.bin.4.

use std::net::SocketAddr;

use tracer_core::bytestr::join_tags;
use tracer_core::correlate::Scope;
use tracer_core::engine::{Consumer, Engine, EngineConfig, Report};
use tracer_core::event::build::{open_detail, Timeline};
use tracer_core::event::{Event, EventKind, L4Proto, SyscallDetail, SyscallKind};
use tracer_core::event_view::EventView;
use tracer_core::fds::FdKind;
use tracer_core::spans::{SpanEnd, SpanRecord};
use tracer_core::views::{traces_summary, ByField, BytesBy, Spectrogram, SpectrogramConfig};

const PID: i64 = 500;
const MIB: u64 = 1 << 20;
const CHUNK: u64 = 64 * 1024;
const REQUEST_BYTES: u64 = 120;
const HEADER_BYTES: u64 = 150;

fn files() -> [(&'static str, u64); 4] {
    [
        ("/tmp/blob.bin.1", MIB),
        ("/tmp/blob.bin.2", 3 * MIB / 2),
        ("/tmp/blob.bin.3", 1_363_149), // 1.3 MiB
        ("/tmp/blob.bin.4", 512 * MIB),
    ]
}

/// `bytes` of I/O costing `ns_per_byte_x10 / 10` ns per byte.
fn io(t: &mut Timeline, kind: SyscallKind, fd: i64, bytes: u64, ns_per_byte_x10: u64) {
    t.io(kind, fd, bytes, bytes * ns_per_byte_x10 / 10);
}

#[derive(Debug, Clone)]
enum Req {
    Download(usize),
    Fib,
    Empty,
}

fn server_addr() -> SocketAddr {
    "127.0.0.1:8888".parse().unwrap()
}

fn client_addr(i: usize) -> SocketAddr {
    format!("127.0.0.1:{}", 40000 + i).parse().unwrap()
}

/// The whole capture, time-ordered, plus what was generated.
struct Capture {
    events: Vec<Event>,
    requests: Vec<Req>,
    total_io: u64,
}

fn capture(requests: Vec<Req>) -> Capture {
    let mut main = Timeline::new(PID, PID, 1_000_000);
    main.thread_info(1, "python", "/usr/bin/python", &["server.py"], "/srv");
    // sysdig_tracers opens /dev/null at import: fd 3, undecided.
    main.sys(
        SyscallKind::Openat,
        -1,
        3,
        500,
        open_detail("/dev/null", 0o4001),
    );
    main.sys(
        SyscallKind::Socket,
        -1,
        4,
        500,
        SyscallDetail::Socket {
            domain: 2,
            sock_type: 1,
            protocol: 0,
        },
    );
    main.sys(
        SyscallKind::Bind,
        4,
        0,
        500,
        SyscallDetail::Sock {
            proto: L4Proto::Tcp,
            local: Some(server_addr()),
            remote: None,
            unix_path: None,
        },
    );
    main.sys(SyscallKind::Listen, 4, 0, 500, SyscallDetail::None);
    let mut threads = Vec::new();
    let mut total_io = 0u64;
    for (i, req) in requests.iter().enumerate() {
        let sock = 10 + 2 * i as i64;
        let file_fd = sock + 1;
        let tid = PID + 1 + i as i64;
        main.now += 2_000_000; // a new request every 2 ms
        main.sys(
            SyscallKind::Accept4,
            4,
            sock,
            1000,
            SyscallDetail::Sock {
                proto: L4Proto::Tcp,
                local: Some(server_addr()),
                remote: Some(client_addr(i)),
                unix_path: None,
            },
        );
        main.sys(
            SyscallKind::Clone,
            -1,
            tid,
            5000,
            SyscallDetail::Clone {
                flags: 0x0001_0000 | 0x400 | 0x100,
                child_pid: PID,
            },
        );
        let mut t = Timeline::new(tid, PID, main.now + 1000);
        io(&mut t, SyscallKind::Recvfrom, sock, REQUEST_BYTES, 10);
        total_io += REQUEST_BYTES;
        let (handler, headers, body) = match req {
            Req::Download(_) => ("download_handler", "download_headers", "download_writes"),
            Req::Fib => ("fib_handler", "fib_headers", "fib_write"),
            Req::Empty => ("empty_handler", "empty_headers", "empty_write"),
        };
        t.marker(&format!(">:t:{handler}::"));
        t.marker(&format!(">:t:{handler}.{headers}::"));
        io(&mut t, SyscallKind::Write, sock, HEADER_BYTES, 20);
        total_io += HEADER_BYTES;
        t.marker(&format!("<:t:{handler}.{headers}::"));
        t.marker(&format!(">:t:{handler}.{body}::"));
        match req {
            Req::Download(k) => {
                let (path, size) = files()[*k];
                // Relative open against the cwd (/srv) to exercise path resolution.
                t.open(&format!("..{path}"), file_fd, 2000);
                let mut left = size;
                while left > 0 {
                    let n = left.min(CHUNK);
                    io(&mut t, SyscallKind::Read, file_fd, n, 5);
                    io(&mut t, SyscallKind::Write, sock, n, 10);
                    left -= n;
                    total_io += 2 * n;
                }
                io(&mut t, SyscallKind::Read, file_fd, 0, 5); // EOF
                t.sys(SyscallKind::Close, file_fd, 0, 500, SyscallDetail::None);
            }
            Req::Fib => {
                t.sys(SyscallKind::Other(39), -1, PID, 100, SyscallDetail::None); // getpid
                t.now += 300_000; // computing
                io(&mut t, SyscallKind::Write, sock, 10, 10);
                total_io += 10;
            }
            Req::Empty => {}
        }
        t.marker(&format!("<:t:{handler}.{body}::"));
        t.marker(&format!("<:t:{handler}::"));
        t.sys(SyscallKind::Close, sock, 0, 1000, SyscallDetail::None);
        t.events.push(Event {
            ts: t.now + 10,
            tid,
            pid: PID,
            kind: EventKind::ThreadExit { status: 0 },
        });
        threads.push(t);
    }
    let mut events = main.events;
    for t in threads {
        events.extend(t.events);
    }
    events.sort_by_key(|e| e.ts); // stable: per-thread order is kept
    Capture {
        events,
        requests,
        total_io,
    }
}

struct Collect {
    spans: Vec<SpanRecord>,
    by: Vec<BytesBy>,
    spectro: Spectrogram,
}

impl Consumer for Collect {
    fn event(&mut self, v: &EventView<'_>) {
        for b in &mut self.by {
            b.add(v);
        }
    }
    fn span(&mut self, s: &SpanRecord) {
        self.spectro.add(s);
        self.spans.push(s.clone());
    }
}

fn run(cap: &Capture) -> (Collect, Report) {
    let fields = [
        "evtin.span.tags",
        "evtin.span.tag[0]",
        "evtin.span.tag[1]",
        "fd.name",
        "fd.type",
        "proc.name",
        "evtin.span.m.tags",
    ];
    let mut c = Collect {
        spans: Vec::new(),
        by: fields
            .iter()
            .map(|f| BytesBy::new(ByField::parse(f).unwrap()))
            .collect(),
        spectro: Spectrogram::new(
            SpectrogramConfig {
                slice_ns: 10_000_000,
                columns: 110,
                depth: 0,
            },
            vec![],
        ),
    };
    let eng = Engine::new(EngineConfig::default());
    let report = eng.run(&cap.events, &mut c);
    (c, report)
}

fn tags_of(s: &SpanRecord) -> String {
    String::from_utf8_lossy(&join_tags(&s.tags)).into_owned()
}

#[test]
fn download_server_bytes_and_slow_spans() {
    let reqs = vec![
        Req::Download(0),
        Req::Fib,
        Req::Download(3),
        Req::Download(1),
        Req::Empty,
        Req::Download(2),
        Req::Download(3),
        Req::Fib,
        Req::Download(0),
        Req::Empty,
    ];
    let cap = capture(reqs.clone());
    let (c, report) = run(&cap);
    let counts = &report.counts;
    assert_eq!(counts.closed_spans, 30, "3 spans per request");
    assert_eq!(
        (
            counts.unmatched_exits,
            counts.never_closed,
            counts.evicted,
            counts.invalid_markers
        ),
        (0, 0, 0, 0)
    );
    assert_eq!(
        counts.io.total(),
        cap.total_io,
        "every generated byte is seen once"
    );

    // Per-span bytes, exactly.
    let mut handlers = Vec::new();
    for s in &c.spans {
        let children: Vec<&SpanRecord> =
            c.spans.iter().filter(|x| x.parent == Some(s.seq)).collect();
        match tags_of(s).as_str() {
            "download_handler.download_writes" => {
                let parent = c.spans.iter().find(|p| Some(p.seq) == s.parent).unwrap();
                let i = (parent.writer_tid - PID - 1) as usize;
                let Req::Download(k) = &cap.requests[i] else {
                    panic!("download span on a non-download thread")
                };
                let (path, size) = files()[*k];
                assert_eq!(s.io.files.len(), 1);
                assert_eq!(s.io.files[path].bytes_in, size, "file bytes of {path}");
                assert_eq!(s.io.files[path].bytes_out, 0);
                assert_eq!(s.io.by_kind[&FdKind::File].bytes_in, size);
                assert_eq!(s.io.by_kind[&FdKind::Ipv4].bytes_out, size);
                assert_eq!(s.io.peers[&client_addr(i).to_string()].bytes_out, size);
                let chunks = size.div_ceil(CHUNK);
                // open + reads (incl. EOF) + writes + close
                assert_eq!(s.io.syscalls, 1 + (chunks + 1) + chunks + 1);
                assert_eq!(s.io.errors, 0);
                assert!(s.io.syscall_ns > 0);
            }
            "download_handler.download_headers"
            | "fib_handler.fib_headers"
            | "empty_handler.empty_headers" => {
                assert_eq!(s.io.total.bytes_out, HEADER_BYTES);
                assert_eq!(s.io.total.bytes_in, 0);
            }
            "download_handler" | "fib_handler" | "empty_handler" => {
                assert_eq!(children.len(), 2, "{}", tags_of(s));
                assert_eq!(s.children, 2);
                assert_eq!(s.io.total.total(), 0, "handlers do no I/O themselves");
                let child_bytes: u64 = children.iter().map(|c| c.inclusive.total()).sum();
                assert_eq!(s.inclusive.total(), child_bytes);
                let child_ns: u64 = children.iter().map(|c| c.duration_ns.unwrap()).sum();
                assert_eq!(s.self_ns.unwrap(), s.duration_ns.unwrap() - child_ns);
                if tags_of(s) == "download_handler" {
                    handlers.push(s);
                }
            }
            "fib_handler.fib_write" => assert_eq!(s.io.total.bytes_out, 10),
            "empty_handler.empty_write" => assert_eq!(s.io.total.total(), 0),
            other => panic!("unexpected span {other}"),
        }
    }
    // The slow download_handler spans are exactly the ones that served blob.bin.4.
    handlers.sort_by_key(|s| std::cmp::Reverse(s.duration_ns.unwrap()));
    let n4 = reqs
        .iter()
        .filter(|r| matches!(r, Req::Download(3)))
        .count();
    for (rank, h) in handlers.iter().enumerate() {
        let writes = c
            .spans
            .iter()
            .find(|x| x.parent == Some(h.seq) && tags_of(x).ends_with("download_writes"))
            .unwrap();
        let served_4 = writes.io.files.contains_key("/tmp/blob.bin.4");
        assert_eq!(
            served_4,
            rank < n4,
            "rank {rank}: {:?}",
            writes.io.files.keys()
        );
    }

    // bytes-by tables (fdbytes_by semantics).
    let size = |k: usize| files()[k].1;
    let dl_files: u64 = reqs
        .iter()
        .filter_map(|r| match r {
            Req::Download(k) => Some(2 * size(*k)),
            _ => None,
        })
        .sum();
    let n_dl = reqs
        .iter()
        .filter(|r| matches!(r, Req::Download(_)))
        .count() as u64;
    let n_fib = reqs.iter().filter(|r| matches!(r, Req::Fib)).count() as u64;
    let by = |i: usize, key: &str| c.by[i].get(key.as_bytes());
    assert_eq!(by(0, "download_handler.download_writes"), Some(dl_files));
    assert_eq!(
        by(0, "download_handler.download_headers"),
        Some(n_dl * HEADER_BYTES)
    );
    assert_eq!(
        by(0, "download_handler"),
        None,
        "no I/O directly in the handler"
    );
    assert_eq!(
        by(1, "download_handler"),
        Some(dl_files + n_dl * HEADER_BYTES)
    );
    assert_eq!(by(1, "fib_handler"), Some(n_fib * (HEADER_BYTES + 10)));
    assert_eq!(by(2, "download_writes"), Some(dl_files));
    assert_eq!(by(3, "/tmp/blob.bin.4"), Some(2 * 512 * MIB));
    assert_eq!(by(3, "/tmp/blob.bin.1"), Some(2 * MIB));
    assert_eq!(
        by(3, "127.0.0.1:40000->127.0.0.1:8888"),
        Some(REQUEST_BYTES + HEADER_BYTES + MIB)
    );
    let file_bytes = dl_files / 2;
    assert_eq!(by(4, "file"), Some(file_bytes));
    assert_eq!(by(4, "ipv4"), Some(cap.total_io - file_bytes));
    assert_eq!(by(5, "python"), Some(cap.total_io));
    // The request reads happen outside every span: NULL key, skipped.
    let in_spans: u64 = c.by[0].table().rows.iter().map(|r| r.1).sum();
    assert_eq!(in_spans, cap.total_io - reqs.len() as u64 * REQUEST_BYTES);
    assert_eq!(
        c.by[6].table().rows.iter().map(|r| r.1).sum::<u64>(),
        in_spans
    );
    assert_eq!(
        report.unattributed.total.total(),
        reqs.len() as u64 * REQUEST_BYTES
    );

    // Summary views with drill-down.
    let top = traces_summary(&report.tags, &[]);
    let row = |s: &tracer_core::views::TracesSummary, t: &str| {
        s.rows
            .iter()
            .find(|r| r.tag == t.as_bytes())
            .cloned()
            .unwrap()
    };
    let dh = row(&top, "download_handler");
    assert_eq!((dh.hits, dh.chd_hits), (n_dl, 2 * n_dl));
    assert_eq!(top.rows[0].tag, b"download_handler");
    let dl_span_max = handlers[0].duration_ns.unwrap();
    assert_eq!(dh.max_ns, dl_span_max);
    let drill = traces_summary(&report.tags, &[b"download_handler".to_vec()]);
    assert_eq!(drill.rows.len(), 2);
    assert_eq!(row(&drill, "download_writes").bytes, dl_files);
    let tag_row = report
        .tags
        .iter()
        .find(|t| t.tags == vec![b"download_handler".to_vec(), b"download_writes".to_vec()])
        .unwrap();
    assert_eq!(tag_row.io.files["/tmp/blob.bin.4"].bytes_in, 2 * 512 * MIB);
    assert!(tag_row.p99_ns >= tag_row.p50_ns && tag_row.max_ns >= tag_row.p99_ns);

    // Spectrogram: one count per root span.
    let total: u64 = c.spectro.rows.iter().flat_map(|r| r.counts.iter()).sum();
    assert_eq!(total, reqs.len() as u64);

    // The report is serializable and round-trips.
    let json = serde_json::to_string(&report).unwrap();
    let back: Report = serde_json::from_str(&json).unwrap();
    assert_eq!(back.counts, report.counts);
    assert_eq!(back.tags.len(), report.tags.len());
    let _ = Scope::Thread;
    assert!(c.spans.iter().all(|s| s.end == SpanEnd::Closed));
}
