//! The marker hot path: a tracer's `>:ID:TAGS:` prefix is encoded once (by `tracer-tag`)
//! and kept; each marker is that prefix, the escaped arguments and `:`, written with one
//! `write(2)` to `tracer-tag`'s sink. Any failed write is handed back to `tracer-tag`'s
//! own emitter, which retries, reopens a lost `/dev/null` and counts errors.

use crate::args::ArgBuf;
use crate::tags::Tags;
use pyo3::prelude::*;
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use tracer_tag::{Dir, Id};

/// Markers cut short by a partial write (never retried, to avoid duplicate bytes).
static SHORT_WRITES: AtomicU64 = AtomicU64::new(0);

/// Writes lost since the process started, as seen by this extension.
pub fn short_writes() -> u64 {
    SHORT_WRITES.load(Ordering::Relaxed)
}

thread_local! {
    static BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// `>:ID:TAGS:` for `id` and `tags`, as `tracer-tag` escapes them.
pub fn prefix(py: Python<'_>, id: Id, tags: &Tags) -> Box<[u8]> {
    let mut id_part = Vec::new();
    tracer_tag::encode(Dir::Enter, id, &[], &[], &mut id_part); // ">:ID:::"
    id_part.truncate(id_part.len().saturating_sub(2));
    id_part.extend_from_slice(&tags.wire(py));
    id_part.push(b':');
    id_part.into_boxed_slice()
}

/// Appends the escaped argument section (`a=1,b=2`) to `out`.
fn push_args(args: &ArgBuf, out: &mut Vec<u8>) {
    let start = out.len();
    args.with_pairs(|p| tracer_tag::encode(Dir::Enter, Id::Global, &[], p, out)); // ">:g::ARGS:"
    out.drain(start..start + 5);
    out.pop();
}

/// Writes one marker from a prefix made by [`prefix`]. Never fails.
#[inline]
pub fn write(
    py: Python<'_>,
    dir: Dir,
    prefix: &[u8],
    args: Option<&ArgBuf>,
    fallback: (Id, &Tags),
) {
    let args = args.filter(|a| !a.is_empty());
    let sent = BUF.with(|b| {
        let Ok(mut buf) = b.try_borrow_mut() else {
            return Sent::Failed;
        };
        buf.clear();
        buf.extend_from_slice(prefix);
        buf[0] = dir.as_byte();
        if let Some(a) = args {
            push_args(a, &mut buf);
        }
        buf.push(b':');
        raw_write(&buf)
    });
    match sent {
        Sent::All => {}
        Sent::Failed => {
            let (id, tags) = fallback;
            match args {
                Some(a) => a.with_pairs(|p| tags.emit(py, dir, id, p)),
                None => tags.emit(py, dir, id, &[]),
            }
        }
        Sent::Short => {
            SHORT_WRITES.fetch_add(1, Ordering::Relaxed);
        }
    }
}

enum Sent {
    All,
    /// Nothing written: let `tracer-tag` retry and account for it.
    Failed,
    /// Part written.
    Short,
}

#[inline]
fn raw_write(buf: &[u8]) -> Sent {
    let fd = tracer_tag::sink::current_fd();
    if fd < 0 {
        return Sent::Failed;
    }
    // SAFETY: `buf` is a valid slice for the duration of the call.
    let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
    if n == buf.len() as isize {
        Sent::All
    } else if n < 0 {
        Sent::Failed
    } else {
        Sent::Short
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_and_arguments_use_tracer_tag_escaping() {
        Python::initialize();
        Python::attach(|py| {
            let tags = Tags::dotted(b"a.b:c");
            assert_eq!(&*prefix(py, Id::Thread, &tags), b">:t:a.b\\:c:");
            assert_eq!(&*prefix(py, Id::Explicit(0), &tags), b">:-0:a.b\\:c:");
            let mut args = ArgBuf::default();
            args.push(b"k,", b"v:1");
            args.push(b"n", b"");
            let mut out = b"X".to_vec();
            push_args(&args, &mut out);
            assert_eq!(out, b"Xk\\,=v\\:1,n=");
        });
    }
}
