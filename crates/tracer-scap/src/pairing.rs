//! Enter/exit pairing per thread: the last enter event of every thread, waiting for
//! its exit. One "hot" slot serves the common case (an exit right after its enter on
//! the same thread) without hashing; the map holds the enters of other threads.
//! An enter is stored as a copy of its bytes plus its parsed head, so the exit sees it
//! again without re-parsing; buffers are reused, so steady state allocates nothing.

use rustc_hash::FxHashMap;

use crate::params::{Head, RawEvent, Stored};

/// A stored enter event.
#[derive(Debug)]
pub(crate) struct Pending {
    /// The parsed event (its bytes are `bytes`).
    head: Head,
    live: bool,
    bytes: Vec<u8>,
}

impl Default for Pending {
    fn default() -> Self {
        Pending {
            head: Head::EMPTY,
            live: false,
            bytes: Vec::new(),
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct Pairing {
    hot_tid: u64,
    hot: Pending,
    /// Enters of other threads (entries stay, with their buffers, once used).
    map: FxHashMap<u64, Pending>,
    /// How many entries of `map` are live (no lookups needed while 0).
    map_live: usize,
}

impl Pairing {
    /// Stores an enter; returns true when it replaced a live enter of the same thread
    /// (an enter without exit).
    #[inline(always)]
    pub(crate) fn enter(&mut self, ev: &RawEvent<'_>) -> bool {
        let tid = ev.tid;
        let mut superseded = false;
        if self.hot.live && self.hot_tid != tid {
            // Spill the other thread's enter to the map, recycling a buffer.
            let slot = self.map.entry(self.hot_tid).or_default();
            // The slot is not live: the hot slot held this thread's latest enter.
            std::mem::swap(slot, &mut self.hot);
            self.map_live += 1;
            self.hot.live = false;
        } else if self.hot.live {
            superseded = true;
        }
        if self.map_live > 0 {
            if let Some(p) = self.map.get_mut(&tid) {
                if p.live {
                    superseded = true;
                    p.live = false;
                    self.map_live -= 1;
                }
            }
        }
        self.hot_tid = tid;
        let p = &mut self.hot;
        p.head = ev.head;
        p.live = true;
        p.bytes.clear();
        p.bytes.extend_from_slice(ev.bytes());
        superseded
    }

    /// The enter matching exit type `exit_type` on `tid`, if it is the thread's live
    /// enter (it is consumed). The second value is true when the thread's live enter
    /// was of another type (dropped: sysdig would mis-pair it).
    #[inline(always)]
    pub(crate) fn take(&mut self, tid: u64, exit_type: u16) -> (Option<Stored<'_>>, bool) {
        let p = if self.hot.live && self.hot_tid == tid {
            &mut self.hot
        } else if self.map_live == 0 {
            return (None, false);
        } else {
            match self.map.get_mut(&tid) {
                Some(p) if p.live => {
                    self.map_live -= 1;
                    p
                }
                _ => return (None, false),
            }
        };
        p.live = false;
        if p.head.etype.wrapping_add(1) == exit_type {
            (
                Some(Stored {
                    head: &p.head,
                    bytes: &p.bytes,
                }),
                false,
            )
        } else {
            (None, true)
        }
    }

    /// The thread is gone.
    pub(crate) fn forget(&mut self, tid: u64) {
        if self.hot_tid == tid {
            self.hot.live = false;
        }
        if self.map.remove(&tid).is_some_and(|p| p.live) {
            self.map_live -= 1;
        }
    }

    /// Drops everything; returns how many enters were still waiting.
    pub(crate) fn clear(&mut self) -> u64 {
        let n = self.map.values().filter(|p| p.live).count() as u64 + self.hot.live as u64;
        self.map.clear();
        self.map_live = 0;
        self.hot.live = false;
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A v2 event of type `et` on `tid` with one 1-byte parameter `b`.
    fn ev(tid: u64, et: u16, b: u8) -> Vec<u8> {
        let mut v = vec![0u8; 8];
        v.extend(tid.to_le_bytes());
        v.extend(29u32.to_le_bytes());
        v.extend(et.to_le_bytes());
        v.extend(1u32.to_le_bytes());
        v.extend(1u16.to_le_bytes());
        v.push(b);
        v
    }

    fn enter(p: &mut Pairing, tid: u64, et: u16, b: u8) -> bool {
        let bytes = ev(tid, et, b);
        p.enter(&RawEvent::parse(&bytes, true, false).unwrap())
    }

    #[test]
    fn pairs_per_thread_across_interleaving() {
        let mut p = Pairing::default();
        assert!(!enter(&mut p, 1, 6, b'a'));
        assert!(!enter(&mut p, 2, 8, b'b'));
        let (e, dropped) = p.take(1, 7);
        let e = e.unwrap();
        assert_eq!(
            (e.head.tid, e.head.etype, e.param(0)),
            (1, 6, Some(&b"a"[..]))
        );
        assert!(!dropped);
        assert!(
            enter(&mut p, 2, 6, b'c'),
            "thread 2's write enter is superseded"
        );
        let (e, dropped) = p.take(2, 9);
        assert!(
            e.is_none() && dropped,
            "exit of another type drops the read enter"
        );
        assert!(p.take(2, 7).0.is_none());
        assert!(!enter(&mut p, 3, 6, b'd'));
        assert_eq!(p.clear(), 1);
    }
}
