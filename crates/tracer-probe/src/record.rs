//! Ring-buffer records: `#[repr(C)]` mirrors of `bpf/probe.h` and their decoding into
//! [`tracer_core::event::Event`]s.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use tracer_core::event::{Event, EventKind, L4Proto, Syscall, SyscallDetail, SyscallKind};

use crate::syscalls::kind_of;

/// Record types (`TR_EV_*`).
pub(crate) const EV_SYS: u16 = 1;
pub(crate) const EV_SYS_DATA: u16 = 2;
pub(crate) const EV_SYS_SOCK: u16 = 3;
pub(crate) const EV_THREAD_EXIT: u16 = 4;

/// Record flags (`TR_F_*`).
pub(crate) const F_NULL_DEV: u16 = 1;
pub(crate) const F_HAS_SK: u16 = 8;
pub(crate) const F_HAS_UADDR: u16 = 16;

/// Mirror of `struct tr_event`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RawEvent {
    pub ts: u64,
    pub enter_ts: u64,
    pub ret: i64,
    pub fd: i64,
    pub size: u64,
    pub a0: u64,
    pub a1: u64,
    pub a2: u64,
    pub tid: u32,
    pub pid: u32,
    pub nr: u32,
    pub rtype: u16,
    pub flags: u16,
    pub lost: u32,
    pub len: u32,
}

/// Mirror of `struct tr_sock`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RawSock {
    pub family: u16,
    pub sk_type: u16,
    pub proto: u16,
    pub lport: u16,
    pub rport: u16,
    pub ualen: u16,
    pub _pad: u32,
    pub laddr: [u8; 16],
    pub raddr: [u8; 16],
    pub uaddr: [u8; 32],
}

const _: () = assert!(std::mem::size_of::<RawEvent>() == 88);
const _: () = assert!(std::mem::size_of::<RawSock>() == 80);

const AF_UNIX: u16 = 1;
const AF_INET: u16 = 2;
const AF_INET6: u16 = 10;
const SOCK_STREAM: u16 = 1;
const SOCK_DGRAM: u16 = 2;

/// Why a record could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Malformed(pub &'static str);

fn read_pod<T: Copy + Default>(bytes: &[u8]) -> Option<T> {
    if bytes.len() < std::mem::size_of::<T>() {
        return None;
    }
    // SAFETY: T is a plain-old-data #[repr(C)] struct of integers (every bit pattern is
    // valid) and `bytes` holds at least size_of::<T>() bytes; read_unaligned copes with
    // any alignment.
    Some(unsafe { std::ptr::read_unaligned(bytes.as_ptr() as *const T) })
}

/// One decoded record: the `Lost` count that precedes it and the event itself.
pub(crate) struct Decoded {
    pub lost: u32,
    pub event: Event,
}

/// Decodes one ring-buffer record.
pub(crate) fn decode(bytes: &[u8]) -> Result<Decoded, Malformed> {
    let hdr: RawEvent = read_pod(bytes).ok_or(Malformed("short header"))?;
    let rest = &bytes[std::mem::size_of::<RawEvent>()..];
    let tid = hdr.tid as i64;
    let pid = hdr.pid as i64;
    if hdr.rtype == EV_THREAD_EXIT {
        return Ok(Decoded {
            lost: hdr.lost,
            event: Event {
                ts: hdr.ts,
                tid,
                pid,
                kind: EventKind::ThreadExit {
                    status: hdr.a0 as u32 as i32 as i64,
                },
            },
        });
    }
    let kind = kind_of(hdr.nr);
    let mut sc = Syscall::new(kind, hdr.enter_ts, hdr.ret);
    sc.fd = hdr.fd;
    sc.size = hdr.size;
    sc.null_dev = hdr.flags & F_NULL_DEV != 0;
    let data: &[u8] = match hdr.rtype {
        EV_SYS_DATA => rest
            .get(..hdr.len as usize)
            .ok_or(Malformed("short data"))?,
        EV_SYS | EV_SYS_SOCK => &[],
        _ => return Err(Malformed("unknown record type")),
    };
    let sock: Option<RawSock> = if hdr.rtype == EV_SYS_SOCK {
        Some(read_pod(rest).ok_or(Malformed("short socket record"))?)
    } else {
        None
    };
    use SyscallKind as K;
    sc.detail = match kind {
        _ if sc.null_dev => {
            sc.data = Some(data.to_vec());
            SyscallDetail::None
        }
        K::Open | K::Openat | K::Openat2 | K::Creat => {
            let path = c_str(data);
            let (flags, mode) = if kind == K::Creat {
                // O_CREAT | O_WRONLY | O_TRUNC
                (0o1101, hdr.a1 as u32)
            } else {
                (hdr.a0 as u32, hdr.a1 as u32)
            };
            let dirfd = matches!(kind, K::Openat | K::Openat2).then_some(hdr.a2 as i32 as i64);
            SyscallDetail::Open {
                path,
                dirfd,
                flags,
                mode,
            }
        }
        K::Dup | K::Dup2 | K::Dup3 | K::FcntlDup => {
            sc.fd = hdr.a0 as i32 as i64;
            SyscallDetail::Dup { oldfd: sc.fd }
        }
        K::Close | K::Listen => {
            sc.fd = hdr.a0 as i32 as i64;
            SyscallDetail::None
        }
        K::Socket => {
            sc.fd = -1;
            SyscallDetail::Socket {
                domain: hdr.a0 as u32,
                sock_type: hdr.a1 as u32 & 0xf,
                protocol: hdr.a2 as u32,
            }
        }
        K::Pipe => {
            sc.fd = -1;
            SyscallDetail::Pipe {
                read_fd: hdr.a0 as i64,
                write_fd: hdr.a1 as i64,
            }
        }
        K::Sendfile => {
            sc.fd = hdr.fd as i32 as i64;
            SyscallDetail::Sendfile {
                in_fd: hdr.a0 as i32 as i64,
            }
        }
        K::Clone | K::Clone3 | K::Fork | K::Vfork => SyscallDetail::Clone {
            flags: hdr.a0,
            child_pid: hdr.a1 as i64,
        },
        K::Execve => {
            let mut parts = data.split(|&b| b == 0).filter(|p| !p.is_empty());
            let filename = parts.next().map(lossy).unwrap_or_default();
            let argv = parts.map(lossy).collect();
            SyscallDetail::Execve { filename, argv }
        }
        K::Exit | K::ExitGroup => {
            sc.fd = -1;
            SyscallDetail::Exit {
                status: hdr.a0 as i32 as i64,
            }
        }
        _ => match &sock {
            Some(s) => sock_detail(kind, hdr.flags, s),
            None => SyscallDetail::None,
        },
    };
    if matches!(kind, K::Connect | K::Accept | K::Accept4 | K::Bind) {
        sc.fd = hdr.a0 as i32 as i64;
    }
    if sc.fd >= 0 {
        sc.fd = sc.fd as i32 as i64;
    }
    Ok(Decoded {
        lost: hdr.lost,
        event: Event {
            ts: hdr.ts,
            tid,
            pid,
            kind: EventKind::Syscall(sc),
        },
    })
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn c_str(b: &[u8]) -> String {
    lossy(b.split(|&c| c == 0).next().unwrap_or_default())
}

fn ip_of(family: u16, raw: &[u8; 16]) -> Option<IpAddr> {
    match family {
        AF_INET => Some(IpAddr::V4(Ipv4Addr::new(raw[0], raw[1], raw[2], raw[3]))),
        AF_INET6 => Some(IpAddr::V6(Ipv6Addr::from(*raw))),
        _ => None,
    }
}

/// Parses a raw `struct sockaddr` (inet, inet6); unix paths are returned separately.
pub(crate) fn parse_sockaddr(b: &[u8]) -> (Option<SocketAddr>, Option<String>) {
    if b.len() < 2 {
        return (None, None);
    }
    let family = u16::from_ne_bytes([b[0], b[1]]);
    match family {
        AF_INET if b.len() >= 8 => {
            let port = u16::from_be_bytes([b[2], b[3]]);
            let ip = Ipv4Addr::new(b[4], b[5], b[6], b[7]);
            (Some(SocketAddr::new(IpAddr::V4(ip), port)), None)
        }
        AF_INET6 if b.len() >= 24 => {
            let port = u16::from_be_bytes([b[2], b[3]]);
            let mut a = [0u8; 16];
            a.copy_from_slice(&b[8..24]);
            (
                Some(SocketAddr::new(IpAddr::V6(Ipv6Addr::from(a)), port)),
                None,
            )
        }
        AF_UNIX => (None, Some(c_str(&b[2..]))),
        _ => (None, None),
    }
}

fn sock_detail(kind: SyscallKind, flags: u16, s: &RawSock) -> SyscallDetail {
    let mut proto = L4Proto::Other;
    let mut local = None;
    let mut remote = None;
    let mut unix_path = None;
    if flags & F_HAS_SK != 0 {
        proto = match (s.family, s.sk_type, s.proto) {
            (AF_INET | AF_INET6, SOCK_STREAM, 6) => L4Proto::Tcp,
            (AF_INET | AF_INET6, SOCK_DGRAM, 17) => L4Proto::Udp,
            _ => L4Proto::Other,
        };
        if let Some(ip) = ip_of(s.family, &s.laddr) {
            if s.lport != 0 {
                local = Some(SocketAddr::new(ip, s.lport));
            }
        }
        if let Some(ip) = ip_of(s.family, &s.raddr) {
            if s.rport != 0 {
                remote = Some(SocketAddr::new(ip, s.rport));
            }
        }
        if s.family == AF_UNIX {
            unix_path = Some(String::new());
        }
    }
    if flags & F_HAS_UADDR != 0 {
        let len = (s.ualen as usize).min(s.uaddr.len());
        let (addr, path) = parse_sockaddr(&s.uaddr[..len]);
        if let Some(a) = addr {
            if kind == SyscallKind::Bind {
                local = Some(a);
            } else {
                remote = Some(a);
            }
        }
        if path.is_some() {
            unix_path = path;
        }
    }
    SyscallDetail::Sock {
        proto,
        local,
        remote,
        unix_path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes_of<T>(v: &T) -> Vec<u8> {
        // SAFETY: test helper over #[repr(C)] integer structs.
        unsafe { std::slice::from_raw_parts(v as *const T as *const u8, std::mem::size_of::<T>()) }
            .to_vec()
    }

    #[test]
    fn decodes_marker_write() {
        let hdr = RawEvent {
            ts: 200,
            enter_ts: 100,
            ret: 9,
            fd: 5,
            size: 9,
            tid: 11,
            pid: 10,
            nr: 1,
            rtype: EV_SYS_DATA,
            flags: F_NULL_DEV,
            lost: 2,
            len: 9,
            ..Default::default()
        };
        let mut b = bytes_of(&hdr);
        b.extend_from_slice(b">:t:abc::");
        let d = decode(&b).unwrap();
        assert_eq!(d.lost, 2);
        assert_eq!(d.event.tid, 11);
        match d.event.kind {
            EventKind::Syscall(sc) => {
                assert_eq!(sc.kind, SyscallKind::Write);
                assert!(sc.null_dev);
                assert_eq!(sc.data.as_deref(), Some(&b">:t:abc::"[..]));
                assert_eq!(sc.io_bytes(), 9);
            }
            k => panic!("unexpected {k:?}"),
        }
        assert!(decode(&b[..b.len() - 1]).is_err(), "short data is reported");
        assert!(decode(&b[..40]).is_err());
    }

    #[test]
    fn decodes_sendto_with_user_address() {
        let hdr = RawEvent {
            nr: 44,
            ret: 5,
            fd: 3,
            rtype: EV_SYS_SOCK,
            flags: F_HAS_SK | F_HAS_UADDR,
            ..Default::default()
        };
        let mut s = RawSock {
            family: AF_INET,
            sk_type: SOCK_DGRAM,
            proto: 17,
            lport: 4000,
            ..Default::default()
        };
        s.laddr[..4].copy_from_slice(&[127, 0, 0, 1]);
        let mut ua = vec![];
        ua.extend_from_slice(&AF_INET.to_ne_bytes());
        ua.extend_from_slice(&5353u16.to_be_bytes());
        ua.extend_from_slice(&[127, 0, 0, 2]);
        ua.extend_from_slice(&[0; 8]);
        s.uaddr[..16].copy_from_slice(&ua);
        s.ualen = 16;
        let mut b = bytes_of(&hdr);
        b.extend(bytes_of(&s));
        let d = decode(&b).unwrap();
        let EventKind::Syscall(sc) = d.event.kind else {
            panic!()
        };
        assert_eq!(
            sc.detail,
            SyscallDetail::Sock {
                proto: L4Proto::Udp,
                local: Some("127.0.0.1:4000".parse().unwrap()),
                remote: Some("127.0.0.2:5353".parse().unwrap()),
                unix_path: None
            }
        );
    }

    #[test]
    fn decodes_execve_strings() {
        let hdr = RawEvent {
            nr: 59,
            rtype: EV_SYS_DATA,
            len: 19,
            ..Default::default()
        };
        let mut b = bytes_of(&hdr);
        b.extend_from_slice(b"/bin/sh\0sh\0-c\0true\0");
        let d = decode(&b).unwrap();
        let EventKind::Syscall(sc) = d.event.kind else {
            panic!()
        };
        assert_eq!(
            sc.detail,
            SyscallDetail::Execve {
                filename: "/bin/sh".into(),
                argv: vec!["sh".into(), "-c".into(), "true".into()]
            }
        );
    }
}
