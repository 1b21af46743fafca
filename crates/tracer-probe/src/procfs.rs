//! The start-up snapshot: threads and open fds of the selected processes, from /proc.

use std::collections::HashMap;
use std::fs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;

use tracer_core::event::{Event, EventKind, FdTarget, L4Proto, ThreadInfo};

/// A socket found in /proc/net, by inode.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum NetSock {
    Inet {
        proto: L4Proto,
        local: SocketAddr,
        remote: SocketAddr,
        listening: bool,
    },
    Unix(String),
}

/// Socket tables of one network namespace, keyed by inode.
#[derive(Debug, Default)]
pub(crate) struct NetTables {
    socks: HashMap<u64, NetSock>,
    /// Local TCP ports in LISTEN state (to tell accepted connections from outgoing ones).
    listen_ports: Vec<u16>,
}

fn parse_hex_addr(s: &str) -> Option<SocketAddr> {
    let (ip, port) = s.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let ip = match ip.len() {
        8 => {
            let v = u32::from_str_radix(ip, 16).ok()?;
            IpAddr::V4(Ipv4Addr::from(v.to_ne_bytes()))
        }
        32 => {
            let mut b = [0u8; 16];
            for i in 0..4 {
                let w = u32::from_str_radix(&ip[i * 8..i * 8 + 8], 16).ok()?;
                b[i * 4..i * 4 + 4].copy_from_slice(&w.to_ne_bytes());
            }
            IpAddr::V6(Ipv6Addr::from(b))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

impl NetTables {
    /// Reads `/proc/<pid>/net/{tcp,tcp6,udp,udp6,unix}` (the namespace of `pid`).
    pub(crate) fn load(proc_root: &Path, pid: i32) -> NetTables {
        let mut t = NetTables::default();
        let base = proc_root.join(pid.to_string()).join("net");
        for (file, proto) in [
            ("tcp", L4Proto::Tcp),
            ("tcp6", L4Proto::Tcp),
            ("udp", L4Proto::Udp),
            ("udp6", L4Proto::Udp),
        ] {
            if let Ok(text) = fs::read_to_string(base.join(file)) {
                t.add_inet(&text, proto);
            }
        }
        if let Ok(text) = fs::read_to_string(base.join("unix")) {
            t.add_unix(&text);
        }
        t
    }

    pub(crate) fn add_inet(&mut self, text: &str, proto: L4Proto) {
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 10 {
                continue;
            }
            let (Some(local), Some(remote), Ok(inode)) = (
                parse_hex_addr(f[1]),
                parse_hex_addr(f[2]),
                f[9].parse::<u64>(),
            ) else {
                continue;
            };
            let listening = proto == L4Proto::Tcp && f[3] == "0A";
            if listening {
                self.listen_ports.push(local.port());
            }
            if inode != 0 {
                self.socks.insert(
                    inode,
                    NetSock::Inet {
                        proto,
                        local,
                        remote,
                        listening,
                    },
                );
            }
        }
    }

    pub(crate) fn add_unix(&mut self, text: &str) {
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 7 {
                continue;
            }
            if let Ok(inode) = f[6].parse::<u64>() {
                self.socks
                    .insert(inode, NetSock::Unix(f.get(7).unwrap_or(&"").to_string()));
            }
        }
    }

    /// What the socket with `inode` is.
    pub(crate) fn target(&self, inode: u64) -> FdTarget {
        match self.socks.get(&inode) {
            Some(NetSock::Inet {
                proto,
                local,
                remote,
                listening,
            }) => {
                let connected = remote.port() != 0;
                let server = *listening
                    || (*proto == L4Proto::Tcp
                        && connected
                        && self.listen_ports.contains(&local.port()));
                FdTarget::Inet {
                    proto: *proto,
                    local: Some(*local),
                    remote: connected.then_some(*remote),
                    server,
                }
            }
            Some(NetSock::Unix(path)) => FdTarget::Unix(path.clone()),
            None => FdTarget::Other(format!("socket:[{inode}]")),
        }
    }
}

/// Classifies a `/proc/<pid>/fd/<n>` link target.
pub(crate) fn fd_target(link: &str, is_dir: bool, net: &NetTables) -> FdTarget {
    if let Some(ino) = link
        .strip_prefix("socket:[")
        .and_then(|s| s.strip_suffix(']'))
    {
        return ino
            .parse()
            .map(|i| net.target(i))
            .unwrap_or(FdTarget::Unknown);
    }
    if link.starts_with("pipe:[") {
        return FdTarget::Pipe;
    }
    if link.starts_with('/') {
        return if is_dir {
            FdTarget::Directory(link.to_string())
        } else {
            FdTarget::File(link.to_string())
        };
    }
    FdTarget::Other(link.to_string())
}

fn status_field(status: &str, key: &str) -> Option<i64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key).and_then(|v| v.trim().parse().ok()))
}

/// Reads one thread's identity.
fn thread_info(proc_root: &Path, pid: i32, tid: i32) -> Option<ThreadInfo> {
    let pdir = proc_root.join(pid.to_string());
    let tdir = pdir.join("task").join(tid.to_string());
    let comm = fs::read_to_string(tdir.join("comm"))
        .ok()?
        .trim_end_matches('\n')
        .to_string();
    let status = fs::read_to_string(pdir.join("status")).unwrap_or_default();
    let ppid = status_field(&status, "PPid:").unwrap_or(0);
    let cmdline = fs::read(pdir.join("cmdline")).unwrap_or_default();
    let mut argv = cmdline
        .split(|&b| b == 0)
        .map(|s| String::from_utf8_lossy(s).into_owned());
    let argv0 = argv.next().unwrap_or_default();
    let mut args: Vec<String> = argv.collect();
    if args.last().is_some_and(|a| a.is_empty()) {
        args.pop();
    }
    let exe = fs::read_link(pdir.join("exe"))
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or(argv0);
    let cwd = fs::read_link(pdir.join("cwd"))
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    // sysdig keeps the parent process as ptid for threads found by the /proc scan
    Some(ThreadInfo {
        tid: tid as i64,
        pid: pid as i64,
        ptid: ppid,
        comm,
        exe,
        args,
        cwd,
    })
}

fn numeric_entries(dir: &Path) -> Vec<i32> {
    let mut v: Vec<i32> = fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    v.sort_unstable();
    v
}

/// All process ids in /proc.
pub(crate) fn all_pids(proc_root: &Path) -> Vec<i32> {
    numeric_entries(proc_root)
}

/// The `comm` of a process, if it exists.
pub(crate) fn comm_of(proc_root: &Path, pid: i32) -> Option<String> {
    fs::read_to_string(proc_root.join(pid.to_string()).join("comm"))
        .ok()
        .map(|s| s.trim_end_matches('\n').to_string())
}

/// Snapshot events for `pids`: a `ThreadInfo` per thread, then an `FdSnapshot` per fd.
/// Processes that vanish during the scan are skipped.
pub(crate) fn snapshot(proc_root: &Path, pids: &[i32], ts: u64) -> Vec<Event> {
    let mut out = vec![];
    let mut nets: HashMap<String, NetTables> = HashMap::new();
    for &pid in pids {
        let pdir = proc_root.join(pid.to_string());
        let tids = numeric_entries(&pdir.join("task"));
        let infos: Vec<ThreadInfo> = tids
            .iter()
            .filter_map(|&t| thread_info(proc_root, pid, t))
            .collect();
        if infos.is_empty() {
            continue;
        }
        for info in infos {
            out.push(Event {
                ts,
                tid: info.tid,
                pid: pid as i64,
                kind: EventKind::ThreadInfo(info),
            });
        }
        let netns = fs::read_link(pdir.join("ns/net"))
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let net = nets
            .entry(netns)
            .or_insert_with(|| NetTables::load(proc_root, pid));
        for fd in numeric_entries(&pdir.join("fd")) {
            let path = pdir.join("fd").join(fd.to_string());
            let Ok(link) = fs::read_link(&path) else {
                continue;
            };
            let link = link.to_string_lossy().into_owned();
            let is_dir = fs::metadata(&path).map(|m| m.is_dir()).unwrap_or(false);
            out.push(Event {
                ts,
                tid: pid as i64,
                pid: pid as i64,
                kind: EventKind::FdSnapshot {
                    fd: fd as i64,
                    target: fd_target(&link, is_dir, net),
                },
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1111 1 0 100 0 0 10 0
   1: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 2222 1 0 20 4 30 10 -1
   2: 0100007F:D431 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 3333 1 0 20 4 30 10 -1
";

    #[test]
    fn parses_tcp_table_and_sides() {
        let mut t = NetTables::default();
        t.add_inet(TCP, L4Proto::Tcp);
        let a: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let b: SocketAddr = "127.0.0.1:54321".parse().unwrap();
        assert_eq!(
            t.target(1111),
            FdTarget::Inet {
                proto: L4Proto::Tcp,
                local: Some(a),
                remote: None,
                server: true
            }
        );
        assert_eq!(
            t.target(2222),
            FdTarget::Inet {
                proto: L4Proto::Tcp,
                local: Some(a),
                remote: Some(b),
                server: true
            }
        );
        assert_eq!(
            t.target(3333),
            FdTarget::Inet {
                proto: L4Proto::Tcp,
                local: Some(b),
                remote: Some(a),
                server: false
            }
        );
        assert_eq!(t.target(9), FdTarget::Other("socket:[9]".into()));
    }

    #[test]
    fn parses_ipv6_and_unix() {
        let mut t = NetTables::default();
        t.add_inet(
            "h\n 0: 00000000000000000000000001000000:0035 00000000000000000000000000000000:0000 07 0:0 0:0 0 0 0 77 1\n",
            L4Proto::Udp,
        );
        assert_eq!(
            t.target(77),
            FdTarget::Inet {
                proto: L4Proto::Udp,
                local: Some("[::1]:53".parse().unwrap()),
                remote: None,
                server: false
            }
        );
        t.add_unix("Num RefCount Protocol Flags Type St Inode Path\n0: 00000002 00000000 00010000 0001 01 4242 /run/x.sock\n");
        assert_eq!(t.target(4242), FdTarget::Unix("/run/x.sock".into()));
        assert_eq!(fd_target("pipe:[5]", false, &t), FdTarget::Pipe);
        assert_eq!(
            fd_target("/dev/null", false, &t),
            FdTarget::File("/dev/null".into())
        );
        assert_eq!(
            fd_target("anon_inode:[eventfd]", false, &t),
            FdTarget::Other("anon_inode:[eventfd]".into())
        );
    }

    #[test]
    fn snapshots_this_process() {
        let me = std::process::id() as i32;
        let f = std::fs::File::open("/dev/null").unwrap();
        use std::os::fd::AsRawFd;
        let fd = f.as_raw_fd() as i64;
        let ev = snapshot(Path::new("/proc"), &[me], 1);
        assert!(ev
            .iter()
            .any(|e| matches!(&e.kind, EventKind::ThreadInfo(t) if t.tid == me as i64)));
        assert!(ev.iter().any(|e| e.kind
            == EventKind::FdSnapshot {
                fd,
                target: FdTarget::File("/dev/null".into())
            }));
    }
}
