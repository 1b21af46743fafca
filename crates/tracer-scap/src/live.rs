//! The live thread and fd tables of a capture (reader and writer): tid → pid, and
//! per process which fds are open and what they are (needed for pids and for the
//! payload-retention rule). Memory is proportional to the number of live threads and
//! open fds, never to the file size.

use std::cell::Cell;

use rustc_hash::FxHashMap;
use tracer_core::event::{L4Proto, Syscall, SyscallDetail, SyscallKind};

use crate::sockaddr::{AF_INET, AF_INET6};

/// What the reader knows about an open fd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FdKind {
    /// A file named exactly `/dev/null` (a marker candidate, as in sysdig).
    DevNull,
    /// Any other file-like fd.
    File,
    /// A socket of this protocol.
    Sock(L4Proto),
    /// Anything else.
    Other,
}

/// Fds below this are kept in a vector indexed by fd (no hashing).
const SMALL_FDS: i64 = 1024;

/// One process's open fds.
#[derive(Debug, Clone, Default)]
struct FdTable {
    small: Vec<Option<FdKind>>,
    big: FxHashMap<i64, FdKind>,
}

impl FdTable {
    #[inline(always)]
    fn get(&self, fd: i64) -> Option<FdKind> {
        if (0..SMALL_FDS).contains(&fd) {
            self.small.get(fd as usize).copied().flatten()
        } else {
            self.big.get(&fd).copied()
        }
    }
    fn set(&mut self, fd: i64, k: FdKind) {
        if (0..SMALL_FDS).contains(&fd) {
            let i = fd as usize;
            if self.small.len() <= i {
                self.small.resize(i + 1, None);
            }
            self.small[i] = Some(k);
        } else {
            self.big.insert(fd, k);
        }
    }
    fn remove(&mut self, fd: i64) {
        if (0..SMALL_FDS).contains(&fd) {
            if let Some(s) = self.small.get_mut(fd as usize) {
                *s = None;
            }
        } else {
            self.big.remove(&fd);
        }
    }
    fn clear(&mut self) {
        self.small.clear();
        self.big.clear();
    }
}

/// No cached entry.
const NO_PID: i64 = i64::MIN;
/// Entries of [`Live`]'s cache of recent thread lookups (a power of two).
const RECENT: usize = 16;

/// The entry of `tid` in [`Live`]'s cache of recent thread lookups.
#[inline(always)]
fn recent_index(tid: i64) -> usize {
    ((tid as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - RECENT.trailing_zeros())) as usize
}

/// Live thread and fd tables, updated from the metadata blocks and the events.
#[derive(Debug)]
pub(crate) struct Live {
    /// tid → pid.
    pids: FxHashMap<i64, i64>,
    /// pid → index of its fd table in `tables`.
    slots: FxHashMap<i64, u32>,
    /// Fd tables of processes (a slab; freed slots are listed in `free`).
    tables: Vec<FdTable>,
    free: Vec<u32>,
    /// Last (tid, pid) answered by `pid_of` (consecutive events share threads).
    last: Cell<(i64, i64)>,
    /// Recent (tid, pid) lookups of `pids`, by a hash of the tid (a few threads take
    /// turns in most captures); emptied with `last` whenever `pids` changes.
    recent: [Cell<(i64, i64)>; RECENT],
    /// Last (pid, slot) looked up (consecutive events share processes).
    last_slot: Cell<(i64, u32)>,
    /// Recent (pid, slot) lookups of `slots`, by a hash of the pid; emptied with
    /// `last_slot` when a table is removed.
    recent_slots: [Cell<(i64, u32)>; RECENT],
}

impl Default for Live {
    fn default() -> Self {
        Live {
            pids: FxHashMap::default(),
            slots: FxHashMap::default(),
            tables: Vec::new(),
            free: Vec::new(),
            last: Cell::new((NO_PID, 0)),
            recent: std::array::from_fn(|_| Cell::new((NO_PID, 0))),
            last_slot: Cell::new((NO_PID, 0)),
            recent_slots: std::array::from_fn(|_| Cell::new((NO_PID, 0))),
        }
    }
}

impl Live {
    pub(crate) fn clear(&mut self) {
        self.pids.clear();
        self.slots.clear();
        self.tables.clear();
        self.free.clear();
        self.forget_threads();
        self.forget_slots();
    }
    /// Empties the caches of fd table lookups (a table was removed).
    fn forget_slots(&self) {
        self.last_slot.set((NO_PID, 0));
        for e in &self.recent_slots {
            e.set((NO_PID, 0));
        }
    }
    /// Empties the caches of thread lookups (`pids` changed).
    fn forget_threads(&self) {
        self.last.set((NO_PID, 0));
        for e in &self.recent {
            e.set((NO_PID, 0));
        }
    }
    #[inline]
    pub(crate) fn pid_of(&self, tid: i64) -> i64 {
        let (t, p) = self.last.get();
        if t == tid {
            return p;
        }
        // (`NO_PID` marks empty entries: that tid is never cached.)
        let (t, p) = self.recent[recent_index(tid)].get();
        if t == tid && tid != NO_PID {
            self.last.set((tid, p));
            return p;
        }
        self.pid_of_slow(tid)
    }
    /// [`Live::pid_of`] when `tid` is in neither cache.
    #[inline(never)]
    fn pid_of_slow(&self, tid: i64) -> i64 {
        let e = &self.recent[recent_index(tid)];
        let p = self.pids.get(&tid).copied().unwrap_or(tid);
        self.last.set((tid, p));
        if tid != NO_PID {
            e.set((tid, p));
        }
        p
    }
    pub(crate) fn set_thread(&mut self, tid: i64, pid: i64) {
        self.pids.insert(tid, pid);
        self.forget_threads();
    }
    /// The slot of `pid`'s fd table, if it has one.
    #[inline(always)]
    fn slot(&self, pid: i64) -> Option<usize> {
        let (p, s) = self.last_slot.get();
        if p == pid && pid != NO_PID {
            return Some(s as usize);
        }
        self.slot_slow(pid)
    }
    /// [`Live::slot`] when `pid` is not the last process asked about.
    #[inline(never)]
    fn slot_slow(&self, pid: i64) -> Option<usize> {
        // (`NO_PID` marks empty entries: that pid is never cached.)
        let e = &self.recent_slots[recent_index(pid)];
        let (p, s) = e.get();
        if p == pid && pid != NO_PID {
            self.last_slot.set((pid, s));
            return Some(s as usize);
        }
        let s = *self.slots.get(&pid)?;
        self.last_slot.set((pid, s));
        if pid != NO_PID {
            e.set((pid, s));
        }
        Some(s as usize)
    }
    /// `pid`'s fd table, created empty when missing.
    fn table_mut(&mut self, pid: i64) -> &mut FdTable {
        let s = match self.slot(pid) {
            Some(s) => s,
            None => {
                let s = match self.free.pop() {
                    Some(s) => s,
                    None => {
                        self.tables.push(FdTable::default());
                        (self.tables.len() - 1) as u32
                    }
                };
                self.slots.insert(pid, s);
                s as usize
            }
        };
        &mut self.tables[s]
    }
    /// Drops `pid`'s fd table.
    fn remove_table(&mut self, pid: i64) {
        if let Some(s) = self.slots.remove(&pid) {
            self.tables[s as usize].clear();
            self.free.push(s);
            self.forget_slots();
        }
    }
    pub(crate) fn set_fd(&mut self, pid: i64, fd: i64, k: FdKind) {
        self.table_mut(pid).set(fd, k);
    }
    #[inline(always)]
    pub(crate) fn fd(&self, pid: i64, fd: i64) -> Option<FdKind> {
        self.tables[self.slot(pid)?].get(fd)
    }
    /// Applies a syscall's effects on the fd and thread tables (shared by the reader
    /// and the writer, so both make the same payload decisions).
    pub(crate) fn apply(&mut self, sc: &Syscall, pid: i64) {
        use SyscallKind::*;
        let res = sc.res;
        // Failed syscalls change nothing.
        if res < 0 {
            return;
        }
        match sc.kind {
            Open | Openat | Openat2 | Creat => {
                if let SyscallDetail::Open { path, .. } = &sc.detail {
                    self.set_fd(pid, res, file_kind(path));
                }
            }
            Socket => {
                let k = match &sc.detail {
                    SyscallDetail::Socket {
                        domain, sock_type, ..
                    } => sock_kind(*sock_type as i64, *domain as i64),
                    _ => FdKind::Other,
                };
                self.set_fd(pid, res, k);
            }
            Accept | Accept4 => {
                let k = match &sc.detail {
                    SyscallDetail::Sock {
                        unix_path: Some(_), ..
                    } => FdKind::Other,
                    _ => FdKind::Sock(L4Proto::Tcp),
                };
                self.set_fd(pid, res, k);
            }
            Pipe => {
                if let SyscallDetail::Pipe { read_fd, write_fd } = sc.detail {
                    self.set_fd(pid, read_fd, FdKind::Other);
                    self.set_fd(pid, write_fd, FdKind::Other);
                }
            }
            Dup | Dup2 | Dup3 | FcntlDup => {
                let k = self.fd(pid, sc.fd).unwrap_or(FdKind::Other);
                self.set_fd(pid, res, k);
            }
            Close if sc.fd >= 0 => self.close_fd(pid, sc.fd),
            Clone | Clone3 | Fork | Vfork if res > 0 => {
                if let SyscallDetail::Clone { child_pid, .. } = sc.detail {
                    self.set_thread(res, child_pid);
                    if child_pid != pid {
                        self.fork_fds(pid, child_pid);
                    }
                }
            }
            _ => {}
        }
    }

    /// [`Live::apply`] of a `Close` syscall.
    #[inline(always)]
    pub(crate) fn apply_close(&mut self, sc: &Syscall, pid: i64) {
        if sc.res >= 0 && sc.fd >= 0 {
            self.close_fd(pid, sc.fd);
        }
    }

    fn close_fd(&mut self, pid: i64, fd: i64) {
        if let Some(s) = self.slot(pid) {
            self.tables[s].remove(fd);
        }
    }
    /// A new process inherits a copy of its parent's fd table.
    fn fork_fds(&mut self, parent: i64, child: i64) {
        if let Some(s) = self.slot(parent) {
            let t = self.tables[s].clone();
            *self.table_mut(child) = t;
        }
    }
    pub(crate) fn exit_thread(&mut self, tid: i64) {
        let pid = self.pid_of(tid);
        self.pids.remove(&tid);
        self.forget_threads();
        if pid == tid {
            self.remove_table(pid);
        }
    }
}

/// The file kind of a path.
pub(crate) fn file_kind(path: &str) -> FdKind {
    if path == "/dev/null" {
        FdKind::DevNull
    } else {
        FdKind::File
    }
}

fn sock_kind(sock_type: i64, domain: i64) -> FdKind {
    match (domain as u8, sock_type & 0xf) {
        (AF_INET | AF_INET6, 1) => FdKind::Sock(L4Proto::Tcp),
        (AF_INET | AF_INET6, 2) => FdKind::Sock(L4Proto::Udp),
        (AF_INET | AF_INET6, _) => FdKind::Sock(L4Proto::Other),
        _ => FdKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fd_tables_per_process() {
        let mut l = Live::default();
        l.set_fd(1, 3, FdKind::DevNull);
        l.set_fd(1, 5000, FdKind::File);
        l.set_fd(2, 3, FdKind::Other);
        assert_eq!(l.fd(1, 3), Some(FdKind::DevNull));
        assert_eq!(l.fd(1, 5000), Some(FdKind::File));
        assert_eq!(l.fd(2, 3), Some(FdKind::Other));
        assert_eq!(l.fd(1, 4), None);
        assert_eq!(l.fd(3, 3), None);
        l.fork_fds(1, 7);
        l.close_fd(1, 3);
        assert_eq!(l.fd(1, 3), None);
        assert_eq!(l.fd(7, 3), Some(FdKind::DevNull), "the child has a copy");
        l.exit_thread(7);
        assert_eq!(l.fd(7, 3), None);
        l.set_fd(8, 1, FdKind::File);
        assert_eq!(
            l.fd(8, 1),
            Some(FdKind::File),
            "a freed slot is reused clean"
        );
        assert_eq!(l.fd(8, 3), None);
        assert_eq!(l.fd(1, 5000), Some(FdKind::File));
    }

    #[test]
    fn cached_lookups_follow_every_change() {
        let mut l = Live::default();
        // More threads and processes than the caches hold, looked up in turns.
        let n = 5 * RECENT as i64;
        for t in 1..=n {
            l.set_thread(t, (t + 3) / 4 * 4);
            l.set_fd(t, 3, FdKind::File);
        }
        for _ in 0..3 {
            for t in (1..=n).rev().chain(1..=n) {
                assert_eq!(l.pid_of(t), (t + 3) / 4 * 4);
                assert_eq!(l.fd(t, 3), Some(FdKind::File));
            }
        }
        l.exit_thread(5);
        assert_eq!(l.pid_of(5), 5, "an unknown thread is its own process");
        l.set_thread(5, 8);
        assert_eq!(l.pid_of(5), 8);
        // Thread 8 leads process 8: its exit drops the process's fd table, and the
        // freed slot is reused clean by the next new table.
        assert_eq!(l.fd(8, 3), Some(FdKind::File));
        l.exit_thread(8);
        assert_eq!(l.fd(8, 3), None);
        l.set_fd(n + 1, 4, FdKind::DevNull);
        assert_eq!(l.fd(n + 1, 3), None);
        assert_eq!(l.fd(n + 1, 4), Some(FdKind::DevNull));
        assert_eq!(l.fd(8, 4), None);
        assert_eq!(l.fd(7, 3), Some(FdKind::File));
    }
}
