//! Parser: filter text → [`Expr`] (the AST), with fields resolved against the catalog
//! and literals typed by their field. Grammar (sysdig's):
//!
//! ```text
//! expr  := unary (("and" | "or") unary)*    one kind of connective per level
//! unary := "not" unary | "(" expr ")" | FIELD OP [VALUE | "(" VALUE ("," VALUE)* ")"]
//! OP    := = == != < <= > >= contains icontains startswith endswith in exists
//! ```
//!
//! As in sysdig 0.29.3, `and` and `or` cannot be mixed on one level without parentheses
//! (`a and b or c` is an error, not a precedence guess).

use std::net::IpAddr;

use super::fields::{self, FieldRef, FieldType};
use super::lexer::{CmpOp, Cursor, Spanned, ValueTok, WORD_OPS};
use super::literal;
use super::FilterError;

/// Maximum nesting of parentheses and `not`s (keeps recursion bounded on hostile input).
pub const MAX_DEPTH: usize = 200;

/// A typed literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Literal {
    /// A number (any numeric field type; wide enough for `i64` and `u64`).
    Num(i128),
    /// A byte string.
    Str(Vec<u8>),
    /// A boolean.
    Bool(bool),
    /// An IP address.
    Ip(IpAddr),
}

/// The filter AST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// All must hold.
    And(Vec<Expr>),
    /// One must hold.
    Or(Vec<Expr>),
    /// Negation.
    Not(Box<Expr>),
    /// `FIELD OP VALUES`.
    Cmp {
        /// The field.
        field: FieldRef,
        /// The operator.
        op: CmpOp,
        /// The values: none for `exists`, one for most operators, a list for `in`.
        values: Vec<Literal>,
    },
}

impl Expr {
    /// Calls `f` on every field the expression uses.
    pub fn visit_fields(&self, f: &mut dyn FnMut(&FieldRef)) {
        match self {
            Expr::And(v) | Expr::Or(v) => v.iter().for_each(|e| e.visit_fields(f)),
            Expr::Not(e) => e.visit_fields(f),
            Expr::Cmp { field, .. } => f(field),
        }
    }
}

/// Parses a whole filter.
pub fn parse(src: &str) -> Result<Expr, FilterError> {
    let mut p = Parser {
        cur: Cursor::new(src),
        src,
    };
    if p.cur.at_end() {
        return Err(p.err(0, "empty filter".into(), None));
    }
    let e = p.expr(0)?;
    if !p.cur.at_end() {
        let pos = p.cur.pos();
        return Err(p.err(pos, "unexpected ')': no matching '('".into(), None));
    }
    Ok(e)
}

struct Parser<'a> {
    cur: Cursor<'a>,
    src: &'a str,
}

#[derive(PartialEq, Clone, Copy)]
enum Conn {
    And,
    Or,
}

impl<'a> Parser<'a> {
    fn err(&self, pos: usize, message: String, suggestion: Option<String>) -> FilterError {
        FilterError {
            filter: self.src.to_string(),
            pos,
            message,
            suggestion,
        }
    }

    fn expr(&mut self, depth: usize) -> Result<Expr, FilterError> {
        let mut items = vec![self.unary(depth)?];
        let mut conn: Option<Conn> = None;
        loop {
            if self.cur.at_end() || self.cur.peek() == Some(')') {
                break;
            }
            let pos = self.cur.pos();
            let word = self.cur.word();
            let this = match word.as_ref().map(|w| w.value) {
                Some("and") => Conn::And,
                Some("or") => Conn::Or,
                other => {
                    let found = other.map(|w| format!("'{w}'")).unwrap_or_else(|| {
                        format!("'{}'", self.cur.rest().chars().next().unwrap_or(' '))
                    });
                    let suggestion = other
                        .and_then(|w| fields::closest(w, ["and", "or", "not"].into_iter()))
                        .map(str::to_string);
                    return Err(self.err(
                        pos,
                        format!(
                            "expected 'and', 'or', ')' or the end of the filter, found {found}"
                        ),
                        suggestion,
                    ));
                }
            };
            match conn {
                Some(c) if c != this => {
                    return Err(self.err(
                        pos,
                        "this expression mixes 'and' and 'or': add parentheses to say which \
                         binds first"
                            .into(),
                        None,
                    ))
                }
                _ => conn = Some(this),
            }
            items.push(self.unary(depth)?);
        }
        Ok(match (conn, items.len()) {
            (_, 1) => items.pop().expect("one item"),
            (Some(Conn::Or), _) => Expr::Or(items),
            _ => Expr::And(items),
        })
    }

    fn unary(&mut self, depth: usize) -> Result<Expr, FilterError> {
        if depth > MAX_DEPTH {
            let pos = self.cur.pos();
            return Err(self.err(
                pos,
                format!("filter nested deeper than {MAX_DEPTH} levels"),
                None,
            ));
        }
        if self.cur.at_end() {
            let pos = self.cur.pos();
            return Err(self.err(
                pos,
                "unexpected end of filter: expected a condition".into(),
                None,
            ));
        }
        let open_pos = self.cur.pos();
        if self.cur.eat('(') {
            let e = self.expr(depth + 1)?;
            if !self.cur.eat(')') {
                let pos = self.cur.pos();
                return Err(self.err(
                    pos,
                    format!("missing ')' to close the '(' at position {}", open_pos + 1),
                    None,
                ));
            }
            return Ok(e);
        }
        if self.cur.peek_word() == Some("not") {
            self.cur.word();
            return Ok(Expr::Not(Box::new(self.unary(depth + 1)?)));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, FilterError> {
        let Some(name) = self.cur.word() else {
            let pos = self.cur.pos();
            let c = self.cur.rest().chars().next().unwrap_or(' ');
            return Err(self.err(pos, format!("expected a field name, found '{c}'"), None));
        };
        if matches!(name.value, "and" | "or") {
            return Err(self.err(
                name.pos,
                format!("expected a condition before '{}'", name.value),
                None,
            ));
        }
        let field =
            fields::resolve(name.value).map_err(|e| self.err(name.pos, e.message, e.suggestion))?;
        let op = match self.cur.operator() {
            Ok(op) => op,
            Err(e) => {
                let found = self.cur.peek_word();
                let suggestion = found.and_then(|w| {
                    fields::closest(w, WORD_OPS.iter().map(|(n, _)| *n)).map(str::to_string)
                });
                let what = match found {
                    Some(w) => format!("found '{w}'"),
                    None if self.cur.at_end() => "found the end of the filter".to_string(),
                    None => format!("found '{}'", self.cur.rest().chars().next().unwrap_or(' ')),
                };
                return Err(self.err(
                    e.pos,
                    format!(
                        "expected a comparison operator after '{}', {what}",
                        name.value
                    ),
                    suggestion,
                ));
            }
        };
        check_op(&field, op.value).map_err(|m| self.err(op.pos, m, None))?;
        let values = match op.value {
            CmpOp::Exists => vec![],
            CmpOp::In => {
                let open = self.cur.pos();
                if !self.cur.eat('(') {
                    return Err(self.err(open, "expected '(' after 'in'".into(), None));
                }
                let mut values = vec![];
                loop {
                    let v = self.lex_value(true)?;
                    if v.value.text.is_empty() && !v.value.quoted {
                        return Err(self.err(
                            v.pos,
                            "expected a value in the 'in' list".into(),
                            None,
                        ));
                    }
                    values.push(self.typed(&field, &v)?);
                    if self.cur.eat(',') {
                        continue;
                    }
                    if self.cur.eat(')') {
                        break;
                    }
                    let pos = self.cur.pos();
                    return Err(self.err(
                        pos,
                        "expected ',' or ')' after a value of the 'in' list".into(),
                        None,
                    ));
                }
                values
            }
            _ => {
                let v = self.lex_value(false)?;
                vec![self.typed(&field, &v)?]
            }
        };
        Ok(Expr::Cmp {
            field,
            op: op.value,
            values,
        })
    }

    fn lex_value(&mut self, in_list: bool) -> Result<Spanned<ValueTok>, FilterError> {
        self.cur
            .value(in_list)
            .map_err(|e| self.err(e.pos, e.message, None))
    }

    fn typed(&self, field: &FieldRef, v: &Spanned<ValueTok>) -> Result<Literal, FilterError> {
        let text = v.value.text.as_str();
        let lit = match field.ty {
            t if t.is_numeric() => {
                let n = literal::parse_number(text, field.unit)
                    .map_err(|e| self.err(v.pos, e.0, None))?;
                if t.is_unsigned() && n < 0 {
                    return Err(self.err(
                        v.pos,
                        format!("'{text}' is negative but the field is unsigned ({t})"),
                        None,
                    ));
                }
                Literal::Num(n)
            }
            FieldType::Bool => {
                Literal::Bool(literal::parse_bool(text).map_err(|e| self.err(v.pos, e.0, None))?)
            }
            FieldType::IpAddr => Literal::Ip(text.parse().map_err(|_| {
                self.err(v.pos, format!("'{text}' is not a valid IP address"), None)
            })?),
            _ => Literal::Str(text.as_bytes().to_vec()),
        };
        Ok(lit)
    }
}

/// Checks that `op` applies to the field's type.
fn check_op(field: &FieldRef, op: CmpOp) -> Result<(), String> {
    use CmpOp::*;
    let ok = match field.ty {
        FieldType::CharBuf => true,
        t if t.is_numeric() => matches!(op, Eq | Ne | Lt | Le | Gt | Ge | In | Exists),
        _ => matches!(op, Eq | Ne | In | Exists),
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "operator '{}' cannot be used with a {} field",
            op.as_str(),
            field.ty
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::fields::{FieldArg, FieldKind};

    fn cmp(e: &Expr) -> (FieldKind, CmpOp, &[Literal]) {
        match e {
            Expr::Cmp { field, op, values } => (field.kind, *op, values),
            other => panic!("not a comparison: {other:?}"),
        }
    }

    #[test]
    fn comparisons_and_values() {
        let e = parse("evt.type=read").unwrap();
        assert_eq!(
            cmp(&e),
            (
                FieldKind::EvtType,
                CmpOp::Eq,
                &[Literal::Str(b"read".to_vec())][..]
            )
        );
        let e = parse("evt.num <= 10").unwrap();
        assert_eq!(
            cmp(&e),
            (FieldKind::EvtNum, CmpOp::Le, &[Literal::Num(10)][..])
        );
        let e = parse("evt.dir=<").unwrap();
        assert_eq!(cmp(&e).2, &[Literal::Str(b"<".to_vec())]);
        let e = parse("evt.dir = '>'").unwrap();
        assert_eq!(cmp(&e).2, &[Literal::Str(b">".to_vec())]);
        let e = parse("fd.name=").unwrap();
        assert_eq!(cmp(&e).2, &[Literal::Str(vec![])]);
        let e = parse("fd.name exists").unwrap();
        assert_eq!(cmp(&e), (FieldKind::FdName, CmpOp::Exists, &[][..]));
        let e = parse("evt.type in (read, 'write',pread)").unwrap();
        assert_eq!(cmp(&e).2.len(), 3);
        let e = parse("span.duration > 1.5ms").unwrap();
        assert_eq!(cmp(&e).2, &[Literal::Num(1_500_000)]);
        let e = parse("evt.buflen >= 10KB").unwrap();
        assert_eq!(cmp(&e).2, &[Literal::Num(10240)]);
        let e = parse("fd.is_server=true").unwrap();
        assert_eq!(cmp(&e).2, &[Literal::Bool(true)]);
        let e = parse("fd.cip=192.168.1.5").unwrap();
        assert_eq!(cmp(&e).2, &[Literal::Ip("192.168.1.5".parse().unwrap())]);
        let e = parse("fd.sip=::1").unwrap();
        assert_eq!(cmp(&e).2, &[Literal::Ip("::1".parse().unwrap())]);
        for op in ["contains", "icontains", "startswith", "endswith"] {
            let e = parse(&format!("proc.name {op} web")).unwrap();
            assert_eq!(cmp(&e).1.as_str(), op);
        }
        let e = parse("span.arg.user=bob").unwrap();
        match e {
            Expr::Cmp { field, .. } => assert_eq!(field.arg, FieldArg::Name(b"user".to_vec())),
            _ => unreachable!(),
        }
    }

    #[test]
    fn boolean_structure() {
        let e = parse("evt.type=read and fd.num=3 and not proc.name=x").unwrap();
        match &e {
            Expr::And(v) => {
                assert_eq!(v.len(), 3);
                assert!(matches!(v[2], Expr::Not(_)));
            }
            _ => panic!("{e:?}"),
        }
        let e = parse("(evt.type=read or evt.type=write) and fd.num=3").unwrap();
        match &e {
            Expr::And(v) => assert!(matches!(v[0], Expr::Or(_))),
            _ => panic!("{e:?}"),
        }
        assert!(matches!(
            parse("not not evt.type=read").unwrap(),
            Expr::Not(_)
        ));
        assert!(matches!(parse("not(evt.type=read)").unwrap(), Expr::Not(_)));
        assert!(matches!(
            parse("((evt.type=read))").unwrap(),
            Expr::Cmp { .. }
        ));
        // `not` binds to the next condition only.
        match parse("not evt.type=read and fd.num=1").unwrap() {
            Expr::And(v) => assert!(matches!(v[0], Expr::Not(_))),
            e => panic!("{e:?}"),
        }
    }

    fn error(src: &str) -> FilterError {
        parse(src).expect_err(src)
    }

    #[test]
    fn errors_point_at_the_problem() {
        let e = error("evt.type=read or evt.type=write and fd.num=8");
        assert_eq!(e.pos, 32);
        assert!(e.message.contains("mixes 'and' and 'or'"));
        let e = error("evt.typ=read");
        assert_eq!((e.pos, e.suggestion.as_deref()), (0, Some("evt.type")));
        let e = error("evt.type=read andd fd.num=1");
        assert_eq!((e.pos, e.suggestion.as_deref()), (14, Some("and")));
        let e = error("proc.name containz x");
        assert_eq!((e.pos, e.suggestion.as_deref()), (10, Some("contains")));
        let e = error("fd.name");
        assert!(e.message.contains("expected a comparison operator"), "{e}");
        assert_eq!(e.pos, 7);
        let e = error("evt.num=abc");
        assert_eq!(e.pos, 8);
        assert!(e.message.contains("not a valid number"));
        assert!(error("evt.latency > 1ms5").message.contains("unknown unit"));
        assert!(error("evt.num > 1ms")
            .message
            .contains("not a valid number"));
        assert!(error("evt.num > -1").message.contains("unsigned"));
        assert!(error("evt.is_io=1").message.contains("boolean"));
        assert!(error("fd.cip=nothost").message.contains("IP address"));
        assert_eq!(error("evt.type=read)").pos, 13);
        let e = error("(evt.type=read");
        assert!(e.message.contains("missing ')'"), "{e}");
        assert_eq!(e.pos, 14);
        assert!(error("").message.contains("empty"));
        assert!(error("   ").message.contains("empty"));
        assert!(error("()").message.contains("field name"));
        assert!(error("evt.type in ()").message.contains("in' list"));
        assert!(error("evt.num in (1 2)").message.contains("',' or ')'"));
        assert!(error("evt.num in 1").message.contains("'('"));
        assert!(error("evt.num contains 1")
            .message
            .contains("cannot be used"));
        assert!(error("fd.is_server > true")
            .message
            .contains("cannot be used"));
        assert!(error("span.tag=x").message.contains("needs an index"));
        assert!(error("and evt.num=1").message.contains("before 'and'"));
        assert!(error("evt.num=1 and").message.contains("end of filter"));
        assert!(error("proc.name='abc").message.contains("unterminated"));
        let deep = format!("{}evt.num=1{}", "(".repeat(1000), ")".repeat(1000));
        assert!(error(&deep).message.contains("nested deeper"));
        let nots = format!("{}evt.num=1", "not ".repeat(1000));
        assert!(error(&nots).message.contains("nested deeper"));
    }

    #[test]
    fn fields_are_visited() {
        let e = parse("evt.num=1 and (span.duration>1 or not fd.name exists)").unwrap();
        let mut n = 0;
        e.visit_fields(&mut |_| n += 1);
        assert_eq!(n, 3);
    }
}
