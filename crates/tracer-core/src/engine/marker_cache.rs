//! A cache of decoded marker writes: applications write the same few marker strings
//! over and over (`>:t:request.db::`), so a write whose exact bytes were decoded before
//! reuses the decoded markers and their interned tag paths instead of parsing and
//! interning again.
//!
//! Only writes that a thread decodes **alone** (no pending fragment) go through the
//! cache: their result depends on their bytes only. A write is cached the second time
//! it is seen (unique writes, such as markers carrying a request id, never fill the
//! cache); short writes only, and the cache is emptied when it grows past a bound, so
//! memory stays bounded.

use std::hash::BuildHasher;

use rustc_hash::{FxBuildHasher, FxHashMap, FxHashSet};

use crate::grammar::MarkerBuf;
use crate::tagstats::TagTable;

/// Longest write the cache keeps, bytes.
pub(super) const MAX_CACHED_WRITE: usize = 256;
/// Most cached writes (the cache is emptied beyond).
const MAX_ENTRIES: usize = 4096;
/// Most remembered once-seen writes (forgotten beyond).
const MAX_SEEN: usize = 16384;

/// The decoded markers of one write, with their interned paths.
#[derive(Debug, Clone, Default)]
pub(super) struct Decoded {
    /// The markers.
    pub buf: MarkerBuf,
    /// Per marker: its tag-path id and its parent path's id (C6: the tags minus the
    /// last one), `None` when that path was not known.
    pub paths: Vec<(u32, Option<u32>)>,
    /// Number of known paths when `paths` was computed: a parent found missing then
    /// may exist later.
    pub paths_known: usize,
}

impl Decoded {
    /// Interns the paths of every marker of `buf` (in marker order) and looks their
    /// parents up; `key` is scratch space.
    pub fn resolve(&mut self, tags: &mut TagTable, key: &mut Vec<u8>) {
        self.paths.clear();
        for i in 0..self.buf.len() {
            let m = self.buf.marker(i);
            let parent_len = self.buf.path_key(&m, key);
            let buf = &self.buf;
            let path = tags.intern_key(key, || buf.tags(&m).map(<[u8]>::to_vec).collect());
            let parent = match buf.tag_count(&m) {
                0 => None,
                _ => tags.get_key(&key[..parent_len]),
            };
            self.paths.push((path, parent));
        }
        self.paths_known = tags.len();
    }

    /// Looks missing parents up again when paths were added since.
    #[inline]
    pub fn refresh(&mut self, tags: &TagTable, key: &mut Vec<u8>) {
        if self.paths_known != tags.len() {
            self.refresh_parents(tags, key);
        }
    }

    #[cold]
    fn refresh_parents(&mut self, tags: &TagTable, key: &mut Vec<u8>) {
        for i in 0..self.buf.len() {
            let m = self.buf.marker(i);
            if self.paths[i].1.is_none() && self.buf.tag_count(&m) > 0 {
                let parent_len = self.buf.path_key(&m, key);
                self.paths[i].1 = tags.get_key(&key[..parent_len]);
            }
        }
        self.paths_known = tags.len();
    }
}

/// Decoded writes by their bytes.
#[derive(Debug, Default)]
pub(super) struct MarkerCache {
    /// By the hash of the write's bytes; the bytes are kept and compared on a hit (a
    /// write whose hash is taken by other bytes is simply not cached).
    entries: FxHashMap<u64, (Box<[u8]>, Decoded)>,
    seen: FxHashSet<u64>,
}

/// `a == b`, for short byte strings (8-byte words instead of a `memcmp` call).
#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let word = |s: &[u8]| u64::from_ne_bytes(s.try_into().expect("8-byte chunk"));
    let (mut ca, mut cb) = (a.chunks_exact(8), b.chunks_exact(8));
    for (x, y) in (&mut ca).zip(&mut cb) {
        if word(x) != word(y) {
            return false;
        }
    }
    let (ra, rb) = (ca.remainder(), cb.remainder());
    ra.iter().zip(rb).all(|(x, y)| x == y)
}

impl MarkerCache {
    /// The decoded form of a write seen before, if cached.
    #[inline]
    pub fn get_mut(&mut self, data: &[u8]) -> Option<&mut Decoded> {
        if data.len() > MAX_CACHED_WRITE || self.entries.is_empty() {
            return None;
        }
        let (bytes, d) = self.entries.get_mut(&FxBuildHasher.hash_one(data))?;
        same_bytes(bytes, data).then_some(d)
    }

    /// Offers a write that decoded alone into `decoded`: kept when it was seen before.
    pub fn offer(&mut self, data: &[u8], decoded: &Decoded) {
        if data.len() > MAX_CACHED_WRITE {
            return;
        }
        let h = FxBuildHasher.hash_one(data);
        if self.seen.insert(h) {
            if self.seen.len() > MAX_SEEN {
                self.seen.clear();
            }
            return;
        }
        if self.entries.len() >= MAX_ENTRIES {
            self.entries.clear();
        }
        self.entries
            .entry(h)
            .or_insert_with(|| (data.into(), decoded.clone()));
    }
}

#[cfg(test)]
mod tests {
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
        d.resolve(&mut tags, &mut key);
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
}
