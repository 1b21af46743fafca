//! sysdig's names of fd targets (`fd.name`) and socket endpoints.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::event::FdTarget;

/// sysdig's `fd.name` of a target — the one naming function of the project (the engine's
/// interned names, bytes-by tables and the filter's `fd.name` should all use it):
/// - files, directories and unix sockets: the path (possibly empty);
/// - IPv4/IPv6 sockets: `cip:cport->sip:sport` (client side first, whatever side this
///   process is), a lone endpoint as `ip:port` (a bound or listening socket), nothing
///   when no endpoint is known. Addresses are printed like sysdig (`inet_ntop`, **no
///   brackets** around IPv6 addresses: `::1:38255->::1:2345`);
/// - pipes: empty (sysdig names a `pipe()` fd with the empty string);
/// - other kinds: the producer's name; unknown targets: empty (sysdig reports the empty
///   name on the exit of an I/O syscall on an fd it does not know).
pub fn fd_name(target: &FdTarget) -> Cow<'_, str> {
    match target {
        FdTarget::File(p) | FdTarget::Directory(p) | FdTarget::Unix(p) => Cow::Borrowed(p),
        FdTarget::Inet {
            local,
            remote,
            server,
            ..
        } => {
            let (client, srv) = if *server {
                (remote, local)
            } else {
                (local, remote)
            };
            let mut out = String::with_capacity(48);
            match (client, srv) {
                (Some(c), Some(s)) => {
                    push_endpoint(&mut out, c);
                    out.push_str("->");
                    push_endpoint(&mut out, s);
                }
                (Some(a), None) | (None, Some(a)) => push_endpoint(&mut out, a),
                (None, None) => {}
            }
            Cow::Owned(out)
        }
        FdTarget::Other(s) => Cow::Borrowed(s),
        FdTarget::Pipe | FdTarget::Unknown => Cow::Borrowed(""),
    }
}

/// Appends `ip:port` as sysdig prints a socket endpoint (IPv6 without brackets).
pub fn push_endpoint(out: &mut String, a: &SocketAddr) {
    match a {
        // Every connection from a new client port gets a new name: IPv4 endpoints
        // are printed by hand (the same text as `Display`, without the formatting
        // machinery).
        SocketAddr::V4(v) => push_ipv4_port(out, v.ip(), v.port()),
        SocketAddr::V6(v) => {
            use std::fmt::Write as _;
            // Writing to a String cannot fail.
            let _ = write!(out, "{}:{}", v.ip(), v.port());
        }
    }
}

/// `a.to_string()` (`ip:port`, IPv6 in brackets), IPv4 printed by hand.
pub(crate) fn socket_addr_text(a: &SocketAddr) -> String {
    match a {
        SocketAddr::V4(v) => {
            let mut out = String::with_capacity(21);
            push_ipv4_port(&mut out, v.ip(), v.port());
            out
        }
        SocketAddr::V6(_) => a.to_string(),
    }
}

/// Appends `a.b.c.d:port` (what `Display` prints for an IPv4 socket address).
fn push_ipv4_port(out: &mut String, ip: &Ipv4Addr, port: u16) {
    let mut digits = itoa::Buffer::new();
    for (i, o) in ip.octets().into_iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        out.push_str(digits.format(o));
    }
    out.push(':');
    out.push_str(digits.format(port));
}

/// The local endpoint sysdig infers for a datagram socket whose local side is unknown
/// when a `sendto`/`recvfrom`… tuple names only the peer (an unbound socket: the kernel
/// picks the address after the enter event). sysdig picks the capture machine's
/// interface address matching the peer: for a loopback peer that is the loopback
/// address (`127.0.0.1` for any `127.x`, `::1`), with port 0. For other peers it needs
/// the machine's interface list, which the event model does not carry: `None` then.
pub fn infer_local(remote: &SocketAddr) -> Option<SocketAddr> {
    let ip = match remote.ip() {
        IpAddr::V4(v4) if v4.is_loopback() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_loopback() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        _ => return None,
    };
    Some(SocketAddr::new(ip, 0))
}

/// A socket address (or none) as a cheap hash key: every part that its printed forms
/// show (`fd_name`, `to_string`: address, port, IPv6 scope id), packed into integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct AddrKey(u128, u64);

/// Hashes the key as one word (equal keys still hash alike; equality compares every
/// part): an endpoint-pair lookup per accept/connect hashes two words, not six.
impl std::hash::Hash for AddrKey {
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // The port stays in the low bits (the hasher mixes low bits into high ones).
        let (lo, hi) = (self.0 as u64, (self.0 >> 64) as u64);
        state.write_u64(self.1 ^ lo.rotate_left(16) ^ hi.rotate_left(40));
    }
}

impl AddrKey {
    #[inline]
    pub(super) fn of(a: Option<SocketAddr>) -> AddrKey {
        match a {
            None => AddrKey(0, 0),
            Some(SocketAddr::V4(v)) => {
                AddrKey(u128::from(v.ip().to_bits()), 1 << 48 | u64::from(v.port()))
            }
            Some(SocketAddr::V6(v)) => AddrKey(
                v.ip().to_bits(),
                2 << 48 | u64::from(v.scope_id()) << 16 | u64::from(v.port()),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::L4Proto;

    fn inet(local: Option<&str>, remote: Option<&str>, server: bool) -> FdTarget {
        FdTarget::Inet {
            proto: L4Proto::Tcp,
            local: local.map(|a| a.parse().unwrap()),
            remote: remote.map(|a| a.parse().unwrap()),
            server,
        }
    }

    #[test]
    fn names_like_sysdig() {
        // Client side first; IPv6 without brackets (sysdig 0.29 output).
        let t = inet(Some("10.0.0.1:40001"), Some("93.184.216.34:80"), false);
        assert_eq!(fd_name(&t), "10.0.0.1:40001->93.184.216.34:80");
        let t = inet(Some("10.0.0.1:8080"), Some("192.168.1.5:51000"), true);
        assert_eq!(fd_name(&t), "192.168.1.5:51000->10.0.0.1:8080");
        let t = inet(Some("[::1]:38255"), Some("[::1]:2345"), false);
        assert_eq!(fd_name(&t), "::1:38255->::1:2345");
        let t = inet(
            Some("[2600:1f18:262c:6542:9aa6:df7a:9a47:d29e]:37140"),
            Some("[2607:f8b0:4004:802::2004]:80"),
            false,
        );
        assert_eq!(
            fd_name(&t),
            "2600:1f18:262c:6542:9aa6:df7a:9a47:d29e:37140->2607:f8b0:4004:802::2004:80"
        );
        assert_eq!(fd_name(&inet(Some("[::]:53"), None, true)), ":::53");
        assert_eq!(fd_name(&inet(None, None, false)), "");
        assert_eq!(fd_name(&FdTarget::Pipe), "");
        assert_eq!(fd_name(&FdTarget::Unknown), "");
        assert_eq!(fd_name(&FdTarget::File("/a b".into())), "/a b");
        assert!(matches!(
            fd_name(&FdTarget::File("/x".into())),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn ipv4_text_matches_display() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut addrs: Vec<SocketAddr> = vec![
            "0.0.0.0:0".parse().unwrap(),
            "255.255.255.255:65535".parse().unwrap(),
            "10.0.0.1:8080".parse().unwrap(),
            "[::1]:53".parse().unwrap(),
            "[fe80::1%3]:80".parse().unwrap(),
        ];
        for _ in 0..2000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let ip = Ipv4Addr::from((x >> 16) as u32);
            addrs.push(SocketAddr::new(IpAddr::V4(ip), (x & 0xffff) as u16));
        }
        for a in addrs {
            assert_eq!(socket_addr_text(&a), a.to_string());
            let mut s = String::new();
            push_endpoint(&mut s, &a);
            assert_eq!(s, format!("{}:{}", a.ip(), a.port()));
        }
    }

    #[test]
    fn both_views_of_a_connection_share_names() {
        use crate::fds::{FdTables, SocketUpdate};
        let a = |s: &str| Some(s.parse::<SocketAddr>().unwrap());
        let mut t = FdTables::default();
        let tab = t.new_table();
        let upd = |local, remote, server| SocketUpdate {
            local,
            remote,
            server: Some(server),
            ..Default::default()
        };
        // Server side (accept), client side (connect) of one connection, then the
        // server side again on another fd: one name id; the peers differ.
        t.update_socket(tab, 3, upd(a("10.0.0.1:80"), a("10.0.0.2:5000"), true));
        t.update_socket(tab, 4, upd(a("10.0.0.2:5000"), a("10.0.0.1:80"), false));
        t.update_socket(tab, 5, upd(a("10.0.0.1:80"), a("10.0.0.2:5000"), true));
        let (s, c, s2) = (
            t.get(tab, 3).unwrap(),
            t.get(tab, 4).unwrap(),
            t.get(tab, 5).unwrap(),
        );
        assert_eq!(t.name(s.name_id), "10.0.0.2:5000->10.0.0.1:80");
        assert_eq!((s.name_id, s.peer_id), (c.name_id, s2.peer_id));
        assert_eq!(s.name_id, s2.name_id);
        assert_eq!(t.name(s.peer_id.unwrap()), "10.0.0.2:5000");
        assert_eq!(t.name(c.peer_id.unwrap()), "10.0.0.1:80");
    }

    #[test]
    fn closed_paths_are_reused_cleanly() {
        use crate::fds::FdTables;
        let mut t = FdTables::default();
        let tab = t.new_table();
        t.open(
            tab,
            3,
            FdTarget::File("/a/much/longer/path.txt".into()),
            false,
        );
        let closed = t.close(tab, 3).unwrap();
        t.recycle(closed);
        let p = t.spare_path();
        assert!(p.is_empty() && p.capacity() >= "/a/much/longer/path.txt".len());
        assert!(t.spare_path().is_empty());
    }

    #[test]
    fn infers_loopback_local_side() {
        let a = |s: &str| s.parse::<SocketAddr>().unwrap();
        assert_eq!(infer_local(&a("[::1]:2345")), Some(a("[::1]:0")));
        assert_eq!(infer_local(&a("127.0.0.53:53")), Some(a("127.0.0.1:0")));
        assert_eq!(infer_local(&a("8.8.8.8:53")), None);
    }
}
