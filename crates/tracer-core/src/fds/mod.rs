//! Per-process fd tables: what every descriptor refers to, and its marker (tracer) state.
//!
//! Threads of a process share one table; a child process gets a copy (or shares the
//! parent's table with `CLONE_FILES`). Each fd carries the sysdig per-fd marker state
//! machine (tracers-spec §1, §11): an fd opened (or listed in a snapshot) as exactly
//! `/dev/null` starts [`MarkerState::Undecided`]; the first complete parse decides
//! ([`MarkerState::Tracer`] or [`MarkerState::NotTracer`]); close forgets the fd.
//!
//! [`MarkerState::Undecided`]: crate::fds::MarkerState::Undecided
//! [`MarkerState::Tracer`]: crate::fds::MarkerState::Tracer
//! [`MarkerState::NotTracer`]: crate::fds::MarkerState::NotTracer

use std::net::SocketAddr;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::event::{FdTarget, L4Proto};
use crate::intern::Interner;

mod names;
mod paths;
mod store;

pub use names::{fd_name, infer_local, push_endpoint};
use names::{socket_addr_text, AddrKey};
pub(crate) use paths::resolve_path_into_verbatim;
pub use paths::{open_flags, resolve_path, resolve_path_into};

/// The path of the null device, the only path whose fds can carry markers.
pub const NULL_DEVICE: &str = "/dev/null";

/// Coarse kind of an fd, used to split I/O bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FdKind {
    /// Regular file, directory, device, or any other path-named object.
    File,
    /// IPv4 socket.
    Ipv4,
    /// IPv6 socket.
    Ipv6,
    /// Unix-domain socket.
    Unix,
    /// Pipe or FIFO.
    Pipe,
    /// Anything else, including fds the engine knows nothing about.
    Other,
}

impl FdKind {
    /// All kinds, in the order used by per-kind arrays.
    pub const ALL: [FdKind; 6] = [
        FdKind::File,
        FdKind::Ipv4,
        FdKind::Ipv6,
        FdKind::Unix,
        FdKind::Pipe,
        FdKind::Other,
    ];

    /// Index into per-kind arrays (`0..6`).
    pub fn index(self) -> usize {
        self as usize
    }

    /// Lower-case name (`file`, `ipv4`…).
    pub fn name(self) -> &'static str {
        match self {
            FdKind::File => "file",
            FdKind::Ipv4 => "ipv4",
            FdKind::Ipv6 => "ipv6",
            FdKind::Unix => "unix",
            FdKind::Pipe => "pipe",
            FdKind::Other => "other",
        }
    }

    /// The kind of a target (sockets by address family when known).
    pub fn of(target: &FdTarget) -> FdKind {
        match target {
            FdTarget::File(_) | FdTarget::Directory(_) => FdKind::File,
            FdTarget::Inet { local, remote, .. } => match remote.or(*local) {
                Some(SocketAddr::V6(_)) => FdKind::Ipv6,
                _ => FdKind::Ipv4,
            },
            FdTarget::Unix(_) => FdKind::Unix,
            FdTarget::Pipe => FdKind::Pipe,
            FdTarget::Other(_) | FdTarget::Unknown => FdKind::Other,
        }
    }
}

/// Marker state of an fd (sysdig's `FLAGS_IS_TRACER_FILE` / `_FD` / `NOT_TRACER_FD`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MarkerState {
    /// Opened or snapshotted as exactly `/dev/null`; no complete parse yet.
    Undecided,
    /// A write on it parsed as a marker: every read/write on it is parsed from now on.
    Tracer,
    /// Not a marker fd (another file, a socket, or `/dev/null` whose first complete
    /// write did not parse).
    NotTracer,
}

/// What the engine knows about one open fd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FdInfo {
    /// What the fd refers to (paths resolved when possible).
    pub target: FdTarget,
    /// Coarse kind (for the per-kind I/O split).
    pub kind: FdKind,
    /// Marker state.
    pub marker: MarkerState,
    /// Opened with `O_CLOEXEC` (dropped at a successful `execve`).
    pub cloexec: bool,
    /// Interned id of [`fd_name`]`(target)` in the engine's name table.
    pub name_id: u32,
    /// Interned id of the network peer (`remote` address) when known.
    pub peer_id: Option<u32>,
    /// Whether this socket was observed as IPv6 at `socket()` time (kept until an
    /// address tells otherwise).
    ipv6_hint: bool,
}

impl FdInfo {
    /// sysdig `fd.type` of this fd: `file`, `directory`, `ipv4`, `ipv6`, `unix`, `pipe`,
    /// or the producer's name for other kinds.
    pub fn type_name(&self) -> &str {
        match &self.target {
            FdTarget::File(_) => "file",
            FdTarget::Directory(_) => "directory",
            FdTarget::Inet { .. } => self.kind.name(),
            FdTarget::Unix(_) => "unix",
            FdTarget::Pipe => "pipe",
            FdTarget::Other(s) => s.as_str(),
            FdTarget::Unknown => "unknown",
        }
    }

    /// The file path for file/directory fds.
    pub fn path(&self) -> Option<&str> {
        match &self.target {
            FdTarget::File(p) | FdTarget::Directory(p) => Some(p),
            _ => None,
        }
    }

    /// True when the fd is (a path-named) `/dev/null`.
    pub fn is_null_device(&self) -> bool {
        matches!(&self.target, FdTarget::File(p) if p == NULL_DEVICE)
    }
}

/// All fd tables (one per process, or shared with `CLONE_FILES`), found by id and fd
/// without hashing (see `store`); plus the name interner shared by every fd.
#[derive(Debug, Default)]
pub struct FdTables {
    fds: store::FdStore,
    /// Threads using each table.
    users: FxHashMap<u64, u32>,
    next_id: u64,
    names: Interner<String>,
    /// Name and peer ids of socket endpoints already formatted, by `(local, remote,
    /// server)`: a socket name is formatted once per distinct endpoint pair, not at
    /// every connect/accept, and a known pair needs no peer lookup.
    inet_names: FxHashMap<(AddrKey, AddrKey, bool), (u32, Option<u32>)>,
    /// Name ids of peer addresses already formatted.
    peer_names: FxHashMap<AddrKey, u32>,
    /// Id of the empty name, once interned.
    empty: Option<u32>,
    /// The last path-like name interned and its id (programs open the same few paths
    /// over and over: one string comparison instead of a hash lookup).
    last_name: String,
    /// The id of `last_name` (`None` until a path-like name is interned).
    last_name_id: Option<u32>,
    /// Path strings of closed fds, reused by the next opens (saves an allocation and
    /// a free per open/close pair).
    spare_paths: Vec<String>,
    /// The last absolute path opened that resolved to itself, and its name id
    /// (programs open the same file over and over: no resolving and naming again).
    open_memo: Option<(String, u32)>,
}

/// The info of a new fd on `target` with the name id `name_id` (kind and marker state
/// from the target: only the null device can carry markers).
#[inline(always)]
fn new_info(target: FdTarget, cloexec: bool, name_id: u32) -> FdInfo {
    let marker = match &target {
        FdTarget::File(p) if p == NULL_DEVICE => MarkerState::Undecided,
        _ => MarkerState::NotTracer,
    };
    FdInfo {
        kind: FdKind::of(&target),
        target,
        marker,
        cloexec,
        name_id,
        peer_id: None,
        ipv6_hint: false,
    }
}

/// Most path strings [`FdTables`] keeps for reuse.
const SPARE_PATHS: usize = 8;

impl FdTables {
    /// Allocates a new, empty table and returns its id (with zero users).
    pub fn new_table(&mut self) -> u64 {
        self.next_id += 1;
        self.users.insert(self.next_id, 0);
        self.fds.set_near_max(self.next_id);
        self.next_id
    }

    fn entries_of(&self, table: u64) -> Vec<(i64, FdInfo)> {
        self.fds.entries(table)
    }

    /// A new table holding a copy of `from`'s fds (fork without `CLONE_FILES`).
    pub fn copy_table(&mut self, from: u64) -> u64 {
        let entries = self.entries_of(from);
        let id = self.new_table();
        for (fd, info) in entries {
            self.fds.insert(id, fd, info);
        }
        id
    }

    /// Registers one more thread using `table`.
    pub fn add_user(&mut self, table: u64) {
        *self.users.entry(table).or_default() += 1;
    }

    /// One thread stopped using `table`; the table is dropped with its last user
    /// (returns true then).
    pub fn remove_user(&mut self, table: u64) -> bool {
        if let Some(u) = self.users.get_mut(&table) {
            *u = u.saturating_sub(1);
            if *u == 0 {
                self.users.remove(&table);
                self.fds.drop_table(table);
                return true;
            }
        }
        false
    }

    /// Copies fds of `from` that `to` does not have (a child learnt before its parent's
    /// fork exit).
    pub fn merge_missing(&mut self, from: u64, to: u64) {
        if from == to {
            return;
        }
        for (fd, info) in self.entries_of(from) {
            self.fds.insert_missing(to, fd, info);
        }
    }

    /// Looks an fd up.
    #[inline]
    pub fn get(&self, table: u64, fd: i64) -> Option<&FdInfo> {
        self.fds.get(table, fd)
    }

    /// Looks an fd up for modification.
    #[inline]
    pub fn get_mut(&mut self, table: u64, fd: i64) -> Option<&mut FdInfo> {
        self.fds.get_mut(table, fd)
    }

    /// Builds the info for a new fd (marker state from the path, names interned).
    pub fn make_info(&mut self, target: FdTarget, cloexec: bool) -> FdInfo {
        let mut info = new_info(target, cloexec, 0);
        self.rename(&mut info);
        info
    }

    /// The id of the empty name (pipes, unknown targets).
    #[inline]
    fn empty_name(&mut self) -> u32 {
        match self.empty {
            Some(id) => id,
            None => *self.empty.insert(self.names.intern("")),
        }
    }

    /// Recomputes kind and interned names after the target changed.
    fn rename(&mut self, info: &mut FdInfo) {
        info.kind = FdKind::of(&info.target);
        if let FdTarget::Inet {
            local,
            remote,
            server,
            ..
        } = &info.target
        {
            if info.ipv6_hint && local.is_none() && remote.is_none() {
                info.kind = FdKind::Ipv6;
            }
            let key = (AddrKey::of(*local), AddrKey::of(*remote), *server);
            let (name_id, peer_id) = match self.inet_names.get(&key) {
                Some(&ids) => ids,
                None => {
                    let rk = key.1;
                    let names = &mut self.names;
                    let peer_id = remote.map(|r| {
                        *self
                            .peer_names
                            .entry(rk)
                            .or_insert_with(|| names.intern(socket_addr_text(&r).as_str()))
                    });
                    // The interner gives equal names (a server's and a client's view
                    // of one connection) one id.
                    let name_id = names.intern(&*fd_name(&info.target));
                    self.inet_names.insert(key, (name_id, peer_id));
                    (name_id, peer_id)
                }
            };
            info.name_id = name_id;
            info.peer_id = peer_id;
        } else {
            info.peer_id = None;
            info.name_id = match &info.target {
                FdTarget::Pipe | FdTarget::Unknown => self.empty_name(),
                t => {
                    let name = fd_name(t);
                    match self.last_name_id {
                        Some(id) if self.last_name == *name => id,
                        _ => {
                            let id = self.names.intern(&*name);
                            self.last_name.clear();
                            self.last_name.push_str(&name);
                            self.last_name_id = Some(id);
                            id
                        }
                    }
                }
            };
        }
    }

    /// Inserts (or replaces) an fd.
    pub fn insert(&mut self, table: u64, fd: i64, info: FdInfo) {
        self.fds.insert(table, fd, info);
    }

    /// Adds an fd with a target (marker state from the path).
    pub fn open(&mut self, table: u64, fd: i64, target: FdTarget, cloexec: bool) {
        let info = self.make_info(target, cloexec);
        self.insert(table, fd, info);
    }

    /// Opens `fd` on `path` as [`FdTables::open`] would open it on `path` resolved,
    /// when `path` is the one remembered by [`FdTables::remember_open_path`] (an
    /// absolute path that resolves to itself); returns false (nothing done) otherwise.
    #[inline]
    pub(crate) fn reopen_known_path(
        &mut self,
        table: u64,
        fd: i64,
        path: &str,
        dir: bool,
        cloexec: bool,
    ) -> bool {
        let name_id = match &self.open_memo {
            Some((p, id)) if p == path => *id,
            _ => return false,
        };
        let mut full = self.spare_path();
        full.push_str(path);
        let target = if dir {
            FdTarget::Directory(full)
        } else {
            FdTarget::File(full)
        };
        // What `make_info` gives, with the remembered name (the path's).
        self.insert(table, fd, new_info(target, cloexec, name_id));
        true
    }

    /// Remembers the absolute path `path`, which resolved to itself, just opened as
    /// `fd` (for [`FdTables::reopen_known_path`]).
    pub(crate) fn remember_open_path(&mut self, table: u64, fd: i64, path: &str) {
        let Some(name_id) = self.get(table, fd).map(|i| i.name_id) else {
            return;
        };
        let memo = self.open_memo.get_or_insert_with(Default::default);
        memo.0.clear();
        memo.0.push_str(path);
        memo.1 = name_id;
    }

    /// Adds a socket fd from `socket(domain, type, …)`.
    pub fn open_socket(&mut self, table: u64, fd: i64, domain: u32, sock_type: u32) {
        const AF_UNIX: u32 = 1;
        const AF_INET: u32 = 2;
        const AF_INET6: u32 = 10;
        let proto = match sock_type & 0xf {
            1 => L4Proto::Tcp,
            2 => L4Proto::Udp,
            _ => L4Proto::Other,
        };
        let target = match domain {
            AF_UNIX => FdTarget::Unix(String::new()),
            AF_INET | AF_INET6 => FdTarget::Inet {
                proto,
                local: None,
                remote: None,
                server: false,
            },
            _ => FdTarget::Other("socket".to_string()),
        };
        let mut info = self.make_info(target, false);
        if domain == AF_INET6 {
            info.ipv6_hint = true;
            info.kind = FdKind::Ipv6;
        }
        self.insert(table, fd, info);
    }

    /// Updates a socket's endpoints (connect, bind, accept, sendto…); creates the fd
    /// when unknown. `None` values keep what is known. As in sysdig, a given local
    /// endpoint replaces the known one, but the remote endpoint is only filled in while
    /// unknown: a second `connect` of a datagram socket to another peer keeps the fd's
    /// name (sysdig 0.29 shows `::1:38255->::1:2345` after reconnecting to port 53).
    pub fn update_socket(&mut self, table: u64, fd: i64, u: SocketUpdate<'_>) {
        let old = self.fds.remove(table, fd);
        self.update_socket_from(table, fd, old, u);
    }

    /// [`FdTables::update_socket`] of an fd already taken out of the table: `old` is
    /// its entry (`None`: unknown, e.g. the new fd of an `accept`). An entry the table
    /// still holds under `fd` is replaced.
    #[inline]
    pub(crate) fn update_socket_from(
        &mut self,
        table: u64,
        fd: i64,
        old: Option<FdInfo>,
        u: SocketUpdate<'_>,
    ) {
        let SocketUpdate {
            proto,
            local,
            remote,
            unix_path,
            server,
        } = u;
        let mut info = match old {
            Some(i) => i,
            // `make_info(FdTarget::Unknown, false)` without naming it twice: the name is
            // set below.
            None => FdInfo {
                target: FdTarget::Unknown,
                kind: FdKind::Other,
                marker: MarkerState::NotTracer,
                cloexec: false,
                name_id: self.empty_name(),
                peer_id: None,
                ipv6_hint: false,
            },
        };
        if let Some(path) = unix_path {
            if path.is_empty() {
                if !matches!(info.target, FdTarget::Unix(_)) {
                    info.target = FdTarget::Unix(String::new());
                }
            } else {
                info.target = FdTarget::Unix(path.to_string());
            }
        } else if (local.is_some() || remote.is_some() || server.is_some())
            && !matches!(info.target, FdTarget::Unix(_))
        {
            let (mut l, mut r, mut s, mut p) = (None, None, false, proto.unwrap_or(L4Proto::Other));
            if let FdTarget::Inet {
                proto: op,
                local: ol,
                remote: or,
                server: os,
            } = &info.target
            {
                l = *ol;
                r = *or;
                s = *os;
                if p == L4Proto::Other {
                    p = *op;
                }
            }
            info.target = FdTarget::Inet {
                proto: p,
                local: local.or(l),
                remote: r.or(remote),
                server: server.unwrap_or(s),
            };
        }
        info.marker = MarkerState::NotTracer;
        self.rename(&mut info);
        if let Some(replaced) = self.fds.insert(table, fd, info) {
            self.recycle(replaced);
        }
    }

    /// An empty string for a new fd's path, reusing the memory of a closed fd's path
    /// when one was handed back ([`FdTables::recycle`]).
    #[inline]
    pub fn spare_path(&mut self) -> String {
        self.spare_paths.pop().unwrap_or_default()
    }

    /// Takes back a removed fd's entry: its path string is kept for reuse (a few only).
    #[inline]
    pub fn recycle(&mut self, info: FdInfo) {
        if let FdTarget::File(p) | FdTarget::Directory(p) = info.target {
            if self.spare_paths.len() < SPARE_PATHS && p.capacity() <= 4096 {
                let mut p = p;
                p.clear();
                self.spare_paths.push(p);
            }
        }
    }

    /// Removes an fd (close), returning what it was. Inlined (with the store's
    /// removal): the entry moves straight to the caller.
    #[inline]
    pub fn close(&mut self, table: u64, fd: i64) -> Option<FdInfo> {
        self.fds.remove(table, fd)
    }

    /// Duplicates `old` onto `new` (dup family): same target and marker state.
    pub fn dup(&mut self, table: u64, old: i64, new: i64) {
        let info = self.get(table, old).cloned().map(|mut i| {
            i.cloexec = false;
            i
        });
        match info {
            Some(i) => self.insert(table, new, i),
            None => {
                self.close(table, new);
            }
        }
    }

    /// Drops the `O_CLOEXEC` fds of a table (successful execve).
    pub fn exec(&mut self, table: u64) {
        self.fds.retain(table, |i| !i.cloexec);
    }

    /// The interned name of an id (fd names and peers).
    pub fn name(&self, id: u32) -> &str {
        self.names.resolve(id)
    }

    /// Number of live fds over all tables.
    pub fn live_fds(&self) -> usize {
        self.fds.len()
    }
}

/// What a socket syscall tells about a socket's endpoints (`None` = unchanged).
#[derive(Debug, Clone, Copy, Default)]
pub struct SocketUpdate<'a> {
    /// Transport protocol (`Other` keeps the known one).
    pub proto: Option<L4Proto>,
    /// Local address.
    pub local: Option<SocketAddr>,
    /// Remote address.
    pub remote: Option<SocketAddr>,
    /// Unix-domain path (`Some` marks a unix socket).
    pub unix_path: Option<&'a str>,
    /// Server side (accepted or listening).
    pub server: Option<bool>,
}

#[cfg(test)]
mod tests;
