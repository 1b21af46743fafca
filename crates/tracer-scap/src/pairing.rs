//! Enter/exit pairing per thread: the last enter event of every thread, waiting for
//! its exit. One "hot" slot serves the common case (an exit right after its enter on
//! the same thread) without hashing; the map holds the enters of other threads.
//! Every enter keeps what all exits use (timestamp, fd, size); the enters of syscalls
//! whose exits need more are also stored as a copy of their bytes plus their parsed
//! head, so the exit sees them again without re-parsing. Buffers are reused, so steady
//! state allocates nothing.

use rustc_hash::FxHashMap;

use crate::params::{le_int, lossy_string, Field, Head, RawEvent};

/// A stored enter event.
#[derive(Debug)]
pub(crate) struct Pending {
    ts: u64,
    etype: u16,
    live: bool,
    /// `head` and `bytes` hold the whole event.
    full: bool,
    /// The `fd` (or `out_fd`) parameter, -1 without one (all exits read it so).
    fd: i64,
    size: Option<i64>,
    /// The parsed event (its bytes are `bytes`), when `full`.
    head: Head,
    bytes: Vec<u8>,
}

impl Default for Pending {
    fn default() -> Self {
        Pending {
            ts: 0,
            etype: 0,
            live: false,
            full: false,
            fd: -1,
            size: None,
            head: Head::EMPTY,
            bytes: Vec::new(),
        }
    }
}

/// An enter event lent to its exit: its timestamp, `fd` (or `out_fd`) and `size`
/// parameters, and for full enters (see [`Pairing::enter`]) every parameter.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stored<'a> {
    p: &'a Pending,
}

impl<'a> Stored<'a> {
    /// The event's timestamp.
    #[inline(always)]
    pub(crate) fn ts(&self) -> u64 {
        self.p.ts
    }

    /// The `fd` parameter, else the `out_fd` one (as integers); -1 without either.
    #[inline(always)]
    pub(crate) fn fd(&self) -> i64 {
        self.p.fd
    }

    /// The `size` parameter.
    #[inline(always)]
    pub(crate) fn size(&self) -> Option<i64> {
        self.p.size
    }

    /// Parameter `i`, if present (full enters only).
    #[cfg(test)]
    pub(crate) fn param(&self, i: usize) -> Option<&'a [u8]> {
        let p = self.p;
        p.full.then(|| p.head.param_in(&p.bytes, i)).flatten()
    }

    /// Parameter by field (full enters only).
    #[inline(always)]
    pub(crate) fn get(&self, f: Field) -> Option<&'a [u8]> {
        let p = self.p;
        if p.full {
            p.head.get_in(&p.bytes, f)
        } else {
            None
        }
    }

    /// Integer parameter (see [`RawEvent::int`]; full enters only).
    #[inline(always)]
    pub(crate) fn int(&self, f: Field) -> Option<i64> {
        self.get(f).and_then(le_int)
    }

    /// A string parameter (see [`RawEvent::string`]; full enters only).
    pub(crate) fn string(&self, f: Field) -> Option<String> {
        self.get(f).map(lossy_string)
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
    /// (an enter without exit). `full`: keep every parameter, not only the fd and size
    /// (needed unless the exit is a plain read or write).
    #[inline(always)]
    pub(crate) fn enter(&mut self, ev: &RawEvent<'_>, full: bool) -> bool {
        let fd = ev.int(Field::Fd).or_else(|| ev.int(Field::OutFd));
        let superseded = self.enter_io(ev.tid, ev.ts, ev.etype, fd, ev.int(Field::Size));
        let p = &mut self.hot;
        p.full = full;
        if full {
            p.head = ev.head;
            p.bytes.clear();
            p.bytes.extend_from_slice(ev.bytes());
        }
        superseded
    }

    /// Stores the enter of type `etype` on `tid` at `ts` with its `fd` (or `out_fd`) and
    /// `size` parameters only (not [`Pending::full`]); returns true as
    /// [`Pairing::enter`] does.
    #[inline(always)]
    pub(crate) fn enter_io(
        &mut self,
        tid: u64,
        ts: u64,
        etype: u16,
        fd: Option<i64>,
        size: Option<i64>,
    ) -> bool {
        let mut superseded = false;
        if self.hot.live {
            if self.hot_tid != tid {
                self.spill_hot();
            } else {
                superseded = true;
            }
        }
        if self.map_live > 0 {
            superseded |= self.retire_in_map(tid);
        }
        self.hot_tid = tid;
        let p = &mut self.hot;
        p.ts = ts;
        p.etype = etype;
        p.live = true;
        p.fd = fd.unwrap_or(-1);
        p.size = size;
        p.full = false;
        superseded
    }

    /// Moves the hot slot's live enter (of another thread) to the map, recycling a
    /// buffer of the map.
    #[cold]
    #[inline(never)]
    fn spill_hot(&mut self) {
        let slot = self.map.entry(self.hot_tid).or_default();
        // The slot is not live: the hot slot held this thread's latest enter.
        std::mem::swap(slot, &mut self.hot);
        self.map_live += 1;
        self.hot.live = false;
    }

    /// Drops `tid`'s live enter in the map, if it has one (true then).
    #[inline(never)]
    fn retire_in_map(&mut self, tid: u64) -> bool {
        match self.map.get_mut(&tid) {
            Some(p) if p.live => {
                p.live = false;
                self.map_live -= 1;
                true
            }
            _ => false,
        }
    }

    /// `tid`'s live enter in the map (counted as no longer live: the caller consumes it).
    #[inline(never)]
    fn live_in_map(&mut self, tid: u64) -> Option<&mut Pending> {
        match self.map.get_mut(&tid) {
            Some(p) if p.live => {
                self.map_live -= 1;
                Some(p)
            }
            _ => None,
        }
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
            match self.live_in_map(tid) {
                Some(p) => p,
                None => return (None, false),
            }
        };
        p.live = false;
        if p.etype.wrapping_add(1) == exit_type {
            (Some(Stored { p }), false)
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
        p.enter(&RawEvent::parse(&bytes, true, false).unwrap(), et == 2)
    }

    #[test]
    fn pairs_per_thread_across_interleaving() {
        let mut p = Pairing::default();
        assert!(!enter(&mut p, 1, 6, b'a'));
        assert!(!enter(&mut p, 2, 8, b'b'));
        let (e, dropped) = p.take(1, 7);
        let e = e.unwrap();
        assert_eq!((e.fd(), e.size(), e.param(0)), (b'a' as i64, None, None));
        assert!(!dropped);
        assert!(!enter(&mut p, 4, 2, b'/'), "an open enter is kept whole");
        let e = p.take(4, 3).0.unwrap();
        assert_eq!((e.ts(), e.param(0)), (0, Some(&b"/"[..])));
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
