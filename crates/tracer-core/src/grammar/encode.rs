//! Writing markers: the text form with `\` escaping, and the JSON form where the text
//! form cannot express a tracer.

use super::error::EncodeError;
use super::{Direction, IdForm, Tracer};

/// Writes `t` as a marker that [`super::parse`] turns back into `t`.
///
/// The text form `DIR:ID:TAGS:ARGS:` is used, with a backslash before every byte that
/// would change the meaning: `\` `:` `,` `=` `>` `<` LF in tags, argument names and
/// values, and `.` in tags. Ids: [`IdForm::Thread`] `t`, [`IdForm::Process`] `p`,
/// [`IdForm::Parent`] `pp`, [`IdForm::Global`] `g`, [`IdForm::Explicit`] decimal, with
/// `0` written as `-0` and a first tag starting with `0` written as `\0…`, so that
/// sysdig 0.29.3 (bug C1) reads the output the same way.
///
/// Not representable, hence lossy here (use [`encode_checked`] to get an error instead):
/// - NUL bytes: every parser stops at the first NUL, so they are left out.
/// - A single empty tag: the text form reads an empty tag section as zero tags, so the
///   JSON form `[">", ID, [""], [{"name":"value"}, …]]` is written instead. If an
///   argument cannot be written in JSON (it contains a `"` not preceded by `\`, or ends
///   with `\`), the text form is written and the empty tag is lost.
///
/// Write each marker with a single `write()`: split over several writes, a piece that
/// ends right after a `:` in an argument name fails ("argument without value", kept
/// sysdig quirk), and a piece that is itself a complete marker replaces the fragment
/// (C3).
pub fn encode(t: &Tracer) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(t, &mut out);
    out
}

/// [`encode`] appending to `out`.
pub fn encode_into(t: &Tracer, out: &mut Vec<u8>) {
    let fields: usize = t.tags.iter().map(|g| g.len() + 1).sum::<usize>()
        + t.args
            .iter()
            .map(|(n, v)| n.len() + v.len() + 2)
            .sum::<usize>();
    out.reserve(fields + 32);
    if single_empty_tag(t) && t.args.iter().all(|(n, v)| json_ok(n) && json_ok(v)) {
        json_into(t, out);
    } else {
        text_into(t, out);
    }
}

/// [`encode`], or an error when the marker could not carry `t` exactly (see
/// [`EncodeError`]). When this returns `Ok(bytes)`, `parse(&bytes) == Ok(t.clone())`.
pub fn encode_checked(t: &Tracer) -> Result<Vec<u8>, EncodeError> {
    if t.tags.iter().any(|g| g.contains(&0)) {
        return Err(EncodeError::Nul { field: "tag" });
    }
    for (name, value) in &t.args {
        if name.contains(&0) {
            return Err(EncodeError::Nul {
                field: "argument name",
            });
        }
        if value.contains(&0) {
            return Err(EncodeError::Nul {
                field: "argument value",
            });
        }
    }
    if single_empty_tag(t) && !t.args.iter().all(|(n, v)| json_ok(n) && json_ok(v)) {
        return Err(EncodeError::SingleEmptyTag);
    }
    Ok(encode(t))
}

/// Exactly one tag, empty once NUL bytes are left out.
fn single_empty_tag(t: &Tracer) -> bool {
    t.tags.len() == 1 && t.tags[0].iter().all(|&b| b == 0)
}

fn needs_escape(b: u8, in_tag: bool) -> bool {
    matches!(b, b'\\' | b':' | b',' | b'=' | b'>' | b'<' | b'\n') || (in_tag && b == b'.')
}

fn escaped_into(field: &[u8], in_tag: bool, escape_leading_zero: bool, out: &mut Vec<u8>) {
    let mut first = true;
    for &b in field {
        if b == 0 {
            continue;
        }
        if needs_escape(b, in_tag) || (first && escape_leading_zero && b == b'0') {
            out.push(b'\\');
        }
        out.push(b);
        first = false;
    }
}

fn text_into(t: &Tracer, out: &mut Vec<u8>) {
    out.push(t.dir.as_byte());
    out.push(b':');
    match t.id {
        IdForm::Thread => out.push(b't'),
        IdForm::Process => out.push(b'p'),
        IdForm::Parent => out.extend_from_slice(b"pp"),
        IdForm::Global => out.push(b'g'),
        IdForm::Explicit(0) => out.extend_from_slice(b"-0"),
        IdForm::Explicit(n) => out.extend_from_slice(n.to_string().as_bytes()),
    }
    out.push(b':');
    for (i, tag) in t.tags.iter().enumerate() {
        if i > 0 {
            out.push(b'.');
        }
        escaped_into(tag, true, i == 0, out);
    }
    out.push(b':');
    for (i, (name, value)) in t.args.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        escaped_into(name, false, false, out);
        out.push(b'=');
        escaped_into(value, false, false, out);
    }
    out.push(b':');
}

/// Whether sysdig's JSON scanner reads `s` (NUL bytes left out) back unchanged between
/// quotes: every `"` must follow a `\`, and the string must not end with `\`.
fn json_ok(s: &[u8]) -> bool {
    let mut prev = b'"'; // the opening quote
    for &b in s {
        if b == 0 {
            continue;
        }
        if b == b'"' && prev != b'\\' {
            return false;
        }
        prev = b;
    }
    prev != b'\\'
}

fn json_str_into(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    out.extend(s.iter().copied().filter(|&b| b != 0));
    out.push(b'"');
}

fn json_into(t: &Tracer, out: &mut Vec<u8>) {
    out.extend_from_slice(match t.dir {
        Direction::Enter => b"[\">\", ",
        Direction::Exit => b"[\"<\", ",
    });
    match t.id {
        IdForm::Thread => out.extend_from_slice(b"\"t\""),
        IdForm::Process => out.extend_from_slice(b"\"p\""),
        IdForm::Parent => out.extend_from_slice(b"\"pp\""),
        IdForm::Global => out.extend_from_slice(b"\"g\""),
        IdForm::Explicit(n) => out.extend_from_slice(n.to_string().as_bytes()),
    }
    out.extend_from_slice(b", [");
    for (i, tag) in t.tags.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        json_str_into(tag, out);
    }
    out.extend_from_slice(b"], [");
    for (i, (name, value)) in t.args.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        out.push(b'{');
        json_str_into(name, out);
        out.push(b':');
        json_str_into(value, out);
        out.push(b'}');
    }
    out.extend_from_slice(b"]]");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grammar::parse;

    fn t(id: IdForm, tags: &[&[u8]], args: &[(&[u8], &[u8])]) -> Tracer {
        Tracer {
            dir: Direction::Enter,
            id,
            tags: tags.iter().map(|g| g.to_vec()).collect(),
            args: args.iter().map(|(n, v)| (n.to_vec(), v.to_vec())).collect(),
        }
    }

    #[test]
    fn plain_text_form() {
        let x = t(IdForm::Thread, &[b"a", b"b"], &[(b"k", b"v")]);
        assert_eq!(encode(&x), b">:t:a.b:k=v:".to_vec());
        assert_eq!(encode(&t(IdForm::Parent, &[], &[])), b">:pp:::".to_vec());
        assert_eq!(
            encode(&t(IdForm::Global, &[b"x"], &[])),
            b">:g:x::".to_vec()
        );
        assert_eq!(
            encode(&t(IdForm::Explicit(-42), &[b"x"], &[])),
            b">:-42:x::".to_vec()
        );
    }

    #[test]
    fn sysdig_safe_zeros() {
        let x = t(IdForm::Explicit(0), &[b"0a", b"0b"], &[]);
        let bytes = encode(&x);
        assert_eq!(bytes, b">:-0:\\0a.0b::".to_vec());
        assert_eq!(parse(&bytes).unwrap(), x);
    }

    #[test]
    fn escapes_round_trip() {
        let x = t(
            IdForm::Process,
            &[b"python.py:5(<module>)", b"\\=\n,"],
            &[(b":n=,", b"v:1,2=>\n<\\.")],
        );
        let bytes = encode(&x);
        assert_eq!(&bytes[..22], b">:p:python\\.py\\:5(\\<mo");
        assert_eq!(parse(&bytes).unwrap(), x);
    }

    #[test]
    fn single_empty_tag_uses_json() {
        let x = t(IdForm::Thread, &[b""], &[(b"k", b"v \\\"q")]);
        let bytes = encode_checked(&x).unwrap();
        assert_eq!(bytes, br#"[">", "t", [""], [{"k":"v \"q"}]]"#.to_vec());
        assert_eq!(parse(&bytes).unwrap(), x);
        for id in [
            IdForm::Process,
            IdForm::Parent,
            IdForm::Global,
            IdForm::Explicit(i64::MIN),
        ] {
            let mut y = x.clone();
            y.id = id;
            y.dir = Direction::Exit;
            assert_eq!(parse(&encode(&y)).unwrap(), y);
        }
    }

    #[test]
    fn unrepresentable() {
        let bad_json = t(IdForm::Thread, &[b""], &[(b"k", b"a\"b")]);
        assert_eq!(encode_checked(&bad_json), Err(EncodeError::SingleEmptyTag));
        let ends_in_backslash = t(IdForm::Thread, &[b""], &[(b"k\\", b"")]);
        assert_eq!(
            encode_checked(&ends_in_backslash),
            Err(EncodeError::SingleEmptyTag)
        );
        // lossy fallback: text form, the empty tag is lost
        let back = parse(&encode(&bad_json)).unwrap();
        assert!(back.tags.is_empty());
        assert_eq!(back.args, bad_json.args);

        let nul = t(IdForm::Thread, &[b"a\0b"], &[]);
        assert_eq!(encode_checked(&nul), Err(EncodeError::Nul { field: "tag" }));
        assert_eq!(parse(&encode(&nul)).unwrap().tags, vec![b"ab".to_vec()]);
        let nul = t(IdForm::Thread, &[b"a"], &[(b"n", b"\0")]);
        assert_eq!(
            encode_checked(&nul),
            Err(EncodeError::Nul {
                field: "argument value"
            })
        );
    }

    #[test]
    fn encode_into_appends() {
        let mut out = b"prefix".to_vec();
        encode_into(&t(IdForm::Thread, &[b"a"], &[]), &mut out);
        assert_eq!(out, b"prefix>:t:a::".to_vec());
    }
}
