//! The open-record store ([`SpanStore`]): slots reused in place, enter order, exit
//! matching by `(id, tag path)`, per-thread stacks for attribution, eviction (C4).

use rustc_hash::FxHashMap;

use super::keys::{remove_slot, KeyIndex};
use super::OpenRecord;

/// The open-record store.
#[derive(Debug)]
pub struct SpanStore {
    /// Records by slot; free slots (in `free`) keep their old record, whose buffers an
    /// [`SpanStore::open_with`] reuses.
    slots: Vec<OpenRecord>,
    free: Vec<u32>,
    /// Per tag path below [`PARK_PATHS`]: a free slot kept for the next record of that
    /// path ([`GONE`]: none), outside `free`. Its tags and arguments then mostly match
    /// already: no reference count traffic, no argument buffers moved.
    parked: Vec<u32>,
    /// Number of slots in `parked` (at most [`MAX_PARKED`]).
    parked_count: usize,
    /// `(seq, slot)` in enter order; removed records leave a tombstone ([`GONE`]) that
    /// is compacted away in batches (seqs only grow, so this stays sorted).
    order: Vec<(u64, u32)>,
    /// Number of live entries of `order`.
    live: usize,
    /// Per slot: the position in `order` of its record's entry, while open (exits find
    /// their entry without a search).
    order_pos: Vec<u32>,
    /// Exit matching: open slots by `(id, tag path)`.
    keys: KeyIndex,
    /// Index into `stacks` of each thread with open records (or an empty stack kept
    /// until the next prune).
    by_thread: FxHashMap<i64, u32>,
    /// Per thread: slots of its open records, innermost last.
    stacks: Vec<Vec<u32>>,
    /// Unused entries of `stacks`.
    free_stacks: Vec<u32>,
    /// `(tid, stack index or GONE)` of the thread looked up last: consecutive events
    /// mostly come from one thread, which then needs no hash lookup.
    last_thread: (i64, u32),
    /// `(tid, stack index)` of recently looked-up threads, direct-mapped by tid
    /// ([`thread_memo_index`]): a thread coming back finds its stack without hashing.
    thread_memo: [(i64, u32); THREAD_MEMO],
    /// The innermost open slot of the `last_thread` thread ([`GONE`]: none), kept in
    /// step with its stack: the innermost record of the current thread is found
    /// without reading the stack.
    last_top: u32,
    /// A thread got a stack since the last [`SpanStore::open_with`] (the index maps
    /// grew: time to check whether they need a prune).
    new_thread: bool,
    capacity: usize,
    next_seq: u64,
}

/// Slot value of a removed entry of `SpanStore::order`.
const GONE: u32 = u32::MAX;

/// Entries of `SpanStore::thread_memo` (a power of two).
const THREAD_MEMO: usize = 16;

/// The `SpanStore::thread_memo` entry of `tid`: its low bits (the threads of a
/// program mostly have consecutive ids).
#[inline]
fn thread_memo_index(tid: i64) -> usize {
    tid as usize & (THREAD_MEMO - 1)
}

/// Tag paths below this may park a free slot (paths are interned ids, dense from 0).
const PARK_PATHS: u32 = 1 << 16;

/// Most slots parked at once (free slots beyond the open records' are bounded by it).
const MAX_PARKED: usize = 64;

/// `v.remove(pos)`, cheaper for the last element (the usual case: innermost first).
#[inline]
fn remove_at(v: &mut Vec<u32>, pos: usize) -> u32 {
    if pos + 1 == v.len() {
        v.pop().expect("not empty")
    } else {
        v.remove(pos)
    }
}

impl SpanStore {
    /// A store holding at most `capacity` open records (at least 1).
    pub fn new(capacity: usize) -> Self {
        SpanStore {
            slots: Vec::new(),
            free: Vec::new(),
            parked: Vec::new(),
            parked_count: 0,
            order: Vec::new(),
            live: 0,
            order_pos: Vec::new(),
            keys: KeyIndex::default(),
            by_thread: FxHashMap::default(),
            stacks: Vec::new(),
            free_stacks: Vec::new(),
            last_thread: (i64::MIN, GONE),
            thread_memo: [(i64::MIN, GONE); THREAD_MEMO],
            last_top: GONE,
            new_thread: false,
            capacity: capacity.max(1),
            next_seq: 0,
        }
    }

    /// The capacity.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Number of open records.
    pub fn len(&self) -> usize {
        self.live
    }

    /// True when no span is open.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Position of `seq` in `order` (live or tombstone).
    fn position(&self, seq: u64) -> Option<usize> {
        // Spans mostly close in reverse order of their enters (behind a few tombstones of
        // spans closed just before): try the end first.
        let n = self.order.len();
        for i in (n.saturating_sub(8)..n).rev() {
            let e = self.order[i].0;
            if e == seq {
                return Some(i);
            }
            if e < seq {
                return None;
            }
        }
        self.order.binary_search_by_key(&seq, |e| e.0).ok()
    }

    /// The slot of a live record by span number.
    fn slot_of(&self, seq: u64) -> Option<u32> {
        let slot = self.order[self.position(seq)?].1;
        (slot != GONE).then_some(slot)
    }

    /// Live `(seq, slot)` entries, oldest first.
    fn live_order(&self) -> impl DoubleEndedIterator<Item = (u64, u32)> + '_ {
        self.order.iter().copied().filter(|e| e.1 != GONE)
    }

    /// The sequence number the next [`SpanStore::open`] will use.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Records a new enter; `rec.seq` is assigned here. Returns the evicted oldest
    /// record when the store was full.
    pub fn open(&mut self, rec: OpenRecord) -> (u64, Option<OpenRecord>) {
        let evicted = self.evict_if_full();
        let path = rec.path;
        let (seq, _) = self.open_with(path, move |r| *r = rec);
        (seq, evicted)
    }

    /// Removes and returns the oldest record when the store is full (C4): call before
    /// [`SpanStore::open_with`].
    #[inline]
    pub(crate) fn evict_if_full(&mut self) -> Option<OpenRecord> {
        if self.live >= self.capacity {
            self.evict_oldest()
        } else {
            None
        }
    }

    #[cold]
    fn evict_oldest(&mut self) -> Option<OpenRecord> {
        let (oldest, _) = self.live_order().next()?;
        self.remove_seq(oldest)
    }

    /// Records a new enter built in place: `init` fills the record of a free slot
    /// (which still holds an old record, whose buffers it may reuse; it must set every
    /// field), then its `seq` is assigned. `path` is the new record's tag path: the
    /// slot parked for it is taken first. Returns `(seq, slot)`. The store must have
    /// room ([`SpanStore::evict_if_full`]); it grows past its capacity otherwise.
    #[inline]
    pub(crate) fn open_with(
        &mut self,
        path: u32,
        init: impl FnOnce(&mut OpenRecord),
    ) -> (u64, u32) {
        let slot = match self.parked.get_mut(path as usize) {
            Some(p) if *p != GONE => {
                self.parked_count -= 1;
                std::mem::replace(p, GONE)
            }
            _ => match self.free.pop() {
                Some(s) => s,
                None => {
                    self.slots.push(OpenRecord::default());
                    (self.slots.len() - 1) as u32
                }
            },
        };
        let rec = &mut self.slots[slot as usize];
        init(rec);
        rec.seq = self.next_seq;
        self.next_seq += 1;
        let (seq, key, tid) = (rec.seq, (rec.id, rec.path), rec.writer_tid);
        if self.order_pos.len() <= slot as usize {
            self.order_pos.resize(slot as usize + 1, 0);
        }
        self.order_pos[slot as usize] = self.order.len() as u32;
        self.order.push((seq, slot));
        self.live += 1;
        let new_key = self.keys.add(key, slot);
        let stack = self.stack_of(tid, true);
        self.stacks[stack as usize].push(slot);
        // `stack_of` made `tid` the remembered thread.
        self.last_top = slot;
        // The index maps grow only here: they are pruned, when sparse, as they grow.
        if new_key || self.new_thread {
            self.new_thread = false;
            self.prune_if_sparse();
        }
        (seq, slot)
    }

    /// Unlinks a record from every index: it is no longer open (invisible to lookups
    /// and iteration) but stays in its slot until [`SpanStore::release`] or
    /// [`SpanStore::take_detached`].
    fn detach(&mut self, slot: u32) -> Option<()> {
        self.detach_with(slot, true)
    }

    /// [`SpanStore::detach`]; `unkey` false when the caller already removed the slot
    /// from its key's list.
    fn detach_with(&mut self, slot: u32, unkey: bool) -> Option<()> {
        let rec = self.slots.get(slot as usize)?;
        let (seq, tid) = (rec.seq, rec.writer_tid);
        self.unorder(slot, seq)?;
        // Emptied index vectors stay in their maps (the same keys come back soon); the
        // maps are pruned when they grow to many more keys than open records
        // (`open_with`).
        if unkey {
            self.keys.remove(slot);
        }
        let stack = self.stack_of(tid, false);
        if let Some(v) = self.stacks.get_mut(stack as usize) {
            remove_slot(v, slot);
            self.last_top = v.last().copied().unwrap_or(GONE);
        }
        Some(())
    }

    /// Leaves a tombstone for the record of `slot` (span number `seq`) in the enter
    /// order and counts it gone; `None` when it is not live there.
    #[inline]
    fn unorder(&mut self, slot: u32, seq: u64) -> Option<()> {
        let known = self.order_pos.get(slot as usize).map(|&p| p as usize);
        let pos = match known {
            Some(p) if self.order.get(p) == Some(&(seq, slot)) => p,
            _ => self.position(seq)?,
        };
        if self.order[pos].1 != slot {
            return None;
        }
        self.live -= 1;
        if pos + 1 == self.order.len() {
            // The newest entry (spans mostly close innermost first): dropped, with the
            // tombstones before it, instead of left behind.
            self.order.pop();
            while self.order.last().is_some_and(|e| e.1 == GONE) {
                self.order.pop();
            }
            return Some(());
        }
        self.order[pos].1 = GONE;
        if self.order.len() > 2 * self.live + 32 {
            self.compact_order();
        }
        Some(())
    }

    /// Drops the tombstones of `order` (the live entries move: their positions are
    /// noted again).
    #[cold]
    fn compact_order(&mut self) {
        self.order.retain(|e| e.1 != GONE);
        for (i, &(_, slot)) in self.order.iter().enumerate() {
            self.order_pos[slot as usize] = i as u32;
        }
    }

    /// Prunes the index maps when they hold many more keys than open records.
    #[inline]
    fn prune_if_sparse(&mut self) {
        if self.keys.keys() + self.by_thread.len() > 4 * self.live + 256 {
            self.prune();
        }
    }

    /// Drops the keys and threads without open records (their lists are reused).
    fn prune(&mut self) {
        self.keys.prune();
        let (stacks, free) = (&self.stacks, &mut self.free_stacks);
        self.by_thread.retain(|_, &mut i| {
            let keep = !stacks[i as usize].is_empty();
            if !keep {
                free.push(i);
            }
            keep
        });
        self.last_thread = (i64::MIN, GONE);
        self.thread_memo = [(i64::MIN, GONE); THREAD_MEMO];
        self.last_top = GONE;
    }

    /// The index of `tid`'s stack (created when `create`; GONE when there is none),
    /// remembered for the next lookup.
    #[inline]
    fn stack_of(&mut self, tid: i64, create: bool) -> u32 {
        if self.last_thread.0 == tid && (self.last_thread.1 != GONE || !create) {
            return self.last_thread.1;
        }
        let memo = self.thread_memo[thread_memo_index(tid)];
        let idx = if memo.0 == tid && memo.1 != GONE {
            memo.1
        } else {
            self.stack_by_hash(tid, create)
        };
        self.last_thread = (tid, idx);
        self.last_top = match self.stacks.get(idx as usize) {
            Some(v) => v.last().copied().unwrap_or(GONE),
            None => GONE,
        };
        idx
    }

    /// [`SpanStore::stack_of`] of a thread not in `thread_memo` (noted there when it
    /// has a stack); leaves `last_thread` alone.
    #[inline(never)]
    fn stack_by_hash(&mut self, tid: i64, create: bool) -> u32 {
        let m = thread_memo_index(tid);
        match self.by_thread.get(&tid) {
            Some(&i) => {
                self.thread_memo[m] = (tid, i);
                i
            }
            None if create => {
                let i = match self.free_stacks.pop() {
                    Some(i) => i,
                    None => {
                        self.stacks.push(Vec::new());
                        (self.stacks.len() - 1) as u32
                    }
                };
                self.by_thread.insert(tid, i);
                self.thread_memo[m] = (tid, i);
                self.new_thread = true;
                i
            }
            None => GONE,
        }
    }

    /// The stack of `tid`, without remembering it.
    #[inline]
    fn stack(&self, tid: i64) -> Option<&Vec<u32>> {
        let idx = if self.last_thread.0 == tid {
            self.last_thread.1
        } else {
            *self.by_thread.get(&tid)?
        };
        self.stacks.get(idx as usize)
    }

    fn take_slot(&mut self, slot: u32) -> Option<OpenRecord> {
        self.detach(slot)?;
        self.take_detached(slot)
    }

    /// Moves a detached record out of its slot and frees the slot.
    pub(crate) fn take_detached(&mut self, slot: u32) -> Option<OpenRecord> {
        let rec = std::mem::take(self.slots.get_mut(slot as usize)?);
        self.free.push(slot);
        Some(rec)
    }

    /// Frees the slot of a detached record; the record stays there until a later
    /// [`SpanStore::open_with`] reuses it.
    #[inline]
    pub(crate) fn release(&mut self, slot: u32) {
        let path = self.slots[slot as usize].path;
        if self.parked_count < MAX_PARKED && path < PARK_PATHS {
            if self.parked.len() <= path as usize {
                self.parked.resize(path as usize + 1, GONE);
            }
            let p = &mut self.parked[path as usize];
            if *p == GONE {
                *p = slot;
                self.parked_count += 1;
                return;
            }
        }
        self.free.push(slot);
    }

    /// The record in a slot (open or detached).
    #[inline]
    pub(crate) fn slot(&self, slot: u32) -> &OpenRecord {
        &self.slots[slot as usize]
    }

    /// Removes a record by span number.
    pub fn remove_seq(&mut self, seq: u64) -> Option<OpenRecord> {
        let slot = self.slot_of(seq)?;
        self.take_slot(slot)
    }

    /// Matches an exit (§5 with C5): the most recent open record with equal id and tag
    /// path written by `exit_tid`, else the most recent one of any thread. The record is
    /// removed and returned.
    pub fn close(&mut self, exit_tid: i64, id: i64, path: u32) -> Option<OpenRecord> {
        let slot = self.close_detached(exit_tid, id, path)?;
        self.take_detached(slot)
    }

    /// [`SpanStore::close`] leaving the record in place: returns its slot, detached
    /// (see [`SpanStore::slot`], [`SpanStore::release`]).
    #[inline]
    pub(crate) fn close_detached(&mut self, exit_tid: i64, id: i64, path: u32) -> Option<u32> {
        // The innermost record of the exit's thread, when it has the key, is the most
        // recent one of that thread with the key: its list is known without hashing.
        let stack = self.stack_of(exit_tid, false) as usize;
        // `stack_of` made the exit's thread the remembered one: `last_top` is the top
        // of its stack.
        let top = self.last_top;
        if top != GONE {
            let r = &self.slots[top as usize];
            if r.id == id && r.path == path {
                self.unorder(top, r.seq)?;
                self.keys.remove(top);
                let v = &mut self.stacks[stack];
                v.pop();
                self.last_top = v.last().copied().unwrap_or(GONE);
                return Some(top);
            }
        }
        let v = self.keys.slots_mut((id, path))?;
        let slots = &self.slots;
        let same = v
            .iter()
            .rposition(|&s| slots[s as usize].writer_tid == exit_tid);
        let pos = same.or_else(|| v.len().checked_sub(1))?;
        let slot = remove_at(v, pos);
        self.detach_with(slot, false)?;
        Some(slot)
    }

    /// The most recent open record with this id and tag path (parent lookup, C6).
    #[inline]
    pub fn most_recent(&self, id: i64, path: u32) -> Option<&OpenRecord> {
        let slot = self.keys.newest((id, path))?;
        Some(&self.slots[slot as usize])
    }

    /// [`SpanStore::most_recent`], trying the innermost open record of thread `tid`
    /// first (the parent of a new span mostly is that): when it has the key and is the
    /// newest record with it, no hashing is needed.
    #[inline]
    pub(crate) fn most_recent_near(&self, id: i64, path: u32, tid: i64) -> Option<&OpenRecord> {
        if let Some(top) = self.innermost_slot(tid) {
            let r = &self.slots[top as usize];
            if r.id == id && r.path == path && self.keys.is_newest(top) {
                return Some(r);
            }
        }
        self.most_recent(id, path)
    }

    /// The slot of the innermost open record of thread `tid`.
    #[inline]
    fn innermost_slot(&self, tid: i64) -> Option<u32> {
        if self.last_thread.0 == tid {
            return (self.last_top != GONE).then_some(self.last_top);
        }
        self.stack(tid)?.last().copied()
    }

    /// The innermost (most recently entered) open span written by thread `tid`.
    #[inline]
    pub fn innermost(&self, tid: i64) -> Option<&OpenRecord> {
        let slot = self.innermost_slot(tid)?;
        Some(&self.slots[slot as usize])
    }

    /// Mutable [`SpanStore::innermost`] (and remembers `tid` as the current thread).
    #[inline]
    pub fn innermost_mut(&mut self, tid: i64) -> Option<&mut OpenRecord> {
        self.stack_of(tid, false);
        let slot = self.last_top;
        if slot == GONE {
            return None;
        }
        Some(&mut self.slots[slot as usize])
    }

    /// Open records written by thread `tid`, innermost first.
    pub fn of_thread(&self, tid: i64) -> impl Iterator<Item = &OpenRecord> + '_ {
        self.stack(tid)
            .into_iter()
            .flat_map(|v| v.iter().rev())
            .map(|&s| &self.slots[s as usize])
    }

    /// A record by span number.
    pub fn get(&self, seq: u64) -> Option<&OpenRecord> {
        let slot = self.slot_of(seq)?;
        Some(&self.slots[slot as usize])
    }

    /// Mutable record by span number.
    pub fn get_mut(&mut self, seq: u64) -> Option<&mut OpenRecord> {
        let slot = self.slot_of(seq)?;
        Some(&mut self.slots[slot as usize])
    }

    /// [`SpanStore::get_mut`], trying the innermost open record of thread `tid` first
    /// (the parent of a span that just closed mostly is that).
    #[inline]
    pub(crate) fn get_mut_near(&mut self, seq: u64, tid: i64) -> Option<&mut OpenRecord> {
        if let Some(s) = self.innermost_slot(tid) {
            // Stacks hold open records only, and span numbers are unique.
            if self.slots[s as usize].seq == seq {
                return Some(&mut self.slots[s as usize]);
            }
        }
        self.get_mut(seq)
    }

    /// All open records, most recently entered first (sysdig's list order).
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &OpenRecord> + '_ {
        self.live_order()
            .rev()
            .map(|(_, s)| &self.slots[s as usize])
    }

    /// Marks the open spans written by `tid` (every open span when `tid` is `None`) as
    /// incomplete.
    pub fn mark_incomplete(&mut self, tid: Option<i64>) {
        // Free slots are marked too: harmless, `open_with` sets every field.
        for r in self.slots.iter_mut() {
            if tid.is_none_or(|t| r.writer_tid == t) {
                r.incomplete = true;
            }
        }
    }

    /// Removes and returns every open record, oldest first.
    pub fn drain(&mut self) -> Vec<OpenRecord> {
        let seqs: Vec<u64> = self.live_order().map(|e| e.0).collect();
        seqs.into_iter()
            .filter_map(|s| self.remove_seq(s))
            .collect()
    }
}

#[cfg(test)]
mod tests;
