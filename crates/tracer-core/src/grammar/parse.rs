//! Entry points of the parser: one marker, one marker plus its length, all markers of a
//! write (C2).

use super::buf::MarkerBuf;
use super::json::parse_json;
use super::text::parse_text_into;
use super::{ParseError, Tracer};

/// The byte at `i`, or 0 past the end (the C string terminator the scanners expect).
#[inline]
pub(crate) fn at(s: &[u8], i: usize) -> u8 {
    s.get(i).copied().unwrap_or(0)
}

/// `buf` up to (excluding) its first NUL byte: sysdig treats the buffer as a C string.
#[inline]
pub(crate) fn c_str(buf: &[u8]) -> &[u8] {
    match memchr::memchr(0, buf) {
        Some(n) => &buf[..n],
        None => buf,
    }
}

/// Parses exactly one marker from the start of `buf` and ignores what follows it.
///
/// The text form is used when byte 0 is `>` or `<`, the JSON form otherwise. Parsing
/// stops at the first NUL byte (C-string semantics): a marker that is not complete
/// before it is [`ParseError::Truncated`]. An empty buffer is [`ParseError::Failed`].
///
/// ```
/// use tracer_core::grammar::{parse, Direction, IdForm};
/// let t = parse(b">:t:download_handler::").unwrap();
/// assert_eq!(t.dir, Direction::Enter);
/// assert_eq!(t.id, IdForm::Thread);
/// assert_eq!(t.tags, vec![b"download_handler".to_vec()]);
/// ```
pub fn parse(buf: &[u8]) -> Result<Tracer, ParseError> {
    parse_prefix(buf).map(|(t, _)| t)
}

/// Like [`parse`], and also returns how many bytes the marker occupies (up to and
/// including its closing `:` or `]`).
pub fn parse_prefix(buf: &[u8]) -> Result<(Tracer, usize), ParseError> {
    let mut out = MarkerBuf::default();
    let n = parse_prefix_into(buf, &mut out)?;
    Ok((out.to_tracer(&out.marker(0)), n))
}

/// Like [`parse_prefix`], appending the marker to `out` (nothing on error).
pub(crate) fn parse_prefix_into(buf: &[u8], out: &mut MarkerBuf) -> Result<usize, ParseError> {
    parse_c_str_into(c_str(buf), out)
}

/// [`parse_prefix_into`] of a buffer already cut at its first NUL byte.
fn parse_c_str_into(s: &[u8], out: &mut MarkerBuf) -> Result<usize, ParseError> {
    match s.first() {
        Some(b'>') | Some(b'<') => parse_text_into(s, out),
        _ => {
            let (t, n) = parse_json(s)?;
            out.push_tracer(&t);
            Ok(n)
        }
    }
}

/// Parses every marker of one write (compatibility policy C2).
///
/// The first marker decides the result: if it is truncated or fails, that error is
/// returned. After each complete marker, ASCII whitespace (space, tab, CR, LF) is
/// skipped; if the rest starts with `>`, `<` or `[` it is parsed as a further marker,
/// and so on. A rest that does not start that way, or does not parse OK, is ignored
/// (as sysdig ignores everything after the first marker).
///
/// ```
/// use tracer_core::grammar::{parse_all, Direction};
/// let all = parse_all(b">:t:a::<:t:b::\n").unwrap();
/// assert_eq!(all.len(), 2);
/// assert_eq!(all[1].dir, Direction::Exit);
/// ```
pub fn parse_all(buf: &[u8]) -> Result<Vec<Tracer>, ParseError> {
    let mut out = MarkerBuf::default();
    parse_all_into(buf, &mut out)?;
    Ok(out.to_tracers())
}

/// Like [`parse_all`], into `out` (cleared first; empty on error).
pub(crate) fn parse_all_into(buf: &[u8], out: &mut MarkerBuf) -> Result<(), ParseError> {
    out.clear();
    let s = c_str(buf);
    let mut pos = parse_c_str_into(s, out)?;
    loop {
        while matches!(at(s, pos), b' ' | b'\t' | b'\r' | b'\n') {
            pos += 1;
        }
        if !matches!(at(s, pos), b'>' | b'<' | b'[') {
            break;
        }
        match parse_c_str_into(&s[pos..], out) {
            Ok(n) => pos += n,
            Err(_) => break,
        }
    }
    Ok(())
}
