//! Round trip: synthetic captures written by our writer are read by sysdig 0.29.3 and
//! csysdig, whose numbers must equal our engine's on the in-memory original; then our
//! reader reads the file back and both the events and the engine report are identical.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use tracer_core::event::{Event, EventKind};
use tracer_core::spans::SpanEnd;
use tracer_core::views::{format_time, traces_summary};
use tracer_scap::synth::{events, SynthConfig};
use tracer_scap::{ScapWriter, WriterOptions};

fn write(path: &Path, evs: &[Event], opts: WriterOptions) -> tracer_scap::WriteStats {
    let mut w = ScapWriter::create(path, opts).unwrap();
    for e in evs {
        w.write_event(e).unwrap();
    }
    w.finish().unwrap().1
}

fn synth(iterations: usize) -> Vec<Event> {
    events(&SynthConfig {
        iterations,
        ..Default::default()
    })
}

#[test]
fn sysdig_agrees_with_the_engine_on_our_captures() {
    let dir = tempfile::tempdir().unwrap();
    for iterations in [1, 4] {
        let evs = synth(iterations);
        let path = dir.path().join(format!("synth-{iterations}.scap"));
        let stats = write(
            &path,
            &evs,
            WriterOptions {
                hostname: "synth".into(),
                ..Default::default()
            },
        );
        assert_eq!(stats.dropped, 0);
        let (maps, report) =
            engine_bytes(&evs, &["evtin.span.tags", "fd.name", "evtin.span.tag[0]"]);

        // sysdig -c fdbytes_by evtin.span.tags / evtin.span.tag[0] / fd.name
        for (i, field) in ["evtin.span.tags", "fd.name", "evtin.span.tag[0]"]
            .iter()
            .enumerate()
        {
            let theirs = sysdig_fdbytes(&path, field);
            assert!(!theirs.is_empty(), "{field}: sysdig found no bytes");
            assert_bytes_agree(field, &maps[i], &theirs);
        }

        // sysdig "span.duration > 0" -p "%span.tags %span.duration"
        let theirs: Vec<String> = sysdig(
            &path,
            &["span.duration > 0", "-p", "%span.tags %span.duration"],
        )
        .lines()
        .map(str::to_string)
        .collect();
        let ours: Vec<String> = report
            .spans
            .iter()
            .filter(|s| s.end == SpanEnd::Closed && s.duration_ns.unwrap_or(0) > 0)
            .map(|s| {
                let tags: Vec<String> = s
                    .tags
                    .iter()
                    .map(|t| String::from_utf8_lossy(t).into_owned())
                    .collect();
                format!("{} {}", tags.join("."), s.duration_ns.unwrap())
            })
            .collect();
        assert_eq!(ours, theirs);
        assert_eq!(ours.len(), 4 * iterations + 1);

        // csysdig -j -v traces_summary
        let out = run_tool(
            "csysdig",
            &["-j", "-v", "traces_summary", "-r", path.to_str().unwrap()],
        );
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let mut theirs: BTreeMap<String, (u64, String, String, String, u64)> = BTreeMap::new();
        for slice in v["slices"].as_array().unwrap() {
            for row in slice["data"].as_array().into_iter().flatten() {
                let d = &row["d"];
                let s = |i: usize| d[i].as_str().unwrap().trim().to_string();
                theirs.insert(
                    s(5),
                    (
                        d[0].as_u64().unwrap(),
                        s(1),
                        s(2),
                        s(3),
                        d[4].as_u64().unwrap(),
                    ),
                );
            }
        }
        let summary = traces_summary(&report.tags, &[]);
        let ours: BTreeMap<String, (u64, String, String, String, u64)> = summary
            .rows
            .iter()
            .map(|r| {
                (
                    String::from_utf8_lossy(&r.tag).into_owned(),
                    (
                        r.hits,
                        format_time(r.avg_ns),
                        format_time(r.min_ns),
                        format_time(r.max_ns),
                        r.chd_hits,
                    ),
                )
            })
            .collect();
        assert_eq!(ours, theirs);
    }
}

#[test]
fn our_reader_reads_back_exactly_what_was_written() {
    let dir = tempfile::tempdir().unwrap();
    let evs = synth(5);
    let path = dir.path().join("rt.scap");
    write(&path, &evs, WriterOptions::default());
    let back = read_all(&path);
    assert!(back.warnings.is_empty(), "{:?}", back.warnings);
    assert_eq!(back.stats.exits_without_enter, 0);
    assert_eq!(back.stats.enters_without_exit, 0);
    assert_eq!(back.events.len(), evs.len());
    for (i, (a, b)) in evs.iter().zip(&back.events).enumerate() {
        assert_eq!(a, b, "event {i}");
    }
    let (m1, r1) = engine_bytes(&evs, &["evtin.span.tags", "fd.name"]);
    let (m2, r2) = engine_bytes(&back.events, &["evtin.span.tags", "fd.name"]);
    assert_eq!(m1, m2);
    assert_eq!(r1, r2);
    assert!(r1.counts.closed_spans > 0);
}

#[test]
fn captures_are_private_and_payloads_are_not_stored_by_default() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let mut evs = synth(1);
    // Give an ordinary read a payload: it must not reach the file by default.
    let secret = b"SECRET-PAYLOAD-BYTES".to_vec();
    for e in evs.iter_mut() {
        if let EventKind::Syscall(sc) = &mut e.kind {
            if sc.kind == tracer_core::event::SyscallKind::Read {
                sc.data = Some(secret.clone());
            }
        }
    }
    let path = dir.path().join("p.scap");
    write(&path, &evs, WriterOptions::default());
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let bytes = std::fs::read(&path).unwrap();
    assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_slice()));
    // Markers are stored in full.
    assert!(bytes.windows(22).any(|w| w == b"<:t:request:status=ok:"));

    // With store_payloads, ordinary payloads are kept up to the snaplen only; the
    // byte count stays the true one.
    let path2 = dir.path().join("p2.scap");
    let stats = write(
        &path2,
        &evs,
        WriterOptions {
            store_payloads: true,
            snaplen: 6,
            ..Default::default()
        },
    );
    assert!(stats.truncated_payloads > 0);
    let out = sysdig(
        &path2,
        &[
            "-p",
            "%evt.rawarg.res %evt.arg.data",
            "evt.type=read and evt.dir=<",
        ],
    );
    let first = out.lines().next().unwrap();
    assert_eq!(first, "4096 SECRET", "{out}");
}

#[test]
fn a_capture_cut_mid_way_stays_readable() {
    let dir = tempfile::tempdir().unwrap();
    let evs = synth(20);
    let path = dir.path().join("cut.scap");
    write(&path, &evs, WriterOptions::default());
    let full = std::fs::read(&path).unwrap();
    let (_, full_report) = engine_bytes(&evs, &[]);
    // Cut at arbitrary points: inside blocks and at block boundaries.
    for cut in [
        full.len() - 1,
        full.len() - 37,
        full.len() / 2,
        full.len() / 3 + 5,
        2000,
    ] {
        let p = dir.path().join(format!("cut-{cut}.scap"));
        std::fs::write(&p, &full[..cut]).unwrap();
        let r = read_all(&p);
        assert_eq!(r.warnings.len(), 1, "cut {cut}");
        let w = r.warnings[0].to_string();
        assert!(w.contains("truncated at byte offset"), "{w}");
        assert!(r.warnings[0].offset <= cut as u64);
        assert!(matches!(
            r.events.last().unwrap().kind,
            EventKind::Lost { .. }
        ));
        // Everything before the cut is the original's prefix.
        let n = r.events.len() - 1;
        assert!(n > 0);
        for (i, (got, want)) in r.events.iter().zip(&evs).take(n - 1).enumerate() {
            assert_eq!(got, want, "cut {cut}, event {i}");
        }
        // sysdig reads the same prefix (and then complains about the truncation).
        let out = std::process::Command::new("sysdig")
            .arg("-r")
            .arg(&p)
            .env("TZ", "UTC")
            .output()
            .unwrap();
        assert!(String::from_utf8_lossy(&out.stderr).contains("truncated"));
    }
    assert!(full_report.counts.closed_spans > 0);
}

#[test]
fn a_killed_writer_leaves_whole_blocks_only() {
    let dir = tempfile::tempdir().unwrap();
    let evs = synth(10);
    let path = dir.path().join("killed.scap");
    let mut w = ScapWriter::create(
        &path,
        WriterOptions {
            flush_bytes: 1000,
            ..Default::default()
        },
    )
    .unwrap();
    for e in &evs[..200] {
        w.write_event(e).unwrap();
    }
    // Simulate a kill: no finish(), no drop-time flush.
    std::mem::forget(w);
    let r = read_all(&path);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    let n = r.events.len();
    assert!(n > 50 && n <= 200, "{n} events flushed");
    for (i, (got, want)) in r.events.iter().zip(&evs).enumerate() {
        assert_eq!(got, want, "event {i}");
    }
    // sysdig reads it too.
    let out = sysdig(&path, &["-p", "%evt.num"]);
    assert!(out.lines().count() > 50);
}

#[test]
fn samples_rewritten_by_our_writer_keep_their_syscalls() {
    let dir = tempfile::tempdir().unwrap();
    for path in samples() {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let orig = read_all(&path);
        let out = dir.path().join(format!("{name}.rewritten.scap"));
        write(&out, &orig.events, WriterOptions::default());
        let back = read_all(&out);
        assert!(back.warnings.is_empty(), "{name}: {:?}", back.warnings);
        let summary = |evs: &[Event]| {
            let mut m: BTreeMap<String, (u64, i64)> = BTreeMap::new();
            for e in evs {
                if let EventKind::Syscall(sc) = &e.kind {
                    let k = m.entry(format!("{:?}", sc.kind)).or_default();
                    k.0 += 1;
                    k.1 += sc.res;
                }
            }
            m
        };
        assert_eq!(summary(&orig.events), summary(&back.events), "{name}");
        // sysdig reads the rewritten file to the end.
        let lines = sysdig(&out, &["-p", "%evt.num"]).lines().count();
        assert!(lines > 0, "{name}");
    }
}

/// Syscalls outside the event model keep their native number through a round trip; a
/// number that is not native (an event type sysdig does not have) and a generic exit
/// whose enter is missing read back as `UNKNOWN_NATIVE`, never as syscall 0 (`read`).
#[test]
fn unmodelled_syscalls_keep_their_number_or_read_as_unknown() {
    use tracer_core::event::{Syscall, SyscallKind};
    use tracer_scap::{ScapReader, OTHER_EVENT_BASE, UNKNOWN_NATIVE};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.scap");
    let ev = |ts: u64, n: u32| Event {
        ts,
        tid: 7,
        pid: 7,
        kind: EventKind::Syscall(Syscall::new(SyscallKind::Other(n), ts - 10, 0)),
    };
    let madvise = 28;
    let not_native = OTHER_EVENT_BASE + 999;
    write(
        &path,
        &[ev(1_000, madvise), ev(2_000, not_native)],
        WriterOptions::default(),
    );
    let kinds: Vec<SyscallKind> = ScapReader::open(&path)
        .unwrap()
        .filter_map(|e| match e.unwrap().kind {
            EventKind::Syscall(s) => Some(s.kind),
            _ => None,
        })
        .collect();
    assert_eq!(
        kinds,
        [
            SyscallKind::Other(madvise),
            SyscallKind::Other(UNKNOWN_NATIVE)
        ]
    );
    assert_eq!(
        tracer_core::syscall_names::x86_64_name(madvise),
        Some("madvise")
    );
    assert_eq!(
        tracer_core::syscall_names::x86_64_name(UNKNOWN_NATIVE),
        None
    );
}
