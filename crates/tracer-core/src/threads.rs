//! The thread/process table: identity (tid, pid, ptid, comm, exe, args, cwd) of every
//! thread seen in the stream, and which fd table it uses.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::event::ThreadInfo;
use crate::fds::FdTables;

/// `CLONE_FILES`: share the fd table.
pub const CLONE_FILES: u64 = 0x0000_0400;
/// `CLONE_THREAD`: same thread group (process).
pub const CLONE_THREAD: u64 = 0x0001_0000;

/// What the engine knows about one live thread.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadState {
    /// Thread id.
    pub tid: i64,
    /// Process id (thread-group id).
    pub pid: i64,
    /// Parent thread id as sysdig keeps it: the creating thread for clones observed in
    /// the stream, the parent process from snapshots; -1 when unknown.
    pub ptid: i64,
    /// Short command name.
    pub comm: String,
    /// Executable path (or `argv[0]`).
    pub exe: String,
    /// Arguments after `argv[0]`.
    pub args: Vec<String>,
    /// Working directory ("" when unknown); used to resolve relative open paths.
    pub cwd: String,
    /// True once the thread wrote a marker candidate (sysdig creates the thread's
    /// tracer parser then; `evtin.*` extraction is NULL on threads without one).
    pub has_tracer_state: bool,
    /// Id of the fd table this thread uses (engine-internal).
    #[serde(skip)]
    pub fd_table: u64,
}

/// All live threads, by tid.
#[derive(Debug, Default)]
pub struct ThreadTable {
    /// Slot of each live thread in `slab` (slots are stable while the thread lives, so
    /// the engine can remember the slot of the thread it saw last).
    index: FxHashMap<i64, u32>,
    slab: Vec<Option<ThreadState>>,
    free: Vec<u32>,
    /// The fd table of each process (set by its first known thread).
    process_tables: FxHashMap<i64, u64>,
}

/// The `comm` the kernel would show for an executable path (basename, 15 bytes max).
pub fn comm_of(path: &str) -> String {
    let base = path.rsplit('/').next().unwrap_or(path);
    let mut end = base.len().min(15);
    while !base.is_char_boundary(end) {
        end -= 1;
    }
    base[..end].to_string()
}

impl ThreadTable {
    /// Looks a thread up.
    #[inline]
    pub fn get(&self, tid: i64) -> Option<&ThreadState> {
        let i = *self.index.get(&tid)?;
        self.slab[i as usize].as_ref()
    }

    /// Looks a thread up for modification.
    #[inline]
    pub fn get_mut(&mut self, tid: i64) -> Option<&mut ThreadState> {
        let i = *self.index.get(&tid)?;
        self.slab[i as usize].as_mut()
    }

    /// The thread in slot `slot` (from [`ThreadTable::ensure_slot`]; valid until the
    /// thread is removed).
    #[inline]
    pub(crate) fn at(&self, slot: u32) -> Option<&ThreadState> {
        self.slab.get(slot as usize)?.as_ref()
    }

    /// Mutable [`ThreadTable::at`].
    #[inline]
    pub(crate) fn at_mut(&mut self, slot: u32) -> Option<&mut ThreadState> {
        self.slab.get_mut(slot as usize)?.as_mut()
    }

    /// Number of live threads.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// True when no thread is known.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Iterates over the live threads.
    pub fn iter(&self) -> impl Iterator<Item = &ThreadState> {
        self.slab.iter().flatten()
    }

    /// Makes sure `tid` is known (threads first seen in an event get an empty identity
    /// and their process's fd table) and returns it.
    #[inline]
    pub fn ensure(&mut self, tid: i64, pid: i64, fds: &mut FdTables) -> &mut ThreadState {
        let slot = self.ensure_slot(tid, pid, fds);
        self.slab[slot as usize].as_mut().expect("live slot")
    }

    /// [`ThreadTable::ensure`], returning the thread's slot.
    #[inline]
    pub(crate) fn ensure_slot(&mut self, tid: i64, pid: i64, fds: &mut FdTables) -> u32 {
        if let Some(&i) = self.index.get(&tid) {
            return i;
        }
        let table = *self
            .process_tables
            .entry(pid)
            .or_insert_with(|| fds.new_table());
        fds.add_user(table);
        self.insert(ThreadState {
            tid,
            pid,
            ptid: -1,
            comm: String::new(),
            exe: String::new(),
            args: Vec::new(),
            cwd: String::new(),
            has_tracer_state: false,
            fd_table: table,
        })
    }

    /// Adds a new thread; returns its slot.
    fn insert(&mut self, t: ThreadState) -> u32 {
        let tid = t.tid;
        let slot = match self.free.pop() {
            Some(i) => {
                self.slab[i as usize] = Some(t);
                i
            }
            None => {
                self.slab.push(Some(t));
                (self.slab.len() - 1) as u32
            }
        };
        self.index.insert(tid, slot);
        slot
    }

    /// Applies a snapshot/update of a thread's identity.
    pub fn apply_info(&mut self, info: &ThreadInfo, fds: &mut FdTables) {
        let t = self.ensure(info.tid, info.pid, fds);
        t.ptid = info.ptid;
        t.comm = info.comm.clone();
        t.exe = info.exe.clone();
        t.args = info.args.clone();
        if !info.cwd.is_empty() {
            t.cwd = info.cwd.clone();
        }
    }

    /// A clone/fork exit in the parent `parent_tid` created `child_tid` in process
    /// `child_pid` with `flags`.
    pub fn clone_child(
        &mut self,
        parent_tid: i64,
        child_tid: i64,
        child_pid: i64,
        flags: u64,
        fds: &mut FdTables,
    ) {
        let Some(parent) = self.get(parent_tid).cloned() else {
            return;
        };
        let same_process = flags & CLONE_THREAD != 0 || child_pid == parent.pid;
        let child_pid = if flags & CLONE_THREAD != 0 {
            parent.pid
        } else {
            child_pid
        };
        let wanted_table = if same_process || flags & CLONE_FILES != 0 {
            None
        } else {
            Some(())
        };
        if let Some(existing) = self.get_mut(child_tid) {
            // The child ran before its parent's clone exit was seen: fill in the gaps.
            if existing.ptid < 0 {
                existing.ptid = parent_tid;
            }
            if existing.comm.is_empty() {
                existing.comm = parent.comm.clone();
                existing.exe = parent.exe.clone();
                existing.args = parent.args.clone();
            }
            if existing.cwd.is_empty() {
                existing.cwd = parent.cwd.clone();
            }
            let to = existing.fd_table;
            if to != parent.fd_table {
                fds.merge_missing(parent.fd_table, to);
            }
            return;
        }
        let table = match wanted_table {
            None => parent.fd_table,
            Some(()) => fds.copy_table(parent.fd_table),
        };
        fds.add_user(table);
        self.process_tables.entry(child_pid).or_insert(table);
        self.insert(ThreadState {
            tid: child_tid,
            pid: child_pid,
            ptid: parent_tid,
            comm: parent.comm,
            exe: parent.exe,
            args: parent.args,
            cwd: parent.cwd,
            has_tracer_state: false,
            fd_table: table,
        });
    }

    /// A successful execve: new identity; close-on-exec fds are dropped.
    pub fn exec(&mut self, tid: i64, filename: &str, argv: &[String], fds: &mut FdTables) {
        if let Some(t) = self.get_mut(tid) {
            t.exe = filename.to_string();
            t.comm = comm_of(filename);
            t.args = argv.iter().skip(1).cloned().collect();
            fds.exec(t.fd_table);
        }
    }

    /// The thread exited: forgets it (and its fd table with its last user).
    pub fn remove(&mut self, tid: i64, fds: &mut FdTables) -> Option<ThreadState> {
        let slot = self.index.remove(&tid)?;
        let t = self.slab[slot as usize].take()?;
        self.free.push(slot);
        if fds.remove_user(t.fd_table) && self.process_tables.get(&t.pid) == Some(&t.fd_table) {
            self.process_tables.remove(&t.pid);
        }
        Some(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::FdTarget;

    #[test]
    fn clone_shares_or_copies_fds() {
        let mut fds = FdTables::default();
        let mut th = ThreadTable::default();
        th.apply_info(
            &ThreadInfo {
                tid: 10,
                pid: 10,
                ptid: 1,
                comm: "srv".into(),
                exe: "/usr/bin/srv".into(),
                args: vec![],
                cwd: "/srv".into(),
            },
            &mut fds,
        );
        let tab = th.get(10).unwrap().fd_table;
        fds.open(tab, 3, FdTarget::File("/dev/null".into()), false);
        th.clone_child(10, 11, 10, CLONE_THREAD | CLONE_FILES, &mut fds);
        th.clone_child(10, 20, 20, 0, &mut fds);
        th.clone_child(10, 30, 30, CLONE_FILES, &mut fds);
        let t11 = th.get(11).unwrap();
        assert_eq!((t11.pid, t11.ptid, t11.fd_table), (10, 10, tab));
        let t20 = th.get(20).unwrap();
        assert_ne!(t20.fd_table, tab);
        assert_eq!(th.get(30).unwrap().fd_table, tab);
        fds.close(tab, 3);
        assert!(fds.get(th.get(20).unwrap().fd_table, 3).is_some());
        th.exec(
            20,
            "/bin/a-very-long-command-name",
            &["x".into(), "y".into()],
            &mut fds,
        );
        assert_eq!(th.get(20).unwrap().comm, "a-very-long-com");
        assert_eq!(th.get(20).unwrap().args, vec!["y".to_string()]);
        assert!(th.remove(20, &mut fds).is_some());
        assert!(th.get(20).is_none());
    }
}
