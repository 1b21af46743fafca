//! RAII spans: the enter marker is written when a [`Span`] is created, the exit marker
//! when it is dropped (or [`Span::end`]ed).

use core::fmt::{self, Display};
use core::mem::MaybeUninit;
use core::{ptr, slice};

use crate::buf::{FixedBuf, Out, SmallBuf};
use crate::escape::{self, EscapeFmt};
use crate::{sink, Dir, Id, STACK_MARKER};

/// The no-argument exit marker `<:ID:PATH::` up to this many bytes is stored inside
/// the [`Span`].
const INLINE_EXIT: usize = 94;
/// Escaped enter arguments up to this many bytes are stored inside the builder.
const INLINE_ARGS: usize = 96;

/// A span's exit marker without arguments, `<:ID:PATH::` (escaped), stored inline when
/// short. Dropping a span without exit arguments writes it as is; otherwise the
/// arguments go before its last byte.
#[derive(Clone)]
enum ExitMarker {
    Inline {
        len: u8,
        path_start: u8,
        buf: [u8; INLINE_EXIT],
    },
    Heap {
        buf: Box<[u8]>,
        path_start: usize,
    },
    /// Prepared once for a call site ([`crate::Site`]).
    Static {
        buf: &'static [u8],
        path_start: usize,
    },
}

/// Writes `marker` (a complete marker without arguments, ending in `::`) with `args`
/// (escaped, non-empty) inserted before its final `:`, with one `write(2)`.
#[inline(never)]
fn write_with_args(marker: &[u8], args: &[u8]) {
    let head = &marker[..marker.len() - 1];
    let total = marker.len() + args.len();
    if total <= STACK_MARKER {
        let mut buf = [MaybeUninit::<u8>::uninit(); STACK_MARKER];
        let p = buf.as_mut_ptr().cast::<u8>();
        // SAFETY: `total <= STACK_MARKER`, so every write below is inside `buf`, and all
        // `total` bytes are initialized before the slice is formed.
        unsafe {
            ptr::copy_nonoverlapping(head.as_ptr(), p, head.len());
            ptr::copy_nonoverlapping(args.as_ptr(), p.add(head.len()), args.len());
            *p.add(total - 1) = b':';
            sink::write(slice::from_raw_parts(p, total));
        }
    } else {
        let mut v = Vec::with_capacity(total);
        v.extend_from_slice(head);
        v.extend_from_slice(args);
        v.push(b':');
        sink::write(&v);
    }
}

impl ExitMarker {
    /// From the enter marker's head `>:ID:PATH:` (the direction byte is replaced).
    #[inline]
    fn from_enter_head(head: &[u8], path_start: usize) -> ExitMarker {
        let len = head.len() + 1;
        if len <= INLINE_EXIT {
            let mut buf = [0u8; INLINE_EXIT];
            buf[..head.len()].copy_from_slice(head);
            buf[0] = Dir::Exit.as_byte();
            buf[head.len()] = b':';
            ExitMarker::Inline {
                len: len as u8,
                path_start: path_start as u8,
                buf,
            }
        } else {
            let mut v = Vec::with_capacity(len);
            v.extend_from_slice(head);
            v[0] = Dir::Exit.as_byte();
            v.push(b':');
            ExitMarker::Heap {
                buf: v.into_boxed_slice(),
                path_start,
            }
        }
    }

    /// `<:ID:PATH::`
    #[inline]
    fn bytes(&self) -> &[u8] {
        match self {
            ExitMarker::Inline { len, buf, .. } => &buf[..*len as usize],
            ExitMarker::Heap { buf, .. } => buf,
            ExitMarker::Static { buf, .. } => buf,
        }
    }

    /// The escaped path alone.
    #[inline]
    fn path(&self) -> &[u8] {
        let start = match self {
            ExitMarker::Inline { path_start, .. } => *path_start as usize,
            ExitMarker::Heap { path_start, .. } | ExitMarker::Static { path_start, .. } => {
                *path_start
            }
        };
        let b = self.bytes();
        b.get(start..b.len().saturating_sub(2)).unwrap_or_default()
    }

    /// Writes the exit marker with `args` (escaped) inserted before the final `:`.
    #[inline]
    fn write(&self, args: &[u8]) {
        let m = self.bytes();
        if args.is_empty() {
            sink::write(m)
        } else {
            write_with_args(m, args)
        }
    }
}

/// An open span. Dropping it writes the exit marker (with the exit arguments set so far).
///
/// A span is `Send`: with [`Id::Process`] or [`Id::Explicit`] it may be closed on another
/// thread (with [`Id::Thread`] the exit then carries the other thread's id and will not
/// pair). Its exit marker is prepared when it starts and kept inline up to 94 bytes
/// (a longer one takes one allocation per span); markers are built on the stack.
#[must_use = "a span ends (writes its exit marker) when dropped"]
pub struct Span {
    id: Id,
    exit: ExitMarker,
    /// Escaped exit arguments (`a=1,b=2`); empty: none (no allocation).
    exit_args: Vec<u8>,
    open: bool,
}

/// Collects id and arguments, then [`SpanBuilder::enter`] writes the enter marker.
#[must_use = "call .enter() to start the span"]
pub struct SpanBuilder {
    id: Id,
    /// The escaped path.
    path: SmallBuf<STACK_MARKER>,
    /// Escaped enter arguments.
    args: SmallBuf<INLINE_ARGS>,
    exit_args: Vec<u8>,
}

/// Starts a span now (`>:t:<path>::`); it ends when the returned [`Span`] is dropped.
/// `path` is dot-separated: `"a.b"` is the span `b` nested in `a`.
#[inline]
pub fn span(path: impl AsRef<[u8]>) -> Span {
    Span::start(Id::Thread, None, path.as_ref(), false, b"")
}

/// A builder for a span with arguments or another id:
/// `span_builder("get").with_id(Id::Process).arg("key", k).enter()`.
#[inline]
pub fn span_builder(path: impl AsRef<[u8]>) -> SpanBuilder {
    let mut p = SmallBuf::new();
    escape::path(&mut p, path.as_ref(), true);
    SpanBuilder {
        id: Id::Thread,
        path: p,
        args: SmallBuf::new(),
        exit_args: Vec::new(),
    }
}

/// Appends one escaped `name=value` (value formatted with `Display`); `first` says
/// whether it is the first argument of its marker.
fn push_display<O: Out>(out: &mut O, first: bool, name: &[u8], value: &dyn Display) {
    escape::arg(out, first, name, b"");
    let _ = fmt::write(&mut EscapeFmt { out, value: true }, format_args!("{value}"));
}

impl SpanBuilder {
    /// Sets the span id (default [`Id::Thread`]).
    #[inline]
    pub fn with_id(&mut self, id: Id) -> &mut Self {
        self.id = id;
        self
    }

    /// Adds an enter argument; the value is formatted with `Display`.
    #[inline]
    pub fn arg(&mut self, name: &str, value: impl Display) -> &mut Self {
        let first = self.args.len() == 0;
        push_display(&mut self.args, first, name.as_bytes(), &value);
        self
    }

    /// Adds an enter argument given as raw bytes (the cheapest form).
    #[inline]
    pub fn arg_bytes(&mut self, name: &[u8], value: &[u8]) -> &mut Self {
        let first = self.args.len() == 0;
        escape::arg(&mut self.args, first, name, value);
        self
    }

    /// Adds an argument for the exit marker.
    pub fn exit_arg(&mut self, name: &str, value: impl Display) -> &mut Self {
        let first = self.exit_args.is_empty();
        push_display(&mut self.exit_args, first, name.as_bytes(), &value);
        self
    }

    /// Writes the enter marker and returns the open span. (Each call starts a new span
    /// with what the builder holds.)
    #[inline]
    pub fn enter(&mut self) -> Span {
        let mut s = Span::start(
            self.id,
            None,
            self.path.as_slice(),
            true,
            self.args.as_slice(),
        );
        s.exit_args = core::mem::take(&mut self.exit_args);
        s
    }
}

impl Span {
    /// The open span of a [`crate::Site`] whose enter marker was just written: `exit` is
    /// its exit marker `<:t:PATH::`, with the escaped path at `path_start`.
    #[inline]
    pub(crate) fn from_static(exit: &'static [u8], path_start: usize) -> Span {
        Span {
            id: Id::Thread,
            exit: ExitMarker::Static {
                buf: exit,
                path_start,
            },
            exit_args: Vec::new(),
            open: true,
        }
    }

    /// Writes `>:ID:[PREFIX.]PATH:ARGS:` and returns the span. `prefix` and `args` are
    /// escaped; `path` is escaped unless `escaped`.
    ///
    /// Fast path: the marker `>:ID:PATH::` is built right in the span's inline buffer;
    /// without enter arguments it is written from there, and the same bytes with `<`
    /// are the exit marker.
    #[inline]
    fn start(id: Id, prefix: Option<&[u8]>, path: &[u8], escaped: bool, args: &[u8]) -> Span {
        let mut inline = [0u8; INLINE_EXIT];
        let mut w = FixedBuf {
            buf: &mut inline,
            len: 0,
            overflow: false,
        };
        w.put(&[Dir::Enter.as_byte(), b':']);
        escape::id(&mut w, id);
        w.put_byte(b':');
        let path_start = w.len;
        if let Some(p) = prefix {
            w.put(p);
            w.put_byte(b'.');
        }
        if escaped {
            w.put(path);
        } else {
            escape::path(&mut w, path, prefix.is_none());
        }
        w.put(b"::");
        if w.overflow {
            return Span::start_long(id, prefix, path, escaped, args);
        }
        let len = w.len;
        if crate::enabled() {
            if args.is_empty() {
                sink::write(&inline[..len]);
            } else {
                write_with_args(&inline[..len], args);
            }
        }
        inline[0] = Dir::Exit.as_byte();
        Span {
            id,
            exit: ExitMarker::Inline {
                len: len as u8,
                path_start: path_start as u8,
                buf: inline,
            },
            exit_args: Vec::new(),
            open: true,
        }
    }

    /// [`Span::start`] for markers that do not fit the inline buffer.
    #[cold]
    #[inline(never)]
    fn start_long(id: Id, prefix: Option<&[u8]>, path: &[u8], escaped: bool, args: &[u8]) -> Span {
        let mut buf = SmallBuf::<STACK_MARKER>::new();
        buf.put(&[Dir::Enter.as_byte(), b':']);
        escape::id(&mut buf, id);
        buf.put_byte(b':');
        let path_start = buf.len();
        if let Some(p) = prefix {
            buf.put(p);
            buf.put_byte(b'.');
        }
        if escaped {
            buf.put(path);
        } else {
            escape::path(&mut buf, path, prefix.is_none());
        }
        buf.put_byte(b':');
        let head_len = buf.len();
        buf.put(args);
        buf.put_byte(b':');
        if crate::enabled() {
            sink::write(buf.as_slice());
        }
        Span {
            id,
            exit: ExitMarker::from_enter_head(&buf.as_slice()[..head_len], path_start),
            exit_args: Vec::new(),
            open: true,
        }
    }

    /// Starts a child span now: its path is this span's path, `.`, then `path`; same id.
    #[inline]
    pub fn child(&self, path: impl AsRef<[u8]>) -> Span {
        Span::start(self.id, Some(self.exit.path()), path.as_ref(), false, b"")
    }

    /// A builder for a child span (to add arguments or change the id).
    pub fn child_builder(&self, path: impl AsRef<[u8]>) -> SpanBuilder {
        let mut p = SmallBuf::new();
        p.put(self.exit.path());
        p.put_byte(b'.');
        escape::path(&mut p, path.as_ref(), false);
        SpanBuilder {
            id: self.id,
            path: p,
            args: SmallBuf::new(),
            exit_args: Vec::new(),
        }
    }

    /// Adds an argument to the exit marker (written when the span ends).
    pub fn set_exit_arg(&mut self, name: &str, value: impl Display) {
        let first = self.exit_args.is_empty();
        push_display(&mut self.exit_args, first, name.as_bytes(), &value);
    }

    /// Adds an exit argument given as raw bytes.
    pub fn set_exit_arg_bytes(&mut self, name: &[u8], value: &[u8]) {
        let first = self.exit_args.is_empty();
        escape::arg(&mut self.exit_args, first, name, value);
    }

    /// The span's id form.
    pub fn id(&self) -> Id {
        self.id
    }

    /// The span's tag path as written in its markers (escaped, components joined by `.`).
    pub fn encoded_path(&self) -> &[u8] {
        self.exit.path()
    }

    /// Ends the span now (same as dropping it).
    pub fn end(self) {}
}

impl Drop for Span {
    #[inline]
    fn drop(&mut self) {
        if self.open {
            self.open = false;
            if crate::enabled() {
                self.exit.write(&self.exit_args);
            }
        }
    }
}

impl fmt::Debug for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Span")
            .field("id", &self.id)
            .field("path", &String::from_utf8_lossy(self.exit.path()))
            .finish()
    }
}

/// Starts a span with `Display` arguments: `span!("get", key = k, n = 3)`, or with an id:
/// `span!(id = Id::Process; "get", key = k)`. Returns the [`Span`]; keep it alive
/// (`let _s = span!(…)`) for as long as the span should last.
#[macro_export]
macro_rules! span {
    (id = $id:expr; $path:expr $(, $k:ident = $v:expr)* $(,)?) => {
        $crate::span_builder($path)
            .with_id($id)
            $(.arg(::core::stringify!($k), $v))*
            .enter()
    };
    ($path:expr $(, $k:ident = $v:expr)* $(,)?) => {
        $crate::span_builder($path)
            $(.arg(::core::stringify!($k), $v))*
            .enter()
    };
}
