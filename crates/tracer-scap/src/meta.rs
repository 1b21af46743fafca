//! Metadata blocks: machine info, process list, interface list, user list (the fd
//! list is in [`crate::fdlist`]). Parsing (all versions sysdig ever wrote) and encoding
//! (the versions 0.29.3 writes).

use std::net::IpAddr;

use crate::block::{BlockBuf, Cur};
use crate::fdlist::{ip4, ip6};

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

/// The user list the writer records: `root` user and group (the project captures
/// no real user table).
pub(crate) fn root_users() -> [UserEntry; 2] {
    [
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
    ]
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
        let users = root_users();
        let mut b = BlockBuf::default();
        encode_ul(&mut b, &users);
        let mut out = Vec::new();
        parse_ul(&b.buf[8..b.buf.len() - 4], 2, &mut out);
        assert_eq!(out, users);
    }
}
