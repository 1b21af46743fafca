//! Views as data: traces list with nested children and drill-down by parent time,
//! summary drill-down, spectrogram slices and columns.

use tracer_core::engine::{Engine, EngineConfig, NoConsumer};
use tracer_core::event::{Event, EventKind, Syscall, SyscallKind};
use tracer_core::views::{traces_list, traces_summary, Spectrogram, SpectrogramConfig};

fn marker(ts: u64, tid: i64, text: &str) -> Event {
    let mut s = Syscall::new(SyscallKind::Write, ts - 1, text.len() as i64);
    s.fd = 3;
    s.data = Some(text.as_bytes().to_vec());
    Event {
        ts,
        tid,
        pid: tid,
        kind: EventKind::Syscall(s),
    }
}

fn report(events: &[Event]) -> tracer_core::engine::Report {
    let mut eng = Engine::new(EngineConfig {
        retain_spans: true,
        ..EngineConfig::default()
    });
    eng.mark_tracer_fd(1, 1, 3);
    eng.mark_tracer_fd(2, 2, 3);
    eng.run(events, &mut NoConsumer)
}

#[test]
fn list_children_and_drill_down() {
    let evs = vec![
        marker(1_000, 1, ">:t:req:u=a:"),
        marker(1_100, 1, ">:t:req.db::"),
        marker(1_600, 1, "<:t:req.db::"),
        marker(1_700, 1, ">:t:req.db::"),
        marker(1_900, 1, "<:t:req.db::"),
        marker(3_000, 1, "<:t:req::"),
        marker(5_000, 2, ">:t:req:u=b:"),
        marker(5_500, 2, "<:t:req::"),
        marker(6_000, 2, ">:t:other::"),
    ];
    let r = report(&evs);
    let l = traces_list(&r.spans, 0, None);
    assert_eq!(l.rows.len(), 2);
    assert_eq!((l.rows[0].time_ns, l.rows[0].duration_ns), (1_000, 2_000));
    assert_eq!(l.rows[0].args, b"u=a");
    let kids: Vec<u64> = l.rows[0].children.iter().map(|c| c.duration_ns).collect();
    assert_eq!(kids, vec![500, 200]);
    assert!(l.rows[1].children.is_empty());
    // Drill-down: children of the span that entered at 1000.
    let d = traces_list(&r.spans, 1, Some(1_000));
    assert_eq!(d.rows.len(), 2);
    assert_eq!(d.rows[0].tag, b"db");
    assert!(traces_list(&r.spans, 1, Some(5_000)).rows.is_empty());
    // Summary and its drill-down.
    let s = traces_summary(&r.tags, &[]);
    let tags: Vec<(&[u8], u64, u64)> = s
        .rows
        .iter()
        .map(|r| (r.tag.as_slice(), r.hits, r.chd_hits))
        .collect();
    assert_eq!(tags, vec![(&b"req"[..], 2, 2), (&b"other"[..], 0, 0)]);
    let s1 = traces_summary(&r.tags, &[b"req".to_vec()]);
    assert_eq!(s1.rows.len(), 1);
    assert_eq!(
        (s1.rows[0].hits, s1.rows[0].min_ns, s1.rows[0].max_ns),
        (2, 200, 500)
    );
    assert_eq!(s1.rows[0].avg_ns, 350);
    // never-closed span and the per-path row
    assert_eq!(r.never_closed.len(), 1);
    let other = r
        .tags
        .iter()
        .find(|t| t.tags == vec![b"other".to_vec()])
        .unwrap();
    assert_eq!((other.enters, other.hits, other.never_closed), (1, 0, 1));
}

#[test]
fn spectrogram_slices() {
    // Root spans of 10 ns, 1 µs and 1 ms, finishing in three different 1 ms slices.
    let evs = vec![
        marker(1_000_000, 1, ">:t:a::"),
        marker(1_000_010, 1, "<:t:a::"),
        marker(1_000_020, 1, ">:t:a::"),
        marker(1_001_020, 1, "<:t:a::"),
        marker(2_500_000, 1, ">:t:a::"),
        marker(3_500_000, 1, "<:t:a::"),
        marker(3_600_000, 1, ">:t:a.b::"),
        marker(3_600_100, 1, "<:t:a.b::"),
    ];
    let r = report(&evs);
    let mut sp = Spectrogram::new(
        SpectrogramConfig {
            slice_ns: 1_000_000,
            columns: 22,
            depth: 0,
        },
        vec![],
    );
    for s in &r.spans {
        sp.add(s);
    }
    let starts: Vec<u64> = sp.rows.iter().map(|r| r.start_ns).collect();
    assert_eq!(
        starts,
        vec![1_000_000, 3_000_000],
        "idle slices are not stored"
    );
    // 22 columns over 11 decades: 2 per decade.
    assert_eq!(sp.rows[0].counts[2], 1); // 10 ns
    assert_eq!(sp.rows[0].counts[6], 1); // 1 µs
    assert_eq!(sp.rows[1].counts[12], 1); // 1 ms
    let total: u64 = sp.rows.iter().flat_map(|r| r.counts.iter()).sum();
    assert_eq!(total, 3, "the child span a.b is not a root span");
    // Out-of-order feeding keeps rows sorted; a far-away timestamp costs one row.
    let mut late = r.spans[0].clone();
    late.exit_ts = Some(u64::MAX - 5);
    sp.add(&late);
    let mut early = r.spans[0].clone();
    early.exit_ts = Some(10);
    sp.add(&early);
    let starts: Vec<u64> = sp.rows.iter().map(|r| r.start_ns).collect();
    assert_eq!(starts.len(), 4);
    assert!(starts.windows(2).all(|w| w[0] < w[1]));
}
