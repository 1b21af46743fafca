//! Serde helpers for byte strings (tags, argument names and values): written as a JSON
//! string when the bytes are UTF-8, as an array of byte values otherwise; both forms are
//! accepted when reading.

use serde::de::{self, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, SerializeTuple};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A byte string with the text-or-bytes serde form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ByteStr(pub Vec<u8>);

impl Serialize for ByteStr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(&self.0) {
            Ok(text) => s.serialize_str(text),
            Err(_) => {
                let mut seq = s.serialize_seq(Some(self.0.len()))?;
                for b in &self.0 {
                    seq.serialize_element(b)?;
                }
                seq.end()
            }
        }
    }
}

struct ByteStrVisitor;

impl<'de> Visitor<'de> for ByteStrVisitor {
    type Value = ByteStr;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a string or an array of bytes")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<ByteStr, E> {
        Ok(ByteStr(v.as_bytes().to_vec()))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<ByteStr, E> {
        Ok(ByteStr(v.to_vec()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ByteStr, A::Error> {
        let mut out = Vec::new();
        while let Some(b) = seq.next_element::<u8>()? {
            out.push(b);
        }
        Ok(ByteStr(out))
    }
}

impl<'de> Deserialize<'de> for ByteStr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ByteStr, D::Error> {
        d.deserialize_any(ByteStrVisitor)
    }
}

/// `#[serde(with = "crate::bytestr::list")]` for `Vec<Vec<u8>>` (tag lists).
pub mod list {
    use super::*;

    /// Serializes a list of byte strings.
    pub fn serialize<S: Serializer>(v: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(v.len()))?;
        for b in v {
            seq.serialize_element(&ByteStr(b.clone()))?;
        }
        seq.end()
    }

    /// Deserializes a list of byte strings.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
        Ok(Vec::<ByteStr>::deserialize(d)?
            .into_iter()
            .map(|b| b.0)
            .collect())
    }
}

/// Ordered `(name, value)` argument pairs, as markers carry them.
pub type ArgList = Vec<(Vec<u8>, Vec<u8>)>;

/// `#[serde(with = "crate::bytestr::pairs")]` for `Vec<(Vec<u8>, Vec<u8>)>` (args).
pub mod pairs {
    use super::*;

    struct Pair<'a>(&'a [u8], &'a [u8]);
    impl Serialize for Pair<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut t = s.serialize_tuple(2)?;
            t.serialize_element(&ByteStr(self.0.to_vec()))?;
            t.serialize_element(&ByteStr(self.1.to_vec()))?;
            t.end()
        }
    }

    /// Serializes `(name, value)` pairs as 2-element arrays.
    pub fn serialize<S: Serializer>(v: &[(Vec<u8>, Vec<u8>)], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(v.len()))?;
        for (k, val) in v {
            seq.serialize_element(&Pair(k, val))?;
        }
        seq.end()
    }

    /// Deserializes `(name, value)` pairs.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ArgList, D::Error> {
        Ok(Vec::<(ByteStr, ByteStr)>::deserialize(d)?
            .into_iter()
            .map(|(k, v)| (k.0, v.0))
            .collect())
    }
}

/// Joins tags with `.` (sysdig `span.tags`).
pub fn join_tags(tags: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, t) in tags.iter().enumerate() {
        if i > 0 {
            out.push(b'.');
        }
        out.extend_from_slice(t);
    }
    out
}

/// Joins args as `name<sep>value` pairs separated by `,` (`span.args` uses `=`,
/// `evtin.span.args` and `evt.info` use `:`).
pub fn join_args(args: &[(Vec<u8>, Vec<u8>)], sep: u8) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, (k, v)) in args.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(k);
        out.push(sep);
        out.extend_from_slice(v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct T {
        #[serde(with = "list")]
        tags: Vec<Vec<u8>>,
        #[serde(with = "pairs")]
        args: Vec<(Vec<u8>, Vec<u8>)>,
    }

    #[test]
    fn roundtrip_text_and_binary() {
        let t = T {
            tags: vec![b"a".to_vec(), vec![0xff, 0x00]],
            args: vec![(b"k".to_vec(), b"v".to_vec())],
        };
        let j = serde_json::to_string(&t).unwrap();
        assert_eq!(j, r#"{"tags":["a",[255,0]],"args":[["k","v"]]}"#);
        assert_eq!(serde_json::from_str::<T>(&j).unwrap(), t);
        assert_eq!(join_tags(&t.tags[..1]), b"a");
        assert_eq!(join_args(&t.args, b'='), b"k=v");
    }
}
