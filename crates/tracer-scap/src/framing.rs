//! Block framing of the input: a read window over the (possibly decompressed) byte
//! stream, block headers, trailers, and what a damaged block looks like.

use std::io::{self, ErrorKind, Read};

use crate::error::ScapError;

/// Size of the read window (grows temporarily for larger blocks).
const WINDOW: usize = 1 << 17;

/// Why a block could not be framed.
pub(crate) enum Damage {
    Truncated { expected: u64, got: u64 },
    Corrupt(String),
    Decompression(String),
}

/// The input: blocks are parsed in place from `win[pos..end]`; memory stays at one
/// window whatever the file size.
pub(crate) struct BlockSource {
    src: Box<dyn Read + Send>,
    /// The stream is gzip-decompressed.
    pub(crate) gzip: bool,
    pub(crate) win: Vec<u8>,
    pos: usize,
    end: usize,
    /// Stream offset of `win[0]`.
    base: u64,
    /// The current block's payload (without header and trailer) in `win`.
    pub(crate) body: (usize, usize),
}

impl BlockSource {
    pub(crate) fn new(src: Box<dyn Read + Send>, gzip: bool) -> Self {
        BlockSource {
            src,
            gzip,
            win: vec![0; WINDOW],
            pos: 0,
            end: 0,
            base: 0,
            body: (0, 0),
        }
    }

    /// The current block's payload.
    pub(crate) fn body(&self) -> &[u8] {
        &self.win[self.body.0..self.body.1]
    }

    /// Stream offset (decompressed for gzip) of the next unread byte.
    pub(crate) fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Makes at least `n` bytes available at `pos` (fewer only at the end of the
    /// input); returns how many are available. The window grows only as data arrives.
    pub(crate) fn fill_to(&mut self, n: usize) -> io::Result<usize> {
        if self.end - self.pos >= n {
            return Ok(self.end - self.pos);
        }
        if self.pos > 0 {
            self.win.copy_within(self.pos..self.end, 0);
            self.base += self.pos as u64;
            self.end -= self.pos;
            self.pos = 0;
            if self.win.len() > 4 * WINDOW && self.end < WINDOW {
                self.win.truncate(WINDOW);
                self.win.shrink_to_fit();
            }
        }
        while self.end < n {
            if self.end == self.win.len() {
                let grow = self.win.len().max(WINDOW);
                self.win.resize(self.win.len() + grow, 0);
            }
            match self.src.read(&mut self.win[self.end..]) {
                Ok(0) => break,
                Ok(k) => self.end += k,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.end - self.pos)
    }

    /// Type and total length of the block at `pos` (8 bytes must be available).
    pub(crate) fn block_header(&self) -> (u32, u64) {
        let h = &self.win[self.pos..self.pos + 8];
        (
            u32::from_le_bytes([h[0], h[1], h[2], h[3]]),
            u32::from_le_bytes([h[4], h[5], h[6], h[7]]) as u64,
        )
    }

    pub(crate) fn damage_of(&self, e: io::Error) -> Result<Damage, ScapError> {
        match e.kind() {
            ErrorKind::UnexpectedEof | ErrorKind::InvalidData | ErrorKind::InvalidInput => {
                Ok(if self.gzip {
                    Damage::Decompression(e.to_string())
                } else {
                    Damage::Corrupt(e.to_string())
                })
            }
            _ => Err(ScapError::Io(e)),
        }
    }

    /// Makes the whole block of total length `len` at `pos` available, checks its
    /// trailer, records its payload range in `body` and moves `pos` past it.
    pub(crate) fn read_block(&mut self, len: u64) -> Result<(), Damage> {
        let len_us = len as usize;
        let avail = match self.fill_to(len_us) {
            Ok(a) => a,
            Err(e) => {
                return Err(self
                    .damage_of(e)
                    .unwrap_or_else(|e| Damage::Corrupt(e.to_string())))
            }
        };
        if avail < len_us {
            return Err(Damage::Truncated {
                expected: len,
                got: avail as u64,
            });
        }
        let t = &self.win[self.pos + len_us - 4..self.pos + len_us];
        let trailer = u32::from_le_bytes([t[0], t[1], t[2], t[3]]) as u64;
        if trailer != len {
            return Err(Damage::Corrupt(format!(
                "wrong block total length, header={len}, trailer={trailer}"
            )));
        }
        self.body = (self.pos + 8, self.pos + len_us - 4);
        self.pos += len_us;
        Ok(())
    }
}
