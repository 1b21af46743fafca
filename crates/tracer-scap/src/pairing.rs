//! Enter/exit pairing per thread: the last enter event of every thread, waiting for
//! its exit. One "hot" slot serves the common case (an exit right after its enter on
//! the same thread) without hashing; the map holds the enters of other threads.

use rustc_hash::FxHashMap;

/// A stored enter event (its raw bytes, re-parsed when the exit comes).
#[derive(Debug, Default)]
pub(crate) struct Pending {
    pub etype: u16,
    pub v2: bool,
    pub large: bool,
    pub live: bool,
    pub bytes: Vec<u8>,
}

/// An enter handed to its exit.
pub(crate) struct Enter {
    pub bytes: Vec<u8>,
    pub v2: bool,
    pub large: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Pairing {
    hot_tid: u64,
    hot: Pending,
    map: FxHashMap<u64, Pending>,
}

impl Pairing {
    /// Stores an enter; returns true when it replaced a live enter of the same thread
    /// (an enter without exit).
    pub(crate) fn enter(
        &mut self,
        tid: u64,
        etype: u16,
        v2: bool,
        large: bool,
        bytes: &[u8],
    ) -> bool {
        let mut superseded = false;
        if self.hot.live && self.hot_tid != tid {
            // Spill the other thread's enter to the map, recycling a buffer.
            let slot = self.map.entry(self.hot_tid).or_default();
            std::mem::swap(slot, &mut self.hot);
            self.hot.live = false;
        } else if self.hot.live {
            superseded = true;
        }
        if !self.map.is_empty() {
            if let Some(p) = self.map.get_mut(&tid) {
                superseded |= p.live;
                p.live = false;
            }
        }
        self.hot_tid = tid;
        let p = &mut self.hot;
        p.etype = etype;
        p.v2 = v2;
        p.large = large;
        p.live = true;
        p.bytes.clear();
        p.bytes.extend_from_slice(bytes);
        superseded
    }

    /// The enter matching exit type `exit_type` on `tid`, if it is the thread's live
    /// enter. The second value is true when the thread's live enter was of another
    /// type (dropped: sysdig would mis-pair it).
    pub(crate) fn take(&mut self, tid: u64, exit_type: u16) -> (Option<Enter>, bool) {
        let p = if self.hot.live && self.hot_tid == tid {
            &mut self.hot
        } else if self.map.is_empty() {
            return (None, false);
        } else {
            match self.map.get_mut(&tid) {
                Some(p) if p.live => p,
                _ => return (None, false),
            }
        };
        p.live = false;
        if p.etype.wrapping_add(1) == exit_type {
            let e = Enter {
                bytes: std::mem::take(&mut p.bytes),
                v2: p.v2,
                large: p.large,
            };
            (Some(e), false)
        } else {
            (None, true)
        }
    }

    /// Returns an enter's buffer for reuse.
    pub(crate) fn give_back(&mut self, tid: u64, bytes: Vec<u8>) {
        if self.hot_tid == tid && self.hot.bytes.capacity() == 0 {
            self.hot.bytes = bytes;
        } else if let Some(p) = self.map.get_mut(&tid) {
            if p.bytes.capacity() == 0 {
                p.bytes = bytes;
            }
        }
    }

    /// The thread is gone.
    pub(crate) fn forget(&mut self, tid: u64) {
        if self.hot_tid == tid {
            self.hot.live = false;
        }
        self.map.remove(&tid);
    }

    /// Drops everything; returns how many enters were still waiting.
    pub(crate) fn clear(&mut self) -> u64 {
        let n = self.map.values().filter(|p| p.live).count() as u64 + self.hot.live as u64;
        self.map.clear();
        self.hot.live = false;
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_per_thread_across_interleaving() {
        let mut p = Pairing::default();
        assert!(!p.enter(1, 6, true, false, b"a"));
        assert!(!p.enter(2, 8, true, false, b"b"));
        let (e, dropped) = p.take(1, 7);
        assert_eq!(e.unwrap().bytes, b"a");
        assert!(!dropped);
        assert!(
            p.enter(2, 6, true, false, b"c"),
            "thread 2's write enter is superseded"
        );
        let (e, dropped) = p.take(2, 9);
        assert!(
            e.is_none() && dropped,
            "exit of another type drops the read enter"
        );
        assert!(p.take(2, 7).0.is_none());
        assert!(!p.enter(3, 6, true, false, b"d"));
        assert_eq!(p.clear(), 1);
    }
}
