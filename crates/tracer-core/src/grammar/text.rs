//! The text ("simple") form: `DIR:ID:TAGS:ARGS:` (tracers-spec §2).
//!
//! The scanner works on a buffer that is already cut at its first NUL byte; reading
//! past the end yields 0, which plays the role of the C string terminator sysdig sees.

use super::buf::{Mark, MarkerBuf};
use super::error::{failed, truncated, ParseError};
#[cfg(test)]
use super::Tracer;
use super::{at, Direction, IdForm};

/// Parses one text-form marker from the start of `s` (no NUL inside, `s[0]` is `>` or
/// `<`). Returns the tracer and the number of bytes up to and including the closing `:`.
#[cfg(test)]
pub(crate) fn parse_text(s: &[u8]) -> Result<(Tracer, usize), ParseError> {
    let mut buf = MarkerBuf::default();
    let n = parse_text_into(s, &mut buf)?;
    Ok((buf.to_tracer(&buf.marker(0)), n))
}

/// Like `parse_text`, appending the marker to `buf` (nothing is appended on error).
pub(crate) fn parse_text_into(s: &[u8], buf: &mut MarkerBuf) -> Result<usize, ParseError> {
    let mark = buf.mark();
    let r = scan_text(s, buf, mark);
    if r.is_err() {
        buf.rollback(mark);
    }
    r
}

fn scan_text(s: &[u8], buf: &mut MarkerBuf, mark: Mark) -> Result<usize, ParseError> {
    let (dir, id, p) = scan_head(s, buf)?;
    scan_args(s, p, buf, mark, dir, id)
}

/// Scans the head of a text marker, `DIR:ID:TAGS:`, pushing the tags into `buf`;
/// returns the direction, the id and the position of the arguments section. What it
/// finds depends on the head's bytes only (it never looks past them).
fn scan_head(s: &[u8], buf: &mut MarkerBuf) -> Result<(Direction, IdForm, usize), ParseError> {
    let dir = if at(s, 0) == b'>' {
        Direction::Enter
    } else {
        Direction::Exit
    };
    let mut p = 1;
    match at(s, p) {
        b':' => p += 1,
        0 => return Err(truncated(p, "data ends after the direction")),
        _ => return Err(failed(p, "expected ':' after the direction")),
    }

    let (id, after_id) = parse_id(s, p)?;
    p = after_id;

    // Tags. Project (C1): a first tag starting with `0` is ordinary.
    if at(s, p) != b':' {
        loop {
            let tag = buf.pos();
            loop {
                match at(s, p) {
                    0 => return Err(truncated(p, "data ends inside the tags")),
                    b'\\' => {
                        let next = at(s, p + 1);
                        if next == 0 {
                            return Err(truncated(p + 1, "data ends after a backslash"));
                        }
                        buf.push_byte(next);
                        p += 2;
                    }
                    b'.' | b':' => break,
                    b'>' | b'<' | b'=' | b'\n' => {
                        return Err(failed(p, "unescaped '>', '<', '=' or LF in a tag"))
                    }
                    _ => {
                        let end = run_end(s, p, |c| {
                            matches!(c, b'\\' | b'.' | b':' | b'>' | b'<' | b'=' | b'\n')
                        });
                        buf.push_bytes(&s[p..end]);
                        p = end;
                    }
                }
            }
            buf.end_tag(tag);
            let sep = at(s, p);
            p += 1;
            if sep == b':' {
                break;
            }
        }
    } else {
        p += 1;
    }
    Ok((dir, id, p))
}

/// Scans the arguments section of a text marker from `p` (just after its head) and
/// ends the marker begun at `mark`; returns the position after its closing `:`.
/// A NUL byte in `s` reads exactly as the end of the data.
fn scan_args(
    s: &[u8],
    mut p: usize,
    buf: &mut MarkerBuf,
    mark: Mark,
    dir: Direction,
    id: IdForm,
) -> Result<usize, ParseError> {
    match at(s, p) {
        0 => return Err(truncated(p, "data ends before the arguments")),
        b':' => {
            buf.end_marker(mark, dir, id);
            return Ok(p + 1);
        }
        _ => {}
    }
    loop {
        let name = buf.pos();
        // The usual argument, `name=value` then `,`, `:` or `=`, without escapes: two
        // runs and two copies. Anything else goes through the byte loops below, from
        // the argument's start (they give the same result for the usual argument).
        let name_end = run_end(s, p, is_name_stop);
        if at(s, name_end) == b'=' {
            let value_end = run_end(s, name_end + 1, is_value_stop);
            let sep = at(s, value_end);
            if matches!(sep, b',' | b':' | b'=') {
                buf.push_bytes(&s[p..name_end]);
                let value = buf.pos();
                buf.push_bytes(&s[name_end + 1..value_end]);
                buf.end_arg(name, value);
                p = value_end + 1;
                if sep == b':' {
                    buf.end_marker(mark, dir, id);
                    return Ok(p);
                }
                continue;
            }
        }
        loop {
            match at(s, p) {
                0 => break,
                b'\\' => {
                    let next = at(s, p + 1);
                    if next == 0 {
                        p += 1;
                        break;
                    }
                    buf.push_byte(next);
                    p += 2;
                }
                b'=' => break,
                b'>' | b'<' | b'\n' => {
                    return Err(failed(p, "unescaped '>', '<' or LF in an argument name"))
                }
                _ => {
                    let end = run_end(s, p, is_name_stop);
                    buf.push_bytes(&s[p..end]);
                    p = end;
                }
            }
        }
        if at(s, p) == 0 {
            // sysdig looks at the last (unescaped) byte of the name.
            return Err(if buf.since(name).last() == Some(&b':') {
                failed(p, "argument without value")
            } else {
                truncated(p, "data ends inside an argument name")
            });
        }
        p += 1; // '='

        let value = buf.pos();
        loop {
            match at(s, p) {
                0 => return Err(truncated(p, "data ends inside an argument value")),
                b'\\' => {
                    let next = at(s, p + 1);
                    if next == 0 {
                        return Err(truncated(p + 1, "data ends after a backslash"));
                    }
                    buf.push_byte(next);
                    p += 2;
                }
                b',' | b':' | b'=' => break,
                _ => {
                    let end = run_end(s, p, is_value_stop);
                    buf.push_bytes(&s[p..end]);
                    p = end;
                }
            }
        }
        buf.end_arg(name, value);
        let sep = at(s, p);
        p += 1;
        if sep == b':' {
            buf.end_marker(mark, dir, id);
            return Ok(p);
        }
    }
}

/// A cheap guess of the length of the head (`DIR:ID:TAGS:`) of the text marker at the
/// start of `data`: up to and including its third `:`. Escaped colons, or an id form
/// whose letter is not followed by `:`, make it wrong; [`parse_head`] tells.
#[inline]
pub(crate) fn guess_head_len(data: &[u8]) -> Option<usize> {
    if !matches!(data.first(), Some(b'>' | b'<')) {
        return None;
    }
    // Heads are short: a plain loop beats a vectorized search restarted per colon.
    let mut colons = 0;
    for (i, &c) in data.iter().enumerate() {
        if c == b':' {
            colons += 1;
            if colons == 3 {
                return Some(i + 1);
            }
        }
    }
    None
}

/// Decodes the head (`DIR:ID:TAGS:`) of the text marker at the start of `data` (up to
/// its first NUL, like every parse) into a buffer holding one marker without
/// arguments; returns it and the head's length. `None` when `data` is not a text
/// marker or its head does not scan.
pub(crate) fn parse_head(data: &[u8]) -> Option<(MarkerBuf, usize)> {
    let s = super::parse::c_str(data);
    if !matches!(s.first(), Some(b'>' | b'<')) {
        return None;
    }
    let mut buf = MarkerBuf::default();
    let mark = buf.mark();
    let (dir, id, p) = scan_head(s, &mut buf).ok()?;
    buf.end_marker(mark, dir, id);
    Some((buf, p))
}

/// Decodes a write whose first `head_len` bytes are the head that [`parse_head`]
/// decoded into `head`, into `out`, exactly as `parse_all_into` would — when the write
/// holds that one marker only (after it: nothing, or whitespace and then no further
/// marker). Returns false otherwise (`out` is then left empty): the caller decodes the
/// write in full. `begun`: `out` was begun with an equal head by the last (successful)
/// call, and is not cleared (see [`MarkerBuf::rebegin_with_head`]).
pub(crate) fn parse_with_head(
    data: &[u8],
    head: &MarkerBuf,
    head_len: usize,
    out: &mut MarkerBuf,
    begun: bool,
) -> bool {
    // Not cut at its first NUL (a `memchr` per write saved): the head's bytes hold no
    // NUL (they scanned as a head), and the argument scanner reads a NUL byte exactly
    // as the end of the data (its runs stop at NUL, `at` gives 0 past the end).
    let s = data;
    if s.len() < head_len {
        return false;
    }
    let (mark, m) = match begun {
        true => out.rebegin_with_head(head),
        false => out.begin_with_head(head),
    };
    // The head scans alike in any write that starts with its bytes: only the
    // arguments and what follows the marker are left to scan.
    match scan_args(s, head_len, out, mark, m.dir, m.id) {
        Ok(mut pos) => {
            while matches!(at(s, pos), b' ' | b'\t' | b'\r' | b'\n') {
                pos += 1;
            }
            if matches!(at(s, pos), b'>' | b'<' | b'[') {
                out.clear();
                return false;
            }
            true
        }
        Err(_) => {
            out.clear();
            false
        }
    }
}

/// Bytes that end a run of plain bytes in an argument name. A NUL byte ends runs too:
/// `parse_with_head` scans writes that are not cut at their first NUL.
#[inline]
fn is_name_stop(c: u8) -> bool {
    STOPS[c as usize] & NAME_STOP != 0
}

/// Bytes that end a run of plain bytes in an argument value (NUL too, see
/// [`is_name_stop`]).
#[inline]
fn is_value_stop(c: u8) -> bool {
    STOPS[c as usize] & VALUE_STOP != 0
}

/// [`STOPS`] bit of the bytes that stop a run in an argument name.
const NAME_STOP: u8 = 1;
/// [`STOPS`] bit of the bytes that stop a run in an argument value.
const VALUE_STOP: u8 = 2;

/// Per byte: whether it stops a run in an argument name ([`NAME_STOP`]: `\`, `=`,
/// `>`, `<`, LF, NUL) and in a value ([`VALUE_STOP`]: `\`, `,`, `:`, `=`, NUL); one
/// load per byte instead of a chain of compares.
static STOPS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        if matches!(c, b'\\' | b'=' | b'>' | b'<' | b'\n' | 0) {
            t[i] |= NAME_STOP;
        }
        if matches!(c, b'\\' | b',' | b':' | b'=' | 0) {
            t[i] |= VALUE_STOP;
        }
        i += 1;
    }
    t
};

/// The end of the run of bytes starting at `p` that `special` does not stop (the first
/// stopping byte, or the end of `s`).
#[inline]
fn run_end(s: &[u8], p: usize, special: impl Fn(u8) -> bool) -> usize {
    s[p..]
        .iter()
        .position(|&c| special(c))
        .map_or(s.len(), |n| p + n)
}

/// Parses the ID field starting at `p` (just after `DIR:`); returns the id form and the
/// position of the tags section.
fn parse_id(s: &[u8], p: usize) -> Result<(IdForm, usize), ParseError> {
    match at(s, p) {
        b't' => Ok((IdForm::Thread, blind_skip(s, p)?)),
        b'p' => {
            if at(s, p + 1) == b'p' {
                Ok((IdForm::Parent, blind_skip(s, p + 1)?))
            } else {
                Ok((IdForm::Process, blind_skip(s, p)?))
            }
        }
        b'g' => Ok((IdForm::Global, blind_skip(s, p)?)),
        b':' => Ok((IdForm::Global, p + 1)),
        _ => {
            // Project (C1): a leading `0` is an ordinary digit.
            let (value, end) = scan_number(s, p);
            match at(s, end) {
                b':' => Ok((IdForm::Explicit(value), end + 1)),
                0 => Err(truncated(end, "data ends inside the id")),
                _ => Err(failed(end, "invalid byte in the id")),
            }
        }
    }
}

/// sysdig skips the shortcut letter and the byte after it without looking at it
/// (assumed to be `:`). When that byte does not exist sysdig reads past the end of its
/// buffer; here that is TRUNCATED (what 0.29.3 showed).
fn blind_skip(s: &[u8], letter: usize) -> Result<usize, ParseError> {
    if at(s, letter + 1) == 0 {
        Err(truncated(letter + 1, "data ends after the id shortcut"))
    } else {
        Ok(letter + 2)
    }
}

/// Optional `-`, then decimal digits accumulated in a wrapping signed 64-bit integer.
/// Returns the value and the position of the first byte after the digits.
pub(crate) fn scan_number(s: &[u8], mut p: usize) -> (i64, usize) {
    let negative = at(s, p) == b'-';
    if negative {
        p += 1;
    }
    let mut value: i64 = 0;
    while at(s, p).is_ascii_digit() {
        value = value
            .wrapping_mul(10)
            .wrapping_add(i64::from(at(s, p) - b'0'));
        p += 1;
    }
    (
        if negative {
            value.wrapping_neg()
        } else {
            value
        },
        p,
    )
}

#[cfg(test)]
mod tests {
    use super::super::parse_prefix;
    use super::*;

    fn ok(s: &[u8]) -> (Tracer, usize) {
        parse_text(s).unwrap_or_else(|e| panic!("{:?}: {e}", String::from_utf8_lossy(s)))
    }

    #[test]
    fn consumed_length_stops_at_closing_colon() {
        assert_eq!(ok(b">:t:a::rest").1, 7);
        assert_eq!(ok(b">:t:a:x=1:y=2:").1, 10);
        assert_eq!(ok(b">:t:::").1, 6);
        assert_eq!(ok(b">:t:a\\.b::").1, 10);
    }

    #[test]
    fn c1_leading_zero_is_ordinary() {
        assert_eq!(ok(b">:0:a::").0.id, IdForm::Explicit(0));
        assert_eq!(ok(b">:007:a::").0.id, IdForm::Explicit(7));
        assert_eq!(ok(b">:t:0a::").0.tags, vec![b"0a".to_vec()]);
        assert!(parse_text(b">:0").unwrap_err().is_truncated());
    }

    #[test]
    fn shortcuts_at_end_are_truncated_not_out_of_bounds() {
        for s in [&b">:t"[..], b">:g", b">:p", b">:pp", b">:-", b">:12"] {
            assert!(parse_text(s).unwrap_err().is_truncated(), "{s:?}");
        }
        // the skipped byte is not checked
        assert!(!parse_text(b">:tx:a::").unwrap_err().is_truncated());
        assert_eq!(ok(b">:pp:a::").0.id, IdForm::Parent);
        assert_eq!(ok(b">::a::").0.id, IdForm::Global);
        assert_eq!(ok(b">:g:a::").0.id, IdForm::Global);
        assert_eq!(ok(b">:-:a::").0.id, IdForm::Explicit(0));
        assert_eq!(
            ok(b">:-9223372036854775808:a::").0.id,
            IdForm::Explicit(i64::MIN)
        );
    }

    #[test]
    fn argument_name_ending_in_colon() {
        // escaped ':' counts as the last byte too (sysdig deletes the backslash first)
        assert!(!parse_text(b">:t:a:x\\:").unwrap_err().is_truncated());
        assert!(parse_text(b">:t:a:x\\").unwrap_err().is_truncated());
        assert!(parse_text(b">:t:a:x=1,").unwrap_err().is_truncated());
        assert!(!parse_text(b">:t:a:x=1,:").unwrap_err().is_truncated());
        assert!(!parse_text(b">:t::x:").unwrap_err().is_truncated());
    }

    #[test]
    fn escapes_in_every_field() {
        let (t, _) = ok(b"<:12:a\\\\b\\.c.d:\\:n\\==v\\,w\\=\\:x:");
        assert_eq!(t.dir, Direction::Exit);
        assert_eq!(t.tags, vec![b"a\\b.c".to_vec(), b"d".to_vec()]);
        assert_eq!(t.args, vec![(b":n=".to_vec(), b"v,w=:x".to_vec())]);
    }

    #[test]
    fn nul_ends_the_data() {
        assert!(parse_prefix(b">:t:a\0b::").unwrap_err().is_truncated());
        assert_eq!(parse_prefix(b">:t:a::\0junk").unwrap().1, 7);
    }

    #[test]
    fn error_offsets_point_at_the_problem() {
        assert_eq!(parse_text(b">:t:a>b::").unwrap_err().offset(), 5);
        assert_eq!(parse_text(b">:t:a").unwrap_err().offset(), 5);
        assert_eq!(parse_text(b">x").unwrap_err().offset(), 1);
    }
}
