//! Bytes grouped by a field (sysdig `fdbytes_by`).

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::bytestr::join_tags;
use crate::correlate::Scope;
use crate::event_view::{sysdig_io_dir, EventView};

/// The field a bytes-by table groups on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ByField {
    /// `evtin.span[.p|.s|.m].tags`.
    SpanTags(Scope),
    /// `evtin.span[.p|.s|.m].tag[N]` (negative N counts from the end).
    SpanTag(Scope, i32),
    /// `evtin.span[.p|.s|.m].id`.
    SpanId(Scope),
    /// `fd.name`.
    FdName,
    /// `fd.type`.
    FdType,
    /// `proc.name`.
    ProcName,
}

impl ByField {
    /// Parses a field name (`evtin.span.tags`, `evtin.span.p.tag[0]`, `fd.name`…).
    pub fn parse(name: &str) -> Option<ByField> {
        match name {
            "fd.name" => return Some(ByField::FdName),
            "fd.type" => return Some(ByField::FdType),
            "proc.name" => return Some(ByField::ProcName),
            _ => {}
        }
        let scopes = [
            ("evtin.span.p.", Scope::Process),
            ("evtin.span.s.", Scope::Children),
            ("evtin.span.m.", Scope::Machine),
            ("evtin.span.", Scope::Thread),
        ];
        for (prefix, scope) in scopes {
            if let Some(rest) = name.strip_prefix(prefix) {
                if rest == "tags" {
                    return Some(ByField::SpanTags(scope));
                }
                if rest == "id" {
                    return Some(ByField::SpanId(scope));
                }
                let n = rest.strip_prefix("tag[")?.strip_suffix(']')?;
                return n.parse().ok().map(|n| ByField::SpanTag(scope, n));
            }
        }
        None
    }
}

/// sysdig `fdbytes_by` (its `table_generator` chisel): sums `evt.rawarg.res` over
/// `evt.is_io=true` events whose value is positive, grouped by a field; events where
/// the field is NULL are skipped, and keys never get a row without bytes.
/// - `evt.is_io` is sysdig's ([`sysdig_io_dir`]): `sendfile` bytes are **not** counted
///   here, although the engine charges them to spans (they are real I/O);
/// - `fd.name` is [`fd_name`]; I/O on an fd the engine does not know is grouped under
///   the empty name, as sysdig does (its `fd.name` is `""` on such exits), while
///   `fd.type` is NULL then;
/// - `evtin.*` keys follow sysdig's extraction: the innermost candidate under the
///   scope, NULL on threads that never wrote a marker.
///
/// [`sysdig_io_dir`]: crate::event_view::sysdig_io_dir
/// [`fd_name`]: crate::fds::fd_name
///
/// Keys are looked up by interned ids on the hot path; the text of a key is built once.
#[derive(Debug, Clone)]
pub struct BytesBy {
    field: ByField,
    ids: FxHashMap<IdKey, usize>,
    /// Rows of tag-path keys by path id (dense ids: no hashing), `NO_ROW` when
    /// not seen yet.
    path_rows: Vec<u32>,
    texts: FxHashMap<Vec<u8>, usize>,
    rows: Vec<(Vec<u8>, u64)>,
    /// The key added last and its row (consecutive I/O mostly shares a key).
    last: Option<(IdKey, usize)>,
}

/// `BytesBy::path_rows` entry of a path without a row.
const NO_ROW: u32 = u32::MAX;

/// Cheap per-event key; several keys may share a row (same text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum IdKey {
    Name(u32),
    Id(i64),
    Static(&'static str),
}

/// A finished bytes-by table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BytesByTable {
    /// The field grouped on.
    pub field: ByField,
    /// `(key, bytes)`, bytes descending (ties: first seen first).
    pub rows: Vec<(crate::bytestr::ByteStr, u64)>,
}

impl BytesBy {
    /// A table grouping on `field`.
    pub fn new(field: ByField) -> Self {
        BytesBy {
            field,
            ids: FxHashMap::default(),
            path_rows: Vec::new(),
            texts: FxHashMap::default(),
            rows: Vec::new(),
            last: None,
        }
    }

    /// The row of a key text, created when new.
    fn row_of_text(&mut self, text: &[u8]) -> usize {
        if let Some(&r) = self.texts.get(text) {
            return r;
        }
        self.rows.push((text.to_vec(), 0));
        self.texts.insert(text.to_vec(), self.rows.len() - 1);
        self.rows.len() - 1
    }

    /// [`BytesBy::add_id`] for a tag-path key, looked up by path id.
    #[inline]
    fn add_path(&mut self, path: u32, bytes: u64, text: impl FnOnce() -> Vec<u8>) {
        let i = path as usize;
        let row = match self.path_rows.get(i) {
            Some(&r) if r != NO_ROW => r as usize,
            _ => self.new_path_row(path, text),
        };
        self.rows[row].1 += bytes;
    }

    /// The row of a tag-path key without one yet (out of line: once per path, and the
    /// hot path then needs no registers saved).
    #[cold]
    #[inline(never)]
    fn new_path_row(&mut self, path: u32, text: impl FnOnce() -> Vec<u8>) -> usize {
        let i = path as usize;
        let r = self.row_of_text(&text());
        if self.path_rows.len() <= i {
            self.path_rows.resize(i + 1, NO_ROW);
        }
        self.path_rows[i] = r as u32;
        r
    }

    #[inline]
    fn add_id(&mut self, key: IdKey, bytes: u64, text: impl FnOnce() -> Vec<u8>) {
        let row = match self.last {
            Some((k, r)) if k == key => r,
            _ => {
                let r = match self.ids.get(&key) {
                    Some(&r) => r,
                    None => {
                        let r = self.row_of_text(&text());
                        self.ids.insert(key, r);
                        r
                    }
                };
                self.last = Some((key, r));
                r
            }
        };
        self.rows[row].1 += bytes;
    }

    /// Adds one event.
    #[inline]
    pub fn add(&mut self, v: &EventView<'_>) {
        // Most events carry no I/O bytes: rejected here, inline.
        let Some(sc) = v.syscall() else {
            return;
        };
        // sysdig counts the bytes of its `evt.is_io` syscalls ([`sysdig_io_dir`]): the
        // engine's I/O bytes (`res` of a successful I/O syscall), `sendfile` excepted.
        let bytes = sc.io_bytes;
        if bytes == 0 || sysdig_io_dir(sc.syscall.kind).is_none() {
            return;
        }
        // The usual grouping (`evtin.span.tags`), inline: no call per I/O event.
        if self.field == ByField::SpanTags(Scope::Thread) {
            if let Some(r) = span_of(v, Scope::Thread) {
                self.add_path(r.path, bytes, || join_tags(&r.tags));
            }
            return;
        }
        self.add_io(v, bytes);
    }

    /// Adds the `bytes` of an I/O event.
    fn add_io(&mut self, v: &EventView<'_>, bytes: u64) {
        let span_of = |scope: Scope| span_of(v, scope);
        match self.field {
            ByField::SpanTags(scope) => {
                if let Some(r) = span_of(scope) {
                    self.add_path(r.path, bytes, || join_tags(&r.tags));
                }
            }
            ByField::SpanId(scope) => {
                if let Some(r) = span_of(scope) {
                    self.add_id(IdKey::Id(r.id), bytes, || r.id.to_string().into_bytes());
                }
            }
            ByField::SpanTag(scope, n) => {
                if let Some(r) = span_of(scope) {
                    let len = r.tags.len() as i64;
                    let i = if n < 0 { len + n as i64 } else { n as i64 };
                    if (0..len).contains(&i) {
                        self.add_path(r.path, bytes, || r.tags[i as usize].clone());
                    }
                }
            }
            ByField::FdName => match v.fd {
                Some(f) => {
                    let fds = v.fds;
                    self.add_id(IdKey::Name(f.name_id), bytes, || {
                        fds.name(f.name_id).as_bytes().to_vec()
                    });
                }
                None => self.add_id(IdKey::Static(""), bytes, Vec::new),
            },
            ByField::FdType => {
                if let Some(f) = v.fd {
                    match &f.target {
                        crate::event::FdTarget::Other(_) => {
                            let fds = v.fds;
                            self.add_id(IdKey::Name(f.name_id), bytes, || {
                                fds.name(f.name_id).as_bytes().to_vec()
                            })
                        }
                        _ => {
                            let name: &'static str = match f.type_name() {
                                "file" => "file",
                                "directory" => "directory",
                                "ipv4" => "ipv4",
                                "ipv6" => "ipv6",
                                "unix" => "unix",
                                "pipe" => "pipe",
                                _ => "unknown",
                            };
                            self.add_id(IdKey::Static(name), bytes, || name.as_bytes().to_vec());
                        }
                    }
                }
            }
            ByField::ProcName => {
                if let Some(t) = v.thread {
                    let row = self.row_of_text(t.comm.as_bytes());
                    self.rows[row].1 += bytes;
                }
            }
        }
    }

    /// The table.
    pub fn table(&self) -> BytesByTable {
        let mut rows: Vec<(crate::bytestr::ByteStr, u64)> = self
            .rows
            .iter()
            .map(|(k, b)| (crate::bytestr::ByteStr(k.clone()), *b))
            .collect();
        rows.sort_by_key(|r| std::cmp::Reverse(r.1));
        BytesByTable {
            field: self.field,
            rows,
        }
    }

    /// The sum for one key text.
    pub fn get(&self, key: &[u8]) -> Option<u64> {
        self.texts.get(key).map(|&r| self.rows[r].1)
    }
}

/// The innermost span of an event under `scope`, for `evtin.*` keys (NULL on threads
/// that never wrote a marker).
#[inline(always)]
fn span_of<'a>(v: &EventView<'a>, scope: Scope) -> Option<&'a crate::spans::OpenRecord> {
    let t = v.thread?;
    if !t.has_tracer_state {
        return None;
    }
    v.spans.innermost(scope, t)
}

/// A bytes-by table is a consumer of syscall events only (it never asks for finished
/// spans nor looks at marker views).
impl crate::engine::Consumer for BytesBy {
    #[inline]
    fn event(&mut self, view: &EventView<'_>) {
        self.add(view);
    }
    fn wants_spans(&self) -> bool {
        false
    }
    /// Marker views carry no I/O bytes: never looked at.
    fn wants_tracer_views(&self) -> bool {
        false
    }
    /// Syscalls that move no bytes are never counted.
    fn wants_quiet_syscall_views(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byfield_parse() {
        assert_eq!(
            ByField::parse("evtin.span.tags"),
            Some(ByField::SpanTags(Scope::Thread))
        );
        assert_eq!(
            ByField::parse("evtin.span.p.tag[1]"),
            Some(ByField::SpanTag(Scope::Process, 1))
        );
        assert_eq!(
            ByField::parse("evtin.span.m.tag[-1]"),
            Some(ByField::SpanTag(Scope::Machine, -1))
        );
        assert_eq!(ByField::parse("fd.type"), Some(ByField::FdType));
        assert_eq!(ByField::parse("nope"), None);
    }
}
