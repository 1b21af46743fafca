//! Real-kernel captures (root only; CI runs as root). Without root each test prints a
//! loud SKIP line and passes. No timing assertions: only exact counts and contents.

use std::collections::HashMap;
use std::process::Command;
use std::time::Duration;

use tracer_core::event::{Event, EventKind, L4Proto, Syscall, SyscallDetail, SyscallKind};
use tracer_probe::{PausedChild, Probe, ProbeConfig, ProbeError, Target};

mod common;
use common::{poll_until_exit, root_or_skip, Py, Workload};

fn syscalls(events: &[Event]) -> impl Iterator<Item = (&Event, &Syscall)> {
    events.iter().filter_map(|e| match &e.kind {
        EventKind::Syscall(s) => Some((e, s)),
        _ => None,
    })
}

/// How many `read` syscalls `pick` selects, and the bytes they returned.
fn reads(events: &[Event], pick: impl Fn(&Event) -> bool) -> (usize, i64) {
    let v: Vec<&Syscall> = syscalls(events)
        .filter(|(e, s)| pick(e) && s.kind == SyscallKind::Read)
        .map(|(_, s)| s)
        .collect();
    (v.len(), v.iter().map(|s| s.res.max(0)).sum())
}

/// The bytes returned by the `read` exits that `filter` matches among the events `pick`
/// selects, as the engine and the filter language see them.
fn filtered_read_bytes(events: &[Event], filter: &str, pick: impl Fn(&Event) -> bool) -> i64 {
    let filter =
        tracer_core::filter::Filter::compile(&format!("{filter} and evt.type=read and evt.dir=<"))
            .unwrap();
    let mut splitter = tracer_core::filter::lines::LineSplitter::new();
    let mut matched = 0i64;
    let mut engine = tracer_core::engine::Engine::default();
    for e in events {
        engine.process(e, &mut |v: &tracer_core::event_view::EventView<'_>| {
            for line in splitter.split(v) {
                if filter.matches(&line) && pick(v.event) {
                    matched += line.view.syscall().map_or(0, |s| s.syscall.res);
                }
            }
        });
    }
    matched
}

/// Marker payloads per thread, in order.
fn markers(events: &[Event]) -> Vec<(i64, i64, String)> {
    syscalls(events)
        .filter(|(_, s)| s.null_dev)
        .map(|(e, s)| {
            (
                e.pid,
                e.tid,
                String::from_utf8_lossy(s.data.as_deref().unwrap_or(&[])).into_owned(),
            )
        })
        .collect()
}

#[test]
fn captures_markers_and_io_per_span() {
    if !root_or_skip("captures_markers_and_io_per_span") {
        return;
    }
    let Workload {
        tmp: _tmp,
        data,
        mut py,
    } = Workload::start();
    let pid = py.pid();
    let cfg = ProbeConfig {
        target: Target::Command(pid),
        spans_only: true,
        attach: common::attach(),
        ..ProbeConfig::default()
    };
    let mut probe = Probe::load(cfg).expect("probe loads as root");
    let snapshot = probe.snapshot();
    py.go();
    let mut events = vec![];
    poll_until_exit(&mut probe, &mut py.child, &mut events);
    let stats = probe.finish(&mut |e| events.push(e)).unwrap();
    let facts = py.facts();
    let [total, got, port, uport, null_pre, rx_tid] = facts[..] else {
        panic!("facts {facts:?}")
    };
    assert_eq!(
        (total, got),
        (1 << 20, 102400),
        "the workload itself did what it should"
    );
    assert_eq!(stats.dropped, 0, "{stats:?}");
    assert_eq!(stats.received, stats.submitted, "{stats:?}");
    assert_eq!(stats.malformed, 0);

    // snapshot: the pre-opened /dev/null fd and the main thread are known
    assert!(snapshot.iter().any(|e| e.pid == pid as i64
        && e.kind
            == EventKind::FdSnapshot {
                fd: null_pre,
                target: tracer_core::event::FdTarget::File("/dev/null".into())
            }));
    assert!(snapshot.iter().any(|e| matches!(&e.kind, EventKind::ThreadInfo(t) if t.tid == pid as i64 && t.comm == "python3")));

    // markers, including the fd opened before the capture, nested in order
    let m = markers(&events);
    let main: Vec<&str> = m
        .iter()
        .filter(|(_, t, _)| *t == pid as i64)
        .map(|(_, _, s)| s.as_str())
        .collect();
    assert_eq!(
        main,
        [">:t:io::", ">:t:io.inner::", "<:t:io.inner::", "<:t:io::"],
        "{m:?}"
    );
    let first = syscalls(&events).find(|(_, s)| s.null_dev).unwrap().1;
    assert_eq!(
        first.fd, null_pre,
        "marker through the fd opened before the capture"
    );
    let rx: Vec<&str> = m
        .iter()
        .filter(|(_, t, _)| *t == rx_tid)
        .map(|(_, _, s)| s.as_str())
        .collect();
    assert_eq!(rx, [">:t:rx::", "<:t:rx::"]);
    // the sh descendant's span; its non-tracer redirection was dropped in the kernel
    let sh: Vec<&(i64, i64, String)> = m.iter().filter(|(p, _, _)| *p != pid as i64).collect();
    assert_eq!(
        sh.iter().map(|(_, _, s)| s.as_str()).collect::<Vec<_>>(),
        [">:t:shspan::\n", "<:t:shspan::\n"]
    );
    let sh_pid = sh[0].0;
    assert!(syscalls(&events).any(|(e, s)| e.pid == pid as i64
        && matches!(s.detail, SyscallDetail::Clone { child_pid, .. } if child_pid == sh_pid)));
    assert!(!m.iter().any(|(_, _, s)| s.contains("hello")));
    assert!(stats.non_tracer_markers >= 1, "{stats:?}");

    // spans-only: nothing of the main thread outside its spans (stdin read, stdout write)
    let main_io: Vec<&Syscall> = syscalls(&events)
        .filter(|(e, s)| e.tid == pid as i64 && s.kind.io_dir().is_some() && !s.null_dev)
        .map(|(_, s)| s)
        .collect();
    assert!(
        !main_io.iter().any(|s| s.fd == 0 || s.fd == 1),
        "I/O outside spans was shipped"
    );

    // file bytes: 1 MiB in 7777-byte reads
    let data_fd = syscalls(&events)
        .find(|(_, s)| matches!(&s.detail, SyscallDetail::Open { path, .. } if path == data.to_str().unwrap()))
        .map(|(_, s)| s.res)
        .expect("open of the data file");
    let reads: Vec<&&Syscall> = main_io
        .iter()
        .filter(|s| s.kind == SyscallKind::Read && s.fd == data_fd)
        .collect();
    assert_eq!(reads.iter().map(|s| s.res).sum::<i64>(), 1 << 20);
    assert!(reads.iter().all(|s| s.size == 7777));
    assert_eq!(
        reads.len(),
        (1 << 20) / 7777 + 2,
        "full chunks, the tail, the final 0"
    );

    // TCP: 100 KiB sent to the listener's port, received by the rx thread
    let peer = |s: &Syscall| match &s.detail {
        SyscallDetail::Sock { proto, remote, .. } => {
            Some((*proto, remote.map(|r| r.port() as i64)))
        }
        _ => None,
    };
    let sent: i64 = main_io
        .iter()
        .filter(|s| s.kind == SyscallKind::Sendto && peer(s) == Some((L4Proto::Tcp, Some(port))))
        .map(|s| s.res)
        .sum();
    assert_eq!(sent, 102400);
    let accept = syscalls(&events)
        .find(|(e, s)| {
            e.tid == rx_tid && matches!(s.kind, SyscallKind::Accept | SyscallKind::Accept4)
        })
        .expect("accept")
        .1;
    let recvd: i64 = syscalls(&events)
        .filter(|(e, s)| e.tid == rx_tid && s.kind == SyscallKind::Recvfrom && s.fd == accept.res)
        .map(|(_, s)| s.res)
        .sum();
    assert_eq!(recvd, 102400);
    match &accept.detail {
        SyscallDetail::Sock {
            proto: L4Proto::Tcp,
            local: Some(l),
            remote: Some(_),
            ..
        } => assert_eq!(l.port() as i64, port),
        d => panic!("accept detail {d:?}"),
    }
    // UDP datagram to the other socket's port
    assert!(main_io.iter().any(|s| s.kind == SyscallKind::Sendto
        && s.res == 1000
        && peer(s) == Some((L4Proto::Udp, Some(uport)))));
    // writev and sendfile inside the nested span
    assert!(main_io
        .iter()
        .any(|s| s.kind == SyscallKind::Writev && s.res == 300));
    assert!(main_io.iter().any(|s| s.kind == SyscallKind::Sendfile
        && s.res == 50000
        && s.detail == SyscallDetail::Sendfile { in_fd: data_fd }));
    // the rx thread was created by the main thread
    assert!(syscalls(&events).any(|(e, s)| e.tid == pid as i64
        && matches!(s.kind, SyscallKind::Clone | SyscallKind::Clone3)
        && s.res == rx_tid
        && matches!(s.detail, SyscallDetail::Clone { flags, .. } if flags & libc::CLONE_THREAD as u64 != 0)));
    // timestamps: exit after enter
    assert!(syscalls(&events).all(|(e, s)| e.ts >= s.enter_ts));
    assert!(events
        .iter()
        .any(|e| e.pid == pid as i64 && matches!(e.kind, EventKind::ThreadExit { .. })));
}

/// Spans-only keeps the I/O of a worker thread while another thread of its process has
/// a span open (the process scope, `evtin.span.p.*`), and drops it once no span is open.
#[test]
fn spans_only_keeps_worker_threads_io_while_a_span_is_open() {
    if !root_or_skip("spans_only_keeps_worker_threads_io_while_a_span_is_open") {
        return;
    }
    let common::Run {
        mut py,
        events,
        stats,
        ..
    } = common::run_script("workers.py", &[7u8; 100_000], |pid| ProbeConfig {
        target: Target::Command(pid),
        spans_only: true,
        attach: common::attach(),
        ..ProbeConfig::default()
    });
    let pid = py.pid() as i64;
    assert_eq!(stats.dropped, 0, "{stats:?}");
    let facts = py.facts();
    let [in_tid, in_bytes, out_tid, out_bytes] = facts[..] else {
        panic!("facts {facts:?}")
    };
    assert_eq!(
        (in_bytes, out_bytes),
        (100_000, 100_000),
        "the workload ran"
    );
    let (n_in, b_in) = reads(&events, |e| e.pid == pid && e.tid == in_tid);
    assert_eq!(
        b_in, 100_000,
        "every byte the worker read while the main thread's span was open ({n_in} reads)"
    );
    assert_eq!(
        reads(&events, |e| e.pid == pid && e.tid == out_tid),
        (0, 0),
        "nothing of the worker that ran with no span open"
    );
    // And the process scope (C8) of the filter language puts them inside the span.
    assert_eq!(
        filtered_read_bytes(&events, "evtin.span.p.tags=req", |e| e.tid == in_tid),
        100_000
    );
}

/// Spans-only keeps the I/O of a child process while its parent has a span open (the
/// children scope, `evtin.span.s.*`), and drops it once no span is open.
#[test]
fn spans_only_keeps_child_process_io_while_the_parent_has_a_span_open() {
    if !root_or_skip("spans_only_keeps_child_process_io_while_the_parent_has_a_span_open") {
        return;
    }
    let common::Run {
        mut py,
        events,
        stats,
        ..
    } = common::run_script("children.py", &[7u8; 100_000], |pid| ProbeConfig {
        target: Target::Command(pid),
        spans_only: true,
        attach: common::attach(),
        ..ProbeConfig::default()
    });
    assert_eq!(stats.dropped, 0, "{stats:?}");
    let facts = py.facts();
    let [in_pid, in_bytes, out_pid, out_bytes] = facts[..] else {
        panic!("facts {facts:?}")
    };
    assert_eq!(
        (in_bytes, out_bytes),
        (100_000, 100_000),
        "the workload ran"
    );
    let (n_in, b_in) = reads(&events, |e| e.pid == in_pid);
    assert_eq!(
        b_in, 100_000,
        "every byte the child read while its parent's span was open ({n_in} reads)"
    );
    assert_eq!(
        reads(&events, |e| e.pid == out_pid),
        (0, 0),
        "nothing of the child that ran with no span open"
    );
    // The children scope of the filter language puts them inside the parent's span.
    assert_eq!(
        filtered_read_bytes(&events, "evtin.span.s.tags=req", |e| e.pid == in_pid),
        100_000
    );
}

#[test]
fn overload_counts_drops_exactly() {
    if !root_or_skip("overload_counts_drops_exactly") {
        return;
    }
    const N: i64 = 100_000;
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("storm.bin");
    let mut py = Py::start("storm.py", &[&N.to_string(), path.to_str().unwrap()]);
    let pid = py.pid() as i64;
    let cfg = ProbeConfig {
        target: Target::Pids(vec![pid as i32]),
        ring_size: 64 << 10,
        attach: common::attach(),
        ..ProbeConfig::default()
    };
    let mut probe = Probe::load(cfg).expect("probe loads as root");
    py.go();
    // nobody reads the ring during the storm
    assert_eq!(py.line(), "stormed");
    let mut events = vec![];
    probe
        .poll(Duration::from_millis(10), &mut |e| events.push(e))
        .unwrap();
    py.go();
    poll_until_exit(&mut probe, &mut py.child, &mut events);
    let stats = probe.finish(&mut |e| events.push(e)).unwrap();
    let fd: i64 = py.line().parse().unwrap();
    assert!(
        stats.dropped > 0,
        "a 64 KiB ring cannot hold {N} records: {stats:?}"
    );
    assert_eq!(stats.received, stats.submitted, "{stats:?}");
    let lost: u64 = events
        .iter()
        .map(|e| {
            if let EventKind::Lost { count } = e.kind {
                count
            } else {
                0
            }
        })
        .sum();
    assert_eq!(lost, stats.dropped, "every drop is reported as Lost");
    let writes = syscalls(&events)
        .filter(|(_, s)| s.kind == SyscallKind::Write && s.fd == fd)
        .count() as i64;
    let lost_here: u64 = events
        .iter()
        .filter(|e| e.tid == pid)
        .map(|e| {
            if let EventKind::Lost { count } = e.kind {
                count
            } else {
                0
            }
        })
        .sum();
    let stdout_writes = syscalls(&events)
        .filter(|(_, s)| s.kind == SyscallKind::Write && s.fd == 1)
        .count() as i64;
    // every storm write (and the "stormed" line) was either received or counted lost
    assert_eq!(
        writes + stdout_writes + lost_here as i64,
        N + 1,
        "writes {writes} lost {lost_here}"
    );
    // the loss is reported on the thread before its span ends
    let m = markers(&events);
    assert_eq!(
        m.iter().map(|(_, _, s)| s.as_str()).collect::<Vec<_>>(),
        [">:t:storm::", "<:t:storm::"]
    );
    let lost_at = events
        .iter()
        .position(|e| e.tid == pid && matches!(e.kind, EventKind::Lost { .. }))
        .unwrap();
    let exit_at = events.iter().position(|e| matches!(&e.kind, EventKind::Syscall(s) if s.data.as_deref() == Some(b"<:t:storm::"))).unwrap();
    assert!(lost_at < exit_at);
}

#[test]
fn comm_target_follows_exec_and_spans_only_off_ships_everything() {
    if !root_or_skip("comm_target_follows_exec_and_spans_only_off_ships_everything") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let sh = tmp.path().join("trcommtest");
    std::fs::copy("/bin/sh", &sh).unwrap();
    let cfg = ProbeConfig {
        target: Target::Comm("trcommtest".into()),
        spans_only: false,
        attach: common::attach(),
        ..ProbeConfig::default()
    };
    let mut probe = Probe::load(cfg).expect("probe loads as root");
    let child = PausedChild::spawn(&[
        sh.to_str().unwrap(),
        "-c",
        "echo '>:t:c::' > /dev/null; cat /etc/hostname > /dev/null",
    ])
    .unwrap();
    let mut child = child.resume().unwrap();
    assert_eq!(child.wait().unwrap(), 0);
    let mut events = vec![];
    probe
        .poll(Duration::from_millis(10), &mut |e| events.push(e))
        .unwrap();
    probe.finish(&mut |e| events.push(e)).unwrap();
    let pid = child.pid() as i64;
    let m = markers(&events);
    assert_eq!(
        m.iter()
            .map(|(p, _, s)| (*p, s.as_str()))
            .collect::<Vec<_>>(),
        [(pid, ">:t:c::\n")]
    );
    // spans-only off: the shell's other I/O is there; `cat` (another comm) is not
    let mut by_pid: HashMap<i64, usize> = HashMap::new();
    for (e, _) in syscalls(&events) {
        *by_pid.entry(e.pid).or_default() += 1;
    }
    assert!(syscalls(&events).any(|(e, s)| e.pid == pid && s.kind == SyscallKind::Openat));
    let cat_exec = syscalls(&events).find(|(_, s)| matches!(&s.detail, SyscallDetail::Execve { filename, .. } if filename.ends_with("cat")));
    if let Some((e, _)) = cat_exec {
        panic!("cat (comm cat) should not be selected: {e:?}");
    }
}

#[test]
fn unprivileged_load_fails_with_a_clear_message() {
    if !root_or_skip("unprivileged_load_fails_with_a_clear_message") {
        return;
    }
    if Command::new("setpriv").arg("--version").output().is_err() {
        common::skip(
            "unprivileged_load_fails_with_a_clear_message",
            "setpriv (util-linux) missing",
        );
        return;
    }
    // this test binary itself, re-run as nobody: see `unprivileged_child`
    let exe = std::env::current_exe().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("capture-test");
    std::fs::copy(&exe, &copy).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(&copy)
        .args([
            "--exact",
            "unprivileged_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("TRACER_PROBE_UNPRIVILEGED_CHILD", "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(err.contains("not permitted to load eBPF programs: effective uid 65534, missing CAP_BPF and CAP_PERFMON"), "{err}");
    assert!(!err.contains("panicked"));
}

/// Run by `unprivileged_load_fails_with_a_clear_message` under setpriv: loads the
/// probe, prints the error and exits with status 2. A no-op in a normal test run.
#[test]
fn unprivileged_child() {
    if std::env::var_os("TRACER_PROBE_UNPRIVILEGED_CHILD").is_none() {
        return;
    }
    match Probe::load(ProbeConfig::default()) {
        Ok(_) => std::process::exit(0),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    }
}

#[test]
fn bad_config_is_an_error_not_a_panic() {
    let bad = ProbeConfig {
        ring_size: 1000,
        ..ProbeConfig::default()
    };
    assert!(matches!(Probe::load(bad), Err(ProbeError::Config(_))));
    let bad = ProbeConfig {
        payload_max: 5000,
        ..ProbeConfig::default()
    };
    assert!(matches!(Probe::load(bad), Err(ProbeError::Config(_))));
    let bad = ProbeConfig {
        target: Target::Comm("a-name-longer-than-15".into()),
        ..ProbeConfig::default()
    };
    assert!(matches!(Probe::load(bad), Err(ProbeError::Config(_))));
}

#[test]
fn marker_fragments_json_and_unreadable_buffers() {
    if !root_or_skip("marker_fragments_json_and_unreadable_buffers") {
        return;
    }
    let common::Run {
        mut py,
        events,
        stats,
        ..
    } = common::run_script("markers.py", &[1u8; 100], |pid| ProbeConfig {
        target: Target::Pids(vec![pid]),
        attach: common::attach(),
        ..ProbeConfig::default()
    });
    let pid = py.pid() as i64;
    assert_eq!(py.line(), "done");
    let m: Vec<String> = markers(&events).into_iter().map(|(_, _, s)| s).collect();
    assert_eq!(
        m,
        [
            ">:t:a",
            ".b::",
            "[\">\", 12, [\"j\"], []]",
            "[\"<\", 12, [\"j\"], []]",
            "<:t:a.b::",
            ""
        ],
        "{stats:?}"
    );
    assert_eq!(stats.non_tracer_markers, 1, "{stats:?}");
    assert!(stats.read_failed >= 1, "{stats:?}");
    let reads: Vec<i64> = syscalls(&events)
        .filter(|(e, s)| e.tid == pid && s.kind == SyscallKind::Read)
        .map(|(_, s)| s.res)
        .collect();
    assert_eq!(reads, [11], "only the read inside the spans is shipped");
}

#[test]
fn every_mode_and_attach_type_passes_the_verifier() {
    if !root_or_skip("every_mode_and_attach_type_passes_the_verifier") {
        return;
    }
    use tracer_probe::AttachKind;
    let me = std::process::id() as i32;
    for attach in [AttachKind::TpBtf, AttachKind::RawTp, AttachKind::Noop] {
        for target in [
            Target::All,
            Target::Pids(vec![me]),
            Target::Command(me),
            Target::Comm("nothing".into()),
        ] {
            for spans_only in [false, true] {
                let cfg = ProbeConfig {
                    target: target.clone(),
                    spans_only,
                    attach,
                    ..ProbeConfig::default()
                };
                match Probe::load(cfg) {
                    Ok(p) => assert_eq!(p.attach_kind(), attach),
                    Err(e) => panic!("{attach:?} {target:?} spans_only={spans_only}: {e}"),
                }
            }
        }
    }
}
