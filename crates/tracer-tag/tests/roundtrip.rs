//! Round trip through tracer-core's parser: whatever tracer-tag writes, the reader reads
//! back exactly (modulo the documented losses: NUL bytes are dropped, and a tag list made
//! of one empty tag reads as no tags).

mod common;

use proptest::prelude::*;
use tracer_core::grammar::{parse, Direction, IdForm, Tracer};
use tracer_tag::{Dir, Id};

/// Bytes biased towards the ones that need escaping.
fn field() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        4 => prop::sample::select(b"abcXYZ019_ /-".to_vec()),
        4 => prop::sample::select(b"\\.:,=<>\n\0[]\"{}".to_vec()),
        1 => any::<u8>(),
    ];
    prop::collection::vec(byte, 0..12)
}

fn id() -> impl Strategy<Value = Id> {
    prop_oneof![
        Just(Id::Thread),
        Just(Id::Process),
        Just(Id::Parent),
        Just(Id::Global),
        Just(Id::Explicit(0)),
        any::<i64>().prop_map(Id::Explicit),
    ]
}

fn dir() -> impl Strategy<Value = Dir> {
    prop_oneof![Just(Dir::Enter), Just(Dir::Exit)]
}

fn no_nul(v: &[u8]) -> Vec<u8> {
    v.iter().copied().filter(|&b| b != 0).collect()
}

fn expected(dir: Dir, id: Id, tags: Vec<Vec<u8>>, args: &[(Vec<u8>, Vec<u8>)]) -> Tracer {
    let mut tags: Vec<Vec<u8>> = tags.iter().map(|t| no_nul(t)).collect();
    if tags.len() == 1 && tags[0].is_empty() {
        tags.clear();
    }
    Tracer {
        dir: match dir {
            Dir::Enter => Direction::Enter,
            Dir::Exit => Direction::Exit,
        },
        id: match id {
            Id::Thread => IdForm::Thread,
            Id::Process => IdForm::Process,
            Id::Parent => IdForm::Parent,
            Id::Global => IdForm::Global,
            Id::Explicit(n) => IdForm::Explicit(n),
        },
        tags,
        args: args.iter().map(|(k, v)| (no_nul(k), no_nul(v))).collect(),
    }
}

fn split_path(p: &[u8]) -> Vec<Vec<u8>> {
    no_nul(p)
        .split(|&b| b == b'.')
        .map(<[u8]>::to_vec)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn encode_parses_back(
        d in dir(),
        i in id(),
        tags in prop::collection::vec(field(), 0..4),
        args in prop::collection::vec((field(), field()), 0..4),
    ) {
        let t: Vec<&[u8]> = tags.iter().map(Vec::as_slice).collect();
        let a: Vec<(&[u8], &[u8])> = args.iter().map(|(k, v)| (k.as_slice(), v.as_slice())).collect();
        let mut out = Vec::new();
        tracer_tag::encode(d, i, &t, &a, &mut out);
        prop_assert!(!out.contains(&0));
        let got = parse(&out);
        prop_assert_eq!(got, Ok(expected(d, i, tags, &args)), "marker {:?}", String::from_utf8_lossy(&out));
    }

    #[test]
    fn encode_path_parses_back(
        d in dir(),
        i in id(),
        path in field(),
        args in prop::collection::vec((field(), field()), 0..3),
    ) {
        let a: Vec<(&[u8], &[u8])> = args.iter().map(|(k, v)| (k.as_slice(), v.as_slice())).collect();
        let mut out = Vec::new();
        tracer_tag::encode_path(d, i, &path, &a, &mut out);
        let got = parse(&out);
        prop_assert_eq!(got, Ok(expected(d, i, split_path(&path), &args)), "marker {:?}", String::from_utf8_lossy(&out));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Spans (inline and heap heads, children, enter and exit args) parse back.
    #[test]
    fn spans_parse_back(
        i in id(),
        root in field(),
        child in field(),
        long in 0usize..3,
        enter_args in prop::collection::vec((field(), field()), 0..3),
        exit_args in prop::collection::vec((field(), field()), 0..3),
    ) {
        // sometimes make the path long enough for a heap-stored head / big markers
        let root: Vec<u8> = root.iter().copied().cycle().take(root.len() * [1, 10, 40][long]).collect();
        let cap = common::Capture::start();
        {
            let mut b = tracer_tag::span_builder(&root);
            b.with_id(i);
            for (k, v) in &enter_args {
                b.arg_bytes(k, v);
            }
            let s = b.enter();
            let mut c = s.child(&child);
            for (k, v) in &exit_args {
                c.set_exit_arg_bytes(k, v);
            }
        }
        let packets = cap.packets();
        drop(cap);
        prop_assert_eq!(packets.len(), 4);
        let mut root_tags = split_path(&root);
        let mut child_tags = root_tags.clone();
        child_tags.extend(split_path(&child));
        if root_tags.len() == 1 && root_tags[0].is_empty() {
            root_tags.clear();
        }
        let none: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        let want = [
            expected(Dir::Enter, i, root_tags.clone(), &enter_args),
            expected(Dir::Enter, i, child_tags.clone(), &none),
            expected(Dir::Exit, i, child_tags, &exit_args),
            expected(Dir::Exit, i, root_tags, &none),
        ];
        for (p, w) in packets.iter().zip(want) {
            prop_assert_eq!(parse(p), Ok(w), "marker {:?}", String::from_utf8_lossy(p));
        }
    }
}
