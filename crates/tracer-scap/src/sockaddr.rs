//! The compound parameter types of socket syscalls: SOCKTUPLE and SOCKADDR
//! parameters, decoded for the reader and encoded for the writer.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4};

/// sysdig `PPM_AF_*` socket families.
pub(crate) const AF_UNIX: u8 = 1;
pub(crate) const AF_INET: u8 = 2;
pub(crate) const AF_INET6: u8 = 10;

/// A decoded SOCKTUPLE: (source, destination) or a unix path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tuple {
    Inet(Option<SocketAddr>, Option<SocketAddr>),
    Unix(String),
}

fn sa(ip: IpAddr, port: u16) -> Option<SocketAddr> {
    crate::fdlist::endpoint(ip, port)
}

/// Decodes a SOCKTUPLE parameter (`None` for empty or unknown families).
pub(crate) fn parse_tuple(b: &[u8]) -> Option<Tuple> {
    let (&fam, r) = b.split_first()?;
    match fam {
        AF_INET if r.len() >= 12 => {
            let s = Ipv4Addr::new(r[0], r[1], r[2], r[3]);
            let sp = u16::from_le_bytes([r[4], r[5]]);
            let d = Ipv4Addr::new(r[6], r[7], r[8], r[9]);
            let dp = u16::from_le_bytes([r[10], r[11]]);
            Some(Tuple::Inet(sa(s.into(), sp), sa(d.into(), dp)))
        }
        AF_INET6 if r.len() >= 36 => {
            let s: [u8; 16] = r[0..16].try_into().ok()?;
            let sp = u16::from_le_bytes([r[16], r[17]]);
            let d: [u8; 16] = r[18..34].try_into().ok()?;
            let dp = u16::from_le_bytes([r[34], r[35]]);
            Some(Tuple::Inet(
                sa(Ipv6Addr::from(s).into(), sp),
                sa(Ipv6Addr::from(d).into(), dp),
            ))
        }
        AF_UNIX if r.len() >= 16 => {
            let p = &r[16..];
            let end = p.iter().position(|&c| c == 0).unwrap_or(p.len());
            Some(Tuple::Unix(String::from_utf8_lossy(&p[..end]).into_owned()))
        }
        _ => None,
    }
}

/// The (source, destination) endpoints of an IPv4 SOCKTUPLE (the common case; see
/// [`parse_tuple`], which gives the same endpoints), `None` for any other parameter.
#[inline(always)]
pub(crate) fn parse_tuple4(b: &[u8]) -> Option<(Option<SocketAddr>, Option<SocketAddr>)> {
    let &[AF_INET, s0, s1, s2, s3, sp0, sp1, d0, d1, d2, d3, dp0, dp1, ..] = b else {
        return None;
    };
    let ep = |ip: [u8; 4], port: [u8; 2]| {
        let (ip, port) = (u32::from_be_bytes(ip), u16::from_le_bytes(port));
        // As `fdlist::endpoint`: the unspecified address with port 0 is no endpoint.
        ((ip | port as u32) != 0)
            .then(|| SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(ip), port)))
    };
    Some((
        ep([s0, s1, s2, s3], [sp0, sp1]),
        ep([d0, d1, d2, d3], [dp0, dp1]),
    ))
}

/// Decodes a SOCKADDR parameter.
pub(crate) fn parse_sockaddr(b: &[u8]) -> Option<Tuple> {
    let (&fam, r) = b.split_first()?;
    match fam {
        AF_INET if r.len() >= 6 => {
            let ip = Ipv4Addr::new(r[0], r[1], r[2], r[3]);
            Some(Tuple::Inet(
                sa(ip.into(), u16::from_le_bytes([r[4], r[5]])),
                None,
            ))
        }
        AF_INET6 if r.len() >= 18 => {
            let ip: [u8; 16] = r[0..16].try_into().ok()?;
            Some(Tuple::Inet(
                sa(
                    Ipv6Addr::from(ip).into(),
                    u16::from_le_bytes([r[16], r[17]]),
                ),
                None,
            ))
        }
        AF_UNIX => {
            let end = r.iter().position(|&c| c == 0).unwrap_or(r.len());
            Some(Tuple::Unix(String::from_utf8_lossy(&r[..end]).into_owned()))
        }
        _ => None,
    }
}

/// Encodes a SOCKTUPLE (source → destination). Empty when both sides are unknown.
pub(crate) fn encode_tuple(out: &mut Vec<u8>, s: Option<SocketAddr>, d: Option<SocketAddr>) {
    use crate::fdlist::{ip4_bytes, ip6_bytes};
    let zero = SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 0);
    let v6 = matches!(s.or(d), Some(SocketAddr::V6(_)));
    if s.is_none() && d.is_none() {
        return;
    }
    let (s, d) = (s.unwrap_or(zero), d.unwrap_or(zero));
    if v6 {
        out.push(AF_INET6);
        out.extend_from_slice(&ip6_bytes(s.ip()));
        out.extend_from_slice(&s.port().to_le_bytes());
        out.extend_from_slice(&ip6_bytes(d.ip()));
        out.extend_from_slice(&d.port().to_le_bytes());
    } else {
        out.push(AF_INET);
        out.extend_from_slice(&ip4_bytes(s.ip()));
        out.extend_from_slice(&s.port().to_le_bytes());
        out.extend_from_slice(&ip4_bytes(d.ip()));
        out.extend_from_slice(&d.port().to_le_bytes());
    }
}

/// Encodes a unix-socket SOCKTUPLE.
pub(crate) fn encode_unix_tuple(out: &mut Vec<u8>, path: &str) {
    out.push(AF_UNIX);
    out.extend_from_slice(&[0; 16]);
    out.extend_from_slice(path.as_bytes());
    out.push(0);
}

/// Encodes a SOCKADDR.
pub(crate) fn encode_sockaddr(out: &mut Vec<u8>, a: SocketAddr) {
    match a {
        SocketAddr::V4(a) => {
            out.push(AF_INET);
            out.extend_from_slice(&a.ip().octets());
        }
        SocketAddr::V6(a) => {
            out.push(AF_INET6);
            out.extend_from_slice(&a.ip().octets());
        }
    }
    out.extend_from_slice(&a.port().to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tuple_round_trip() {
        let s: SocketAddr = "10.0.0.1:40001".parse().unwrap();
        let d: SocketAddr = "[2001:db8::1]:80".parse().unwrap();
        let mut b = Vec::new();
        encode_tuple(&mut b, Some(s), Some("93.184.216.34:80".parse().unwrap()));
        assert_eq!(b.len(), 13);
        assert_eq!(
            parse_tuple(&b),
            Some(Tuple::Inet(
                Some(s),
                Some("93.184.216.34:80".parse().unwrap())
            ))
        );
        let mut b = Vec::new();
        encode_tuple(&mut b, Some("[::1]:5".parse().unwrap()), Some(d));
        assert_eq!(b.len(), 37);
        assert_eq!(
            parse_tuple(&b),
            Some(Tuple::Inet(Some("[::1]:5".parse().unwrap()), Some(d)))
        );
    }

    #[test]
    fn ipv4_fast_path_matches_parse_tuple() {
        let a: SocketAddr = "127.0.0.1:8888".parse().unwrap();
        let z: SocketAddr = "0.0.0.0:0".parse().unwrap();
        let cases = [
            (Some(a), Some("10.1.2.3:40001".parse().unwrap())),
            (Some(a), None),
            (None, Some(a)),
            (
                Some("0.0.0.0:80".parse().unwrap()),
                Some("1.2.3.4:0".parse().unwrap()),
            ),
        ];
        for (s, d) in cases {
            let mut b = Vec::new();
            encode_tuple(&mut b, s, d);
            assert_eq!(parse_tuple4(&b), Some((s, d)));
            assert_eq!(parse_tuple(&b), Some(Tuple::Inet(s, d)));
            // Trailing bytes are ignored by both.
            b.push(7);
            assert_eq!(parse_tuple4(&b), Some((s, d)));
        }
        let mut b = Vec::new();
        encode_tuple(&mut b, Some(z), Some(a));
        assert_eq!(
            parse_tuple4(&b),
            Some((None, Some(a))),
            "0.0.0.0:0 is no endpoint"
        );
        b.clear();
        encode_tuple(&mut b, None, Some("[::1]:5".parse().unwrap()));
        assert_eq!(parse_tuple4(&b), None, "IPv6 goes the general way");
        b.clear();
        encode_unix_tuple(&mut b, "/run/x.sock");
        assert_eq!(parse_tuple4(&b), None);
        assert_eq!(parse_tuple4(&[AF_INET, 1, 2, 3]), None, "short");
        assert_eq!(parse_tuple4(&[]), None);
    }
}
