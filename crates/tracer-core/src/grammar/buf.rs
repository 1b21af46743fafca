//! [`MarkerBuf`]: the markers of one write decoded into reusable flat buffers (one byte
//! buffer plus ranges), so decoding a marker allocates nothing once the buffers are
//! warm. The owned [`Tracer`] form is built from it when a caller wants one.

use super::{Direction, IdForm, Tracer};

/// One decoded marker inside a [`MarkerBuf`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MarkerRef {
    /// Enter or exit.
    pub dir: Direction,
    /// The id as written.
    pub id: IdForm,
    /// Range of this marker's entries in `MarkerBuf::tags`.
    tags: (u32, u32),
    /// Range of this marker's entries in `MarkerBuf::args`.
    args: (u32, u32),
}

/// Decoded markers (in write order) with their unescaped tag and argument bytes.
#[derive(Debug, Clone, Default)]
pub(crate) struct MarkerBuf {
    bytes: Vec<u8>,
    /// `(start, end)` in `bytes` per tag.
    tags: Vec<(u32, u32)>,
    /// `(name start, name end, value end)` in `bytes` per argument (the value follows
    /// the name).
    args: Vec<(u32, u32, u32)>,
    markers: Vec<MarkerRef>,
}

/// Lengths of a [`MarkerBuf`]'s buffers, to roll back a marker that failed to parse.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mark {
    bytes: usize,
    tags: usize,
    args: usize,
    markers: usize,
}

impl MarkerBuf {
    /// Forgets every marker (keeps the memory).
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.tags.clear();
        self.args.clear();
        self.markers.clear();
    }

    /// Number of markers.
    pub fn len(&self) -> usize {
        self.markers.len()
    }

    /// The `i`-th marker.
    pub fn marker(&self, i: usize) -> MarkerRef {
        self.markers[i]
    }

    /// The `i`-th marker, in place (no copy).
    #[inline]
    pub fn marker_ref(&self, i: usize) -> &MarkerRef {
        &self.markers[i]
    }

    /// The current lengths (see [`MarkerBuf::rollback`]).
    pub fn mark(&self) -> Mark {
        Mark {
            bytes: self.bytes.len(),
            tags: self.tags.len(),
            args: self.args.len(),
            markers: self.markers.len(),
        }
    }

    /// Drops everything added since `m`.
    pub fn rollback(&mut self, m: Mark) {
        self.bytes.truncate(m.bytes);
        self.tags.truncate(m.tags);
        self.args.truncate(m.args);
        self.markers.truncate(m.markers);
    }

    /// Position of the next byte pushed.
    #[inline]
    pub fn pos(&self) -> u32 {
        self.bytes.len() as u32
    }

    /// Appends unescaped bytes (of the tag or argument being decoded).
    #[inline]
    pub fn push_bytes(&mut self, b: &[u8]) {
        self.bytes.extend_from_slice(b);
    }

    /// Appends one unescaped byte.
    #[inline]
    pub fn push_byte(&mut self, b: u8) {
        self.bytes.push(b);
    }

    /// The bytes pushed since `start`.
    #[inline]
    pub fn since(&self, start: u32) -> &[u8] {
        &self.bytes[start as usize..]
    }

    /// Ends a tag that started at byte `start`.
    #[inline]
    pub fn end_tag(&mut self, start: u32) {
        self.tags.push((start, self.pos()));
    }

    /// Ends an argument whose name started at `name` and whose value at `value`.
    #[inline]
    pub fn end_arg(&mut self, name: u32, value: u32) {
        self.args.push((name, value, self.pos()));
    }

    /// Ends a marker whose tags and arguments were pushed since `m`.
    #[inline]
    pub fn end_marker(&mut self, m: Mark, dir: Direction, id: IdForm) {
        self.markers.push(MarkerRef {
            dir,
            id,
            tags: (m.tags as u32, self.tags.len() as u32),
            args: (m.args as u32, self.args.len() as u32),
        });
    }

    /// Appends an owned marker.
    /// Clears the buffer and begins a marker with the head of `head`'s first marker (a
    /// buffer made by [`parse_head`](super::text::parse_head): tags only): its tags are
    /// copied. Returns the marker's mark and the head's marker (direction and id).
    #[inline]
    pub fn begin_with_head(&mut self, head: &MarkerBuf) -> (Mark, MarkerRef) {
        self.clear();
        let mark = self.mark();
        self.bytes.extend_from_slice(&head.bytes);
        self.tags.extend_from_slice(&head.tags);
        (mark, head.markers[0])
    }

    /// [`MarkerBuf::begin_with_head`] on a buffer begun with an equal head by the last
    /// call (only arguments and markers were added since): the head's bytes and tags
    /// are kept instead of copied again.
    #[inline]
    pub fn rebegin_with_head(&mut self, head: &MarkerBuf) -> (Mark, MarkerRef) {
        debug_assert!(self.bytes.starts_with(&head.bytes) && self.tags.starts_with(&head.tags));
        self.bytes.truncate(head.bytes.len());
        self.tags.truncate(head.tags.len());
        self.args.clear();
        self.markers.clear();
        let mark = Mark {
            bytes: 0,
            tags: 0,
            args: 0,
            markers: 0,
        };
        (mark, head.markers[0])
    }

    pub fn push_tracer(&mut self, t: &Tracer) {
        let m = self.mark();
        for tag in &t.tags {
            let s = self.pos();
            self.push_bytes(tag);
            self.end_tag(s);
        }
        for (name, value) in &t.args {
            let n = self.pos();
            self.push_bytes(name);
            let v = self.pos();
            self.push_bytes(value);
            self.end_arg(n, v);
        }
        self.end_marker(m, t.dir, t.id);
    }

    /// Number of tags of a marker.
    #[inline]
    pub fn tag_count(&self, m: &MarkerRef) -> usize {
        (m.tags.1 - m.tags.0) as usize
    }

    /// The tags of a marker.
    pub fn tags<'s>(&'s self, m: &MarkerRef) -> impl ExactSizeIterator<Item = &'s [u8]> + 's {
        self.tags[m.tags.0 as usize..m.tags.1 as usize]
            .iter()
            .map(|&(a, b)| &self.bytes[a as usize..b as usize])
    }

    /// The `(name, value)` arguments of a marker.
    #[inline]
    pub fn args<'s>(
        &'s self,
        m: &MarkerRef,
    ) -> impl ExactSizeIterator<Item = (&'s [u8], &'s [u8])> + 's {
        self.args[m.args.0 as usize..m.args.1 as usize]
            .iter()
            .map(|&(n, v, e)| {
                (
                    &self.bytes[n as usize..v as usize],
                    &self.bytes[v as usize..e as usize],
                )
            })
    }

    /// Writes the tag-path key of a marker into `out` (each tag as its length, 4 bytes
    /// little-endian, then its bytes: distinct paths give distinct keys) and returns
    /// the length of the key of its parent path (all tags but the last).
    pub fn path_key(&self, m: &MarkerRef, out: &mut Vec<u8>) -> usize {
        out.clear();
        let mut parent = 0;
        for tag in self.tags(m) {
            parent = out.len();
            push_key_tag(out, tag);
        }
        parent
    }

    /// The owned form of a marker.
    pub fn to_tracer(&self, m: &MarkerRef) -> Tracer {
        Tracer {
            dir: m.dir,
            id: m.id,
            tags: self.tags(m).map(<[u8]>::to_vec).collect(),
            args: self
                .args(m)
                .map(|(n, v)| (n.to_vec(), v.to_vec()))
                .collect(),
        }
    }

    /// Every marker in owned form.
    pub fn to_tracers(&self) -> Vec<Tracer> {
        self.markers.iter().map(|m| self.to_tracer(m)).collect()
    }
}

/// Appends one tag to a tag-path key (see [`MarkerBuf::path_key`]).
#[inline]
pub(crate) fn push_key_tag(out: &mut Vec<u8>, tag: &[u8]) {
    out.extend_from_slice(&(tag.len() as u32).to_le_bytes());
    out.extend_from_slice(tag);
}

/// Most argument pairs [`fill_pairs`] keeps in its spare pool.
const SPARE_PAIRS: usize = 1024;

/// Fills `dst` with owned copies of `src`, reusing the buffers `dst` already holds and
/// the pairs of `spare` (which receives the pairs `dst` no longer needs).
#[inline]
pub(crate) fn fill_pairs<'s>(
    dst: &mut Vec<(Vec<u8>, Vec<u8>)>,
    src: impl ExactSizeIterator<Item = (&'s [u8], &'s [u8])>,
    spare: &mut Vec<(Vec<u8>, Vec<u8>)>,
) {
    let n = src.len();
    if n == 0 && dst.is_empty() {
        return;
    }
    while dst.len() > n {
        if let Some(pair) = dst.pop() {
            if spare.len() < SPARE_PAIRS {
                spare.push(pair);
            }
        }
    }
    for (i, (name, value)) in src.enumerate() {
        if dst.len() == i {
            dst.push(spare.pop().unwrap_or_default());
        }
        let (a, b) = &mut dst[i];
        a.clear();
        a.extend_from_slice(name);
        b.clear();
        b.extend_from_slice(value);
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse::parse_all_into;
    use super::*;

    #[test]
    fn decodes_into_ranges_and_keys_paths() {
        let mut b = MarkerBuf::default();
        parse_all_into(b">:t:a\\.b.c:x=1,y=\\,: <:t:a\\.b::", &mut b).unwrap();
        assert_eq!(b.len(), 2);
        let (m0, m1) = (b.marker(0), b.marker(1));
        assert_eq!(b.tags(&m0).collect::<Vec<_>>(), [&b"a.b"[..], b"c"]);
        assert_eq!(
            b.args(&m0).collect::<Vec<_>>(),
            [(&b"x"[..], &b"1"[..]), (b"y", b",")]
        );
        assert_eq!(b.to_tracer(&m1).tags, vec![b"a.b".to_vec()]);
        // Keys: the parent key of `a.b`+`c` is the key of `a.b`; ["a","b"] differs.
        let (mut k0, mut k1) = (Vec::new(), Vec::new());
        let parent = b.path_key(&m0, &mut k0);
        b.path_key(&m1, &mut k1);
        assert_eq!(&k0[..parent], &k1[..]);
        let mut split = Vec::new();
        push_key_tag(&mut split, b"a");
        push_key_tag(&mut split, b"b");
        assert_ne!(split, k1);
        // A failed parse leaves nothing behind.
        assert!(parse_all_into(b">:t:a>b::", &mut b).is_err());
        assert_eq!(b.len(), 0);
    }

    #[test]
    fn fill_reuses_and_trims() {
        let mut spare = Vec::new();
        let mut dst = vec![(b"old".to_vec(), b"v".to_vec()); 3];
        fill_pairs(&mut dst, [(&b"n"[..], &b"1"[..])].into_iter(), &mut spare);
        assert_eq!(dst, vec![(b"n".to_vec(), b"1".to_vec())]);
        assert_eq!(spare.len(), 2);
        fill_pairs(
            &mut dst,
            [(&b"a"[..], &b"2"[..]); 2].into_iter(),
            &mut spare,
        );
        assert_eq!(dst, vec![(b"a".to_vec(), b"2".to_vec()); 2]);
        assert_eq!(spare.len(), 1);
        fill_pairs(&mut dst, std::iter::empty(), &mut spare);
        assert_eq!((dst.len(), spare.len()), (0, 3));
    }
}
