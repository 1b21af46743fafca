//! `ThreadedReader` hands over exactly what `ScapReader` reads (events, metadata,
//! counters, warnings, errors in order), and the memory-mapped path of
//! `ScapReader::open` reads exactly what the streamed path reads.

mod common;

use std::fs::File;
use std::io::{self, Cursor, Read};
use std::path::Path;
use std::sync::Arc;

use tracer_core::event::Event;
use tracer_scap::synth::{generate, SynthConfig};
use tracer_scap::{ReadStats, ScapError, ScapReader, ScapWarning, ScapWriter, ThreadedReader};

/// Everything a reader produced: events, then the error (if any), then counters.
#[derive(Debug, PartialEq)]
struct Outcome {
    events: Vec<Event>,
    error: Option<String>,
    stats: ReadStats,
    warnings: Vec<ScapWarning>,
}

/// The two readers' common lending interface, for one drain loop.
trait Lending {
    fn next(&mut self) -> Result<Option<&Event>, ScapError>;
    fn stats(&self) -> &ReadStats;
    fn warnings(&self) -> &[ScapWarning];
}

impl Lending for ScapReader {
    fn next(&mut self) -> Result<Option<&Event>, ScapError> {
        self.next_ref()
    }
    fn stats(&self) -> &ReadStats {
        ScapReader::stats(self)
    }
    fn warnings(&self) -> &[ScapWarning] {
        ScapReader::warnings(self)
    }
}

impl Lending for ThreadedReader {
    fn next(&mut self) -> Result<Option<&Event>, ScapError> {
        self.next_ref()
    }
    fn stats(&self) -> &ReadStats {
        ThreadedReader::stats(self)
    }
    fn warnings(&self) -> &[ScapWarning] {
        ThreadedReader::warnings(self)
    }
}

fn drain(mut r: impl Lending) -> Outcome {
    let mut events = Vec::new();
    let mut error = None;
    loop {
        match r.next() {
            Ok(Some(e)) => events.push(e.clone()),
            Ok(None) => break,
            Err(e) => {
                error = Some(e.to_string());
                assert!(matches!(r.next(), Ok(None)), "the end follows an error");
                break;
            }
        }
    }
    Outcome {
        events,
        error,
        stats: r.stats().clone(),
        warnings: r.warnings().to_vec(),
    }
}

fn drain_plain(r: ScapReader) -> Outcome {
    drain(r)
}

fn drain_threaded(r: ThreadedReader) -> Outcome {
    drain(r)
}

/// A synthetic capture of `iterations` workload iterations.
fn capture(path: &Path, iterations: usize) {
    let mut w = ScapWriter::create(path, Default::default()).unwrap();
    generate(
        &SynthConfig {
            iterations,
            ..Default::default()
        },
        |e| w.write_event(&e).unwrap(),
    );
    w.finish().unwrap();
}

#[test]
fn same_events_metadata_and_counters_on_every_sample() {
    for path in common::samples() {
        let name = path.display().to_string();
        let plain = ScapReader::open(&path).unwrap();
        let threaded = ThreadedReader::open(&path).unwrap();
        // First-section metadata is there before the first event, in both.
        assert_eq!(plain.is_gzip(), threaded.is_gzip(), "{name}");
        assert_eq!(plain.machine_info(), threaded.machine_info(), "{name}");
        assert_eq!(plain.processes(), threaded.processes(), "{name}");
        assert_eq!(plain.fd_table(), threaded.fd_table(), "{name}");
        assert_eq!(plain.interfaces(), threaded.interfaces(), "{name}");
        assert_eq!(plain.users(), threaded.users(), "{name}");
        assert!(
            plain.machine_info().is_some() || plain.processes().is_empty(),
            "{name}: metadata read at open"
        );
        let (a, b) = (drain_plain(plain), drain_threaded(threaded));
        assert!(!a.events.is_empty(), "{name}");
        assert_eq!(a, b, "{name}");
    }
}

#[test]
fn metadata_is_known_before_the_first_event() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.scap");
    capture(&path, 3);
    let r = ScapReader::open(&path).unwrap();
    assert_eq!(r.processes().len(), 3);
    assert_eq!(r.fd_table().len(), 5);
    let t = ThreadedReader::open(&path).unwrap();
    assert_eq!(t.processes().len(), 3);
    assert_eq!(t.fd_table().len(), 5);
}

#[test]
fn truncated_capture_gives_the_same_events_and_warning() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.scap");
    capture(&path, 2000);
    let bytes = std::fs::read(&path).unwrap();
    for cut in [bytes.len() / 3, bytes.len() - 7] {
        let cut_path = dir.path().join(format!("cut{cut}.scap"));
        std::fs::write(&cut_path, &bytes[..cut]).unwrap();
        let a = drain_plain(ScapReader::open(&cut_path).unwrap());
        let b = drain_threaded(ThreadedReader::open(&cut_path).unwrap());
        assert_eq!(a.warnings.len(), 1, "cut at {cut}");
        assert!(a.warnings[0].offset < cut as u64);
        assert_eq!(a, b, "cut at {cut}");
        // The mapped file and the same bytes streamed agree too.
        let c = drain_plain(ScapReader::from_reader(Cursor::new(bytes[..cut].to_vec())).unwrap());
        assert_eq!(a, c, "cut at {cut}: mapped vs streamed");
    }
}

#[test]
fn mapped_and_streamed_reads_agree_on_every_sample() {
    for path in common::samples() {
        let mapped = drain_plain(ScapReader::open(&path).unwrap());
        let streamed = drain_plain(ScapReader::from_reader(File::open(&path).unwrap()).unwrap());
        assert_eq!(mapped, streamed, "{}", path.display());
    }
}

/// A source that fails (or panics) after `limit` bytes, and counts its owners.
struct Failing {
    inner: Cursor<Vec<u8>>,
    limit: usize,
    panic: bool,
    _alive: Arc<()>,
}

impl Read for Failing {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let pos = self.inner.position() as usize;
        if pos >= self.limit {
            if self.panic {
                panic!("source exploded");
            }
            return Err(io::Error::other("disk on fire"));
        }
        let n = buf.len().min(self.limit - pos);
        self.inner.read(&mut buf[..n])
    }
}

fn failing(bytes: &[u8], limit: usize, panic: bool, alive: &Arc<()>) -> Failing {
    Failing {
        inner: Cursor::new(bytes.to_vec()),
        limit,
        panic,
        _alive: alive.clone(),
    }
}

#[test]
fn errors_arrive_after_the_events_before_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.scap");
    capture(&path, 3000);
    let bytes = std::fs::read(&path).unwrap();
    // An error between two blocks is an error (inside a block it is damage, a warning).
    let mut limit = 0;
    while limit < 3 * bytes.len() / 4 {
        limit += u32::from_le_bytes(bytes[limit + 4..limit + 8].try_into().unwrap()) as usize;
    }
    let alive = Arc::new(());
    let a = drain_plain(ScapReader::from_reader(failing(&bytes, limit, false, &alive)).unwrap());
    let b =
        drain_threaded(ThreadedReader::from_reader(failing(&bytes, limit, false, &alive)).unwrap());
    assert!(a.error.as_deref().unwrap().contains("disk on fire"));
    assert!(a.events.len() > 1000);
    assert_eq!(a, b);
}

#[test]
fn a_panic_in_the_reading_thread_becomes_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.scap");
    capture(&path, 3000);
    let bytes = std::fs::read(&path).unwrap();
    let alive = Arc::new(());
    let mut r =
        ThreadedReader::from_reader(failing(&bytes, bytes.len() / 2, true, &alive)).unwrap();
    let mut n = 0;
    let err = loop {
        match r.next_ref() {
            Ok(Some(_)) => n += 1,
            Ok(None) => panic!("the end without the error"),
            Err(e) => break e,
        }
    };
    assert!(n > 100, "events before the panic arrive first ({n})");
    assert!(matches!(err, ScapError::Io(_)));
    assert!(err.to_string().contains("source exploded"), "{err}");
    assert!(matches!(r.next_ref(), Ok(None)));
    assert_eq!(
        Arc::strong_count(&alive),
        1,
        "the thread and its reader are gone"
    );
}

#[test]
fn dropping_early_stops_the_thread() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.scap");
    capture(&path, 5000);
    let bytes = std::fs::read(&path).unwrap();
    let alive = Arc::new(());
    let mut r = ThreadedReader::from_reader(failing(&bytes, usize::MAX, false, &alive)).unwrap();
    for _ in 0..10 {
        assert!(r.next_ref().unwrap().is_some());
    }
    assert_eq!(
        Arc::strong_count(&alive),
        2,
        "the source lives in the thread"
    );
    drop(r);
    assert_eq!(Arc::strong_count(&alive), 1, "dropping joined the thread");
    // Also right after opening, before any event.
    let r = ThreadedReader::open(&path).unwrap();
    drop(r);
}

#[test]
fn into_threaded_continues_where_the_reader_stands() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.scap");
    capture(&path, 50);
    let all = drain_plain(ScapReader::open(&path).unwrap());
    let mut r = ScapReader::open(&path).unwrap();
    let mut events = Vec::new();
    for _ in 0..20 {
        events.push(r.next_event().unwrap().unwrap());
    }
    let mut t = r.into_threaded();
    for e in t.by_ref() {
        events.push(e.unwrap());
    }
    assert_eq!(events, all.events);
    assert_eq!(t.stats(), &all.stats);
}

/// Each plain sample's bytes (gzip ones decompressed), read once.
fn plain_corpus() -> &'static Vec<Vec<u8>> {
    static C: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    C.get_or_init(|| {
        common::samples()
            .iter()
            .map(|p| {
                let raw = std::fs::read(p).unwrap();
                if raw.starts_with(&[0x1f, 0x8b]) {
                    let mut plain = Vec::new();
                    flate2::read::MultiGzDecoder::new(&raw[..])
                        .read_to_end(&mut plain)
                        .unwrap();
                    plain
                } else {
                    raw
                }
            })
            .collect()
    })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64),
        ..Default::default()
    })]

    /// Damaged files read through the memory map (and through the thread) give exactly
    /// what the same bytes give streamed: same events, counters, warnings; no panic.
    #[test]
    fn damaged_files_read_the_same_mapped_streamed_and_threaded(
        idx in 0usize..64,
        cut in proptest::prelude::any::<usize>(),
        pokes in proptest::collection::vec((proptest::prelude::any::<usize>(), proptest::prelude::any::<u32>()), 0..4),
    ) {
        let c = plain_corpus();
        let mut data = c[idx % c.len()].clone();
        for (at, v) in pokes {
            let at = 28 + at % (data.len() - 28);
            if at + 4 <= data.len() {
                data[at..at + 4].copy_from_slice(&v.to_le_bytes());
            }
        }
        data.truncate(28 + cut % (data.len() - 27));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.scap");
        std::fs::write(&path, &data).unwrap();
        let streamed = ScapReader::from_reader(Cursor::new(data)).map(drain_plain);
        let mapped = ScapReader::open(&path).map(drain_plain);
        let threaded = ThreadedReader::open(&path).map(drain_threaded);
        match (streamed, mapped, threaded) {
            (Ok(s), Ok(m), Ok(t)) => {
                proptest::prop_assert_eq!(&s, &m);
                proptest::prop_assert_eq!(&s, &t);
            }
            (Err(s), Err(m), Err(t)) => {
                proptest::prop_assert_eq!(s.to_string(), m.to_string());
                proptest::prop_assert_eq!(s.to_string(), t.to_string());
            }
            (s, m, t) => proptest::prop_assert!(false, "{:?} / {:?} / {:?}", s.err(), m.err(), t.err()),
        }
    }
}
