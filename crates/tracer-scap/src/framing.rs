//! Block framing of the input: a read window over the (possibly decompressed) byte
//! stream, block headers, trailers, and what a damaged block looks like.

use std::io::{self, ErrorKind, Read};

use crate::error::ScapError;

/// Size of the read window (grows temporarily for larger blocks).
const WINDOW: usize = 1 << 19;
/// A mapped file's pages are handed back to the kernel every this many bytes read, so
/// that memory stays bounded whatever the file size.
const RELEASE_EVERY: usize = 32 << 20;
/// Page size assumed for releases (the kernel's is a multiple of it on x86-64 and
/// aarch64 4K/16K/64K kernels: rounding down to 4 KiB keeps partial pages mapped).
const PAGE: usize = 4096;

/// Why a block could not be framed.
pub(crate) enum Damage {
    Truncated { expected: u64, got: u64 },
    Corrupt(String),
    Decompression(String),
}

/// Where the bytes come from.
enum Backing {
    /// A stream read into the window `win`.
    Stream(Box<dyn Read + Send>),
    /// A plain file mapped into memory: blocks are parsed in place, nothing is copied.
    Mapped(memmap2::Mmap),
}

/// The input: blocks are parsed in place from `buf()[pos..end]`. For streams, memory
/// stays at one window whatever the file size; a mapped file is only paged in (page
/// cache, read sequentially and reclaimable), never copied.
pub(crate) struct BlockSource {
    backing: Backing,
    /// The stream is gzip-decompressed.
    pub(crate) gzip: bool,
    pub(crate) win: Vec<u8>,
    pos: usize,
    end: usize,
    /// Stream offset of `win[0]`.
    base: u64,
    /// The current block's payload (without header and trailer) in `win`.
    pub(crate) body: (usize, usize),
    /// Mapped bytes before this offset were released (see [`BlockSource::release`]).
    released: usize,
}

impl BlockSource {
    pub(crate) fn new(src: Box<dyn Read + Send>, gzip: bool) -> Self {
        BlockSource {
            backing: Backing::Stream(src),
            gzip,
            win: vec![0; WINDOW],
            pos: 0,
            end: 0,
            base: 0,
            body: (0, 0),
            released: 0,
        }
    }

    /// A plain (uncompressed) file read through a memory map.
    pub(crate) fn mapped(map: memmap2::Mmap) -> Self {
        BlockSource {
            end: map.len(),
            backing: Backing::Mapped(map),
            gzip: false,
            win: Vec::new(),
            pos: 0,
            base: 0,
            body: (0, 0),
            released: 0,
        }
    }

    /// Address and length of a mapped file's mapping (`None` for streams).
    pub(crate) fn mapped_range(&self) -> Option<(usize, usize)> {
        match &self.backing {
            Backing::Mapped(m) => Some((m.as_ptr() as usize, m.len())),
            Backing::Stream(_) => None,
        }
    }

    /// True when reading a memory-mapped file.
    pub(crate) fn is_mapped(&self) -> bool {
        matches!(self.backing, Backing::Mapped(_))
    }

    /// The bytes blocks are framed in (`pos`, `end` and `body` index into it).
    #[inline]
    pub(crate) fn buf(&self) -> &[u8] {
        match &self.backing {
            Backing::Mapped(m) => m,
            Backing::Stream(_) => &self.win,
        }
    }

    /// The current block's payload.
    #[inline]
    pub(crate) fn body(&self) -> &[u8] {
        &self.buf()[self.body.0..self.body.1]
    }

    /// Stream offset (decompressed for gzip) of the next unread byte.
    pub(crate) fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Makes at least `n` bytes available at `pos` (fewer only at the end of the
    /// input); returns how many are available. The window grows only as data arrives.
    #[inline]
    pub(crate) fn fill_to(&mut self, n: usize) -> io::Result<usize> {
        if self.end - self.pos >= n {
            return Ok(self.end - self.pos);
        }
        self.fill_slow(n)
    }

    fn fill_slow(&mut self, n: usize) -> io::Result<usize> {
        let Backing::Stream(src) = &mut self.backing else {
            // A mapped file has everything available already.
            return Ok(self.end - self.pos);
        };
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
            match src.read(&mut self.win[self.end..]) {
                Ok(0) => break,
                Ok(k) => self.end += k,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.end - self.pos)
    }

    /// Type and total length of the block at `pos` (8 bytes must be available).
    #[inline]
    pub(crate) fn block_header(&self) -> (u32, u64) {
        let h = &self.buf()[self.pos..self.pos + 8];
        (
            u32::from_le_bytes([h[0], h[1], h[2], h[3]]),
            u32::from_le_bytes([h[4], h[5], h[6], h[7]]) as u64,
        )
    }

    /// The common case of framing: while the whole block at `pos` is already
    /// available with a length in `min..=max` and a matching trailer, moves past it and
    /// calls `f(type, payload, stream offset of the block)`; stops when `f` returns
    /// `Some` (and returns that) or at the first block that needs the careful path
    /// (`None`; `body` is not updated here: payloads are passed to `f`).
    #[inline(always)]
    pub(crate) fn quick_blocks<T>(
        &mut self,
        min: u64,
        max: u64,
        mut f: impl FnMut(u32, &[u8], u64) -> Option<T>,
    ) -> Option<T> {
        let buf: &[u8] = match &self.backing {
            Backing::Mapped(m) => m,
            Backing::Stream(_) => &self.win,
        };
        let (base, end) = (self.base, self.end);
        let mut pos = self.pos;
        let mut result = None;
        while let Some((id, body, len)) = buf.get(pos..end).and_then(|a| quick_frame(a, min, max)) {
            let at = base + pos as u64;
            pos += len;
            result = f(id, body, at);
            if result.is_some() {
                break;
            }
        }
        self.pos = pos;
        if pos.saturating_sub(self.released) >= RELEASE_EVERY {
            self.release();
        }
        result
    }

    /// Hands the pages of a mapped file before `pos` back to the kernel: they were read
    /// and are not needed again (every event owns its data), so the process's memory stays
    /// bounded instead of growing to the size of the file. (They stay in the page cache;
    /// a later access would fault them in again from the file.) Nothing for streams,
    /// whose window is bounded already.
    #[cold]
    #[inline(never)]
    #[allow(unsafe_code)]
    fn release(&mut self) {
        let end = self.pos & !(PAGE - 1);
        if let Backing::Mapped(m) = &self.backing {
            if end > self.released {
                // SAFETY: a read-only shared file mapping: MADV_DONTNEED only drops the
                // page table entries, and any later access reads the same bytes from the
                // file again, so no reference into the map sees its contents change.
                let _ = unsafe {
                    m.unchecked_advise_range(
                        memmap2::UncheckedAdvice::DontNeed,
                        self.released,
                        end - self.released,
                    )
                };
            }
            self.released = end;
        }
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
    #[inline]
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
        let t = &self.buf()[self.pos + len_us - 4..self.pos + len_us];
        let trailer = u32::from_le_bytes([t[0], t[1], t[2], t[3]]) as u64;
        if trailer != len {
            return Err(Damage::Corrupt(format!(
                "wrong block total length, header={len}, trailer={trailer}"
            )));
        }
        self.body = (self.pos + 8, self.pos + len_us - 4);
        self.pos += len_us;
        if self.pos.saturating_sub(self.released) >= RELEASE_EVERY {
            self.release();
        }
        Ok(())
    }
}

/// Frames the block at the start of `avail` when it is whole, its length is in
/// `min..=max` and its trailer matches: its type, payload and total length.
#[inline(always)]
fn quick_frame(avail: &[u8], min: u64, max: u64) -> Option<(u32, &[u8], usize)> {
    let (h, _) = avail.split_first_chunk::<8>()?;
    let id = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
    let len = u32::from_le_bytes([h[4], h[5], h[6], h[7]]) as u64;
    if len < min || len > max {
        return None;
    }
    let block = avail.get(..len as usize)?;
    let (rest, t) = block.split_last_chunk::<4>()?;
    if u32::from_le_bytes(*t) as u64 != len {
        return None;
    }
    Some((id, rest.get(8..)?, len as usize))
}
