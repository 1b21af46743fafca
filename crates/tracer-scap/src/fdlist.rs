//! The fd-list block (FDL v1/v2): the fds of one thread at capture start, and the
//! socket and address helpers it shares with event parameters.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use tracer_core::event::{FdTarget, L4Proto};

use crate::block::{BlockBuf, Cur};
use crate::flags;

/// One fd from an fd-list block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FdEntry {
    /// The thread whose fd table the block describes.
    pub tid: i64,
    /// Descriptor number.
    pub fd: i64,
    /// Inode (0 when unknown).
    pub ino: u64,
    /// sysdig's `SCAP_FD_*` type id.
    pub fd_type: u8,
    /// Linux `O_*` open flags (files of type `FILE_V2`; 0 otherwise).
    pub open_flags: u32,
    /// What the fd refers to.
    pub target: FdTarget,
}

pub(crate) fn ip4(b: &[u8]) -> Ipv4Addr {
    Ipv4Addr::new(b[0], b[1], b[2], b[3])
}
pub(crate) fn ip6(b: &[u8]) -> Ipv6Addr {
    let a: [u8; 16] = b.try_into().expect("16 bytes");
    Ipv6Addr::from(a)
}

/// L4 protocol from sysdig's `SCAP_L4_*` id.
pub(crate) fn l4_from_scap(p: u8) -> L4Proto {
    match p {
        2 => L4Proto::Tcp,
        3 => L4Proto::Udp,
        _ => L4Proto::Other,
    }
}

pub(crate) fn l4_to_scap(p: L4Proto) -> u8 {
    match p {
        L4Proto::Tcp => 2,
        L4Proto::Udp => 3,
        L4Proto::Other => 5,
    }
}

/// `None` for the all-zero "unknown" endpoint.
pub(crate) fn endpoint(ip: IpAddr, port: u16) -> Option<SocketAddr> {
    if ip.is_unspecified() && port == 0 {
        None
    } else {
        Some(SocketAddr::new(ip, port))
    }
}

/// Decides which side of an fd-table socket is local: the side whose address is one of
/// the capture's interface addresses (as sysdig does with the IL block); without a
/// match, the source side.
fn sock_target(
    proto: L4Proto,
    s: Option<SocketAddr>,
    d: Option<SocketAddr>,
    local_ips: &[IpAddr],
) -> FdTarget {
    let is_local = |a: &Option<SocketAddr>| a.is_some_and(|a| local_ips.contains(&a.ip()));
    let server = !is_local(&s) && is_local(&d);
    let (local, remote) = if server { (d, s) } else { (s, d) };
    FdTarget::Inet {
        proto,
        local,
        remote,
        server,
    }
}

/// Parses one FDL entry payload (after fd/ino/type) into a target.
fn parse_fd_target(
    c: &mut Cur<'_>,
    ty: u8,
    local_ips: &[IpAddr],
    open_flags: &mut u32,
    has_dev: bool,
) -> Option<FdTarget> {
    Some(match ty {
        1 => FdTarget::File(c.str16()?),
        2 => FdTarget::Directory(c.str16()?),
        3 | 4 => {
            let (sip, dip): (IpAddr, IpAddr) = match ty {
                3 => (ip4(c.bytes(4)?).into(), ip4(c.bytes(4)?).into()),
                _ => (ip6(c.bytes(16)?).into(), ip6(c.bytes(16)?).into()),
            };
            let (sp, dp) = (c.u16()?, c.u16()?);
            let proto = l4_from_scap(c.u8()?);
            sock_target(proto, endpoint(sip, sp), endpoint(dip, dp), local_ips)
        }
        5 | 6 => {
            let ip: IpAddr = if ty == 5 {
                ip4(c.bytes(4)?).into()
            } else {
                ip6(c.bytes(16)?).into()
            };
            let port = c.u16()?;
            let proto = l4_from_scap(c.u8()?);
            FdTarget::Inet {
                proto,
                local: Some(SocketAddr::new(ip, port)),
                remote: None,
                server: true,
            }
        }
        7 => {
            c.str16()?;
            FdTarget::Pipe
        }
        8 => {
            c.u64()?;
            c.u64()?;
            FdTarget::Unix(c.str16()?)
        }
        9..=15 => FdTarget::Other(c.str16()?),
        16 => {
            *open_flags = flags::open_flags_from_ppm(c.u32()?);
            let name = c.str16()?;
            if has_dev {
                c.u32()?;
            }
            FdTarget::File(name)
        }
        0 => FdTarget::Unknown,
        _ => return None,
    })
}

/// Parses an FDL block (`v` 1 or 2). Returns false when an entry could not be parsed
/// (the entries before it are kept).
pub(crate) fn parse_fdl(p: &[u8], v: u8, local_ips: &[IpAddr], out: &mut Vec<FdEntry>) -> bool {
    let mut c = Cur::new(p);
    let Some(tid) = c.i64() else { return false };
    while c.remaining() >= 4 {
        let start = c.pos;
        let entry_len = if v >= 2 {
            match c.u32() {
                Some(l) => Some(l as usize),
                None => return false,
            }
        } else {
            None
        };
        let (Some(fd), Some(ino), Some(ty)) = (c.i64(), c.u64(), c.u8()) else {
            return false;
        };
        let mut open_flags = 0;
        // FILE_V2's trailing dev is present only when the entry length covers it.
        let has_dev = entry_len.is_some_and(|l| {
            let fixed = 4 + 8 + 8 + 1 + 4;
            let name_len = c
                .buf
                .get(c.pos + 4..c.pos + 6)
                .map_or(0, |b| u16::from_le_bytes([b[0], b[1]]) as usize);
            l >= fixed + 2 + name_len + 4
        });
        let target = parse_fd_target(&mut c, ty, local_ips, &mut open_flags, has_dev);
        match (target, entry_len) {
            (Some(target), _) => {
                out.push(FdEntry {
                    tid,
                    fd,
                    ino,
                    fd_type: ty,
                    open_flags,
                    target,
                });
            }
            (None, None) => return false,
            (None, Some(_)) => {} // unknown type, skipped by length
        }
        if let Some(len) = entry_len {
            if len < 21 {
                return false;
            }
            c.pos = start;
            if c.bytes(len).is_none() {
                return false;
            }
        }
    }
    true
}

/// FDL v2 entry for one fd. Returns false for targets that have no fd-table form.
pub(crate) fn encode_fd_entry(
    b: &mut BlockBuf,
    fd: i64,
    target: &FdTarget,
    open_flags: u32,
) -> bool {
    let start = b.buf.len();
    b.u32(0);
    b.u64(fd as u64);
    b.u64(0); // inode
    let zero4 = SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 0);
    match target {
        FdTarget::File(name) => {
            b.u8(16);
            b.u32(flags::open_flags_to_ppm(open_flags));
            b.str16(name, 4096);
            b.u32(0);
        }
        FdTarget::Directory(name) => {
            b.u8(2);
            b.str16(name, 4096);
        }
        FdTarget::Inet {
            proto,
            local,
            remote,
            server,
        } => {
            if remote.is_none() && *server {
                let l = local.unwrap_or(zero4);
                match l.ip() {
                    IpAddr::V4(ip) => {
                        b.u8(5);
                        b.bytes(&ip.octets());
                    }
                    IpAddr::V6(ip) => {
                        b.u8(6);
                        b.bytes(&ip.octets());
                    }
                }
                b.u16(l.port());
                b.u8(l4_to_scap(*proto));
            } else {
                let (s, d) = if *server {
                    (*remote, *local)
                } else {
                    (*local, *remote)
                };
                let v6 = matches!(s.or(d), Some(SocketAddr::V6(_)));
                let (s, d) = (s.unwrap_or(zero4), d.unwrap_or(zero4));
                if v6 {
                    b.u8(4);
                    b.bytes(&ip6_bytes(s.ip()));
                    b.bytes(&ip6_bytes(d.ip()));
                } else {
                    b.u8(3);
                    b.bytes(&ip4_bytes(s.ip()));
                    b.bytes(&ip4_bytes(d.ip()));
                }
                b.u16(s.port());
                b.u16(d.port());
                b.u8(l4_to_scap(*proto));
            }
        }
        FdTarget::Unix(path) => {
            b.u8(8);
            b.u64(0);
            b.u64(0);
            b.str16(path, 4096);
        }
        FdTarget::Pipe => {
            b.u8(7);
            b.str16("", 0);
        }
        FdTarget::Other(name) => {
            b.u8(10);
            b.str16(name, 4096);
        }
        FdTarget::Unknown => {
            b.buf.truncate(start);
            return false;
        }
    }
    let len = (b.buf.len() - start) as u32;
    b.buf[start..start + 4].copy_from_slice(&len.to_le_bytes());
    true
}

pub(crate) fn ip4_bytes(ip: IpAddr) -> [u8; 4] {
    match ip {
        IpAddr::V4(a) => a.octets(),
        IpAddr::V6(a) => a.to_ipv4_mapped().map_or([0; 4], |a| a.octets()),
    }
}

pub(crate) fn ip6_bytes(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
        IpAddr::V6(a) => a.octets(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fdl_round_trip() {
        let targets = [
            FdTarget::File("/dev/null".into()),
            FdTarget::Directory("/tmp".into()),
            FdTarget::Inet {
                proto: L4Proto::Tcp,
                local: Some("10.0.0.1:40000".parse().unwrap()),
                remote: Some("93.184.216.34:80".parse().unwrap()),
                server: false,
            },
            FdTarget::Inet {
                proto: L4Proto::Tcp,
                local: Some("10.0.0.1:8080".parse().unwrap()),
                remote: Some("192.168.1.5:51000".parse().unwrap()),
                server: true,
            },
            FdTarget::Inet {
                proto: L4Proto::Udp,
                local: Some("[::1]:53".parse().unwrap()),
                remote: None,
                server: true,
            },
            FdTarget::Unix("/run/x.sock".into()),
            FdTarget::Pipe,
            FdTarget::Other("anon_inode:[eventfd]".into()),
        ];
        let mut b = BlockBuf::default();
        b.begin(crate::block::FDL_V2);
        b.u64(7);
        for (i, t) in targets.iter().enumerate() {
            assert!(encode_fd_entry(&mut b, i as i64, t, 1));
        }
        b.finish();
        let mut out = Vec::new();
        let local: Vec<IpAddr> = vec!["10.0.0.1".parse().unwrap()];
        assert!(parse_fdl(&b.buf[8..b.buf.len() - 4], 2, &local, &mut out));
        let got: Vec<FdTarget> = out.iter().map(|e| e.target.clone()).collect();
        assert_eq!(got, targets);
        assert!(out.iter().all(|e| e.tid == 7));
        assert_eq!(out[0].open_flags, 1);
    }
}
