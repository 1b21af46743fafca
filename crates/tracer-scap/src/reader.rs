//! The streaming `.scap` reader: opening, block framing and the public API. What the
//! blocks mean is in [`crate::decoder`].

use std::fs::File;
use std::io::{self, BufReader, ErrorKind, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;
use tracer_core::event::Event;
#[cfg(doc)]
use tracer_core::event::EventKind;

use crate::block::{classify, BlockKind, Cur, EVF_V2, EV_V2, SHB, SHB_MAGIC};
use crate::decoder::{blank_event, Decoder, Handled};
use crate::error::{ScapError, ScapWarning};
use crate::fdlist::FdEntry;
use crate::framing::{BlockSource, Damage};
use crate::meta::{Interface, MachineInfo, ProcessEntry, UserEntry};

/// Blocks larger than this are treated as corruption (sysdig's own limit for event
/// blocks is 64 KiB; metadata blocks of huge systems stay far below this).
const MAX_BLOCK: u64 = 256 << 20;

/// Counters of what the reader saw and skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Blocks read (all kinds).
    pub blocks: u64,
    /// Sections (section headers, plus metadata blocks after events).
    pub sections: u64,
    /// Event records parsed (enter and exit counted separately).
    pub raw_events: u64,
    /// Blocks of unknown type, skipped.
    pub unknown_blocks: u64,
    /// Events of unknown or unused type (≥ 336 or `NA`), skipped.
    pub unknown_events: u64,
    /// Events that are not syscalls (scheduler switches, signal deliveries…), skipped.
    pub non_syscall_events: u64,
    /// Events whose parameters could not be split (bad lengths), skipped.
    pub malformed_events: u64,
    /// Metadata entries that could not be parsed (the rest of their block was skipped).
    pub malformed_metadata: u64,
    /// Exit events without their enter (turned into syscalls with `enter_ts = ts`).
    /// Includes the child's side of every clone.
    pub exits_without_enter: u64,
    /// Enter events never followed by their exit on the same thread.
    pub enters_without_exit: u64,
    /// Exit events in `EVF` blocks carrying the tracer flag.
    pub tracer_flagged: u64,
    /// Raw event count per sysdig event type id (index = type id; enter and exit ids
    /// are distinct).
    pub by_type: Vec<u64>,
}

/// Reads a `.scap` file (plain or gzip) block by block and yields tracer-core
/// [`Event`]s in file order, with constant memory: one block buffer plus tables whose
/// size depends on the number of live threads and fds, never on the file size.
///
/// At the start of each section, the process list becomes [`EventKind::ThreadInfo`]
/// events and the fd lists [`EventKind::FdSnapshot`] events (timestamp = the first
/// event's). Enter and exit events are paired per thread into one
/// [`EventKind::Syscall`]; `procexit` becomes [`EventKind::ThreadExit`]. A damaged or
/// truncated tail ends the stream with a [`ScapWarning`] (see [`ScapReader::warnings`])
/// and a final [`EventKind::Lost`] event (tid -1).
///
/// Payload rule: an I/O syscall keeps its captured data buffer only when its exit is
/// flagged as a tracer write (`EVF` flag 2; then `null_dev` is set) or its fd is known
/// (from the fd list or an open event) as exactly `/dev/null` — the fds sysdig would
/// parse as tracers. All other payloads are dropped.
///
/// Plain files opened with [`ScapReader::open`] are read through a read-only memory
/// map (nothing is copied; the pages are page cache, read sequentially). The file must
/// not be truncated by another process while it is read (as with any mapped file).
/// Gzip files and [`ScapReader::from_reader`] sources are streamed through one window.
/// The metadata blocks of the first section (machine, processes, fds…) are read when
/// the reader is created, so the getters answer before the first event.
#[repr(C)]
pub struct ScapReader {
    /// The event lent by [`ScapReader::next_ref`], rebuilt in place. (First: its
    /// address is the reader's.)
    current: Event,
    io: BlockSource,
    d: Decoder,
}

impl std::fmt::Debug for ScapReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScapReader")
            .field("gzip", &self.io.gzip)
            .field("mapped", &self.io.is_mapped())
            .field("offset", &self.io.offset())
            .field("stats", &self.d.stats)
            .finish_non_exhaustive()
    }
}

/// Maps a plain (not gzip) regular file; `None` when it cannot or should not be mapped.
#[allow(unsafe_code)]
fn map_plain_file(file: &File) -> Option<memmap2::Mmap> {
    let meta = file.metadata().ok()?;
    if !meta.is_file() || meta.len() < 2 {
        return None;
    }
    // SAFETY: the map is read-only and private to this reader; the bytes are only read
    // through bounds-checked slices. The documented caveat of every file map applies:
    // another process truncating the file while it is read would fault the reader.
    let map = unsafe { memmap2::MmapOptions::new().map(file) }.ok()?;
    if map[..2] == [0x1f, 0x8b] {
        return None;
    }
    let _ = map.advise(memmap2::Advice::Sequential);
    Some(map)
}

impl ScapReader {
    /// Opens a capture file; gzip compression is detected from the magic bytes.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ScapError> {
        let file = File::open(path)?;
        match map_plain_file(&file) {
            Some(map) => Self::from_source(BlockSource::mapped(map)),
            None => Self::from_reader(file),
        }
    }

    /// Reads a capture from any byte source (gzip detected from the magic bytes).
    /// Fails when the source does not start with a valid section header.
    pub fn from_reader<R: Read + Send + 'static>(r: R) -> Result<Self, ScapError> {
        let mut r = r;
        let mut head = [0u8; 2];
        let mut got = 0;
        while got < 2 {
            match r.read(&mut head[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        let gzip = head[..got] == [0x1f, 0x8b];
        let chained = io::Cursor::new(head[..got].to_vec()).chain(r);
        let src: Box<dyn Read + Send> = if gzip {
            Box::new(MultiGzDecoder::new(BufReader::with_capacity(
                1 << 16,
                chained,
            )))
        } else {
            Box::new(chained)
        };
        Self::from_source(BlockSource::new(src, gzip))
    }

    fn from_source(io: BlockSource) -> Result<Self, ScapError> {
        let mut rd = ScapReader {
            io,
            d: Decoder::new(),
            current: blank_event(),
        };
        // The first block must be a section header.
        let got = rd.io.fill_to(8)?;
        if got < 8 {
            return Err(ScapError::TooShort(got as u64));
        }
        let (id, len) = rd.io.block_header();
        if id != SHB {
            return Err(ScapError::NotScap(id));
        }
        if !(28..=MAX_BLOCK).contains(&len) {
            return Err(ScapError::TooShort(len));
        }
        match rd.io.read_block(len) {
            Ok(()) => {}
            Err(Damage::Truncated { got, .. }) => return Err(ScapError::TooShort(got)),
            Err(Damage::Corrupt(m) | Damage::Decompression(m)) => {
                return Err(ScapError::Io(io::Error::new(ErrorKind::InvalidData, m)))
            }
        }
        check_shb(rd.io.body())?;
        rd.d.stats.blocks = 1;
        rd.d.stats.sections = 1;
        rd.read_first_metadata()?;
        Ok(rd)
    }

    /// Reads the first section's metadata blocks, up to its first event block (or the
    /// end), so that the getters answer before the first event.
    fn read_first_metadata(&mut self) -> Result<(), ScapError> {
        while !self.d.done && self.d.queue.is_empty() && !self.d.in_events() {
            match self.io.fill_to(8) {
                Ok(n) if n >= 8 => {}
                _ => return Ok(()),
            }
            let (id, _) = self.io.block_header();
            if matches!(classify(id), BlockKind::Ev { .. } | BlockKind::Shb) {
                return Ok(());
            }
            if step(&mut self.io, &mut self.d, &mut self.current)? {
                // Not reached (no event blocks here); keep the event all the same.
                let ev = std::mem::replace(&mut self.current, blank_event());
                self.d.queue.push_back(ev);
            }
        }
        Ok(())
    }

    /// Address and length of the mapping of a memory-mapped input (`None` for
    /// streams); the mapping lives as long as this reader.
    pub(crate) fn mapped_range(&self) -> Option<(usize, usize)> {
        self.io.mapped_range()
    }

    /// Offset of the next unread byte of the input (decompressed for gzip).
    pub(crate) fn input_offset(&self) -> u64 {
        self.io.offset()
    }

    /// True when the file is gzip-compressed.
    pub fn is_gzip(&self) -> bool {
        self.io.gzip
    }

    /// The current section's metadata.
    pub(crate) fn section(&self) -> &crate::decoder::Section {
        &self.d.section
    }

    /// Machine info of the current section, if the capture has one.
    pub fn machine_info(&self) -> Option<&MachineInfo> {
        self.d.section.machine.as_ref()
    }

    /// The process list of the current section (one entry per thread).
    pub fn processes(&self) -> &[ProcessEntry] {
        &self.d.section.processes
    }

    /// The fd lists of the current section.
    pub fn fd_table(&self) -> &[FdEntry] {
        &self.d.section.fds
    }

    /// Interface addresses of the current section.
    pub fn interfaces(&self) -> &[Interface] {
        &self.d.section.interfaces
    }

    /// Users and groups of the current section.
    pub fn users(&self) -> &[UserEntry] {
        &self.d.section.users
    }

    /// Counters (skipped blocks and events, unpaired events…).
    pub fn stats(&self) -> &ReadStats {
        &self.d.stats
    }

    /// Why reading stopped early, if it did (damaged or truncated tail).
    pub fn warnings(&self) -> &[ScapWarning] {
        &self.d.warnings
    }

    /// The next event, `Ok(None)` at the end (also after a damaged tail, which is
    /// reported in [`ScapReader::warnings`]). `Err` only for I/O errors of the source.
    pub fn next_event(&mut self) -> Result<Option<Event>, ScapError> {
        Ok(self.next_ref()?.cloned())
    }

    /// Like [`ScapReader::next_event`] but lends the event instead of returning it: the
    /// reader rebuilds one event in place, which avoids moving the (large) event struct
    /// and reuses its allocations. The fastest way to feed an engine.
    #[inline]
    pub fn next_ref(&mut self) -> Result<Option<&Event>, ScapError> {
        if advance(&mut self.io, &mut self.d, &mut self.current)? {
            Ok(Some(&self.current))
        } else {
            Ok(None)
        }
    }

    /// Builds up to `max` next events in `batch[..n]`, reusing the allocations of the
    /// events it holds (it grows to `max` events first; events past `n` are left as
    /// they are).
    /// Returns `n` (0 only at the end) and the I/O error that stopped reading, if one
    /// did: it comes after the `n` events, and the reader is finished then.
    ///
    /// One pass of the framing loop fills many slots, which saves the per-event call
    /// and set-up of [`ScapReader::next_ref`]: the way to feed another thread.
    pub(crate) fn fill_batch(
        &mut self,
        batch: &mut Vec<Event>,
        max: usize,
    ) -> (usize, Option<ScapError>) {
        fill(&mut self.io, &mut self.d, batch, max)
    }
}

/// See [`ScapReader::fill_batch`]: the same order of events as [`advance`] (queued
/// events first; an event built while events are queued goes behind them).
/// (Inlined into its one caller: it keeps the reader's fields at fixed offsets.)
#[inline(always)]
fn fill(
    io: &mut BlockSource,
    d: &mut Decoder,
    batch: &mut Vec<Event>,
    max: usize,
) -> (usize, Option<ScapError>) {
    if batch.len() < max {
        batch.resize_with(max, blank_event);
    }
    let mut n = 0;
    while n < max {
        if let Some(e) = d.queue.pop_front() {
            batch[n] = e;
            n += 1;
            continue;
        }
        if d.done {
            break;
        }
        // The common case: many whole blocks in one pass, events built in place in
        // the free slots (walked without indexing).
        let mut slots = batch[n..max].iter_mut();
        let Some(mut out) = slots.next() else { break };
        let mut built = 0;
        let mut queued = false;
        let quick = io.quick_blocks(12, MAX_BLOCK, |id, body, at| {
            let h = on_block(body, d, out, id, at);
            // (Enters, the most common case, first: one comparison.)
            if h == Handled::Quiet {
                return None;
            }
            match h {
                Handled::Built | Handled::Fresh => {
                    if h == Handled::Built && !d.queue.is_empty() {
                        queued = true;
                        return Some(());
                    }
                    built += 1;
                    match slots.next() {
                        Some(next) => {
                            out = next;
                            None
                        }
                        None => Some(()),
                    }
                }
                Handled::Quiet => None,
                Handled::Nothing => (!d.quiet()).then_some(()),
            }
        });
        n += built;
        if queued {
            let ev = std::mem::replace(&mut batch[n], blank_event());
            d.queue.push_back(ev);
            continue;
        }
        if quick.is_some() {
            continue;
        }
        // The careful path: one block.
        let at = io.offset();
        match frame_slow(io, d, at) {
            Ok(Some(id)) => {
                if matches!(
                    on_block(io.body(), d, &mut batch[n], id, at),
                    Handled::Built | Handled::Fresh
                ) {
                    if d.queue.is_empty() {
                        n += 1;
                    } else {
                        let ev = std::mem::replace(&mut batch[n], blank_event());
                        d.queue.push_back(ev);
                    }
                }
            }
            Ok(None) => {}
            Err(e) => {
                d.done = true;
                return (n, Some(e));
            }
        }
    }
    (n, None)
}

/// Makes `out` the next event; false at the end.
#[inline]
fn advance(io: &mut BlockSource, d: &mut Decoder, out: &mut Event) -> Result<bool, ScapError> {
    loop {
        if !d.queue.is_empty() {
            return Ok(pop_queued(d, out));
        }
        if d.done {
            return Ok(false);
        }
        match step(io, d, out) {
            // The common case: a syscall built in `out`, nothing queued before it.
            Ok(true) if d.queue.is_empty() => return Ok(true),
            Ok(true) => {
                let ev = std::mem::replace(out, blank_event());
                d.queue.push_back(ev);
            }
            Ok(false) => {}
            Err(e) => {
                d.done = true;
                return Err(e);
            }
        }
    }
}

/// Moves the first queued event to `out` (true; false when none is queued).
#[cold]
#[inline(never)]
fn pop_queued(d: &mut Decoder, out: &mut Event) -> bool {
    match d.queue.pop_front() {
        Some(e) => {
            *out = e;
            true
        }
        None => false,
    }
}

/// Checks the section header block just read.
fn check_shb(body: &[u8]) -> Result<(), ScapError> {
    let mut c = Cur::new(body);
    let magic = c.u32().unwrap_or(0);
    if magic != SHB_MAGIC {
        return Err(ScapError::BadMagic(magic));
    }
    let major = c.u16().unwrap_or(0);
    let minor = c.u16().unwrap_or(0);
    if major != 1 {
        return Err(ScapError::UnsupportedVersion { major, minor });
    }
    Ok(())
}

/// Reads and handles blocks up to the next event built in `out` (true), or up to
/// anything else the caller must look at (false: events queued, the end, a stop, a
/// block outside the events of a section).
#[inline]
fn step(io: &mut BlockSource, d: &mut Decoder, out: &mut Event) -> Result<bool, ScapError> {
    // The common case: whole, well-formed blocks are available.
    let quick = io.quick_blocks(12, MAX_BLOCK, |id, body, at| {
        match on_block(body, d, out, id, at) {
            Handled::Built | Handled::Fresh => Some(true),
            // Nothing built (an enter, a skipped event): go on with the next block while
            // among events, with nothing queued and the decoder not stopped (what the
            // caller would do next anyway).
            Handled::Quiet => None,
            Handled::Nothing => (!d.quiet()).then_some(false),
        }
    });
    if let Some(built) = quick {
        return Ok(built);
    }
    let at = io.offset();
    match frame_slow(io, d, at)? {
        Some(id) => Ok(matches!(
            on_block(io.body(), d, out, id, at),
            Handled::Built | Handled::Fresh
        )),
        None => Ok(false),
    }
}

/// Frames the block at stream offset `at` when [`BlockSource::quick_blocks`] could not:
/// reads more input, and stops the decoder at the end or at damage. The block's type
/// when one was framed.
#[inline(never)]
fn frame_slow(io: &mut BlockSource, d: &mut Decoder, at: u64) -> Result<Option<u32>, ScapError> {
    let got = match io.fill_to(8) {
        Ok(n) => n,
        Err(e) => {
            let damage = io.damage_of(e)?;
            d.stop(at, damage);
            return Ok(None);
        }
    };
    if got == 0 {
        d.finish();
        return Ok(None);
    }
    if got < 8 {
        d.stop(
            at,
            Damage::Truncated {
                expected: 8,
                got: got as u64,
            },
        );
        return Ok(None);
    }
    let (id, len) = io.block_header();
    if !(12..=MAX_BLOCK).contains(&len) {
        d.stop(
            at,
            Damage::Corrupt(format!("invalid block length {len} (block type {id:#x})")),
        );
        return Ok(None);
    }
    if let Err(damage) = io.read_block(len) {
        d.stop(at, damage);
        return Ok(None);
    }
    Ok(Some(id))
}

/// Handles the block just framed (type `id`, starting at stream offset `at`), maybe
/// building an event in `out`.
#[inline(always)]
fn on_block(body: &[u8], d: &mut Decoder, out: &mut Event, id: u32, at: u64) -> Handled {
    d.stats.blocks += 1;
    // The usual event blocks first, without the full classification.
    if id == EVF_V2 || id == EV_V2 {
        d.handle_event(body, true, id == EVF_V2, false, out)
    } else {
        other_block(body, d, out, id, at)
    }
}

/// A block other than an `EV`/`EVF` v2 block (see [`on_block`]).
#[inline(never)]
fn other_block(body: &[u8], d: &mut Decoder, out: &mut Event, id: u32, at: u64) -> Handled {
    let kind = classify(id);
    match kind {
        BlockKind::Ev { v2, flags, large } => return d.handle_event(body, v2, flags, large, out),
        BlockKind::Unknown => d.stats.unknown_blocks += 1,
        BlockKind::Shb => {
            if check_shb(body).is_err() {
                d.stop(at, Damage::Corrupt("invalid section header".into()));
                return Handled::Nothing;
            }
            d.new_section();
        }
        _ => {
            if d.in_events() {
                d.new_section();
            }
            d.on_metadata(kind, body);
        }
    }
    Handled::Nothing
}

impl Iterator for ScapReader {
    type Item = Result<Event, ScapError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_event().transpose()
    }
}

/// The sysdig name and direction (`true` = enter) of an event type id.
pub fn event_type_name(etype: u16) -> Option<(&'static str, bool)> {
    crate::evtable::EVENT_TABLE
        .get(etype as usize)
        .map(|e| (e.name, etype.is_multiple_of(2)))
}

#[cfg(test)]
#[path = "reader_tests.rs"]
mod tests;
