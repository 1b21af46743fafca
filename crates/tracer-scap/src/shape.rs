//! Fixed shapes: the v2 layout of event types whose parameters all have fixed sizes
//! except maybe the last. An event of such a type (with u16 lengths) that has exactly
//! the table's parameter count and sizes has its parameters at fixed offsets: one
//! comparison of its header against the type's [`Shape`] replaces walking its length
//! array, and fields are read straight from their offsets. Anything else (other
//! counts or sizes, damage) does not match and goes through [`crate::params::RawEvent`],
//! which finds the same parameters the long way.

use crate::evtable::EventInfo;
use crate::params::le_int;

/// Bytes of the v2 event header before `nparams`.
const NPARAMS_AT: usize = 22;
/// Bytes compared at `NPARAMS_AT`: `nparams` (u32) and up to 6 u16 lengths.
const SIG_BYTES: usize = 16;
/// Most parameters of a shape (their count and lengths fit the compared bytes).
const MAX_SHAPE_PARAMS: usize = (SIG_BYTES - 4) / 2;

/// Where a field sits in an event of a [`Shape`]: a fixed-size parameter's offset and
/// width (1, 2, 4 or 8 bytes), or [`Loc::ABSENT`] or [`Loc::VAR`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Loc {
    at: u8,
    w: u8,
}

impl Loc {
    /// The type has no such parameter.
    pub(crate) const ABSENT: Loc = Loc { at: 0, w: 0 };
    /// The variable-size (last) parameter.
    pub(crate) const VAR: Loc = Loc { at: 0, w: u8::MAX };

    /// A fixed-size parameter.
    pub(crate) fn is_fixed(self) -> bool {
        self != Loc::ABSENT && self != Loc::VAR
    }
}

/// The fixed layout of one event type (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shape {
    /// `nparams` and the lengths of the fixed-size parameters as they appear at
    /// offset 22 (little-endian), under `mask` (the variable parameter's length and
    /// the bytes past the length array are not compared).
    sig: u128,
    mask: u128,
    /// Offset of the end of the fixed-size parameters.
    fixed_end: u16,
    /// Offset of the variable parameter's length entry (0: no variable parameter).
    var_len_at: u8,
    /// The return value (parameter 0).
    pub(crate) res: Loc,
    /// The `fd` parameter.
    pub(crate) fd: Loc,
    /// The `size` parameter.
    pub(crate) size: Loc,
    /// The `data` parameter.
    pub(crate) data: Loc,
}

/// Size of a parameter of `PT_*` type `t` when it is fixed (integers, errno, fd, pid).
fn fixed_size(t: u8) -> Option<usize> {
    match t {
        1 | 5 => Some(1),        // PT_INT8, PT_UINT8
        2 | 6 => Some(2),        // PT_INT16, PT_UINT16
        3 | 7 => Some(4),        // PT_INT32, PT_UINT32
        4 | 8 => Some(8),        // PT_INT64, PT_UINT64
        11 | 14 | 15 => Some(8), // PT_ERRNO, PT_FD, PT_PID
        _ => None,
    }
}

impl Shape {
    /// The shape of an event type, when its parameters allow one: at most
    /// [`MAX_SHAPE_PARAMS`], all of fixed size but maybe the last.
    pub(crate) fn of(info: &EventInfo) -> Option<Shape> {
        let params = info.params;
        let n = params.len();
        if n > MAX_SHAPE_PARAMS {
            return None;
        }
        let mut sig = n as u128;
        let mut mask = u32::MAX as u128;
        let mut at = NPARAMS_AT + 4 + 2 * n;
        let mut var_len_at = 0;
        let (mut res, mut fd, mut size, mut data) =
            (Loc::ABSENT, Loc::ABSENT, Loc::ABSENT, Loc::ABSENT);
        for (i, (name, t)) in params.iter().enumerate() {
            let loc = match fixed_size(*t) {
                Some(w) => {
                    let shift = 8 * (4 + 2 * i);
                    sig |= (w as u128) << shift;
                    mask |= 0xffff << shift;
                    let loc = Loc {
                        at: at as u8,
                        w: w as u8,
                    };
                    at += w;
                    loc
                }
                None if i + 1 == n => {
                    var_len_at = NPARAMS_AT + 4 + 2 * i;
                    Loc::VAR
                }
                None => return None,
            };
            if i == 0 {
                res = loc;
            }
            // As the layouts do, a name is the first parameter of that name.
            let slot = match *name {
                "fd" => &mut fd,
                "size" => &mut size,
                "data" => &mut data,
                _ => continue,
            };
            if *slot == Loc::ABSENT {
                *slot = loc;
            }
        }
        Some(Shape {
            sig,
            mask,
            fixed_end: at as u16,
            var_len_at: var_len_at as u8,
            res,
            fd,
            size,
            data,
        })
    }

    /// `ev` (an event with a v2 header and u16 lengths) seen through this shape, when
    /// it has it and all its parameters fit in it (exactly when
    /// [`crate::params::RawEvent`] would parse it with these parameters).
    #[inline(always)]
    pub(crate) fn view<'a>(&'static self, ev: &'a [u8]) -> Option<Fixed<'a>> {
        let h = ev.first_chunk::<{ NPARAMS_AT + SIG_BYTES }>()?;
        let (_, s) = h.split_last_chunk::<SIG_BYTES>()?;
        // (In two halves: two 64-bit comparisons are fewer instructions than one of
        // 128 bits.)
        let (lo, hi) = s.split_first_chunk::<8>()?;
        let hi = hi.first_chunk::<8>()?;
        let lo = (u64::from_le_bytes(*lo) & self.mask as u64) ^ self.sig as u64;
        let hi = (u64::from_le_bytes(*hi) & (self.mask >> 64) as u64) ^ (self.sig >> 64) as u64;
        if lo | hi != 0 {
            return None;
        }
        let len = u32::from_le_bytes([h[16], h[17], h[18], h[19]]) as usize;
        let fixed_end = self.fixed_end as usize;
        let end = if self.var_len_at == 0 {
            fixed_end
        } else {
            let i = self.var_len_at as usize;
            fixed_end + u16::from_le_bytes([h[i], h[i + 1]]) as usize
        };
        if end > len {
            return None;
        }
        Some(Fixed {
            ts: u64::from_le_bytes([h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]]),
            tid: u64::from_le_bytes([h[8], h[9], h[10], h[11], h[12], h[13], h[14], h[15]]),
            bytes: ev.get(..len)?,
            end: end as u32,
            shape: self,
        })
    }
}

/// An event that has its type's [`Shape`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fixed<'a> {
    ts: u64,
    tid: u64,
    bytes: &'a [u8],
    /// End of the variable parameter (of the parameters).
    end: u32,
    shape: &'static Shape,
}

impl<'a> Fixed<'a> {
    /// The event's timestamp.
    #[inline(always)]
    pub(crate) fn ts(&self) -> u64 {
        self.ts
    }

    /// The event's thread id.
    #[inline(always)]
    pub(crate) fn tid(&self) -> u64 {
        self.tid
    }

    /// The parameter at `l`.
    #[inline(always)]
    pub(crate) fn get(&self, l: Loc) -> Option<&'a [u8]> {
        match l.w {
            0 => None,
            u8::MAX => self
                .bytes
                .get(self.shape.fixed_end as usize..self.end as usize),
            w => self.bytes.get(l.at as usize..l.at as usize + w as usize),
        }
    }

    /// The integer parameter at `l`.
    #[inline(always)]
    pub(crate) fn int(&self, l: Loc) -> Option<i64> {
        self.get(l).and_then(le_int)
    }

    /// [`Fixed::int`] of a location that is not [`Loc::VAR`] (a fixed-size parameter
    /// or none).
    #[inline(always)]
    pub(crate) fn fixed_int(&self, l: Loc) -> Option<i64> {
        debug_assert!(l != Loc::VAR);
        match l.w {
            0 => None,
            w => self
                .bytes
                .get(l.at as usize..l.at as usize + w as usize)
                .and_then(le_int),
        }
    }

    /// The shape's locations.
    #[inline(always)]
    pub(crate) fn shape(&self) -> &'static Shape {
        self.shape
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evtable::EVENT_TABLE;
    use crate::params::{Field, RawEvent};

    /// A v2 event of type `et` with parameters `ps` (`extra` bytes past them, counted
    /// in the event length or not).
    fn event(et: u16, ps: &[&[u8]], extra: usize, counted: bool) -> Vec<u8> {
        let body = 26 + 2 * ps.len() + ps.iter().map(|p| p.len()).sum::<usize>();
        let len = body + if counted { extra } else { 0 };
        let mut v = 7u64.to_le_bytes().to_vec();
        v.extend(42u64.to_le_bytes());
        v.extend((len as u32).to_le_bytes());
        v.extend(et.to_le_bytes());
        v.extend((ps.len() as u32).to_le_bytes());
        for p in ps {
            v.extend((p.len() as u16).to_le_bytes());
        }
        for p in ps {
            v.extend_from_slice(p);
        }
        v.resize(v.len() + extra, 0xee);
        v
    }

    /// The view and the full parse agree whenever the view exists.
    fn agree(et: u16, ev: &[u8]) -> bool {
        let shape: &'static Shape =
            Box::leak(Box::new(Shape::of(&EVENT_TABLE[et as usize]).unwrap()));
        let raw = RawEvent::parse(ev, true, false);
        let Some(f) = shape.view(ev) else {
            return false;
        };
        let raw = raw.expect("a viewed event parses");
        assert_eq!((f.ts(), f.tid()), (raw.ts, raw.tid));
        assert_eq!(f.int(shape.res), raw.res());
        assert_eq!(f.int(shape.fd), raw.int(Field::Fd));
        assert_eq!(f.int(shape.size), raw.int(Field::Size));
        assert_eq!(f.get(shape.data), raw.get(Field::Data));
        true
    }

    #[test]
    fn fixed_views_read_what_the_parse_reads() {
        let fd = 3i64.to_le_bytes();
        let size = 22u32.to_le_bytes();
        let res = 5i64.to_le_bytes();
        // Read enter (fd, size) and exit (res, data), with slack after the parameters.
        for (extra, counted) in [(0, false), (6, false), (6, true)] {
            assert!(agree(6, &event(6, &[&fd, &size], extra, counted)));
            assert!(agree(7, &event(7, &[&res, b"hello"], extra, counted)));
            assert!(agree(7, &event(7, &[&res, b""], extra, counted)));
        }
        // Another count or size than the table's: not viewed (the parse handles it).
        assert!(!agree(6, &event(6, &[&fd], 8, true)));
        assert!(!agree(6, &event(6, &[&fd, &size, &size], 0, false)));
        assert!(!agree(6, &event(6, &[&fd, &res], 0, false)));
        assert!(!agree(7, &event(7, &[&size, b"x"], 8, false)));
        // Parameters past the event's length, or an event longer than its bytes.
        let mut short = event(7, &[&res, b"hello"], 0, false);
        short[16] -= 1;
        assert!(!agree(7, &short));
        let mut long = event(6, &[&fd, &size], 0, false);
        long[16] += 1;
        assert!(!agree(6, &long));
    }

    #[test]
    fn shapes_follow_the_table() {
        let read_x = Shape::of(&EVENT_TABLE[7]).unwrap();
        assert_eq!(
            (read_x.res, read_x.data, read_x.fd),
            (Loc { at: 30, w: 8 }, Loc::VAR, Loc::ABSENT)
        );
        let pread_e = Shape::of(&EVENT_TABLE[112]).unwrap();
        assert_eq!(
            (pread_e.fd, pread_e.size),
            (Loc { at: 32, w: 8 }, Loc { at: 40, w: 4 })
        );
        // A variable parameter before the last one, or too many parameters: no shape.
        assert!(Shape::of(&EVENT_TABLE[35]).is_none(), "recvfrom exit");
        assert!(Shape::of(&EVENT_TABLE[15]).is_none(), "clone exit");
    }
}
