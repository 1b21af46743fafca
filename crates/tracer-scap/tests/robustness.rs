//! The reader never panics, whatever the input: proptest-driven mutations and
//! truncations of every sample capture (decompressed and compressed), and random bytes
//! behind a valid section header. (The cargo-fuzz target in `fuzz/` does the same with
//! coverage guidance on nightly toolchains.)

mod common;

use std::io::{Cursor, Read};
use std::sync::OnceLock;

use proptest::prelude::*;
use tracer_scap::ScapReader;

/// Each sample as stored and (for gzip files) decompressed.
fn corpus() -> &'static Vec<Vec<u8>> {
    static C: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    C.get_or_init(|| {
        let mut v = Vec::new();
        for p in common::samples() {
            let raw = std::fs::read(&p).unwrap();
            if raw.starts_with(&[0x1f, 0x8b]) {
                let mut plain = Vec::new();
                flate2::read::MultiGzDecoder::new(&raw[..])
                    .read_to_end(&mut plain)
                    .unwrap();
                v.push(plain);
            }
            v.push(raw);
        }
        v
    })
}

/// Reads everything; returns (events, warnings). Must not panic.
fn drain(bytes: Vec<u8>) -> (usize, usize) {
    let Ok(mut r) = ScapReader::from_reader(Cursor::new(bytes)) else {
        return (0, 0);
    };
    let mut n = 0;
    while let Ok(Some(_)) = r.next_event() {
        n += 1;
    }
    (n, r.warnings().len())
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Truncate(usize),
    Insert(usize, Vec<u8>),
    Overwrite(usize, u32),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Mutation::Flip(p, b)),
        any::<usize>().prop_map(Mutation::Truncate),
        (
            any::<usize>(),
            proptest::collection::vec(any::<u8>(), 1..16)
        )
            .prop_map(|(p, b)| Mutation::Insert(p, b)),
        // Plausible-but-wrong lengths and type ids are the interesting corruptions.
        (
            any::<usize>(),
            prop_oneof![
                Just(0u32),
                Just(12),
                Just(u32::MAX),
                Just(0x216),
                Just(0x215),
                any::<u32>()
            ]
        )
            .prop_map(|(p, v)| Mutation::Overwrite(p, v)),
    ]
}

fn apply(mut data: Vec<u8>, muts: &[Mutation]) -> Vec<u8> {
    for m in muts {
        let n = data.len().max(1);
        match m {
            Mutation::Flip(p, b) => {
                if !data.is_empty() {
                    data[p % n] ^= b | 1;
                }
            }
            Mutation::Truncate(p) => data.truncate(p % n),
            Mutation::Insert(p, b) => {
                let at = p % n;
                data.splice(at.min(data.len())..at.min(data.len()), b.iter().copied());
            }
            Mutation::Overwrite(p, v) => {
                let at = p % n;
                if at + 4 <= data.len() {
                    data[at..at + 4].copy_from_slice(&v.to_le_bytes());
                }
            }
        }
    }
    data
}

proptest! {
    // 400 cases by default; PROPTEST_CASES=N for longer runs.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(400),
        ..ProptestConfig::default()
    })]

    #[test]
    fn mutated_samples_never_panic(idx in any::<usize>(), muts in proptest::collection::vec(mutation(), 1..6)) {
        let c = corpus();
        let data = apply(c[idx % c.len()].clone(), &muts);
        drain(data);
    }

    #[test]
    fn truncated_samples_return_a_prefix(idx in any::<usize>(), cut in any::<usize>()) {
        let c = corpus();
        let full = &c[idx % c.len()];
        let cut = 28 + cut % (full.len() - 28);
        let (n_full, _) = drain(full.clone());
        let (n_cut, warnings) = drain(full[..cut].to_vec());
        // A cut file yields at most the full file's events plus one loss notice.
        prop_assert!(n_cut <= n_full + 1);
        prop_assert!(warnings <= 1);
    }

    #[test]
    fn random_bytes_after_a_header_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let mut data = std::fs::read(common::samples_dir().join("generated-minimal.scap")).unwrap()[..28].to_vec();
        data.extend(tail);
        drain(data);
    }
}
