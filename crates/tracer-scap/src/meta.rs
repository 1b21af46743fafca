//! Metadata blocks: machine info, process list, fd list, interface list, user list.
//! Parsing (all versions sysdig ever wrote) and encoding (the versions 0.29.3 writes).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use tracer_core::event::{FdTarget, L4Proto};

use crate::block::{BlockBuf, Cur};
use crate::flags;

/// Contents of the machine info block.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MachineInfo {
    /// Number of CPUs.
    pub num_cpus: u32,
    /// Physical memory in bytes.
    pub memory_bytes: u64,
    /// Highest pid of the system.
    pub max_pid: u64,
    /// Host name.
    pub hostname: String,
}

/// One thread from a process-list block.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProcessEntry {
    /// Thread id.
    pub tid: i64,
    /// Process id.
    pub pid: i64,
    /// Parent thread id.
    pub ptid: i64,
    /// Command name.
    pub comm: String,
    /// `argv[0]`.
    pub exe: String,
    /// Executable path (PL v7+; empty before).
    pub exepath: String,
    /// Arguments after `argv[0]`.
    pub args: Vec<String>,
    /// Working directory.
    pub cwd: String,
    /// fd limit.
    pub fdlimit: u64,
    /// `PPM_CL_*` flags.
    pub flags: u32,
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
    /// Thread id in its pid namespace (PL v4+; equals `tid` before).
    pub vtid: i64,
    /// Process id in its pid namespace (PL v4+).
    pub vpid: i64,
}

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

/// One network interface address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// Interface name.
    pub name: String,
    /// Address.
    pub addr: IpAddr,
}

/// One user or group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserEntry {
    /// A user.
    User {
        /// uid.
        uid: u32,
        /// Primary gid.
        gid: u32,
        /// Name.
        name: String,
        /// Home directory.
        home: String,
        /// Login shell.
        shell: String,
    },
    /// A group.
    Group {
        /// gid.
        gid: u32,
        /// Name.
        name: String,
    },
}

pub(crate) fn parse_mi(p: &[u8]) -> Option<MachineInfo> {
    let mut c = Cur::new(p);
    let num_cpus = c.u32()?;
    let memory_bytes = c.u64()?;
    let max_pid = c.u64()?;
    let h = c.bytes(128)?;
    let end = h.iter().position(|&b| b == 0).unwrap_or(h.len());
    Some(MachineInfo {
        num_cpus,
        memory_bytes,
        max_pid,
        hostname: String::from_utf8_lossy(&h[..end]).into_owned(),
    })
}

pub(crate) fn encode_mi(b: &mut BlockBuf, mi: &MachineInfo) {
    b.begin(crate::block::MI);
    b.u32(mi.num_cpus);
    b.u64(mi.memory_bytes);
    b.u64(mi.max_pid);
    let mut host = [0u8; 128];
    let h = mi.hostname.as_bytes();
    let n = h.len().min(127);
    host[..n].copy_from_slice(&h[..n]);
    b.bytes(&host);
    b.bytes(&[0; 32]);
    b.finish();
}

/// Splits a NUL-separated list ("a\0b\0") into its items.
pub(crate) fn split_nul(b: &[u8]) -> Vec<String> {
    let b = b.strip_suffix(&[0]).unwrap_or(b);
    if b.is_empty() {
        return Vec::new();
    }
    b.split(|&c| c == 0)
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

/// Joins items as NUL-terminated strings.
pub(crate) fn join_nul(items: &[String]) -> Vec<u8> {
    let mut v = Vec::new();
    for a in items {
        v.extend_from_slice(a.as_bytes());
        v.push(0);
    }
    v
}

fn str16_bytes<'a>(c: &mut Cur<'a>) -> Option<&'a [u8]> {
    let n = c.u16()? as usize;
    c.bytes(n)
}

/// Parses one PL entry of version `v` (1..=9) at the cursor.
fn parse_pl_entry(c: &mut Cur<'_>, v: u8) -> Option<ProcessEntry> {
    let start = c.pos;
    let entry_len = if v >= 9 {
        Some(c.u32()? as usize)
    } else {
        None
    };
    let mut e = ProcessEntry {
        tid: c.i64()?,
        pid: c.i64()?,
        ptid: c.i64()?,
        ..Default::default()
    };
    if v >= 6 {
        c.u64()?; // sid
    }
    if v >= 8 {
        c.u64()?; // vpgid
    }
    e.comm = c.str16()?;
    e.exe = c.str16()?;
    if v >= 7 {
        e.exepath = c.str16()?;
    }
    e.args = split_nul(str16_bytes(c)?);
    e.cwd = c.str16()?;
    e.fdlimit = c.u64()?;
    e.flags = c.u32()?;
    e.uid = c.u32()?;
    e.gid = c.u32()?;
    e.vtid = e.tid;
    e.vpid = e.pid;
    if v >= 2 {
        c.bytes(12)?; // vmsize, vmrss, vmswap
        c.bytes(16)?; // pfmajor, pfminor
    }
    if v >= 3 {
        str16_bytes(c)?; // env
    }
    if v >= 4 {
        e.vtid = c.i64()?;
        e.vpid = c.i64()?;
        str16_bytes(c)?; // cgroups
    }
    if v >= 5 {
        str16_bytes(c)?; // root
    }
    if let Some(len) = entry_len {
        // v9: the entry length decides where the next entry starts (newer writers
        // append fields). It must at least cover what was read.
        if len < c.pos - start {
            return None;
        }
        c.pos = start;
        c.bytes(len)?;
    }
    Some(e)
}

/// Parses a PL block; returns the entries read and whether the block parsed cleanly.
pub(crate) fn parse_pl(p: &[u8], v: u8, out: &mut Vec<ProcessEntry>) -> bool {
    let mut c = Cur::new(p);
    while c.remaining() >= 4 {
        match parse_pl_entry(&mut c, v) {
            Some(e) => out.push(e),
            None => return false,
        }
    }
    true
}

/// PL v9 entry for one thread.
pub(crate) fn encode_pl_entry(b: &mut BlockBuf, t: &ProcessEntry) {
    let start = b.buf.len();
    b.u32(0);
    b.u64(t.tid as u64);
    b.u64(t.pid as u64);
    b.u64(t.ptid as u64);
    b.u64(t.pid as u64); // sid
    b.u64(t.pid as u64); // vpgid
    b.str16(&t.comm, 1024);
    b.str16(&t.exe, 1024);
    b.str16(&t.exepath, 1024);
    let args = join_nul(&t.args);
    let n = args.len().min(4096);
    b.u16(n as u16);
    b.bytes(&args[..n]);
    b.str16(&t.cwd, 1024);
    b.u64(t.fdlimit);
    b.u32(t.flags);
    b.u32(t.uid);
    b.u32(t.gid);
    b.bytes(&[0; 12]);
    b.bytes(&[0; 16]);
    b.u16(0); // env
    b.u64(t.vtid as u64);
    b.u64(t.vpid as u64);
    b.u16(0); // cgroups
    b.str16("/", 1024); // root
    b.u32(u32::MAX); // loginuid = -1
    b.u8(0); // exe_writable
    let len = (b.buf.len() - start) as u32;
    b.buf[start..start + 4].copy_from_slice(&len.to_le_bytes());
}

fn ip4(b: &[u8]) -> Ipv4Addr {
    Ipv4Addr::new(b[0], b[1], b[2], b[3])
}
fn ip6(b: &[u8]) -> Ipv6Addr {
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
        3 => {
            let (sip, dip) = (ip4(c.bytes(4)?), ip4(c.bytes(4)?));
            let (sp, dp) = (c.u16()?, c.u16()?);
            let proto = l4_from_scap(c.u8()?);
            sock_target(
                proto,
                endpoint(sip.into(), sp),
                endpoint(dip.into(), dp),
                local_ips,
            )
        }
        4 => {
            let (sip, dip) = (ip6(c.bytes(16)?), ip6(c.bytes(16)?));
            let (sp, dp) = (c.u16()?, c.u16()?);
            let proto = l4_from_scap(c.u8()?);
            sock_target(
                proto,
                endpoint(sip.into(), sp),
                endpoint(dip.into(), dp),
                local_ips,
            )
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

/// Parses an IL block; stops quietly at the first malformed entry.
pub(crate) fn parse_il(p: &[u8], v: u8, out: &mut Vec<Interface>) {
    let mut c = Cur::new(p);
    while c.remaining() >= 4 {
        let next = if v >= 2 {
            let Some(l) = c.u32() else { return };
            Some(c.pos + l as usize)
        } else {
            None
        };
        let Some(ty) = c.u16() else { return };
        let Some(name_len) = c.u16() else { return };
        let (addr, skip): (IpAddr, usize) = match ty {
            1 | 3 => {
                let Some(a) = c.bytes(4) else { return };
                (ip4(a).into(), 8 + if ty == 1 { 8 } else { 0 })
            }
            2 | 4 => {
                let Some(a) = c.bytes(16) else { return };
                (ip6(a).into(), 32 + if ty == 2 { 8 } else { 0 })
            }
            _ => return,
        };
        if c.bytes(skip).is_none() {
            return;
        }
        let Some(name) = c.bytes(name_len as usize) else {
            return;
        };
        out.push(Interface {
            name: String::from_utf8_lossy(name).into_owned(),
            addr,
        });
        if let Some(n) = next {
            if n < c.pos || n > c.buf.len() {
                return;
            }
            c.pos = n;
        }
    }
}

/// IL v2 block listing the given addresses.
pub(crate) fn encode_il(b: &mut BlockBuf, ifs: &[Interface]) {
    b.begin(crate::block::IL_V2);
    for i in ifs {
        let name = &i.name.as_bytes()[..i.name.len().min(255)];
        match i.addr {
            IpAddr::V4(a) => {
                b.u32((2 + 2 + 12 + 8 + name.len()) as u32);
                b.u16(1);
                b.u16(name.len() as u16);
                b.bytes(&a.octets());
                b.bytes(&[255, 255, 255, 0]);
                b.bytes(&[0; 4]);
                b.u64(0);
            }
            IpAddr::V6(a) => {
                b.u32((2 + 2 + 48 + 8 + name.len()) as u32);
                b.u16(2);
                b.u16(name.len() as u16);
                b.bytes(&a.octets());
                b.bytes(&[0xff; 8]);
                b.bytes(&[0; 8]);
                b.bytes(&[0; 16]);
                b.u64(0);
            }
        }
        b.bytes(name);
    }
    b.finish();
}

/// Parses a UL block; stops quietly at the first malformed entry.
pub(crate) fn parse_ul(p: &[u8], v: u8, out: &mut Vec<UserEntry>) {
    let mut c = Cur::new(p);
    while c.remaining() >= 4 {
        let start = c.pos;
        let len = if v >= 2 {
            let Some(l) = c.u32() else { return };
            Some(l as usize)
        } else {
            None
        };
        let Some(kind) = c.u8() else { return };
        let e = match kind {
            0 => (|| {
                Some(UserEntry::User {
                    uid: c.u32()?,
                    gid: c.u32()?,
                    name: c.str16()?,
                    home: c.str16()?,
                    shell: c.str16()?,
                })
            })(),
            1 => (|| {
                Some(UserEntry::Group {
                    gid: c.u32()?,
                    name: c.str16()?,
                })
            })(),
            _ => None,
        };
        match (e, len) {
            (Some(e), _) => out.push(e),
            (None, None) => return,
            (None, Some(_)) => {}
        }
        if let Some(l) = len {
            if l < 5 || start + l > c.buf.len() {
                return;
            }
            c.pos = start + l;
        }
    }
}

/// UL v2 block.
pub(crate) fn encode_ul(b: &mut BlockBuf, users: &[UserEntry]) {
    b.begin(crate::block::UL_V2);
    for u in users {
        let start = b.buf.len();
        b.u32(0);
        match u {
            UserEntry::User {
                uid,
                gid,
                name,
                home,
                shell,
            } => {
                b.u8(0);
                b.u32(*uid);
                b.u32(*gid);
                b.str16(name, 255);
                b.str16(home, 1024);
                b.str16(shell, 1024);
            }
            UserEntry::Group { gid, name } => {
                b.u8(1);
                b.u32(*gid);
                b.str16(name, 255);
            }
        }
        let len = (b.buf.len() - start) as u32;
        b.buf[start..start + 4].copy_from_slice(&len.to_le_bytes());
    }
    b.finish();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pl_v9_round_trip() {
        let t = ProcessEntry {
            tid: 11,
            pid: 10,
            ptid: 1,
            comm: "app".into(),
            exe: "/usr/bin/app".into(),
            exepath: "/usr/bin/app".into(),
            args: vec!["-v".into(), "x".into()],
            cwd: "/tmp".into(),
            fdlimit: 1024,
            flags: 0,
            uid: 0,
            gid: 0,
            vtid: 11,
            vpid: 10,
        };
        let mut b = BlockBuf::default();
        b.begin(crate::block::PL_V9);
        encode_pl_entry(&mut b, &t);
        encode_pl_entry(&mut b, &t);
        b.finish();
        let payload = &b.buf[8..b.buf.len() - 4];
        let mut out = Vec::new();
        assert!(parse_pl(payload, 9, &mut out));
        assert_eq!(out, vec![t.clone(), t]);
    }

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

    #[test]
    fn il_ul_round_trip() {
        let ifs = vec![
            Interface {
                name: "lo".into(),
                addr: "127.0.0.1".parse().unwrap(),
            },
            Interface {
                name: "eth0".into(),
                addr: "fe80::1".parse().unwrap(),
            },
        ];
        let mut b = BlockBuf::default();
        encode_il(&mut b, &ifs);
        let mut out = Vec::new();
        parse_il(&b.buf[8..b.buf.len() - 4], 2, &mut out);
        assert_eq!(out, ifs);
        let users = vec![
            UserEntry::User {
                uid: 0,
                gid: 0,
                name: "root".into(),
                home: "/root".into(),
                shell: "/bin/sh".into(),
            },
            UserEntry::Group {
                gid: 0,
                name: "root".into(),
            },
        ];
        let mut b = BlockBuf::default();
        encode_ul(&mut b, &users);
        let mut out = Vec::new();
        parse_ul(&b.buf[8..b.buf.len() - 4], 2, &mut out);
        assert_eq!(out, users);
    }
}
