//! Reading a plain (memory-mapped) capture keeps the process's memory bounded, whatever
//! the size of the file: pages already read are handed back to the kernel. The same
//! holds for `ThreadedReader`, whose consumer maps pages ahead of the reading thread.

use std::io::Write;

use tracer_scap::synth::{generate, SynthConfig};
use tracer_scap::{ScapReader, ScapWriter, ThreadedReader, WriterOptions};

/// Resident memory of this process in bytes (VmRSS; file-backed pages of a mapping count).
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS line");
    kb * 1024
}

/// Splits a capture into its leading blocks (up to the first event block) and the rest.
fn split_at_first_event(bytes: &[u8]) -> (&[u8], &[u8]) {
    let mut pos = 0;
    while pos + 8 <= bytes.len() {
        let id = u32::from_le_bytes(bytes[pos..pos + 4].try_into().unwrap());
        let len = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().unwrap()) as usize;
        // EV and EVF blocks, version 2 (what the writer writes)
        if id == 0x216 || id == 0x217 {
            break;
        }
        pos += len;
    }
    bytes.split_at(pos)
}

/// Calls `next` until it returns false; returns how many times it returned true and by
/// how much resident memory grew at its peak (sampled every 50,000 events and at the end).
fn count_with_peak_rss(mut next: impl FnMut() -> bool) -> (u64, u64) {
    let before = rss();
    let mut peak = before;
    let mut n = 0u64;
    while next() {
        n += 1;
        if n.is_multiple_of(50_000) {
            peak = peak.max(rss());
        }
    }
    (n, peak.max(rss()).saturating_sub(before))
}

#[test]
fn reading_a_large_mapped_capture_keeps_memory_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small.scap");
    let mut w = ScapWriter::create(&small, WriterOptions::default()).unwrap();
    generate(
        &SynthConfig {
            iterations: 2_000,
            ..Default::default()
        },
        |e| w.write_event(&e).unwrap(),
    );
    w.finish().unwrap();
    // A ~160 MiB capture: the small one's event blocks over and over.
    let bytes = std::fs::read(&small).unwrap();
    let (head, events) = split_at_first_event(&bytes);
    assert!(!events.is_empty());
    let big = dir.path().join("big.scap");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&big).unwrap());
    f.write_all(head).unwrap();
    let copies = (160 << 20) / events.len() + 1;
    for _ in 0..copies {
        f.write_all(events).unwrap();
    }
    f.into_inner().unwrap().sync_all().unwrap();
    let size = std::fs::metadata(&big).unwrap().len();
    drop(bytes);

    let mut r = ScapReader::open(&big).unwrap();
    let (n, grown) = count_with_peak_rss(|| r.next_ref().unwrap().is_some());
    assert!(r.warnings().is_empty(), "{:?}", r.warnings());
    assert!(n > 1_000_000, "{n} events");
    assert!(
        grown < 96 << 20,
        "reading a {} MiB capture grew resident memory by {} MiB",
        size >> 20,
        grown >> 20
    );
    drop(r);

    // The threaded reader: the same events, and paging ahead stays bounded too.
    let mut t = ThreadedReader::open(&big).unwrap();
    let (m, grown) = count_with_peak_rss(|| t.next_ref().unwrap().is_some());
    assert!(t.warnings().is_empty(), "{:?}", t.warnings());
    assert_eq!(m, n, "threaded reader: same number of events");
    assert!(
        grown < 96 << 20,
        "reading a {} MiB capture with ThreadedReader grew resident memory by {} MiB",
        size >> 20,
        grown >> 20
    );
}
