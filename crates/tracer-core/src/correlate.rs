//! Syscall-to-span correlation: per-span accumulation of syscalls, errors, time in
//! syscalls and I/O bytes (split by fd kind, per file path, per network peer), and the
//! `evtin` scopes that decide which open spans an event is "in" (tracers-spec §6.2/§6.3,
//! with the project's fix C8 for the process scope).

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::fds::{FdKind, FdTables};
use crate::spans::OpenRecord;
use crate::threads::{ThreadState, ThreadTable};

/// Which open spans count as enclosing an event (sysdig `evtin.span[.p|.s|.m].*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Scope {
    /// `evtin.span.*`: spans whose enter was written by the event's thread.
    Thread,
    /// `evtin.span.p.*` (project C8): spans whose enter was written by any thread of the
    /// event's process.
    Process,
    /// `evtin.span.s.*`: spans written by a still-live thread whose process id equals the
    /// event thread's ptid (events of child processes; never the span's own thread).
    Children,
    /// `evtin.span.m.*`: every open span on the machine.
    Machine,
}

impl Scope {
    /// True when `rec` is a candidate for an event of thread `ev` under this scope.
    /// `threads` is needed by [`Scope::Children`] (the writer must still exist).
    #[inline]
    pub fn admits(self, rec: &OpenRecord, ev: &ThreadState, threads: &ThreadTable) -> bool {
        match self {
            Scope::Thread => rec.writer_tid == ev.tid,
            Scope::Process => rec.writer_pid == ev.pid,
            Scope::Children => {
                rec.writer_tid != ev.tid
                    && rec.writer_pid == ev.ptid
                    && threads.get(rec.writer_tid).is_some()
            }
            Scope::Machine => true,
        }
    }

    /// The field-name prefix of this scope (`evtin.span.`, `evtin.span.p.`…).
    pub fn field_prefix(self) -> &'static str {
        match self {
            Scope::Thread => "evtin.span.",
            Scope::Process => "evtin.span.p.",
            Scope::Children => "evtin.span.s.",
            Scope::Machine => "evtin.span.m.",
        }
    }
}

/// Bytes in and out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InOut {
    /// Bytes read/received.
    pub bytes_in: u64,
    /// Bytes written/sent.
    pub bytes_out: u64,
}

impl InOut {
    /// In + out.
    pub fn total(&self) -> u64 {
        self.bytes_in + self.bytes_out
    }

    /// Adds `o`'s bytes in and out.
    #[inline]
    pub(crate) fn add(&mut self, o: InOut) {
        self.bytes_in += o.bytes_in;
        self.bytes_out += o.bytes_out;
    }
}

/// Running per-span (or per-tag-path) accumulator; keys are interned fd-name ids.
#[derive(Debug, Clone, Default)]
pub struct IoAcc {
    /// Syscalls attributed (marker writes excluded).
    pub syscalls: u64,
    /// Of which failed.
    pub errors: u64,
    /// Time spent inside those syscalls (exit − enter), ns.
    pub syscall_ns: u64,
    /// Bytes by [`FdKind`] index.
    pub by_kind: [InOut; 6],
    /// Bytes per file path (interned name id).
    pub files: NameBytes,
    /// Bytes per network peer (interned address id).
    pub peers: NameBytes,
}

/// Entries a [`NameBytes`] keeps inline before it spills into a hash map.
const INLINE_NAMES: usize = 3;

/// Bytes per interned name (file path or peer). A span touches few names, so the first
/// few live inline (no allocation, a short scan); more spill into a hash map (the
/// per-tag-path totals).
#[derive(Clone, Default)]
pub struct NameBytes {
    inline: [(u32, InOut); INLINE_NAMES],
    len: u8,
    map: FxHashMap<u32, InOut>,
}

/// The live entries only, by name id: inline entries past `len` are stale leftovers
/// of an earlier use, and the map's order depends on its history.
impl std::fmt::Debug for NameBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut entries: Vec<(u32, InOut)> = self.iter().collect();
        entries.sort_unstable_by_key(|e| e.0);
        f.debug_map().entries(entries).finish()
    }
}

impl NameBytes {
    /// Adds bytes to a name.
    #[inline]
    pub fn add(&mut self, key: u32, io: InOut) {
        if self.map.is_empty() {
            let n = self.len as usize;
            if let Some(e) = self.inline[..n].iter_mut().find(|e| e.0 == key) {
                e.1.add(io);
                return;
            }
            if n < INLINE_NAMES {
                self.inline[n] = (key, io);
                self.len += 1;
                return;
            }
        }
        self.add_to_map(key, io);
    }

    /// [`NameBytes::add`] past the inline entries (they move into the map first).
    #[inline(never)]
    fn add_to_map(&mut self, key: u32, io: InOut) {
        if self.map.is_empty() {
            let n = self.len as usize;
            self.map.extend(self.inline[..n].iter().copied());
            self.len = 0;
        }
        self.map.entry(key).or_default().add(io);
    }

    /// Forgets every name (keeps the memory).
    #[inline]
    pub fn clear(&mut self) {
        self.len = 0;
        if !self.map.is_empty() {
            self.map.clear();
        }
    }

    /// Adds every name of `o` into this one.
    #[inline(always)]
    pub fn merge(&mut self, o: &NameBytes) {
        for &(k, v) in &o.inline[..o.len as usize] {
            self.add(k, v);
        }
        if !o.map.is_empty() {
            for (&k, &v) in &o.map {
                self.add(k, v);
            }
        }
    }

    /// Every `(name id, bytes)`, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, InOut)> + '_ {
        self.inline[..self.len as usize]
            .iter()
            .copied()
            .chain(self.map.iter().map(|(k, v)| (*k, *v)))
    }

    /// The bytes of one name.
    pub fn get(&self, key: u32) -> Option<InOut> {
        self.inline[..self.len as usize]
            .iter()
            .find(|e| e.0 == key)
            .map(|e| e.1)
            .or_else(|| self.map.get(&key).copied())
    }

    /// Number of names.
    pub fn len(&self) -> usize {
        self.len as usize + self.map.len()
    }

    /// True when no bytes were added.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl IoAcc {
    /// Counts one syscall.
    #[inline]
    pub fn syscall(&mut self, latency_ns: u64, failed: bool) {
        self.syscalls += 1;
        self.errors += failed as u64;
        self.syscall_ns += latency_ns;
    }

    /// Adds bytes moved through an fd.
    #[inline(always)]
    pub fn bytes(&mut self, kind: FdKind, file: Option<u32>, peer: Option<u32>, io: InOut) {
        self.by_kind[kind.index()].add(io);
        if let Some(f) = file {
            self.files.add(f, io);
        }
        if let Some(p) = peer {
            self.peers.add(p, io);
        }
    }

    /// Resets to empty (keeps the memory of the name maps).
    #[inline]
    pub fn clear(&mut self) {
        self.syscalls = 0;
        self.errors = 0;
        self.syscall_ns = 0;
        self.by_kind = [InOut::default(); 6];
        self.files.clear();
        self.peers.clear();
    }

    /// Adds another accumulator into this one.
    #[inline]
    pub fn merge(&mut self, o: &IoAcc) {
        self.syscalls += o.syscalls;
        self.errors += o.errors;
        self.syscall_ns += o.syscall_ns;
        // A fixed-count loop over the arrays (unrolled, no iterator state).
        for i in 0..self.by_kind.len() {
            self.by_kind[i].add(o.by_kind[i]);
        }
        if !o.files.is_empty() {
            self.files.merge(&o.files);
        }
        if !o.peers.is_empty() {
            self.peers.merge(&o.peers);
        }
    }

    /// Total bytes in and out over all kinds.
    #[inline]
    pub fn totals(&self) -> InOut {
        let mut t = InOut::default();
        for i in 0..self.by_kind.len() {
            t.add(self.by_kind[i]);
        }
        t
    }

    /// Resolves interned names into a serializable summary.
    pub fn summary(&self, fds: &FdTables) -> IoSummary {
        let mut by_kind = BTreeMap::new();
        for k in FdKind::ALL {
            let v = self.by_kind[k.index()];
            if v.total() > 0 {
                by_kind.insert(k, v);
            }
        }
        let resolve = |m: &NameBytes| -> BTreeMap<String, InOut> {
            let mut out: BTreeMap<String, InOut> = BTreeMap::new();
            for (k, v) in m.iter() {
                out.entry(fds.name(k).to_string()).or_default().add(v);
            }
            out
        };
        IoSummary {
            syscalls: self.syscalls,
            errors: self.errors,
            syscall_ns: self.syscall_ns,
            total: self.totals(),
            by_kind,
            files: resolve(&self.files),
            peers: resolve(&self.peers),
        }
    }
}

/// Serializable I/O summary of a span or tag path.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IoSummary {
    /// Syscalls attributed (marker writes excluded).
    pub syscalls: u64,
    /// Of which failed.
    pub errors: u64,
    /// Time inside those syscalls, ns.
    pub syscall_ns: u64,
    /// All bytes.
    pub total: InOut,
    /// Bytes per fd kind (kinds with no bytes omitted).
    pub by_kind: BTreeMap<FdKind, InOut>,
    /// Bytes per file path.
    pub files: BTreeMap<String, InOut>,
    /// Bytes per network peer address.
    pub peers: BTreeMap<String, InOut>,
}

impl IoSummary {
    /// Adds another summary into this one.
    pub fn merge(&mut self, o: &IoSummary) {
        self.syscalls += o.syscalls;
        self.errors += o.errors;
        self.syscall_ns += o.syscall_ns;
        self.total.add(o.total);
        for (k, v) in &o.by_kind {
            self.by_kind.entry(*k).or_default().add(*v);
        }
        for (k, v) in &o.files {
            self.files.entry(k.clone()).or_default().add(*v);
        }
        for (k, v) in &o.peers {
            self.peers.entry(k.clone()).or_default().add(*v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io(n: u64) -> InOut {
        InOut {
            bytes_in: n,
            bytes_out: 0,
        }
    }

    #[test]
    fn name_bytes_debug_shows_live_entries_by_id() {
        let mut m = NameBytes::default();
        m.add(5, io(1));
        m.add(2, io(2));
        let shown = format!("{m:?}");
        m.clear();
        m.add(5, io(1));
        m.add(2, io(2));
        assert_eq!(format!("{m:?}"), shown);
        m.clear();
        m.add(9, io(3));
        assert_eq!(format!("{m:?}"), "{9: InOut { bytes_in: 3, bytes_out: 0 }}");
        let mut spilled = NameBytes::default();
        for k in (0..6u32).rev() {
            spilled.add(k, io(1));
        }
        let keys: Vec<String> = (0..6).map(|k| format!("{k}: ")).collect();
        let text = format!("{spilled:?}");
        let pos: Vec<usize> = keys
            .iter()
            .map(|k| text.find(k.as_str()).unwrap())
            .collect();
        assert!(pos.windows(2).all(|w| w[0] < w[1]), "{text}");
    }

    #[test]
    fn name_bytes_spill_into_a_map_and_keep_sums() {
        let mut m = NameBytes::default();
        for round in 1..=3u64 {
            for k in 0..10u32 {
                m.add(k, io(round * u64::from(k)));
            }
        }
        assert_eq!(m.len(), 10);
        assert_eq!(m.get(7), Some(io(42)));
        assert_eq!(m.iter().map(|(_, v)| v.bytes_in).sum::<u64>(), 6 * 45);
        let mut small = NameBytes::default();
        small.add(1, io(1));
        small.add(1, io(2));
        small.add(2, io(5));
        assert_eq!(
            (small.len(), small.get(1), small.get(9)),
            (2, Some(io(3)), None)
        );
        let mut acc = IoAcc::default();
        let other = IoAcc {
            files: m,
            peers: small,
            ..IoAcc::default()
        };
        acc.merge(&other);
        acc.merge(&other);
        assert_eq!(acc.files.get(9), Some(io(2 * 54)));
        assert_eq!(acc.peers.get(2), Some(io(10)));
    }
}
