//! The exit-matching index of the open-record store: the open slots of each
//! `(id, tag path)` key, oldest first, with a way back from a slot to its key's list
//! so that removing a record, or checking the innermost one, needs no hashing.

use rustc_hash::FxHashMap;

/// Marks an unused list (in `KeyIndex::list_key`) or a slot without one.
const NONE: u32 = u32::MAX;

/// Tag paths below this get a `KeyIndex::path_memo` entry (paths are interned ids,
/// dense from 0).
const MEMO_PATHS: u32 = 1 << 16;

/// Largest capacity an unused list keeps (larger ones are freed).
const KEEP_LIST_CAPACITY: usize = 16;

/// Open slots by `(id, tag path)`.
#[derive(Debug, Default)]
pub(super) struct KeyIndex {
    /// Index into `lists` of each key with open records (or an empty list kept until
    /// the next prune).
    by_key: FxHashMap<(i64, u32), u32>,
    /// Per key: slots of its open records, oldest first.
    lists: Vec<Vec<u32>>,
    /// Per entry of `lists`: its key (tag path [`NONE`] while unused).
    list_key: Vec<(i64, u32)>,
    /// Unused entries of `lists`.
    free: Vec<u32>,
    /// Per tag path below [`MEMO_PATHS`]: `(id, index into lists)` of its key used
    /// last, valid while `list_key` still names that key (saves the hash lookup of an
    /// enter whose path comes back with the same id).
    path_memo: Vec<(i64, u32)>,
    /// Per slot: the index into `lists` of its record's key (valid while it is open).
    slot_list: Vec<u32>,
}

/// Removes `slot` from an index list (mostly its last element).
#[inline]
pub(super) fn remove_slot(v: &mut Vec<u32>, slot: u32) {
    if v.last() == Some(&slot) {
        v.pop();
    } else if let Some(pos) = v.iter().rposition(|&s| s == slot) {
        v.remove(pos);
    }
}

impl KeyIndex {
    /// Number of keys held (with or without open records).
    #[inline]
    pub fn keys(&self) -> usize {
        self.by_key.len()
    }

    /// Adds an open record's slot under its key (as the newest); true when the key
    /// was new (the map grew).
    #[inline]
    pub fn add(&mut self, key: (i64, u32), slot: u32) -> bool {
        let (list, new) = self.list_of(key);
        self.lists[list as usize].push(slot);
        if self.slot_list.len() <= slot as usize {
            self.slot_list.resize(slot as usize + 1, NONE);
        }
        self.slot_list[slot as usize] = list;
        new
    }

    /// The index into `lists` of `key`'s list (created when new), and whether the key
    /// was new.
    #[inline]
    fn list_of(&mut self, key: (i64, u32)) -> (u32, bool) {
        let (id, path) = key;
        if let Some(&(memo_id, list)) = self.path_memo.get(path as usize) {
            if memo_id == id && self.list_key.get(list as usize) == Some(&key) {
                return (list, false);
            }
        }
        let (lists, list_key, free) = (&mut self.lists, &mut self.list_key, &mut self.free);
        let mut new = false;
        let list = *self.by_key.entry(key).or_insert_with(|| {
            new = true;
            let i = match free.pop() {
                Some(i) => i,
                None => {
                    lists.push(Vec::new());
                    list_key.push(key);
                    (lists.len() - 1) as u32
                }
            };
            list_key[i as usize] = key;
            i
        });
        if path < MEMO_PATHS {
            if self.path_memo.len() <= path as usize {
                self.path_memo.resize(path as usize + 1, (0, NONE));
            }
            self.path_memo[path as usize] = (id, list);
        }
        (list, new)
    }

    /// Removes an open record's slot from its key's list.
    #[inline]
    pub fn remove(&mut self, slot: u32) {
        let list = self.slot_list.get(slot as usize).copied().unwrap_or(NONE);
        if let Some(v) = self.lists.get_mut(list as usize) {
            remove_slot(v, slot);
        }
    }

    /// True when the open record in `slot` is the newest one of its key.
    #[inline]
    pub fn is_newest(&self, slot: u32) -> bool {
        let list = self.slot_list.get(slot as usize).copied().unwrap_or(NONE);
        self.lists.get(list as usize).and_then(|v| v.last()) == Some(&slot)
    }

    /// The slots of `key`'s open records, oldest first (looked up by hashing).
    #[inline]
    pub fn slots_mut(&mut self, key: (i64, u32)) -> Option<&mut Vec<u32>> {
        let list = *self.by_key.get(&key)?;
        self.lists.get_mut(list as usize)
    }

    /// The newest open slot of `key` (looked up by hashing).
    #[inline]
    pub fn newest(&self, key: (i64, u32)) -> Option<u32> {
        let list = *self.by_key.get(&key)?;
        self.lists.get(list as usize)?.last().copied()
    }

    /// Drops the keys without open records (their lists are reused).
    pub fn prune(&mut self) {
        let (lists, list_key, free) = (&mut self.lists, &mut self.list_key, &mut self.free);
        self.by_key.retain(|_, &mut i| {
            let v = &mut lists[i as usize];
            let keep = !v.is_empty();
            if !keep {
                if v.capacity() > KEEP_LIST_CAPACITY {
                    *v = Vec::new();
                }
                list_key[i as usize] = (0, NONE);
                free.push(i);
            }
            keep
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_come_back_by_memo_and_after_prunes() {
        let mut k = KeyIndex::default();
        k.add((1, 2), 0);
        k.add((1, 2), 1);
        k.add((3, 2), 2);
        assert!(k.is_newest(1) && !k.is_newest(0) && k.is_newest(2));
        assert_eq!(k.newest((1, 2)), Some(1));
        k.remove(1);
        assert_eq!(k.newest((1, 2)), Some(0));
        k.remove(0);
        k.remove(2);
        assert_eq!(k.newest((1, 2)), None);
        k.prune();
        assert_eq!(k.keys(), 0);
        // The freed lists are reused for other keys; the memo of path 2 is stale.
        k.add((5, 7), 3);
        k.add((1, 2), 4);
        assert_eq!((k.newest((5, 7)), k.newest((1, 2))), (Some(3), Some(4)));
        assert_eq!(k.newest((3, 2)), None);
        assert_eq!(k.slots_mut((1, 2)).map(|v| v.len()), Some(1));
        // Paths past the memo range work through the map alone.
        k.add((1, u32::MAX - 1), 5);
        assert!(k.is_newest(5));
        assert_eq!(k.newest((1, u32::MAX - 1)), Some(5));
    }
}
