//! A small interner: distinct keys (fd names, tag paths, tags) get dense `u32` ids so the
//! per-event hot path hashes integers, and memory grows with distinct keys only.

use std::borrow::Borrow;
use std::hash::Hash;

use rustc_hash::FxHashMap;

/// Maps distinct values to dense ids `0..len()` and back.
#[derive(Debug, Clone)]
pub struct Interner<T: Eq + Hash + Clone> {
    ids: FxHashMap<T, u32>,
    values: Vec<T>,
}

impl<T: Eq + Hash + Clone> Default for Interner<T> {
    fn default() -> Self {
        Interner {
            ids: FxHashMap::default(),
            values: Vec::new(),
        }
    }
}

impl<T: Eq + Hash + Clone> Interner<T> {
    /// The id of `value`, inserting it when new.
    pub fn intern<Q>(&mut self, value: &Q) -> u32
    where
        T: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = T> + ?Sized,
    {
        if let Some(&id) = self.ids.get(value) {
            return id;
        }
        let id = self.values.len() as u32;
        let owned = value.to_owned();
        self.values.push(owned.clone());
        self.ids.insert(owned, id);
        id
    }

    /// The id of `value` if it was interned before.
    pub fn get<Q>(&self, value: &Q) -> Option<u32>
    where
        T: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.ids.get(value).copied()
    }

    /// The value of an id (panics on an id not produced by this interner).
    pub fn resolve(&self, id: u32) -> &T {
        &self.values[id as usize]
    }

    /// Number of distinct values.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when nothing was interned.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interns_and_resolves() {
        let mut i: Interner<String> = Interner::default();
        let a = i.intern("a");
        let b = i.intern("b");
        assert_eq!(i.intern("a"), a);
        assert_ne!(a, b);
        assert_eq!(i.resolve(b), "b");
        assert_eq!(i.get("c"), None);
        let mut t: Interner<Vec<Vec<u8>>> = Interner::default();
        let p = t.intern(&[b"x".to_vec()][..]);
        assert_eq!(t.get(&[b"x".to_vec()][..]), Some(p));
    }
}
