//! The compiled predicate. A parsed [`Expr`] becomes a tree of [`Node`]s whose tests hold
//! pre-typed literals (numbers as `i128`, needles as bytes, a substring searcher), so
//! evaluating an event does no parsing and, for most fields, no allocation.
//!
//! NULL semantics are sysdig's: a comparison on a field without a value is false, for
//! `!=` too; `not` negates the result (`not fd.name=x` is true on events without an fd).
//!
//! `evtin.*` fields filter differently from how they display (sysdig, reproduced): a
//! test passes if **any** open span in scope satisfies it; on an enter marker it fails
//! when the first satisfying span is the marker's own new record; an exit marker, after
//! the open spans, also tries the span it just closed.

use memchr::memmem;

use super::context::{EventSource, SpanFacts};
use super::extract::{
    borrowed_text, extract, in_scope, plain_number, span_prop, span_prop_number, span_prop_text,
    Value,
};
use super::fields::{FieldKind, FieldRef};
use super::lexer::CmpOp;
use super::parser::{Expr, Literal};
use crate::grammar::Direction;

/// A compiled test node.
#[derive(Debug, Clone)]
pub enum Node {
    /// All children hold.
    And(Box<[Node]>),
    /// One child holds.
    Or(Box<[Node]>),
    /// Negation.
    Not(Box<Node>),
    /// One field test.
    Test(Test),
}

/// One field test.
#[derive(Debug, Clone)]
pub struct Test {
    field: FieldRef,
    check: Check,
}

#[derive(Debug, Clone)]
enum Check {
    Exists,
    Num(CmpOp, i128),
    NumIn(Box<[i128]>),
    Str(CmpOp, Box<[u8]>),
    Contains(Box<memmem::Finder<'static>>),
    IContains(Box<[u8]>),
    StrIn(Box<[Box<[u8]>]>),
    Bool(bool, bool),
    Ip(bool, std::net::IpAddr),
    Any(Box<[Literal]>),
}

/// Compiles an AST.
pub fn compile(e: &Expr) -> Node {
    match e {
        Expr::And(v) => Node::And(v.iter().map(compile).collect()),
        Expr::Or(v) => Node::Or(v.iter().map(compile).collect()),
        Expr::Not(e) => Node::Not(Box::new(compile(e))),
        Expr::Cmp { field, op, values } => Node::Test(Test {
            field: field.clone(),
            check: compile_check(*op, values),
        }),
    }
}

fn compile_check(op: CmpOp, values: &[Literal]) -> Check {
    match (op, values) {
        (CmpOp::Exists, _) => Check::Exists,
        (CmpOp::In, vals) => {
            if vals.iter().all(|v| matches!(v, Literal::Num(_))) {
                Check::NumIn(
                    vals.iter()
                        .filter_map(|v| match v {
                            Literal::Num(n) => Some(*n),
                            _ => None,
                        })
                        .collect(),
                )
            } else if vals.iter().all(|v| matches!(v, Literal::Str(_))) {
                Check::StrIn(
                    vals.iter()
                        .filter_map(|v| match v {
                            Literal::Str(s) => Some(s.clone().into_boxed_slice()),
                            _ => None,
                        })
                        .collect(),
                )
            } else {
                Check::Any(vals.into())
            }
        }
        (op, [Literal::Num(n)]) => Check::Num(op, *n),
        (CmpOp::Contains, [Literal::Str(s)]) => {
            Check::Contains(Box::new(memmem::Finder::new(s.as_slice()).into_owned()))
        }
        (CmpOp::IContains, [Literal::Str(s)]) => {
            Check::IContains(s.to_ascii_lowercase().into_boxed_slice())
        }
        (op, [Literal::Str(s)]) => Check::Str(op, s.clone().into_boxed_slice()),
        (op, [Literal::Bool(b)]) => Check::Bool(op == CmpOp::Eq, *b),
        (op, [Literal::Ip(ip)]) => Check::Ip(op == CmpOp::Eq, *ip),
        // The parser gives every other operator exactly one value.
        (_, vals) => Check::Any(vals.into()),
    }
}

fn cmp_ord<T: Ord>(op: CmpOp, a: &T, b: &T) -> bool {
    match op {
        CmpOp::Eq => a == b,
        CmpOp::Ne => a != b,
        CmpOp::Lt => a < b,
        CmpOp::Le => a <= b,
        CmpOp::Gt => a > b,
        CmpOp::Ge => a >= b,
        _ => false,
    }
}

/// Byte-string equality for short operands (names, tags, types) with a few overlapping
/// word loads and no data-dependent loop: a per-byte loop mispredicts on every
/// mismatch, and libc's `memcmp` call costs more than the comparison (measured in
/// `benches/filter.rs`). Long operands use the slice comparison.
#[inline]
fn eq_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    fn w32(s: &[u8], i: usize) -> u32 {
        u32::from_ne_bytes([s[i], s[i + 1], s[i + 2], s[i + 3]])
    }
    fn w64(s: &[u8], i: usize) -> u64 {
        u64::from_ne_bytes([
            s[i],
            s[i + 1],
            s[i + 2],
            s[i + 3],
            s[i + 4],
            s[i + 5],
            s[i + 6],
            s[i + 7],
        ])
    }
    match n {
        0 => true,
        1..=3 => (a[0] == b[0]) & (a[n / 2] == b[n / 2]) & (a[n - 1] == b[n - 1]),
        4..=8 => (w32(a, 0) == w32(b, 0)) & (w32(a, n - 4) == w32(b, n - 4)),
        9..=16 => (w64(a, 0) == w64(b, 0)) & (w64(a, n - 8) == w64(b, n - 8)),
        _ => a == b,
    }
}

fn literal_eq(v: &Value<'_>, l: &Literal) -> bool {
    match (v, l) {
        (Value::Num(a), Literal::Num(b)) => a == b,
        (Value::Str(a), Literal::Str(b)) => eq_bytes(a, b),
        (Value::Bool(a), Literal::Bool(b)) => a == b,
        (Value::Ip(a), Literal::Ip(b)) => a == b,
        _ => false,
    }
}

impl Check {
    /// [`Check::holds`] for a number.
    #[inline]
    fn holds_num(&self, x: i128) -> bool {
        match self {
            Check::Exists => true,
            Check::Num(op, n) => cmp_ord(*op, &x, n),
            Check::NumIn(ns) => ns.contains(&x),
            Check::Any(ls) => ls.iter().any(|l| matches!(l, Literal::Num(n) if *n == x)),
            _ => false,
        }
    }

    /// [`Check::holds`] for a text value.
    #[inline]
    fn holds_text(&self, x: &[u8]) -> bool {
        match self {
            Check::Exists => true,
            Check::Str(op, s) => {
                let s: &[u8] = s;
                match op {
                    CmpOp::Eq => eq_bytes(x, s),
                    CmpOp::Ne => !eq_bytes(x, s),
                    CmpOp::StartsWith => x.len() >= s.len() && eq_bytes(&x[..s.len()], s),
                    CmpOp::EndsWith => x.len() >= s.len() && eq_bytes(&x[x.len() - s.len()..], s),
                    op => cmp_ord(*op, &x, &s),
                }
            }
            Check::Contains(f) => f.find(x).is_some(),
            Check::IContains(s) => {
                s.is_empty() || x.windows(s.len()).any(|w| w.eq_ignore_ascii_case(s))
            }
            Check::StrIn(ss) => ss.iter().any(|s| eq_bytes(s, x)),
            Check::Any(ls) => ls
                .iter()
                .any(|l| matches!(l, Literal::Str(s) if eq_bytes(s, x))),
            _ => false,
        }
    }

    #[inline]
    fn holds(&self, v: &Value<'_>) -> bool {
        match (self, v) {
            (Check::Exists, _) => true,
            (_, Value::Str(x)) => self.holds_text(x),
            (_, Value::Num(x)) => self.holds_num(*x),
            (Check::Bool(eq, b), Value::Bool(x)) => (x == b) == *eq,
            (Check::Ip(eq, ip), Value::Ip(x)) => (x == ip) == *eq,
            (Check::Any(ls), v) => ls.iter().any(|l| literal_eq(v, l)),
            _ => false,
        }
    }
}

impl Test {
    fn eval<E: EventSource>(&self, ev: &E) -> bool {
        if let FieldKind::Evtin(scope, prop) = self.field.kind {
            let t = ev.thread();
            let arg = &self.field.arg;
            let holds = |rec: &SpanFacts<'_>| {
                if let Some(n) = span_prop_number(prop, rec) {
                    return self.check.holds_num(n);
                }
                match span_prop_text(prop, arg, rec) {
                    Some(text) => text.is_some_and(|x| self.check.holds_text(x)),
                    None => span_prop(prop, arg, rec).is_some_and(|v| self.check.holds(&v)),
                }
            };
            for rec in ev.open_spans() {
                if in_scope(scope, &rec, &t) && holds(&rec) {
                    // An enter marker is not inside its own new span.
                    let own = ev
                        .is_marker()
                        .then(|| ev.marker())
                        .flatten()
                        .filter(|m| m.dir == Direction::Enter)
                        .and_then(|m| m.record);
                    return own.is_none_or(|o| o.key != rec.key);
                }
            }
            // An exit marker is "inside" the span it just closed.
            if ev.is_marker() {
                if let Some(m) = ev.marker().filter(|m| m.dir == Direction::Exit) {
                    if let Some(rec) = m.record.filter(|r| in_scope(scope, r, &t)) {
                        return holds(&rec);
                    }
                }
            }
            return false;
        }
        if let Some(n) = plain_number(self.field.kind, ev) {
            return n.is_some_and(|n| self.check.holds_num(n));
        }
        if let Some(text) = borrowed_text(self.field.kind, ev) {
            return text.is_some_and(|t| self.check.holds_text(t));
        }
        extract(&self.field, ev).is_some_and(|v| self.check.holds(&v))
    }
}

impl Node {
    /// Evaluates the node on one event line.
    pub fn eval<E: EventSource>(&self, ev: &E) -> bool {
        match self {
            Node::And(v) => v.iter().all(|n| n.eval(ev)),
            Node::Or(v) => v.iter().any(|n| n.eval(ev)),
            Node::Not(n) => !n.eval(ev),
            Node::Test(t) => t.eval(ev),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::eq_bytes;

    #[test]
    fn eq_bytes_all_lengths() {
        let base: Vec<u8> = (0u8..40).map(|i| b'a' + i % 26).collect();
        for n in 0..40 {
            let a = &base[..n];
            assert!(eq_bytes(a, a));
            assert!(!eq_bytes(a, &base[..n + 1]));
            for i in 0..n {
                let mut b = a.to_vec();
                b[i] ^= 0x20;
                assert!(!eq_bytes(a, &b), "len {n}, byte {i}");
            }
        }
    }
}
