//! Event records: splitting an event into its parameters (v1 and v2 headers), typed
//! parameter access by name, and the encoders of the compound parameter types.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::OnceLock;

use crate::evtable::{EVENT_MAX, EVENT_TABLE};

/// At most this many parameters are kept per event (`PPM_MAX_EVENT_PARAMS`).
pub(crate) const MAX_PARAMS: usize = 32;

/// Parameters whose offsets are kept in [`RawEvent`] (the decoder's fields of the
/// common syscalls are among the first few); later ones are found by summing lengths.
const FAST: usize = 4;

/// What parsing an event finds, apart from its bytes: the header fields and where the
/// parameters are. Small and plain, so that an enter event's head is stored (beside a
/// copy of its bytes) without re-parsing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Head {
    pub ts: u64,
    pub tid: u64,
    pub etype: u16,
    /// Parameters accessible (≤ MAX_PARAMS).
    n: u8,
    /// Width of a length entry (2, or 4 for LARGE blocks).
    lw: u8,
    /// Offset of the length array (22 or 26).
    lens_at: u8,
    /// `offs[i]..offs[i + 1]`: parameter `i` (for `i < min(n, FAST)`); `offs[0]` is
    /// the offset of the first parameter's bytes. All within the event once parsed.
    offs: [u32; FAST + 1],
    /// Where the decoder's fields are among this event type's parameters.
    lay: &'static Layout,
}

/// One event split into parameters; borrows the block buffer. The offsets of the first
/// [`FAST`] parameters are computed once, while the lengths are validated; later
/// parameters' offsets are computed on access from the length array. The [`Head`]
/// fields (`ts`, `tid`, `etype`) are reached through `Deref`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawEvent<'a> {
    bytes: &'a [u8],
    /// The parsed header and parameter positions.
    pub(crate) head: Head,
}

impl std::ops::Deref for RawEvent<'_> {
    type Target = Head;
    #[inline(always)]
    fn deref(&self) -> &Head {
        &self.head
    }
}

impl<'a> RawEvent<'a> {
    /// Parses an event (`ppm_evt_hdr` + lengths + params). `v2`: the header has
    /// `nparams`; otherwise it is inferred from the event table as libscap does.
    /// `large`: parameter lengths are u32. `None` when the event is malformed.
    #[cfg(test)]
    pub(crate) fn parse(ev: &'a [u8], v2: bool, large: bool) -> Option<Self> {
        Self::parse_with(ev, v2, large, layouts())
    }

    /// Parses an event as `RawEvent::parse` (tests) does, with the field layouts at
    /// hand (see [`layouts`]).
    #[inline(always)]
    pub(crate) fn parse_with(
        ev: &'a [u8],
        v2: bool,
        large: bool,
        layouts: &'static Layouts,
    ) -> Option<Self> {
        let hdr = if v2 { 26 } else { 22 };
        let (h, _) = ev.split_first_chunk::<22>()?;
        let ts = u64::from_le_bytes([h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]]);
        let tid = u64::from_le_bytes([h[8], h[9], h[10], h[11], h[12], h[13], h[14], h[15]]);
        let len = u32::from_le_bytes([h[16], h[17], h[18], h[19]]) as usize;
        let etype = u16::from_le_bytes([h[20], h[21]]);
        if len < hdr || len > ev.len() {
            return None;
        }
        let ev = ev.get(..len)?;
        let lw = if large { 4 } else { 2 };
        let nfile = if v2 {
            let (h, _) = ev.split_first_chunk::<26>()?;
            u32::from_le_bytes([h[22], h[23], h[24], h[25]]) as usize
        } else {
            infer_count(ev, etype, large)?
        };
        let data_start = nfile.checked_mul(lw)?.checked_add(hdr)?;
        if data_start > len {
            return None;
        }
        // All parameters (also those beyond MAX_PARAMS) must fit in the event; the
        // first offsets are kept on the way.
        let mut offs = [data_start as u32; FAST + 1];
        let lens = ev.get(hdr..data_start)?;
        let end = if large {
            prefix_offsets::<4>(lens, data_start as u64, &mut offs)
        } else {
            prefix_offsets::<2>(lens, data_start as u64, &mut offs)
        };
        if end > len as u64 {
            return None;
        }
        let n = nfile.min(MAX_PARAMS);
        Some(RawEvent {
            bytes: ev,
            head: Head {
                ts,
                tid,
                etype,
                n: n as u8,
                lw: lw as u8,
                lens_at: hdr as u8,
                offs,
                lay: layouts.get(etype as usize).unwrap_or(NO_LAYOUT),
            },
        })
    }

    /// Raw bytes of the whole event.
    pub(crate) fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Parameter `i`, if present.
    #[inline(always)]
    pub(crate) fn param(&self, i: usize) -> Option<&'a [u8]> {
        self.head.param_in(self.bytes, i)
    }

    /// Parameter by field (resolved through the event table's parameter names).
    #[inline(always)]
    pub(crate) fn get(&self, f: Field) -> Option<&'a [u8]> {
        self.head.get_in(self.bytes, f)
    }

    /// Integer parameter (little-endian, 1/2/4/8 bytes; 8-byte values are signed).
    #[inline(always)]
    pub(crate) fn int(&self, f: Field) -> Option<i64> {
        self.get(f).and_then(le_int)
    }

    /// The return value (parameter 0 of an exit event).
    #[inline(always)]
    pub(crate) fn res(&self) -> Option<i64> {
        self.param(0).and_then(le_int)
    }

    /// A string parameter (CHARBUF/FSPATH), without its terminating NUL.
    pub(crate) fn string(&self, f: Field) -> Option<String> {
        self.get(f).map(lossy_string)
    }
}

impl Head {
    /// The head of an event without parameters (a placeholder).
    pub(crate) const EMPTY: Head = Head {
        ts: 0,
        tid: 0,
        etype: 0,
        n: 0,
        lw: 2,
        lens_at: 26,
        offs: [26; FAST + 1],
        lay: NO_LAYOUT,
    };

    /// Parameter `i` in `bytes` (the bytes this head was parsed from, or a copy).
    #[inline(always)]
    fn param_in<'b>(&self, bytes: &'b [u8], i: usize) -> Option<&'b [u8]> {
        if i >= self.n as usize {
            return None;
        }
        if i < FAST {
            return bytes.get(self.offs[i] as usize..self.offs[i + 1] as usize);
        }
        self.param_slow(bytes, i)
    }

    /// [`Head::param_in`] beyond the first [`FAST`] parameters: sums the lengths.
    #[cold]
    #[inline(never)]
    fn param_slow<'b>(&self, bytes: &'b [u8], i: usize) -> Option<&'b [u8]> {
        let lw = self.lw as usize;
        let lens = bytes.get(self.lens_at as usize..self.lens_at as usize + (i + 1) * lw)?;
        let (before, this) = lens.split_at(i * lw);
        let off = self.offs[0] as usize + sum_lens(before, lw == 4) as usize;
        let len = if lw == 4 {
            u32::from_le_bytes([this[0], this[1], this[2], this[3]]) as usize
        } else {
            u16::from_le_bytes([this[0], this[1]]) as usize
        };
        bytes.get(off..off.checked_add(len)?)
    }

    /// Parameter by field in `bytes` (the bytes this head was parsed from, or a copy).
    #[inline(always)]
    fn get_in<'b>(&self, bytes: &'b [u8], f: Field) -> Option<&'b [u8]> {
        let i = self.lay[f as usize];
        if i == NONE {
            None
        } else {
            self.param_in(bytes, i as usize)
        }
    }
}

/// A string parameter's bytes as a string, without the terminating NUL.
fn lossy_string(b: &[u8]) -> String {
    let b = b.strip_suffix(&[0]).unwrap_or(b);
    String::from_utf8_lossy(b).into_owned()
}

/// A stored event (an enter waiting for its exit): its parsed [`Head`] and a copy of
/// its bytes. Lent without copying the head.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stored<'a> {
    /// The parsed event.
    pub(crate) head: &'a Head,
    /// A copy of the event's bytes.
    pub(crate) bytes: &'a [u8],
}

impl<'a> Stored<'a> {
    /// The event's timestamp.
    #[inline(always)]
    pub(crate) fn ts(&self) -> u64 {
        self.head.ts
    }

    /// Parameter `i`, if present.
    #[cfg(test)]
    pub(crate) fn param(&self, i: usize) -> Option<&'a [u8]> {
        self.head.param_in(self.bytes, i)
    }

    /// Parameter by field.
    #[inline(always)]
    pub(crate) fn get(&self, f: Field) -> Option<&'a [u8]> {
        self.head.get_in(self.bytes, f)
    }

    /// Integer parameter (see [`RawEvent::int`]).
    #[inline(always)]
    pub(crate) fn int(&self, f: Field) -> Option<i64> {
        self.get(f).and_then(le_int)
    }

    /// A string parameter (see [`RawEvent::string`]).
    pub(crate) fn string(&self, f: Field) -> Option<String> {
        self.get(f).map(lossy_string)
    }
}

/// Walks a length array of `W`-byte entries starting at offset `start`: stores the end
/// offsets of the first parameters in `offs[1..]` (truncated to u32: only used when
/// the returned end offset of all parameters fits in the event).
#[inline(always)]
fn prefix_offsets<const W: usize>(lens: &[u8], start: u64, offs: &mut [u32; FAST + 1]) -> u64 {
    let mut acc = start;
    let mut it = lens.chunks_exact(W);
    for (o, c) in offs[1..].iter_mut().zip(it.by_ref()) {
        acc += entry::<W>(c);
        *o = acc as u32;
    }
    for c in it {
        acc += entry::<W>(c);
    }
    acc
}

/// One length entry (`W` = 2 or 4 bytes, little-endian; `c` has `W` bytes).
#[inline(always)]
fn entry<const W: usize>(c: &[u8]) -> u64 {
    match c {
        [a, b] => u16::from_le_bytes([*a, *b]) as u64,
        [a, b, x, y] => u32::from_le_bytes([*a, *b, *x, *y]) as u64,
        _ => 0,
    }
}

/// Sum of a length array (u16 entries, or u32 for LARGE events).
#[inline(always)]
fn sum_lens(lens: &[u8], large: bool) -> u64 {
    if large {
        lens.chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64)
            .sum()
    } else {
        lens.chunks_exact(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as u64)
            .sum()
    }
}

/// Parameter count of a v1 event (no `nparams` in the header): the table's count, or
/// fewer, whichever makes the lengths add up exactly to the event length (as libscap).
#[cold]
#[inline(never)]
fn infer_count(ev: &[u8], etype: u16, large: bool) -> Option<usize> {
    const HDR: usize = 22;
    let lw = if large { 4 } else { 2 };
    let len = ev.len();
    let tn = EVENT_TABLE
        .get(etype as usize)
        .map_or(0, |e| e.params.len());
    (0..=tn).rev().find(|&n| {
        let data = HDR + n * lw;
        data <= len && data as u64 + sum_lens(&ev[HDR..data], large) == len as u64
    })
}

/// Little-endian integer of 1, 2, 4 or 8 bytes (8-byte values are read as signed).
#[inline(always)]
pub(crate) fn le_int(b: &[u8]) -> Option<i64> {
    // Most integer parameters (fds, return values, sizes) are 8 or 4 bytes.
    if let Ok(a) = <[u8; 8]>::try_from(b) {
        return Some(i64::from_le_bytes(a));
    }
    if let Ok(a) = <[u8; 4]>::try_from(b) {
        return Some(u32::from_le_bytes(a) as i64);
    }
    le_int_short(b)
}

/// [`le_int`] of 1 or 2 bytes (anything else is not an integer).
#[cold]
#[inline(never)]
fn le_int_short(b: &[u8]) -> Option<i64> {
    match *b {
        [x] => Some(x as i64),
        [x, y] => Some(u16::from_le_bytes([x, y]) as i64),
        _ => None,
    }
}

/// Parameters the decoder looks up by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub(crate) enum Field {
    Fd,
    Size,
    Data,
    Tuple,
    Addr,
    Name,
    Flags,
    Mode,
    Dirfd,
    InFd,
    OutFd,
    Fd1,
    Fd2,
    Pid,
    Exe,
    Args,
    Filename,
    Status,
    Cmd,
    Domain,
    SockType,
    Proto,
    NativeId,
    Pathname,
}

const FIELD_NAMES: [&str; 24] = [
    "fd", "size", "data", "tuple", "addr", "name", "flags", "mode", "dirfd", "in_fd", "out_fd",
    "fd1", "fd2", "pid", "exe", "args", "filename", "status", "cmd", "domain", "type", "proto",
    "nativeID", "pathname",
];
const NONE: u8 = u8::MAX;

/// Parameter index of each [`Field`] for one event type (`NONE`: absent).
pub(crate) type Layout = [u8; FIELD_NAMES.len()];

/// The layouts of all event types (index = type id).
pub(crate) type Layouts = [Layout; EVENT_MAX as usize];

/// The layout of event types beyond the table: no known fields.
const NO_LAYOUT: &Layout = &[NONE; FIELD_NAMES.len()];

/// The field layouts of all event types (index = type id), computed once.
pub(crate) fn layouts() -> &'static Layouts {
    static LAYOUTS: OnceLock<Layouts> = OnceLock::new();
    LAYOUTS.get_or_init(|| {
        std::array::from_fn(|i| {
            let mut l = [NONE; FIELD_NAMES.len()];
            for (fi, name) in FIELD_NAMES.iter().enumerate() {
                if let Some(pi) = EVENT_TABLE[i].params.iter().position(|(n, _)| n == name) {
                    l[fi] = pi as u8;
                }
            }
            l
        })
    })
}

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

    /// The write enter of `scap-format.md` §5.2.1 (event bytes after the cpu id).
    const WRITE_E: [u8; 42] = [
        0x00, 0x00, 0x2a, 0x36, 0xfe, 0x9c, 0x97, 0x17, 0xd2, 0x04, 0, 0, 0, 0, 0, 0, 0x2a, 0, 0,
        0, 0x08, 0x00, 0x02, 0, 0, 0, 0x08, 0x00, 0x04, 0x00, 0x03, 0, 0, 0, 0, 0, 0, 0, 0x16, 0,
        0, 0,
    ];

    #[test]
    fn parses_documented_write_enter() {
        let e = RawEvent::parse(&WRITE_E, true, false).unwrap();
        assert_eq!(e.ts, 1_700_000_000_000_000_000);
        assert_eq!(e.tid, 1234);
        assert_eq!(e.etype, 8);
        assert_eq!(e.int(Field::Fd), Some(3));
        assert_eq!(e.int(Field::Size), Some(22));
        assert_eq!(e.get(Field::Data), None);
    }

    #[test]
    fn v1_infers_param_count() {
        // Same event without nparams (22-byte header), len 38.
        let mut v1 = WRITE_E[..22].to_vec();
        v1[16] = 38;
        v1.extend_from_slice(&WRITE_E[26..]);
        let e = RawEvent::parse(&v1, false, false).unwrap();
        assert_eq!(e.int(Field::Fd), Some(3));
        assert_eq!(e.int(Field::Size), Some(22));
    }

    /// A v2 event of type 0 with parameters `ps` (u32 lengths when `large`).
    fn event_with(ps: &[&[u8]], large: bool) -> Vec<u8> {
        let lw = if large { 4 } else { 2 };
        let len = 26 + ps.len() * lw + ps.iter().map(|p| p.len()).sum::<usize>();
        let mut v = vec![0u8; 16];
        v.extend((len as u32).to_le_bytes());
        v.extend(0u16.to_le_bytes());
        v.extend((ps.len() as u32).to_le_bytes());
        for p in ps {
            if large {
                v.extend((p.len() as u32).to_le_bytes());
            } else {
                v.extend((p.len() as u16).to_le_bytes());
            }
        }
        for p in ps {
            v.extend_from_slice(p);
        }
        v
    }

    #[test]
    fn every_parameter_is_found_before_and_beyond_the_kept_offsets() {
        let ps: Vec<Vec<u8>> = (0..FAST + 3).map(|i| vec![i as u8; i * 3]).collect();
        let refs: Vec<&[u8]> = ps.iter().map(|p| &p[..]).collect();
        for large in [false, true] {
            let bytes = event_with(&refs, large);
            let e = RawEvent::parse(&bytes, true, large).unwrap();
            for (i, p) in ps.iter().enumerate() {
                assert_eq!(e.param(i), Some(&p[..]), "param {i} large={large}");
            }
            assert_eq!(e.param(ps.len()), None);
            // The same through a copy of the bytes (as the pairing stores enters).
            let copy = bytes.clone();
            let r = Stored {
                head: &e.head,
                bytes: &copy,
            };
            assert_eq!(r.param(FAST + 2), Some(&ps[FAST + 2][..]));
        }
    }

    #[test]
    fn integers_of_every_width() {
        assert_eq!(le_int(&[7]), Some(7));
        assert_eq!(le_int(&[1, 2]), Some(0x201));
        assert_eq!(le_int(&[0xff; 4]), Some(0xffff_ffff));
        assert_eq!(le_int(&[0xff; 8]), Some(-1));
        assert_eq!(le_int(&[1, 2, 3]), None);
        assert_eq!(le_int(&[]), None);
    }

    #[test]
    fn rejects_lengths_past_the_end() {
        let mut bad = WRITE_E;
        bad[26] = 0xff;
        assert!(RawEvent::parse(&bad, true, false).is_none());
        assert!(RawEvent::parse(&WRITE_E[..30], true, false).is_none());
    }

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
}
