//! [`ThreadedReader`]: a [`ScapReader`] on a background thread, handing events over in
//! batches, so that decoding the capture overlaps with whatever consumes the events.

use std::io::{self, Read};
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
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

/// The reading thread: fills batches (reusing the ones sent back) until the end.
fn produce(mut r: ScapReader, tx: SyncSender<Msg>, back: Receiver<Vec<Event>>) {
    loop {
        let mut batch = back
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(BATCH));
        let (n, error) = r.fill_batch(&mut batch, BATCH);
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
        let spawned = std::thread::Builder::new()
            .name("scap-reader".into())
            .spawn(move || produce(reader, tx, back_rx));
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
            let msg = self.rx.as_ref().and_then(|rx| rx.recv().ok());
            match msg {
                Some(Msg::Events(b)) => {
                    self.batch = b;
                    if !self.batch.is_empty() {
                        return Ok(true);
                    }
                }
                Some(Msg::Error(e)) => return Err(e),
                Some(Msg::End(t)) => {
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

    /// Stops the thread (it ends when it next sends) and waits for it.
    fn shut_down(&mut self) {
        self.done = true;
        self.rx = None;
        self.back = None;
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
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
