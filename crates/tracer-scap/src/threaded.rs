//! [`ThreadedReader`]: a [`ScapReader`] on a background thread, handing events over in
//! batches, so that decoding the capture overlaps with whatever consumes the events.
//! While the consumer waits for a batch of a memory-mapped capture, it maps the file's
//! pages ahead of the reading thread ([`Ahead`]).

use std::io::{self, Read};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender, TryRecvError};
use std::sync::Arc;
use std::thread::JoinHandle;

use tracer_core::event::Event;

use crate::decoder::Section;
use crate::error::{ScapError, ScapWarning};
use crate::fdlist::FdEntry;
use crate::meta::{Interface, MachineInfo, ProcessEntry, UserEntry};
use crate::reader::{ReadStats, ScapReader};

/// Events per batch handed from the reading thread to the consumer.
const BATCH: usize = 2048;
/// Batches in flight between the two threads (bounds memory and read-ahead).
const IN_FLIGHT: usize = 4;

/// How far ahead of the reading thread the consumer maps pages of a mapped capture.
const AHEAD: usize = 8 << 20;
/// Pages are mapped in steps of this size; between steps the consumer looks for a batch.
const STEP: usize = 256 << 10;
/// Page size assumed for alignment (the kernel's is a multiple of it).
const PAGE: usize = 4096;

/// Maps the file pages of a memory-mapped capture ahead of the reading thread, in the
/// time the consumer would otherwise spend blocked waiting for a batch. Reading a mapped
/// file makes the kernel map its pages on first touch (page faults): about a quarter of
/// the reading thread's time on a large capture. Done here, that work moves to the thread
/// that has time to spare, and costs nothing when the consumer is the slower side (it
/// never waits then).
struct Ahead {
    /// Address and length of the reading thread's mapping of the file. It stays
    /// mapped while this exists: the reading thread hands its reader back at the end
    /// (see [`Msg::End`]) and leaks it if it panics, and the consumer drops this before
    /// it lets the reading thread end any other way (see [`ThreadedReader::shut_down`]).
    addr: usize,
    len: usize,
    /// The reading thread's input offset, published after each batch.
    progress: Arc<AtomicUsize>,
    /// Pages before this offset were mapped by a step.
    done_to: usize,
}

impl Ahead {
    /// Maps the next step of pages ahead of the reading thread; false when there is
    /// nothing to do (far enough ahead, at the end, or not supported by the kernel).
    fn step(&mut self) -> bool {
        let at = self.progress.load(Ordering::Relaxed);
        let from = self.done_to.max(at & !(PAGE - 1));
        let limit = (at + AHEAD).min(self.len);
        if from >= limit {
            return false;
        }
        let to = (from + STEP).min(limit);
        if !populate(self.addr + from, to - from) {
            self.done_to = self.len; // Not supported here: stop trying.
            return false;
        }
        self.done_to = to;
        true
    }
}

/// Maps the pages of `[addr, addr + len)` (inside a live read-only file mapping) as a read
/// of them would; false if the kernel refused (`MADV_POPULATE_READ` is Linux ≥ 5.14).
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn populate(addr: usize, len: usize) -> bool {
    // SAFETY: the range lies inside the reading thread's read-only file mapping, which
    // stays mapped while an `Ahead` exists (see its `addr`); MADV_POPULATE_READ only
    // faults the file's pages in, it never changes memory contents.
    unsafe { libc::madvise(addr as *mut libc::c_void, len, libc::MADV_POPULATE_READ) == 0 }
}

#[cfg(not(target_os = "linux"))]
fn populate(_addr: usize, _len: usize) -> bool {
    false
}

/// Owns the reader on the reading thread and, however the thread ends (end of stream,
/// error, panic), hands it back to the consumer to drop: the consumer may be paging the
/// reader's file mapping in at that moment (see [`Ahead`]), so the mapping must outlive
/// that. When the consumer is gone already, the reader is dropped here.
struct Keep {
    reader: Option<ScapReader>,
    home: Sender<ScapReader>,
}

impl Drop for Keep {
    fn drop(&mut self) {
        if let Some(r) = self.reader.take() {
            let _ = self.home.send(r);
        }
    }
}

/// What the reading thread sends, in stream order.
enum Msg {
    Events(Vec<Event>),
    Error(ScapError),
    End(Box<Tail>),
}

/// What is known only at the end of the stream.
struct Tail {
    stats: ReadStats,
    warnings: Vec<ScapWarning>,
    section: Section,
}

/// A [`ScapReader`] running on a background thread. The consumer gets the same events
/// in the same order, through the same lending [`ThreadedReader::next_ref`]; batches of
/// owned events cross between the threads and are sent back for reuse, so steady
/// state allocates nothing beyond what the events themselves own.
///
/// Metadata getters answer from the start: they describe the first section (read
/// before the first event). Once [`ThreadedReader::next_ref`] has returned `Ok(None)`,
/// they describe the last section, and [`ThreadedReader::stats`] and
/// [`ThreadedReader::warnings`] are complete (before that they are empty).
///
/// An I/O error of the source arrives after every event read before it; a panic of
/// the reading thread becomes an [`ScapError::Io`] error. Dropping the reader early
/// stops the thread (it ends at its next batch) and waits for it.
pub struct ThreadedReader {
    rx: Option<Receiver<Msg>>,
    back: Option<SyncSender<Vec<Event>>>,
    handle: Option<JoinHandle<()>>,
    batch: Vec<Event>,
    /// Index of the next event of `batch` to lend.
    next: usize,
    done: bool,
    gzip: bool,
    section: Section,
    stats: ReadStats,
    warnings: Vec<ScapWarning>,
    /// Paging a mapped capture in ahead of the reading thread.
    ahead: Option<Ahead>,
    /// Where the reading thread hands its reader back at its end (see [`Keep`]).
    returned: Option<Receiver<ScapReader>>,
}

impl std::fmt::Debug for ThreadedReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreadedReader")
            .field("gzip", &self.gzip)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl ScapReader {
    /// Continues reading on a background thread: see [`ThreadedReader`].
    pub fn into_threaded(self) -> ThreadedReader {
        ThreadedReader::new(self)
    }
}

/// The reading thread: fills batches (reusing the ones sent back) until the end,
/// publishing its input offset after each one when `progress` is given.
fn produce(
    r: ScapReader,
    tx: SyncSender<Msg>,
    back: Receiver<Vec<Event>>,
    progress: Option<Arc<AtomicUsize>>,
    home: Sender<ScapReader>,
) {
    let mut keep = Keep {
        reader: Some(r),
        home,
    };
    let Some(r) = keep.reader.as_mut() else {
        return;
    };
    loop {
        let mut batch = back
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(BATCH));
        let (n, error) = r.fill_batch(&mut batch, BATCH);
        if let Some(p) = &progress {
            p.store(r.input_offset() as usize, Ordering::Relaxed);
        }
        let end = n == 0 && error.is_none();
        batch.truncate(n);
        if n > 0 && tx.send(Msg::Events(batch)).is_err() {
            return; // The consumer is gone.
        }
        if let Some(e) = error {
            // The reader is finished after an error; the next round sends the end.
            if tx.send(Msg::Error(e)).is_err() {
                return;
            }
        }
        if end {
            let tail = Tail {
                stats: r.stats().clone(),
                warnings: r.warnings().to_vec(),
                section: r.section().clone(),
            };
            let _ = tx.send(Msg::End(Box::new(tail)));
            return;
        }
    }
}

/// The message of a thread's panic payload.
fn panic_message(p: &(dyn std::any::Any + Send)) -> &str {
    if let Some(s) = p.downcast_ref::<&str>() {
        s
    } else if let Some(s) = p.downcast_ref::<String>() {
        s
    } else {
        "unknown panic"
    }
}

impl ThreadedReader {
    /// Opens a capture file (see [`ScapReader::open`]) and starts reading it on a
    /// background thread.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ScapError> {
        Ok(Self::new(ScapReader::open(path)?))
    }

    /// Reads a capture from any byte source (see [`ScapReader::from_reader`]) on a
    /// background thread.
    pub fn from_reader<R: Read + Send + 'static>(r: R) -> Result<Self, ScapError> {
        Ok(Self::new(ScapReader::from_reader(r)?))
    }

    /// Moves `reader` to a background thread.
    pub fn new(reader: ScapReader) -> Self {
        let (tx, rx) = sync_channel(IN_FLIGHT);
        let (back_tx, back_rx) = sync_channel(IN_FLIGHT + 2);
        let gzip = reader.is_gzip();
        let section = reader.section().clone();
        let ahead = reader.mapped_range().map(|(addr, len)| Ahead {
            addr,
            len,
            progress: Arc::new(AtomicUsize::new(reader.input_offset() as usize)),
            done_to: 0,
        });
        let progress = ahead.as_ref().map(|a| a.progress.clone());
        let (home, returned) = channel();
        let spawned = std::thread::Builder::new()
            .name("scap-reader".into())
            .spawn(move || produce(reader, tx, back_rx, progress, home));
        // Without a thread the reader (and its mapping) is gone already.
        let ahead = ahead.filter(|_| spawned.is_ok());
        ThreadedReader {
            rx: Some(rx),
            back: Some(back_tx),
            // Without a thread the stream ends at once with an error (see `refill`).
            handle: spawned.ok(),
            batch: Vec::new(),
            next: 0,
            done: false,
            gzip,
            section,
            stats: ReadStats::default(),
            warnings: Vec::new(),
            ahead,
            returned: Some(returned),
        }
    }

    /// True when the file is gzip-compressed.
    pub fn is_gzip(&self) -> bool {
        self.gzip
    }

    /// Machine info of the first section (of the last one after the end).
    pub fn machine_info(&self) -> Option<&MachineInfo> {
        self.section.machine.as_ref()
    }

    /// The process list of the first section (of the last one after the end).
    pub fn processes(&self) -> &[ProcessEntry] {
        &self.section.processes
    }

    /// The fd lists of the first section (of the last one after the end).
    pub fn fd_table(&self) -> &[FdEntry] {
        &self.section.fds
    }

    /// Interface addresses of the first section (of the last one after the end).
    pub fn interfaces(&self) -> &[Interface] {
        &self.section.interfaces
    }

    /// Users and groups of the first section (of the last one after the end).
    pub fn users(&self) -> &[UserEntry] {
        &self.section.users
    }

    /// The reader's counters; complete once the end was reached (default before).
    pub fn stats(&self) -> &ReadStats {
        &self.stats
    }

    /// Why reading stopped early, if it did; known once the end was reached.
    pub fn warnings(&self) -> &[ScapWarning] {
        &self.warnings
    }

    /// The next event, `Ok(None)` at the end; see [`ScapReader::next_event`].
    pub fn next_event(&mut self) -> Result<Option<Event>, ScapError> {
        Ok(self.next_ref()?.cloned())
    }

    /// The next event, lent until the next call; see [`ScapReader::next_ref`].
    #[inline]
    pub fn next_ref(&mut self) -> Result<Option<&Event>, ScapError> {
        if self.next >= self.batch.len() && !self.refill()? {
            return Ok(None);
        }
        self.next += 1;
        Ok(Some(&self.batch[self.next - 1]))
    }

    /// Gets the next non-empty batch; false at the end.
    fn refill(&mut self) -> Result<bool, ScapError> {
        loop {
            if self.done {
                return Ok(false);
            }
            if self.batch.capacity() > 0 {
                let used = std::mem::take(&mut self.batch);
                if let Some(back) = &self.back {
                    let _ = back.try_send(used);
                }
            }
            self.next = 0;
            let msg = self.receive();
            match msg {
                Some(Msg::Events(b)) => {
                    self.batch = b;
                    if !self.batch.is_empty() {
                        return Ok(true);
                    }
                }
                Some(Msg::Error(e)) => return Err(e),
                Some(Msg::End(t)) => {
                    self.ahead = None;
                    self.stats = t.stats;
                    self.warnings = t.warnings;
                    self.section = t.section;
                    self.shut_down();
                    return Ok(false);
                }
                None => {
                    // The thread is gone without an end: it panicked (or never ran).
                    let why = match self.handle.take().map(|h| h.join()) {
                        Some(Err(p)) => format!("reader thread panicked: {}", panic_message(&*p)),
                        Some(Ok(())) => "reader thread stopped early".to_string(),
                        None => "reader thread could not be started".to_string(),
                    };
                    self.shut_down();
                    return Err(ScapError::Io(io::Error::other(why)));
                }
            }
        }
    }

    /// The next message; while none is ready, maps pages ahead of the reading thread
    /// (see [`Ahead`]) before blocking.
    fn receive(&mut self) -> Option<Msg> {
        let rx = self.rx.as_ref()?;
        if let Some(ahead) = &mut self.ahead {
            loop {
                match rx.try_recv() {
                    Ok(m) => return Some(m),
                    Err(TryRecvError::Disconnected) => return None,
                    Err(TryRecvError::Empty) => {
                        if !ahead.step() {
                            break;
                        }
                    }
                }
            }
        }
        rx.recv().ok()
    }

    /// Stops the thread (it ends when it next sends) and waits for it. Paging stops
    /// first: the thread may drop its reader (and unmap the file) once it cannot send.
    fn shut_down(&mut self) {
        self.ahead = None;
        self.done = true;
        self.rx = None;
        self.back = None;
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        // The reader handed back (if any) is dropped here, with its file mapping.
        self.returned = None;
    }
}

impl Drop for ThreadedReader {
    fn drop(&mut self) {
        self.shut_down();
    }
}

impl Iterator for ThreadedReader {
    type Item = Result<Event, ScapError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_event().transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Paging ahead never goes more than `AHEAD` past the reading thread, follows its
    /// progress, and stops at the end of the mapping.
    #[test]
    fn ahead_follows_the_reader_and_stays_in_the_mapping() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let len = 2 * AHEAD + 12345;
        std::fs::write(&path, vec![7u8; len]).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        // SAFETY (test): a private read-only map of a file nobody else changes.
        #[allow(unsafe_code)]
        let map = unsafe { memmap2::Mmap::map(&file) }.unwrap();
        let mut a = Ahead {
            addr: map.as_ptr() as usize,
            len: map.len(),
            progress: Arc::new(AtomicUsize::new(0)),
            done_to: 0,
        };
        let mut steps = 0;
        while a.step() {
            steps += 1;
        }
        if a.done_to == len && steps == 0 {
            eprintln!("SKIP: MADV_POPULATE_READ not supported by this kernel");
            return;
        }
        assert_eq!(a.done_to, AHEAD);
        assert_eq!(steps, AHEAD / STEP);
        // The reader moved on (to an unaligned offset past what was mapped).
        a.progress.store(AHEAD + 5000, Ordering::Relaxed);
        while a.step() {}
        assert_eq!(a.done_to, 2 * AHEAD + 5000);
        a.progress.store(len - 1, Ordering::Relaxed);
        while a.step() {}
        assert_eq!(a.done_to, len);
        assert!(!a.step());
        assert_eq!(map[len - 1], 7);
    }
}
