use super::*;
use crate::grammar::parse_all_into;

#[test]
fn caches_on_second_sight_and_finds_late_parents() {
    let mut tags = TagTable::default();
    let mut key = Vec::new();
    let mut cache = MarkerCache::default();
    let data = b">:t:a.b::";
    let mut d = Decoded::default();
    parse_all_into(data, &mut d.buf).unwrap();
    d.resolve(&mut tags, &mut key, &mut PathMemo::default());
    assert_eq!(d.paths, vec![(0, None)]);
    cache.offer(data, &d);
    assert!(cache.get_mut(data).is_none(), "seen once");
    cache.offer(data, &d);
    // The parent path `a` appears later: a cached entry finds it.
    let a = tags.intern(&[b"a".to_vec()]);
    let hit = cache.get_mut(data).expect("cached");
    hit.refresh(&tags, &mut key);
    assert_eq!(hit.paths, vec![(0, Some(a))]);
    assert!(cache.get_mut(&[b'x'; MAX_CACHED_WRITE + 1]).is_none());
    assert!(cache.get_mut(b">:t:a.c::").is_none());
    assert!(same_bytes(b"0123456789abcdefXY", b"0123456789abcdefXY"));
    assert!(!same_bytes(b"0123456789abcdefXY", b"0123456789abcdefXZ"));
    assert!(!same_bytes(b"0123456789", b"0123456788"));
    assert!(!same_bytes(b"01234567", b"012345678"));
}

#[test]
fn same_bytes_is_equality() {
    let a: Vec<u8> = (0..40u8).collect();
    for n in 0..a.len() {
        assert!(same_bytes(&a[..n], &a[..n]));
        for i in 0..n {
            let mut b = a[..n].to_vec();
            b[i] ^= 0x40;
            assert!(!same_bytes(&a[..n], &b), "length {n}, byte {i}");
        }
    }
}

/// A direct-mapped level keeps one entry per slot: a new hash in a taken slot
/// replaces the entry, the same hash keeps the first one.
#[test]
fn level_replaces_within_a_slot() {
    let mut l = Level::default();
    let d = |n: usize| Decoded {
        paths_known: n,
        ..Decoded::default()
    };
    let (h1, h2, h3) = (5 << 52 | 1, 5 << 52 | 2, 6 << 52);
    assert!(l.get_mut(b"a", h1).is_none());
    l.insert_with(b"a", h1, || d(1));
    l.insert_with(b"c", h3, || d(3));
    assert_eq!(l.get_mut(b"a", h1).map(|d| d.paths_known), Some(1));
    assert!(l.get_mut(b"b", h1).is_none(), "bytes are compared");
    l.insert_with(b"a2", h1, || d(9));
    assert_eq!(l.get_mut(b"a", h1).map(|d| d.paths_known), Some(1));
    l.insert_with(b"b", h2, || d(2));
    assert!(l.get_mut(b"a", h1).is_none() && !l.has_hash(h1));
    assert_eq!(l.get_mut(b"b", h2).map(|d| d.paths_known), Some(2));
    assert_eq!(l.get_mut(b"c", h3).map(|d| d.paths_known), Some(3));
    assert_eq!(l.items.len(), 2, "the replaced entry's room is reused");
}

/// The writes of the parse vectors plus argument variants: heads with escapes,
/// NULs, odd ids, several markers, trailing bytes.
fn writes() -> Vec<Vec<u8>> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/spec/tracer-vectors.json"
    );
    let text = std::fs::read_to_string(path).expect("shared/spec/tracer-vectors.json");
    let v: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    let mut w: Vec<Vec<u8>> = v
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|e| e["input"].as_str().map(|s| s.as_bytes().to_vec()))
        .filter(|s| s.len() <= MAX_CACHED_WRITE)
        .collect();
    for head in [
        ">:t:a:",
        "<:t:a.b:",
        ">:p:x\\:y:",
        ">:12:q:",
        ">:t::",
        ">:tx:a:",
    ] {
        for rest in [
            "n=1:",
            "n=2,s=ok:",
            "n=3:\n",
            "n=4: <:t:a::",
            "n=5:[",
            "n=6",
            "n=7\0:",
            ":",
            "=1:",
            "n=8:x",
            "n=\\:,:",
            "n=9: \t junk",
            "k=a>b<c:",
            // NUL bytes where the argument scanner meets them uncut.
            "n\0=1:",
            "n=1,\0m=2:",
            "n=1:\0<:t:a::",
            "n\\\0=1:",
            "n:\0",
            "a=1=b=2:",
            "n=1,:",
        ] {
            w.push(format!("{head}{rest}").into_bytes());
        }
    }
    w
}

#[test]
fn heads_decode_like_full_parses() {
    let writes = writes();
    let mut hits = 0;
    // Every pair of writes with the same guessed head: the first and second sight
    // of the head (the second one fills the cache), each decoded in full first.
    let same_head = |a: &[u8], b: &[u8]| match (guess_head_len(a), guess_head_len(b)) {
        (Some(x), Some(y)) => a[..x] == b[..y],
        _ => std::ptr::eq(a, b),
    };
    let pairs = writes
        .iter()
        .flat_map(|a| writes.iter().map(move |a2| (a, a2)))
        .filter(|(a, a2)| same_head(a, a2));
    for (a, a2) in pairs {
        // A fresh table and cache per pair.
        let mut tags = TagTable::default();
        let (mut key, mut memo) = (Vec::new(), PathMemo::default());
        let mut cache = MarkerCache::default();
        for w in [a, a2] {
            let mut d = Decoded::default();
            if parse_all_into(w, &mut d.buf).is_ok() {
                d.resolve(&mut tags, &mut key, &mut memo);
                cache.offer_head(w, &d);
            }
        }
        for b in &writes {
            let mut fast = Decoded::default();
            if !cache.decode_by_head(b, &tags, &mut key, &mut fast) {
                continue;
            }
            hits += 1;
            let mut full = Decoded::default();
            parse_all_into(b, &mut full.buf).expect("a head hit parses in full");
            full.resolve(&mut tags, &mut key, &mut memo);
            let show = |d: &Decoded| (d.buf.to_tracers(), d.paths.clone());
            assert_eq!(
                show(&fast),
                show(&full),
                "{b:?} after heads of {a:?}, {a2:?}"
            );
        }
    }
    assert!(hits > 50, "the second level was used ({hits} hits)");
}

/// Writes decoded one after another into the cache's scratch buffer (which keeps
/// the head's tags between writes of one head) decode like full parses, across
/// failed decodes and changes of head.
#[test]
fn scratch_decodes_in_sequence_like_full_parses() {
    let writes = writes();
    let mut tags = TagTable::default();
    let (mut key, mut memo) = (Vec::new(), PathMemo::default());
    let mut cache = MarkerCache::default();
    // Every head seen twice: all of them cached.
    for _ in 0..2 {
        for w in &writes {
            let mut d = Decoded::default();
            if parse_all_into(w, &mut d.buf).is_ok() {
                d.resolve(&mut tags, &mut key, &mut memo);
                cache.offer_head(w, &d);
            }
        }
    }
    let mut hits = 0;
    // Each write twice in a row, then the whole list again in another order.
    let order = writes
        .iter()
        .flat_map(|w| [w, w])
        .chain(writes.iter().rev())
        .chain(writes.iter().step_by(3));
    for w in order {
        if !cache.decode_by_head_scratch(w, &tags, &mut key) {
            continue;
        }
        hits += 1;
        let mut full = Decoded::default();
        parse_all_into(w, &mut full.buf).expect("a head hit parses in full");
        full.resolve(&mut tags, &mut key, &mut memo);
        let show = |d: &Decoded| (d.buf.to_tracers(), d.paths.clone());
        assert_eq!(show(&cache.scratch), show(&full), "{w:?}");
    }
    assert!(hits > 100, "the scratch buffer was used ({hits} hits)");
}

/// Engine level: a head first cached from a write whose second marker introduces
/// the head's parent path still finds that parent (C6) when it decodes a later write
/// by its head.
#[test]
fn head_cached_before_its_parent_path_finds_it() {
    use crate::engine::{Engine, EngineConfig, NoConsumer};
    use crate::event::{Event, EventKind, Syscall, SyscallKind};
    let writes: [&[u8]; 5] = [
        b">:t:a.b:n=1:",
        b"<:t:a.b::",
        b">:t:a.b:n=2: >:t:a::",
        b"<:t:a.b::",
        b">:t:a.b:n=3:",
    ];
    let mut eng = Engine::new(EngineConfig {
        retain_spans: true,
        ..EngineConfig::default()
    });
    eng.mark_tracer_fd(7, 7, 3);
    for (i, w) in writes.iter().enumerate() {
        let mut sc = Syscall::new(SyscallKind::Write, 1000 * i as u64, w.len() as i64);
        sc.fd = 3;
        sc.data = Some(w.to_vec());
        let ev = Event {
            ts: 1000 * i as u64 + 10,
            tid: 7,
            pid: 7,
            kind: EventKind::Syscall(sc),
        };
        eng.process(&ev, &mut NoConsumer);
    }
    let report = eng.finish(&mut NoConsumer);
    // Still open: the `a` entered by the third write and the last `a.b`.
    let open: Vec<_> = report
        .never_closed
        .iter()
        .map(|s| (s.tags.len(), s.seq))
        .collect();
    let a = report
        .never_closed
        .iter()
        .find(|s| s.tags.len() == 1)
        .expect("a");
    let last = report
        .never_closed
        .iter()
        .find(|s| s.tags.len() == 2)
        .expect("a.b");
    assert_eq!(last.parent, Some(a.seq), "open spans {open:?}");
    assert_eq!(last.depth, 1);
}
