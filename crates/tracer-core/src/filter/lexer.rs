//! Scanning of filter text. sysdig's filter syntax is context dependent (after `evt.dir=`
//! a bare `<` is a value, not an operator), so the parser drives a [`Cursor`] and asks it
//! for the kind of token it expects next: a field name, an operator, a value or a keyword.
//! Positions are byte offsets into the filter text.

/// A token with the byte offset where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spanned<T> {
    /// The token.
    pub value: T,
    /// Byte offset of its first character.
    pub pos: usize,
}

/// A comparison operator as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `=` or `==`.
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `contains`: substring.
    Contains,
    /// `icontains`: ASCII case-insensitive substring.
    IContains,
    /// `startswith`: prefix.
    StartsWith,
    /// `endswith`: suffix.
    EndsWith,
    /// `in (a, b, …)`: equal to one of the values.
    In,
    /// `exists`: the field has a value on this event.
    Exists,
}

/// Word operators, for parsing and for "did you mean".
pub const WORD_OPS: &[(&str, CmpOp)] = &[
    ("contains", CmpOp::Contains),
    ("icontains", CmpOp::IContains),
    ("startswith", CmpOp::StartsWith),
    ("endswith", CmpOp::EndsWith),
    ("in", CmpOp::In),
    ("exists", CmpOp::Exists),
];

impl CmpOp {
    /// The operator as written in a filter (`=` for both `=` and `==`).
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Contains => "contains",
            CmpOp::IContains => "icontains",
            CmpOp::StartsWith => "startswith",
            CmpOp::EndsWith => "endswith",
            CmpOp::In => "in",
            CmpOp::Exists => "exists",
        }
    }
}

/// A value literal: bare or quoted (quotes removed, escapes resolved).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueTok {
    /// The text.
    pub text: String,
    /// True if it was written in quotes.
    pub quoted: bool,
}

/// Scanner over a filter string.
#[derive(Debug, Clone)]
pub struct Cursor<'a> {
    src: &'a str,
    pos: usize,
}

/// A scanning error: message and byte position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexError {
    /// What is wrong.
    pub message: String,
    /// Where.
    pub pos: usize,
}

fn is_delim(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | '=' | '<' | '>' | '!' | '\'' | '"' | ',')
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `src`.
    pub fn new(src: &'a str) -> Self {
        Cursor { src, pos: 0 }
    }

    /// Current byte offset.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// The unread rest.
    pub fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    /// Skips whitespace.
    pub fn skip_ws(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    /// True at the end of input (after whitespace).
    pub fn at_end(&mut self) -> bool {
        self.skip_ws();
        self.pos >= self.src.len()
    }

    /// The next character, after whitespace, without consuming it.
    pub fn peek(&mut self) -> Option<char> {
        self.skip_ws();
        self.rest().chars().next()
    }

    /// Consumes `c` if it is next (after whitespace).
    pub fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    /// Reads a bare word: characters up to whitespace or a delimiter
    /// (`(`, `)`, `=`, `<`, `>`, `!`, quotes, `,`). A `[...]` part is read whole, so
    /// `span.tag[-1]` is one word. Returns `None` if no word starts here.
    pub fn word(&mut self) -> Option<Spanned<&'a str>> {
        self.skip_ws();
        let start = self.pos;
        let bytes = self.src.as_bytes();
        let mut i = start;
        while i < bytes.len() {
            let c = self.src[i..].chars().next().unwrap_or(' ');
            if c == '[' {
                match self.src[i..].find(']') {
                    Some(end) => i += end + 1,
                    None => i = bytes.len(),
                }
                continue;
            }
            if is_delim(c) {
                break;
            }
            i += c.len_utf8();
        }
        if i == start {
            return None;
        }
        self.pos = i;
        Some(Spanned {
            value: &self.src[start..i],
            pos: start,
        })
    }

    /// Peeks at the next bare word without consuming it.
    pub fn peek_word(&mut self) -> Option<&'a str> {
        let save = self.pos;
        let w = self.word().map(|w| w.value);
        self.pos = save;
        w
    }

    /// Reads a comparison operator. Symbolic operators need no surrounding space
    /// (`a=b`); word operators are whole words.
    pub fn operator(&mut self) -> Result<Spanned<CmpOp>, LexError> {
        self.skip_ws();
        let start = self.pos;
        let rest = self.rest();
        for (sym, op) in [
            ("==", CmpOp::Eq),
            ("!=", CmpOp::Ne),
            ("<=", CmpOp::Le),
            (">=", CmpOp::Ge),
            ("=", CmpOp::Eq),
            ("<", CmpOp::Lt),
            (">", CmpOp::Gt),
        ] {
            if rest.starts_with(sym) {
                self.pos += sym.len();
                return Ok(Spanned {
                    value: op,
                    pos: start,
                });
            }
        }
        let save = self.pos;
        if let Some(w) = self.word() {
            if let Some(&(_, op)) = WORD_OPS.iter().find(|(name, _)| *name == w.value) {
                return Ok(Spanned {
                    value: op,
                    pos: start,
                });
            }
        }
        self.pos = save;
        Err(LexError {
            message: String::new(),
            pos: start,
        })
    }

    /// Reads a value: a quoted string (`'…'` or `"…"`, backslash escapes the next
    /// character) or a bare run of characters up to whitespace, `(`, `)` and, inside an
    /// `in` list, `,`. A bare value may contain `<`, `>`, `=`, `!` (as in `evt.dir=<`).
    /// At the end of input or before `)` the value is empty (sysdig accepts `fd.name=`).
    pub fn value(&mut self, in_list: bool) -> Result<Spanned<ValueTok>, LexError> {
        self.skip_ws();
        let start = self.pos;
        let rest = self.rest();
        let mut chars = rest.char_indices();
        match chars.next() {
            Some((_, q @ ('\'' | '"'))) => {
                let mut text = String::new();
                let mut escaped = false;
                for (i, c) in chars {
                    if escaped {
                        text.push(c);
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == q {
                        self.pos = start + i + 1;
                        return Ok(Spanned {
                            value: ValueTok { text, quoted: true },
                            pos: start,
                        });
                    } else {
                        text.push(c);
                    }
                }
                Err(LexError {
                    message: format!("unterminated string: missing closing {q}"),
                    pos: start,
                })
            }
            _ => {
                let end = rest
                    .find(|c: char| {
                        c.is_whitespace() || c == '(' || c == ')' || (in_list && c == ',')
                    })
                    .unwrap_or(rest.len());
                self.pos = start + end;
                Ok(Spanned {
                    value: ValueTok {
                        text: rest[..end].to_string(),
                        quoted: false,
                    },
                    pos: start,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_brackets() {
        let mut c = Cursor::new("  span.tag[-1]=x and");
        let w = c.word().unwrap();
        assert_eq!((w.value, w.pos), ("span.tag[-1]", 2));
        assert_eq!(c.operator().unwrap().value, CmpOp::Eq);
        assert_eq!(c.value(false).unwrap().value.text, "x");
        assert_eq!(c.word().unwrap().value, "and");
        assert!(c.at_end());
    }

    #[test]
    fn operators() {
        for (text, op) in [
            ("=", CmpOp::Eq),
            ("==", CmpOp::Eq),
            ("!=", CmpOp::Ne),
            ("<", CmpOp::Lt),
            ("<=", CmpOp::Le),
            (">", CmpOp::Gt),
            (">=", CmpOp::Ge),
            (" contains", CmpOp::Contains),
            ("icontains", CmpOp::IContains),
            ("startswith", CmpOp::StartsWith),
            ("endswith", CmpOp::EndsWith),
            ("in", CmpOp::In),
            ("exists", CmpOp::Exists),
        ] {
            assert_eq!(Cursor::new(text).operator().unwrap().value, op, "{text}");
        }
        let mut c = Cursor::new(" containz x");
        assert_eq!(c.operator().unwrap_err().pos, 1);
        assert_eq!(c.pos(), 1, "a failed operator read consumes nothing");
    }

    #[test]
    fn values() {
        let mut c = Cursor::new("<");
        assert_eq!(c.value(false).unwrap().value.text, "<");
        let mut c = Cursor::new(" 'a b\\'c' rest");
        let v = c.value(false).unwrap();
        assert_eq!(
            (v.value.text.as_str(), v.value.quoted, v.pos),
            ("a b'c", true, 1)
        );
        let mut c = Cursor::new("\"x\"");
        assert_eq!(c.value(false).unwrap().value.text, "x");
        let mut c = Cursor::new("a,b)");
        assert_eq!(c.value(true).unwrap().value.text, "a");
        let mut c = Cursor::new("a,b)");
        assert_eq!(c.value(false).unwrap().value.text, "a,b");
        let mut c = Cursor::new("");
        assert_eq!(c.value(false).unwrap().value.text, "");
        let e = Cursor::new("  'abc").value(false).unwrap_err();
        assert_eq!(e.pos, 2);
        assert!(e.message.contains("unterminated"));
    }
}
