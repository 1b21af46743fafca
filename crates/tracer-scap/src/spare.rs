//! Buffers of earlier events kept for reuse ([`Spare`]), so that steady-state decoding
//! allocates nothing, and the recycling of a syscall's buffers into them.

use tracer_core::event::{Syscall, SyscallDetail};

/// Buffers of earlier events, kept for reuse so that steady-state decoding allocates
/// nothing (payloads and paths are rebuilt in these). A few of each are kept: events
/// are rebuilt in the slots of a batch (see `ScapReader::fill_batch`), whose earlier
/// events had payloads in other places than the new ones.
#[derive(Debug, Default)]
pub(crate) struct Spare {
    /// The payload buffer kept last: a buffer going back and forth between events
    /// with and without payloads (the common case) stays here, out of `data`.
    last_data: Option<Vec<u8>>,
    data: Vec<Vec<u8>>,
    path: Vec<String>,
    /// The last path decoded (see `build::push_path`; at most [`LAST_PATH_MAX`] bytes).
    pub(crate) last_path: String,
}

/// Longer paths are not remembered in [`Spare::last_path`].
const LAST_PATH_MAX: usize = 4096;

/// At most this many buffers of each kind are kept.
const SPARE_BUFFERS: usize = 64;
/// Larger buffers are not kept (bounds the memory held).
const SPARE_CAPACITY: usize = 1 << 16;

impl Spare {
    /// Keeps a payload buffer for a later event (unless enough are kept, or it is too
    /// large or unallocated).
    #[inline(always)]
    pub(crate) fn keep_data(&mut self, v: Vec<u8>) {
        if self.last_data.is_none() && (1..=SPARE_CAPACITY).contains(&v.capacity()) {
            self.last_data = Some(v);
        } else {
            self.keep_data_slow(v);
        }
    }
    /// [`Spare::keep_data`] when the last kept buffer is still here (or `v` is not kept).
    #[cold]
    #[inline(never)]
    fn keep_data_slow(&mut self, v: Vec<u8>) {
        if self.data.len() < SPARE_BUFFERS && (1..=SPARE_CAPACITY).contains(&v.capacity()) {
            self.data.push(v);
        }
    }
    /// Keeps a path buffer for a later event (same rules as [`Spare::keep_data`]).
    pub(crate) fn keep_path(&mut self, p: String) {
        if self.path.len() < SPARE_BUFFERS && (1..=SPARE_CAPACITY).contains(&p.capacity()) {
            self.path.push(p);
        }
    }
    /// A payload buffer (kept earlier, else a new empty one).
    #[inline(always)]
    pub(crate) fn take_data(&mut self) -> Vec<u8> {
        match self.last_data.take() {
            Some(v) => v,
            None => self.data.pop().unwrap_or_default(),
        }
    }
    /// Remembers `p` as the last path decoded (unless it is too long).
    pub(crate) fn remember_path(&mut self, p: &str) {
        if p.len() <= LAST_PATH_MAX {
            self.last_path.clear();
            self.last_path.push_str(p);
        }
    }
    /// A path buffer (kept earlier, else a new empty one).
    pub(crate) fn take_path(&mut self) -> String {
        self.path.pop().unwrap_or_default()
    }
}

/// Moves a syscall's reusable buffers (payload, path) into `spare`.
#[inline]
pub(crate) fn recycle(sc: &mut Syscall, spare: &mut Spare) {
    if matches!(sc.detail, SyscallDetail::None) && sc.data.is_none() {
        return;
    }
    recycle_slow(sc, spare);
}

fn recycle_slow(sc: &mut Syscall, spare: &mut Spare) {
    recycle_detail(sc, spare);
    if let Some(d) = sc.data.take() {
        spare.keep_data(d);
    }
}

/// True for details that own no buffers (inet socket addresses too): they may be
/// overwritten without their drop glue.
#[inline(always)]
pub(crate) fn owns_nothing(d: &SyscallDetail) -> bool {
    use SyscallDetail::*;
    matches!(
        d,
        None | Dup { .. }
            | Socket { .. }
            | Sock {
                unix_path: Option::None,
                ..
            }
            | Pipe { .. }
            | Sendfile { .. }
            | Clone { .. }
            | Exit { .. }
    )
}

/// Clears a syscall's detail, keeping an open's path buffer in `spare` (callers skip
/// it for `None`, the common case).
#[inline(never)]
pub(crate) fn recycle_detail(sc: &mut Syscall, spare: &mut Spare) {
    if owns_nothing(&sc.detail) {
        // Overwritten without moving it out or calling the drop glue.
        std::mem::forget(std::mem::replace(&mut sc.detail, SyscallDetail::None));
    } else {
        recycle_owning_detail(sc, spare);
    }
}

/// [`recycle_detail`] of details that own buffers.
#[inline(never)]
fn recycle_owning_detail(sc: &mut Syscall, spare: &mut Spare) {
    match std::mem::take(&mut sc.detail) {
        SyscallDetail::Open { path, .. } => spare.keep_path(path),
        d => drop(d),
    }
}
