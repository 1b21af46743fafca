//! How syscalls change the thread and fd tables: open family (paths resolved against
//! `dirfd` or the cwd), close, dup family, socket/connect/accept/bind/listen and the
//! datagram calls (endpoints), pipe, clone family (thread, shared or copied fd table),
//! execve (identity, close-on-exec fds).

use crate::event::{FdTarget, Syscall, SyscallDetail, SyscallKind};
use crate::fds::{
    infer_local, open_flags, resolve_path_into_verbatim, FdInfo, FdTables, SocketUpdate,
};
use crate::threads::ThreadTable;

/// Applies the fd-table and thread-table effects of a syscall of thread `tid`
/// (whose fd table is `table`). Returns the fd the event's view should show (the new
/// fd for creators) and, for close, the removed entry. Inlined into the engine's
/// syscall path (one call and frame set up less per fd-changing syscall).
#[inline(always)]
pub(crate) fn apply(
    threads: &mut ThreadTable,
    fds: &mut FdTables,
    tid: i64,
    table: u64,
    sc: &Syscall,
) -> (i64, Option<FdInfo>) {
    use SyscallKind::*;
    let res = sc.res;
    match (sc.kind, &sc.detail) {
        (Open | Openat | Openat2 | Creat, d) if res >= 0 => {
            let SyscallDetail::Open {
                path, dirfd, flags, ..
            } = d
            else {
                fds.open(table, res, FdTarget::Unknown, false);
                return (res, None);
            };
            let (dir, cloexec) = open_flags(*flags);
            // The path opened last again: no resolving and naming.
            if fds.reopen_known_path(table, res, path, dir, cloexec) {
                return (res, None);
            }
            // The path is resolved into a closed fd's string when one is spare (no
            // allocation).
            let mut full = fds.spare_path();
            let base = if path.starts_with('/') {
                ""
            } else {
                match dirfd {
                    Some(dfd) if *dfd >= 0 => {
                        fds.get(table, *dfd).and_then(|i| i.path()).unwrap_or("")
                    }
                    _ => threads.get(tid).map(|t| t.cwd.as_str()).unwrap_or(""),
                }
            };
            let verbatim = resolve_path_into_verbatim(&mut full, base, path);
            let t = if dir {
                FdTarget::Directory(full)
            } else {
                FdTarget::File(full)
            };
            fds.open(table, res, t, cloexec);
            if verbatim {
                fds.remember_open_path(table, res, path);
            }
            (res, None)
        }
        (Close, _) if res >= 0 => (sc.fd, fds.close(table, sc.fd)),
        (Dup | Dup2 | Dup3 | FcntlDup, d) if res >= 0 => {
            let old = match d {
                SyscallDetail::Dup { oldfd } => *oldfd,
                _ => sc.fd,
            };
            if old != res {
                fds.dup(table, old, res);
            }
            (res, None)
        }
        (
            Socket,
            SyscallDetail::Socket {
                domain, sock_type, ..
            },
        ) if res >= 0 => {
            fds.open_socket(table, res, *domain, *sock_type);
            (res, None)
        }
        (
            Accept | Accept4,
            SyscallDetail::Sock {
                proto,
                local,
                remote,
                unix_path,
            },
        ) if res >= 0 => {
            // The new fd replaces whatever the table had under its number (the
            // insert replaces it: no separate removal).
            fds.update_socket_from(
                table,
                res,
                None,
                SocketUpdate {
                    proto: Some(*proto),
                    local: *local,
                    remote: *remote,
                    unix_path: unix_path.as_deref(),
                    server: Some(true),
                },
            );
            (res, None)
        }
        (
            Connect,
            SyscallDetail::Sock {
                proto,
                local,
                remote,
                unix_path,
            },
        ) if res >= 0 || res == -115 => {
            fds.update_socket(
                table,
                sc.fd,
                SocketUpdate {
                    proto: Some(*proto),
                    local: *local,
                    remote: *remote,
                    unix_path: unix_path.as_deref(),
                    server: None,
                },
            );
            (sc.fd, None)
        }
        (
            Bind | Sendto | Recvfrom | Sendmsg | Recvmsg,
            SyscallDetail::Sock {
                proto,
                local,
                remote,
                unix_path,
            },
        ) if res >= 0 && sc.fd >= 0 => {
            let known = fds.get(table, sc.fd);
            let needs = match known.map(|i| &i.target) {
                None | Some(FdTarget::Unknown) => true,
                Some(FdTarget::Inet {
                    local: l,
                    remote: r,
                    ..
                }) => (l.is_none() && local.is_some()) || (r.is_none() && remote.is_some()),
                Some(FdTarget::Unix(p)) => p.is_empty() && unix_path.is_some(),
                _ => false,
            };
            if needs {
                // An unbound datagram socket: the tuple has no local side; sysdig
                // infers it from the peer (sendto/recvfrom… only, not bind).
                let mut local = *local;
                if sc.kind != Bind {
                    let (old_local, old_remote) = match known.map(|i| &i.target) {
                        Some(FdTarget::Inet {
                            local: l,
                            remote: r,
                            ..
                        }) => (*l, *r),
                        _ => (None, None),
                    };
                    if local.or(old_local).is_none() {
                        local = old_remote.or(*remote).as_ref().and_then(infer_local);
                    }
                }
                fds.update_socket(
                    table,
                    sc.fd,
                    SocketUpdate {
                        proto: Some(*proto),
                        local,
                        remote: *remote,
                        unix_path: unix_path.as_deref(),
                        server: None,
                    },
                );
            }
            (sc.fd, None)
        }
        (Listen, _) if res >= 0 => {
            if let Some(FdTarget::Inet { .. }) = fds.get(table, sc.fd).map(|i| &i.target) {
                fds.update_socket(
                    table,
                    sc.fd,
                    SocketUpdate {
                        proto: None,
                        local: None,
                        remote: None,
                        unix_path: None,
                        server: Some(true),
                    },
                );
            }
            (sc.fd, None)
        }
        (Pipe, SyscallDetail::Pipe { read_fd, write_fd }) if res >= 0 => {
            fds.open(table, *read_fd, FdTarget::Pipe, false);
            fds.open(table, *write_fd, FdTarget::Pipe, false);
            (*read_fd, None)
        }
        (Clone | Clone3 | Fork | Vfork, SyscallDetail::Clone { flags, child_pid }) if res > 0 => {
            threads.clone_child(tid, res, *child_pid, *flags, fds);
            (sc.fd, None)
        }
        (Execve, SyscallDetail::Execve { filename, argv }) if res == 0 => {
            threads.exec(tid, filename, argv, fds);
            (sc.fd, None)
        }
        _ => (sc.fd, None),
    }
}
