//! Trace and span identities: deterministic ids derived from a per-export salt and the
//! engine's span numbers, and W3C `traceparent` parsing for joining a caller's trace.

/// A 16-byte OTel trace id.
pub type TraceId = [u8; 16];
/// An 8-byte OTel span id.
pub type SpanId = [u8; 8];

/// SplitMix64 finaliser: a cheap, well-distributed 64-bit mix.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A salt from arbitrary bytes (FNV-1a, then mixed), e.g. a host name plus the
/// capture's first timestamp, so re-exporting the same capture gives the same ids.
pub fn salt_from(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    mix(h)
}

/// The span id of engine span number `seq` under `salt` (never all-zero).
pub fn span_id(salt: u64, seq: u64) -> SpanId {
    let v = mix(salt ^ mix(seq.wrapping_add(1)));
    (if v == 0 { 1 } else { v }).to_be_bytes()
}

/// The trace id of the trace rooted at span number `root_seq` entered at `enter_ts`
/// (never all-zero).
pub fn trace_id(salt: u64, root_seq: u64, enter_ts: u64) -> TraceId {
    let hi = mix(salt ^ mix(root_seq) ^ 0x5452_4143_4552_5f54);
    let mut lo = mix(hi ^ mix(enter_ts));
    if hi == 0 && lo == 0 {
        lo = 1;
    }
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&hi.to_be_bytes());
    id[8..].copy_from_slice(&lo.to_be_bytes());
    id
}

/// A parsed W3C `traceparent` header value (version 00 layout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParent {
    /// The caller's trace id.
    pub trace_id: TraceId,
    /// The caller's span id (becomes the parent of the root span).
    pub parent_id: SpanId,
    /// Trace flags (bit 0: sampled).
    pub flags: u8,
}

fn hex_into(s: &str, out: &mut [u8]) -> Option<()> {
    if s.len() != out.len() * 2 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(())
}

impl TraceParent {
    /// Parses `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`. Per the W3C
    /// spec, version `ff` and all-zero ids are invalid, and a higher version may carry
    /// extra `-`-separated fields after the flags. Upper-case hex is rejected.
    pub fn parse(s: &str) -> Option<TraceParent> {
        let s = s.trim();
        let mut parts = s.split('-');
        let version = parts.next()?;
        let (trace, parent, flags) = (parts.next()?, parts.next()?, parts.next()?);
        let mut v = [0u8; 1];
        hex_into(version, &mut v)?;
        if v[0] == 0xff || (v[0] == 0 && parts.next().is_some()) {
            return None;
        }
        if s.bytes().any(|b| b.is_ascii_uppercase()) {
            return None;
        }
        let mut tp = TraceParent {
            trace_id: [0; 16],
            parent_id: [0; 8],
            flags: 0,
        };
        hex_into(trace, &mut tp.trace_id)?;
        hex_into(parent, &mut tp.parent_id)?;
        let mut f = [0u8; 1];
        hex_into(flags, &mut f)?;
        tp.flags = f[0];
        if tp.trace_id == [0; 16] || tp.parent_id == [0; 8] {
            return None;
        }
        Some(tp)
    }
}

/// Lower-case hex of an id (for messages and tests).
pub fn to_hex(id: &[u8]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_valid_and_invalid() {
        let tp = TraceParent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
            .expect("valid");
        assert_eq!(to_hex(&tp.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(to_hex(&tp.parent_id), "00f067aa0ba902b7");
        assert_eq!(tp.flags, 1);
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",
            "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            assert_eq!(TraceParent::parse(bad), None, "{bad:?}");
        }
        // A future version may append fields.
        assert!(
            TraceParent::parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-zz")
                .is_some()
        );
    }

    #[test]
    fn ids_are_deterministic_distinct_and_nonzero() {
        let s = salt_from(b"host");
        assert_eq!(span_id(s, 7), span_id(s, 7));
        assert_ne!(span_id(s, 7), span_id(s, 8));
        assert_ne!(span_id(s, 7), span_id(salt_from(b"other"), 7));
        let mut seen = std::collections::HashSet::new();
        for seq in 0..10_000 {
            let id = span_id(s, seq);
            assert_ne!(id, [0; 8]);
            assert!(seen.insert(id));
        }
        assert_ne!(trace_id(s, 1, 10), trace_id(s, 2, 10));
        assert_ne!(trace_id(s, 1, 10), [0; 16]);
    }
}
