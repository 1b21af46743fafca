//! Block framing: block type ids, a bounds-checked little-endian cursor for payloads,
//! and the encoder of whole blocks (length, padding, trailer).

/// Section header block.
pub const SHB: u32 = 0x0A0D_0D0A;
/// Byte-order magic of the section header.
pub const SHB_MAGIC: u32 = 0x1A2B_3C4D;
/// Machine info.
pub const MI: u32 = 0x201;
/// Process list v9 (what the writer emits).
pub const PL_V9: u32 = 0x215;
/// FD list v2 (what the writer emits).
pub const FDL_V2: u32 = 0x218;
/// Event block v2.
pub const EV_V2: u32 = 0x216;
/// Event block with flags v2.
pub const EVF_V2: u32 = 0x217;
/// Interface list v2.
pub const IL_V2: u32 = 0x219;
/// User list v2.
pub const UL_V2: u32 = 0x220;
/// `EVF` dump flag: the write is a tracer (marker) write.
pub const DF_TRACER: u32 = 2;
/// Largest payload of a non-LARGE event block sysdig 0.29.3 accepts.
pub const MAX_EVENT_PAYLOAD: usize = 65536;

/// What a block id means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BlockKind {
    Shb,
    Mi,
    /// Process list, with its version 1..=9.
    Pl(u8),
    /// FD list, version 1 or 2.
    Fdl(u8),
    /// Event block: header version (1 or 2), has-flags, large (u32 lengths).
    Ev {
        v2: bool,
        flags: bool,
        large: bool,
    },
    /// Interface list, version 1 or 2.
    Il(u8),
    /// User list, version 1 or 2.
    Ul(u8),
    Unknown,
}

pub(crate) fn classify(id: u32) -> BlockKind {
    use BlockKind::*;
    match id {
        SHB => Shb,
        0x201 | 0x8002_ABCD => Mi,
        0x202 | 0x8000_ABCD => Pl(1),
        0x207 | 0x8013_ABCD => Pl(2),
        0x209 | 0x8014_ABCD => Pl(3),
        0x210 => Pl(4),
        0x211 => Pl(5),
        0x212 => Pl(6),
        0x213 => Pl(7),
        0x214 => Pl(8),
        0x215 => Pl(9),
        0x203 | 0x8001_ABCD => Fdl(1),
        0x218 => Fdl(2),
        0x204 | 0x8010_ABCD => Ev {
            v2: false,
            flags: false,
            large: false,
        },
        0x208 => Ev {
            v2: false,
            flags: true,
            large: false,
        },
        0x216 => Ev {
            v2: true,
            flags: false,
            large: false,
        },
        0x217 => Ev {
            v2: true,
            flags: true,
            large: false,
        },
        0x221 => Ev {
            v2: true,
            flags: false,
            large: true,
        },
        0x222 => Ev {
            v2: true,
            flags: true,
            large: true,
        },
        0x205 | 0x8011_ABCD => Il(1),
        0x219 => Il(2),
        0x206 | 0x8012_ABCD => Ul(1),
        0x220 => Ul(2),
        _ => Unknown,
    }
}

/// A bounds-checked little-endian reader over a byte slice. Every getter returns
/// `None` instead of reading past the end.
#[derive(Debug, Clone)]
pub(crate) struct Cur<'a> {
    pub(crate) buf: &'a [u8],
    pub(crate) pos: usize,
}

impl<'a> Cur<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Cur { buf, pos: 0 }
    }
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }
    pub(crate) fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }
    pub(crate) fn arr<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.bytes(N).map(|b| b.try_into().expect("length checked"))
    }
    pub(crate) fn u8(&mut self) -> Option<u8> {
        self.arr::<1>().map(|a| a[0])
    }
    pub(crate) fn u16(&mut self) -> Option<u16> {
        self.arr().map(u16::from_le_bytes)
    }
    pub(crate) fn u32(&mut self) -> Option<u32> {
        self.arr().map(u32::from_le_bytes)
    }
    pub(crate) fn u64(&mut self) -> Option<u64> {
        self.arr().map(u64::from_le_bytes)
    }
    pub(crate) fn i64(&mut self) -> Option<i64> {
        self.arr().map(i64::from_le_bytes)
    }
    /// A `u16`-length-prefixed string (no terminator), decoded lossily.
    pub(crate) fn str16(&mut self) -> Option<String> {
        let n = self.u16()? as usize;
        self.bytes(n)
            .map(|b| String::from_utf8_lossy(b).into_owned())
    }
}

/// Builds one block: `begin` reserves the header, `finish` pads and writes the lengths.
#[derive(Debug, Default)]
pub(crate) struct BlockBuf {
    pub(crate) buf: Vec<u8>,
    start: usize,
}

impl BlockBuf {
    pub(crate) fn begin(&mut self, id: u32) {
        self.start = self.buf.len();
        self.buf.extend_from_slice(&id.to_le_bytes());
        self.buf.extend_from_slice(&[0; 4]);
    }
    pub(crate) fn finish(&mut self) {
        let pad = (4 - (self.buf.len() - self.start) % 4) % 4;
        self.buf.extend(std::iter::repeat_n(0u8, pad));
        let total = (self.buf.len() - self.start + 4) as u32;
        self.buf.extend_from_slice(&total.to_le_bytes());
        self.buf[self.start + 4..self.start + 8].copy_from_slice(&total.to_le_bytes());
    }
    /// Length of the block being built so far (header included).
    pub(crate) fn current_len(&self) -> usize {
        self.buf.len() - self.start
    }
    pub(crate) fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    pub(crate) fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }
    /// A `u16`-length-prefixed string, cut to `max` bytes.
    pub(crate) fn str16(&mut self, s: &str, max: usize) {
        let b = &s.as_bytes()[..s.len().min(max)];
        self.u16(b.len() as u16);
        self.bytes(b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_is_padded_and_trailed() {
        let mut b = BlockBuf::default();
        b.begin(EV_V2);
        b.bytes(&[1, 2, 3]);
        b.finish();
        assert_eq!(b.buf.len(), 16);
        assert_eq!(&b.buf[4..8], &16u32.to_le_bytes());
        assert_eq!(&b.buf[12..16], &16u32.to_le_bytes());
    }

    #[test]
    fn cursor_never_reads_past_end() {
        let mut c = Cur::new(&[1, 0, 2]);
        assert_eq!(c.u16(), Some(1));
        assert_eq!(c.u16(), None);
        assert_eq!(c.u8(), Some(2));
        assert_eq!(c.str16(), None);
    }
}
