//! Storage of the fd tables: [`FdStore`] maps `(table id, fd)` to an [`FdInfo`] without
//! hashing on the hot path. Table ids are small and sequential ([`FdTables::new_table`]),
//! so a table is found by indexing; small fds (the usual case) index a dense vector
//! inside their table, larger ones go to a per-table hash map.
//!
//! [`FdTables::new_table`]: crate::fds::FdTables::new_table

use rustc_hash::FxHashMap;

use super::FdInfo;

/// Fds below this are kept in a table's dense vector.
const DENSE_FDS: u64 = 1024;

/// One fd table.
#[derive(Debug, Default, Clone)]
struct Table {
    dense: Vec<Option<FdInfo>>,
    sparse: FxHashMap<i64, FdInfo>,
}

impl Table {
    #[inline]
    fn get(&self, fd: i64) -> Option<&FdInfo> {
        if (fd as u64) < DENSE_FDS {
            self.dense.get(fd as usize)?.as_ref()
        } else {
            self.sparse.get(&fd)
        }
    }

    #[inline]
    fn get_mut(&mut self, fd: i64) -> Option<&mut FdInfo> {
        if (fd as u64) < DENSE_FDS {
            self.dense.get_mut(fd as usize)?.as_mut()
        } else {
            self.sparse.get_mut(&fd)
        }
    }

    /// Inserts; returns the entry it replaced.
    #[inline]
    fn insert(&mut self, fd: i64, info: FdInfo) -> Option<FdInfo> {
        if (fd as u64) < DENSE_FDS {
            let i = fd as usize;
            if self.dense.len() <= i {
                self.dense.resize_with(i + 1, || None);
            }
            self.dense[i].replace(info)
        } else {
            self.sparse.insert(fd, info)
        }
    }

    #[inline]
    fn remove(&mut self, fd: i64) -> Option<FdInfo> {
        if (fd as u64) < DENSE_FDS {
            self.dense.get_mut(fd as usize)?.take()
        } else {
            self.sparse.remove(&fd)
        }
    }

    fn len(&self) -> usize {
        self.dense.iter().flatten().count() + self.sparse.len()
    }

    /// Every `(fd, info)`.
    fn iter(&self) -> impl Iterator<Item = (i64, &FdInfo)> {
        self.dense
            .iter()
            .enumerate()
            .filter_map(|(fd, i)| Some((fd as i64, i.as_ref()?)))
            .chain(self.sparse.iter().map(|(&fd, i)| (fd, i)))
    }
}

/// Every fd of every table.
#[derive(Debug, Default)]
pub(super) struct FdStore {
    /// Tables by id (`None`: never used or dropped). Ids up to `near` only; other ids
    /// (never handed out by `new_table`) live in `far`.
    near: Vec<Option<Box<Table>>>,
    far: FxHashMap<u64, Table>,
    /// Highest id kept in `near`.
    near_max: u64,
    /// Number of fds.
    live: usize,
}

impl FdStore {
    /// Ids up to `max` (the highest id handed out) are kept by index from now on.
    pub fn set_near_max(&mut self, max: u64) {
        self.near_max = self.near_max.max(max);
        if !self.far.is_empty() {
            // Tables used before their id was handed out move to `near`.
            let near_max = self.near_max;
            let moved: Vec<u64> = self
                .far
                .keys()
                .copied()
                .filter(|&t| t <= near_max)
                .collect();
            for id in moved {
                if let Some(t) = self.far.remove(&id) {
                    *self.table_or_new(id) = t;
                }
            }
        }
    }

    #[inline]
    fn table(&self, table: u64) -> Option<&Table> {
        match self.near.get(table as usize) {
            Some(t) => t.as_deref(),
            None if table > self.near_max => self.far.get(&table),
            None => None,
        }
    }

    #[inline]
    fn table_mut(&mut self, table: u64) -> Option<&mut Table> {
        match self.near.get_mut(table as usize) {
            Some(t) => t.as_deref_mut(),
            None if table > self.near_max => self.far.get_mut(&table),
            None => None,
        }
    }

    /// The table, created when missing.
    #[inline]
    fn table_or_new(&mut self, table: u64) -> &mut Table {
        // Existing near tables (the usual case) without the creation path.
        if table <= self.near_max {
            if let Some(Some(_)) = self.near.get(table as usize) {
                return self.near[table as usize].as_deref_mut().expect("present");
            }
        }
        self.new_table_slot(table)
    }

    /// [`FdStore::table_or_new`] of a table not in `near` yet (or a far one).
    #[inline(never)]
    fn new_table_slot(&mut self, table: u64) -> &mut Table {
        if table > self.near_max {
            return self.far.entry(table).or_default();
        }
        let i = table as usize;
        if self.near.len() <= i {
            self.near.resize_with(i + 1, || None);
        }
        self.near[i].get_or_insert_with(Default::default)
    }

    /// Looks an fd up.
    #[inline]
    pub fn get(&self, table: u64, fd: i64) -> Option<&FdInfo> {
        self.table(table)?.get(fd)
    }

    /// Looks an fd up for modification.
    #[inline]
    pub fn get_mut(&mut self, table: u64, fd: i64) -> Option<&mut FdInfo> {
        self.table_mut(table)?.get_mut(fd)
    }

    /// Inserts (or replaces) an fd; returns the entry it replaced.
    #[inline]
    pub fn insert(&mut self, table: u64, fd: i64, info: FdInfo) -> Option<FdInfo> {
        let old = self.table_or_new(table).insert(fd, info);
        if old.is_none() {
            self.live += 1;
        }
        old
    }

    /// Inserts an fd unless the table has it.
    pub fn insert_missing(&mut self, table: u64, fd: i64, info: FdInfo) {
        if self.get(table, fd).is_none() {
            self.insert(table, fd, info);
        }
    }

    /// Removes an fd.
    #[inline]
    pub fn remove(&mut self, table: u64, fd: i64) -> Option<FdInfo> {
        let old = self.table_mut(table)?.remove(fd);
        if old.is_some() {
            self.live -= 1;
        }
        old
    }

    /// Copies of every `(fd, info)` of a table.
    pub fn entries(&self, table: u64) -> Vec<(i64, FdInfo)> {
        match self.table(table) {
            Some(t) => t.iter().map(|(fd, i)| (fd, i.clone())).collect(),
            None => Vec::new(),
        }
    }

    /// Drops a table with its fds.
    pub fn drop_table(&mut self, table: u64) {
        let n = match self.near.get_mut(table as usize) {
            Some(t) => t.take().map_or(0, |t| t.len()),
            None => self.far.remove(&table).map_or(0, |t| t.len()),
        };
        self.live -= n;
    }

    /// Keeps the fds of a table for which `keep` is true.
    pub fn retain(&mut self, table: u64, mut keep: impl FnMut(&FdInfo) -> bool) {
        let Some(t) = self.table_mut(table) else {
            return;
        };
        let before = t.len();
        for e in t.dense.iter_mut() {
            if e.as_ref().is_some_and(|i| !keep(i)) {
                *e = None;
            }
        }
        t.sparse.retain(|_, i| keep(i));
        let after = t.len();
        self.live -= before - after;
    }

    /// Number of fds over all tables.
    pub fn len(&self) -> usize {
        self.live
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::FdTarget;
    use crate::fds::FdTables;

    #[test]
    fn dense_sparse_near_and_far() {
        let mut names = FdTables::default();
        let mut info = |p: &str| names.make_info(FdTarget::File(p.into()), false);
        let (a, b) = (info("/a"), info("/b"));
        let mut s = FdStore::default();
        s.set_near_max(2);
        s.insert(1, 3, a.clone());
        s.insert(1, 5000, b.clone());
        s.insert(1, -1, b.clone());
        s.insert(77, 3, b.clone());
        assert_eq!(s.len(), 4);
        assert_eq!(s.get(1, 3), Some(&a));
        assert_eq!(s.get(1, 5000), Some(&b));
        assert_eq!(s.get(1, -1), Some(&b));
        assert_eq!(s.get(77, 3), Some(&b));
        s.set_near_max(80);
        assert_eq!((s.get(77, 3), s.len()), (Some(&b), 4));
        assert_eq!((s.get(2, 3), s.get(1, 4), s.get(9, 3)), (None, None, None));
        s.insert_missing(1, 3, b.clone());
        assert_eq!(s.get(1, 3), Some(&a));
        let mut e = s.entries(1);
        e.sort_by_key(|x| x.0);
        assert_eq!(e.iter().map(|x| x.0).collect::<Vec<_>>(), vec![-1, 3, 5000]);
        s.retain(1, |i| i == &a);
        assert_eq!((s.len(), s.get(1, 5000)), (2, None));
        assert_eq!(s.remove(1, 3), Some(a));
        s.drop_table(77);
        assert_eq!((s.len(), s.get(77, 3)), (0, None));
    }
}
