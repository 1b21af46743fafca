//! `evt.info`: a one-line description of an event line, from its [`EventSource`] facts.

use std::borrow::Cow;
use std::fmt::Write as _;

use super::context::{EventSource, EvtDir, FdFacts};
use crate::event::{FdTarget, L4Proto, SyscallDetail, SyscallKind};

/// An approximation of sysdig's `evt.info`: exact for markers
/// (`id=… tags=… args=name:value,…`); for syscalls the fd (`fd=5(<f>/path)`), the size
/// of I/O enters, the path of opens and `res=` of exits, without the other arguments
/// sysdig prints. Empty for lines that are neither.
pub(crate) fn evt_info<S: EventSource + ?Sized>(ev: &S) -> String {
    let mut out = String::new();
    if let Some(m) = ev.marker() {
        let tags: Vec<String> = m
            .tags
            .iter()
            .map(|t| String::from_utf8_lossy(t).into())
            .collect();
        let args: Vec<String> = m
            .args
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}:{}",
                    String::from_utf8_lossy(k),
                    String::from_utf8_lossy(v)
                )
            })
            .collect();
        let _ = write!(
            out,
            "id={} tags={} args={}",
            m.id,
            tags.join("."),
            args.join(",")
        );
        return out;
    }
    let Some(sc) = ev.syscall() else {
        return out;
    };
    let creates = sc.kind.creates_fd()
        && !matches!(
            sc.kind,
            SyscallKind::Dup | SyscallKind::Dup2 | SyscallKind::Dup3 | SyscallKind::FcntlDup
        );
    if ev.dir() == EvtDir::Enter {
        if let SyscallDetail::Open { path, dirfd, .. } = &sc.detail {
            match dirfd {
                Some(-100) => out.push_str("dirfd=-100(AT_FDCWD) "),
                Some(d) => {
                    let _ = write!(out, "dirfd={d} ");
                }
                None => {}
            }
            let _ = write!(out, "name={path}");
        } else if let Some(f) = ev.fd().filter(|f| f.num >= 0) {
            if sc.kind == SyscallKind::Sendfile {
                out.push_str("out_");
            }
            out.push_str(&fd_text(&f));
            // sysdig reports the size of these on the exit only.
            let size_on_exit = matches!(
                sc.kind,
                SyscallKind::Readv
                    | SyscallKind::Preadv
                    | SyscallKind::Recvmsg
                    | SyscallKind::Sendfile
            );
            if sc.kind.io_dir().is_some() && sc.size > 0 && !size_on_exit {
                let _ = write!(out, " size={}", sc.size);
            }
        }
    } else if creates && sc.res >= 0 {
        if let Some(f) = ev.fd() {
            out.push_str(&fd_text(&f));
        }
    } else {
        let _ = write!(out, "res={}", sc.res);
        if let Some(name) = (sc.res < 0).then(|| super::errno::name(-sc.res)).flatten() {
            let _ = write!(out, "({name})");
        }
    }
    out
}

/// `fd=N(<TL>name)`: the fd number, its type and L4 protocol letters, and its name.
fn fd_text(f: &FdFacts<'_>) -> String {
    let mut t = format!("fd={}", f.num);
    if let Some(target) = f.target {
        let tc = match target {
            FdTarget::File(_) => "f",
            FdTarget::Directory(_) => "d",
            FdTarget::Inet { .. } if f.v6 => "6",
            FdTarget::Inet { .. } => "4",
            FdTarget::Unix(_) => "u",
            FdTarget::Pipe => "p",
            _ => "o",
        };
        let l4 = match target {
            FdTarget::Inet {
                proto,
                local,
                remote,
                ..
            } if local.is_some() || remote.is_some() => match proto {
                L4Proto::Tcp => "t",
                L4Proto::Udp => "u",
                L4Proto::Other => "r",
            },
            _ => "",
        };
        let name = f
            .name
            .map_or_else(|| crate::fds::fd_name(target), Cow::Borrowed);
        let _ = write!(t, "(<{tc}{l4}>{name})");
    }
    t
}
