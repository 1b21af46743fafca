//! Event records: splitting an event into its parameters (v1 and v2 headers) and
//! typed parameter access by name. The compound parameter types (socket tuples and
//! addresses) are in [`crate::sockaddr`].

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
        if v2 && !large {
            Self::parse_v2(ev, layouts)
        } else {
            Self::parse_other(ev, v2, large, layouts)
        }
    }

    /// [`RawEvent::parse_with`] of the usual events: a v2 header and u16 lengths.
    #[inline(always)]
    fn parse_v2(ev: &'a [u8], layouts: &'static Layouts) -> Option<Self> {
        const HDR: usize = 26;
        let (h, _) = ev.split_first_chunk::<HDR>()?;
        let len = u32::from_le_bytes([h[16], h[17], h[18], h[19]]) as usize;
        if len < HDR || len > ev.len() {
            return None;
        }
        let nfile = u32::from_le_bytes([h[22], h[23], h[24], h[25]]) as u64;
        let data_start = HDR as u64 + 2 * nfile;
        if data_start > len as u64 {
            return None;
        }
        let ev = ev.get(..len)?;
        let lens = ev.get(HDR..data_start as usize)?;
        // All parameters (also those beyond MAX_PARAMS) must fit in the event; the
        // first offsets are kept on the way.
        let mut offs = [data_start as u32; FAST + 1];
        let end = prefix_offsets::<2>(lens, data_start, &mut offs);
        if end > len as u64 {
            return None;
        }
        let etype = u16::from_le_bytes([h[20], h[21]]);
        Some(RawEvent {
            bytes: ev,
            head: Head {
                ts: u64::from_le_bytes([h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]]),
                tid: u64::from_le_bytes([h[8], h[9], h[10], h[11], h[12], h[13], h[14], h[15]]),
                etype,
                n: nfile.min(MAX_PARAMS as u64) as u8,
                lw: 2,
                lens_at: HDR as u8,
                offs,
                lay: layouts.get(etype as usize).unwrap_or(NO_LAYOUT),
            },
        })
    }

    /// [`RawEvent::parse_with`] of v1 headers and LARGE (u32) lengths.
    #[inline(always)]
    fn parse_other(ev: &'a [u8], v2: bool, large: bool, layouts: &'static Layouts) -> Option<Self> {
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
    pub(crate) fn param_in<'b>(&self, bytes: &'b [u8], i: usize) -> Option<&'b [u8]> {
        if i >= self.n as usize {
            return None;
        }
        if i < FAST {
            return bytes.get(self.offs[i] as usize..self.offs[i + 1] as usize);
        }
        self.param_slow(bytes, i)
    }

    /// [`Head::param_in`] beyond the first [`FAST`] parameters (`i >= FAST`): sums
    /// the lengths of the parameters from `FAST` (which starts at `offs[FAST]`).
    #[cold]
    #[inline(never)]
    fn param_slow<'b>(&self, bytes: &'b [u8], i: usize) -> Option<&'b [u8]> {
        let lw = self.lw as usize;
        let lens_at = self.lens_at as usize;
        let lens = bytes.get(lens_at + FAST * lw..lens_at + (i + 1) * lw)?;
        let (before, this) = lens.split_at(i.checked_sub(FAST)? * lw);
        let off = self.offs[FAST] as usize + sum_lens(before, lw == 4) as usize;
        let len = if lw == 4 {
            u32::from_le_bytes([this[0], this[1], this[2], this[3]]) as usize
        } else {
            u16::from_le_bytes([this[0], this[1]]) as usize
        };
        bytes.get(off..off.checked_add(len)?)
    }

    /// Parameter by field in `bytes` (the bytes this head was parsed from, or a copy).
    #[inline(always)]
    pub(crate) fn get_in<'b>(&self, bytes: &'b [u8], f: Field) -> Option<&'b [u8]> {
        let i = self.lay[f as usize];
        if i == NONE {
            None
        } else {
            self.param_in(bytes, i as usize)
        }
    }
}

/// A string parameter's bytes as a string, without the terminating NUL.
pub(crate) fn lossy_string(b: &[u8]) -> String {
    let b = b.strip_suffix(&[0]).unwrap_or(b);
    String::from_utf8_lossy(b).into_owned()
}

/// Walks a length array of `W`-byte entries starting at offset `start`: stores the end
/// offsets of the first parameters in `offs[1..]` (truncated to u32: only used when
/// the returned end offset of all parameters fits in the event).
#[inline(always)]
fn prefix_offsets<const W: usize>(lens: &[u8], start: u64, offs: &mut [u32; FAST + 1]) -> u64 {
    let mut acc = start;
    let mut it = lens.chunks_exact(W);
    for o in offs[1..].iter_mut() {
        let Some(c) = it.next() else {
            return acc;
        };
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
            assert_eq!(e.head.param_in(&copy, FAST + 2), Some(&ps[FAST + 2][..]));
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
}
