//! Property tests of the marker grammar: encode/parse round trip, no panics on any
//! input, bounded decoder memory.

use proptest::prelude::*;
use tracer_core::grammar::{
    encode, encode_checked, parse, parse_all, parse_prefix, Decoded, Direction, EncodeError,
    IdForm, StreamDecoder, Tracer,
};

/// Bytes with the grammar's special characters over-represented.
fn byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        3 => any::<u8>(),
        2 => prop::sample::select(
            b"\\.:,=<>\n\"[]{} 0tgp-".to_vec()
        ),
        1 => b'a'..=b'z',
    ]
}

fn field(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(byte(), 0..max)
}

fn id_form() -> impl Strategy<Value = IdForm> {
    prop_oneof![
        Just(IdForm::Thread),
        Just(IdForm::Process),
        Just(IdForm::Parent),
        Just(IdForm::Global),
        any::<i64>().prop_map(IdForm::Explicit),
        (-3i64..3).prop_map(IdForm::Explicit),
    ]
}

fn tracer() -> impl Strategy<Value = Tracer> {
    (
        any::<bool>(),
        id_form(),
        prop::collection::vec(field(12), 0..5),
        prop::collection::vec((field(8), field(12)), 0..4),
    )
        .prop_map(|(enter, id, tags, args)| Tracer {
            dir: if enter {
                Direction::Enter
            } else {
                Direction::Exit
            },
            id,
            tags,
            args,
        })
}

fn has_nul(t: &Tracer) -> bool {
    t.tags.iter().any(|g| g.contains(&0))
        || t.args.iter().any(|(n, v)| n.contains(&0) || v.contains(&0))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    /// Whatever `encode_checked` accepts parses back to the same tracer, and it accepts
    /// everything except NUL bytes and the documented single-empty-tag corner.
    #[test]
    fn encode_round_trips(t in tracer()) {
        match encode_checked(&t) {
            Ok(bytes) => {
                prop_assert_eq!(&bytes, &encode(&t));
                prop_assert_eq!(parse(&bytes), Ok(t.clone()));
                let (back, used) = parse_prefix(&bytes).unwrap();
                prop_assert_eq!(back, t.clone());
                prop_assert_eq!(used, bytes.len());
            }
            Err(EncodeError::Nul { .. }) => prop_assert!(has_nul(&t)),
            Err(EncodeError::SingleEmptyTag) => {
                prop_assert!(!has_nul(&t));
                prop_assert_eq!(t.tags.len(), 1);
                prop_assert!(t.tags[0].is_empty());
            }
        }
    }

    /// NUL-free tracers that are not a single empty tag always encode.
    #[test]
    fn nul_free_tracers_always_encode(mut t in tracer()) {
        for g in &mut t.tags { g.retain(|&b| b != 0); }
        for (n, v) in &mut t.args { n.retain(|&b| b != 0); v.retain(|&b| b != 0); }
        if t.tags.len() == 1 && t.tags[0].is_empty() { t.tags[0].push(b'x'); }
        let bytes = encode_checked(&t).expect("representable");
        prop_assert_eq!(parse(&bytes), Ok(t));
    }

    /// Two encoded markers in one write, separated by whitespace, both come back (C2).
    #[test]
    fn two_markers_in_one_write(a in tracer(), b in tracer(), ws in "[ \t\r\n]{0,3}") {
        let (Ok(ea), Ok(eb)) = (encode_checked(&a), encode_checked(&b)) else {
            return Ok(());
        };
        let mut write = ea;
        write.extend_from_slice(ws.as_bytes());
        write.extend_from_slice(&eb);
        prop_assert_eq!(parse_all(&write), Ok(vec![a, b]));
    }

    /// An encoded marker split over several writes of one thread is decoded once, at the
    /// last piece (no piece parses on its own, so C3 never interferes). Kept quirk: a
    /// piece that ends right after a `:` in an argument name fails ("argument without
    /// value"), as in sysdig.
    #[test]
    fn split_marker_decodes_at_last_piece(
        t in tracer(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..5),
    ) {
        let Ok(bytes) = encode_checked(&t) else { return Ok(()); };
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len())).filter(|&p| p > 0).collect();
        points.sort_unstable();
        points.dedup();
        points.push(bytes.len());
        let mut d = StreamDecoder::new();
        let mut start = 0;
        for (k, &end) in points.iter().enumerate() {
            prop_assert!(parse(&bytes[start..end]).is_err() || k + 1 == points.len() && start == 0);
            let got = d.feed(&bytes[start..end]);
            if k + 1 == points.len() {
                prop_assert_eq!(got, Decoded::Tracers(vec![t.clone()]));
            } else if let Decoded::Failed(e) = got {
                prop_assert_eq!(e.reason(), "argument without value");
                prop_assert_eq!(parse(&bytes[..end]), Err(e));
                return Ok(());
            } else {
                prop_assert_eq!(got, Decoded::Pending);
            }
            start = end;
        }
        prop_assert_eq!(d.dropped_fragments(), 0);
        prop_assert_eq!(d.pending_len(), 0);
    }

    /// Any bytes: no panic, consistent results between the entry points.
    #[test]
    fn parse_never_panics(buf in prop::collection::vec(any::<u8>(), 0..200)) {
        check_consistent(&buf)?;
    }

    /// Grammar-shaped bytes reach deeper states.
    #[test]
    fn parse_never_panics_on_marker_like_input(
        head in prop::sample::select(vec![&b">:"[..], b"<:", b"[\">\", ", b"  [\"", b">", b""]),
        body in prop::collection::vec(byte(), 0..80),
    ) {
        let mut buf = head.to_vec();
        buf.extend_from_slice(&body);
        check_consistent(&buf)?;
    }

    /// The decoder never panics and never keeps more than its cap.
    #[test]
    fn decoder_memory_bounded(
        cap in 0usize..64,
        writes in prop::collection::vec(
            prop_oneof![
                prop::collection::vec(byte(), 0..40),
                prop::sample::select(vec![b">:t:".to_vec(), b">:t:a".to_vec(), b"::".to_vec(), b">:t:a::".to_vec(), b"\0".to_vec()]),
            ],
            0..40,
        ),
    ) {
        let mut d = StreamDecoder::with_cap(cap);
        let mut last_dropped = 0;
        for w in &writes {
            let had_pending = d.pending_len() > 0;
            let r = d.feed(w);
            prop_assert!(d.pending_len() <= cap);
            prop_assert!(d.dropped_fragments() >= last_dropped);
            prop_assert!(d.dropped_fragments() <= last_dropped + 1);
            if d.dropped_fragments() > last_dropped {
                // a drop is either C3 (had a fragment) or the cap
                prop_assert!(had_pending || w.len() > cap);
            }
            match r {
                Decoded::Pending => {}
                Decoded::Tracers(ts) => {
                    prop_assert!(!ts.is_empty());
                    prop_assert_eq!(d.pending_len(), 0);
                }
                Decoded::Failed(e) => {
                    prop_assert!(!e.is_truncated());
                    prop_assert_eq!(d.pending_len(), 0);
                }
            }
            last_dropped = d.dropped_fragments();
        }
    }
}

fn check_consistent(buf: &[u8]) -> Result<(), TestCaseError> {
    let one = parse(buf);
    let prefix = parse_prefix(buf);
    let all = parse_all(buf);
    match (&one, &prefix) {
        (Ok(t), Ok((t2, used))) => {
            prop_assert_eq!(t, t2);
            prop_assert!(*used <= buf.len());
            prop_assert_eq!(&all.as_ref().unwrap()[0], t);
        }
        (Err(e), Err(e2)) => {
            prop_assert_eq!(e, e2);
            prop_assert_eq!(all.as_ref().unwrap_err(), e);
            let nul = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            prop_assert!(
                e.offset() <= nul + 1,
                "offset {} beyond data {}",
                e.offset(),
                nul
            );
            prop_assert!(!e.to_string().is_empty());
        }
        _ => prop_assert!(false, "parse and parse_prefix disagree"),
    }
    Ok(())
}
