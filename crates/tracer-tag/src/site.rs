//! Call-site spans: a [`Site`] holds a fixed span path whose markers are built once, on
//! first use, so that every span started from it only writes bytes (no escaping, no
//! formatting). The fastest way to mark a hot code path; [`static_span!`] makes one per
//! call site.
//!
//! [`static_span!`]: crate::static_span

use std::sync::OnceLock;

use crate::span::Span;
use crate::{sink, Dir, Id};

/// A span path fixed at a call site, with the thread id and no arguments: its enter
/// marker `>:t:PATH::` and exit marker `<:t:PATH::` are built (escaped) the first time a
/// span starts from it and kept for the life of the program. Declare it in a `static`:
///
/// ```
/// static HANDLER: tracer_tag::Site = tracer_tag::Site::new("download_handler");
/// let _span = HANDLER.enter(); // `>:t:download_handler::` now, `<:t:…` when dropped
/// ```
#[derive(Debug)]
pub struct Site {
    path: &'static [u8],
    markers: OnceLock<Markers>,
}

/// The prepared markers of a [`Site`].
#[derive(Debug)]
struct Markers {
    enter: Box<[u8]>,
    exit: Box<[u8]>,
    /// Where the escaped path starts in both markers.
    path_start: usize,
}

impl Site {
    /// A site for the dot-separated tag path `path` (`"a.b"` is `b` nested in `a`).
    pub const fn new(path: &'static str) -> Site {
        Site::from_bytes(path.as_bytes())
    }

    /// [`Site::new`] for a path given as bytes.
    pub const fn from_bytes(path: &'static [u8]) -> Site {
        Site {
            path,
            markers: OnceLock::new(),
        }
    }

    /// Starts a span now; it ends (writes its exit marker) when the returned [`Span`] is
    /// dropped. The same span as `span(path)` gives, without building any marker.
    #[inline]
    pub fn enter(&'static self) -> Span {
        let m = self.markers.get_or_init(|| Markers::build(self.path));
        if crate::enabled() {
            sink::write(&m.enter);
        }
        Span::from_static(&m.exit, m.path_start)
    }

    /// The tag path as given (not escaped).
    pub fn path(&self) -> &'static [u8] {
        self.path
    }

    /// The escaped tag path as written in the markers.
    pub fn encoded_path(&'static self) -> &'static [u8] {
        let m = self.markers.get_or_init(|| Markers::build(self.path));
        &m.exit[m.path_start..m.exit.len() - 2]
    }
}

impl Markers {
    /// The markers [`crate::encode_path`] gives for `path` with the thread id; the
    /// escaped path follows the `>:t:` head.
    #[cold]
    fn build(path: &[u8]) -> Markers {
        let mut enter = Vec::new();
        crate::encode_path(Dir::Enter, Id::Thread, path, &[], &mut enter);
        let mut exit = enter.clone();
        exit[0] = Dir::Exit.as_byte();
        Markers {
            enter: enter.into(),
            exit: exit.into(),
            path_start: b">:t:".len(),
        }
    }
}

/// Starts a span on a literal tag path, with the markers built once for this call site
/// (a hidden `static` [`Site`]): `let _s = static_span!("download_handler");`. Writes
/// the same markers as [`span`](fn@crate::span) with the same path, at the cost of the
/// two `write(2)` calls only.
#[macro_export]
macro_rules! static_span {
    ($path:literal) => {{
        static SITE: $crate::Site = $crate::Site::new($path);
        SITE.enter()
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    static PLAIN: Site = Site::new("download_handler");
    static ESCAPED: Site = Site::new("a b.c:d");

    #[test]
    fn markers_are_built_once_escaped() {
        for (site, path, enter, exit) in [
            (
                &PLAIN,
                "download_handler",
                &b">:t:download_handler::"[..],
                &b"<:t:download_handler::"[..],
            ),
            (&ESCAPED, "a b.c:d", b">:t:a b.c\\:d::", b"<:t:a b.c\\:d::"),
        ] {
            let m = site.markers.get_or_init(|| Markers::build(site.path));
            assert_eq!((&*m.enter, &*m.exit), (enter, exit), "{path}");
            assert_eq!(site.encoded_path(), crate::span(path).encoded_path());
        }
    }
}
