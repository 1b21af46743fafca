//! Byte sinks for building markers: `Vec<u8>`, a stack buffer that spills to the heap,
//! and a fixed array that reports overflow.

use std::mem::MaybeUninit;

/// A byte sink for encoding: a `Vec<u8>` or a stack buffer.
pub(crate) trait Out {
    /// Appends bytes.
    fn put(&mut self, s: &[u8]);
    /// Appends one byte.
    fn put_byte(&mut self, b: u8) {
        self.put(&[b]);
    }
}

impl Out for Vec<u8> {
    #[inline]
    fn put(&mut self, s: &[u8]) {
        self.extend_from_slice(s);
    }
    #[inline]
    fn put_byte(&mut self, b: u8) {
        self.push(b);
    }
}

/// A byte buffer that lives inline (no allocation, no zeroing) up to `N` bytes and
/// moves to the heap beyond that.
pub(crate) struct SmallBuf<const N: usize> {
    inline: [MaybeUninit<u8>; N],
    /// Bytes used in `inline` (meaningless once `heap` is set).
    len: usize,
    heap: Option<Vec<u8>>,
}

impl<const N: usize> SmallBuf<N> {
    /// An empty buffer.
    #[inline]
    pub(crate) fn new() -> Self {
        SmallBuf {
            inline: [MaybeUninit::uninit(); N],
            len: 0,
            heap: None,
        }
    }

    /// The bytes written so far.
    #[inline]
    pub(crate) fn as_slice(&self) -> &[u8] {
        match &self.heap {
            Some(v) => v,
            // SAFETY: the first `len` bytes of `inline` have been written (`put` keeps
            // `len <= N` and only advances it over copied bytes).
            None => unsafe { std::slice::from_raw_parts(self.inline.as_ptr().cast(), self.len) },
        }
    }

    /// Number of bytes written.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        match &self.heap {
            Some(v) => v.len(),
            None => self.len,
        }
    }

    #[cold]
    fn spill(&mut self, s: &[u8]) {
        let mut v = Vec::with_capacity((self.len + s.len()) * 2);
        v.extend_from_slice(self.as_slice());
        v.extend_from_slice(s);
        self.heap = Some(v);
    }
}

impl<const N: usize> Clone for SmallBuf<N> {
    fn clone(&self) -> Self {
        let mut b = SmallBuf::new();
        b.put(self.as_slice());
        b
    }
}

impl<const N: usize> Out for SmallBuf<N> {
    #[inline]
    fn put(&mut self, s: &[u8]) {
        if let Some(v) = &mut self.heap {
            v.extend_from_slice(s);
            return;
        }
        let end = self.len + s.len();
        if end <= N {
            // SAFETY: `self.len + s.len() <= N`, so the destination range lies inside
            // `inline`; `s` cannot overlap our own inline storage mutably borrowed here.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    s.as_ptr(),
                    self.inline.as_mut_ptr().add(self.len).cast::<u8>(),
                    s.len(),
                );
            }
            self.len = end;
        } else {
            self.spill(s);
        }
    }
    #[inline]
    fn put_byte(&mut self, b: u8) {
        if self.heap.is_none() && self.len < N {
            self.inline[self.len] = MaybeUninit::new(b);
            self.len += 1;
        } else {
            self.put(&[b]);
        }
    }
}

/// A writer over a fixed array that notes an overflow instead of growing.
pub(crate) struct FixedBuf<'a, const N: usize> {
    pub(crate) buf: &'a mut [u8; N],
    pub(crate) len: usize,
    pub(crate) overflow: bool,
}

impl<const N: usize> Out for FixedBuf<'_, N> {
    #[inline]
    fn put(&mut self, s: &[u8]) {
        let end = self.len + s.len();
        if end <= N {
            self.buf[self.len..end].copy_from_slice(s);
            self.len = end;
        } else {
            self.overflow = true;
        }
    }
    #[inline]
    fn put_byte(&mut self, b: u8) {
        if self.len < N {
            self.buf[self.len] = b;
            self.len += 1;
        } else {
            self.overflow = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_buf_overflows() {
        let mut a = [0u8; 4];
        let mut f = FixedBuf {
            buf: &mut a,
            len: 0,
            overflow: false,
        };
        f.put(b"ab");
        f.put_byte(b'c');
        assert!(!f.overflow);
        f.put(b"de");
        assert!(f.overflow);
        let mut b = [0u8; 1];
        let mut g = FixedBuf {
            buf: &mut b,
            len: 1,
            overflow: false,
        };
        g.put_byte(b'x');
        assert!(g.overflow);
    }

    #[test]
    fn small_buf_spills() {
        let mut b = SmallBuf::<4>::new();
        b.put(b"ab");
        b.put_byte(b'c');
        assert_eq!(b.as_slice(), b"abc");
        b.put(b"defg");
        b.put_byte(b'h');
        assert_eq!(b.as_slice(), b"abcdefgh");
        let mut c = SmallBuf::<8>::new();
        c.put(b"ab");
        assert_eq!(c.clone().as_slice(), b"ab");
        assert_eq!(c.len(), 2);
    }
}
