//! Marker encoding: escaping of tags and arguments, ID forms, and the small output
//! buffer that keeps the hot path free of heap allocation.
//!
//! Wire format (`shared/docs/tracers-spec.md` §2): `DIR:ID:TAGS:ARGS:` where TAGS are the
//! tags joined by `.` and ARGS are `name=value` pairs joined by `,`. Inside tags, argument
//! names and argument values a backslash makes the next byte literal.

use crate::buf::Out;
use crate::{Dir, Id};

/// Byte class: must be escaped inside a tag component.
const TAG: u8 = 1;
/// Byte class: must be escaped inside an argument name.
const NAME: u8 = 2;
/// Byte class: must be escaped inside an argument value.
const VALUE: u8 = 4;
/// Byte class: must be escaped inside a dot-separated tag *path* (like [`TAG`] minus `.`).
const PATH: u8 = 8;

/// Per-byte escape classes. NUL is in every class: it is dropped (the reader treats the
/// marker as a C string, so a NUL cannot be carried, escaped or not).
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    t[0] = TAG | NAME | VALUE | PATH;
    t[b'\\' as usize] = TAG | NAME | VALUE | PATH;
    t[b'\n' as usize] = TAG | NAME | VALUE | PATH;
    t[b':' as usize] = TAG | NAME | VALUE | PATH;
    t[b'=' as usize] = TAG | NAME | VALUE | PATH;
    t[b'.' as usize] = TAG;
    t[b'>' as usize] = TAG | NAME | PATH;
    t[b'<' as usize] = TAG | NAME | PATH;
    t[b',' as usize] = NAME | VALUE;
    t
};

/// True if no byte of `s` needs escaping in `class`.
#[inline(always)]
fn clean(s: &[u8], class: u8) -> bool {
    #[cfg(target_arch = "x86_64")]
    if s.len() >= 16 {
        return sse2::clean(s, class);
    }
    s.iter().all(|&b| CLASS[b as usize] & class == 0)
}

/// 16 bytes at a time with SSE2 (always present on x86-64).
#[cfg(target_arch = "x86_64")]
mod sse2 {
    use core::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
        _mm_setzero_si128,
    };

    use super::{NAME, PATH, TAG};

    /// True if none of the 16 bytes at `p` needs escaping in `class`.
    ///
    /// # Safety
    /// `p` is valid for reading 16 bytes.
    #[inline(always)]
    unsafe fn chunk_clean(p: *const u8, class: u8) -> bool {
        let v = _mm_loadu_si128(p.cast::<__m128i>());
        let eq = |b: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(b as i8));
        let mut m = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_setzero_si128()), eq(b'\\'));
        m = _mm_or_si128(m, eq(b'\n'));
        m = _mm_or_si128(m, eq(b':'));
        m = _mm_or_si128(m, eq(b'='));
        if class == TAG || class == PATH || class == NAME {
            m = _mm_or_si128(m, eq(b'>'));
            m = _mm_or_si128(m, eq(b'<'));
        }
        if class == TAG {
            m = _mm_or_si128(m, eq(b'.'));
        }
        if class != TAG && class != PATH {
            m = _mm_or_si128(m, eq(b','));
        }
        _mm_movemask_epi8(m) == 0
    }

    /// True if no byte of `s` (at least 16 bytes long) needs escaping in `class`.
    #[inline]
    pub(super) fn clean(s: &[u8], class: u8) -> bool {
        let n = s.len();
        debug_assert!(n >= 16);
        let p = s.as_ptr();
        let mut i = 0;
        // SAFETY: every chunk read starts at an offset <= n - 16, so 16 bytes are in `s`.
        unsafe {
            while i + 16 <= n {
                if !chunk_clean(p.add(i), class) {
                    return false;
                }
                i += 16;
            }
            // the tail, as the (overlapping) last 16 bytes
            i == n || chunk_clean(p.add(n - 16), class)
        }
    }
}

/// Writes `s` escaping the bytes of `class`; NUL bytes are dropped.
#[inline]
fn escape_into<O: Out + ?Sized>(out: &mut O, s: &[u8], class: u8) {
    if clean(s, class) {
        out.put(s);
    } else {
        escape_slow(out, s, class);
    }
}

#[cold]
#[inline(never)]
fn escape_slow<O: Out + ?Sized>(out: &mut O, s: &[u8], class: u8) {
    let mut start = 0;
    for (i, &b) in s.iter().enumerate() {
        if CLASS[b as usize] & class != 0 {
            out.put(&s[start..i]);
            if b != 0 {
                out.put(&[b'\\', b]);
            }
            start = i + 1;
        }
    }
    out.put(&s[start..]);
}

/// Writes the first tag (or path) component. A leading `0` is written as `\0`: both
/// readers take it as the byte `0`, and sysdig 0.29.3 would otherwise never complete a
/// marker whose tag section starts with `0` (spec §2.1, C1).
#[inline]
fn escape_first<O: Out + ?Sized>(out: &mut O, s: &[u8], class: u8) {
    match s.first() {
        Some(b'0') => {
            out.put(b"\\0");
            escape_into(out, &s[1..], class);
        }
        _ => escape_into(out, s, class),
    }
}

/// Writes one tag component (a `.` inside it is escaped).
pub(crate) fn tag<O: Out + ?Sized>(out: &mut O, s: &[u8], first: bool) {
    if first {
        escape_first(out, s, TAG)
    } else {
        escape_into(out, s, TAG)
    }
}

/// Writes a dot-separated tag path: each `.` separates components, everything else in a
/// component is escaped as in [`tag`].
pub(crate) fn path<O: Out + ?Sized>(out: &mut O, s: &[u8], first: bool) {
    if first {
        escape_first(out, s, PATH)
    } else {
        escape_into(out, s, PATH)
    }
}

/// Writes an argument name.
pub(crate) fn arg_name<O: Out + ?Sized>(out: &mut O, s: &[u8]) {
    escape_into(out, s, NAME)
}

/// Writes an argument value.
pub(crate) fn arg_value<O: Out + ?Sized>(out: &mut O, s: &[u8]) {
    escape_into(out, s, VALUE)
}

/// Writes `name=value`, preceded by `,` unless it is the first argument (`out_args` is
/// the argument section written so far).
pub(crate) fn arg<O: Out + ?Sized>(out: &mut O, first: bool, name: &[u8], value: &[u8]) {
    if !first {
        out.put_byte(b',');
    }
    arg_name(out, name);
    out.put_byte(b'=');
    arg_value(out, value);
}

/// Writes the ID field. `Explicit(0)` is written `-0` (same value for every reader; a
/// plain `0` is never completed by sysdig 0.29.3, spec §2.1 / C1).
#[inline(always)]
pub(crate) fn id<O: Out + ?Sized>(out: &mut O, id: Id) {
    match id {
        Id::Thread => out.put_byte(b't'),
        Id::Process => out.put_byte(b'p'),
        Id::Parent => out.put(b"pp"),
        Id::Global => out.put_byte(b'g'),
        Id::Explicit(n) => explicit_id(out, n),
    }
}

/// Decimal form of an explicit id.
fn explicit_id<O: Out + ?Sized>(out: &mut O, n: i64) {
    if n == 0 {
        return out.put(b"-0");
    }
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut m = n.unsigned_abs();
    while m > 0 {
        i -= 1;
        digits[i] = b'0' + (m % 10) as u8;
        m /= 10;
    }
    if n < 0 {
        out.put_byte(b'-');
    }
    out.put(&digits[i..]);
}

/// Writes a whole marker from raw tags and arguments.
pub(crate) fn marker_raw<O: Out + ?Sized>(
    out: &mut O,
    dir: Dir,
    i: Id,
    tags: &[&[u8]],
    args: &[(&[u8], &[u8])],
) {
    out.put_byte(dir.as_byte());
    out.put_byte(b':');
    id(out, i);
    out.put_byte(b':');
    for (n, t) in tags.iter().enumerate() {
        if n > 0 {
            out.put_byte(b'.');
        }
        tag(out, t, n == 0);
    }
    out.put_byte(b':');
    for (n, (k, v)) in args.iter().enumerate() {
        arg(out, n == 0, k, v);
    }
    out.put_byte(b':');
}

/// Writes a whole marker from a raw dot-separated tag path and raw arguments.
pub(crate) fn marker_path<O: Out + ?Sized>(
    out: &mut O,
    dir: Dir,
    i: Id,
    p: &[u8],
    args: &[(&[u8], &[u8])],
) {
    out.put_byte(dir.as_byte());
    out.put_byte(b':');
    id(out, i);
    out.put_byte(b':');
    path(out, p, true);
    out.put_byte(b':');
    for (n, (k, v)) in args.iter().enumerate() {
        arg(out, n == 0, k, v);
    }
    out.put_byte(b':');
}

/// A [`core::fmt::Write`] adapter that escapes what is formatted into it (for `Display`
/// argument values).
pub(crate) struct EscapeFmt<'a, O: Out + ?Sized> {
    pub(crate) out: &'a mut O,
    pub(crate) value: bool,
}

impl<O: Out + ?Sized> core::fmt::Write for EscapeFmt<'_, O> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        if self.value {
            arg_value(self.out, s.as_bytes());
        } else {
            arg_name(self.out, s.as_bytes());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(dir: Dir, i: Id, tags: &[&[u8]], args: &[(&[u8], &[u8])]) -> Vec<u8> {
        let mut v = Vec::new();
        marker_raw(&mut v, dir, i, tags, args);
        v
    }

    #[test]
    fn plain_markers() {
        assert_eq!(
            raw(Dir::Enter, Id::Thread, &[b"a", b"b"], &[]),
            b">:t:a.b::"
        );
        assert_eq!(
            raw(
                Dir::Exit,
                Id::Process,
                &[b"x"],
                &[(b"k", b"v"), (b"n", b"1")]
            ),
            b"<:p:x:k=v,n=1:"
        );
        assert_eq!(raw(Dir::Enter, Id::Parent, &[], &[]), b">:pp:::");
        assert_eq!(raw(Dir::Enter, Id::Global, &[b"a"], &[]), b">:g:a::");
    }

    #[test]
    fn ids() {
        let enc = |i| raw(Dir::Enter, i, &[b"a"], &[]);
        assert_eq!(enc(Id::Explicit(0)), b">:-0:a::");
        assert_eq!(enc(Id::Explicit(7)), b">:7:a::");
        assert_eq!(enc(Id::Explicit(-12)), b">:-12:a::");
        assert_eq!(enc(Id::Explicit(i64::MAX)), b">:9223372036854775807:a::");
        assert_eq!(enc(Id::Explicit(i64::MIN)), b">:-9223372036854775808:a::");
    }

    #[test]
    fn tag_escaping() {
        let m = raw(Dir::Enter, Id::Thread, &[b"a.b:c", b"x>y<z=\\\n,w"], &[]);
        assert_eq!(m, b">:t:a\\.b\\:c.x\\>y\\<z\\=\\\\\\\n,w::".as_slice());
        // leading 0 of the first tag only
        assert_eq!(
            raw(Dir::Enter, Id::Thread, &[b"0a", b"0b"], &[]),
            b">:t:\\0a.0b::"
        );
        // NUL dropped
        assert_eq!(raw(Dir::Enter, Id::Thread, &[b"a\0b"], &[]), b">:t:ab::");
    }

    #[test]
    fn arg_escaping() {
        let m = raw(
            Dir::Enter,
            Id::Thread,
            &[b"t"],
            &[(b"k=,:<>.", b"v:1,2=3<>."), (b"", b"")],
        );
        assert_eq!(m, b">:t:t:k\\=\\,\\:\\<\\>.=v\\:1\\,2\\=3<>.,=:".as_slice());
    }

    #[test]
    fn path_keeps_dots() {
        let mut v = Vec::new();
        marker_path(&mut v, Dir::Exit, Id::Thread, b"0a.b:c.", &[]);
        assert_eq!(v, b"<:t:\\0a.b\\:c.::".as_slice());
    }

    #[test]
    fn fast_check_agrees_with_table() {
        for class in [TAG, NAME, VALUE, PATH] {
            for b in 0..=255u8 {
                let want = CLASS[b as usize] & class == 0;
                // every position of short and long strings, including the overlapping tail
                for len in [1usize, 7, 16, 17, 31, 40] {
                    for pos in 0..len {
                        let mut v = vec![b'a'; len];
                        v[pos] = b;
                        assert_eq!(
                            clean(&v, class),
                            want,
                            "byte {b} class {class} len {len} pos {pos}"
                        );
                    }
                }
            }
        }
    }
}
