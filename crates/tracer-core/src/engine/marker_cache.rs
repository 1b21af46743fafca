//! A cache of decoded marker writes: applications write the same few marker strings
//! over and over (`>:t:request.db::`), so a write whose exact bytes were decoded before
//! reuses the decoded markers and their interned tag paths instead of parsing and
//! interning again.
//!
//! Only writes that a thread decodes **alone** (no pending fragment) go through the
//! cache: their result depends on their bytes only. A write is cached the second time
//! it is seen (unique writes, such as markers carrying a request id, never fill the
//! cache; once-seen writes are remembered in a fixed direct-mapped table, so another
//! write may make one forgotten); short writes only, and each level is a direct-mapped
//! table of a fixed number of entries (a new entry replaces the one in its slot), so
//! memory stays bounded.

use std::hash::BuildHasher;

use rustc_hash::FxBuildHasher;

use crate::grammar::{guess_head_len, parse_head, parse_with_head, MarkerBuf};
use crate::tagstats::TagTable;

/// Longest write the cache keeps, bytes.
pub(super) const MAX_CACHED_WRITE: usize = 256;
/// Slots of the table of once-seen writes (a power of two): a write is remembered
/// in the slot its hash picks, until another write takes the slot.
const SEEN_SLOTS: usize = 4096;

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
    /// `memo` remembers the last path resolved (unique writes, such as markers carrying
    /// a request id, mostly repeat the tags of the previous one).
    pub fn resolve(&mut self, tags: &mut TagTable, key: &mut Vec<u8>, memo: &mut PathMemo) {
        self.paths.clear();
        for i in 0..self.buf.len() {
            let m = self.buf.marker(i);
            let parent_len = self.buf.path_key(&m, key);
            let resolved = match memo.get(key, tags.len()) {
                Some(r) => r,
                None => {
                    let buf = &self.buf;
                    let path = tags.intern_key(key, || buf.tags(&m).map(<[u8]>::to_vec).collect());
                    let parent = match buf.tag_count(&m) {
                        0 => None,
                        _ => tags.get_key(&key[..parent_len]),
                    };
                    memo.set(key, (path, parent), tags.len());
                    (path, parent)
                }
            };
            self.paths.push(resolved);
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

/// The last tag path resolved by [`Decoded::resolve`]: its key, its id and its
/// parent's id, valid while the tag table holds as many paths as when it was found (a
/// missing parent may appear later; ids never change).
#[derive(Debug, Default)]
pub(super) struct PathMemo {
    key: Vec<u8>,
    resolved: Option<(u32, Option<u32>)>,
    known: usize,
}

impl PathMemo {
    #[inline]
    fn get(&self, key: &[u8], known: usize) -> Option<(u32, Option<u32>)> {
        match self.resolved {
            Some(r) if self.known == known && same_bytes(&self.key, key) => Some(r),
            _ => None,
        }
    }

    fn set(&mut self, key: &[u8], resolved: (u32, Option<u32>), known: usize) {
        self.key.clear();
        self.key.extend_from_slice(key);
        self.resolved = Some(resolved);
        self.known = known;
    }
}

/// Decoded writes by their bytes, and decoded marker heads by theirs.
#[derive(Debug, Default)]
pub(super) struct MarkerCache {
    /// By the hash of the write's bytes; the bytes are kept and compared on a hit (a
    /// write whose slot is taken by other bytes replaces them).
    entries: Level,
    /// Hashes of writes seen once, direct-mapped by hash (allocated on first use): a
    /// unique write costs one load and one store here.
    seen: Vec<u64>,
    /// The second level: text-marker heads (`DIR:ID:TAGS:`) by the hash of their bytes,
    /// with their decoded form (one marker without arguments) and its paths. Writes
    /// that differ from one seen before only in their arguments (`>:t:request:n=17:`)
    /// scan their arguments only. Kept like `entries`: on second sight, bounded.
    heads: Level,
    /// Hashes of heads seen once (like `seen`).
    heads_seen: Vec<u64>,
    /// Index in `heads.items` of the head that decoded a write last: a write starting
    /// with its bytes has that head (it ends at its third `:`, where
    /// [`guess_head_len`] stops), so the guess, the hash and the lookup are skipped.
    /// Checked against the entry's bytes (a replaced entry just misses).
    last_head: Option<u32>,
    /// The markers of the write decoded by its head last (reused; see
    /// [`MarkerCache::decode_by_head_scratch`]).
    pub scratch: Decoded,
    /// `(index in heads.items, heads.replaced)` when `scratch` was begun with that head
    /// by the last head decode into it (which succeeded): its tags are kept then.
    scratch_head: Option<(u32, u64)>,
}

/// One level of the cache: decoded byte strings in a direct-mapped table (the slot a
/// hash picks holds one entry; a new entry replaces the old one there), so a lookup is
/// one load and a compare, and at most [`SLOTS`] entries are kept.
#[derive(Debug, Default)]
struct Level {
    /// Per slot: `(hash, index into items)` of its entry ([`EMPTY`] index: none).
    /// Allocated on first insert.
    slots: Vec<(u64, u32)>,
    /// The entries: the bytes and their decoded form.
    items: Vec<(Box<[u8]>, Decoded)>,
    /// Number of entries replaced by others so far.
    replaced: u64,
}

/// Slots of a [`Level`] (a power of two).
const SLOTS: usize = 4096;

/// Index of an empty [`Level`] slot.
const EMPTY: u32 = u32::MAX;

/// The slot of hash `h` in a direct-mapped table of `n` slots (a power of two): its
/// top bits (the hash's best-mixed ones).
#[inline]
fn slot_of(h: u64, n: usize) -> usize {
    (h >> (64 - n.trailing_zeros())) as usize
}

impl Level {
    /// The index of the entry of `bytes` (hash `h`), if kept.
    #[inline]
    fn find(&self, bytes: &[u8], h: u64) -> Option<usize> {
        let &(sh, i) = self.slots.get(slot_of(h, SLOTS))?;
        if sh != h || i == EMPTY {
            return None;
        }
        let i = i as usize;
        same_bytes(&self.items[i].0, bytes).then_some(i)
    }

    /// The entry of `bytes` (hash `h`), if kept.
    #[inline]
    fn get_mut(&mut self, bytes: &[u8], h: u64) -> Option<&mut Decoded> {
        let i = self.find(bytes, h)?;
        Some(&mut self.items[i].1)
    }

    /// Whether the slot of `h` holds an entry with this hash.
    #[inline]
    fn has_hash(&self, h: u64) -> bool {
        matches!(self.slots.get(slot_of(h, SLOTS)), Some(&(sh, i)) if sh == h && i != EMPTY)
    }

    /// Keeps `bytes` (hash `h`) decoded as `make()` in the slot of `h`, unless that slot
    /// already holds an entry with this hash.
    fn insert_with(&mut self, bytes: &[u8], h: u64, make: impl FnOnce() -> Decoded) {
        if self.slots.is_empty() {
            self.slots = vec![(0, EMPTY); SLOTS];
        }
        let slot = &mut self.slots[slot_of(h, SLOTS)];
        if slot.1 == EMPTY {
            slot.1 = self.items.len() as u32;
            self.items.push((bytes.into(), make()));
        } else if slot.0 == h {
            return;
        } else {
            self.items[slot.1 as usize] = (bytes.into(), make());
            self.replaced += 1;
        }
        slot.0 = h;
    }
}

/// The cache's hash of a write (computed once per write: lookup, then offer).
#[inline]
pub(super) fn hash_of(data: &[u8]) -> u64 {
    FxBuildHasher.hash_one(data)
}

/// `a == b`, for short byte strings (8-byte words, the last one overlapping the one
/// before, instead of a `memcmp` call).
#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n < 8 {
        return a == b;
    }
    let word = |s: &[u8], i: usize| u64::from_ne_bytes(s[i..i + 8].try_into().expect("8 bytes"));
    let mut i = 0;
    while i + 8 < n {
        if word(a, i) != word(b, i) {
            return false;
        }
        i += 8;
    }
    word(a, n - 8) == word(b, n - 8)
}

/// Whether hash `h` was seen last time its slot of the direct-mapped table `seen` was
/// asked about (allocated on first use); remembers `h` in the slot otherwise.
#[inline]
fn seen_before(seen: &mut Vec<u64>, h: u64) -> bool {
    if seen.is_empty() {
        *seen = vec![0; SEEN_SLOTS];
    }
    let slot = &mut seen[slot_of(h, SEEN_SLOTS)];
    if *slot == h {
        return true;
    }
    *slot = h;
    false
}

impl MarkerCache {
    /// The decoded form of a write seen before, if cached.
    #[inline]
    #[cfg(test)]
    pub fn get_mut(&mut self, data: &[u8]) -> Option<&mut Decoded> {
        self.get_mut_hashed(data, hash_of(data))
    }

    /// [`MarkerCache::get_mut`] with the write's [`hash_of`] already computed.
    #[inline]
    pub fn get_mut_hashed(&mut self, data: &[u8], h: u64) -> Option<&mut Decoded> {
        if data.len() > MAX_CACHED_WRITE {
            return None;
        }
        self.entries.get_mut(data, h)
    }

    /// Decodes a write through the second level: when the head of its text marker was
    /// cached and the write holds that one marker only, `out` gets the write's markers
    /// and paths exactly as a full decode and [`Decoded::resolve`] would give them
    /// (missing parents looked up again through `tags`; `key` is scratch space).
    /// Returns false (and `out` unspecified) otherwise.
    #[inline]
    #[cfg(test)]
    pub fn decode_by_head(
        &mut self,
        data: &[u8],
        tags: &TagTable,
        key: &mut Vec<u8>,
        out: &mut Decoded,
    ) -> bool {
        let mut begun = None;
        decode_by_head(
            &mut self.heads,
            &mut self.last_head,
            data,
            tags,
            key,
            out,
            &mut begun,
        )
    }

    /// [`MarkerCache::decode_by_head`] into [`MarkerCache::scratch`] (the decoded
    /// markers stay in the cache: nothing is moved out and back).
    #[inline]
    pub fn decode_by_head_scratch(
        &mut self,
        data: &[u8],
        tags: &TagTable,
        key: &mut Vec<u8>,
    ) -> bool {
        let MarkerCache {
            heads,
            last_head,
            scratch,
            scratch_head,
            ..
        } = self;
        decode_by_head(heads, last_head, data, tags, key, scratch, scratch_head)
    }

    /// [`MarkerCache::offer_hashed`] of [`MarkerCache::scratch`].
    #[inline]
    pub fn offer_scratch(&mut self, data: &[u8], h: u64) {
        let MarkerCache {
            entries,
            seen,
            scratch,
            ..
        } = self;
        offer_hashed(entries, seen, data, h, scratch);
    }

    /// Offers the head of a write that decoded alone into `decoded` (its first marker
    /// and paths) to the second level: kept when a write with the same head was seen
    /// before.
    pub fn offer_head(&mut self, data: &[u8], decoded: &Decoded) {
        if data.len() > MAX_CACHED_WRITE || decoded.paths.is_empty() {
            return;
        }
        let Some(k) = guess_head_len(data) else {
            return;
        };
        let h = hash_of(&data[..k]);
        if !seen_before(&mut self.heads_seen, h) || self.heads.has_hash(h) {
            return;
        }
        // The guess is kept only when the parser agrees: then every write starting
        // with these bytes has this head.
        let Some((buf, p)) = parse_head(data) else {
            return;
        };
        if p != k {
            return;
        }
        // `paths_known` holds for the first marker's parent only when it was the
        // write's only marker (later markers may have added paths after its parent was
        // looked up): otherwise 0, so the first use looks a missing parent up again.
        let head = Decoded {
            buf,
            paths: vec![decoded.paths[0]],
            paths_known: match decoded.buf.len() {
                1 => decoded.paths_known,
                _ => 0,
            },
        };
        self.heads.insert_with(&data[..k], h, || head);
    }

    /// Offers a write that decoded alone into `decoded`: kept when it was seen before.
    #[cfg(test)]
    pub fn offer(&mut self, data: &[u8], decoded: &Decoded) {
        self.offer_hashed(data, hash_of(data), decoded)
    }

    /// [`MarkerCache::offer`] with the write's [`hash_of`] already computed.
    pub fn offer_hashed(&mut self, data: &[u8], h: u64, decoded: &Decoded) {
        offer_hashed(&mut self.entries, &mut self.seen, data, h, decoded);
    }
}

/// [`MarkerCache::decode_by_head`] on the cache's fields; `begun` tells (and is set to)
/// which head `out` was begun with by the last decode (see `MarkerCache::scratch_head`).
#[inline]
fn decode_by_head(
    heads: &mut Level,
    last_head: &mut Option<u32>,
    data: &[u8],
    tags: &TagTable,
    key: &mut Vec<u8>,
    out: &mut Decoded,
    begun: &mut Option<(u32, u64)>,
) -> bool {
    if heads.slots.is_empty() || data.len() > MAX_CACHED_WRITE {
        return false;
    }
    let remembered = last_head.and_then(|i| {
        let (bytes, _) = heads.items.get(i as usize)?;
        let k = bytes.len();
        (data.len() >= k && same_bytes(&data[..k], bytes)).then_some((i as usize, k))
    });
    let (i, k) = match remembered {
        Some(hit) => hit,
        None => {
            let Some(k) = guess_head_len(data) else {
                return false;
            };
            let head = &data[..k];
            let Some(i) = heads.find(head, hash_of(head)) else {
                return false;
            };
            *last_head = Some(i as u32);
            (i, k)
        }
    };
    let this = Some((i as u32, heads.replaced));
    let reuse = *begun == this;
    let d = &mut heads.items[i].1;
    d.refresh(tags, key);
    if !parse_with_head(data, &d.buf, k, &mut out.buf, reuse) {
        *begun = None;
        return false;
    }
    *begun = this;
    out.paths.clear();
    out.paths.push(d.paths[0]);
    out.paths_known = d.paths_known;
    true
}

/// [`MarkerCache::offer_hashed`] on the cache's fields.
#[inline(never)]
fn offer_hashed(entries: &mut Level, seen: &mut Vec<u64>, data: &[u8], h: u64, decoded: &Decoded) {
    if data.len() > MAX_CACHED_WRITE {
        return;
    }
    if !seen_before(seen, h) {
        return;
    }
    entries.insert_with(data, h, || decoded.clone());
}

#[cfg(test)]
mod tests;
