//! Per-thread fragment handling (tracers-spec §4, compatibility policy C3).

use super::buf::MarkerBuf;
use super::parse::parse_all_into;
use super::{ParseError, Tracer};

/// Default fragment cap in bytes (sysdig's `MAX_USER_EVT_BUFFER`).
pub const DEFAULT_FRAGMENT_CAP: usize = 65536;

/// What one write on a tracer-candidate fd turned into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// One or more markers (C2), in write order, all with this write's timestamp.
    Tracers(Vec<Tracer>),
    /// Truncated: the write is hidden and its bytes are kept as the thread's fragment
    /// (or were dropped at the cap, see [`StreamDecoder::dropped_fragments`]).
    Pending,
    /// Not a marker. On a warm tracer fd this becomes an invalid-tracer event (tag from
    /// [`super::invalid_tracer_tag`] of this write's bytes); on an undecided fd the fd
    /// becomes non-tracer. Offsets are relative to the parsed buffer (pending fragment
    /// followed by this write). The fragment is cleared.
    Failed(ParseError),
}

/// [`Decoded`] with the markers left in the caller's [`MarkerBuf`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The markers are in the buffer.
    Tracers,
    /// See [`Decoded::Pending`].
    Pending,
    /// See [`Decoded::Failed`].
    Failed(ParseError),
}

/// Decodes the marker writes of **one thread** (fragments of different threads are
/// independent: keep one decoder per writer thread).
///
/// Semantics (sysdig 0.29.3 with the project's fixes):
/// - No fragment pending: the write is parsed alone ([`parse_all`](super::parse_all)). OK ⇒
///   [`Decoded::Tracers`]; truncated ⇒ its bytes become the fragment
///   ([`Decoded::Pending`]); failed ⇒ [`Decoded::Failed`].
/// - A fragment pending: **C3** — if the write parses OK on its own, the fragment is
///   discarded (counted in [`dropped_fragments`](Self::dropped_fragments), no event)
///   and the write is used alone. Otherwise fragment ++ write is parsed as sysdig does:
///   OK ⇒ tracers, fragment cleared (a marker split over several writes gets the
///   timestamp of the write that completes it); truncated ⇒ the concatenation becomes
///   the fragment; failed ⇒ fragment cleared.
/// - The fragment never exceeds the cap: when a truncated buffer would make it longer,
///   it is dropped for good and counted (sysdig drops one write later, once the kept
///   fragment already exceeds 65536 bytes, and then resurrects a stale copy — C3).
/// - Embedded NUL (kept sysdig behaviour, verified with sysdig 0.29.3 on a generated
///   capture): a first truncated write is kept with all its bytes; when a fragment is
///   extended and the result is still truncated, the kept concatenation is cut at its
///   first NUL. So `>:t:a␀b::` then `c::` (hidden, fragment becomes `>:t:a`) then `d::`
///   gives the tag `ad`. (tracers-spec §4 describes this as never completing; the
///   capture shows otherwise.)
#[derive(Debug, Clone)]
pub struct StreamDecoder {
    pending: Vec<u8>,
    cap: usize,
    dropped: u64,
}

impl Default for StreamDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl StreamDecoder {
    /// A decoder with the default cap of [`DEFAULT_FRAGMENT_CAP`] bytes.
    pub fn new() -> Self {
        Self::with_cap(DEFAULT_FRAGMENT_CAP)
    }

    /// A decoder whose fragment never exceeds `cap` bytes.
    pub fn with_cap(cap: usize) -> Self {
        StreamDecoder {
            pending: Vec::new(),
            cap,
            dropped: 0,
        }
    }

    /// Decodes one write of this thread.
    pub fn feed(&mut self, data: &[u8]) -> Decoded {
        let mut out = MarkerBuf::default();
        match self.feed_into(data, &mut out) {
            Outcome::Tracers => Decoded::Tracers(out.to_tracers()),
            Outcome::Pending => Decoded::Pending,
            Outcome::Failed(e) => Decoded::Failed(e),
        }
    }

    /// [`StreamDecoder::feed`] into a reusable buffer: on [`Outcome::Tracers`] the
    /// markers are in `out` (no allocation once `out` is warm).
    pub(crate) fn feed_into(&mut self, data: &[u8], out: &mut MarkerBuf) -> Outcome {
        if self.pending.is_empty() {
            return match parse_all_into(data, out) {
                Ok(()) => Outcome::Tracers,
                Err(e @ ParseError::Failed { .. }) => Outcome::Failed(e),
                Err(ParseError::Truncated { .. }) => {
                    if data.len() > self.cap {
                        self.dropped += 1;
                    } else {
                        self.pending.extend_from_slice(data);
                    }
                    Outcome::Pending
                }
            };
        }

        // C3: a write that is a complete marker on its own wins over the fragment.
        if parse_all_into(data, out).is_ok() {
            self.dropped += 1;
            self.release();
            return Outcome::Tracers;
        }

        self.pending.extend_from_slice(data);
        match parse_all_into(&self.pending, out) {
            Ok(()) => {
                self.release();
                Outcome::Tracers
            }
            Err(e @ ParseError::Failed { .. }) => {
                self.release();
                Outcome::Failed(e)
            }
            Err(ParseError::Truncated { .. }) => {
                // sysdig keeps the concatenation as a C string: cut at its first NUL.
                if let Some(nul) = self.pending.iter().position(|&b| b == 0) {
                    self.pending.truncate(nul);
                }
                if self.pending.len() > self.cap {
                    self.dropped += 1;
                    self.release();
                }
                Outcome::Pending
            }
        }
    }

    /// Fragments discarded so far: by C3 (a pending fragment replaced by a write that
    /// parses on its own) or at the cap.
    pub fn dropped_fragments(&self) -> u64 {
        self.dropped
    }

    /// Bytes currently kept as the fragment (0 = none pending). Never exceeds the cap.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// The fragment cap in bytes.
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Forgets the pending fragment (for example when the thread exits); not counted as
    /// dropped.
    pub fn reset(&mut self) {
        self.release();
    }

    /// Clears the fragment and gives back memory beyond the cap.
    fn release(&mut self) {
        self.pending.clear();
        if self.pending.capacity() > self.cap {
            self.pending = Vec::new();
        }
    }
}

/// The tag of sysdig's invalid-tracer event for a failed write on a warm tracer fd:
/// `invalid tracer <raw bytes of this write>, len<byte count>` (tracers-spec §4).
///
/// Only this write's bytes are used, even when the failure came from a concatenation
/// with a fragment. sysdig builds the string with the full data but hands the event
/// a C string, so when the write contains a NUL the tag ends just before it (the
/// `, len<n>` suffix is then lost too); this is reproduced.
///
/// ```
/// use tracer_core::grammar::invalid_tracer_tag;
/// assert_eq!(invalid_tracer_tag(b">:t:b::"), b"invalid tracer >:t:b::, len7".to_vec());
/// assert_eq!(invalid_tracer_tag(b""), b"invalid tracer , len0".to_vec());
/// ```
pub fn invalid_tracer_tag(data: &[u8]) -> Vec<u8> {
    let mut tag = Vec::with_capacity(data.len() + 32);
    tag.extend_from_slice(b"invalid tracer ");
    tag.extend_from_slice(data);
    tag.extend_from_slice(b", len");
    tag.extend_from_slice(data.len().to_string().as_bytes());
    if let Some(nul) = tag.iter().position(|&b| b == 0) {
        tag.truncate(nul);
    }
    tag
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grammar::{parse, IdForm};

    fn tracers(d: Decoded) -> Vec<Tracer> {
        match d {
            Decoded::Tracers(v) => v,
            other => panic!("expected tracers, got {other:?}"),
        }
    }

    #[test]
    fn split_marker_joins() {
        let mut d = StreamDecoder::new();
        assert_eq!(d.feed(b">"), Decoded::Pending);
        assert_eq!(d.feed(b":t:a"), Decoded::Pending);
        assert_eq!(d.pending_len(), 5);
        let v = tracers(d.feed(b"::"));
        assert_eq!(v, vec![parse(b">:t:a::").unwrap()]);
        assert_eq!(d.pending_len(), 0);
        assert_eq!(d.dropped_fragments(), 0);
    }

    #[test]
    fn c3_complete_write_discards_fragment() {
        let mut d = StreamDecoder::new();
        assert_eq!(d.feed(b">:t:a:x=1"), Decoded::Pending);
        let v = tracers(d.feed(b"<:t:after::"));
        assert_eq!(v[0].tags, vec![b"after".to_vec()]);
        assert_eq!(d.dropped_fragments(), 1);
        assert_eq!(d.pending_len(), 0);
    }

    #[test]
    fn failed_concatenation_clears_fragment() {
        let mut d = StreamDecoder::new();
        assert_eq!(d.feed(b">:t:a"), Decoded::Pending);
        assert!(matches!(d.feed(b">b::"), Decoded::Failed(_)));
        assert_eq!(d.pending_len(), 0);
        assert_eq!(d.dropped_fragments(), 0);
    }

    #[test]
    fn empty_write() {
        let mut d = StreamDecoder::new();
        assert!(matches!(d.feed(b""), Decoded::Failed(_)));
        assert_eq!(d.feed(b">:t:a"), Decoded::Pending);
        // an empty write adds nothing; the fragment stays
        assert_eq!(d.feed(b""), Decoded::Pending);
        assert_eq!(d.pending_len(), 5);
    }

    #[test]
    fn cap_drops_for_good() {
        let mut d = StreamDecoder::with_cap(16);
        assert_eq!(d.feed(b">:t:"), Decoded::Pending);
        assert_eq!(d.feed(b"aaaaaaaaaa"), Decoded::Pending); // 14 bytes
        assert_eq!(d.pending_len(), 14);
        assert_eq!(d.feed(b"aaa"), Decoded::Pending); // 17 > 16: dropped
        assert_eq!(d.pending_len(), 0);
        assert_eq!(d.dropped_fragments(), 1);
        // nothing comes back: the next piece is parsed alone
        assert!(matches!(d.feed(b"a::"), Decoded::Failed(_)));
        // a single truncated write larger than the cap is dropped at once
        assert_eq!(d.feed(b">:t:aaaaaaaaaaaaaaaa"), Decoded::Pending);
        assert_eq!(d.pending_len(), 0);
        assert_eq!(d.dropped_fragments(), 2);
    }

    #[test]
    fn several_markers_in_one_write() {
        let mut d = StreamDecoder::new();
        assert_eq!(d.feed(b">:t:a"), Decoded::Pending);
        let v = tracers(d.feed(b"::\n<:t:a::"));
        assert_eq!(v.len(), 2);
        assert_eq!(v[1].id, IdForm::Thread);
    }

    #[test]
    fn reset_is_not_a_drop() {
        let mut d = StreamDecoder::new();
        assert_eq!(d.feed(b">:t:a"), Decoded::Pending);
        d.reset();
        assert_eq!(d.pending_len(), 0);
        assert_eq!(d.dropped_fragments(), 0);
        assert_eq!(d.cap(), DEFAULT_FRAGMENT_CAP);
    }

    #[test]
    fn invalid_tag_stops_at_nul() {
        assert_eq!(invalid_tracer_tag(b"ab\0cd"), b"invalid tracer ab".to_vec());
        assert_eq!(
            invalid_tracer_tag(b"garbage"),
            b"invalid tracer garbage, len7".to_vec()
        );
    }
}
