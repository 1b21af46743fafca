//! The JSON form: `[">", ID, ["tag", …], [{"name":"value"}, …]]` (tracers-spec §3).
//!
//! This is sysdig's hand-rolled scanner, not a JSON parser: strings are raw (escapes are
//! not decoded; a string ends at the first `"` not preceded by a backslash), separators
//! are counted rather than parsed. The buffer is already cut at its first NUL; reading
//! past the end yields 0 (the C terminator).

use super::error::{failed, truncated, ParseError};
use super::text::scan_number;
use super::{at, Direction, IdForm, Tracer};

/// Parses one JSON-form marker from the start of `s`. Returns the tracer and the number
/// of bytes up to and including the final `]`.
pub(crate) fn parse_json(s: &[u8]) -> Result<(Tracer, usize), ParseError> {
    let mut sc = Scanner { s, p: 0 };
    sc.skip_spaces();
    if sc.peek() != b'[' {
        return Err(failed(sc.p, "expected '[' or a direction byte"));
    }
    sc.p += 1;

    let ty = sc.string()?;
    let dir = if ty.first() == Some(&b'>') {
        Direction::Enter
    } else {
        Direction::Exit
    };
    sc.spaces_and_commas(1)?;

    let id = if sc.peek() == b'"' {
        sc.p += 1;
        let id = sc.quoted_id()?;
        sc.spaces_and_commas(1)?;
        id
    } else {
        let (value, end) = scan_number(s, sc.p);
        sc.p = end;
        match sc.peek() {
            b',' => {
                sc.p += 1;
                sc.skip_spaces();
            }
            b' ' => {
                sc.p += 1;
                sc.spaces_and_commas(1)?;
            }
            0 => return Err(truncated(end, "data ends inside the id")),
            _ => return Err(failed(end, "invalid byte in the id")),
        }
        IdForm::Explicit(value)
    };

    sc.spaces_and_char(b'[')?;
    let mut tracer = Tracer {
        dir,
        id,
        tags: Vec::new(),
        args: Vec::new(),
    };
    if let Some(first) = sc.string_not_enforced()? {
        tracer.tags.push(first.to_vec());
        loop {
            sc.spaces_and_commas(0)?;
            if sc.peek() == b']' {
                break;
            }
            tracer.tags.push(sc.string()?.to_vec());
        }
    }

    sc.args_opening()?;
    if let Some(first) = sc.string_not_enforced()? {
        let name = first.to_vec();
        sc.spaces_and_char(b':')?;
        let value = sc.string()?.to_vec();
        tracer.args.push((name, value));
        loop {
            sc.between_args()?;
            if sc.peek() == b']' {
                sc.p += 1;
                break;
            }
            let name = sc.string()?.to_vec();
            sc.spaces_and_char(b':')?;
            let value = sc.string()?.to_vec();
            tracer.args.push((name, value));
        }
    }

    sc.skip_spaces();
    match sc.peek() {
        b']' => Ok((tracer, sc.p + 1)),
        0 => Err(truncated(sc.p, "data ends before the final ']'")),
        _ => Err(failed(sc.p, "expected the final ']'")),
    }
}

struct Scanner<'a> {
    s: &'a [u8],
    p: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> u8 {
        at(self.s, self.p)
    }

    fn skip_spaces(&mut self) {
        while self.peek() == b' ' {
            self.p += 1;
        }
    }

    /// A run of spaces and commas with at least `min_commas` commas.
    fn spaces_and_commas(&mut self, min_commas: usize) -> Result<(), ParseError> {
        let mut commas = 0;
        loop {
            match self.peek() {
                b' ' => {}
                b',' => commas += 1,
                0 => return Err(truncated(self.p, "data ends between elements")),
                _ => break,
            }
            self.p += 1;
        }
        if commas < min_commas {
            return Err(failed(self.p, "missing ',' between elements"));
        }
        Ok(())
    }

    /// A run of spaces and `ch` containing exactly one `ch`.
    fn spaces_and_char(&mut self, ch: u8) -> Result<(), ParseError> {
        let mut count = 0;
        loop {
            match self.peek() {
                0 => return Err(truncated(self.p, "data ends between elements")),
                b' ' => {}
                c if c == ch => count += 1,
                _ => break,
            }
            self.p += 1;
        }
        if count != 1 {
            return Err(failed(self.p, "expected exactly one '[' or ':'"));
        }
        Ok(())
    }

    /// From the end of the tags to the first argument: spaces, commas and brackets with
    /// exactly one `,` and one `[`, then a `{` or an immediate `]`.
    fn args_opening(&mut self) -> Result<(), ParseError> {
        let (mut commas, mut open_sq, mut open_curly) = (0, 0, 0);
        loop {
            match self.peek() {
                0 => return Err(truncated(self.p, "data ends before the arguments")),
                b',' => commas += 1,
                b'[' => open_sq += 1,
                b']' if open_sq != 0 => break,
                b'{' => open_curly += 1,
                b' ' | b']' | b'}' => {}
                _ => break,
            }
            self.p += 1;
        }
        if commas != 1 || open_sq != 1 {
            return Err(failed(self.p, "expected ', [' before the arguments"));
        }
        if open_curly != 1 && self.peek() != b']' {
            return Err(failed(self.p, "expected '{' or ']' in the arguments"));
        }
        Ok(())
    }

    /// Between two argument objects: spaces, commas and braces; accepted when there is
    /// one comma and one `{`, one comma and one `}`, or one `}` followed by `]`.
    fn between_args(&mut self) -> Result<(), ParseError> {
        let (mut commas, mut open, mut close) = (0, 0, 0);
        loop {
            match self.peek() {
                0 => return Err(truncated(self.p, "data ends inside the arguments")),
                b',' => commas += 1,
                b'{' => open += 1,
                b'}' => close += 1,
                b' ' => {}
                _ => break,
            }
            self.p += 1;
        }
        let ok = (commas == 1 && (open == 1 || close == 1)) || (close == 1 && self.peek() == b']');
        if !ok {
            return Err(failed(self.p, "malformed separator between arguments"));
        }
        Ok(())
    }

    /// A `"`-delimited raw string; the content ends at the first `"` whose preceding
    /// byte is not a backslash.
    fn string(&mut self) -> Result<&'a [u8], ParseError> {
        match self.peek() {
            b'"' => {}
            0 => return Err(truncated(self.p, "data ends before a string")),
            _ => return Err(failed(self.p, "expected a '\"' string")),
        }
        let start = self.p + 1;
        let mut q = start;
        loop {
            match at(self.s, q) {
                b'"' if at(self.s, q - 1) != b'\\' => break,
                0 => return Err(truncated(q, "data ends inside a string")),
                _ => q += 1,
            }
        }
        self.p = q + 1;
        Ok(&self.s[start..q])
    }

    /// sysdig's "not enforced" string: a string if one starts here; otherwise one byte
    /// (whatever it is) is skipped and there is no string.
    fn string_not_enforced(&mut self) -> Result<Option<&'a [u8]>, ParseError> {
        match self.peek() {
            b'"' => self.string().map(Some),
            0 => Err(truncated(self.p, "data ends before a string")),
            _ => {
                self.p += 1;
                Ok(None)
            }
        }
    }

    /// A quoted id shortcut; `self.p` is just after the opening quote.
    fn quoted_id(&mut self) -> Result<IdForm, ParseError> {
        let letter = self.p;
        let (id, skip_from) = match self.peek() {
            b't' => (IdForm::Thread, letter),
            b'p' if at(self.s, letter + 1) == b'p' => (IdForm::Parent, letter + 1),
            b'p' => (IdForm::Process, letter),
            b'g' => (IdForm::Global, letter),
            b':' => {
                // sysdig: id 0, consumes only the ':' (then the closing quote fails
                // the comma check, so `":"` is rejected).
                self.p += 1;
                return Ok(IdForm::Global);
            }
            0 => return Err(truncated(letter, "data ends inside the id")),
            // sysdig continues with a stale length here (undefined); reject.
            _ => return Err(failed(letter, "unknown quoted id")),
        };
        // Blind skip of the letter and the byte after it (assumed to be '"').
        if at(self.s, skip_from + 1) == 0 {
            return Err(truncated(skip_from + 1, "data ends after the id shortcut"));
        }
        self.p = skip_from + 2;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &[u8]) -> (Tracer, usize) {
        parse_json(s).unwrap_or_else(|e| panic!("{:?}: {e}", String::from_utf8_lossy(s)))
    }

    fn kind(s: &[u8]) -> &'static str {
        match parse_json(s) {
            Ok(_) => "ok",
            Err(ParseError::Truncated { .. }) => "truncated",
            Err(ParseError::Failed { .. }) => "failed",
        }
    }

    #[test]
    fn consumed_length_includes_final_bracket() {
        let s = br#"[">", 1, ["a"], []]garbage"#;
        assert_eq!(ok(s).1, s.len() - "garbage".len());
        let s = br#"  [">", 1, ["a"], [{"k":"v"}]]"#;
        assert_eq!(ok(s).1, s.len());
    }

    #[test]
    fn quoted_ids() {
        assert_eq!(ok(br#"[">", "pp", ["a"], []]"#).0.id, IdForm::Parent);
        assert_eq!(ok(br#"[">", "g", ["a"], []]"#).0.id, IdForm::Global);
        assert_eq!(kind(br#"[">", ":", ["a"], []]"#), "failed");
        assert_eq!(kind(br#"[">", "x", ["a"], []]"#), "failed");
        // end of data right after a quote or a shortcut letter: truncated, no overread
        assert_eq!(kind(br#"[">", ""#), "truncated");
        assert_eq!(kind(br#"[">", "t"#), "truncated");
        assert_eq!(kind(br#"[">", "pp"#), "truncated");
    }

    #[test]
    fn scanner_quirks_kept() {
        // one byte after the tags' '[' is skipped when it is not a string
        assert_eq!(ok(br#"[">", 1, [x], []]"#).0.tags, Vec::<Vec<u8>>::new());
        // {} is an empty argument list
        assert!(ok(br#"[">", 1, ["a"], [{}]]"#).0.args.is_empty());
        // comma-separated objects without closing braces are accepted
        assert_eq!(ok(br#"[">", 1, [], [{"a":"1",{"b":"2"}]]"#).0.args.len(), 2);
        assert_eq!(kind(br#"[">", 1, ["a"], [{"k":"v"}"#), "truncated");
        assert_eq!(kind(br#"[">" 1, ["a"], []]"#), "failed");
        assert_eq!(kind(b""), "failed");
        assert_eq!(kind(b"   "), "failed");
        assert_eq!(ok(br#"["<<", -0, [""], [{"":""}]]"#).0.dir, Direction::Exit);
    }
}
