//! sysdig-style `-p` output formats: literal text with `%field` tokens
//! (`%evt.num %proc.name %fd.name`).
//!
//! As in sysdig: a line whose format names a field without a value on that event is not
//! printed, unless the format starts with `*` (then the field prints as `<NA>`). A token
//! is `%` followed by a field name; a field that takes `.NAME` (`%span.arg.NAME`)
//! takes the **rest of the format string** as NAME, as sysdig 0.29.3 does, so such a
//! token only works last. `%%` prints `%`.

use super::context::EventSource;
use super::extract::{extract, write_value};
use super::fields::{self, FieldArg, FieldRef};
use super::FilterError;

/// sysdig's default line format. `evt.cpu` is 0 unless the source records CPUs;
/// `evt.info` is exact for marker lines and, for syscall lines of the engine
/// ([`super::lines`]), the start of sysdig's text (fd, size, path or result).
pub const DEFAULT_FORMAT: &str =
    "*%evt.num %evt.outputtime %evt.cpu %proc.name (%thread.tid) %evt.dir %evt.type %evt.info";

#[derive(Debug, Clone)]
enum Piece {
    Text(String),
    Field(FieldRef),
}

/// A compiled `-p` format.
#[derive(Debug, Clone)]
pub struct Format {
    pieces: Vec<Piece>,
    print_missing: bool,
}

fn is_field_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.'
}

impl Format {
    /// Compiles a format string; unknown fields are errors with a position and a
    /// suggestion, like filter errors.
    pub fn compile(src: &str) -> Result<Format, FilterError> {
        let (print_missing, body, offset) = match src.strip_prefix('*') {
            Some(rest) => (true, rest, 1),
            None => (false, src, 0),
        };
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut i = 0;
        let err = |pos: usize, message: String, suggestion: Option<String>| FilterError {
            filter: src.to_string(),
            pos: pos + offset,
            message,
            suggestion,
        };
        while i < body.len() {
            let rest = &body[i..];
            let Some(p) = rest.find('%') else {
                text.push_str(rest);
                break;
            };
            text.push_str(&rest[..p]);
            i += p + 1;
            let tok_start = i;
            if body[i..].starts_with('%') {
                text.push('%');
                i += 1;
                continue;
            }
            // Longest field name: [A-Za-z0-9_.] plus an optional [..] index.
            let after = &body[i..];
            let mut end = after
                .find(|c: char| !is_field_char(c))
                .unwrap_or(after.len());
            if after[end..].starts_with('[') {
                if let Some(close) = after[end..].find(']') {
                    end += close + 1;
                }
            }
            let mut name = after[..end].trim_end_matches('.');
            let mut field = fields::resolve(name);
            if let Ok(f) = &field {
                if matches!(f.arg, FieldArg::Name(_)) {
                    // sysdig quirk: `.NAME` extends to the end of the format.
                    name = after;
                    field = fields::resolve(name);
                }
            }
            if name.is_empty() {
                return Err(err(
                    tok_start - 1,
                    "'%' must be followed by a field name (use %% for a literal %)".into(),
                    None,
                ));
            }
            let f = field.map_err(|e| err(tok_start, e.message, e.suggestion))?;
            if !text.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut text)));
            }
            pieces.push(Piece::Field(f));
            i += name.len();
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(Format {
            pieces,
            print_missing,
        })
    }

    /// The fields the format uses.
    pub fn fields(&self) -> impl Iterator<Item = &FieldRef> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Field(f) => Some(f),
            Piece::Text(_) => None,
        })
    }

    /// Renders one event line, or `None` when a field is NULL and the format does not
    /// start with `*`.
    pub fn render<E: EventSource>(&self, ev: &E) -> Option<String> {
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Field(f) => match extract(f, ev) {
                    Some(v) => write_value(&mut out, &v),
                    None if self.print_missing => out.push_str("<NA>"),
                    None => return None,
                },
            }
        }
        Some(out)
    }
}
