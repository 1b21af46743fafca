//! Property tests: random interleavings of balanced spans across threads always pair
//! correctly (also with shared `g`/numeric ids, thanks to C5), and the bytes charged to
//! spans plus the unattributed bytes equal the bytes generated, span by span.

use std::collections::{BTreeMap, HashMap};

use proptest::prelude::*;
use tracer_core::engine::{Consumer, Engine, EngineConfig};
use tracer_core::event::{Event, EventKind, FdTarget, L4Proto, Syscall, SyscallKind};
use tracer_core::event_view::EventView;
use tracer_core::spans::{SpanEnd, SpanRecord};

#[derive(Debug, Clone)]
enum Op {
    Enter(Vec<String>),
    Exit(Vec<String>),
    Io { read: bool, bytes: u64 },
}

/// One thread's balanced program from random choices.
fn program(choices: &[(u8, u8, u16)]) -> Vec<Op> {
    let mut ops = Vec::new();
    let mut stack: Vec<Vec<String>> = Vec::new();
    for &(what, tag, bytes) in choices {
        match what % 4 {
            0 | 1 if stack.len() < 6 => {
                let t = ["a", "b", "c"][tag as usize % 3].to_string();
                let path = match (stack.last(), tag % 2) {
                    (Some(top), 0) => {
                        let mut p = top.clone();
                        p.push(t);
                        p
                    }
                    _ => vec![t],
                };
                stack.push(path.clone());
                ops.push(Op::Enter(path));
            }
            2 if !stack.is_empty() => ops.push(Op::Exit(stack.pop().unwrap())),
            _ => ops.push(Op::Io {
                read: tag % 2 == 0,
                bytes: bytes as u64,
            }),
        }
    }
    while let Some(p) = stack.pop() {
        ops.push(Op::Exit(p));
    }
    ops
}

fn marker(dir: char, id: &str, tags: &[String]) -> Vec<u8> {
    format!("{dir}:{id}:{}::", tags.join(".")).into_bytes()
}

#[derive(Default)]
struct Spans(Vec<SpanRecord>);

impl Consumer for Spans {
    fn event(&mut self, _v: &EventView<'_>) {}
    fn span(&mut self, s: &SpanRecord) {
        self.0.push(s.clone());
    }
}

fn scenario(
    threads: Vec<Vec<(u8, u8, u16)>>,
    order: Vec<u8>,
    id_form: u8,
) -> Result<(), TestCaseError> {
    let id = ["t", "g", "7", ""][id_form as usize % 4];
    let progs: Vec<Vec<Op>> = threads.iter().map(|c| program(c)).collect();
    let tid_of = |i: usize| 100 + i as i64;
    // Interleave: pick the next thread from `order` among those with ops left.
    let mut pos = vec![0usize; progs.len()];
    let mut merged: Vec<(usize, usize)> = Vec::new();
    let mut k = 0;
    loop {
        let live: Vec<usize> = (0..progs.len())
            .filter(|&t| pos[t] < progs[t].len())
            .collect();
        if live.is_empty() {
            break;
        }
        let pick = order.get(k).copied().unwrap_or(0) as usize;
        k += 1;
        let t = live[pick % live.len()];
        merged.push((t, pos[t]));
        pos[t] += 1;
    }
    // Expected pairing and bytes per (thread, enter op index), from a per-thread stack.
    let mut expect_pairs: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    let mut expect_bytes: HashMap<(usize, usize), u64> = HashMap::new();
    let mut outside = 0u64;
    let mut generated = 0u64;
    for (t, p) in progs.iter().enumerate() {
        let mut stack: Vec<usize> = Vec::new();
        for (i, op) in p.iter().enumerate() {
            match op {
                Op::Enter(_) => stack.push(i),
                Op::Exit(_) => {
                    let e = stack.pop().unwrap();
                    expect_pairs.insert((t, e), i);
                }
                Op::Io { bytes, .. } => {
                    generated += bytes;
                    match stack.last() {
                        Some(&e) => *expect_bytes.entry((t, e)).or_default() += bytes,
                        None => outside += bytes,
                    }
                }
            }
        }
    }
    let mut eng = Engine::new(EngineConfig::default());
    let sink = &mut |_: &EventView<'_>| {};
    for t in 0..progs.len() {
        let tid = tid_of(t);
        eng.mark_tracer_fd(tid, 1, 3);
        for (fd, target) in [
            (5, FdTarget::File("/data/x".into())),
            (
                6,
                FdTarget::Inet {
                    proto: L4Proto::Tcp,
                    local: Some("10.0.0.1:80".parse().unwrap()),
                    remote: Some("10.0.0.2:999".parse().unwrap()),
                    server: true,
                },
            ),
        ] {
            eng.process(
                &Event {
                    ts: 0,
                    tid,
                    pid: 1,
                    kind: EventKind::FdSnapshot { fd, target },
                },
                sink,
            );
        }
    }
    let offset = eng.counts().events;
    let mut index_of: HashMap<u64, (usize, usize)> = HashMap::new();
    let mut spans = Spans::default();
    for (n, &(t, i)) in merged.iter().enumerate() {
        let ts = 1000 + 10 * n as u64;
        let mut sc = match &progs[t][i] {
            Op::Enter(tags) | Op::Exit(tags) => {
                let dir = if matches!(progs[t][i], Op::Enter(_)) {
                    '>'
                } else {
                    '<'
                };
                let data = marker(dir, id, tags);
                let mut s = Syscall::new(SyscallKind::Write, ts - 5, data.len() as i64);
                s.fd = 3;
                s.data = Some(data);
                s
            }
            Op::Io { read, bytes } => {
                let kind = if *read {
                    SyscallKind::Read
                } else {
                    SyscallKind::Write
                };
                let mut s = Syscall::new(kind, ts - 5, *bytes as i64);
                s.fd = if *read { 5 } else { 6 };
                s
            }
        };
        sc.size = sc.res as u64;
        index_of.insert(offset + n as u64, (t, i));
        eng.process(
            &Event {
                ts,
                tid: tid_of(t),
                pid: 1,
                kind: EventKind::Syscall(sc),
            },
            &mut spans,
        );
    }
    let report = eng.finish(&mut spans);
    prop_assert_eq!(report.counts.unmatched_exits, 0);
    prop_assert_eq!(report.counts.never_closed, 0);
    prop_assert_eq!(spans.0.len(), expect_pairs.len());
    let mut attributed = 0u64;
    for s in &spans.0 {
        prop_assert_eq!(s.end, SpanEnd::Closed);
        let (t, e) = index_of[&s.enter_event];
        let (t2, x) = index_of[&s.exit_event.unwrap()];
        prop_assert_eq!(t, t2, "span paired across threads");
        prop_assert_eq!(expect_pairs[&(t, e)], x, "wrong exit for enter");
        let want = expect_bytes.get(&(t, e)).copied().unwrap_or(0);
        prop_assert_eq!(s.io.total.total(), want);
        attributed += s.io.total.total();
    }
    prop_assert_eq!(attributed + report.unattributed.total.total(), generated);
    prop_assert_eq!(report.unattributed.total.total(), outside);
    prop_assert_eq!(report.counts.io.total(), generated);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn balanced_spans_pair_and_bytes_add_up(
        threads in prop::collection::vec(prop::collection::vec((any::<u8>(), any::<u8>(), 0u16..5000), 0..40), 1..5),
        order in prop::collection::vec(any::<u8>(), 0..200),
        id_form in any::<u8>(),
    ) {
        scenario(threads, order, id_form)?;
    }
}

/// Arbitrary event soup: the engine never panics, and its counters stay consistent.
fn soup_event((k, tid, fd, res, ts, data, flag): (u8, u8, i8, i32, u32, Vec<u8>, bool)) -> Event {
    use tracer_core::event::{SyscallDetail as D, ThreadInfo};
    let tid = (tid % 6) as i64 + 1;
    let pid = if tid > 3 { 4 } else { 1 };
    let fd = fd as i64 % 12;
    let ts = ts as u64;
    let prefixes: [&[u8]; 5] = [b">:t:", b"<:t:", b">::", b"[\">\", 1, [", b""];
    let mut payload = prefixes[(k % 5) as usize].to_vec();
    payload.extend_from_slice(&data);
    let mk = |kind: SyscallKind, detail: D| {
        let mut s = Syscall::new(kind, ts.wrapping_sub(res as u64 % 100), res as i64);
        s.fd = fd;
        s.detail = detail;
        s.null_dev = flag;
        if kind.io_dir().is_some() {
            s.data = Some(payload.clone());
        }
        EventKind::Syscall(s)
    };
    let kind = match k % 16 {
        0..=3 => mk(SyscallKind::Write, D::None),
        4 => mk(SyscallKind::Read, D::None),
        5 => mk(
            SyscallKind::Openat,
            D::Open {
                path: ["/dev/null", "rel/x", "../..", ""][(res & 3) as usize].into(),
                dirfd: Some(if fd % 2 == 0 { -100 } else { fd }),
                flags: res as u32,
                mode: 0,
            },
        ),
        6 => mk(SyscallKind::Close, D::None),
        7 => mk(
            SyscallKind::Dup2,
            D::Dup {
                oldfd: (fd + 1) % 12,
            },
        ),
        8 => mk(
            SyscallKind::Clone,
            D::Clone {
                flags: if res % 2 == 0 { 0x10000 } else { 0 },
                child_pid: (res % 9) as i64,
            },
        ),
        9 => mk(
            SyscallKind::Accept4,
            D::Sock {
                proto: L4Proto::Tcp,
                local: Some("1.2.3.4:5".parse().unwrap()),
                remote: None,
                unix_path: if res % 2 == 0 {
                    Some("/s".into())
                } else {
                    None
                },
            },
        ),
        10 => mk(
            SyscallKind::Sendfile,
            D::Sendfile {
                in_fd: (fd + 2) % 12,
            },
        ),
        11 => EventKind::ThreadExit { status: 0 },
        12 => EventKind::Lost {
            count: res as u64 % 5,
        },
        13 => EventKind::FdSnapshot {
            fd,
            target: FdTarget::File("/dev/null".into()),
        },
        14 => EventKind::ThreadInfo(ThreadInfo {
            tid,
            pid,
            ptid: (res % 5) as i64,
            ..Default::default()
        }),
        _ => mk(
            SyscallKind::Execve,
            D::Execve {
                filename: "/bin/x".into(),
                argv: vec![],
            },
        ),
    };
    Event { ts, tid, pid, kind }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn arbitrary_events_never_panic(
        raw in prop::collection::vec(
            (any::<u8>(), any::<u8>(), any::<i8>(), -20i32..200, any::<u32>(),
             prop::collection::vec(prop::sample::select(b"ab.:=,<>\\t0 \n\"[]{}x".to_vec()), 0..12),
             any::<bool>()),
            0..120),
        cap in 1usize..6,
    ) {
        let events: Vec<Event> = raw.into_iter().map(soup_event).collect();
        let eng = Engine::new(EngineConfig { open_span_capacity: cap, ..EngineConfig::default() });
        let mut spans = Spans::default();
        let report = eng.run(&events, &mut spans);
        let c = &report.counts;
        prop_assert_eq!(c.events, events.len() as u64);
        prop_assert_eq!(c.exits, c.closed_spans + c.unmatched_exits);
        prop_assert_eq!(c.enters, c.closed_spans + c.never_closed + c.evicted);
        prop_assert_eq!(spans.0.len() as u64, c.enters);
        prop_assert!(c.max_open_spans <= cap as u64);
        let json = serde_json::to_string(&report).unwrap();
        let back: tracer_core::engine::Report = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&back.counts, c);
    }
}
