use std::sync::Arc;

use super::*;
use crate::correlate::{InOut, IoAcc};

fn rec(id: i64, path: u32, tid: i64) -> OpenRecord {
    OpenRecord {
        seq: 0,
        id,
        path,
        tags: Arc::from(Vec::new()),
        args: vec![],
        enter_ts: 0,
        writer_tid: tid,
        writer_pid: tid,
        enter_event: 0,
        parent: None,
        parent_enter_ts: None,
        depth: 0,
        io: IoAcc::default(),
        child_bytes: InOut::default(),
        child_ns: 0,
        children: 0,
        incomplete: false,
    }
}

#[test]
fn near_lookup_matches_by_number() {
    let mut s = SpanStore::new(10);
    let (a, _) = s.open(rec(0, 1, 1));
    let (b, _) = s.open(rec(0, 2, 2));
    let (c, _) = s.open(rec(0, 3, 1));
    for seq in [a, b, c] {
        for tid in [1, 2, 3] {
            assert_eq!(s.get_mut_near(seq, tid).map(|r| r.seq), Some(seq));
        }
    }
    s.close(1, 0, 3).unwrap();
    assert!(s.get_mut_near(c, 1).is_none());
    assert_eq!(s.get_mut_near(a, 1).unwrap().seq, a);
}

#[test]
fn same_thread_preferred_then_any() {
    let mut s = SpanStore::new(10);
    let (a, _) = s.open(rec(0, 1, 1));
    let (b, _) = s.open(rec(0, 1, 2));
    assert_eq!(s.close(1, 0, 1).unwrap().seq, a);
    assert_eq!(s.close(3, 0, 1).unwrap().seq, b);
    assert!(s.close(1, 0, 1).is_none());
}

#[test]
fn evicts_oldest() {
    let mut s = SpanStore::new(2);
    s.open(rec(1, 1, 1));
    s.open(rec(2, 1, 1));
    let (_, ev) = s.open(rec(3, 1, 1));
    assert_eq!(ev.unwrap().id, 1);
    assert_eq!(s.len(), 2);
    let ids: Vec<i64> = s.iter().map(|r| r.id).collect();
    assert_eq!(ids, vec![3, 2]);
    assert_eq!(s.innermost(1).unwrap().id, 3);
    assert_eq!(s.drain().len(), 2);
    assert!(s.is_empty());
}

#[test]
fn reused_index_vectors_start_empty() {
    let mut s = SpanStore::new(8);
    for round in 0..3u32 {
        let (a, _) = s.open(rec(1, round, 1));
        let (b, _) = s.open(rec(2, round + 10, 2));
        assert_eq!(s.innermost(1).unwrap().seq, a);
        assert_eq!(s.of_thread(2).count(), 1);
        assert_eq!(s.close(1, 1, round).unwrap().seq, a);
        assert!(s.innermost(1).is_none());
        assert!(s.most_recent(1, round).is_none());
        assert_eq!(s.close(2, 2, round + 10).unwrap().seq, b);
        assert!(s.is_empty());
    }
}

#[test]
fn detached_records_are_invisible_until_released() {
    let mut s = SpanStore::new(8);
    let (a, _) = s.open(rec(5, 1, 1));
    let (b, _) = s.open(rec(5, 2, 1));
    assert_eq!(s.innermost_mut(1).unwrap().seq, b);
    let slot = s.close_detached(1, 5, 2).unwrap();
    assert_eq!(s.slot(slot).seq, b);
    assert_eq!((s.len(), s.innermost(1).unwrap().seq), (1, a));
    assert!(s.get(b).is_none());
    assert_eq!(s.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![a]);
    s.release(slot);
    let (c, _) = s.open(rec(5, 3, 1));
    assert_eq!(s.innermost(1).unwrap().seq, c);
    assert_eq!(s.remove_seq(c).unwrap().path, 3);
    assert_eq!(s.innermost(1).unwrap().seq, a);
    assert_eq!(s.close(2, 5, 1).unwrap().seq, a);
    assert!(s.innermost(1).is_none() && s.is_empty());
}

/// The innermost-record shortcuts pick what the keyed lookups pick.
#[test]
fn innermost_shortcuts_agree_with_keyed_lookups() {
    let mut s = SpanStore::new(16);
    let (a, _) = s.open(rec(0, 1, 1));
    let (b, _) = s.open(rec(0, 1, 2));
    let (_c, _) = s.open(rec(0, 2, 1));
    // Thread 1's innermost has another path: the newest of any thread.
    assert_eq!(s.most_recent_near(0, 1, 1).unwrap().seq, b);
    let (d, _) = s.open(rec(0, 1, 1));
    assert_eq!(s.most_recent_near(0, 1, 1).unwrap().seq, d);
    let (e, _) = s.open(rec(0, 1, 2));
    // Thread 1's innermost has the key but is not the newest with it.
    assert_eq!(s.most_recent_near(0, 1, 1).unwrap().seq, e);
    assert_eq!(s.most_recent_near(0, 1, 3).unwrap().seq, e);
    assert!(s.most_recent_near(9, 1, 1).is_none());
    // Exits: thread 1 closes its own newest, then (innermost of another path)
    // its older one; thread 3 has none and takes the newest of any thread.
    let slot = s.close_detached(1, 0, 1).unwrap();
    assert_eq!(s.slot(slot).seq, d);
    s.release(slot);
    assert_eq!(s.close(1, 0, 1).unwrap().seq, a);
    assert_eq!(s.close(3, 0, 1).unwrap().seq, e);
    assert_eq!(s.close(2, 0, 1).unwrap().seq, b);
    assert!(s.close(1, 0, 1).is_none());
    assert_eq!(s.len(), 1);
}

/// Thousands of short-lived keys: the key index is pruned again and again, its
/// lists are reused for other keys, and every lookup still finds the right record.
#[test]
fn pruned_and_reused_key_lists_stay_right() {
    let mut s = SpanStore::new(4);
    let (keep, _) = s.open(rec(-1, 0, 9));
    for k in 0..3000i64 {
        let path = (k % 50) as u32;
        let (a, _) = s.open(rec(k, path, 1 + k % 3));
        assert_eq!(s.most_recent_near(k, path, 1 + k % 3).unwrap().seq, a);
        assert_eq!(s.most_recent(k, path).unwrap().seq, a);
        if k % 2 == 0 {
            assert_eq!(s.close(1 + k % 3, k, path).unwrap().seq, a);
        } else {
            assert_eq!(s.close(7, k, path).unwrap().seq, a);
        }
        assert!(s.most_recent(k, path).is_none());
        assert!(s.most_recent_near(k, path, 1 + k % 3).is_none());
    }
    assert_eq!(s.most_recent_near(-1, 0, 9).unwrap().seq, keep);
    assert_eq!(s.close(9, -1, 0).unwrap().seq, keep);
    assert!(s.is_empty());
}

/// Records closed in every order, across many compactions of the enter order: the
/// store still lists, finds and closes the right ones.
#[test]
fn exits_in_any_order_across_compactions() {
    let mut s = SpanStore::new(100_000);
    let mut open: Vec<(u64, i64)> = Vec::new();
    for k in 0..2000i64 {
        let (seq, _) = s.open(rec(k, 1, 1));
        open.push((seq, k));
        if k % 3 != 0 {
            // Close the innermost, the oldest or one in the middle.
            let i = match k % 4 {
                0 => open.len() - 1,
                1 => 0,
                _ => open.len() / 2,
            };
            let (seq, id) = open.remove(i);
            assert_eq!(s.close(1, id, 1).map(|r| r.seq), Some(seq));
        }
        let listed: Vec<u64> = s.iter().map(|r| r.seq).collect();
        let want: Vec<u64> = open.iter().rev().map(|e| e.0).collect();
        assert_eq!(listed, want);
    }
    for &(seq, _) in &open {
        assert_eq!(s.get(seq).map(|r| r.seq), Some(seq));
    }
}

#[test]
fn released_slot_is_parked_for_its_path() {
    let mut s = SpanStore::new(10);
    let mut r = rec(0, 7, 1);
    r.args = vec![(b"k".to_vec(), b"v".to_vec())];
    s.open(r);
    s.open(rec(0, 8, 1));
    let inner = s.close_detached(1, 0, 8).unwrap();
    s.release(inner);
    let outer = s.close_detached(1, 0, 7).unwrap();
    s.release(outer);
    // Path 7 gets its old slot back (its arguments still there for reuse), whatever
    // the order of releases; an unknown path takes any free slot.
    let (_, slot) = s.open_with(7, |r| {
        assert_eq!(r.args, vec![(b"k".to_vec(), b"v".to_vec())]);
        *r = rec(0, 7, 1);
    });
    assert_eq!(slot, outer);
    let (_, other) = s.open_with(9, |r| *r = rec(0, 9, 1));
    assert_ne!(other, outer);
    assert_eq!(s.len(), 2);
    assert_eq!(s.close(1, 0, 9).unwrap().path, 9);
    assert_eq!(s.close(1, 0, 7).unwrap().path, 7);
    assert!(s.is_empty());
}
